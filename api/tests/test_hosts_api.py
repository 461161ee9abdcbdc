"""The cluster, host, capacity and hypervisor commands over the API (CAP-12, CAP-13),
with a fake hypervisor driver standing in for real hosts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, ClassVar

import falcon.testing
import pytest

from cumulo.infra.models import Pod, Zone
from cumulo.runtime import Runtime
from cumulo.sdk.hypervisor import (
    HostConnection,
    HostInfo,
    HostPing,
    HostRef,
    HostStatus,
    HypervisorDriver,
)
from cumulo.testing.fakes import registered_drivers
from cumulo_api.registry import CommandRegistry
from cumulo_api.testing import signed_request
from cumulo_api.worker import run_pending

Keys = tuple[str, str]


class FakeKvm(HypervisorDriver):
    """Every host answers, with 4 cores at 2000 MHz and 4 GiB."""

    name: ClassVar[str] = "KVM"

    def connect(self, connection: HostConnection) -> HostInfo:
        return HostInfo(connection.url, 1, 4, 2000, 4 * 2**30, "qemu 1.5", ("hvm",))

    def disconnect(self, host: HostRef) -> None:
        return None

    def ping(self, host: HostRef, timeout: float) -> HostPing:
        return HostPing(host.guid, HostStatus.UP)


@pytest.fixture(autouse=True)
def fake_kvm() -> Iterator[None]:
    with registered_drivers("cumulo.hypervisors", {"KVM": FakeKvm}):
        yield


@pytest.fixture
def zone_pod(runtime: Runtime) -> tuple[str, str]:
    with runtime.sessions.begin() as session:
        zone = Zone(name="z1", dns1="8.8.8.8", internal_dns1="10.0.0.2", networktype="Basic")
        session.add(zone)
        session.flush()
        pod = Pod(
            name="p1", data_center_id=zone.id, gateway="10.1.0.1", cidr_address="10.1.0.0",
            cidr_size=24, description="10.1.0.10-10.1.0.20", reserved_start_num=10,
            reserved_end_num=20,
        )  # fmt: skip
        session.add(pod)
        session.flush()
        return zone.uuid, pod.uuid


def _call(api: falcon.testing.TestClient, keys: Keys, command: str, **params: Any) -> Any:
    result = signed_request(api, keys, command, **params)
    assert result.status_code == 200, result.text
    (answer,) = json.loads(result.content).values()
    return answer


def _fail(api: falcon.testing.TestClient, keys: Keys, command: str, **params: Any) -> Any:
    result = signed_request(api, keys, command, **params)
    assert result.status_code >= 400, result.text
    (answer,) = json.loads(result.content).values()
    return answer


def _add_host(api: falcon.testing.TestClient, keys: Keys, zone: str, pod: str, ip: str) -> Any:
    return _call(
        api, keys, "addHost", zoneid=zone, podid=pod, clustername="c1", hypervisor="KVM",
        url=f"http://{ip}", username="root", password="secret", hosttags="ssd,fast",
    )  # fmt: skip


def test_add_cluster_and_host_answer_lists_without_passwords(
    api: falcon.testing.TestClient, admin_keys: Keys, zone_pod: tuple[str, str]
) -> None:
    """addCluster and addHost answer a list (count + array, api-reference §h); the
    password never appears; listHosts and listClusters find them by UUID."""
    zone, pod = zone_pod
    added = _call(
        api, admin_keys, "addCluster", zoneid=zone, podid=pod, clustername="c1",
        hypervisor="kvm", clustertype="CloudManaged",
    )  # fmt: skip
    assert added["count"] == 1 and added["cluster"][0]["hypervisortype"] == "KVM"
    host = _add_host(api, admin_keys, zone, pod, "10.1.0.50")
    assert host["count"] == 1
    (fields,) = host["host"]
    assert fields["state"] == "Up" and fields["cpunumber"] == 4 and fields["clustername"] == "c1"
    assert fields["hosttags"] in ("ssd,fast", "fast,ssd") and fields["resourcestate"] == "Enabled"
    assert "secret" not in json.dumps(host)
    listed = _call(api, admin_keys, "listHosts", id=fields["id"])
    assert listed["count"] == 1 and listed["host"][0]["zoneid"] == zone
    clusters = _call(api, admin_keys, "listClusters", zoneid=zone)
    assert [c["name"] for c in clusters["cluster"]] == ["c1"]
    capacity = _call(api, admin_keys, "listCapacity", zoneid=zone, type=1)
    assert capacity["capacity"][0]["capacitytotal"] == 8000
    assert capacity["capacity"][0]["percentused"] == "0.00"


def test_req_host_02_mismatched_hypervisor_is_431(
    api: falcon.testing.TestClient, admin_keys: Keys, zone_pod: tuple[str, str]
) -> None:
    """REQ-HOST-02 over the API: 431 naming the parameter."""
    zone, pod = zone_pod
    _add_host(api, admin_keys, zone, pod, "10.1.0.50")
    answer = _fail(
        api, admin_keys, "addHost", zoneid=zone, podid=pod, clustername="c1",
        hypervisor="XenServer", url="http://10.1.0.51", username="root", password="x",
    )  # fmt: skip
    assert answer["errorcode"] == 431 and "hypervisor" in answer["errortext"]


def test_maintenance_jobs_and_delete(
    runtime: Runtime, api: falcon.testing.TestClient, admin_keys: Keys, zone_pod: tuple[str, str]
) -> None:
    """REQ-HOST-09: prepareHostForMaintenance and cancelHostMaintenance run as jobs;
    deleteHost needs maintenance (or forced)."""
    zone, pod = zone_pod
    host_id = _add_host(api, admin_keys, zone, pod, "10.1.0.50")["host"][0]["id"]
    assert _fail(api, admin_keys, "deleteHost", id=host_id)["errorcode"] == 431
    started = _call(api, admin_keys, "prepareHostForMaintenance", id=host_id)
    assert run_pending(runtime, CommandRegistry.build(runtime.pm)) == 1
    job = _call(api, admin_keys, "queryAsyncJobResult", jobid=started["jobid"])
    assert job["jobstatus"] == 1, job
    assert job["jobresult"]["host"]["resourcestate"] == "Maintenance"
    _call(api, admin_keys, "cancelHostMaintenance", id=host_id)
    run_pending(runtime, CommandRegistry.build(runtime.pm))
    assert _call(api, admin_keys, "listHosts", id=host_id)["host"][0]["resourcestate"] == "Enabled"
    assert _call(api, admin_keys, "deleteHost", id=host_id, forced=True)["success"] == "true"
    assert _call(api, admin_keys, "listHosts") == {}  # the empty list answer


def test_non_admins_get_432(
    api: falcon.testing.TestClient, user_keys: Keys, domain_admin_keys: Keys
) -> None:
    """Host commands are for admins: a user or a domain admin gets 432."""
    for keys in (user_keys, domain_admin_keys):
        for command in ("listHosts", "listClusters", "listCapacity"):
            assert _fail(api, keys, command)["errorcode"] == 432
    assert _call(api, user_keys, "listHypervisors")["count"] >= 1


def test_hypervisor_capabilities_seeded_and_updated(
    api: falcon.testing.TestClient, admin_keys: Keys
) -> None:
    """listHypervisorCapabilities shows 4.1's rows; updateHypervisorCapabilities edits."""
    listed = _call(api, admin_keys, "listHypervisorCapabilities", hypervisor="VMware")
    rows = listed["hypervisorCapabilities"]
    assert {row["hypervisorversion"] for row in rows} >= {"default", "5.0"}
    assert all(row["maxguestslimit"] == 128 and not row["securitygroupenabled"] for row in rows)
    updated = _call(
        api, admin_keys, "updateHypervisorCapabilities", id=rows[0]["id"], maxguestslimit=64
    )
    assert updated["hypervisorCapabilities"]["maxguestslimit"] == 64


def test_update_host_os_category(
    runtime: Runtime, api: falcon.testing.TestClient, admin_keys: Keys, zone_pod: tuple[str, str]
) -> None:
    """updateHost oscategoryid (4.1): the host's preferred guest OS category, shown as
    oscategoryid/oscategoryname; 0 clears it; an unknown id is a 431."""
    import sqlalchemy as sa

    from cumulo.db.base import Base

    table = Base.metadata.tables.get("guest_os_category")
    with runtime.sessions.begin() as session:
        present = table is not None and sa.inspect(session.connection()).has_table(table.name)
        if not present:
            pytest.skip("guest_os_category (templates package) is not migrated yet")
        assert table is not None
        uuid = "5a0e7c1e-0000-4000-8000-00000000c0de"
        session.execute(sa.insert(table).values(uuid=uuid, name="Test category"))
    zone, pod = zone_pod
    host_id = _add_host(api, admin_keys, zone, pod, "10.1.0.50")["host"][0]["id"]
    updated = _call(api, admin_keys, "updateHost", id=host_id, oscategoryid=uuid)["host"]
    assert (updated["oscategoryid"], updated["oscategoryname"]) == (uuid, "Test category")
    bad = _fail(
        api,
        admin_keys,
        "updateHost",
        id=host_id,
        oscategoryid="0a0e7c1e-0000-4000-8000-000000000000",
    )
    assert bad["errorcode"] == 431 and "oscategoryid" in bad["errortext"]
    cleared = _call(api, admin_keys, "updateHost", id=host_id, oscategoryid="0")["host"]
    assert cleared.get("oscategoryid") is None
