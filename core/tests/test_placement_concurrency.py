"""Concurrent placements on nearly-full hosts never over-commit: several threads, each
with its own session and transaction, claim with conditional UPDATEs (SQLite, and
MariaDB with ``CUMULO_TEST_DB``)."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from cumulo.db.engine import create_engine, session_factory
from cumulo.infra.hosts.models import Host
from cumulo.placement.service import place
from cumulo.sdk.errors import InsufficientCapacity
from cumulo.testing.compliance.allocators_world import PlacementWorld

MB = 1024 * 1024
THREADS = 8
ATTEMPTS = 6
HOSTS = 4
SLOTS_PER_HOST = 5  # room for exactly this many 500 MHz / 512 MB VMs (and a bit)


def test_concurrent_placements_never_over_commit(migrated_database_url: str) -> None:
    engine = create_engine(migrated_database_url)
    sessions = session_factory(engine)
    try:
        with sessions.begin() as session:
            world = PlacementWorld(session)
            # FirstFit weighing: every thread goes for the same host first, so claims
            # collide as much as they can.
            world.configure("host.allocators.order", "HostState,HostCapacity,FirstFit")
            for number in range(HOSTS):
                world.add_host(
                    f"h{number}",
                    cpus=4,
                    speed=1000,
                    memory_gb=4,
                    # Nearly full: room for SLOTS_PER_HOST VMs, not one more.
                    free_cpu=SLOTS_PER_HOST * 500 + 100,
                    free_memory=SLOTS_PER_HOST * 512 * MB + 100 * MB,
                )
            request = world.request(cpu=1, speed=500, memory_mb=512)
        placed: list[tuple[int, int, int, int]] = []
        refused: list[str] = []
        errors: list[BaseException] = []
        lock = threading.Lock()
        start = threading.Barrier(THREADS)

        def worker() -> None:
            start.wait()
            for _ in range(ATTEMPTS):
                try:
                    with sessions.begin() as session:
                        result = place(session, request)
                    with lock:
                        placed.append(
                            (result.host_id, result.cpu_mhz, result.memory_bytes, result.retries)
                        )
                except InsufficientCapacity as exc:
                    with lock:
                        refused.append(exc.errortext)
                except BaseException as exc:  # reported below
                    with lock:
                        errors.append(exc)

        threads = [threading.Thread(target=worker) for _ in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors, errors
        assert len(placed) == HOSTS * SLOTS_PER_HOST
        assert len(refused) == THREADS * ATTEMPTS - HOSTS * SLOTS_PER_HOST
        assert all(f"{HOSTS} hosts without 512 MB free memory" in text for text in refused)
        with sessions() as session:
            rows = session.execute(select(Host.id, Host.free_cpu, Host.free_memory)).all()
            assert all(cpu >= 0 and memory >= 0 for _, cpu, memory in rows)
            assert all(cpu == 100 and memory == 100 * MB for _, cpu, memory in rows)
            claimed = {host_id: 0 for host_id, _, _ in rows}
            for host_id, cpu, _, _ in placed:
                claimed[host_id] += cpu
            assert set(claimed.values()) == {SLOTS_PER_HOST * 500}
            total_free = session.execute(select(func.sum(Host.free_cpu))).scalar_one()
            assert total_free + sum(cpu for _, cpu, _, _ in placed) == HOSTS * (
                SLOTS_PER_HOST * 500 + 100
            )
    finally:
        engine.dispose()
