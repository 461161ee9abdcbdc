"""From the README's run command alone (``cumulo serve --embedded``, which builds the
demo's zones), a new user creates an isolated network in the advanced zone ``Demo
Advanced``, deploys a VM into it, and forwards a port to it — over real HTTP with the
unchanged ``cs`` client (issue 6, "Must show"). The network gets its VLAN and
source-NAT address when the VM starts (REQ-PN-01); the router's configuration lands
where the simulated host keeps it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from cs import CloudStack
from test_vm_clients import Cloud, embedded_cloud

pytest.importorskip("cumulo_simulator")
pytest.importorskip("cumulo_vr")

ADVANCED = "Demo Advanced"


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    with embedded_cloud(tmp_path_factory.mktemp("network-served")) as running:
        yield running


def _zone(cs: CloudStack) -> dict[str, Any]:
    (zone,) = [z for z in cs.listZones()["zone"] if z["name"] == ADVANCED]
    return dict(zone)


def test_a_new_user_networks_deploys_and_forwards_a_port(cloud: Cloud) -> None:
    """The README's walkthrough, as a tenant with its own keys."""
    cs = cloud.cs(cloud.tenant("walk"))
    zone = _zone(cs)
    assert zone["networktype"] == "Advanced"
    (offering,) = cs.listNetworkOfferings(
        name="DefaultIsolatedNetworkOfferingWithSourceNatService"
    )["networkoffering"]
    network = cs.createNetwork(
        name="web", displaytext="web tier", zoneid=zone["id"], networkofferingid=offering["id"]
    )["network"]
    assert network["state"] == "Allocated" and network["zonename"] == ADVANCED

    (template,) = cs.listTemplates(templatefilter="executable", zoneid=zone["id"])["template"]
    small = next(
        o for o in cs.listServiceOfferings()["serviceoffering"] if o["name"] == "Small Instance"
    )
    vm = cs.deployVirtualMachine(
        zoneid=zone["id"], templateid=template["id"], serviceofferingid=small["id"],
        networkids=network["id"], name="web-1", fetch_result=True,
    )["virtualmachine"]  # fmt: skip
    assert vm["state"] == "Running"
    (nic,) = vm["nic"]
    assert nic["ipaddress"].startswith("10.1.1.")

    (implemented,) = cs.listNetworks(id=network["id"])["network"]
    assert implemented["state"] == "Implemented"
    assert implemented["broadcasturi"].startswith("vlan://")
    (snat,) = cs.listPublicIpAddresses(associatednetworkid=network["id"], issourcenat="true")[
        "publicipaddress"
    ]
    assert snat["ipaddress"].startswith("203.0.113.")

    ip = cs.associateIpAddress(networkid=network["id"], fetch_result=True)["ipaddress"]
    rule = cs.createPortForwardingRule(
        ipaddressid=ip["id"], protocol="tcp", publicport=2222, privateport=22,
        virtualmachineid=vm["id"], fetch_result=True,
    )["portforwardingrule"]  # fmt: skip
    assert rule["ipaddress"] == ip["ipaddress"] and rule["virtualmachineid"] == vm["id"]
    listed = cs.listPortForwardingRules(ipaddressid=ip["id"])["portforwardingrule"]
    assert [r["id"] for r in listed] == [rule["id"]]
    assert {r["state"] for r in listed} == {"Active"}
