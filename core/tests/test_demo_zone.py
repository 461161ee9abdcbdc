"""``cumulo demo`` (issue 4 item 5): the basic zone of simulated hosts the seed's
wizard would build (REQUIREMENTS §13.4), created idempotently, finished after a run
cut short, refused over a different zone of the same name; and the command itself on
a new embedded deployment."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

import pluggy
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cumulo.demo import HOST_URLS, DemoError, ensure_demo_zone
from cumulo.events.models import Event
from cumulo.infra.hosts.models import Cluster, Host, HostType
from cumulo.infra.models import (
    PhysicalNetwork,
    PhysicalNetworkServiceProvider,
    PhysicalNetworkTrafficType,
    Pod,
    UserIpAddress,
    VlanIpRange,
    Zone,
)
from cumulo.infra.storage.models import StoragePool
from cumulo.runtime import Runtime
from cumulo.setup.seed import seed_cloud

simulator_state = pytest.importorskip("cumulo_simulator.state")
simulator_rules = pytest.importorskip("cumulo_simulator.rules")

KEY = "demo-test-key"
Row = TypeVar("Row", Zone, PhysicalNetwork, Pod, VlanIpRange, Cluster, StoragePool)
TABLES = (
    Zone,
    PhysicalNetwork,
    PhysicalNetworkTrafficType,
    PhysicalNetworkServiceProvider,
    Pod,
    VlanIpRange,
    UserIpAddress,
    Cluster,
    Host,
    StoragePool,
    Event,
)
"""Everything the demo writes: a second run must not change a count."""


@pytest.fixture
def state_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A simulator of this test's own (hosts, rules)."""
    path = tmp_path / "simulator.sqlite"
    monkeypatch.setenv("CUMULO_SIMULATOR_STATE", str(path))
    return path


@pytest.fixture
def runtime(
    migrated_database_url: str, plugin_manager: pluggy.PluginManager, state_file: Path
) -> Iterator[Runtime]:
    built = Runtime.for_url(migrated_database_url, KEY, pm=plugin_manager)
    with built.sessions.begin() as session:
        seed_cloud(session, built.database_key, built.algorithm)
    yield built
    built.close()


def _counts(runtime: Runtime) -> dict[str, int]:
    with runtime.sessions() as session:
        return {
            model.__tablename__: int(session.scalar(select(func.count()).select_from(model)) or 0)
            for model in TABLES
        }


def _one(session: Session, model: type[Row]) -> Row:
    """The only row of ``model``."""
    return session.scalars(select(model)).one()


def test_the_demo_zone_is_the_basic_wizard_with_simulated_hosts(
    runtime: Runtime, tmp_path: Path
) -> None:
    outcome = ensure_demo_zone(runtime, tmp_path / "data")
    with runtime.sessions() as session:
        zone = _one(session, Zone)
        assert outcome.zone_uuid == zone.uuid
        assert (zone.name, zone.networktype, zone.is_security_group_enabled) == (
            "Demo",
            "Basic",
            True,
        )
        assert zone.allocation_state == "Enabled"  # launched last, as the wizard does
        network = _one(session, PhysicalNetwork)
        assert network.state == "Enabled"
        carried = session.scalars(select(PhysicalNetworkTrafficType.traffic_type)).all()
        assert sorted(carried) == ["Guest", "Management", "Storage"]
        enabled = session.scalars(
            select(PhysicalNetworkServiceProvider.provider_name).where(
                PhysicalNetworkServiceProvider.state == "Enabled"
            )
        ).all()
        assert sorted(enabled) == ["SecurityGroupProvider", "VirtualRouter"]
        pod = _one(session, Pod)
        guest = _one(session, VlanIpRange)
        assert guest.pod_id == pod.id and guest.vlan_type == "DirectAttached"
        assert session.scalar(select(func.count()).select_from(UserIpAddress)) == 100
        cluster = _one(session, Cluster)
        assert (cluster.name, cluster.hypervisor_type) == ("Demo Cluster", "Simulator")
        routing = session.scalars(
            select(Host).where(Host.type == HostType.ROUTING.value).order_by(Host.id)
        ).all()
        assert [h.url for h in routing] == list(HOST_URLS)
        assert {h.status for h in routing} == {"Up"}
        assert {h.cluster_id for h in routing} == {cluster.id}
        # Varied sizes, discovered by the simulator from the URLs.
        assert [(h.cpus, h.speed, (h.total_memory or 0) // 2**30) for h in routing] == [
            (16, 2400, 64),
            (8, 2400, 32),
            (4, 2000, 16),
            (4, 3000, 8),
        ]
        pool = session.scalars(select(StoragePool).where(StoragePool.scope == "CLUSTER")).one()
        assert (pool.name, pool.status, pool.cluster_id) == ("Demo Primary", "Up", cluster.id)
        assert pool.capacity_bytes == 2 * 2**40
        # Each host in the pod's subnet (REQ-POD-03), diskless: no host-local pool.
        assert [h.private_ip_address for h in routing] == [
            f"192.168.100.5{i}" for i in (1, 2, 3, 4)
        ]
        assert (
            session.scalars(select(StoragePool.id).where(StoragePool.scope == "HOST")).all() == []
        )
        store = session.scalars(
            select(Host).where(Host.type == HostType.SECONDARY_STORAGE.value)
        ).one()
        assert store.data_center_id == zone.id
        assert store.url == f"file://{(tmp_path / 'data' / 'secondary').absolute()}"
        events = set(session.scalars(select(Event.type)))
    assert (tmp_path / "data" / "secondary").is_dir()
    # The services' own events, as if an operator had made the zone through the API.
    assert {"ZONE.CREATE", "POD.CREATE", "STORAGE.POOL.CREATE", "SECONDARY.STORAGE.ADD"} <= events
    assert len(outcome.created) == 19


def test_running_it_again_changes_nothing(runtime: Runtime, tmp_path: Path) -> None:
    first = ensure_demo_zone(runtime, tmp_path / "data")
    before = _counts(runtime)
    again = ensure_demo_zone(runtime, tmp_path / "data")
    assert again.created == []
    assert again.zone_uuid == first.zone_uuid
    assert _counts(runtime) == before  # not even an event


def test_a_run_cut_short_is_finished_by_the_next(runtime: Runtime, tmp_path: Path) -> None:
    # The first host refuses to connect once: the run stops there, its earlier steps
    # committed (one transaction per step).
    simulator_state.SimulatorState().add_rule(
        "connect",
        simulator_rules.Scope(),
        simulator_rules.Behaviour(result="fail", message="no luck", count=1),
    )
    with pytest.raises(DemoError, match="no luck"):
        ensure_demo_zone(runtime, tmp_path / "data")
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Host)) == 0
        assert session.scalar(select(func.count()).select_from(Cluster)) == 1
        assert session.scalars(select(Zone.allocation_state)).one() == "Disabled"
    finished = ensure_demo_zone(runtime, tmp_path / "data")
    assert finished.created[0].startswith("added host demo-host1")
    assert finished.created[-1] == "enabled zone Demo"
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Zone)) == 1
        assert session.scalar(select(func.count()).select_from(Cluster)) == 1
        assert session.scalar(select(func.count()).select_from(Host)) == len(HOST_URLS) + 1


def test_a_different_zone_named_demo_is_refused(runtime: Runtime, tmp_path: Path) -> None:
    with runtime.sessions.begin() as session:
        session.add(
            Zone(name="Demo", dns1="8.8.8.8", internal_dns1="8.8.8.8", networktype="Advanced")
        )
    with pytest.raises(DemoError, match="not a basic zone with security groups"):
        ensure_demo_zone(runtime, tmp_path / "data")
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Pod)) == 0


def test_the_command_creates_the_embedded_cloud_then_finds_it_complete(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cumulo.cli import build_cli
    from cumulo.plugins import get_plugin_manager

    conf = tmp_path / "conf"
    monkeypatch.setenv("CUMULO_CONF_DIR", str(conf))
    # Empty counts as unset: the command points the simulator at the data dir (and the
    # variable it sets is restored after the test).
    monkeypatch.setenv("CUMULO_SIMULATOR_STATE", "")
    pm = get_plugin_manager()
    cli = build_cli(pm)
    first = CliRunner().invoke(cli, ["demo"], obj=pm)
    assert first.exit_code == 0, first.output
    assert "Successfully initialized the database." in first.output
    assert "enabled zone Demo" in first.output
    assert (tmp_path / "data" / "simulator.sqlite").is_file()
    assert (tmp_path / "data" / "secondary").is_dir()
    second = CliRunner().invoke(cli, ["demo"], obj=pm)
    assert second.exit_code == 0, second.output
    assert "nothing to do" in second.output


def test_a_demo_zone_made_before_hosts_had_addresses_is_complete(
    runtime: Runtime, tmp_path: Path
) -> None:
    """Demo zones made when the hosts were ``http://sim/demo-hostN``: a new run finds
    them by name instead of adding four more hosts."""
    ensure_demo_zone(runtime, tmp_path / "data")
    with runtime.sessions.begin() as session:
        for host in session.scalars(select(Host).where(Host.type == HostType.ROUTING.value)):
            host.url = f"http://sim/{host.name}"
    before = _counts(runtime)
    assert ensure_demo_zone(runtime, tmp_path / "data").created == []
    assert _counts(runtime) == before
