"""Issue 4's remaining infrastructure rules over the API, each citing its requirement:
REQ-PS-05 (no zone launched whose system VMs would have no storage), REQ-SS-05 (the
system VM template on a secondary store before it is added), REQ-OM-18 (a pod's
reserved range against storage-network ranges), listCapacity types 6, 7 and 9, zone
details and DNS search order, showcapacities, and the parameters still refused.

The hypervisor and storage are the real simulator (its state file per test)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import falcon.testing
import pytest
from cumulo_simulator.state import ENV_STATE
from sqlalchemy import select
from test_infra_storage_network import STORAGE, _zone
from test_infra_zones import Cloud, Keys, make_caller

from cumulo.infra.lookup import find_pod, find_zone
from cumulo.infra.models import ZoneDetail
from cumulo.infra.storage.models import StoragePool
from cumulo.runtime import Runtime


@pytest.fixture(autouse=True)
def simulator_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_STATE, str(tmp_path / "simulator.sqlite"))


@pytest.fixture
def cloud(api: falcon.testing.TestClient, runtime: Runtime, admin_keys: Keys) -> Cloud:
    return Cloud(api, runtime, admin_keys)


def _refused(cloud: Cloud, command: str, **params: Any) -> str:
    code, text = cloud.error(command, **params)
    assert code == 431, text
    return text


def _simulated(cloud: Cloud) -> tuple[Any, Any, Any]:
    """A basic zone with a pod and a Simulator cluster of one host (no storage)."""
    zone = cloud.zone("z1")
    pod = cloud.pod(zone)
    cluster = cloud.call(
        "addCluster", zoneid=zone["id"], podid=pod["id"], clustername="c1",
        hypervisor="Simulator", clustertype="CloudManaged",
    )["cluster"][0]  # fmt: skip
    cloud.call(
        "addHost", zoneid=zone["id"], podid=pod["id"], clusterid=cluster["id"],
        hypervisor="Simulator", url="http://sim/c1/h1", username="root", password="pw",
    )  # fmt: skip
    return zone, pod, cluster


def test_req_ps_05_zone_without_shared_primary_storage_is_not_launched(cloud: Cloud) -> None:
    """REQ-PS-05: enabling a zone with no shared primary storage while
    system.vm.local.storage.required is false is a 431; with shared storage (or the
    setting true) it is enabled."""
    zone, pod, cluster = _simulated(cloud)
    text = _refused(cloud, "updateZone", id=zone["id"], allocationstate="Enabled")
    assert "REQ-PS-05" in text and "system.vm.local.storage.required" in text
    cloud.call(
        "createStoragePool", zoneid=zone["id"], podid=pod["id"], clusterid=cluster["id"],
        name="primary", url="nfs://10.10.10.10/export/primary",
    )  # fmt: skip
    enabled = cloud.call("updateZone", id=zone["id"], allocationstate="Enabled")["zone"]
    assert enabled["allocationstate"] == "Enabled"
    other = cloud.zone("z2")
    cloud.call("updateConfiguration", name="system.vm.local.storage.required", value="true")
    answer = cloud.call("updateZone", id=other["id"], allocationstate="Enabled")["zone"]
    assert answer["allocationstate"] == "Enabled"


def test_req_ss_05_system_vm_template_must_be_on_the_store(cloud: Cloud, tmp_path: Path) -> None:
    """REQ-SS-05: in a zone with a KVM cluster, a store without the KVM system VM
    template (template/tmpl/1/<id>/*.qcow2) is refused with a 431; once installed
    there, it is added. A Simulator-only zone needs none."""
    zone = cloud.zone("z1")
    pod = cloud.pod(zone)
    cloud.call(
        "addCluster", zoneid=zone["id"], podid=pod["id"], clustername="kvm1",
        hypervisor="KVM", clustertype="CloudManaged",
    )  # fmt: skip
    store = tmp_path / "secondary"
    store.mkdir()
    text = _refused(cloud, "addSecondaryStorage", zoneid=zone["id"], url=f"file://{store}")
    assert "REQ-SS-05" in text and "KVM (qcow2)" in text
    template = store / "template" / "tmpl" / "1" / "3"
    template.mkdir(parents=True)
    (template / "f3c9b5c4.qcow2").write_bytes(b"QFI\xfb")
    added = cloud.call("addSecondaryStorage", zoneid=zone["id"], url=f"file://{store}")
    assert added["secondarystorage"]["type"] == "SecondaryStorage"
    simulated, _, _ = _simulated_zone(cloud, "z2")
    empty = tmp_path / "empty"
    empty.mkdir()
    cloud.call("addSecondaryStorage", zoneid=simulated["id"], url=f"file://{empty}")


def _simulated_zone(cloud: Cloud, name: str) -> tuple[Any, Any, Any]:
    zone = cloud.zone(name)
    pod = cloud.pod(zone, name="p2", gateway="192.168.20.1", startip="192.168.20.10",
                    endip="192.168.20.20")  # fmt: skip
    cluster = cloud.call(
        "addCluster", zoneid=zone["id"], podid=pod["id"], clustername=f"{name}-c",
        hypervisor="Simulator", clustertype="CloudManaged",
    )["cluster"][0]  # fmt: skip
    return zone, pod, cluster


def test_req_om_18_pod_reserved_range_never_overlaps_a_storage_range(cloud: Cloud) -> None:
    """REQ-OM-18: a pod's reserved system range may not take addresses of a storage
    network range, on createPod and on updatePod (the storage side is checked too)."""
    zone = _zone(cloud)
    pod = cloud.pod(zone, gateway="10.9.0.1", startip="10.9.0.10", endip="10.9.0.20")
    cloud.call(
        "createStorageNetworkIpRange", podid=pod["id"],
        **{**STORAGE, "gateway": "10.9.0.1", "startip": "10.9.0.100", "endip": "10.9.0.120"},
    )  # fmt: skip
    text = _refused(cloud, "updatePod", id=pod["id"], startip="10.9.0.10", endip="10.9.0.110")
    assert "storage network range 10.9.0.100-10.9.0.120" in text
    other = _zone(cloud, "z2")
    text = _refused(
        cloud, "createPod", zoneid=other["id"], name="p2", gateway="10.9.0.1",
        netmask="255.255.0.0", startip="10.9.0.115", endip="10.9.0.130",
    )  # fmt: skip
    assert "REQ-OM-18" in text


def _capacity(cloud: Cloud, zone: Any, kind: int) -> tuple[int, int]:
    answer = cloud.call("listCapacity", zoneid=zone["id"], type=kind)
    (row,) = answer["capacity"]
    return row["capacityused"], row["capacitytotal"]


def test_list_capacity_secondary_storage_vlans_and_local_storage(
    cloud: Cloud, runtime: Runtime, tmp_path: Path
) -> None:
    """listCapacity types 6 (secondary storage), 7 (guest VLANs) and 9 (host-local
    storage), each set-based; VLAN rows follow updatePhysicalNetwork."""
    zone = cloud.zone("adv", "Advanced")
    network = cloud.call("createPhysicalNetwork", zoneid=zone["id"], name="pn", vlan="100-199")[
        "physicalnetwork"
    ]
    assert _capacity(cloud, zone, 7) == (0, 100)
    cloud.call("updatePhysicalNetwork", id=network["id"], vlan="100-149,300")
    assert _capacity(cloud, zone, 7) == (0, 51)
    pod = cloud.pod(zone)
    store = tmp_path / "sec"
    store.mkdir()
    cloud.call("addSecondaryStorage", zoneid=zone["id"], url=f"file://{store}")
    used, total = _capacity(cloud, zone, 6)
    assert total > 0 and 0 <= used <= total
    with runtime.sessions.begin() as session:
        assert session.scalars(select(StoragePool.id)).first() is None
        zone_row, pod_row = find_zone(session, zone["id"]), find_pod(session, pod["id"])
        session.add(
            StoragePool(
                name="local-h1", data_center_id=zone_row.id, pod_id=pod_row.id,
                pool_type="Filesystem", host_address="h1", path="/var/lib/local",
                scope="HOST", status="Up", capacity_bytes=500, used_bytes=100,
            )
        )  # fmt: skip
    assert _capacity(cloud, zone, 9) == (100, 500)
    assert cloud.call("listCapacity", zoneid=zone["id"], type=2).get("count", 0) == 0
    # showcapacities: every type of the zone, in the zone response (admins).
    listed = cloud.call("listZones", id=zone["id"], showcapacities=True)["zone"][0]
    kinds = {row["type"] for row in listed["capacity"]}
    assert {6, 7, 9} <= kinds
    pods = cloud.call("listPods", zoneid=zone["id"], showcapacities=True)["pod"][0]
    assert {row["type"] for row in pods["capacity"]} >= {5, 9}
    cloud.call("deletePhysicalNetwork", id=network["id"])
    assert cloud.call("listCapacity", zoneid=zone["id"], type=7).get("count", 0) == 0


def test_update_zone_details_and_dns_search_order(cloud: Cloud, runtime: Runtime) -> None:
    """updateZone details[i].key/value and dnssearchorder are kept in
    data_center_details (4.1's ZoneConfig.DnsSearchOrder), merged on later updates."""
    zone = cloud.zone("z1")
    cloud.call(
        "updateZone", id=zone["id"], dnssearchorder="a.example.com,b.example.com",
        **{"details[0].key": "cpu.overprovisioning", "details[0].value": "2"},
    )  # fmt: skip
    cloud.call("updateZone", id=zone["id"], **{"details[0].key": "x", "details[0].value": "1"})
    with runtime.sessions() as session:
        rows = dict(session.execute(select(ZoneDetail.name, ZoneDetail.value)).all())
    assert rows == {
        "dnssearchorder": "a.example.com,b.example.com",
        "cpu.overprovisioning": "2",
        "x": "1",
    }
    text = _refused(cloud, "updateZone", id=zone["id"], **{"details[0].value": "orphan"})
    assert "details" in text


def test_parameters_still_refused_say_why(cloud: Cloud, runtime: Runtime) -> None:
    """createVlanIpRange projectid/networkid/IPv6 stay 431 with a reason (projects and
    guest networks do not exist yet); listZones showcapacities shows nothing to users."""
    zone = cloud.zone("z1", "Advanced")
    base = dict(zoneid=zone["id"], vlan="100", gateway="203.0.113.1",
                netmask="255.255.255.0", startip="203.0.113.10", endip="203.0.113.20",
                forvirtualnetwork=True)  # fmt: skip
    assert "projects" in _refused(cloud, "createVlanIpRange", projectid="-1", **base)
    ipv6 = _refused(cloud, "createVlanIpRange", ip6cidr="2001:db8::/64", **base)
    assert "IPv6" in ipv6
    user = cloud.as_(make_caller(runtime, "alice", 0)).call("listZones", showcapacities=True)
    assert all("capacity" not in z for z in user.get("zone", []))
