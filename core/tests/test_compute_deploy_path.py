"""The deploy's hot path over the real API on the demo zone: what one deploy costs in
statements and commits (REQ B2 of the compute issue: at most 20 statements and 3
commits, request and job together), for a user in ROOT, a user one domain below it and
the root admin; the job's answer is the listing's; the reservation made before the
lookup is undone by a limit or a bad parameter; a first deploy creates its count rows;
an ISO deploy counts its one volume; a VM id predicted wrong falls back to the
database's."""

# The shared fixtures are imported from test_compute_lifecycle, then named as arguments.
# ruff: noqa: F811

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, select, update
from test_compute_lifecycle import (  # noqa: F401 - fixtures
    GIB,
    Cloud,
    Keys,
    _counts,
    alice,
    cloud,
    make_user,
    offering,
    template,
    zone,
)

from cumulo.accounts.models import Account, Domain, User
from cumulo.auth.keys import register_user_keys
from cumulo.compute.allocation import _insert_vm
from cumulo.compute.models import VirtualMachine
from cumulo.infra.hosts.models import Host, HostType
from cumulo.infra.models import Zone
from cumulo.limits.models import ResourceCount, ResourceLimit
from cumulo.offerings.models import DiskOffering
from cumulo.runtime import Runtime
from cumulo.templates.models import DownloadState, TemplateZoneRef, VMTemplate
from cumulo.volumes.models import Volume
from cumulo_api.worker import run_pending

STATEMENTS, COMMITS = 20, 3


def _user_below_root(runtime: Runtime, name: str, domain: str) -> Keys:
    """A user account in a new domain one level below ROOT; its API keys."""
    with runtime.sessions.begin() as session:
        root = session.scalars(select(Domain).where(Domain.path == "/")).one()
        sub = Domain(name=domain, path=f"/{domain}/", parent=root.id, level=1, owner=root.owner)
        session.add(sub)
        session.flush()
        account = Account(account_name=name, type=0, domain_id=sub.id)
        session.add(account)
        session.flush()
        user = User(username=name, password="!", account_id=account.id, firstname=name,
                    lastname="test", email=f"{name}@example.com")  # fmt: skip
        session.add(user)
        session.flush()
        return register_user_keys(session, user, runtime.database_key, runtime.algorithm)


def _deploy_cost(
    runtime: Runtime, cloud: Cloud, keys: Keys, **params: str
) -> tuple[list[str], list[str], int]:
    """One warm deploy: the request's statements, the job handler's (the worker's own
    look, claim and load apart, as bench/deploy.py counts), and the commits of both
    (the worker's claim apart)."""
    statements: list[str] = []
    commits: list[int] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if not statement.startswith("BEGIN"):
            statements.append(statement)

    def commit(_conn: Any) -> None:
        commits.append(len(statements))

    event.listen(runtime.engine, "before_cursor_execute", count)
    event.listen(runtime.engine, "commit", commit)
    try:
        answer = cloud.call(keys, "deployVirtualMachine", **params)
        request = len(statements)
        assert run_pending(cloud.runtime, cloud.registry) == 1
    finally:
        event.remove(runtime.engine, "before_cursor_execute", count)
        event.remove(runtime.engine, "commit", commit)
    job = statements[request:]
    # The worker: a look for jobs and the claim (committed together), the job's load;
    # the handler, whose last statement completes the job; one more look.
    worker = [s for s in job if "async_job" in s and "instance_uuid" not in s]
    completion = next(s for s in reversed(job) if s.startswith("UPDATE async_job"))
    handler = [s for s in job if s not in worker or s is completion]
    job_result = cloud.call(keys, "queryAsyncJobResult", jobid=answer["jobid"])
    assert job_result["jobstatus"] == 1, job_result
    return statements[:request], handler, len(commits) - 1


@pytest.fixture
def plain_zone(runtime: Runtime, zone: str) -> str:
    """The demo zone as a basic zone without security groups: the compute issue's
    deploy (a NIC with an address of the pod's guest range, nothing more). Security
    groups are the guest-networking issue's: in a zone that has them, a deploy also
    joins the owner's default group and applies its rules to the host (measured apart,
    bench/README.md "deploy")."""
    with runtime.sessions.begin() as session:
        session.execute(
            update(Zone).where(Zone.uuid == zone).values(is_security_group_enabled=False)
        )
    return zone


@pytest.mark.parametrize("who", ["user in ROOT", "user below ROOT", "root admin"])
def test_a_deploy_costs_at_most_20_statements_and_3_commits(
    runtime: Runtime,
    cloud: Cloud,
    admin_keys: Keys,
    plain_zone: str,
    template: str,
    offering: str,
    who: str,
) -> None:
    """REQ B2: request and job together at most 20 statements and 3 commits, measured
    on a warm server. Request (7): authentication, the counts' UPDATE, ONE lookup of
    zone, offerings, template, name and counts, the VM (named in its INSERT), its
    volume, VM.CREATE, the job. Job (13): the load, placement (candidates with their
    pools, two claims), Starting, the volume's pool, the address and the NIC (3: the
    NIC allocation's) | Ready, Running, VM.START, the job's completion."""
    zone = plain_zone
    keys = {
        "user in ROOT": lambda: make_user(runtime, "alice"),
        "user below ROOT": lambda: _user_below_root(runtime, "carol", "Sales"),
        "root admin": lambda: admin_keys,
    }[who]()
    params = {"zoneid": zone, "templateid": template, "serviceofferingid": offering}
    cloud.ok(keys, "deployVirtualMachine", **params)  # warm: plugins, settings, rows
    request, handler, commits = _deploy_cost(runtime, cloud, keys, **params)
    assert len(request) <= 7, request
    assert len(handler) <= 13, handler
    assert len(request) + len(handler) <= STATEMENTS
    assert commits == COMMITS  # the request's, the reservation's, the completion's


def test_the_job_answers_what_the_listing_shows(
    cloud: Cloud, admin_keys: Keys, alice: Keys, zone: str, template: str, offering: str
) -> None:
    """The deploy's answer is built without reading the VM back: it must be exactly
    the listed VM (but for the password, shown once), for its owner and for an admin
    (who also sees the host and the instance name)."""
    deployed = cloud.ok(alice, "deployVirtualMachine", zoneid=zone, templateid=template,
                        serviceofferingid=offering, name="web-7", displayname="Web seven",
                        group="frontends")["virtualmachine"]  # fmt: skip
    password = deployed.pop("password")
    assert password
    listed = cloud.call(alice, "listVirtualMachines", id=deployed["id"])["virtualmachine"][0]
    assert deployed == listed
    assert list(deployed) == list(listed)  # 4.1's field order too
    as_admin = cloud.ok(admin_keys, "deployVirtualMachine", zoneid=zone, templateid=template,
                        serviceofferingid=offering)["virtualmachine"]  # fmt: skip
    as_admin.pop("password")
    seen = cloud.call(admin_keys, "listVirtualMachines", id=as_admin["id"])
    assert as_admin == seen["virtualmachine"][0]
    assert as_admin["hostid"] and as_admin["instancename"].startswith("i-")


def test_a_limit_or_a_bad_parameter_leaves_the_counts_as_they_were(
    runtime: Runtime, cloud: Cloud, alice: Keys, zone: str, template: str, offering: str
) -> None:
    """The deploy increments its owner's counts before its one lookup reads them back
    with everything else: a 532 undoes the increment, a 431 rolls it back with the
    request; no VM row either way."""
    params = {"zoneid": zone, "templateid": template, "serviceofferingid": offering}
    cloud.ok(alice, "deployVirtualMachine", **params)
    with runtime.sessions.begin() as session:
        owner = session.scalars(select(Account.id).where(Account.account_name == "alice")).one()
        session.add(ResourceLimit(type="user_vm", account_id=owner, max=1))
    before = _counts(runtime, "alice")
    refused = cloud.fail(alice, "deployVirtualMachine", **params)
    assert refused["errorcode"] == 532 and "'user_vm'" in refused["errortext"]
    bad = cloud.fail(alice, "deployVirtualMachine", **{**params, "templateid": "0"})
    assert bad["errorcode"] == 431 and "templateid" in bad["errortext"]
    assert _counts(runtime, "alice") == before == {"user_vm": 1, "volume": 1}
    with runtime.sessions() as session:
        vms = session.scalars(
            select(VirtualMachine.id).where(VirtualMachine.account_id == owner)
        ).all()
    assert len(vms) == 1


def test_a_first_deploy_creates_its_count_rows(
    runtime: Runtime, cloud: Cloud, zone: str, template: str, offering: str
) -> None:
    """A new account below ROOT has no count rows: the first deploy creates its own and
    its domain's (ROOT keeps none) and counts the VM and its volume in them."""
    carol = _user_below_root(runtime, "carol", "Sales")
    cloud.ok(carol, "deployVirtualMachine", zoneid=zone, templateid=template,
             serviceofferingid=offering)  # fmt: skip
    with runtime.sessions() as session:
        rows = {
            (row.account_id is not None, row.type): row.count
            for row in session.scalars(
                select(ResourceCount).where(ResourceCount.type.in_(["user_vm", "volume"]))
            )
        }
        root = session.scalars(select(Domain.id).where(Domain.path == "/")).one()
        at_root = session.scalars(
            select(ResourceCount).where(ResourceCount.domain_id == root)
        ).all()
    assert rows == {
        (True, "user_vm"): 1,
        (True, "volume"): 1,
        (False, "user_vm"): 1,
        (False, "volume"): 1,
    }
    assert at_root == []


def test_an_iso_deploy_counts_its_one_volume(
    runtime: Runtime, cloud: Cloud, alice: Keys, zone: str, offering: str
) -> None:
    """An ISO deploy's disk offering makes its ROOT volume, not a data disk: the
    reservation made before the lookup (which cannot know it is an ISO) is corrected
    to one volume."""
    with runtime.sessions.begin() as session:
        zone_row = session.scalars(select(Zone).where(Zone.uuid == zone)).one()
        store = session.scalars(
            select(Host).where(Host.type == HostType.SECONDARY_STORAGE.value)
        ).first()
        admin = session.scalars(select(Account).where(Account.account_name == "admin")).one()
        iso = VMTemplate(name="rescue", display_text="rescue iso", format="ISO",
                         account_id=admin.id, domain_id=admin.domain_id, public=True,
                         featured=True, bootable=True, size=GIB,
                         url="http://example.com/rescue.iso")  # fmt: skip
        session.add(iso)
        session.flush()
        session.add(
            TemplateZoneRef(
                template_id=iso.id,
                zone_id=zone_row.id,
                store_id=store.id if store is not None else None,
                download_state=DownloadState.DOWNLOADED.value,
                download_pct=100,
                size=GIB,
                install_path=f"template/tmpl/2/{iso.id}/rescue.iso",
            )
        )
        disk = session.scalars(
            select(DiskOffering).where(DiskOffering.customized.is_(False)).limit(1)
        ).one()
        iso_uuid, disk_uuid = iso.uuid, disk.uuid
    vm = cloud.ok(
        alice, "deployVirtualMachine", zoneid=zone, templateid=iso_uuid,
        serviceofferingid=offering, diskofferingid=disk_uuid,
    )["virtualmachine"]  # fmt: skip
    assert vm["isoid"] == iso_uuid and "templateid" not in vm
    assert _counts(runtime, "alice") == {"user_vm": 1, "volume": 1}
    with runtime.sessions() as session:
        volumes = session.scalars(
            select(Volume.volume_type).join(VirtualMachine, VirtualMachine.id == Volume.instance_id)
            .where(VirtualMachine.uuid == vm["id"])
        ).all()  # fmt: skip
    assert volumes == ["ROOT"]


def test_a_vm_id_predicted_wrong_falls_back_to_the_databases(
    runtime: Runtime, cloud: Cloud, alice: Keys, zone: str, template: str, offering: str
) -> None:
    """The VM row is written with the id after the highest one read by the lookup, so
    that its name (which carries the id) needs no second statement; should another
    deploy have taken that id meanwhile (MariaDB), the failed INSERT leaves the
    transaction usable and the row gets the database's id and its name."""
    first = cloud.ok(alice, "deployVirtualMachine", zoneid=zone, templateid=template,
                     serviceofferingid=offering)["virtualmachine"]  # fmt: skip
    with runtime.sessions() as session:
        taken = session.scalars(
            select(VirtualMachine).where(VirtualMachine.uuid == first["id"])
        ).one()
        values = {
            column: getattr(taken, column)
            for column in ("name", "display_name", "state", "account_id", "domain_id",
                           "service_offering_id", "template_id", "data_center_id",
                           "vnc_password")
        }  # fmt: skip
        values["uuid"] = "00000000-0000-4000-8000-000000000001"
        vm_id = _insert_vm(session, values, "i-9-{}-VM", predicted=taken.id)
        named = session.scalars(select(VirtualMachine).where(VirtualMachine.id == vm_id)).one()
        assert vm_id != taken.id and named.instance_name == f"i-9-{vm_id}-VM"
        session.rollback()
