"""Host-local primary storage end to end over the real API (REQ-PS-06): hosts bring
their own storage when added, it is listed as HOST-scope pools, a ``storagetype=local``
offering deploys a VM whose ROOT volume is on the local pool of the very host the VM
runs on, a shared offering never uses local pools, and ``deleteHost`` removes a host's
local pool only when no volume lives on it. Also REQ-POD-03 on ``addHost``.

The hypervisor and storage are the real simulator (its state file per test), on the
demo zone with local storage enabled."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import falcon.testing
import pytest
from sqlalchemy import select

from cumulo.demo import ensure_demo_zone
from cumulo.infra.hosts.models import Host
from cumulo.infra.storage.models import StoragePool
from cumulo.runtime import Runtime
from cumulo.volumes.models import Volume
from cumulo_api.registry import CommandRegistry
from cumulo_api.testing import signed_request
from cumulo_api.worker import run_pending

pytest.importorskip("cumulo_simulator")

Keys = tuple[str, str]
GIB = 1024**3
LOCAL_HOSTS = {
    "local-a": ("192.168.100.61", 200),
    "local-b": ("192.168.100.62", 300),
}
"""Two hosts with local disks (address, GiB) beside the demo's four diskless ones."""


class Cloud:
    """Signed API calls as one caller; async commands run to their end."""

    def __init__(self, runtime: Runtime, api: falcon.testing.TestClient, keys: Keys) -> None:
        self.runtime, self.api, self.keys = runtime, api, keys
        self.registry = CommandRegistry.build(runtime.pm)

    def as_(self, keys: Keys) -> Cloud:
        return Cloud(self.runtime, self.api, keys)

    def _send(self, command: str, **params: Any) -> tuple[int, Any]:
        result = signed_request(self.api, self.keys, command, **params)
        (answer,) = json.loads(result.content).values()
        if result.status_code == 200 and "jobid" in answer and command != "queryAsyncJobResult":
            run_pending(self.runtime, self.registry)
            job = self.call("queryAsyncJobResult", jobid=answer["jobid"])
            if job["jobstatus"] == 2:
                return int(job["jobresult"]["errorcode"]), job["jobresult"]
            return 200, job["jobresult"]
        return result.status_code, answer

    def call(self, command: str, **params: Any) -> Any:
        status, answer = self._send(command, **params)
        assert status == 200, answer
        return answer

    def error(self, command: str, **params: Any) -> tuple[int, str]:
        status, answer = self._send(command, **params)
        assert status >= 400, answer
        return status, str(answer["errortext"])


@pytest.fixture
def cloud(
    runtime: Runtime,
    api: falcon.testing.TestClient,
    admin_keys: Keys,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Cloud:
    monkeypatch.setenv("CUMULO_SIMULATOR_STATE", str(tmp_path / "simulator.sqlite"))
    ensure_demo_zone(runtime, tmp_path / "data")
    return Cloud(runtime, api, admin_keys)


@pytest.fixture
def zone(cloud: Cloud) -> dict[str, Any]:
    """The demo zone, local storage enabled, with two hosts that have local disks."""
    (found,) = cloud.call("listZones", name="Demo")["zone"]
    cloud.call("updateZone", id=found["id"], localstorageenabled=True)
    (pod,) = cloud.call("listPods", zoneid=found["id"])["pod"]
    (cluster,) = cloud.call("listClusters", zoneid=found["id"])["cluster"]
    for name, (address, size) in LOCAL_HOSTS.items():
        cloud.call(
            "addHost", zoneid=found["id"], podid=pod["id"], clusterid=cluster["id"],
            hypervisor="Simulator", username="root", password="password",
            url=f"http://{address}/{name}?cpus=4&memory=16GiB&localstorage={size}GiB",
        )  # fmt: skip
    return {"zone": found, "pod": pod, "cluster": cluster}


def _local_pools(cloud: Cloud, zone_id: str) -> dict[str, Any]:
    pools = cloud.call("listStoragePools", zoneid=zone_id).get("storagepool", [])
    return {pool["name"]: pool for pool in pools if pool["scope"] == "HOST"}


def _template(cloud: Cloud, zone_id: str) -> str:
    (template,) = cloud.call("listTemplates", templatefilter="featured", zoneid=zone_id)["template"]
    return str(template["id"])


def _deploy(cloud: Cloud, zone_id: str, offering: str, name: str) -> dict[str, Any]:
    vm: dict[str, Any] = cloud.call(
        "deployVirtualMachine", zoneid=zone_id, templateid=_template(cloud, zone_id),
        serviceofferingid=offering, name=name,
    )["virtualmachine"]  # fmt: skip
    return vm


def _root(cloud: Cloud, vm_id: str) -> dict[str, Any]:
    (volume,) = cloud.call("listVolumes", virtualmachineid=vm_id, type="ROOT")["volume"]
    return dict(volume)


def test_req_ps_06_hosts_bring_their_local_storage_as_host_pools(
    cloud: Cloud, zone: dict[str, Any]
) -> None:
    """REQ-PS-06: each host's local disk is a HOST-scope pool named like 4.1's, Up, in
    the host's cluster at its address, with the size the host reported; reconnecting
    finds the same pool again."""
    pools = _local_pools(cloud, zone["zone"]["id"])
    assert sorted(pools) == ["local-a Local Storage", "local-b Local Storage"]
    for name, (address, size) in LOCAL_HOSTS.items():
        pool = pools[f"{name} Local Storage"]
        assert (pool["state"], pool["type"], pool["ipaddress"]) == ("Up", "Filesystem", address)
        assert pool["clusterid"] == zone["cluster"]["id"] and pool["podid"] == zone["pod"]["id"]
        assert pool["disksizetotal"] == size * GIB and pool["disksizeused"] == 0
        assert pool["path"].startswith("/mnt/")
    shared = cloud.call("listStoragePools", zoneid=zone["zone"]["id"], name="Demo Primary")
    assert [pool["scope"] for pool in shared["storagepool"]] == ["CLUSTER"]
    (host,) = cloud.call("listHosts", name="local-a")["host"]
    cloud.call("reconnectHost", id=host["id"])
    assert _local_pools(cloud, zone["zone"]["id"]) == pools  # the same rows, unchanged
    capacity = cloud.call("listCapacity", zoneid=zone["zone"]["id"], type=9)["capacity"]
    assert [row["capacitytotal"] for row in capacity] == [500 * GIB]


def test_req_ps_06_local_offering_puts_the_root_disk_on_the_vms_own_host(
    cloud: Cloud, zone: dict[str, Any], runtime: Runtime
) -> None:
    """REQ-PS-06: a storagetype=local offering deploys the VM on a host with local
    storage and its ROOT volume on that same host's local pool; a shared offering's VM
    has its ROOT volume on the shared pool."""
    zone_id = zone["zone"]["id"]
    local = cloud.call(
        "createServiceOffering", name="local", displaytext="local disk", cpunumber=1,
        cpuspeed=500, memory=512, storagetype="local",
    )["serviceoffering"]  # fmt: skip
    shared = cloud.call(
        "createServiceOffering", name="shared", displaytext="shared disk", cpunumber=1,
        cpuspeed=500, memory=512,
    )["serviceoffering"]  # fmt: skip
    vms = [_deploy(cloud, zone_id, local["id"], f"local-{index}") for index in range(3)]
    pools = _local_pools(cloud, zone_id)
    for vm in vms:
        assert vm["state"] == "Running"
        assert vm["hostname"] in LOCAL_HOSTS  # the demo's own hosts are diskless
        root = _root(cloud, vm["id"])
        assert root["storagetype"] == "local"
        assert root["storage"] == f"{vm['hostname']} Local Storage"
        assert pools[root["storage"]]["ipaddress"] == LOCAL_HOSTS[vm["hostname"]][0]
    roots = [(vm["hostid"], _root(cloud, vm["id"])["id"]) for vm in vms]
    with runtime.sessions() as session:
        for host_uuid, volume_uuid in roots:
            volume = session.scalars(select(Volume).where(Volume.uuid == volume_uuid)).one()
            pool = session.get_one(StoragePool, volume.pool_id)
            host = session.scalars(select(Host).where(Host.uuid == host_uuid)).one()
            assert (pool.scope, pool.host_id) == ("HOST", host.id)
    # The local pools' claims show the volumes; nothing went to the shared pool.
    claimed = sum(pool["disksizeallocated"] for pool in _local_pools(cloud, zone_id).values())
    assert claimed == sum(int(_root(cloud, vm["id"])["size"]) for vm in vms)
    other = _deploy(cloud, zone_id, shared["id"], "shared-1")
    root = _root(cloud, other["id"])
    assert (root["storagetype"], root["storage"]) == ("shared", "Demo Primary")


def test_delete_host_removes_its_local_pool_unless_volumes_live_on_it(
    cloud: Cloud, zone: dict[str, Any]
) -> None:
    """deleteHost removes the host's local pool with it; a pool still holding a VM's
    volume makes it a 431 naming the pool (cumulo never destroys user data as a side
    effect, where 4.1 would with forcedestroylocalstorage). A host added again gets its
    pool back under the same id."""
    zone_id = zone["zone"]["id"]
    local = cloud.call(
        "createServiceOffering", name="local", displaytext="local disk", cpunumber=1,
        cpuspeed=500, memory=512, storagetype="local",
    )["serviceoffering"]  # fmt: skip
    vm = _deploy(cloud, zone_id, local["id"], "pinned")
    busy_name = vm["hostname"]
    (idle_name,) = set(LOCAL_HOSTS) - {busy_name}
    before = _local_pools(cloud, zone_id)
    (busy,) = cloud.call("listHosts", name=busy_name)["host"]
    code, text = cloud.error("deleteHost", id=busy["id"], forced=True)
    assert code == 431 and "id" in text and f"'{busy_name} Local Storage' holds 1" in text
    (idle,) = cloud.call("listHosts", name=idle_name)["host"]
    cloud.call("deleteHost", id=idle["id"], forced=True)
    after = _local_pools(cloud, zone_id)
    assert sorted(after) == [f"{busy_name} Local Storage"]
    address, size = LOCAL_HOSTS[idle_name]
    cloud.call(
        "addHost", zoneid=zone_id, podid=zone["pod"]["id"], clusterid=zone["cluster"]["id"],
        hypervisor="Simulator", username="root", password="password",
        url=f"http://{address}/{idle_name}?cpus=4&memory=16GiB&localstorage={size}GiB",
    )  # fmt: skip
    back = _local_pools(cloud, zone_id)[f"{idle_name} Local Storage"]
    assert back["id"] == before[f"{idle_name} Local Storage"]["id"] and back["state"] == "Up"


def test_local_pools_are_for_administrators_only(
    cloud: Cloud, zone: dict[str, Any], runtime: Runtime
) -> None:
    """Pools, local ones included, are never shown to end users (432)."""
    from test_compute_lifecycle import make_user

    user = cloud.as_(make_user(runtime, "carol"))
    code, _ = user.error("listStoragePools", zoneid=zone["zone"]["id"])
    assert code == 432


def test_req_pod_03_add_host_outside_the_pod_subnet_is_refused(
    cloud: Cloud, zone: dict[str, Any]
) -> None:
    """REQ-POD-03: addHost refuses a host whose address is outside its pod's subnet
    (431 naming url), and adds nothing."""
    code, text = cloud.error(
        "addHost", zoneid=zone["zone"]["id"], podid=zone["pod"]["id"],
        clusterid=zone["cluster"]["id"], hypervisor="Simulator", username="root",
        password="password", url="http://10.9.9.9/stray",
    )  # fmt: skip
    assert code == 431 and "url" in text and "192.168.100.0/24" in text and "REQ-POD-03" in text
    assert cloud.call("listHosts", name="stray") == {}
