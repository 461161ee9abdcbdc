"""Benchmark: ``listVirtualMachines`` with 100,000 VMs against a raw SELECT (B1).

A migrated and seeded cloud (a SQLite file in a temporary directory, or ``--url`` on an
EMPTY MariaDB/MySQL database) gets 10,000 simulated hosts (:func:`hosts_listing.
seed_hosts`), ``--accounts`` user accounts and ``--vms`` Running VMs, each with a NIC,
spread over the accounts and hosts: all inserted set-based with Core executemany, as
a benchmark's setup (:func:`seed_vms`). Cases, each interleaved in ABBA blocks:

- ``first_page`` / ``last_full_page``: an admin's ``listall=true page=N pagesize=500``;
- ``all_25000``: an account's whole listing of 25,000 VMs at once (``pagesize=-1``,
  4.1's "everything"; ``--big-account`` holds that many VMs);

- **ours**: a signed ``listVirtualMachines`` through the falcon application in process
  (``falcon.testing.TestClient`` on ``create_app``): signature, dispatch, scope, the
  listing query, the views, the JSON rendering; no socket;
- **baseline**: raw DBAPI, the best hand-written shape (the page's ids from
  ``vm_instance`` alone, the joins for those rows, their NICs, a ``COUNT(*)``), the
  response built by hand and rendered with orjson; checked once per case to give
  **the same bytes** as ours.

Per case one JSON line: the median of the per-block ratios ours/baseline with their
quartiles (target ≤3, ../shared/spec/performance.md B1), milliseconds per call of both
(medians), and the statements one request costs (target ≤3).

    .venv/bin/python bench/vms_listing.py [--vms 100000] [--accounts 500] [--blocks 10]
        [--requests 5] [--url mysql+pymysql://root@127.0.0.1:3306/EMPTY_DB]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
import time
import urllib.parse
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import falcon.testing
import orjson
from sqlalchemy import event, func, insert, select
from sqlalchemy.engine import Engine, make_url

sys.path.insert(0, str(Path(__file__).resolve().parent))

from hosts_listing import (
    deployment,
    interleave,
    machine,
    seed_hosts,
)

from cumulo.accounts.models import Account, Domain
from cumulo.compute.models import Nic, VirtualMachine
from cumulo.infra.hosts.models import Host
from cumulo.offerings.models import ServiceOffering
from cumulo.runtime import Runtime
from cumulo.templates.models import GuestOs, VMTemplate
from cumulo_api.app import create_app
from cumulo_api.client.signer import sign

PAGE_SIZE = 500
HOSTS = 10_000
CHUNK = 5_000


# ---- setup -----------------------------------------------------------------------------------


def seed_vms(runtime: Runtime, vms: int, accounts: int, big_account: int) -> dict[str, Any]:
    """``accounts`` accounts in ROOT (``bench-user-0`` holds ``big_account`` VMs, the
    others share the rest) and ``vms`` Running VMs with one NIC each; set-based.

    :return: the big account's name, its API keys, the zone id.
    """
    with runtime.sessions.begin() as session:
        root = session.scalars(select(Domain.id).where(Domain.path == "/")).one()
        zone_id, pod_id = session.execute(
            select(Host.data_center_id, Host.pod_id).where(Host.type == "Routing").limit(1)
        ).one()
        host_ids = list(session.scalars(select(Host.id).where(Host.type == "Routing")))
        offering = session.scalars(
            select(ServiceOffering.id).where(ServiceOffering.name == "Small Instance")
        ).one()
        guest_os = session.scalars(select(GuestOs.id).order_by(GuestOs.id).limit(1)).one()
        admin = session.scalars(select(Account.id).where(Account.account_name == "admin")).one()
        template = session.execute(
            insert(VMTemplate).values(
                uuid=str(uuid.uuid4()),
                name="bench-tmpl",
                display_text="bench template",
                format="QCOW2",
                hypervisor_type="Simulator",
                guest_os_id=guest_os,
                account_id=admin,
                domain_id=root,
                public=True,
                password_enabled=False,
                size=2 * 1024**3,
                template_type="USER",
                state="Active",
            )
        ).inserted_primary_key[0]
        session.execute(
            insert(Account),
            [
                {
                    "account_name": f"bench-user-{n}",
                    "type": 0,
                    "domain_id": root,
                    "state": "enabled",
                }
                for n in range(accounts)
            ],
        )
        account_ids = list(
            session.scalars(
                select(Account.id)
                .where(Account.account_name.like("bench-user-%"))
                .order_by(Account.id)
            )
        )
        now = dt.datetime(2026, 11, 25, 12, 0, 0)
        for first in range(0, vms, CHUNK):
            numbers = range(first, min(first + CHUNK, vms))

            def owner(n: int) -> int:
                if n < big_account:
                    return account_ids[0]
                return account_ids[1 + n % (len(account_ids) - 1)]

            session.execute(
                insert(VirtualMachine),
                [
                    {
                        "uuid": str(uuid.UUID(int=n + 1)),
                        "name": f"vm-{n:06d}",
                        "instance_name": f"i-{owner(n)}-{n}-VM",
                        "display_name": f"vm {n}",
                        "state": "Running",
                        "account_id": owner(n),
                        "domain_id": root,
                        "service_offering_id": offering,
                        "template_id": template,
                        "guest_os_id": guest_os,
                        "data_center_id": zone_id,
                        "pod_id": pod_id,
                        "host_id": host_ids[n % len(host_ids)],
                        "last_host_id": host_ids[n % len(host_ids)],
                        "hypervisor_type": "Simulator",
                        "vnc_password": "x",
                        "created": now,
                    }
                    for n in numbers
                ],
            )
            ids = dict(
                session.execute(
                    select(VirtualMachine.name, VirtualMachine.id).where(
                        VirtualMachine.name.in_([f"vm-{n:06d}" for n in numbers])
                    )
                ).all()
            )
            session.execute(
                insert(Nic),
                [
                    {
                        "uuid": str(uuid.UUID(int=(1 << 64) + n)),
                        "instance_id": ids[f"vm-{n:06d}"],
                        "data_center_id": zone_id,
                        "ip4_address": f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}",
                        "netmask": "255.0.0.0",
                        "gateway": "10.0.0.1",
                        "broadcast_uri": "vlan://untagged",
                        "isolation_uri": "ec2://untagged",
                        "mac_address": f"06:00:00:{n >> 16 & 255:02x}:{n >> 8 & 255:02x}:"
                        f"{n & 255:02x}",
                        "mode": "Dhcp",
                        "traffic_type": "Guest",
                        "is_default": True,
                        "device_id": 0,
                        "state": "Reserved",
                        "created": now,
                    }
                    for n in numbers
                ],
            )
        user = account_ids[0]
    keys = _user_keys(runtime, user)
    return {"big_account": "bench-user-0", "keys": keys, "zone_id": zone_id}


def _user_keys(runtime: Runtime, account_id: int) -> tuple[str, str]:
    """A user of the account, with API keys."""
    from cumulo.accounts.models import User
    from cumulo.auth.keys import register_user_keys

    with runtime.sessions.begin() as session:
        user = User(username="bench-user", password="!", account_id=account_id,
                    firstname="bench", lastname="user", email="bench@example.com")  # fmt: skip
        session.add(user)
        session.flush()
        return register_user_keys(session, user, runtime.database_key, runtime.algorithm)


# ---- the two sides ---------------------------------------------------------------------------


def api_call(
    client: falcon.testing.TestClient, params: list[tuple[str, str]], keys: tuple[str, str]
) -> Callable[[], bytes]:
    """Ours: one signed ``listVirtualMachines`` through the whole falcon application."""
    wire = sign([("command", "listVirtualMachines"), *params, ("response", "json")], *keys)
    query = urllib.parse.urlencode(wire)

    def call() -> bytes:
        answer = client.simulate_get("/client/api", query_string=query)
        if answer.status_code != 200:
            raise SystemExit(f"listVirtualMachines: {answer.status_code} {answer.text[:300]}")
        return answer.content

    return call


# Page the ids on vm_instance alone (with the account filter when there is one), then
# join the names for those rows only.
RAW_PAGE = """
SELECT v.id, v.uuid, v.name, v.display_name, v.instance_name, v.state, v.created,
       v.ha_enabled, v.hypervisor_type, v.keypair_name,
       a.account_name, d.uuid, d.name, z.uuid, z.name, h.uuid, h.name,
       o.uuid, o.name, o.cpu, o.speed, o.ram_size,
       t.uuid, t.name, t.display_text, t.password_enabled, g.uuid
FROM (SELECT id FROM vm_instance WHERE removed IS NULL {owner} ORDER BY id {window}) pg
JOIN vm_instance v ON v.id = pg.id
JOIN account a ON a.id = v.account_id
JOIN domain d ON d.id = v.domain_id
JOIN data_center z ON z.id = v.data_center_id
JOIN service_offering o ON o.id = v.service_offering_id
LEFT OUTER JOIN host h ON h.id = v.host_id
LEFT OUTER JOIN vm_template t ON t.id = v.template_id
LEFT OUTER JOIN guest_os g ON g.id = v.guest_os_id
ORDER BY v.id
"""
RAW_NICS = """
SELECT n.instance_id, n.uuid, n.netmask, n.gateway, n.ip4_address, n.isolation_uri,
       n.broadcast_uri, n.traffic_type, n.is_default, n.mac_address
FROM nics n WHERE n.instance_id IN ({ids}) AND n.removed IS NULL
ORDER BY n.instance_id, n.device_id
"""
RAW_COUNT = "SELECT count(*) FROM vm_instance WHERE removed IS NULL {owner}"


def _date(value: Any) -> str:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return str(value.strftime("%Y-%m-%dT%H:%M:%S+0000"))


def baseline_call(
    engine: Engine, *, admin: bool, offset: int, limit: int | None, account_id: int | None
) -> Callable[[], bytes]:
    """The baseline: the same answer with raw DBAPI and orjson, nothing else."""
    owner = f"AND account_id = {int(account_id)}" if account_id is not None else ""
    window = f"LIMIT {int(limit)} OFFSET {int(offset)}" if limit is not None else ""
    page_sql = RAW_PAGE.format(owner=owner, window=window)
    count_sql = RAW_COUNT.format(owner=owner)

    def call() -> bytes:
        connection = engine.raw_connection()
        try:
            cursor = connection.cursor()
            cursor.execute(page_sql)
            rows = cursor.fetchall()
            nics: dict[int, list[dict[str, Any]]] = {}
            if rows:
                cursor.execute(RAW_NICS.format(ids=",".join(str(r[0]) for r in rows)))
                for nic in cursor.fetchall():
                    nics.setdefault(nic[0], []).append({
                        "id": nic[1], "netmask": nic[2], "gateway": nic[3],
                        "ipaddress": nic[4], "isolationuri": nic[5], "broadcasturi": nic[6],
                        "traffictype": nic[7], "type": "Shared", "isdefault": bool(nic[8]),
                        "macaddress": nic[9],
                    })  # fmt: skip
            cursor.execute(count_sql)
            (total,) = cursor.fetchone() or (0,)
            cursor.close()
            connection.commit()
        finally:
            connection.close()
        items = [_raw_vm(row, nics.get(row[0], []), admin) for row in rows]
        return orjson.dumps(
            {"listvirtualmachinesresponse": {"count": total, "virtualmachine": items}}
        )

    return call


def _raw_vm(row: Any, nics: list[dict[str, Any]], admin: bool) -> dict[str, Any]:
    (_id, uuid_, name, display, instance, state, created, ha, hypervisor, keypair, account,
     domain_uuid, domain_name, zone_uuid, zone_name, host_uuid, host_name, offering_uuid,
     offering_name, cpu, speed, ram, t_uuid, t_name, t_text, t_password, os_uuid) = row  # fmt: skip
    fields = {
        "id": uuid_, "name": name, "displayname": display or name, "account": account,
        "domainid": domain_uuid, "domain": domain_name, "created": _date(created),
        "state": state, "haenable": bool(ha), "zoneid": zone_uuid, "zonename": zone_name,
        "hostid": host_uuid if admin else None, "hostname": host_name if admin else None,
        "templateid": t_uuid, "templatename": t_name, "templatedisplaytext": t_text,
        "passwordenabled": bool(t_password), "serviceofferingid": offering_uuid,
        "serviceofferingname": offering_name, "cpunumber": cpu, "cpuspeed": speed,
        "memory": ram, "guestosid": os_uuid, "rootdeviceid": 0, "rootdevicetype": "ROOT",
        "securitygroup": [], "nic": nics, "hypervisor": hypervisor,
        "instancename": instance if admin else None, "tags": [], "keypair": keypair,
    }  # fmt: skip
    return {key: value for key, value in fields.items() if value is not None}


# ---- measuring ------------------------------------------------------------------------------


def count_statements(engine: Engine, operation: Callable[[], object]) -> int:
    """SQL statements ``operation`` sends (SQLite's ``BEGIN`` not counted: it is how
    pysqlite opens the transaction MariaDB opens implicitly)."""
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


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--url", help="an EMPTY MariaDB/MySQL database to migrate and use")
    parser.add_argument("--vms", type=int, default=100_000)
    parser.add_argument("--accounts", type=int, default=500)
    parser.add_argument("--big-account", type=int, default=25_000,
                        help="VMs of the account whose whole listing is measured")  # fmt: skip
    parser.add_argument("--blocks", type=int, default=10, help="measured blocks per case")
    parser.add_argument("--requests", type=int, default=5, help="calls per block and side")
    args = parser.parse_args()
    if args.url and make_url(args.url).get_backend_name() == "sqlite":
        parser.error("--url is for MariaDB/MySQL; SQLite runs in a temporary directory")
    with (
        tempfile.TemporaryDirectory() as temporary,
        deployment(Path(temporary), args.url) as (runtime, apikey, secretkey),
    ):
        started = time.perf_counter()
        seed_hosts(runtime, HOSTS)
        seeded = seed_vms(runtime, args.vms, args.accounts, args.big_account)
        seed_seconds = round(time.perf_counter() - started, 2)
        with runtime.sessions() as session:
            big = session.scalars(
                select(Account.id).where(Account.account_name == seeded["big_account"])
            ).one()
            total = session.scalar(select(func.count()).select_from(VirtualMachine))
        client = falcon.testing.TestClient(create_app(runtime))
        last = int(total or 0) // PAGE_SIZE
        cases = [
            ("first_page", (apikey, secretkey), True, 1, None),
            ("last_full_page", (apikey, secretkey), True, last, None),
            (f"all_{args.big_account}", seeded["keys"], False, None, big),
        ]
        for case, keys, admin, page, account_id in cases:
            if page is not None:
                params = [("listall", "true"), ("page", str(page)),
                          ("pagesize", str(PAGE_SIZE))]  # fmt: skip
                offset, limit = (page - 1) * PAGE_SIZE, PAGE_SIZE
            else:
                params, offset, limit = [("pagesize", "-1")], 0, None
            ours = api_call(client, params, keys)
            base = baseline_call(
                runtime.engine, admin=admin, offset=offset, limit=limit, account_id=account_id
            )
            mine, theirs = ours(), base()
            if mine != theirs:
                for index, (x, y) in enumerate(zip(mine, theirs, strict=False)):
                    if x != y:
                        raise SystemExit(
                            f"{case}: bytes differ at {index}:"
                            f" ours {mine[index - 80 : index + 80]!r}"
                            f" baseline {theirs[index - 80 : index + 80]!r}"
                        )
                raise SystemExit(f"{case}: lengths differ ({len(mine)} vs {len(theirs)})")
            # The least of two counts: the configuration cache refreshes a value every
            # few seconds (not per request), and may do so during one of them.
            statements = min(count_statements(runtime.engine, ours) for _ in range(2))
            requests = args.requests if page is not None else max(1, args.requests // 2)
            measured = interleave(ours, base, args.blocks, requests)
            print(
                json.dumps(
                    {
                        "bench": "vms_listing",
                        "case": case,
                        "backend": runtime.engine.dialect.name,
                        "vms": int(total or 0),
                        "vms_returned": len(
                            json.loads(mine)["listvirtualmachinesresponse"].get(
                                "virtualmachine", []
                            )
                        ),
                        **measured,
                        "sql_statements": statements,
                        "sql_statements_baseline": 3,
                        "statements_target": 3,
                        "blocks": args.blocks,
                        "requests_per_block": requests,
                        "seed_seconds": seed_seconds,
                        "machine": machine(),
                    }
                ),
                flush=True,
            )


if __name__ == "__main__":
    main()
