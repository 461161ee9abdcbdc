"""Volumes over the API, signed as 4.1 clients sign, on a real database, on the demo zone
of simulated hosts and storage (``cumulo demo``'s), through the simulator's real
storage and hypervisor drivers.

VMs the volumes attach to are rows written by :func:`make_vm` and started on the
simulator's hypervisor: what is tested here is the volume's life, not the VM's.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread
from typing import Any, ClassVar

import falcon.testing
import pytest
from api_test_commands import StatementCounter, make_caller
from sqlalchemy import func, select

from cumulo.accounts.models import Account, User
from cumulo.compute.models import VirtualMachine, VmState
from cumulo.demo import ensure_demo_zone
from cumulo.events.models import Event
from cumulo.infra.hosts.models import Host, HostType
from cumulo.infra.models import Zone
from cumulo.infra.storage.drivers import primary_driver
from cumulo.infra.storage.models import StoragePool
from cumulo.infra.storage.pools import pool_url
from cumulo.limits.models import ResourceCount
from cumulo.offerings.models import DiskOffering, ServiceOffering
from cumulo.runtime import Runtime
from cumulo.sdk.storage import PoolRef, StoredVolume
from cumulo.testing.fakes import registered_drivers
from cumulo.volumes.models import Volume, VolumeState, VolumeType
from cumulo_api.registry import CommandRegistry
from cumulo_api.testing import signed_request
from cumulo_api.worker import run_pending

simulator_storage = pytest.importorskip("cumulo_simulator.storage")
simulator_state = pytest.importorskip("cumulo_simulator.state")

Keys = tuple[str, str]
GB = 1024**3


class ResizingSimulator(simulator_storage.SimulatorStorage):  # type: ignore[misc, name-defined]
    """The simulator's storage with the two methods this area asks the SDK for
    (``resize_volume``, ``copy_volume``), implemented on the simulator's own rows."""

    name: ClassVar[str] = "Simulator"

    def resize_volume(self, pool: PoolRef, path: str, size_bytes: int) -> StoredVolume:
        with self.state.write() as conn:
            conn.execute(
                "UPDATE objects SET size = ?, physical = ? WHERE pool_uuid = ? AND path = ?",
                (size_bytes, size_bytes, pool.uuid, path),
            )
        return StoredVolume(path, size_bytes)

    def copy_volume(self, source: PoolRef, path: str, target: PoolRef, name: str) -> StoredVolume:
        row = (
            self.state.read()
            .execute(
                "SELECT size FROM objects WHERE pool_uuid = ? AND path = ?", (source.uuid, path)
            )
            .fetchone()
        )
        size = int(row[0])
        self._attach(target.uuid, target.url)
        self._add(target.uuid, name, size, size)
        return StoredVolume(name, size)


@dataclass(frozen=True)
class Cloud:
    """The demo zone's ids."""

    zone: str
    zone_id: int
    pool: str
    pool_id: int
    host_id: int
    offering: str
    custom: str
    tagged: str


@pytest.fixture
def cloud(runtime: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cloud]:
    """The demo zone on a simulator of this test's own, and three disk offerings: 5 GB,
    customized, and one tagged ``ssd`` (which no pool has)."""
    monkeypatch.setenv("CUMULO_SIMULATOR_STATE", str(tmp_path / "simulator.sqlite"))
    with registered_drivers("cumulo.storage", {"Simulator": ResizingSimulator}):
        ensure_demo_zone(runtime, tmp_path / "data")
        with runtime.sessions() as session:
            zone = session.scalars(select(Zone).where(Zone.name == "Demo")).one()
            pool = session.scalars(select(StoragePool)).one()
            host = session.scalars(
                select(Host).where(Host.type == HostType.ROUTING.value).order_by(Host.id)
            ).first()
            assert host is not None
            offerings = [
                DiskOffering(name="five", display_text="5 GB", disk_size=5 * GB),
                DiskOffering(name="custom", display_text="any", disk_size=0, customized=True),
                DiskOffering(name="ssd", display_text="ssd", disk_size=GB, tags="ssd"),
            ]
            session.add_all(offerings)
            session.commit()
            yield Cloud(
                zone.uuid,
                zone.id,
                pool.uuid,
                pool.id,
                host.id,
                offerings[0].uuid,
                offerings[1].uuid,
                offerings[2].uuid,
            )


@pytest.fixture
def bob_keys(runtime: Runtime) -> Keys:
    """A second plain user, in an account of its own."""
    return make_caller(runtime, "bob", 0)


def call(api: falcon.testing.TestClient, keys: Keys, command: str, **params: Any) -> Any:
    result = signed_request(api, keys, command, **params)
    assert result.status_code == 200, result.text
    (answer,) = json.loads(result.content).values()
    return answer


def error(
    api: falcon.testing.TestClient, keys: Keys, command: str, **params: Any
) -> tuple[int, str]:
    result = signed_request(api, keys, command, **params)
    assert result.status_code >= 400, result.text
    (answer,) = json.loads(result.content).values()
    return result.status_code, answer["errortext"]


def job(
    api: falcon.testing.TestClient, runtime: Runtime, keys: Keys, command: str, **params: Any
) -> Any:
    """Run an async command to its end; its ``jobresult`` (``jobstatus`` checked by
    the caller through :func:`job_ok` / :func:`job_failed`)."""
    started = call(api, keys, command, **params)
    run_pending(runtime, CommandRegistry.build(runtime.pm))
    return call(api, keys, "queryAsyncJobResult", jobid=started["jobid"])


def job_ok(
    api: falcon.testing.TestClient, runtime: Runtime, keys: Keys, command: str, **params: Any
) -> Any:
    answer = job(api, runtime, keys, command, **params)
    assert answer["jobstatus"] == 1, answer
    return answer["jobresult"]


def job_failed(
    api: falcon.testing.TestClient, runtime: Runtime, keys: Keys, command: str, **params: Any
) -> tuple[int, str]:
    answer = job(api, runtime, keys, command, **params)
    assert answer["jobstatus"] == 2, answer
    return answer["jobresult"]["errorcode"], answer["jobresult"]["errortext"]


def make_vm(
    runtime: Runtime, cloud: Cloud, username: str, *, running: bool = True, name: str = "vm1"
) -> str:
    """A VM of ``username``'s account with a 2 GB ROOT volume created on the demo pool,
    Running on the first demo host (started on the simulator) or Stopped; its uuid."""
    with runtime.sessions() as session:
        user = session.scalars(select(User).where(User.username == username)).one()
        account = session.get(Account, user.account_id)
        assert account is not None
        offering = session.scalars(select(ServiceOffering).order_by(ServiceOffering.id)).first()
        assert offering is not None
        count = session.scalar(select(func.count()).select_from(VirtualMachine)) or 0
        vm = VirtualMachine(
            name=name,
            instance_name=f"i-{account.id}-{count + 1}-VM",
            display_name=name,
            state=(VmState.RUNNING if running else VmState.STOPPED).value,
            account_id=account.id,
            domain_id=account.domain_id,
            service_offering_id=offering.id,
            data_center_id=cloud.zone_id,
            host_id=cloud.host_id if running else None,
            hypervisor_type="Simulator",
            vnc_password="x",
        )
        session.add(vm)
        session.flush()
        pool = session.get(StoragePool, cloud.pool_id)
        assert pool is not None
        root = Volume(
            name=f"ROOT-{vm.id}",
            account_id=account.id,
            domain_id=account.domain_id,
            data_center_id=cloud.zone_id,
            pod_id=pool.pod_id,
            pool_id=pool.id,
            instance_id=vm.id,
            device_id=0,
            volume_type=VolumeType.ROOT.value,
            state=VolumeState.READY.value,
            size=2 * GB,
        )
        session.add(root)
        session.flush()
        stored = primary_driver("Simulator").create_volume(
            PoolRef(pool.uuid, pool_url(pool)), root.uuid, root.size
        )
        root.path = stored.path
        vm_uuid, instance = vm.uuid, vm.instance_name
        host = session.get(Host, cloud.host_id)
        assert host is not None
        session.commit()
    if running:
        from cumulo.compute.hypervisors import host_target
        from cumulo.sdk.hypervisor import VmSpec

        with runtime.sessions() as session:
            target = host_target(session, cloud.host_id, runtime.database_key, runtime.algorithm)
        target.driver.start_vm(
            target.ref,
            VmSpec(
                name=instance, uuid=vm_uuid, cpus=1, cpu_speed_mhz=500, memory_bytes=256 * 1024**2
            ),
        )
    return vm_uuid


def attachments(tmp_path: Path) -> list[tuple[str, str, int]]:
    """What the simulated hypervisor has plugged: ``(vm, volume uuid, device)``."""
    state = simulator_state.SimulatorState(tmp_path / "simulator.sqlite")
    return list(state.read().execute("SELECT vm_name, volume_uuid, device_id FROM attachments"))


def volume_count(runtime: Runtime, username: str) -> int:
    with runtime.sessions() as session:
        user = session.scalars(select(User).where(User.username == username)).one()
        return int(
            session.scalar(
                select(ResourceCount.count).where(
                    ResourceCount.account_id == user.account_id, ResourceCount.type == "volume"
                )
            )
            or 0
        )


def create_volume(
    api: falcon.testing.TestClient, runtime: Runtime, keys: Keys, cloud: Cloud, **params: Any
) -> Any:
    params = {"name": "data1", "zoneid": cloud.zone, "diskofferingid": cloud.offering, **params}
    return job_ok(api, runtime, keys, "createVolume", **params)["volume"]


# ---- create, list, delete ---------------------------------------------------------------


def test_create_volume_is_allocated_until_attached(
    api: falcon.testing.TestClient, runtime: Runtime, user_keys: Keys, cloud: Cloud
) -> None:
    """createVolume answers id and jobid at once; the volume is Allocated, has no pool,
    and counts against the owner's volume limit."""
    started = call(api, user_keys, "createVolume", name="d1", zoneid=cloud.zone,
                   diskofferingid=cloud.offering)  # fmt: skip
    assert started["id"] and started["jobid"]
    run_pending(runtime, CommandRegistry.build(runtime.pm))
    result = call(api, user_keys, "queryAsyncJobResult", jobid=started["jobid"])
    volume = result["jobresult"]["volume"]
    assert result["jobinstancetype"] == "Volume" and result["jobinstanceid"] == started["id"]
    assert list(volume) == [
        "id", "name", "zoneid", "zonename", "type", "size", "created", "state", "account",
        "domainid", "domain", "storagetype", "diskofferingid", "diskofferingname",
        "diskofferingdisplaytext", "destroyed", "isextractable", "tags",
    ]  # fmt: skip
    assert volume["id"] == started["id"]
    assert (volume["state"], volume["type"], volume["size"]) == ("Allocated", "DATADISK", 5 * GB)
    assert volume["diskofferingid"] == cloud.offering and volume["account"] == "alice"
    assert volume["destroyed"] is False and "storage" not in volume
    assert volume_count(runtime, "alice") == 1
    with runtime.sessions() as session:
        row = session.scalars(select(Volume).where(Volume.uuid == volume["id"])).one()
        assert row.pool_id is None and row.path is None
        assert session.scalar(select(Event.id).where(Event.type == "VOLUME.CREATE")) is not None


def test_customized_offering_needs_a_size(
    api: falcon.testing.TestClient, runtime: Runtime, user_keys: Keys, cloud: Cloud
) -> None:
    status, text = error(api, user_keys, "createVolume", name="c", zoneid=cloud.zone,
                         diskofferingid=cloud.custom)  # fmt: skip
    assert status == 431 and "size" in text
    status, text = error(api, user_keys, "createVolume", name="c", zoneid=cloud.zone,
                         diskofferingid=cloud.custom, size=100000)  # fmt: skip
    assert status == 431 and "storage.max.volume.size" in text
    volume = create_volume(api, runtime, user_keys, cloud, diskofferingid=cloud.custom, size=3)
    assert volume["size"] == 3 * GB
    status, text = error(api, user_keys, "createVolume", name="c", zoneid=cloud.zone)
    assert status == 431 and "disk offering" in text


def test_volume_limit_is_enforced(
    api: falcon.testing.TestClient, runtime: Runtime, admin_keys: Keys, user_keys: Keys,
    cloud: Cloud,
) -> None:  # fmt: skip
    """Resource type 2: with max 1 volume, the second createVolume is refused (532)."""
    with runtime.sessions() as session:
        alice = session.scalars(select(User).where(User.username == "alice")).one()
        account = session.get(Account, alice.account_id)
        assert account is not None
        account_uuid = account.uuid
    call(api, admin_keys, "updateResourceLimit", account="alice",
         domainid=call(api, admin_keys, "listDomains")["domain"][0]["id"], resourcetype=2,
         max=1)  # fmt: skip
    create_volume(api, runtime, user_keys, cloud)
    status, text = error(api, user_keys, "createVolume", name="d2", zoneid=cloud.zone,
                         diskofferingid=cloud.offering)  # fmt: skip
    assert status == 532, text
    assert account_uuid


def test_list_volumes_filters_and_constant_statements(
    api: falcon.testing.TestClient, runtime: Runtime, user_keys: Keys, admin_keys: Keys,
    cloud: Cloud, statements: StatementCounter,
) -> None:  # fmt: skip
    """Every page costs the same statements however many volumes it holds."""
    first = create_volume(api, runtime, user_keys, cloud, name="alpha")
    call(api, user_keys, "listVolumes")  # warm the caches (settings, keys)
    statements.reset()
    one = call(api, user_keys, "listVolumes")
    single = statements.queries
    for index in range(6):
        create_volume(api, runtime, user_keys, cloud, name=f"beta{index}")
    call(api, user_keys, "listVolumes")
    statements.reset()
    many = call(api, user_keys, "listVolumes")
    assert statements.queries == single <= 3
    assert one["count"] == 1 and many["count"] == 7
    assert call(api, user_keys, "listVolumes", name="bet")["count"] == 6
    assert call(api, user_keys, "listVolumes", keyword="alp")["volume"][0]["id"] == first["id"]
    assert call(api, user_keys, "listVolumes", id=first["id"])["count"] == 1
    assert call(api, user_keys, "listVolumes", type="ROOT") == {}
    assert call(api, user_keys, "listVolumes", zoneid=cloud.zone)["count"] == 7
    assert call(api, user_keys, "listVolumes", page=2, pagesize=5)["count"] == 7
    assert len(call(api, user_keys, "listVolumes", page=2, pagesize=5)["volume"]) == 2
    # Admins list only their own unless listall=true; then they see the pool's name.
    assert call(api, admin_keys, "listVolumes") == {}
    listed = call(api, admin_keys, "listVolumes", listall=True)
    assert listed["count"] == 7 and listed["volume"][0]["account"] == "alice"


def test_delete_volume_releases_its_count(
    api: falcon.testing.TestClient, runtime: Runtime, user_keys: Keys, cloud: Cloud
) -> None:
    volume = create_volume(api, runtime, user_keys, cloud)
    assert volume_count(runtime, "alice") == 1
    answer = call(api, user_keys, "deleteVolume", id=volume["id"])
    assert answer["success"] == "true"
    assert volume_count(runtime, "alice") == 0
    assert call(api, user_keys, "listVolumes") == {}
    status, _ = error(api, user_keys, "deleteVolume", id=volume["id"])
    assert status == 431


def test_another_account_cannot_see_or_touch_a_volume(
    api: falcon.testing.TestClient, runtime: Runtime, user_keys: Keys, bob_keys: Keys,
    cloud: Cloud,
) -> None:  # fmt: skip
    volume = create_volume(api, runtime, user_keys, cloud)
    vm = make_vm(runtime, cloud, "bob")
    for listall in (False, True):
        seen = call(api, bob_keys, "listVolumes", listall=listall)["volume"]
        assert [v["type"] for v in seen] == ["ROOT"]  # bob's VM's own disk only
        assert all(v["id"] != volume["id"] for v in seen)
    status, _ = error(api, bob_keys, "listVolumes", id=volume["id"])
    assert status == 531
    status, _ = error(api, bob_keys, "deleteVolume", id=volume["id"])
    assert status == 531
    code, _ = job_failed(api, runtime, bob_keys, "attachVolume", id=volume["id"],
                         virtualmachineid=vm)  # fmt: skip
    assert code == 531
    status, _ = error(api, bob_keys, "createSnapshot", volumeid=volume["id"])
    assert status == 531  # the create step checks at once
    for command, params in (
        ("resizeVolume", {"id": volume["id"], "size": 10}),
        ("detachVolume", {"id": volume["id"]}),
        ("extractVolume", {"id": volume["id"], "zoneid": cloud.zone, "mode": "HTTP_DOWNLOAD"}),
    ):
        code, _ = job_failed(api, runtime, bob_keys, command, **params)
        assert code == 531, command
    # alice cannot attach her volume to bob's VM either
    code, _ = job_failed(api, runtime, user_keys, "attachVolume", id=volume["id"],
                         virtualmachineid=vm)  # fmt: skip
    assert code == 531


# ---- attach, detach -----------------------------------------------------------------------


def test_attach_to_running_vm_creates_and_plugs_the_volume(
    api: falcon.testing.TestClient, runtime: Runtime, user_keys: Keys, cloud: Cloud,
    tmp_path: Path,
) -> None:  # fmt: skip
    volume = create_volume(api, runtime, user_keys, cloud)
    vm = make_vm(runtime, cloud, "alice")
    with runtime.sessions() as session:
        used_before = session.get(StoragePool, cloud.pool_id).allocated_bytes  # type: ignore[union-attr]
    attached = job_ok(api, runtime, user_keys, "attachVolume", id=volume["id"],
                      virtualmachineid=vm)["volume"]  # fmt: skip
    assert attached["state"] == "Ready" and attached["virtualmachineid"] == vm
    assert attached["deviceid"] == 1 and attached["vmstate"] == "Running"
    assert attached["attached"] and attached["vmname"] == "vm1"
    assert [(row[1], row[2]) for row in attachments(tmp_path)] == [(volume["id"], 1)]
    with runtime.sessions() as session:
        pool = session.get(StoragePool, cloud.pool_id)
        assert pool is not None and pool.allocated_bytes == used_before + 5 * GB
        row = session.scalars(select(Volume).where(Volume.uuid == volume["id"])).one()
        assert row.pool_id == cloud.pool_id and row.path == volume["id"]
    listed = call(api, user_keys, "listVolumes", virtualmachineid=vm)
    assert {v["type"] for v in listed["volume"]} == {"ROOT", "DATADISK"}
    # A second volume gets the next device id; 3 is skipped (the CD-ROM's).
    second = create_volume(api, runtime, user_keys, cloud, name="d2")
    third = create_volume(api, runtime, user_keys, cloud, name="d3")
    assert job_ok(api, runtime, user_keys, "attachVolume", id=second["id"],
                  virtualmachineid=vm)["volume"]["deviceid"] == 2  # fmt: skip
    assert job_ok(api, runtime, user_keys, "attachVolume", id=third["id"],
                  virtualmachineid=vm)["volume"]["deviceid"] == 4  # fmt: skip
    # Attached volumes cannot be deleted; attaching twice is refused.
    status, _ = error(api, user_keys, "deleteVolume", id=volume["id"])
    assert status == 431
    code, text = job_failed(api, runtime, user_keys, "attachVolume", id=volume["id"],
                            virtualmachineid=vm)  # fmt: skip
    assert code == 431 and "already attached" in text
    detached = job_ok(api, runtime, user_keys, "detachVolume", id=volume["id"])["volume"]
    assert "virtualmachineid" not in detached and detached["state"] == "Ready"
    assert volume["id"] not in [row[1] for row in attachments(tmp_path)]
    by_device = job_ok(api, runtime, user_keys, "detachVolume", virtualmachineid=vm, deviceid=2)
    assert by_device["volume"]["id"] == second["id"]
    assert call(api, user_keys, "deleteVolume", id=volume["id"])["success"] == "true"
    with runtime.sessions() as session:
        pool = session.get(StoragePool, cloud.pool_id)
        assert pool is not None and pool.allocated_bytes == used_before + 2 * 5 * GB
    types = [e.type for e in _events(runtime)]
    assert {"VOLUME.ATTACH", "VOLUME.DETACH", "VOLUME.DELETE"} <= set(types)


def _events(runtime: Runtime) -> list[Event]:
    with runtime.sessions() as session:
        return list(session.scalars(select(Event).order_by(Event.id)))


def test_attach_to_stopped_vm_and_device_rules(
    api: falcon.testing.TestClient, runtime: Runtime, user_keys: Keys, cloud: Cloud,
    tmp_path: Path,
) -> None:  # fmt: skip
    vm = make_vm(runtime, cloud, "alice", running=False)
    volume = create_volume(api, runtime, user_keys, cloud)
    code, text = job_failed(api, runtime, user_keys, "attachVolume", id=volume["id"],
                            virtualmachineid=vm, deviceid=3)  # fmt: skip
    assert code == 431 and "deviceid" in text
    attached = job_ok(api, runtime, user_keys, "attachVolume", id=volume["id"],
                      virtualmachineid=vm, deviceid=7)["volume"]  # fmt: skip
    assert attached["deviceid"] == 7 and attached["state"] == "Ready"
    assert attachments(tmp_path) == []  # a stopped VM: nothing to hot-plug
    tagged = create_volume(api, runtime, user_keys, cloud, name="t", diskofferingid=cloud.tagged)
    code, text = job_failed(api, runtime, user_keys, "attachVolume", id=tagged["id"],
                            virtualmachineid=vm)  # fmt: skip
    assert code == 533, text  # (the reason is shown to root admins only, as 4.1)


# ---- resize, migrate, extract ----------------------------------------------------------------


def test_resize_grows_unless_shrinkok(
    api: falcon.testing.TestClient, runtime: Runtime, user_keys: Keys, cloud: Cloud
) -> None:
    volume = create_volume(api, runtime, user_keys, cloud, diskofferingid=cloud.custom, size=4)
    grown = job_ok(api, runtime, user_keys, "resizeVolume", id=volume["id"], size=6)["volume"]
    assert grown["size"] == 6 * GB
    code, text = job_failed(api, runtime, user_keys, "resizeVolume", id=volume["id"], size=2)
    assert code == 431 and "shrinkok" in text
    shrunk = job_ok(api, runtime, user_keys, "resizeVolume", id=volume["id"], size=2,
                    shrinkok=True)["volume"]  # fmt: skip
    assert shrunk["size"] == 2 * GB
    fixed = create_volume(api, runtime, user_keys, cloud, name="fixed")
    code, text = job_failed(api, runtime, user_keys, "resizeVolume", id=fixed["id"], size=9)
    assert code == 431 and "fixed size" in text
    # A created volume is resized by its storage driver, and the pool charged.
    vm = make_vm(runtime, cloud, "alice")
    job_ok(api, runtime, user_keys, "attachVolume", id=volume["id"], virtualmachineid=vm)
    with runtime.sessions() as session:
        before = session.get(StoragePool, cloud.pool_id).allocated_bytes  # type: ignore[union-attr]
    resized = job_ok(api, runtime, user_keys, "resizeVolume", id=volume["id"], size=8)["volume"]
    assert resized["size"] == 8 * GB and resized["state"] == "Ready"
    with runtime.sessions() as session:
        assert session.get(StoragePool, cloud.pool_id).allocated_bytes == before + 6 * GB  # type: ignore[union-attr]
    assert any(e.type == "VOLUME.RESIZE" for e in _events(runtime))


def test_migrate_volume_is_for_root_admins(
    api: falcon.testing.TestClient, runtime: Runtime, user_keys: Keys, admin_keys: Keys,
    cloud: Cloud,
) -> None:  # fmt: skip
    vm = make_vm(runtime, cloud, "alice", running=False)
    volume = create_volume(api, runtime, user_keys, cloud)
    job_ok(api, runtime, user_keys, "attachVolume", id=volume["id"], virtualmachineid=vm)
    with runtime.sessions() as session:
        first = session.get(StoragePool, cloud.pool_id)
        assert first is not None
        second = StoragePool(
            name="second", pool_type=first.pool_type, data_center_id=first.data_center_id,
            pod_id=first.pod_id, cluster_id=first.cluster_id, capacity_bytes=100 * GB,
            host_address="10.9.9.9", path="/second", status="Up",
        )  # fmt: skip
        session.add(second)
        session.commit()
        target = second.uuid
    code, _ = job_failed(api, runtime, user_keys, "migrateVolume", volumeid=volume["id"],
                         storageid=target)  # fmt: skip
    assert code == 531
    moved = job_ok(api, runtime, admin_keys, "migrateVolume", volumeid=volume["id"],
                   storageid=target)["volume"]  # fmt: skip
    assert moved["storage"] == "second" and moved["state"] == "Ready"
    with runtime.sessions() as session:
        pools = {p.name: p.allocated_bytes for p in session.scalars(select(StoragePool))}
    assert pools["second"] == 5 * GB


def test_extract_volume_gives_a_url(
    api: falcon.testing.TestClient, runtime: Runtime, user_keys: Keys, cloud: Cloud
) -> None:
    volume = create_volume(api, runtime, user_keys, cloud)
    code, _ = job_failed(api, runtime, user_keys, "extractVolume", id=volume["id"],
                         zoneid=cloud.zone, mode="HTTP_DOWNLOAD")  # fmt: skip
    assert code == 431  # not created on primary storage yet
    vm = make_vm(runtime, cloud, "alice", running=False)
    job_ok(api, runtime, user_keys, "attachVolume", id=volume["id"], virtualmachineid=vm)
    extracted = job_ok(api, runtime, user_keys, "extractVolume", id=volume["id"],
                       zoneid=cloud.zone, mode="http_download")["volume"]  # fmt: skip
    assert extracted["id"] == volume["id"] and extracted["extractMode"] == "HTTP_DOWNLOAD"
    assert extracted["state"] == "DOWNLOAD_URL_CREATED"
    assert extracted["url"].startswith("http://") and extracted["extractId"] in extracted["url"]


# ---- upload --------------------------------------------------------------------------------------


class _Files(BaseHTTPRequestHandler):
    body = b"qcow2 bytes " * 1000

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def file_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Files)
    thread = Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _allow_localhost(runtime: Runtime) -> None:
    with runtime.sessions() as session:
        runtime.config_store(session).set("secstorage.allowed.internal.sites", "127.0.0.0/8")
        session.commit()


def test_upload_volume_downloads_checks_and_attaches(
    api: falcon.testing.TestClient, runtime: Runtime, user_keys: Keys, cloud: Cloud,
    file_server: str,
) -> None:  # fmt: skip
    import hashlib

    url = f"{file_server}/disk.qcow2"
    code, text = job_failed(api, runtime, user_keys, "uploadVolume", name="up",
                            zoneid=cloud.zone, format="QCOW2", url=url)  # fmt: skip
    assert code == 431 and "url" in text and "internal" in text
    code, text = job_failed(api, runtime, user_keys, "uploadVolume", name="up",
                            zoneid=cloud.zone, format="ISO", url=url)  # fmt: skip
    assert code == 431 and text.startswith("format")
    _allow_localhost(runtime)
    digest = hashlib.md5(_Files.body, usedforsecurity=False).hexdigest()
    uploaded = job_ok(api, runtime, user_keys, "uploadVolume", name="up", zoneid=cloud.zone,
                      format="QCOW2", url=url, checksum=digest)["volume"]  # fmt: skip
    assert uploaded["state"] == "Uploaded" and uploaded["status"] == "Upload Complete"
    assert uploaded["size"] == len(_Files.body)
    code, text = job_failed(api, runtime, user_keys, "uploadVolume", name="bad",
                            zoneid=cloud.zone, format="QCOW2", url=url,
                            checksum="0" * 32)  # fmt: skip
    assert code == 534, text  # the reason is the volume's status
    bad = call(api, user_keys, "listVolumes", name="bad")["volume"][0]
    assert bad["state"] == "UploadOp" and "checksum" in bad["status"]
    vm = make_vm(runtime, cloud, "alice")
    attached = job_ok(api, runtime, user_keys, "attachVolume", id=uploaded["id"],
                      virtualmachineid=vm)["volume"]  # fmt: skip
    assert attached["state"] == "Ready" and attached["deviceid"] == 1
