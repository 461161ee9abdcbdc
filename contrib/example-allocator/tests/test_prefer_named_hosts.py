"""The example weigher: the allocator compliance kit of ``cumulo.testing``, and a real
placement (the core's service over a test database) that it changes."""

from __future__ import annotations

import pytest
from cumulo_example_allocator import SETTING, PreferNamedHosts
from sqlalchemy.orm import Session

from cumulo.sdk import HostWeigher
from cumulo.testing.compliance.allocators import HostWeigherComplianceKit
from cumulo.testing.compliance.allocators_world import PlacementWorld

ORDER = "AvoidList,HostState,Dedicated,Hypervisor,HostTags,HaHosts,HostCapacity,HaPreferred"


class TestCompliance(HostWeigherComplianceKit):
    """The contract every weigher fulfils, and the registration under its name."""

    @pytest.fixture
    def plugin(self) -> HostWeigher:
        return PreferNamedHosts()

    @pytest.fixture
    def entry_point(self) -> str | None:
        return "PreferNamedHosts"


def test_it_changes_placement(db_session: Session) -> None:
    """Without the weigher the first host by id wins; with it, the named rack does —
    loaded through its entry point by the name in host.allocators.order."""
    world = PlacementWorld(db_session)
    for name in ("rack1-a", "rack1-b", "rack2-a"):
        world.add_host(name)
    world.configure(SETTING, "rack2-*")
    world.configure("host.allocators.order", f"{ORDER},FirstFit")
    assert world.host_name(world.place().host_id) == "rack1-a"
    world.configure("host.allocators.order", f"{ORDER},PreferNamedHosts,FirstFit")
    assert world.host_name(world.place().host_id) == "rack2-a"
    # It only breaks ties among hosts that fit: a full rack2 host is not forced.
    world.configure(SETTING, "rack1-b")
    placed = world.place(memory_mb=7 * 1024)
    assert world.host_name(placed.host_id) == "rack1-b"
    assert world.host_name(world.place(memory_mb=7 * 1024).host_id) != "rack1-b"


def test_unset_means_no_preference() -> None:
    from cumulo.testing.compliance.allocators import ordinary_context, ordinary_host

    hosts = [ordinary_host(1), ordinary_host(2)]
    assert list(PreferNamedHosts().weigh(hosts, ordinary_context())) == [0.0, 0.0]
    ctx = ordinary_context(settings={SETTING: "host-2, other"})
    assert list(PreferNamedHosts().weigh(hosts, ctx)) == [0.0, 1.0]
