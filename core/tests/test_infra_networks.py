"""Physical networks, traffic types and network service providers over the API
(REQ-OM-13, REQ-OM-14, REQ-ZONE-05, REQ-ZONE-06)."""

from __future__ import annotations

import falcon.testing
import pytest
from test_infra_zones import Cloud, Keys

from cumulo.runtime import Runtime


@pytest.fixture
def cloud(api: falcon.testing.TestClient, runtime: Runtime, admin_keys: Keys) -> Cloud:
    return Cloud(api, runtime, admin_keys)


def test_create_physical_network_with_default_providers(cloud: Cloud) -> None:
    zone = cloud.zone("adv", "Advanced", guestcidraddress="10.1.1.0/24")
    network = cloud.call(
        "createPhysicalNetwork",
        zoneid=zone["id"],
        name="pn1",
        vlan="100-199,300-310",
        isolationmethods="VLAN",
        tags="fast",
        networkspeed="10G",
    )["physicalnetwork"]
    assert network["name"] == "pn1" and network["zoneid"] == zone["id"]
    assert network["vlan"] == "100-199,300-310" and network["isolationmethods"] == "VLAN"
    assert network["state"] == "Disabled" and network["broadcastdomainrange"] == "ZONE"
    providers = cloud.call("listNetworkServiceProviders", physicalnetworkid=network["id"])
    names = sorted(p["name"] for p in providers["networkserviceprovider"])
    assert names == ["SecurityGroupProvider", "VirtualRouter", "VpcVirtualRouter"]
    enabled = cloud.call("updatePhysicalNetwork", id=network["id"], state="Enabled")
    assert enabled["physicalnetwork"]["state"] == "Enabled"
    assert cloud.call("listPhysicalNetworks", zoneid=zone["id"])["count"] == 1


def test_vlan_ranges_are_validated(cloud: Cloud) -> None:
    zone = cloud.zone("adv", "Advanced")
    for bad in ("0-10", "200-100", "abc", "10-20,15-30", "4000-5000"):
        code, text = cloud.error("createPhysicalNetwork", zoneid=zone["id"], name="x", vlan=bad)
        assert code == 431 and "vlan" in text, bad
    code, text = cloud.error(
        "createPhysicalNetwork", zoneid=zone["id"], name="x", isolationmethods="VXLAN"
    )
    assert code == 431 and "isolationmethods" in text


def test_req_om_13_basic_zone_has_exactly_one_physical_network(cloud: Cloud) -> None:
    """REQ-OM-13: a second physical network in a basic zone is refused (431)."""
    zone = cloud.zone("basic", "Basic")
    cloud.call("createPhysicalNetwork", zoneid=zone["id"], name="only")
    code, text = cloud.error("createPhysicalNetwork", zoneid=zone["id"], name="second")
    assert code == 431 and "exactly one physical network" in text


def test_req_zone_05_valid_traffic_type_combinations(cloud: Cloud) -> None:
    """REQ-ZONE-05 / REQ-OM-14: a network carries a traffic type once; Management,
    Public and Storage are each carried by one network of the zone; Guest may be on
    several networks of an advanced zone."""
    zone = cloud.zone("adv", "Advanced")
    one = cloud.call("createPhysicalNetwork", zoneid=zone["id"], name="one")["physicalnetwork"]
    two = cloud.call("createPhysicalNetwork", zoneid=zone["id"], name="two")["physicalnetwork"]
    for kind in ("Management", "Public", "Guest"):
        cloud.call("addTrafficType", physicalnetworkid=one["id"], traffictype=kind)
    code, text = cloud.error("addTrafficType", physicalnetworkid=one["id"], traffictype="Guest")
    assert code == 431 and "already carries" in text
    code, text = cloud.error("addTrafficType", physicalnetworkid=two["id"], traffictype="Public")
    assert code == 431 and "another physical network" in text
    cloud.call("addTrafficType", physicalnetworkid=two["id"], traffictype="Guest")
    code, text = cloud.error("addTrafficType", physicalnetworkid=two["id"], traffictype="Control")
    assert code == 431 and "traffictype" in text
    listed = cloud.call("listTrafficTypes", physicalnetworkid=one["id"])
    assert sorted(t["traffictype"] for t in listed["traffictype"]) == [
        "Guest",
        "Management",
        "Public",
    ]


def test_req_zone_06_labels_per_hypervisor(cloud: Cloud) -> None:
    """REQ-ZONE-06: labels are kept per traffic type, physical network and hypervisor;
    setting one hypervisor's label leaves the others."""
    zone = cloud.zone("basic", "Basic")
    network = cloud.call("createPhysicalNetwork", zoneid=zone["id"], name="pn")["physicalnetwork"]
    added = cloud.call(
        "addTrafficType",
        physicalnetworkid=network["id"],
        traffictype="Guest",
        xennetworklabel="xenbr0",
    )["traffictype"]
    assert added["xennetworklabel"] == "xenbr0" and "kvmnetworklabel" not in added
    updated = cloud.call("updateTrafficType", id=added["id"], kvmnetworklabel="cloudbr0")
    assert updated["traffictype"]["xennetworklabel"] == "xenbr0"
    assert updated["traffictype"]["kvmnetworklabel"] == "cloudbr0"
    assert cloud.call("deleteTrafficType", id=added["id"])["success"] is True


def test_providers_and_supported_services(cloud: Cloud) -> None:
    zone = cloud.zone("adv", "Advanced")
    network = cloud.call("createPhysicalNetwork", zoneid=zone["id"], name="pn")["physicalnetwork"]
    added = cloud.call(
        "addNetworkServiceProvider",
        physicalnetworkid=network["id"],
        name="Netscaler",
        servicelist="Lb",
    )["networkserviceprovider"]
    assert added["servicelist"] == ["Lb"] and added["state"] == "Disabled"
    code, text = cloud.error(
        "addNetworkServiceProvider",
        physicalnetworkid=network["id"],
        name="F5BigIp",
        servicelist="Dhcp",
    )
    assert code == 431 and "servicelist" in text
    code, text = cloud.error(
        "addNetworkServiceProvider", physicalnetworkid=network["id"], name="VirtualRouter"
    )
    assert code == 431 and "already exists" in text
    (router,) = cloud.call(
        "listNetworkServiceProviders", physicalnetworkid=network["id"], name="VirtualRouter"
    )["networkserviceprovider"]
    enabled = cloud.call("updateNetworkServiceProvider", id=router["id"], state="Enabled")
    assert enabled["networkserviceprovider"]["state"] == "Enabled"
    assert cloud.call("deleteNetworkServiceProvider", id=added["id"])["success"] is True
    services = cloud.call("listSupportedNetworkServices", service="SecurityGroup")
    assert services["networkservice"][0]["provider"] == [{"name": "SecurityGroupProvider"}]
    implementors = cloud.call("listTrafficTypeImplementors", traffictype="Storage")
    assert implementors["traffictypeimplementorresponse"] == [
        {"traffictype": "Storage", "traffictypeimplementor": "StorageNetworkGuru"}
    ]


def test_delete_physical_network(cloud: Cloud) -> None:
    zone = cloud.zone("adv", "Advanced")
    network = cloud.call("createPhysicalNetwork", zoneid=zone["id"], name="pn")["physicalnetwork"]
    cloud.call("addTrafficType", physicalnetworkid=network["id"], traffictype="Guest")
    assert cloud.call("deletePhysicalNetwork", id=network["id"])["success"] is True
    assert cloud.call("listPhysicalNetworks") == {}
