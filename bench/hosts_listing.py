"""Benchmark: ``listHosts`` pages at 10,000 and 50,000 hosts against a raw SELECT (B1 shape).

A migrated and seeded cloud (a SQLite file in a temporary directory, or ``--url`` on an
EMPTY MariaDB/MySQL database) gets simulated hosts inserted set-based, as a benchmark's
setup (:func:`seed_hosts`: one zone, one pod, a few ``Simulator`` clusters; every 10th
host tagged, every 50th carrying the ``ha.tag`` tag). At each size the benchmark
interleaves, in ABBA blocks:

- **ours**: a signed ``listHosts`` request (``page``/``pagesize=500``) through the falcon
  application in process (``falcon.testing.TestClient`` on ``create_app``): signature
  check, dispatch, parameter validation, the listing query, the view, the JSON
  rendering, everything but the socket and gunicorn;
- **baseline**: the same page with raw DBAPI (one hand-written ``SELECT`` of the page's
  columns with the zone/pod/cluster names and tags, one ``COUNT(*)``), the same
  response dict built by hand and rendered with orjson. It is checked once to produce
  **the same bytes** as ours, so both sides do the same irreducible work.

Per case it prints one JSON line: the median of the per-block time ratios ours/baseline
and their quartiles (target ≤3, ../shared/spec/performance.md B1(a)), the median
milliseconds per page of both, and the SQL statements one request costs (counted with a
``before_cursor_execute`` listener; the same at every size and page means constant).
Cases: the first page and the last full page (``OFFSET`` near the end).

    .venv/bin/python bench/hosts_listing.py [--sizes 10000 50000] [--blocks 12]
        [--requests 10] [--url mysql+pymysql://root@127.0.0.1:3306/EMPTY_DB]

:func:`seed_hosts` is shared with ``host_heartbeat.py``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import statistics
import tempfile
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from importlib.metadata import version
from pathlib import Path
from typing import Any

import falcon.testing
import orjson
from sqlalchemy import event, func, insert, select
from sqlalchemy.engine import Engine, make_url

from cumulo.infra.hosts.models import Cluster, Host, HostTag
from cumulo.infra.models import Pod, Zone
from cumulo.plugins import get_plugin_manager
from cumulo.runtime import Runtime
from cumulo.testing.deployment import deploy_database, register_admin_keys
from cumulo_api.app import create_app
from cumulo_api.client.signer import sign

MANAGEMENT_KEY = "bench-management-key"
DATABASE_KEY = "bench-database-key"
PAGE_SIZE = 500
TARGET = 3.0
HA_TAG = "ha"
INSERT_CHUNK = 5_000
"""Rows per executemany batch while seeding (keeps the parameter lists moderate)."""


# ---- setup: a deployment and its hosts, inserted set-based -------------------------------


@contextlib.contextmanager
def deployment(scratch: Path, url: str | None) -> Iterator[tuple[Runtime, str, str]]:
    """A migrated, seeded cloud (SQLite under ``scratch`` unless ``url``), admin keys.

    :return: the runtime (closed on exit), the admin's API key and secret key.
    """
    url = url or f"sqlite:///{scratch / 'cloud.db'}"
    pm = get_plugin_manager()
    deploy_database(
        url, scratch / "conf", management_key=MANAGEMENT_KEY, database_key=DATABASE_KEY, pm=pm
    )
    apikey, secretkey = register_admin_keys(url, DATABASE_KEY, pm=pm)
    runtime = Runtime.for_url(url, DATABASE_KEY, pm=pm)
    try:
        yield runtime, apikey, secretkey
    finally:
        runtime.close()


def _topology(runtime: Runtime, clusters: int) -> tuple[int, int, list[int]]:
    """The bench zone, pod and ``clusters`` Simulator clusters (created on first use)."""
    with runtime.sessions.begin() as session:
        zone = session.scalars(select(Zone).where(Zone.name == "bench")).first()
        if zone is None:
            zone = Zone(name="bench", dns1="8.8.8.8", internal_dns1="10.0.0.2", networktype="Basic")
            session.add(zone)
            session.flush()
            pod = Pod(
                name="bench-pod", data_center_id=zone.id, gateway="10.0.0.1",
                cidr_address="10.0.0.0", cidr_size=8, description="10.0.0.10-10.0.0.20",
                reserved_start_num=10, reserved_end_num=20,
            )  # fmt: skip
            session.add(pod)
            session.flush()
            session.add_all(
                Cluster(
                    name=f"bench-cluster-{index}",
                    pod_id=pod.id,
                    data_center_id=zone.id,
                    hypervisor_type="Simulator",
                    guid=f"bench-cluster-{index}",
                )
                for index in range(clusters)
            )
            session.flush()
        pod_id = session.scalars(select(Pod.id).where(Pod.data_center_id == zone.id)).one()
        cluster_ids = list(
            session.scalars(
                select(Cluster.id).where(Cluster.data_center_id == zone.id).order_by(Cluster.id)
            )
        )
        return zone.id, pod_id, cluster_ids


def seed_hosts(runtime: Runtime, count: int, *, clusters: int = 4) -> int:
    """Add hosts until the bench zone has ``count`` (Up, just pinged, ``Simulator``).

    Rows look like what ``addHost`` writes for a simulated host (guid as the simulator
    derives it from the URL, capacity materialised), but are inserted with Core
    executemany: seeding 50,000 hosts through ``addHost`` would take minutes and is not
    what is measured. Every 10th host gets the tag ``fast``, every 50th also ``ha``.

    :return: the number of hosts added.
    """
    zone_id, pod_id, cluster_ids = _topology(runtime, clusters)
    with runtime.sessions.begin() as session:
        existing = session.scalar(
            select(func.count()).select_from(Host).where(Host.data_center_id == zone_id)
        )
        start = int(existing or 0)
        now = session.scalar(select(func.current_timestamp()))
        now = now if isinstance(now, dt.datetime) else dt.datetime.now(dt.UTC)
        now = now.replace(tzinfo=None, microsecond=0)
        for first in range(start, count, INSERT_CHUNK):
            numbers = range(first, min(first + INSERT_CHUNK, count))
            session.execute(insert(Host), [_host_row(n, zone_id, pod_id, cluster_ids, now)
                                           for n in numbers])  # fmt: skip
            ids: dict[str, int] = dict(
                session.execute(
                    select(Host.name, Host.id).where(
                        Host.name.in_([f"sim-{n:06d}" for n in numbers if n % 10 == 0])
                    )
                ).all()
            )
            tags = [{"host_id": ids[f"sim-{n:06d}"], "tag": "fast"} for n in numbers if n % 10 == 0]
            tags += [
                {"host_id": ids[f"sim-{n:06d}"], "tag": HA_TAG} for n in numbers if n % 50 == 0
            ]
            if tags:
                session.execute(insert(HostTag), tags)
    return max(count - start, 0)


def _host_row(
    number: int, zone_id: int, pod_id: int, cluster_ids: list[int], now: dt.datetime
) -> dict[str, Any]:
    url = f"http://sim/host{number}?cpus=8&speed=2400&memory=32GiB"
    # The simulator's guid for this URL (cumulo_simulator.hosturl.host_guid), so that a
    # ping addresses the same host addHost would have registered.
    guid = f"sim-{uuid.uuid5(uuid.NAMESPACE_URL, f'sim/host{number}')}"
    address = f"10.{number // 65536 % 256}.{number // 256 % 256}.{number % 256}"
    return {
        "uuid": str(uuid.uuid4()),
        "name": f"sim-{number:06d}",
        "type": "Routing",
        "status": "Up",
        "resource_state": "Enabled",
        "data_center_id": zone_id,
        "pod_id": pod_id,
        "cluster_id": cluster_ids[number % len(cluster_ids)],
        "private_ip_address": address,
        "url": url,
        "guid": guid,
        "hypervisor_type": "Simulator",
        "hypervisor_version": "4.1",
        "version": "4.1.0",
        "capabilities": "hvm",
        "cpu_sockets": 2,
        "cpus": 8,
        "speed": 2400,
        "total_memory": 32 * 2**30,
        "free_cpu": 8 * 2400 - (number % 7) * 1000,
        "free_memory": 32 * 2**30 - (number % 5) * 2**30,
        "last_ping": now,
        "created": now,
        "mgmt_server_id": 1,
    }


def set_ha_tag(runtime: Runtime) -> None:
    """``ha.tag`` set, so the listing computes ``hahost`` for real (an ``EXISTS`` a row)."""
    with runtime.sessions.begin() as session:
        runtime.config_store(session).set("ha.tag", HA_TAG)


# ---- the two sides -------------------------------------------------------------------------


def _signed(params: list[tuple[str, str]], apikey: str, secretkey: str) -> str:
    wire = sign([("command", "listHosts"), *params, ("response", "json")], apikey, secretkey)
    return urllib.parse.urlencode(wire)


def api_page(
    client: falcon.testing.TestClient, params: list[tuple[str, str]], keys: tuple[str, str]
) -> Callable[[], bytes]:
    """Ours: one signed ``listHosts`` through the whole falcon application."""
    query = _signed(params, *keys)

    def call() -> bytes:
        answer = client.simulate_get("/client/api", query_string=query)
        if answer.status_code != 200:
            raise SystemExit(f"listHosts answered {answer.status_code}: {answer.text[:300]}")
        return answer.content

    return call


# The best raw shape: page the ids on the host table alone, then join names, tags and
# the HA flag for those rows only. (The naive shape, joins with ORDER BY id LIMIT,
# makes MariaDB sort the whole joined table and compute every host's subqueries: a
# baseline slower than ours, measuring nothing.)
RAW_PAGE = """
SELECT h.uuid, h.name, h.status, h.disconnected, h.type, h.private_ip_address,
       z.uuid, z.name, p.uuid, p.name, h.version, h.hypervisor_type, h.cpus, h.speed,
       h.free_cpu, h.total_memory, h.free_memory, h.capabilities, h.last_ping,
       h.mgmt_server_id, c.uuid, c.name, c.cluster_type, h.created, h.removed,
       (SELECT group_concat(t.tag) FROM host_tags t WHERE t.host_id = h.id),
       EXISTS (SELECT 1 FROM host_tags a WHERE a.host_id = h.id AND a.tag = %(ha)s),
       h.resource_state, h.hypervisor_version
FROM (SELECT id FROM host WHERE removed IS NULL ORDER BY id LIMIT %(limit)s OFFSET %(offset)s) pg
JOIN host h ON h.id = pg.id
JOIN data_center z ON h.data_center_id = z.id
LEFT OUTER JOIN host_pod_ref p ON h.pod_id = p.id
LEFT OUTER JOIN cluster c ON h.cluster_id = c.id
ORDER BY h.id
"""
RAW_COUNT = "SELECT count(*) FROM host h WHERE h.removed IS NULL"


def _date(value: Any) -> str | None:
    """4.1's date format; SQLite hands back text, MariaDB ``datetime``."""
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return str(value.strftime("%Y-%m-%dT%H:%M:%S+0000"))


def baseline_page(engine: Engine, offset: int) -> Callable[[], bytes]:
    """The baseline: the same page with raw DBAPI and orjson, nothing else."""
    sqlite = engine.dialect.name == "sqlite"
    page_sql = RAW_PAGE.replace("%(ha)s", "?").replace("%(limit)s", "?").replace("%(offset)s", "?")
    page_sql = page_sql if sqlite else RAW_PAGE
    # qmark parameters are positional: the HA tag comes first in the text.
    page_args: Any = (HA_TAG, PAGE_SIZE, offset) if sqlite else {
        "ha": HA_TAG, "limit": PAGE_SIZE, "offset": offset,
    }  # fmt: skip

    def call() -> bytes:
        connection = engine.raw_connection()
        try:
            cursor = connection.cursor()
            cursor.execute(page_sql, page_args)
            rows = cursor.fetchall()
            cursor.execute(RAW_COUNT)
            (total,) = cursor.fetchone() or (0,)
            cursor.close()
            connection.commit()
        finally:
            connection.close()
        hosts = [_raw_host(row) for row in rows]
        return orjson.dumps({"listhostsresponse": {"count": total, "host": hosts}})

    return call


def _raw_host(row: Any) -> dict[str, Any]:
    (uuid_, name, status, disconnected, type_, address, zone_uuid, zone_name, pod_uuid,
     pod_name, version_, hypervisor, cpus, speed, free_cpu, memory, free_memory,
     capabilities, last_ping, msid, cluster_uuid, cluster_name, cluster_type, created,
     removed, tags, ha, resource_state, hypervisor_version) = row  # fmt: skip
    cpu_total = (cpus or 0) * (speed or 0)
    fields = {
        "id": uuid_, "name": name, "state": status, "disconnected": _date(disconnected),
        "type": type_, "ipaddress": address, "zoneid": zone_uuid, "zonename": zone_name,
        "podid": pod_uuid, "podname": pod_name, "version": version_,
        "hypervisor": hypervisor, "cpunumber": cpus, "cpuspeed": speed,
        "cpuallocated": (
            f"{(cpu_total - (free_cpu or 0)) / cpu_total * 100:.2f}%" if cpu_total else None
        ),
        "cpuwithoverprovisioning": str(cpu_total) if cpu_total else None,
        "memorytotal": memory,
        "memoryallocated": memory - (free_memory or 0) if memory else None,
        "capabilities": capabilities, "lastpinged": _date(last_ping),
        "managementserverid": msid, "clusterid": cluster_uuid, "clustername": cluster_name,
        "clustertype": cluster_type, "islocalstorageactive": False, "created": _date(created),
        "removed": _date(removed), "hosttags": tags or None, "resourcestate": resource_state,
        "hypervisorversion": hypervisor_version, "hahost": bool(ha),
    }  # fmt: skip
    return {key: value for key, value in fields.items() if value is not None}


# ---- measuring -------------------------------------------------------------------------------


def count_statements(engine: Engine, operation: Callable[[], object]) -> int:
    """SQL statements ``operation`` sends through ``engine`` (a cursor-execute listener)."""
    executed = 0

    def count(*_: object) -> None:
        nonlocal executed
        executed += 1

    event.listen(engine, "before_cursor_execute", count)
    try:
        operation()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return executed


def quartiles(values: list[float]) -> tuple[float, float]:
    """First and third quartiles (the value twice when there is one)."""
    if len(values) < 2:
        return values[0], values[0]
    q1, _, q3 = statistics.quantiles(values, n=4)
    return q1, q3


def machine() -> dict[str, Any]:
    """Where the figures come from (reported, never gated on)."""
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "falcon": version("falcon"),
        "sqlalchemy": version("sqlalchemy"),
    }


def _timed(operation: Callable[[], object], requests: int) -> float:
    start = time.perf_counter()
    for _ in range(requests):
        operation()
    return (time.perf_counter() - start) / requests


def interleave(
    ours: Callable[[], object], baseline: Callable[[], object], blocks: int, requests: int
) -> dict[str, Any]:
    """ABBA blocks of ``requests`` calls each after one warm-up block; the median of the
    per-block ratios ours/baseline, its quartiles and the median seconds per call."""
    ratios: list[float] = []
    seconds: dict[str, list[float]] = {"ours": [], "baseline": []}
    for index in range(blocks + 1):
        order = (("ours", ours), ("baseline", baseline))
        spent = {name: _timed(call, requests) for name, call in order[:: 1 if index % 2 else -1]}
        if index == 0:  # warm-up: caches, prepared plans, the connection pool
            continue
        seconds["ours"].append(spent["ours"])
        seconds["baseline"].append(spent["baseline"])
        ratios.append(spent["ours"] / spent["baseline"])
    q1, q3 = quartiles(ratios)
    median = statistics.median(ratios)
    return {
        "ms_per_page_ours": round(statistics.median(seconds["ours"]) * 1e3, 2),
        "ms_per_page_baseline": round(statistics.median(seconds["baseline"]) * 1e3, 2),
        "ratio_median": round(median, 3),
        "ratio_iqr": [round(q1, 3), round(q3, 3)],
        "target": TARGET,
        "meets_target": median <= TARGET,
    }


def measure_size(
    runtime: Runtime, keys: tuple[str, str], size: int, args: argparse.Namespace
) -> Iterator[dict[str, Any]]:
    """The JSON lines of one size: first page and last full page."""
    client = falcon.testing.TestClient(create_app(runtime))
    pages = {"first_page": 1, "last_full_page": size // PAGE_SIZE}
    for case, page in pages.items():
        params = [("page", str(page)), ("pagesize", str(PAGE_SIZE))]
        ours = api_page(client, params, keys)
        baseline = baseline_page(runtime.engine, (page - 1) * PAGE_SIZE)
        if ours() != baseline():
            raise SystemExit(f"{case}: the baseline's bytes differ from listHosts'")
        ours()  # the second request counts: nothing is cold any more
        statements = count_statements(runtime.engine, ours)
        # Signed once: 600 s of validity covers a case at the default settings.
        measured = interleave(ours, baseline, args.blocks, args.requests)
        yield {
            "bench": "hosts_listing",
            "case": case,
            "backend": runtime.engine.dialect.name,
            "hosts": size,
            "page": page,
            "pagesize": PAGE_SIZE,
            **measured,
            "sql_statements": statements,
            # The baseline's page SELECT and COUNT, on a raw DBAPI cursor (which the
            # engine's listener does not see).
            "sql_statements_baseline": 2,
            "path": "falcon app in process (signature, dispatch, query, view, JSON)",
            "blocks": args.blocks,
            "requests_per_block": args.requests,
            "machine": machine(),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--url", help="an EMPTY MariaDB/MySQL database to migrate and use")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 50_000])
    parser.add_argument("--blocks", type=int, default=12, help="measured blocks per case")
    parser.add_argument("--requests", type=int, default=10, help="pages per block and side")
    args = parser.parse_args()
    if args.url and make_url(args.url).get_backend_name() == "sqlite":
        parser.error("--url is for MariaDB/MySQL; SQLite runs in a temporary directory")
    with (
        tempfile.TemporaryDirectory() as temporary,
        deployment(Path(temporary), args.url) as (runtime, apikey, secretkey),
    ):
        set_ha_tag(runtime)
        for size in sorted(args.sizes):
            started = time.perf_counter()
            seed_hosts(runtime, size)
            seeded = time.perf_counter() - started
            for line in measure_size(runtime, (apikey, secretkey), size, args):
                print(json.dumps({**line, "seed_seconds": round(seeded, 2)}), flush=True)


if __name__ == "__main__":
    main()
