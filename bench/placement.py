"""Benchmark: one placement decision over 50,000 hosts against the indexed-query baseline (B3).

A migrated and seeded cloud (a SQLite file in a temporary directory, or ``--url`` on an
EMPTY MariaDB/MySQL database) gets ``--hosts`` simulated hosts in ``--clusters``
clusters inserted set-based (:func:`hosts_listing.seed_hosts`), one shared NFS pool per
cluster, 2% of the hosts ``Down``, and a fullness: that share of the hosts (spread
evenly over the id range) has no free CPU left. Per case the benchmark interleaves, in
ABBA blocks:

- **ours**: :func:`cumulo.placement.service.place` for a 1 vCPU / 1 GB VM (with a
  20 GB root disk in the ``root_disk`` cases) in a fresh session, through the runtime's
  configuration cache as the API does: the candidate query, the plugins' filters, the
  planner and weighers, the pools, the conditional claims; then a rollback;
- **baseline**: the same decision as the thinnest hand-written SQL (raw DBAPI): the
  first fitting host by an indexed ``SELECT ... ORDER BY id LIMIT 1``, its conditional
  claim ``UPDATE``, and with a disk the first pool of its cluster with room and its
  claim; then a rollback.

Both sides claim and roll back, so the database stays as seeded. Per case one JSON
line: the median of the per-block ratios ours/baseline and their quartiles (target ≤3,
../shared/spec/performance.md B3), p50 and p95 milliseconds per decision of both
sides (individual calls over all blocks; target p95 about 1 ms), and the statements
one decision costs (listener).

    .venv/bin/python bench/placement.py [--hosts 50000] [--clusters 100] [--blocks 12]
        [--decisions 40] [--url mysql+pymysql://root@127.0.0.1:3306/EMPTY_DB]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import event, func, insert, select, text
from sqlalchemy.engine import Engine, make_url

sys.path.insert(0, str(Path(__file__).resolve().parent))

from hosts_listing import (
    deployment,
    machine,
    quartiles,
    seed_hosts,
)

from cumulo.infra.hosts.models import Cluster, Host
from cumulo.infra.storage.models import StoragePool
from cumulo.placement.request import PlacementRequest
from cumulo.placement.service import place
from cumulo.runtime import Runtime

TARGET = 3.0
GB = 1024**3
CPU, SPEED, MEMORY_MB = 1, 1000, 1024
ROOT_DISK = 20 * GB
DOWN_EVERY = 50
"""Every 50th host is ``Down`` (2%)."""


# ---- setup ----------------------------------------------------------------------------------


def seed_pools(runtime: Runtime) -> int:
    """One shared 10 TB NFS pool per cluster of the bench zone (set-based)."""
    with runtime.sessions.begin() as session:
        clusters = session.execute(
            select(Cluster.id, Cluster.pod_id, Cluster.data_center_id).order_by(Cluster.id)
        ).all()
        have = set(session.scalars(select(StoragePool.cluster_id)))
        rows = [
            {
                "uuid": str(uuid.uuid4()),
                "name": f"bench-pool-{cluster_id}",
                "pool_type": "NetworkFilesystem",
                "port": 2049,
                "data_center_id": zone_id,
                "pod_id": pod_id,
                "cluster_id": cluster_id,
                "capacity_bytes": 10 * 1024 * GB,
                "used_bytes": 0,
                "allocated_bytes": 0,
                "host_address": "10.255.0.1",
                "path": f"/export/bench/{cluster_id}",
                "status": "Up",
                "scope": "CLUSTER",
            }
            for cluster_id, pod_id, zone_id in clusters
            if cluster_id not in have
        ]
        if rows:
            session.execute(insert(StoragePool), rows)
        return len(rows)


def set_fullness(runtime: Runtime, full_share: float) -> None:
    """``full_share`` of the hosts (every k-th by id, spread evenly) without free CPU;
    the rest with their whole CPU free; every 50th host ``Down``. Set-based."""
    keep = round(1 / (1 - full_share)) if full_share < 1 else 0
    with runtime.engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE host SET status = CASE WHEN id % :down = 0 THEN 'Down' ELSE 'Up' END,"
                " free_cpu = CASE WHEN :keep > 0 AND id % :keep = 0 THEN cpus * speed"
                " ELSE 0 END, free_memory = total_memory WHERE type = 'Routing'"
            ),
            {"down": DOWN_EVERY, "keep": keep},
        )


def zone_of(runtime: Runtime) -> int:
    with runtime.sessions() as session:
        return int(session.scalars(select(func.min(Host.data_center_id))).one())


# ---- the two sides ---------------------------------------------------------------------------


def ours(runtime: Runtime, request: PlacementRequest) -> Callable[[], object]:
    """One decision through the placement service, then a rollback."""

    def call() -> object:
        with runtime.sessions() as session:
            chosen = place(session, request, config=runtime.config_store(session))
            session.rollback()
        return chosen

    return call


PICK_HOST = (
    "SELECT id, cluster_id FROM host WHERE data_center_id = %(zone)s AND type = 'Routing'"
    " AND removed IS NULL AND status = 'Up' AND resource_state = 'Enabled'"
    " AND free_cpu >= %(cpu)s AND free_memory >= %(memory)s ORDER BY id LIMIT 1"
)
CLAIM_HOST = (
    "UPDATE host SET free_cpu = free_cpu - %(cpu)s, free_memory = free_memory - %(memory)s"
    " WHERE id = %(host)s AND free_cpu >= %(cpu)s AND free_memory >= %(memory)s"
)
PICK_POOL = (
    "SELECT id FROM storage_pool WHERE cluster_id = %(cluster)s AND removed IS NULL"
    " AND status = 'Up' AND allocated_bytes + %(size)s <= capacity_bytes * 2"
    " ORDER BY id LIMIT 1"
)
CLAIM_POOL = (
    "UPDATE storage_pool SET allocated_bytes = allocated_bytes + %(size)s"
    " WHERE id = %(pool)s AND allocated_bytes + %(size)s <= capacity_bytes * 2"
)


def _paramstyle(engine: Engine, sql: str) -> str:
    """The statements above in the driver's paramstyle (SQLite: named ``:x``)."""
    if engine.dialect.name != "sqlite":
        return sql
    out = sql
    for name in ("zone", "cpu", "memory", "host", "cluster", "size", "pool"):
        out = out.replace(f"%({name})s", f":{name}")
    return out


def baseline(engine: Engine, zone_id: int, disk: bool) -> Callable[[], object]:
    """The same decision as raw DBAPI: indexed pick, claim (and pool), rollback."""
    pick_host, claim_host, pick_pool, claim_pool = (
        _paramstyle(engine, sql) for sql in (PICK_HOST, CLAIM_HOST, PICK_POOL, CLAIM_POOL)
    )
    need = {"zone": zone_id, "cpu": CPU * SPEED, "memory": MEMORY_MB * 1024 * 1024}

    def call() -> object:
        connection = engine.raw_connection()
        try:
            cursor = connection.cursor()
            cursor.execute(pick_host, need)
            host_id, cluster_id = cursor.fetchone()  # type: ignore[misc]
            cursor.execute(claim_host, {**need, "host": host_id})
            if disk:
                cursor.execute(pick_pool, {"cluster": cluster_id, "size": ROOT_DISK})
                (pool_id,) = cursor.fetchone()  # type: ignore[misc]
                cursor.execute(claim_pool, {"pool": pool_id, "size": ROOT_DISK})
            cursor.close()
            connection.rollback()
        finally:
            connection.close()
        return host_id

    return call


def _driver_sql(engine: Engine, stmt: Any, params: dict[str, Any]) -> tuple[str, Any]:
    """``stmt`` as the SQL text and driver arguments SQLAlchemy sends for ``params``."""
    compiled = stmt.compile(dialect=engine.dialect)
    values = compiled.construct_params(params)
    if compiled.positional:
        return str(compiled), tuple(values[name] for name in compiled.positiontup or ())
    return str(compiled), values


def floor(runtime: Runtime, request: PlacementRequest) -> Callable[[], object]:
    """The floor: the decision ours makes, without cumulo's database layer — our own
    candidate statement (hosts with their pools for a disk) and claims as the SQL text
    SQLAlchemy sends, on a raw DBAPI connection; the candidates as the plugins' values;
    the plugins' filters, planner, weighers and pool allocators
    (:mod:`cumulo.placement.pipeline`); rollback. Settings and plugins are loaded once,
    before. What any implementation of pluggable, explainable placement must do."""
    from collections import Counter

    from cumulo.placement import candidates as db
    from cumulo.placement import pipeline
    from cumulo.placement.service import _Run

    engine = runtime.engine
    with runtime.sessions() as session:
        run = _Run(session, request, runtime.config_store(session))
        disks = bool(run.ctx.disks)
        stmt = db.candidate_statement(session, run.vm, db.FIRST_PAGE_SIZE, pools=disks)
        session.rollback()
    select_sql, select_args = _driver_sql(
        engine, stmt, db.candidate_parameters(run.vm, run.need, 0)
    )
    claim_sql, _ = _driver_sql(engine, db._CLAIM_HOST, {"host": 0, "cpu": 0, "memory": 0})
    pool_sql, _ = _driver_sql(engine, db._CLAIM_POOL, {"pool": 0, "size": 0, "factor": 1.0})
    claim_host, claim_pool = _named(engine, db._CLAIM_HOST), _named(engine, db._CLAIM_POOL)
    components, ctx, need = run.components, run.ctx, run.need
    factor = run.storage_factor

    def call() -> object:
        connection = engine.raw_connection()
        try:
            cursor = connection.cursor()
            cursor.execute(select_sql, select_args)
            hosts, seen, pools = [], set(), {}
            for row in cursor.fetchall():
                if row[0] not in seen:
                    seen.add(row[0])
                    hosts.append(db._host(row))
                if disks and row[19] is not None:
                    pools.setdefault(row[5], {})[row[19]] = db._pool(row[19:], factor)
            chosen = None
            tally: Counter[tuple[str, str, str]] = Counter()
            survivors = pipeline.filter_hosts(hosts, components, ctx, tally)
            for host in pipeline.iter_ordered_hosts(survivors, components, ctx, tally):
                plan = None
                if disks:
                    candidates = list(pools.get(host.cluster_id, {}).values())
                    plan = pipeline.storage_plan(
                        host, candidates, components, ctx, pipeline.PoolTally()
                    )
                    if plan is None:
                        continue
                cursor.execute(claim_sql, claim_host(host=host.id, cpu=need.cpu_mhz,
                                                     memory=need.memory_bytes))  # fmt: skip
                if cursor.rowcount != 1:
                    continue
                if plan is not None:
                    pool = plan[0][0]
                    cursor.execute(pool_sql, claim_pool(pool=pool.id, size=ROOT_DISK,
                                                        factor=pool.overprovisioning))  # fmt: skip
                chosen = host.id
                break
            cursor.close()
            connection.rollback()
        finally:
            connection.close()
        return chosen

    return call


def _named(engine: Engine, stmt: Any) -> Callable[..., Any]:
    """A function of keyword values giving the driver arguments of ``stmt``."""
    compiled = stmt.compile(dialect=engine.dialect)
    order = tuple(compiled.positiontup or ()) if compiled.positional else None

    def arguments(**values: Any) -> Any:
        full = compiled.construct_params(values)
        return tuple(full[name] for name in order) if order is not None else full

    return arguments


# ---- measuring -------------------------------------------------------------------------------


def count_statements(engine: Engine, operation: Callable[[], object]) -> int:
    """SQL statements ``operation`` sends (SQLite's ``BEGIN`` not counted: MariaDB
    opens its transactions without one)."""
    executed: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if not statement.lstrip().upper().startswith("BEGIN"):
            executed.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        operation()
    finally:
        event.remove(engine, "before_cursor_execute", note)
    return len(executed)


def interleave(
    a: Callable[[], object], b: Callable[[], object], blocks: int, calls: int
) -> dict[str, Any]:
    """ABBA blocks of ``calls`` decisions per side after a warm-up block; per-block
    ratios a/b, and every call's own time for the percentiles."""
    ratios: list[float] = []
    times: dict[str, list[float]] = {"ours": [], "baseline": []}
    for index in range(blocks + 1):
        sides = (("ours", a), ("baseline", b))
        spent: dict[str, float] = {}
        for name, call in sides[:: 1 if index % 2 else -1]:
            own: list[float] = []
            for _ in range(calls):
                started = time.perf_counter()
                call()
                own.append(time.perf_counter() - started)
            spent[name] = sum(own)
            if index:
                times[name].extend(own)
        if index:
            ratios.append(spent["ours"] / spent["baseline"])
    q1, q3 = quartiles(ratios)
    median = statistics.median(ratios)

    def pct(values: list[float], p: float) -> float:
        ordered = sorted(values)
        return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1e3, 3)

    return {
        "ms_p50_ours": pct(times["ours"], 0.5),
        "ms_p95_ours": pct(times["ours"], 0.95),
        "ms_p50_baseline": pct(times["baseline"], 0.5),
        "ms_p95_baseline": pct(times["baseline"], 0.95),
        "ratio_median": round(median, 3),
        "ratio_iqr": [round(q1, 3), round(q3, 3)],
        "target": TARGET,
        "meets_target": median <= TARGET,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--url", help="an EMPTY MariaDB/MySQL database to migrate and use")
    parser.add_argument("--hosts", type=int, default=50_000)
    parser.add_argument("--clusters", type=int, default=100)
    parser.add_argument("--blocks", type=int, default=12, help="measured blocks per case")
    parser.add_argument("--decisions", type=int, default=40, help="decisions per block and side")
    parser.add_argument("--fullness", type=float, nargs="+", default=[0.2, 0.9])
    args = parser.parse_args()
    if args.url and make_url(args.url).get_backend_name() == "sqlite":
        parser.error("--url is for MariaDB/MySQL; SQLite runs in a temporary directory")
    with (
        tempfile.TemporaryDirectory() as temporary,
        deployment(Path(temporary), args.url) as (runtime, _apikey, _secretkey),
    ):
        started = time.perf_counter()
        seed_hosts(runtime, args.hosts, clusters=args.clusters)
        seed_pools(runtime)
        seeded = round(time.perf_counter() - started, 2)
        zone_id = zone_of(runtime)
        for full in sorted(args.fullness):
            set_fullness(runtime, full)
            for disk in (False, True):
                request = PlacementRequest(
                    zone_id=zone_id, account_id=2, domain_id=1, cpu=CPU, speed=SPEED,
                    memory_mb=MEMORY_MB, hypervisor="Simulator",
                    root_disk_bytes=ROOT_DISK if disk else 0,
                )  # fmt: skip
                a, b = ours(runtime, request), baseline(runtime.engine, zone_id, disk)
                c = floor(runtime, request)
                a(), b(), c()  # warm: plugins loaded, settings cached, statements compiled
                statements = count_statements(runtime.engine, a)
                lowest = interleave(c, b, args.blocks, args.decisions)
                to_floor = interleave(a, c, args.blocks, args.decisions)
                line = {
                    "bench": "placement",
                    "case": f"{'root_disk' if disk else 'host_only'}_{round(full * 100)}pct_full",
                    "backend": runtime.engine.dialect.name,
                    "hosts": args.hosts,
                    "clusters": args.clusters,
                    "full_share": full,
                    **interleave(a, b, args.blocks, args.decisions),
                    "ms_p50_floor": lowest["ms_p50_ours"],
                    "ms_p95_floor": lowest["ms_p95_ours"],
                    "floor_ratio_median": lowest["ratio_median"],
                    "floor_ratio_iqr": lowest["ratio_iqr"],
                    "ratio_to_floor_median": to_floor["ratio_median"],
                    "ratio_to_floor_iqr": to_floor["ratio_iqr"],
                    "sql_statements": statements,
                    "sql_statements_baseline": 4 if disk else 2,
                    "blocks": args.blocks,
                    "decisions_per_block": args.decisions,
                    "seed_seconds": seeded,
                    "machine": machine(),
                }
                print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
