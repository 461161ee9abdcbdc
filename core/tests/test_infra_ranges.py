"""VLAN IP ranges over the API (REQ-ZONE-07, REQ-ZONE-08, REQ-OM-15)."""

from __future__ import annotations

from typing import Any

import falcon.testing
import pytest
from sqlalchemy import func, select
from test_infra_zones import Cloud, Keys

from cumulo.infra.models import UserIpAddress
from cumulo.runtime import Runtime


@pytest.fixture
def cloud(api: falcon.testing.TestClient, runtime: Runtime, admin_keys: Keys) -> Cloud:
    return Cloud(api, runtime, admin_keys)


def _advanced(cloud: Cloud, name: str = "adv") -> Any:
    zone = cloud.zone(name, "Advanced")
    network = cloud.call(
        "createPhysicalNetwork", zoneid=zone["id"], name=f"{name}-pn", vlan="500-599"
    )["physicalnetwork"]
    cloud.call("addTrafficType", physicalnetworkid=network["id"], traffictype="Public")
    cloud.call("addTrafficType", physicalnetworkid=network["id"], traffictype="Guest")
    return zone


def _addresses(runtime: Runtime) -> int:
    with runtime.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(UserIpAddress)) or 0)


def test_public_range_creates_one_row_per_address(cloud: Cloud, runtime: Runtime) -> None:
    zone = _advanced(cloud)
    created = cloud.call(
        "createVlanIpRange",
        zoneid=zone["id"],
        vlan="50",
        gateway="203.0.113.1",
        netmask="255.255.255.0",
        startip="203.0.113.10",
        endip="203.0.113.29",
        forvirtualnetwork=True,
    )["vlan"]
    assert created["forvirtualnetwork"] is True and created["vlan"] == "50"
    assert (created["startip"], created["endip"]) == ("203.0.113.10", "203.0.113.29")
    assert _addresses(runtime) == 20
    listed = cloud.call("listVlanIpRanges", zoneid=zone["id"])
    assert listed["count"] == 1 and listed["vlan"][0]["id"] == created["id"]
    assert cloud.call("deleteVlanIpRange", id=created["id"])["success"] == "true"
    assert _addresses(runtime) == 0


def test_req_zone_08_public_ranges_of_zones_never_overlap(cloud: Cloud) -> None:
    """REQ-ZONE-08: a public range overlapping another zone's public range is 431."""
    first, second = _advanced(cloud, "a"), _advanced(cloud, "b")
    common = {"gateway": "203.0.113.1", "netmask": "255.255.255.0", "vlan": "untagged"}
    cloud.call(
        "createVlanIpRange",
        zoneid=first["id"],
        startip="203.0.113.10",
        endip="203.0.113.20",
        **common,
    )
    code, text = cloud.error(
        "createVlanIpRange",
        zoneid=second["id"],
        startip="203.0.113.20",
        endip="203.0.113.30",
        **common,
    )
    assert code == 431 and "another zone" in text
    cloud.call(
        "createVlanIpRange",
        zoneid=second["id"],
        startip="203.0.113.21",
        endip="203.0.113.30",
        **common,
    )


def test_public_vlan_outside_guest_vlan_range(cloud: Cloud) -> None:
    zone = _advanced(cloud)
    code, text = cloud.error(
        "createVlanIpRange",
        zoneid=zone["id"],
        vlan="550",
        gateway="203.0.113.1",
        netmask="255.255.255.0",
        startip="203.0.113.10",
        endip="203.0.113.20",
    )
    assert code == 431 and "guest VLAN range" in text


def test_req_zone_07_basic_guest_range_inside_pod_cidr(cloud: Cloud) -> None:
    """REQ-ZONE-07 / REQ-OM-15: with one NIC a basic zone's guest range is a per-pod
    range inside the pod's subnet."""
    zone = cloud.zone("basic", "Basic")
    network = cloud.call("createPhysicalNetwork", zoneid=zone["id"], name="pn")["physicalnetwork"]
    for kind in ("Management", "Guest"):
        cloud.call("addTrafficType", physicalnetworkid=network["id"], traffictype=kind)
    pod = cloud.pod(zone, gateway="192.168.10.1", startip="192.168.10.2", endip="192.168.10.9")
    code, text = cloud.error(
        "createVlanIpRange",
        zoneid=zone["id"],
        podid=pod["id"],
        forvirtualnetwork=False,
        gateway="172.16.0.1",
        netmask="255.255.255.0",
        startip="172.16.0.10",
        endip="172.16.0.50",
    )
    assert code == 431 and "subnet" in text
    code, text = cloud.error(
        "createVlanIpRange",
        zoneid=zone["id"],
        forvirtualnetwork=False,
        gateway="192.168.10.1",
        netmask="255.255.255.0",
        startip="192.168.10.100",
    )
    assert code == 431 and "podid" in text
    code, text = cloud.error(
        "createVlanIpRange",
        zoneid=zone["id"],
        podid=pod["id"],
        forvirtualnetwork=False,
        gateway="192.168.10.1",
        netmask="255.255.255.0",
        startip="192.168.10.5",
        endip="192.168.10.50",
    )
    assert code == 431 and "reserved system range" in text
    guest = cloud.call(
        "createVlanIpRange",
        zoneid=zone["id"],
        podid=pod["id"],
        forvirtualnetwork=False,
        gateway="192.168.10.1",
        netmask="255.255.255.0",
        startip="192.168.10.100",
        endip="192.168.10.199",
    )["vlan"]
    assert guest["forvirtualnetwork"] is False and guest["podid"] == pod["id"]
    assert guest["podname"] == pod["name"]
    code, text = cloud.error("deletePod", id=pod["id"])
    assert code == 530 and "guest IP ranges" in text


def test_advanced_direct_range_needs_a_network(cloud: Cloud) -> None:
    zone = _advanced(cloud)
    code, text = cloud.error(
        "createVlanIpRange",
        zoneid=zone["id"],
        forvirtualnetwork=False,
        gateway="10.9.0.1",
        netmask="255.255.255.0",
        startip="10.9.0.10",
    )
    assert code == 431 and "networkid" in text
    code, text = cloud.error(
        "createVlanIpRange",
        zoneid=zone["id"],
        startipv6="fc00::1",
        gateway="10.9.0.1",
        netmask="255.255.255.0",
        startip="10.9.0.10",
    )
    assert code == 431 and "startipv6" in text
