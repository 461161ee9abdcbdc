"""An advanced zone's isolated network over the real API (falcon test client, signed
requests, jobs run by the worker) on the demo's advanced zone of simulated hosts: it is
a database entry until its first VM starts, then gets a guest VLAN and a source-NAT
address, and gives both back once the network garbage collector finds no VM running on
it; a persistent network keeps them (REQ-PN-01, REQ-PN-02, REQ-PN-08, REQ-GN-01)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import falcon.testing
import pytest
from network_world import ISOLATED, Cloud, Keys, advanced_zone, deploy_args, make_user, offering_id
from sqlalchemy import func, select

from cumulo.accounts.models import Account
from cumulo.compute.expunge import expunge_due
from cumulo.infra.models import VnetAllocation
from cumulo.limits.models import ResourceCount
from cumulo.network.networks.gc import collect_networks
from cumulo.runtime import Runtime

pytest.importorskip("cumulo_simulator")
pytest.importorskip("cumulo_vr")


@pytest.fixture
def zone(runtime: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("CUMULO_SIMULATOR_STATE", str(tmp_path / "simulator.sqlite"))
    return advanced_zone(runtime, tmp_path / "data")


@pytest.fixture
def cloud(runtime: Runtime, api: falcon.testing.TestClient) -> Cloud:
    return Cloud(runtime, api)


@pytest.fixture
def alice(runtime: Runtime) -> Keys:
    return make_user(runtime, "alice")


def _network(cloud: Cloud, keys: Keys, network_id: str) -> dict[str, Any]:
    listed = cloud.call(keys, "listNetworks", id=network_id)
    (network,) = listed["network"]
    return dict(network)


def _source_nat(cloud: Cloud, keys: Keys, network_id: str) -> list[dict[str, Any]]:
    listed = cloud.call(
        keys, "listPublicIpAddresses", associatednetworkid=network_id, issourcenat=True
    )
    return list(listed.get("publicipaddress", []))


def _taken_vlans(runtime: Runtime) -> set[str]:
    with runtime.sessions() as session:
        return set(
            session.scalars(select(VnetAllocation.vnet).where(VnetAllocation.taken.is_not(None)))
        )


def _gc(runtime: Runtime, cloud: Cloud, admin: Keys) -> int:
    cloud.call(admin, "updateConfiguration", name="network.gc.wait", value="0")
    return collect_networks(runtime)


def test_isolated_network_is_implemented_by_its_first_vm_and_collected_after_the_last(
    runtime: Runtime, cloud: Cloud, admin_keys: Keys, alice: Keys, zone: str
) -> None:
    """REQ-PN-01, REQ-PN-08: VLAN and source NAT at the first start, given back by GC."""
    created = cloud.call(
        alice,
        "createNetwork",
        name="web",
        displaytext="web tier",
        networkofferingid=offering_id(cloud, alice, ISOLATED),
        zoneid=zone,
    )["network"]
    assert created["state"] == "Allocated" and created["type"] == "Isolated"
    assert created["cidr"] == "10.1.1.0/24" and created["gateway"] == "10.1.1.1"
    assert "broadcasturi" not in created and created["account"] == "alice"
    assert created["networkdomain"].endswith("cloud.internal")
    assert _source_nat(cloud, alice, created["id"]) == []
    assert _taken_vlans(runtime) == set()

    vm = cloud.ok(
        alice, "deployVirtualMachine", **deploy_args(cloud, alice, zone),
        networkids=created["id"], name="web-1",
    )["virtualmachine"]  # fmt: skip
    assert vm["state"] == "Running"
    (nic,) = vm["nic"]
    assert nic["ipaddress"].startswith("10.1.1.") and nic["ipaddress"] != "10.1.1.1"
    assert nic["gateway"] == "10.1.1.1" and nic["netmask"] == "255.255.255.0"
    implemented = _network(cloud, alice, created["id"])
    assert implemented["state"] == "Implemented"
    (vlan,) = _taken_vlans(runtime)
    assert implemented["broadcasturi"] == f"vlan://{vlan}" and 100 <= int(vlan) <= 199
    assert "vlan" not in implemented  # the VLAN id is the root admin's to see
    assert _network(cloud, admin_keys, created["id"])["vlan"] == vlan
    (snat,) = _source_nat(cloud, alice, created["id"])
    assert snat["ipaddress"].startswith("203.0.113.") and snat["state"] == "Allocated"
    assert nic["broadcasturi"] == f"vlan://{vlan}"

    # A GC round while the VM runs changes nothing.
    assert _gc(runtime, cloud, admin_keys) == 0
    assert _network(cloud, alice, created["id"])["state"] == "Implemented"

    cloud.ok(alice, "stopVirtualMachine", id=vm["id"])
    assert _gc(runtime, cloud, admin_keys) == 1
    collected = _network(cloud, alice, created["id"])
    assert collected["state"] == "Allocated" and "broadcasturi" not in collected
    assert _source_nat(cloud, alice, created["id"]) == []
    assert _taken_vlans(runtime) == set()

    # The next start implements it again.
    cloud.ok(alice, "startVirtualMachine", id=vm["id"])
    again = _network(cloud, alice, created["id"])
    assert again["state"] == "Implemented" and again["broadcasturi"].startswith("vlan://")
    assert len(_source_nat(cloud, alice, created["id"])) == 1


def test_persistent_network_is_implemented_at_once_and_never_collected(
    runtime: Runtime, cloud: Cloud, admin_keys: Keys, alice: Keys, zone: str
) -> None:
    """REQ-PN-02, REQ-PN-08: a persistent offering's network is up without any VM."""
    services = "Dhcp,Dns,UserData,SourceNat,StaticNat,PortForwarding,Firewall,Lb,Vpn"
    providers = {f"serviceproviderlist[{i}].service": s for i, s in enumerate(services.split(","))}
    providers.update(
        {f"serviceproviderlist[{i}].provider": "VirtualRouter" for i in range(len(providers))}
    )
    offering = cloud.call(
        admin_keys,
        "createNetworkOffering",
        name="persistent",
        displaytext="persistent isolated",
        guestiptype="Isolated",
        traffictype="GUEST",
        supportedservices=services,
        ispersistent=True,
        **providers,
    )["networkoffering"]
    cloud.call(admin_keys, "updateNetworkOffering", id=offering["id"], state="Enabled")
    created = cloud.call(
        alice, "createNetwork", name="db", displaytext="db tier",
        networkofferingid=offering["id"], zoneid=zone,
    )["network"]  # fmt: skip
    assert created["state"] == "Implemented" and created["ispersistent"] is True
    assert created["broadcasturi"].startswith("vlan://")
    assert len(_source_nat(cloud, alice, created["id"])) == 1
    assert _gc(runtime, cloud, admin_keys) == 0
    assert _network(cloud, alice, created["id"])["state"] == "Implemented"


def test_a_vm_without_networks_gets_the_accounts_default_isolated_network(
    runtime: Runtime, cloud: Cloud, alice: Keys, zone: str
) -> None:
    """4.1 createAdvancedVirtualMachine: the Required offering's network is created once."""
    args = deploy_args(cloud, alice, zone)
    first = cloud.ok(alice, "deployVirtualMachine", **args)["virtualmachine"]
    second = cloud.ok(alice, "deployVirtualMachine", **args)["virtualmachine"]
    listed = cloud.call(alice, "listNetworks")["network"]
    (network,) = listed
    assert (
        network["name"] == "alice-network" and network["networkofferingavailability"] == "Required"
    )
    addresses = {first["nic"][0]["ipaddress"], second["nic"][0]["ipaddress"]}
    assert len(addresses) == 2 and all(a.startswith("10.1.1.") for a in addresses)
    macs = {first["nic"][0]["macaddress"], second["nic"][0]["macaddress"]}
    assert len(macs) == 2


def test_delete_is_refused_while_vms_use_the_network_and_then_frees_everything(
    runtime: Runtime, cloud: Cloud, admin_keys: Keys, alice: Keys, zone: str
) -> None:
    created = cloud.call(
        alice, "createNetwork", name="tmp", displaytext="tmp",
        networkofferingid=offering_id(cloud, alice, ISOLATED), zoneid=zone,
    )["network"]  # fmt: skip
    vm = cloud.ok(
        alice, "deployVirtualMachine", **deploy_args(cloud, alice, zone), networkids=created["id"]
    )["virtualmachine"]
    extra = cloud.ok(alice, "associateIpAddress", networkid=created["id"])["ipaddress"]
    refused = cloud.fail(alice, "deleteNetwork", id=created["id"])
    assert refused["errorcode"] == 431 and "virtual machine" in refused["errortext"]

    cloud.ok(alice, "destroyVirtualMachine", id=vm["id"])
    cloud.call(admin_keys, "updateConfiguration", name="expunge.delay", value="0")
    assert expunge_due(runtime) == 1
    assert cloud.ok(alice, "deleteNetwork", id=created["id"]) == {"success": True}
    assert cloud.call(alice, "listNetworks") == {}
    assert _taken_vlans(runtime) == set()
    assert cloud.call(alice, "listPublicIpAddresses") == {}
    assert extra["ipaddress"].startswith("203.0.113.")
    assert _counts(runtime, "alice").get("public_ip") == 0
    assert _counts(runtime, "alice").get("network") == 0


def _counts(runtime: Runtime, account: str) -> dict[str, int]:
    with runtime.sessions() as session:
        rows = session.execute(
            select(ResourceCount.type, ResourceCount.count)
            .join(Account, Account.id == ResourceCount.account_id)
            .where(Account.account_name == account)
        ).all()
    return {kind: count for kind, count in rows}


def test_restart_with_cleanup_implements_again(
    runtime: Runtime, cloud: Cloud, alice: Keys, zone: str
) -> None:
    created = cloud.call(
        alice, "createNetwork", name="r", displaytext="r",
        networkofferingid=offering_id(cloud, alice, ISOLATED), zoneid=zone,
    )["network"]  # fmt: skip
    refused = cloud.fail(alice, "restartNetwork", id=created["id"])
    assert refused["errorcode"] == 431 and "Implemented, Setup" in refused["errortext"]
    cloud.ok(
        alice, "deployVirtualMachine", **deploy_args(cloud, alice, zone), networkids=created["id"]
    )
    before = _network(cloud, alice, created["id"])
    assert cloud.ok(alice, "restartNetwork", id=created["id"], cleanup=True) == {"success": True}
    after = _network(cloud, alice, created["id"])
    assert after["state"] == "Implemented" and after["broadcasturi"] == before["broadcasturi"]
    assert after["restartrequired"] is False
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(VnetAllocation).where(
            VnetAllocation.taken.is_not(None))) == 1  # fmt: skip
