"""The core's placement service: one candidate query, claims in the caller's
transaction, explanations, paging, statement counts, plugin loading."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import ClassVar

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from cumulo.infra.hosts.models import Host
from cumulo.placement import service
from cumulo.sdk import (
    AllocationContext,
    CandidateHost,
    CandidatePool,
    DiskRequest,
    HostFilter,
    HostWeigher,
    StoragePoolAllocator,
)
from cumulo.sdk.errors import InsufficientCapacity, InternalError
from cumulo.testing.compliance.allocators_world import GB, PlacementWorld
from cumulo.testing.fakes import registered_drivers

MB = 1024 * 1024


@pytest.fixture
def world(db_session: Session) -> PlacementWorld:
    made = PlacementWorld(db_session)
    made.configure("host.allocators.order", "HostState,HostTags,HostCapacity,FirstFit")
    return made


@contextmanager
def counted(session: Session) -> Iterator[list[str]]:
    """The SQL statements ``session`` sends inside the block."""
    seen: list[str] = []

    def note(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        seen.append(statement)

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


def test_place_claims_in_the_callers_transaction_and_release_gives_back(
    world: PlacementWorld, db_session: Session
) -> None:
    world.add_host("h1", cpus=4, speed=1000, memory_gb=4)
    placed = world.place(cpu=2, speed=1000, memory_mb=1024)
    assert (placed.cpu_mhz, placed.memory_bytes) == (2000, GB)
    assert world.free("h1") == (2000, 3 * GB)
    service.release(db_session, placed.host_id, placed.cpu_mhz, placed.memory_bytes)
    assert world.free("h1") == (4000, 4 * GB)
    # Never above the host's total, whatever the caller gives back.
    service.release(db_session, placed.host_id, 10_000, 10 * GB)
    assert world.free("h1") == (4000, 4 * GB)
    world.place(cpu=1, speed=1000)
    db_session.rollback()  # the caller's rollback undoes the claim: no commit inside
    assert db_session.execute(select(Host.id)).first() is None


def test_statement_count_is_constant(world: PlacementWorld, db_session: Session) -> None:
    """Settings, candidates, claim — and with a disk the pool's claim (the candidate
    statement reads the pools with the hosts); whatever the number of hosts."""
    for number in range(30):
        world.add_host(f"h{number}")
    world.add_pool("p1")
    with counted(db_session) as plain:
        world.place()
    with counted(db_session) as with_disk:
        world.place(root_disk_bytes=GB)
    assert len(plain) == 3, plain
    assert len(with_disk) == 4, with_disk
    assert sum("UPDATE host" in s for s in with_disk) == 1
    assert sum("UPDATE storage_pool" in s for s in with_disk) == 1


def test_insufficient_capacity_names_what_eliminated_the_hosts(world: PlacementWorld) -> None:
    """SQL-eliminated hosts are counted by one aggregate query, Python filters by
    their own phrases, in one 533 errortext."""
    for number in range(3):
        world.add_host(f"maint{number}", resource_state="Maintenance")
    world.add_host("down", status="Down")
    for number in range(12):
        world.add_host(f"small{number}", memory_gb=1)
    for number in range(4):
        world.add_host(f"slow{number}", tags=("slow",))
    with pytest.raises(InsufficientCapacity) as failure:
        world.place(memory_mb=2048, host_tag="fast")
    text = failure.value.errortext
    assert failure.value.errorcode == 533
    for phrase in (
        "3 hosts in maintenance",
        "1 host not Up",
        "12 hosts without 2048 MB free memory",
        "4 hosts lacking host tag 'fast'",
    ):
        assert phrase in text, text
    # Largest count first.
    assert text.index("12 hosts") < text.index("4 hosts") < text.index("3 hosts")


def test_an_empty_scope_says_so(world: PlacementWorld) -> None:
    with pytest.raises(InsufficientCapacity, match="no hypervisor host in the requested scope"):
        world.place()


def test_explain_claims_nothing_and_counts_per_filter(world: PlacementWorld) -> None:
    world.add_host("h1", tags=("fast",))
    world.add_host("h2")
    world.add_host("h3", resource_state="Disabled")
    before = world.free("h1")
    explained = world.explain(host_tag="fast")
    assert world.free("h1") == before
    assert explained.chosen is not None and explained.chosen.name == "h1"
    assert [h.name for h in explained.plan] == ["h1"]
    counts = {(e.component, e.reason): e.count for e in explained.eliminations}
    assert counts == {("HostTags", "lacking host tag 'fast'"): 1, ("HostState", "disabled"): 1}
    assert explained.hosts_in_zone == 3
    assert explained.filters == ("HostState", "HostTags", "HostCapacity")
    assert explained.weighers == ("FirstFit",)


def test_pages_past_a_page_the_filters_rejected(world: PlacementWorld) -> None:
    """The candidate query reads pages of PAGE_SIZE hosts; when the filters reject a
    whole page, the next page is read."""
    from cumulo.placement.candidates import PAGE_SIZE

    for number in range(PAGE_SIZE + 5):
        world.add_host(f"h{number:03d}", tags=("gpu",) if number == PAGE_SIZE + 3 else ())
    placed = world.place(host_tag="gpu")
    assert world.host_name(placed.host_id) == f"h{PAGE_SIZE + 3:03d}"
    explained = world.explain(host_tag="gpu")
    counts = {(e.component, e.reason): e.count for e in explained.eliminations}
    assert counts[("HostTags", "lacking host tag 'gpu'")] == PAGE_SIZE + 4


def test_plugins_are_loaded_by_the_names_in_the_setting(world: PlacementWorld) -> None:
    """A filter and a weigher registered under cumulo.allocators are used as named;
    an unknown name is a 530 naming the setting."""

    class EvenOnly(HostFilter):
        name: ClassVar[str] = "EvenOnly"

        def reject(self, host: CandidateHost, ctx: AllocationContext) -> str | None:
            return None if host.id % 2 == 0 else "with an odd id"

    class Newest(HostWeigher):
        name: ClassVar[str] = "Newest"

        def weigh(self, hosts: Sequence[CandidateHost], ctx: AllocationContext) -> list[float]:
            return [float(h.id) for h in hosts]

    class AnyPool(StoragePoolAllocator):
        name: ClassVar[str] = "AnyPool"

        def handles(self, disk: DiskRequest, ctx: AllocationContext) -> bool:
            return True

        def reject(
            self,
            pool: CandidatePool,
            disk: DiskRequest,
            host: CandidateHost,
            ctx: AllocationContext,
        ) -> str | None:
            return None

    for number in range(5):
        world.add_host(f"h{number}")
    world.configure("host.allocators.order", "EvenOnly,Newest")
    world.configure("storage.pool.allocators.order", "AnyPool")
    fakes = {"EvenOnly": EvenOnly, "Newest": Newest, "AnyPool": AnyPool}
    with registered_drivers("cumulo.allocators", fakes):
        explained = world.explain()
        evens = sorted((i for i in world.hosts.values() if i % 2 == 0), reverse=True)
        assert [h.host_id for h in explained.plan] == evens
        reasons = {(e.component, e.reason) for e in explained.eliminations}
        assert ("EvenOnly", "with an odd id") in reasons
        world.configure("storage.pool.allocators.order", "EvenOnly")
        with pytest.raises(InternalError, match="is not a StoragePoolAllocator"):
            world.explain()
    world.configure("storage.pool.allocators.order", None)
    world.configure("host.allocators.order", "HostState,NoSuchFilter")
    with pytest.raises(InternalError) as failure:
        world.place()
    assert "NoSuchFilter" in failure.value.errortext
    assert "host.allocators.order" in failure.value.errortext


def test_unknown_planner_is_named(world: PlacementWorld) -> None:
    world.add_host("h1")
    with pytest.raises(InternalError, match="'Nope'"):
        world.place(planner="Nope")


def test_the_random_weigher_starts_the_scan_anywhere_and_wraps_around(
    world: PlacementWorld,
) -> None:
    """With ``Random`` in ``host.allocators.order`` (4.1's default allocation algorithm)
    the candidate scan starts at a random host, so concurrent placements read different
    candidates; it wraps around, so a host below the start is still found."""
    from cumulo.placement import candidates

    for number in range(candidates.FIRST_PAGE_SIZE * 3):
        world.add_host(f"h{number:03d}", free_cpu=0 if number != 1 else None)
    world.configure("host.allocators.order", "AvoidList,HostState,HostCapacity,HaPreferred,Random")
    for _ in range(8):  # whatever the random start, the one host with room is chosen
        assert world.host_name(world.place().host_id) == "h001"
    for number in range(3):
        world.add_host(f"roomy{number}")
    chosen = set()
    for _ in range(40):
        explained = world.explain().chosen
        assert explained is not None
        chosen.add(world.host_name(explained.host_id))
    assert len(chosen) > 1  # not always the first host by id
