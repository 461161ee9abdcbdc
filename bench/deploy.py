"""Benchmark: ``deployVirtualMachine`` on the simulator with 10,000 hosts (B2).

A migrated and seeded cloud (a SQLite file in a temporary directory, or ``--url`` on an
EMPTY MariaDB/MySQL database) gets the demo zone (:func:`cumulo.demo.ensure_demo_zone`:
simulated hosts, a pool, a guest range), grown to ``--hosts`` simulated hosts in its
cluster and to enough guest addresses (set-based, Core executemany, as a benchmark's
setup), and a downloaded template. The zone is a basic zone without security groups
(the compute issue's deploy: a NIC with an address of the pod's guest range), unless
``--security-groups`` keeps the demo's (each deploy then also joins the owner's default
group and has its rules applied: the guest-networking issue's work). A deploy is what a
client does:

- **ours**: a signed ``deployVirtualMachine`` (the admin's, so no account limit stops
  the run) through the falcon application in process, then the job as the worker runs
  it (``run_pending(limit=1)``): validation, the counts, the VM and volume rows, the job
  row; placement and its claims, the address and NIC, the simulator's volume and start,
  ``Running``, the job's result;
- **baseline**: the bare-database floor of the same writes: raw DBAPI, the same number
  of statements in the same transactions with the same commits (measured from ours),
  each a trivial ``INSERT`` into a scratch table;
- **floor**: the baseline plus what ANY implementation of the deploy must do besides
  the database: verify the request's signature, encrypt the console password (a
  secret at rest) and decrypt it for the driver, the simulator's two driver calls, the
  answer's JSON (:func:`floor`).

Interleaved in ABBA blocks of ``--deploys`` each; per block the ratio of throughputs
ours/baseline (target ≥0.5, ../shared/spec/performance.md B2), floor/baseline (what
the target leaves once the irreducible work is paid) and ours/floor. The deterministic
figures come from engine listeners over one warm deploy: statements and commits of the
request and of the job's handler (the worker's own polling and claim apart, as
core/tests/test_compute_deploy_path.py counts them), target ≤20 statements and ≤3
commits in total.

    .venv/bin/python bench/deploy.py [--hosts 10000] [--blocks 10] [--deploys 20]
        [--security-groups] [--url mysql+pymysql://root@127.0.0.1:3306/EMPTY_DB]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import falcon.testing
from sqlalchemy import event, func, insert, select, text
from sqlalchemy.engine import Engine, make_url

sys.path.insert(0, str(Path(__file__).resolve().parent))

from hosts_listing import _host_row, deployment, machine, quartiles

from cumulo.infra.hosts.models import Cluster, Host, HostType
from cumulo.infra.models import UserIpAddress, VlanIpRange, Zone
from cumulo.offerings.models import ServiceOffering
from cumulo.runtime import Runtime
from cumulo.templates.models import DownloadState, TemplateZoneRef, VMTemplate
from cumulo_api.app import create_app
from cumulo_api.registry import CommandRegistry
from cumulo_api.testing import signed_request
from cumulo_api.worker import run_pending

TARGET_RATIO = 0.5
TARGET_STATEMENTS = 20
TARGET_COMMITS = 3
GIB = 1024**3


# ---- setup ----------------------------------------------------------------------------------


def grow_zone(
    runtime: Runtime,
    data_dir: Path,
    hosts: int,
    addresses: int,
    *,
    security_groups: bool = False,
) -> dict[str, str]:
    """The demo zone with ``hosts`` Routing hosts and ``addresses`` guest addresses, and a
    downloaded public template; the uuids a deploy names. Without ``security_groups``
    the zone is a basic zone without them (the demo's has them)."""
    from cumulo.demo import ensure_demo_zone

    zone_uuid = ensure_demo_zone(runtime, data_dir).zone_uuid
    with runtime.sessions.begin() as session:
        zone = session.scalars(select(Zone).where(Zone.uuid == zone_uuid)).one()
        zone.is_security_group_enabled = security_groups
        cluster = session.scalars(select(Cluster).where(Cluster.data_center_id == zone.id)).first()
        assert cluster is not None
        have = session.scalar(
            select(func.count()).where(
                Host.data_center_id == zone.id, Host.type == HostType.ROUTING.value
            )
        )
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
        for first in range(int(have or 0), hosts, 5_000):
            session.execute(
                insert(Host),
                [
                    {**_host_row(n, zone.id, cluster.pod_id, [cluster.id], now),
                     "free_cpu": 8 * 2400, "free_memory": 32 * GIB}
                    for n in range(first, min(first + 5_000, hosts))
                ],
            )  # fmt: skip
        vlan = session.scalars(
            select(VlanIpRange).where(VlanIpRange.pod_id == cluster.pod_id)
        ).first()
        assert vlan is not None
        base = 10 << 24
        session.execute(
            insert(UserIpAddress),
            [
                {"public_ip_address": f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}",
                 "ip_num": base + n, "data_center_id": zone.id, "vlan_db_id": vlan.id,
                 "state": "Free"}
                for n in range(1, addresses + 1)
            ],
        )  # fmt: skip
        store = session.scalars(
            select(Host).where(Host.type == HostType.SECONDARY_STORAGE.value)
        ).first()
        from cumulo.accounts.models import Account

        admin = session.scalars(select(Account).where(Account.account_name == "admin")).one()
        template = VMTemplate(
            name="bench-tiny", display_text="bench tiny", format="QCOW2",
            hypervisor_type="Simulator", account_id=admin.id, domain_id=admin.domain_id,
            public=True, featured=True, password_enabled=False, size=2 * GIB,
            url="http://example.com/tiny.qcow2",
        )  # fmt: skip
        session.add(template)
        session.flush()
        session.add(
            TemplateZoneRef(
                template_id=template.id, zone_id=zone.id,
                store_id=store.id if store is not None else None,
                download_state=DownloadState.DOWNLOADED.value, download_pct=100,
                size=2 * GIB, install_path=f"template/tmpl/2/{template.id}/tiny.qcow2",
            )
        )  # fmt: skip
        offering = session.scalars(
            select(ServiceOffering.uuid).where(ServiceOffering.name == "Small Instance")
        ).one()
        return {"zoneid": zone_uuid, "templateid": template.uuid, "serviceofferingid": offering}


# ---- the two sides -----------------------------------------------------------------------------


class Deployer:
    """Ours: deploys through the API and the worker, in process."""

    def __init__(self, runtime: Runtime, keys: tuple[str, str], params: dict[str, str]) -> None:
        self.runtime = runtime
        self.client = falcon.testing.TestClient(create_app(runtime))
        self.registry = CommandRegistry.build(runtime.pm)
        self.keys = keys
        self.params = params

    def request(self) -> None:
        answer = signed_request(self.client, self.keys, "deployVirtualMachine", **self.params)
        if answer.status_code != 200:
            raise SystemExit(f"deployVirtualMachine: {answer.status_code} {answer.text[:300]}")

    def job(self) -> None:
        # One job, as a worker runs it (its polling for more is on a timer, not per job).
        if run_pending(self.runtime, self.registry, limit=1) != 1:
            raise SystemExit("the deploy job did not run")

    def deploy(self) -> None:
        self.request()
        self.job()


def measure_shape(deployer: Deployer) -> dict[str, Any]:
    """Statements and commits of one (warm) deploy: the request's, the handler's (the
    worker's polling and claim apart), and the transactions' shape for the baseline."""
    engine = deployer.runtime.engine
    log: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if not statement.lstrip().upper().startswith("BEGIN"):
            log.append(statement)

    def commit(_conn: Any) -> None:
        log.append("COMMIT")

    event.listen(engine, "before_cursor_execute", note)
    event.listen(engine, "commit", commit)
    try:
        deployer.request()
        split = len(log)
        deployer.job()
    finally:
        event.remove(engine, "before_cursor_execute", note)
        event.remove(engine, "commit", commit)
    request, job = log[:split], log[split:]
    # The worker: a poll for jobs and the claim (committed), the job's load; then the
    # handler, whose last statement completes the job.
    worker = [s for s in job if "async_job" in s and "instance_uuid" not in s]
    handler = [s for s in job if s != "COMMIT"]
    handler_statements = len(handler) - (len(worker) - 1)
    request_statements = len([s for s in request if s != "COMMIT"])
    commits = request.count("COMMIT") + job.count("COMMIT") - 1  # the claim's apart
    # The transactions as executed (statements per commit), worker included, for the
    # baseline to repeat.
    shape: list[int] = []
    current = 0
    for statement in log:
        if statement == "COMMIT":
            shape.append(current)
            current = 0
        else:
            current += 1
    return {
        "statements_request": request_statements,
        "statements_job_handler": handler_statements,
        "statements_per_deploy": request_statements + handler_statements,
        "commits_per_deploy": commits,
        "statements_all_including_worker": len([s for s in log if s != "COMMIT"]),
        "transactions": shape,
    }


def baseline(engine: Engine, shape: list[int]) -> Callable[[], None]:
    """The baseline: the same transactions (statements per commit) of trivial INSERTs."""
    sqlite = engine.dialect.name == "sqlite"
    insert_sql = "INSERT INTO bench_floor (v) VALUES (?)" if sqlite else (
        "INSERT INTO bench_floor (v) VALUES (%s)"
    )  # fmt: skip

    def call() -> None:
        connection = engine.raw_connection()
        try:
            cursor = connection.cursor()
            for statements in shape:
                for _ in range(statements):
                    cursor.execute(insert_sql, ("deploy",))
                connection.commit()
            cursor.close()
        finally:
            connection.close()

    return call


class _Recorder:
    """The simulator's driver calls of one deploy, recorded to be made again."""

    def __init__(self) -> None:
        self.create: tuple[Any, ...] | None = None
        self.start: tuple[Any, ...] | None = None
        self.result: Any = None


def floor(deployer: Deployer, bare: Callable[[], None]) -> Callable[[], None]:
    """The floor: what ANY implementation of the deploy must do besides the database
    work of the baseline — verify the request's signature (parse, HMAC-SHA1 over the
    sorted parameters), encrypt the new VM's console password with the database key
    (jasypt, a secret at rest) and decrypt it for the driver, make the simulator's
    two driver calls (the root volume from the template, the start) with the same
    arguments as a deploy (fresh names), and write the answer as JSON — plus the
    baseline's transactions. Nothing of cumulo's own: no falcon, no SQLAlchemy."""
    import base64
    import dataclasses
    import hashlib
    import hmac
    import urllib.parse
    import uuid as uuids

    import orjson
    from cumulo_simulator.hypervisor import SimulatorHypervisor
    from cumulo_simulator.storage import SimulatorStorage

    from cumulo import crypto
    from cumulo_api.testing import java_url_encode, sign

    recorded = _Recorder()
    create, start = SimulatorStorage.create_volume, SimulatorHypervisor.start_vm

    def record_create(self: Any, pool: Any, name: str, size: int, template: Any = None) -> Any:
        recorded.create = (self, pool, size, template)
        return create(self, pool, name, size, template)

    def record_start(self: Any, host: Any, spec: Any) -> None:
        recorded.start = (self, host, spec)
        start(self, host, spec)

    SimulatorStorage.create_volume = record_create  # type: ignore[method-assign]
    SimulatorHypervisor.start_vm = record_start  # type: ignore[method-assign]
    try:
        deployer.request()
        deployer.job()
    finally:
        SimulatorStorage.create_volume = create  # type: ignore[method-assign]
        SimulatorHypervisor.start_vm = start  # type: ignore[method-assign]
    assert recorded.create is not None and recorded.start is not None
    storage, pool, size, template = recorded.create
    hypervisor, host, spec = recorded.start
    apikey, secret = deployer.keys
    wire = {**deployer.params, "command": "deployVirtualMachine", "response": "json",
            "apiKey": apikey}  # fmt: skip
    wire["signature"] = sign(wire, secret)
    query = urllib.parse.urlencode(wire, quote_via=urllib.parse.quote)
    key, algorithm = deployer.runtime.database_key, deployer.runtime.algorithm
    answer = {"virtualmachine": {"id": str(uuids.uuid4()), "name": "x" * 36, "nic": [{}]}}
    counter = [0]

    def call() -> None:
        pairs = urllib.parse.parse_qsl(query, keep_blank_values=True)
        given = dict(pairs)
        signed = sorted((k, v) for k, v in pairs if k != "signature")
        text = "&".join(f"{k}={java_url_encode(v)}" for k, v in signed).lower()
        digest = hmac.new(secret.encode(), text.encode(), hashlib.sha1).digest()
        if not hmac.compare_digest(base64.b64encode(digest).decode(), given["signature"]):
            raise SystemExit("floor: the signature does not verify")
        stored = crypto.encrypt(uuids.uuid4().hex[:16], key, algorithm)
        counter[0] += 1
        name = f"floor-{counter[0]}-{uuids.uuid4().hex[:8]}"
        volume = create(storage, pool, name, size, template)
        vm_spec = dataclasses.replace(
            spec,
            name=name,
            uuid=str(uuids.uuid4()),
            vnc_password=crypto.decrypt(stored, key, algorithm),
            volumes=tuple(
                dataclasses.replace(v, uuid=name, path=volume.path) for v in spec.volumes
            ),
        )
        # On a host of its own (the recorded one's hardware, another name), a new one
        # every 8 VMs: the floor's VMs must not fill the hosts placement gives ours.
        start(hypervisor, dataclasses.replace(host, guid=f"floor-{counter[0] // 8}"), vm_spec)
        orjson.dumps(answer)
        bare()

    return call


def create_floor_table(engine: Engine) -> None:
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            connection.execute(text(
                "CREATE TABLE bench_floor (id INTEGER PRIMARY KEY AUTOINCREMENT, v VARCHAR(64))"
            ))  # fmt: skip
        else:
            connection.execute(text(
                "CREATE TABLE bench_floor (id BIGINT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(64))"
            ))  # fmt: skip


def interleave(
    ours: Callable[[], None], baseline: Callable[[], None], blocks: int, deploys: int
) -> dict[str, Any]:
    """ABBA blocks of ``deploys`` each after a warm-up block; per-block throughput
    ratios ours/baseline (≥0.5 is the target: ours costs at most twice the floor)."""
    ratios: list[float] = []
    rates: dict[str, list[float]] = {"ours": [], "baseline": []}
    for index in range(blocks + 1):
        spent: dict[str, float] = {}
        for name, call in (("ours", ours), ("baseline", baseline))[:: 1 if index % 2 else -1]:
            started = time.perf_counter()
            for _ in range(deploys):
                call()
            spent[name] = time.perf_counter() - started
        if index:
            ratios.append(spent["baseline"] / spent["ours"])
            for name in spent:
                rates[name].append(deploys / spent[name])
    q1, q3 = quartiles(ratios)
    median = statistics.median(ratios)
    return {
        "deploys_per_s_ours": round(statistics.median(rates["ours"]), 1),
        "deploys_per_s_baseline": round(statistics.median(rates["baseline"]), 1),
        "ms_per_deploy_ours": round(1e3 / statistics.median(rates["ours"]), 2),
        "ratio_median": round(median, 3),
        "ratio_iqr": [round(q1, 3), round(q3, 3)],
        "target": TARGET_RATIO,
        "meets_target": median >= TARGET_RATIO,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--url", help="an EMPTY MariaDB/MySQL database to migrate and use")
    parser.add_argument("--hosts", type=int, default=10_000)
    parser.add_argument("--blocks", type=int, default=10, help="measured blocks")
    parser.add_argument("--deploys", type=int, default=20, help="deploys per block and side")
    parser.add_argument(
        "--security-groups",
        action="store_true",
        help="keep the demo zone's security groups: each deploy then also joins the"
        " owner's default group and has its rules applied (the networking issue's work)",
    )
    args = parser.parse_args()
    if args.url and make_url(args.url).get_backend_name() == "sqlite":
        parser.error("--url is for MariaDB/MySQL; SQLite runs in a temporary directory")
    with tempfile.TemporaryDirectory() as temporary:
        scratch = Path(temporary)
        os.environ["CUMULO_SIMULATOR_STATE"] = str(scratch / "simulator.sqlite")
        with deployment(scratch, args.url) as (runtime, apikey, secretkey):
            started = time.perf_counter()
            deploys = (args.blocks + 1) * args.deploys + 5
            params = grow_zone(
                runtime,
                scratch / "data",
                args.hosts,
                deploys + 100,
                security_groups=args.security_groups,
            )
            seeded = round(time.perf_counter() - started, 2)
            create_floor_table(runtime.engine)
            deployer = Deployer(runtime, (apikey, secretkey), params)
            deployer.deploy()  # warm: plugins, settings, statements
            shape = measure_shape(deployer)
            bare = baseline(runtime.engine, shape["transactions"])
            measured = interleave(deployer.deploy, bare, args.blocks, args.deploys)
            lowest = floor(deployer, bare)
            floor_measured = interleave(lowest, bare, args.blocks, args.deploys)
            to_floor = interleave(deployer.deploy, lowest, args.blocks, args.deploys)
            line = {
                "bench": "deploy",
                "case": "deploy_and_run_job",
                "backend": runtime.engine.dialect.name,
                "hosts": args.hosts,
                "security_groups": args.security_groups,
                **measured,
                "deploys_per_s_floor": floor_measured["deploys_per_s_ours"],
                "floor_ratio_median": floor_measured["ratio_median"],
                "floor_ratio_iqr": floor_measured["ratio_iqr"],
                "ratio_to_floor_median": to_floor["ratio_median"],
                "ratio_to_floor_iqr": to_floor["ratio_iqr"],
                **shape,
                "statements_target": TARGET_STATEMENTS,
                "commits_target": TARGET_COMMITS,
                "meets_statements_target": shape["statements_per_deploy"] <= TARGET_STATEMENTS,
                "meets_commits_target": shape["commits_per_deploy"] <= TARGET_COMMITS,
                "blocks": args.blocks,
                "deploys_per_block": args.deploys,
                "seed_seconds": seeded,
                "machine": machine(),
            }
            print(json.dumps(line), flush=True)
            if args.url:
                with runtime.engine.begin() as connection:
                    connection.execute(text("DROP TABLE bench_floor"))


if __name__ == "__main__":
    main()
