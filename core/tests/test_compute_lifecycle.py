"""The VM lifecycle end to end over the real API (falcon test client, signed requests)
on the demo zone of simulated hosts: deploy, list, stop, start, reboot, destroy,
recover, expunge; ownership; state machine refusals; statement and commit counts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import falcon.testing
import pytest
from sqlalchemy import event, func, select

from cumulo.accounts.models import Account, Domain, User
from cumulo.compute.models import Nic, VirtualMachine
from cumulo.demo import ensure_demo_zone
from cumulo.infra.hosts.models import Host, HostType
from cumulo.infra.models import IpState, UserIpAddress, Zone
from cumulo.limits.models import ResourceCount
from cumulo.offerings.models import ServiceOffering
from cumulo.runtime import Runtime
from cumulo.templates.models import DownloadState, TemplateZoneRef, VMTemplate
from cumulo.volumes.models import Volume
from cumulo_api.registry import CommandRegistry
from cumulo_api.testing import signed_request
from cumulo_api.worker import run_pending

pytest.importorskip("cumulo_simulator")

Keys = tuple[str, str]
GIB = 1024**3


@pytest.fixture
def zone(runtime: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The demo zone (4 simulated hosts, a 2 TiB pool, a guest range of 100 addresses)."""
    monkeypatch.setenv("CUMULO_SIMULATOR_STATE", str(tmp_path / "simulator.sqlite"))
    return ensure_demo_zone(runtime, tmp_path / "data").zone_uuid


@pytest.fixture
def template(runtime: Runtime, zone: str) -> str:
    """A public, password-enabled template downloaded in the zone."""
    with runtime.sessions.begin() as session:
        zone_row = session.scalars(select(Zone).where(Zone.uuid == zone)).one()
        store = session.scalars(
            select(Host).where(Host.type == HostType.SECONDARY_STORAGE.value)
        ).first()
        admin = session.scalars(select(Account).where(Account.account_name == "admin")).one()
        row = VMTemplate(
            name="tiny",
            display_text="tiny linux",
            format="QCOW2",
            hypervisor_type="Simulator",
            account_id=admin.id,
            domain_id=admin.domain_id,
            public=True,
            featured=True,
            password_enabled=True,
            size=2 * GIB,
            url="http://example.com/tiny.qcow2",
        )
        session.add(row)
        session.flush()
        session.add(
            TemplateZoneRef(
                template_id=row.id,
                zone_id=zone_row.id,
                store_id=store.id if store is not None else None,
                download_state=DownloadState.DOWNLOADED.value,
                download_pct=100,
                size=2 * GIB,
                install_path=f"template/tmpl/2/{row.id}/tiny.qcow2",
            )
        )
        return row.uuid


@pytest.fixture
def offering(runtime: Runtime) -> str:
    """The seeded "Small Instance" offering (1 vCPU, 500 MHz, 512 MB)."""
    with runtime.sessions() as session:
        return session.scalars(
            select(ServiceOffering.uuid).where(ServiceOffering.name == "Small Instance")
        ).one()


def make_user(runtime: Runtime, name: str, account_type: int = 0) -> Keys:
    """A new account in ROOT with one user; its API keys."""
    from cumulo.auth.keys import register_user_keys

    with runtime.sessions.begin() as session:
        root = session.scalars(select(Domain).where(Domain.path == "/")).one()
        account = Account(account_name=name, type=account_type, domain_id=root.id)
        session.add(account)
        session.flush()
        user = User(
            username=name,
            password="!",
            account_id=account.id,
            firstname=name,
            lastname="test",
            email=f"{name}@example.com",
        )
        session.add(user)
        session.flush()
        return register_user_keys(session, user, runtime.database_key, runtime.algorithm)


@pytest.fixture
def alice(runtime: Runtime) -> Keys:
    return make_user(runtime, "alice")


@pytest.fixture
def bob(runtime: Runtime) -> Keys:
    return make_user(runtime, "bob")


class Cloud:
    """Signed API calls and job runs, as a client sees them."""

    def __init__(self, runtime: Runtime, api: falcon.testing.TestClient) -> None:
        self.runtime = runtime
        self.api = api
        self.registry = CommandRegistry.build(runtime.pm)

    def call(self, keys: Keys, command: str, **params: Any) -> Any:
        result = signed_request(self.api, keys, command, **params)
        assert result.status_code == 200, result.text
        (answer,) = json.loads(result.content).values()
        return answer

    def fail(self, keys: Keys, command: str, **params: Any) -> Any:
        result = signed_request(self.api, keys, command, **params)
        assert result.status_code >= 400, result.text
        (answer,) = json.loads(result.content).values()
        return answer

    def job(self, keys: Keys, command: str, **params: Any) -> Any:
        """Run an async command to its end; its job result (or error)."""
        answer = self.call(keys, command, **params)
        run_pending(self.runtime, self.registry)
        job = self.call(keys, "queryAsyncJobResult", jobid=answer["jobid"])
        assert job["jobstatus"] in (1, 2), job
        return job

    def ok(self, keys: Keys, command: str, **params: Any) -> Any:
        job = self.job(keys, command, **params)
        assert job["jobstatus"] == 1, job
        return job["jobresult"]


@pytest.fixture
def cloud(runtime: Runtime, api: falcon.testing.TestClient) -> Cloud:
    return Cloud(runtime, api)


@pytest.fixture
def deployed(cloud: Cloud, alice: Keys, zone: str, template: str, offering: str) -> dict[str, Any]:
    """A VM of alice, Running."""
    result = cloud.ok(
        alice,
        "deployVirtualMachine",
        zoneid=zone,
        templateid=template,
        serviceofferingid=offering,
        name="web-1",
    )
    vm: dict[str, Any] = result["virtualmachine"]
    return vm


def _counts(runtime: Runtime, account: str) -> dict[str, int]:
    with runtime.sessions() as session:
        rows = session.execute(
            select(ResourceCount.type, ResourceCount.count)
            .join(Account, Account.id == ResourceCount.account_id)
            .where(Account.account_name == account)
        ).all()
    return {kind: count for kind, count in rows}


# ---- deploy ---------------------------------------------------------------------------


def test_deploy_runs_the_vm_with_a_guest_address_and_a_root_volume(
    runtime: Runtime, cloud: Cloud, alice: Keys, deployed: dict[str, Any]
) -> None:
    vm = deployed
    assert vm["state"] == "Running" and vm["name"] == "web-1" and vm["displayname"] == "web-1"
    assert vm["account"] == "alice" and vm["templatename"] == "tiny"
    assert vm["cpunumber"] == 1 and vm["memory"] == 512 and vm["passwordenabled"] is True
    assert len(vm["password"]) >= 6  # shown once, in the deploy's answer
    assert "hostid" not in vm and "instancename" not in vm  # admins only
    (nic,) = vm["nic"]
    assert nic["ipaddress"].startswith("192.168.100.") and nic["isdefault"] is True
    assert nic["macaddress"].startswith("06:")
    with runtime.sessions() as session:
        row = session.scalars(select(VirtualMachine).where(VirtualMachine.uuid == vm["id"])).one()
        assert row.host_id is not None and row.reserved_memory == 512 * 1024**2
        assert row.vnc_password.startswith("ENC(")  # under the database key
        assert row.instance_name == f"i-{row.account_id}-{row.id}-VM"
        (volume,) = session.scalars(select(Volume).where(Volume.instance_id == row.id)).all()
        assert (volume.volume_type, volume.state, volume.path) == ("ROOT", "Ready", volume.uuid)
        ip = session.scalars(
            select(UserIpAddress).where(UserIpAddress.public_ip_address == nic["ipaddress"])
        ).one()
        assert ip.state == IpState.ALLOCATED.value and ip.account_id == row.account_id
        host = session.get(Host, row.host_id)
        assert host is not None and host.free_memory <= (host.total_memory or 0) - 512 * 1024**2
    assert _counts(runtime, "alice") == {"user_vm": 1, "volume": 1}
    # The simulator runs it.
    states = cloud.call(alice, "listVirtualMachines", id=vm["id"])
    assert states["virtualmachine"][0]["state"] == "Running"


def test_deploy_answers_the_vm_id_at_once_and_the_job_names_it(
    cloud: Cloud, alice: Keys, zone: str, template: str, offering: str
) -> None:
    answer = cloud.call(
        alice, "deployVirtualMachine", zoneid=zone, templateid=template,
        serviceofferingid=offering,
    )  # fmt: skip
    assert set(answer) == {"id", "jobid"}
    listed = cloud.call(alice, "listVirtualMachines", id=answer["id"])
    assert listed["virtualmachine"][0]["state"] == "Stopped"  # allocated, not started yet
    run_pending(cloud.runtime, cloud.registry)
    job = cloud.call(alice, "queryAsyncJobResult", jobid=answer["jobid"])
    assert job["jobinstancetype"] == "VirtualMachine" and job["jobinstanceid"] == answer["id"]
    assert job["jobresult"]["virtualmachine"]["state"] == "Running"
    assert job["jobresult"]["virtualmachine"]["name"] == answer["id"]  # no name: its uuid


def test_two_deploys_never_share_an_address_or_a_mac(
    runtime: Runtime, cloud: Cloud, alice: Keys, zone: str, template: str, offering: str
) -> None:
    for _ in range(3):
        cloud.ok(
            alice, "deployVirtualMachine", zoneid=zone, templateid=template,
            serviceofferingid=offering,
        )  # fmt: skip
    with runtime.sessions() as session:
        nics = session.execute(select(Nic.ip4_address, Nic.mac_address)).all()
    assert len({n[0] for n in nics}) == len({n[1] for n in nics}) == len(nics) == 3


def test_invalid_parameters_are_431_naming_them(
    cloud: Cloud, alice: Keys, zone: str, template: str, offering: str
) -> None:
    base = {"zoneid": zone, "templateid": template, "serviceofferingid": offering}
    bad = cloud.fail(alice, "deployVirtualMachine", **base, name="1bad_name")
    assert bad["errorcode"] == 431 and "Invalid name" in bad["errortext"]
    nets = cloud.fail(alice, "deployVirtualMachine", **base, networkids=template)
    assert nets["errorcode"] == 431 and "networkids" in nets["errortext"]
    host = cloud.fail(alice, "deployVirtualMachine", **base, hostid=template)
    assert host["errorcode"] == 531 and "hostid" in host["errortext"]
    data = cloud.fail(alice, "deployVirtualMachine", **base, userdata="not base64!")
    assert data["errorcode"] == 431 and "userdata" in data["errortext"]
    key = cloud.fail(alice, "deployVirtualMachine", **base, keypair="nope")
    assert key["errorcode"] == 431 and "keypair" in key["errortext"]
    cloud.ok(alice, "deployVirtualMachine", **base, name="dup")
    dup = cloud.fail(alice, "deployVirtualMachine", **base, name="dup")
    assert dup["errorcode"] == 431 and "already exists" in dup["errortext"]


# ---- the lifecycle --------------------------------------------------------------------


def test_stop_start_reboot_destroy_recover(
    runtime: Runtime, cloud: Cloud, alice: Keys, admin_keys: Keys, deployed: dict[str, Any]
) -> None:
    vm_id = deployed["id"]
    with runtime.sessions() as session:
        row = session.scalars(select(VirtualMachine).where(VirtualMachine.uuid == vm_id)).one()
        host = session.get(Host, row.host_id)
        assert host is not None
        free_running = host.free_memory
    stopped = cloud.ok(alice, "stopVirtualMachine", id=vm_id)["virtualmachine"]
    assert stopped["state"] == "Stopped"
    with runtime.sessions() as session:
        host = session.get(Host, row.host_id)
        assert host is not None and host.free_memory == free_running + 512 * 1024**2
    # Illegal transitions are refused, naming the state.
    refused = cloud.job(alice, "rebootVirtualMachine", id=vm_id)
    assert refused["jobstatus"] == 2 and refused["jobresult"]["errorcode"] == 431
    assert "it is Stopped" in refused["jobresult"]["errortext"]
    started = cloud.ok(alice, "startVirtualMachine", id=vm_id)["virtualmachine"]
    assert started["state"] == "Running" and "password" not in started
    assert started["nic"][0]["ipaddress"] == deployed["nic"][0]["ipaddress"]
    assert cloud.ok(alice, "rebootVirtualMachine", id=vm_id)["virtualmachine"]["state"] == (
        "Running"
    )
    again = cloud.job(alice, "startVirtualMachine", id=vm_id)
    assert again["jobstatus"] == 2 and "it is Running" in again["jobresult"]["errortext"]
    destroyed = cloud.ok(alice, "destroyVirtualMachine", id=vm_id)["virtualmachine"]
    assert destroyed["state"] == "Destroyed"
    assert _counts(runtime, "alice") == {"user_vm": 0, "volume": 0}
    # Users no longer see it; admins do, and may recover it.
    assert cloud.call(alice, "listVirtualMachines") == {}
    listed = cloud.call(admin_keys, "listVirtualMachines", id=vm_id, listall="true")
    assert listed["virtualmachine"][0]["state"] == "Destroyed"
    recovered = cloud.call(admin_keys, "recoverVirtualMachine", id=vm_id)
    assert recovered["virtualmachine"]["state"] == "Stopped"
    assert _counts(runtime, "alice") == {"user_vm": 1, "volume": 1}


def test_another_account_cannot_see_or_touch_the_vm(
    cloud: Cloud, bob: Keys, deployed: dict[str, Any]
) -> None:
    vm_id = deployed["id"]
    assert cloud.call(bob, "listVirtualMachines") == {}
    assert cloud.call(bob, "listVirtualMachines", id=vm_id) == {}
    for command in ("stopVirtualMachine", "destroyVirtualMachine", "rebootVirtualMachine"):
        job = cloud.job(bob, command, id=vm_id)
        assert job["jobstatus"] == 2 and job["jobresult"]["errorcode"] == 531, job
    denied = cloud.fail(bob, "updateVirtualMachine", id=vm_id, displayname="mine")
    assert denied["errorcode"] == 531


@pytest.mark.parametrize("lister", ["owner", "root admin listall"])
def test_list_costs_the_same_statements_whatever_the_page_holds(
    runtime: Runtime,
    cloud: Cloud,
    alice: Keys,
    admin_keys: Keys,
    zone: str,
    template: str,
    offering: str,
    lister: str,
) -> None:
    """B1: a page of VMs costs authentication, the page (with its total) and its
    NICs — three statements, however many VMs it holds — for a user's own list and a
    root admin's ``listall`` alike."""
    counted: list[str] = []
    keys, params = (alice, {}) if lister == "owner" else (admin_keys, {"listall": "true"})

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if not statement.startswith("BEGIN"):  # SQLite's; MariaDB begins implicitly
            counted.append(statement)

    def statements_for_list() -> int:
        counted.clear()
        event.listen(runtime.engine, "before_cursor_execute", count)
        try:
            cloud.call(keys, "listVirtualMachines", **params)
        finally:
            event.remove(runtime.engine, "before_cursor_execute", count)
        return len(counted)

    cloud.ok(alice, "deployVirtualMachine", zoneid=zone, templateid=template,
             serviceofferingid=offering)  # fmt: skip
    statements_for_list()  # warms the caches (keys, settings) the API keeps
    one = statements_for_list()
    for _ in range(3):
        cloud.ok(alice, "deployVirtualMachine", zoneid=zone, templateid=template,
                 serviceofferingid=offering)  # fmt: skip
    four = statements_for_list()
    assert one == four <= 3  # authentication, the page (with its total), its NICs
    listed = cloud.call(keys, "listVirtualMachines", **params)
    assert listed["count"] == 4 and all(len(v["nic"]) == 1 for v in listed["virtualmachine"])


@pytest.fixture
def no_expunge_delay(runtime: Runtime) -> Iterator[None]:
    with runtime.sessions.begin() as session:
        runtime.config_store(session).set("expunge.delay", "0")
    yield


def test_expunge_frees_capacity_volumes_addresses(
    runtime: Runtime, cloud: Cloud, alice: Keys, deployed: dict[str, Any], no_expunge_delay: None
) -> None:
    from cumulo.compute.expunge import expunge_due

    vm_id = deployed["id"]
    cloud.ok(alice, "destroyVirtualMachine", id=vm_id)
    assert expunge_due(runtime) == 1
    with runtime.sessions() as session:
        row = session.scalars(select(VirtualMachine).where(VirtualMachine.uuid == vm_id)).one()
        assert row.removed is not None and row.state == "Expunging"
        assert (
            session.scalar(
                select(func.count()).where(Volume.instance_id == row.id, Volume.removed.is_(None))
            )
            == 0
        )
        ip = session.scalars(
            select(UserIpAddress).where(
                UserIpAddress.public_ip_address == deployed["nic"][0]["ipaddress"]
            )
        ).one()
        assert ip.state == IpState.FREE.value
    assert expunge_due(runtime) == 0


def test_the_background_tasks_expunge_destroyed_vms(
    runtime: Runtime, cloud: Cloud, alice: Keys, deployed: dict[str, Any], no_expunge_delay: None
) -> None:
    import time

    from cumulo.jobs.scheduler import BackgroundTasks

    cloud.ok(alice, "destroyVirtualMachine", id=deployed["id"])
    # The job worker's background tasks run the expunge in their periodic thread.
    tasks = BackgroundTasks(runtime, host_monitor=False)
    tasks.start()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with runtime.sessions() as session:
                removed = session.scalar(
                    select(VirtualMachine.removed).where(VirtualMachine.uuid == deployed["id"])
                )
            if removed is not None:
                break
            time.sleep(0.05)
    finally:
        tasks.stop()
    assert removed is not None


def test_pool_claims_are_allocated_bytes_apart_from_what_the_driver_reports(
    runtime: Runtime, cloud: Cloud, alice: Keys, deployed: dict[str, Any], no_expunge_delay: None
) -> None:
    """A deploy's root volume is claimed in ``allocated_bytes`` (listCapacity type 3);
    ``used_bytes`` stays what the storage driver reported (type 2), so a refresh from
    the driver cannot erase the claims; expunging gives the claim back."""
    from cumulo.compute.expunge import expunge_due
    from cumulo.infra.storage.capacity import pool_capacity_totals
    from cumulo.infra.storage.models import StoragePool

    with runtime.sessions() as session:
        row = session.scalars(
            select(VirtualMachine).where(VirtualMachine.uuid == deployed["id"])
        ).one()
        (volume,) = session.scalars(select(Volume).where(Volume.instance_id == row.id)).all()
        pool = session.get(StoragePool, volume.pool_id)
        assert pool is not None and pool.allocated_bytes == volume.size > 0
        reported = pool.used_bytes
        (totals,) = pool_capacity_totals(session)
        assert (totals.allocated_bytes, totals.used_bytes) == (volume.size, reported)
    with runtime.sessions.begin() as session:  # what a refresh from the driver writes
        pool = session.get(StoragePool, volume.pool_id)
        assert pool is not None
        pool.used_bytes = 12345
    with runtime.sessions() as session:
        pool = session.get(StoragePool, volume.pool_id)
        assert pool is not None and pool.allocated_bytes == volume.size
    cloud.ok(alice, "destroyVirtualMachine", id=deployed["id"])
    assert expunge_due(runtime) == 1
    with runtime.sessions() as session:
        pool = session.get(StoragePool, volume.pool_id)
        assert pool is not None and (pool.allocated_bytes, pool.used_bytes) == (0, 12345)
