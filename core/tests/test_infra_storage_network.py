"""Storage network IP ranges over the API (REQUIREMENTS §2.3 Storage traffic, A-04,
REQ-OM-14, REQ-OM-18): a pod's range inside the pod's zone, only where Storage traffic
is carried, never overlapping another reserved range of the cloud."""

from __future__ import annotations

from typing import Any

import falcon.testing
import pytest
from sqlalchemy import select
from test_infra_zones import Cloud, Keys, _count, make_caller

from cumulo.events.models import Event
from cumulo.runtime import Runtime

STORAGE = {"gateway": "172.16.0.1", "netmask": "255.255.255.0"}


@pytest.fixture
def cloud(api: falcon.testing.TestClient, runtime: Runtime, admin_keys: Keys) -> Cloud:
    return Cloud(api, runtime, admin_keys)


def _zone(cloud: Cloud, name: str = "z", *, storage: bool = True, vnet: str | None = None) -> Any:
    """An advanced zone whose one physical network carries Management (and Storage)."""
    zone = cloud.zone(name, "Advanced")
    params = {"vlan": vnet} if vnet else {}
    created = cloud.call("createPhysicalNetwork", zoneid=zone["id"], name=f"{name}-pn", **params)
    network = created["physicalnetwork"]
    kinds = ("Management", "Storage") if storage else ("Management",)
    for kind in kinds:
        cloud.call("addTrafficType", physicalnetworkid=network["id"], traffictype=kind)
    return zone


def _create(cloud: Cloud, pod: Any, **params: Any) -> Any:
    answer = cloud.call("createStorageNetworkIpRange", podid=pod["id"], **{**STORAGE, **params})
    return answer["storagenetworkiprange"]


def _refused(cloud: Cloud, command: str, **params: Any) -> str:
    code, text = cloud.error(command, **params)
    assert code == 431, text
    return text


def test_create_list_update_delete(cloud: Cloud) -> None:
    zone = _zone(cloud)
    pod = cloud.pod(zone)
    created = _create(cloud, pod, startip="172.16.0.10", endip="172.16.0.50", vlan=120)
    assert created["podid"] == pod["id"] and created["zoneid"] == zone["id"]
    assert (created["startip"], created["endip"], created["vlan"]) == (
        "172.16.0.10",
        "172.16.0.50",
        120,
    )
    assert (created["gateway"], created["netmask"]) == ("172.16.0.1", "255.255.255.0")
    assert len(created["id"]) == 36 and "networkid" not in created
    listed = cloud.call("listStorageNetworkIpRange")
    assert listed["count"] == 1 and listed["storagenetworkiprange"] == [created]
    updated = cloud.call(
        "updateStorageNetworkIpRange", id=created["id"], endip="172.16.0.60", vlan=121
    )["storagenetworkiprange"]
    assert (updated["startip"], updated["endip"], updated["vlan"]) == (
        "172.16.0.10",
        "172.16.0.60",
        121,
    )
    result = cloud.call("deleteStorageNetworkIpRange", id=created["id"])
    assert result["success"] is True
    assert cloud.call("listStorageNetworkIpRange") == {}
    # The range was what kept the pod; with it gone the pod may go too.
    assert cloud.call("deletePod", id=pod["id"])["success"] == "true"


def test_endip_defaults_to_startip(cloud: Cloud) -> None:
    pod = cloud.pod(_zone(cloud))
    created = _create(cloud, pod, startip="172.16.0.10")
    assert created["startip"] == created["endip"] == "172.16.0.10"
    assert "vlan" not in created


def test_a_pod_with_a_storage_range_is_not_deletable(cloud: Cloud) -> None:
    pod = cloud.pod(_zone(cloud))
    _create(cloud, pod, startip="172.16.0.10")
    code, text = cloud.error("deletePod", id=pod["id"])
    assert code == 530 and "storage network IP ranges" in text


def test_zone_must_carry_storage_traffic(cloud: Cloud) -> None:
    """REQ-OM-14 / A-04: the range is the IP configuration of Storage traffic, so the
    pod's zone needs a physical network carrying it."""
    pod = cloud.pod(_zone(cloud, storage=False))
    text = _refused(
        cloud, "createStorageNetworkIpRange", podid=pod["id"], startip="172.16.0.10", **STORAGE
    )
    assert "Storage traffic" in text
    assert cloud.call("listStorageNetworkIpRange") == {}


def test_range_lies_in_its_subnet_without_the_gateway(cloud: Cloud) -> None:
    pod = cloud.pod(_zone(cloud))
    base = {"podid": pod["id"], **STORAGE}
    command = "createStorageNetworkIpRange"
    assert "subnet" in _refused(cloud, command, **base, startip="172.16.0.10", endip="172.16.1.5")
    assert "gateway" in _refused(cloud, command, **base, startip="172.16.0.1", endip="172.16.0.9")
    assert "endip" in _refused(cloud, command, **base, startip="172.16.0.9", endip="172.16.0.2")
    bad_mask = {"gateway": "172.16.0.1", "netmask": "255.0.255.0"}
    text = _refused(cloud, command, podid=pod["id"], startip="172.16.0.10", **bad_mask)
    assert "netmask" in text
    unknown = "e3b0c442-98fc-1c14-9afb-f4c8996fb924"
    text = _refused(cloud, command, podid=unknown, startip="172.16.0.10", **STORAGE)
    assert "podid" in text


def test_req_om_18_storage_range_never_overlaps_a_pods_reserved_range(cloud: Cloud) -> None:
    """REQ-OM-18: reserved addresses are unique across the whole cloud — a storage
    range overlapping any pod's reserved system range, in any zone, is refused."""
    here, there = _zone(cloud, "a"), _zone(cloud, "b")
    pod = cloud.pod(here, "p", gateway="192.168.10.1")
    cloud.pod(there, "q", gateway="10.9.0.1", startip="10.9.0.10", endip="10.9.0.20")
    storage = {"gateway": "10.9.0.1", "netmask": "255.255.255.0"}
    clash = {"startip": "10.9.0.20", "endip": "10.9.0.30", **storage}
    text = _refused(cloud, "createStorageNetworkIpRange", podid=pod["id"], **clash)
    assert "pod q" in text and "unique across the cloud" in text
    created = _create(cloud, pod, startip="10.9.0.21", endip="10.9.0.30", **storage)
    assert created["startip"] == "10.9.0.21"


def test_req_om_18_storage_ranges_never_overlap_each_other(cloud: Cloud) -> None:
    """REQ-OM-18: two storage ranges, even of pods in different zones, never share an
    address (4.1 checked only the same pod)."""
    here, there = _zone(cloud, "a"), _zone(cloud, "b")
    first = cloud.pod(here, "p", gateway="192.168.10.1")
    second = cloud.pod(
        there, "q", gateway="192.168.20.1", startip="192.168.20.10", endip="192.168.20.20"
    )
    _create(cloud, first, startip="172.16.0.10", endip="172.16.0.20")
    for pod in (first, second):
        clash = {"startip": "172.16.0.20", "endip": "172.16.0.25", **STORAGE}
        text = _refused(cloud, "createStorageNetworkIpRange", podid=pod["id"], **clash)
        assert "172.16.0.10-172.16.0.20" in text
    _create(cloud, second, startip="172.16.0.21", endip="172.16.0.25")
    assert cloud.call("listStorageNetworkIpRange")["count"] == 2


def test_update_is_validated_as_a_new_range_but_not_against_itself(cloud: Cloud) -> None:
    """updateStorageNetworkIpRange: REQ-OM-18 and the subnet rule hold after the
    change; the range's own old addresses do not count as an overlap."""
    pod = cloud.pod(_zone(cloud))
    first = _create(cloud, pod, startip="172.16.0.10", endip="172.16.0.20")
    _create(cloud, pod, startip="172.16.0.30", endip="172.16.0.40")
    grown = cloud.call(
        "updateStorageNetworkIpRange", id=first["id"], startip="172.16.0.5", endip="172.16.0.25"
    )
    assert grown["storagenetworkiprange"]["startip"] == "172.16.0.5"
    text = _refused(cloud, "updateStorageNetworkIpRange", id=first["id"], endip="172.16.0.35")
    assert "172.16.0.30-172.16.0.40" in text
    text = _refused(cloud, "updateStorageNetworkIpRange", id=first["id"], netmask="255.255.255.252")
    assert "subnet" in text
    wider = cloud.call("updateStorageNetworkIpRange", id=first["id"], netmask="255.255.0.0")
    assert wider["storagenetworkiprange"]["netmask"] == "255.255.0.0"
    listed = cloud.call("listStorageNetworkIpRange", id=first["id"])["storagenetworkiprange"]
    assert (listed[0]["startip"], listed[0]["endip"]) == ("172.16.0.5", "172.16.0.25")


def test_vlan_is_a_tag_outside_the_guest_vlan_range(cloud: Cloud) -> None:
    pod = cloud.pod(_zone(cloud, vnet="500-599"))
    base = {"podid": pod["id"], "startip": "172.16.0.10", **STORAGE}
    assert "1-4094" in _refused(cloud, "createStorageNetworkIpRange", vlan=4095, **base)
    assert "guest VLAN range" in _refused(cloud, "createStorageNetworkIpRange", vlan=550, **base)
    assert _create(cloud, pod, startip="172.16.0.10", vlan=600)["vlan"] == 600


def test_list_filters_id_then_pod_then_zone(cloud: Cloud) -> None:
    """listStorageNetworkIpRange: as 4.1, the range id wins over podid, podid over
    zoneid."""
    here, there = _zone(cloud, "a"), _zone(cloud, "b")
    p1 = cloud.pod(here, "p1", gateway="192.168.10.1")
    p2 = cloud.pod(
        here, "p2", gateway="192.168.20.1", startip="192.168.20.10", endip="192.168.20.20"
    )
    q = cloud.pod(
        there, "q", gateway="192.168.30.1", startip="192.168.30.10", endip="192.168.30.20"
    )
    r1 = _create(cloud, p1, startip="172.16.0.10")
    r2 = _create(cloud, p2, startip="172.16.0.11")
    r3 = _create(cloud, q, startip="172.16.0.12")

    def ids(**params: Any) -> list[str]:
        answer = cloud.call("listStorageNetworkIpRange", **params)
        return [row["id"] for row in answer.get("storagenetworkiprange", [])]

    assert ids() == [r1["id"], r2["id"], r3["id"]]
    assert ids(zoneid=here["id"]) == [r1["id"], r2["id"]]
    assert ids(podid=p2["id"], zoneid=there["id"]) == [r2["id"]]
    assert ids(id=r3["id"], podid=p1["id"]) == [r3["id"]]
    assert ids(keyword="172.16.0.12") == [r3["id"]]
    assert cloud.call("listStorageNetworkIpRange", page=2, pagesize=2)["count"] == 3
    assert "id" in _refused(cloud, "listStorageNetworkIpRange", id=p1["id"])


def test_changes_are_recorded_as_events(cloud: Cloud, runtime: Runtime) -> None:
    pod = cloud.pod(_zone(cloud))
    created = _create(cloud, pod, startip="172.16.0.10")
    cloud.call("updateStorageNetworkIpRange", id=created["id"], endip="172.16.0.11")
    cloud.call("deleteStorageNetworkIpRange", id=created["id"])
    with runtime.sessions() as session:
        recorded = session.scalars(
            select(Event.type).where(Event.type.like("STORAGE.IP.RANGE.%")).order_by(Event.id)
        ).all()
    assert list(recorded) == [
        "STORAGE.IP.RANGE.CREATE",
        "STORAGE.IP.RANGE.UPDATE",
        "STORAGE.IP.RANGE.DELETE",
    ]


def test_storage_network_commands_are_432_for_non_admins(cloud: Cloud, runtime: Runtime) -> None:
    pod = cloud.pod(_zone(cloud))
    created = _create(cloud, pod, startip="172.16.0.10")
    for account_type, name in ((0, "user"), (2, "domadmin")):
        other = cloud.as_(make_caller(runtime, name, account_type))
        new = {"podid": pod["id"], "startip": "172.16.0.20", **STORAGE}
        for command, params in (
            ("createStorageNetworkIpRange", new),
            ("updateStorageNetworkIpRange", {"id": created["id"], "endip": "172.16.0.12"}),
            ("deleteStorageNetworkIpRange", {"id": created["id"]}),
            ("listStorageNetworkIpRange", {}),
        ):
            assert other.error(command, **params)[0] == 432, (name, command)
    assert cloud.call("listStorageNetworkIpRange")["storagenetworkiprange"] == [created]


def test_list_costs_one_query_per_page(cloud: Cloud, runtime: Runtime) -> None:
    """DESIGN §3: the statements of a list page do not grow with its rows."""
    pod = cloud.pod(_zone(cloud))
    _create(cloud, pod, startip="172.16.0.2")
    cloud.call("listStorageNetworkIpRange")  # warm the caller's cached authentication
    one = _count(runtime, lambda: cloud.call("listStorageNetworkIpRange"))
    for i in range(3, 13):
        _create(cloud, pod, startip=f"172.16.0.{i}")
    assert _count(runtime, lambda: cloud.call("listStorageNetworkIpRange")) == one
    assert one <= 3
