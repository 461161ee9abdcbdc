"""A VM's NICs on guest networks, deployed over the real API: in a basic zone the NIC
keeps its address of the pod's guest range and now belongs to the zone's shared network
(REQ-GN-17); in an advanced zone NICs go on the networks asked for (the first is the
default, REQ-GN-09), with guest addresses of each network's CIDR or range, MACs unique
in the zone, and the addresses asked for (``ipaddress``, ``iptonetworklist``);
``guest.vlan.bits`` bounds the VLANs a network may get (REQ-NU-05)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import falcon.testing
import pytest
from network_world import ISOLATED, Cloud, Keys, advanced_zone, deploy_args, make_user, offering_id
from sqlalchemy import select

from cumulo.compute.models import Nic, VirtualMachine
from cumulo.demo import ensure_demo_zone
from cumulo.infra.models import VnetAllocation
from cumulo.network.networks.models import Network
from cumulo.runtime import Runtime

pytest.importorskip("cumulo_simulator")
pytest.importorskip("cumulo_vr")


@pytest.fixture
def cloud(runtime: Runtime, api: falcon.testing.TestClient) -> Cloud:
    return Cloud(runtime, api)


@pytest.fixture
def alice(runtime: Runtime) -> Keys:
    return make_user(runtime, "alice")


@pytest.fixture
def bob(runtime: Runtime) -> Keys:
    return make_user(runtime, "bob")


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CUMULO_SIMULATOR_STATE", str(tmp_path / "simulator.sqlite"))
    return tmp_path


def _network(cloud: Cloud, keys: Keys, zone: str, name: str, **params: Any) -> dict[str, Any]:
    created = cloud.call(
        keys, "createNetwork", name=name, displaytext=name, zoneid=zone,
        networkofferingid=offering_id(cloud, keys, ISOLATED), **params,
    )  # fmt: skip
    return dict(created["network"])


def test_basic_zone_nics_join_the_zones_shared_network(
    runtime: Runtime, cloud: Cloud, alice: Keys, state: Path
) -> None:
    """REQ-GN-17: one zone-wide shared network; addresses from the pod's guest range."""
    zone = ensure_demo_zone(runtime, state / "data").zone_uuid
    args = deploy_args(cloud, alice, zone)
    vm = cloud.ok(alice, "deployVirtualMachine", **args)["virtualmachine"]
    (nic,) = vm["nic"]
    assert nic["ipaddress"].startswith("192.168.100.") and nic["isdefault"] is True
    (network,) = cloud.call(alice, "listNetworks", zoneid=zone)["network"]
    assert network["type"] == "Shared" and network["acltype"] == "Domain"
    assert network["state"] == "Setup" and network["subdomainaccess"] is True
    assert network["networkofferingname"] == "DefaultSharedNetworkOfferingWithSGService"
    with runtime.sessions() as session:
        row = session.scalars(
            select(Nic).join(VirtualMachine).where(VirtualMachine.uuid == vm["id"])
        ).one()
        assert session.get_one(Network, row.network_id).uuid == network["id"]
    refused = cloud.fail(alice, "deployVirtualMachine", **args, networkids=network["id"])
    assert refused["errorcode"] == 431 and "Basic zone" in refused["errortext"]
    second = cloud.ok(alice, "deployVirtualMachine", **args)["virtualmachine"]
    assert second["nic"][0]["ipaddress"] != nic["ipaddress"]


def test_advanced_zone_nics_on_the_networks_asked_for(
    runtime: Runtime, cloud: Cloud, alice: Keys, state: Path
) -> None:
    """REQ-GN-08/09: networks fixed at creation, the first one the default."""
    zone = advanced_zone(runtime, state / "data")
    front = _network(cloud, alice, zone, "front")
    back = _network(cloud, alice, zone, "back", gateway="192.168.50.1", netmask="255.255.255.0")
    args = deploy_args(cloud, alice, zone)
    vm = cloud.ok(
        alice, "deployVirtualMachine", **args, networkids=f"{front['id']},{back['id']}",
        ipaddress="10.1.1.42",
    )["virtualmachine"]  # fmt: skip
    first, second = vm["nic"]
    assert first["ipaddress"] == "10.1.1.42" and first["isdefault"] is True
    assert second["ipaddress"].startswith("192.168.50.") and second["isdefault"] is False
    assert second["ipaddress"] != "192.168.50.1"  # the router's
    taken = cloud.fail(alice, "deployVirtualMachine", **args, networkids=front["id"],
                       ipaddress="10.1.1.42")  # fmt: skip
    assert taken["errorcode"] == 431 and "ipaddress" in taken["errortext"]
    outside = cloud.fail(alice, "deployVirtualMachine", **args, networkids=front["id"],
                         ipaddress="10.9.9.9")  # fmt: skip
    assert outside["errorcode"] == 431 and "ipaddress" in outside["errortext"]
    mapped = cloud.ok(
        alice, "deployVirtualMachine", **args,
        **{"iptonetworklist[0].networkid": back["id"], "iptonetworklist[0].ip": "192.168.50.77"},
    )["virtualmachine"]  # fmt: skip
    assert [n["ipaddress"] for n in mapped["nic"]] == ["192.168.50.77"]
    with runtime.sessions() as session:
        macs = session.scalars(select(Nic.mac_address).where(Nic.removed.is_(None))).all()
    assert len(macs) == len(set(macs))


def test_a_tenant_cannot_deploy_into_another_tenants_network(
    runtime: Runtime, cloud: Cloud, alice: Keys, bob: Keys, state: Path
) -> None:
    zone = advanced_zone(runtime, state / "data")
    network = _network(cloud, alice, zone, "private")
    refused = cloud.fail(
        bob, "deployVirtualMachine", **deploy_args(cloud, bob, zone), networkids=network["id"]
    )
    assert refused["errorcode"] == 531 and "networkids" in refused["errortext"]
    with runtime.sessions() as session:
        assert session.scalars(select(Nic.id)).all() == []


def test_guest_vlan_bits_bound_the_vlans_a_network_gets(
    runtime: Runtime, cloud: Cloud, admin_keys: Keys, alice: Keys, state: Path
) -> None:
    """REQ-NU-05: 6 bits allow VLAN ids up to 63; the zone's range is 100-199."""
    zone = advanced_zone(runtime, state / "data")
    network = _network(cloud, alice, zone, "n")
    cloud.call(admin_keys, "updateConfiguration", name="guest.vlan.bits", value="6")
    failed = cloud.fail(
        admin_keys, "deployVirtualMachine", **deploy_args(cloud, admin_keys, zone),
        networkids=_network(cloud, admin_keys, zone, "a")["id"],
    )  # fmt: skip
    assert failed["errorcode"] == 533 and "guest.vlan.bits" in failed["errortext"]
    with runtime.sessions() as session:
        assert (
            session.scalars(
                select(VnetAllocation.id).where(VnetAllocation.taken.is_not(None))
            ).all()
            == []
        )
    listed = cloud.call(alice, "listNetworks", id=network["id"])["network"][0]
    assert listed["state"] == "Allocated" and "broadcasturi" not in listed
    cloud.call(admin_keys, "updateConfiguration", name="guest.vlan.bits", value="12")
    vm = cloud.ok(alice, "deployVirtualMachine", **deploy_args(cloud, alice, zone),
                  networkids=network["id"])["virtualmachine"]  # fmt: skip
    assert vm["state"] == "Running"
