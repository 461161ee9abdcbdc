"""Benchmark: 1,000 placements from 100 concurrent workers in a 90% full zone (B4).

A migrated and seeded cloud (a SQLite file in a temporary directory, or ``--url`` on an
EMPTY MariaDB/MySQL database) gets ``--hosts`` simulated hosts in ``--clusters``
clusters (:func:`hosts_listing.seed_hosts`), one pool per cluster
(:func:`placement.seed_pools`), and every host 90% full (``free_cpu`` and
``free_memory`` at 10% of the total). Then ``--workers`` threads, each with its own
sessions, make ``--deploys`` placements together: what a deploy's reservation does with
capacity (:func:`cumulo.placement.service.place` for a 1 vCPU / 1 GB VM with a 20 GB
root disk, its conditional claims, the commit). The same placements run once more,
serially, on a freshly reset zone, as the in-run baseline.

One JSON line: placements that succeeded, that found no room (533), the claims lost
to a concurrent placement (``retries``, from :attr:`Placement.retries`, target ≤5% of
the claims), the over-commits found afterwards by an SQL invariant (hosts with negative
free capacity, and for every host ``total - free`` against what the committed
placements charged it; target 0), and the wall-time ratio parallel / (serial ÷
min(workers, cores)) (spec target ≤1.5).

    .venv/bin/python bench/concurrent_deploys.py [--hosts 2000] [--clusters 100]
        [--workers 100] [--deploys 1000] [--url mysql+pymysql://root@127.0.0.1:3306/DB]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent))

from hosts_listing import deployment, machine, seed_hosts
from placement import CPU, MEMORY_MB, ROOT_DISK, SPEED, seed_pools, zone_of

from cumulo.placement.request import PlacementRequest
from cumulo.placement.service import place
from cumulo.runtime import Runtime
from cumulo.sdk.errors import InsufficientCapacity

FULL = 0.9
RANDOM_ORDER = (
    "AvoidList,HostState,Dedicated,Hypervisor,HostTags,HaHosts,HostCapacity,HaPreferred,Random"
)
"""The standard filters with the Random weigher: 4.1's default ``vm.allocation.algorithm``
(``random``), which makes concurrent placements start their scans at random hosts."""


def reset(runtime: Runtime) -> None:
    """Every host Up with 10% of its CPU and memory free; pools without claims."""
    with runtime.engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE host SET status = 'Up', free_cpu = cpus * speed - :cpu_used,"
                " free_memory = total_memory - :memory_used WHERE type = 'Routing'"
            ),
            {"cpu_used": int(8 * 2400 * FULL), "memory_used": int(32 * 1024**3 * FULL)},
        )
        connection.execute(text("UPDATE storage_pool SET allocated_bytes = 0"))


def run(runtime: Runtime, request: PlacementRequest, workers: int, deploys: int) -> dict[str, Any]:
    """``deploys`` placements shared by ``workers`` threads; outcomes and wall time."""
    outcomes: Counter[str] = Counter()
    charged: Counter[int] = Counter()
    lock = threading.Lock()
    remaining = [deploys]

    def worker() -> None:
        while True:
            with lock:
                if remaining[0] == 0:
                    return
                remaining[0] -= 1
            try:
                with runtime.sessions() as session:
                    chosen = place(session, request, config=runtime.config_store(session))
                    session.commit()
            except InsufficientCapacity:
                with lock:
                    outcomes["no_room"] += 1
                continue
            except Exception as exc:  # a deadlock or lock timeout: counted, not hidden
                with lock:
                    outcomes[f"error:{type(exc).__name__}"] += 1
                continue
            with lock:
                outcomes["placed"] += 1
                outcomes["retries"] += chosen.retries
                charged[chosen.host_id] += 1

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    return {"outcomes": dict(outcomes), "charged": charged, "wall": wall}


def over_commits(runtime: Runtime, charged: Counter[int]) -> int:
    """Hosts whose free capacity is negative, or whose used capacity differs from what
    the committed placements charged them (both would be over-commits)."""
    cpu_each, memory_each = CPU * SPEED, MEMORY_MB * 1024 * 1024
    bad = 0
    with runtime.engine.connect() as connection:
        rows = connection.execute(
            text("SELECT id, cpus * speed - free_cpu, total_memory - free_memory, free_cpu,"
                 " free_memory FROM host WHERE type = 'Routing'")
        ).all()  # fmt: skip
    base_cpu, base_memory = int(8 * 2400 * FULL), int(32 * 1024**3 * FULL)
    for host_id, used_cpu, used_memory, free_cpu, free_memory in rows:
        expected = charged.get(host_id, 0)
        if (
            free_cpu < 0
            or free_memory < 0
            or (used_cpu - base_cpu, used_memory - base_memory)
            != (
                expected * cpu_each,
                expected * memory_each,
            )
        ):
            bad += 1
    return bad


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--url", help="an EMPTY MariaDB/MySQL database to migrate and use")
    parser.add_argument("--hosts", type=int, default=2_000)
    parser.add_argument("--clusters", type=int, default=100)
    parser.add_argument("--workers", type=int, default=100)
    parser.add_argument("--deploys", type=int, default=1_000)
    parser.add_argument("--order", default=RANDOM_ORDER, help="host.allocators.order for the run")
    args = parser.parse_args()
    if args.url and make_url(args.url).get_backend_name() == "sqlite":
        parser.error("--url is for MariaDB/MySQL; SQLite runs in a temporary directory")
    with (
        tempfile.TemporaryDirectory() as temporary,
        deployment(Path(temporary), args.url) as (runtime, _apikey, _secretkey),
    ):
        runtime.engine.pool.dispose()
        seed_hosts(runtime, args.hosts, clusters=args.clusters)
        seed_pools(runtime)
        request = PlacementRequest(
            zone_id=zone_of(runtime), account_id=2, domain_id=1, cpu=CPU, speed=SPEED,
            memory_mb=MEMORY_MB, hypervisor="Simulator", root_disk_bytes=ROOT_DISK,
        )  # fmt: skip
        with runtime.sessions.begin() as session:
            runtime.config_store(session).set("host.allocators.order", args.order)
        reset(runtime)
        serial = run(runtime, request, 1, args.deploys)
        reset(runtime)
        parallel = run(runtime, request, args.workers, args.deploys)
        outcomes = parallel["outcomes"]
        placed = int(outcomes.get("placed", 0))
        retries = int(outcomes.get("retries", 0))
        claims = placed + retries
        per_core = serial["wall"] / min(args.workers, os.cpu_count() or 1)
        ratio = parallel["wall"] / per_core if per_core else 0.0
        line = {
            "bench": "concurrent_deploys",
            "case": f"{args.workers}_workers_{round(FULL * 100)}pct_full",
            "backend": runtime.engine.dialect.name,
            "hosts": args.hosts,
            "clusters": args.clusters,
            "workers": args.workers,
            "host_allocators_order": args.order,
            "deploys": args.deploys,
            "placed": placed,
            "no_room": int(outcomes.get("no_room", 0)),
            "errors": {k: v for k, v in outcomes.items() if k.startswith("error:")},
            "retries": retries,
            "retry_share": round(retries / claims, 4) if claims else 0.0,
            "retry_target": 0.05,
            "over_commits": over_commits(runtime, parallel["charged"]),
            "over_commit_target": 0,
            "wall_s_parallel": round(parallel["wall"], 3),
            "wall_s_serial": round(serial["wall"], 3),
            "serial_placed": int(serial["outcomes"].get("placed", 0)),
            "ratio_parallel_to_serial_per_core": round(ratio, 3),
            "ratio_target": 1.5,
            "machine": machine(),
        }
        print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
