"""Both Add Zone wizards of the seed through the API (REQUIREMENTS §13.4, §13.5;
REQ-ZONE-04, REQ-OM-12), setting every field the seed names, in the seed's order.

The zone, physical network, traffic type/label, provider, pod and IP range steps always
run. The cluster, host and primary/secondary storage steps belong to other commands
(addCluster, addHost, createStoragePool, addSecondaryStorage): each runs when its
command is registered, and only those remaining steps are skipped otherwise.
"""

from __future__ import annotations

import json
from typing import Any

import falcon.testing
import pytest

from cumulo.runtime import Runtime
from cumulo_api.registry import CommandRegistry
from cumulo_api.testing import signed_request
from cumulo_api.worker import run_pending

Keys = tuple[str, str]
LATER_STEPS = ("addCluster", "addHost", "createStoragePool", "addSecondaryStorage")


class Wizard:
    """What the UI's wizard sends, as the root admin; async jobs run at once."""

    def __init__(self, api: falcon.testing.TestClient, runtime: Runtime, keys: Keys) -> None:
        self.api, self.runtime, self.keys = api, runtime, keys
        self.registry = CommandRegistry.build(runtime.pm)

    def __call__(self, command: str, **params: Any) -> Any:
        result = signed_request(self.api, self.keys, command, **params)
        assert result.status_code == 200, f"{command}: {result.text}"
        (body,) = json.loads(result.content).values()
        if "jobid" not in body or command == "queryAsyncJobResult":
            return body
        run_pending(self.runtime, self.registry)
        job = self("queryAsyncJobResult", jobid=body["jobid"])
        assert job["jobstatus"] == 1, f"{command}: {job}"
        return job["jobresult"]

    def labels(self, network: dict[str, Any], labels: dict[str, str]) -> None:
        """Step "traffic labels": one Edit per traffic type (updateTrafficType)."""
        listed = self("listTrafficTypes", physicalnetworkid=network["id"])["traffictype"]
        for traffic in listed:
            label = labels[traffic["traffictype"]]
            updated = self("updateTrafficType", id=traffic["id"], kvmnetworklabel=label)
            assert updated["traffictype"]["kvmnetworklabel"] == label

    def enable_providers(self, network: dict[str, Any], names: tuple[str, ...]) -> None:
        providers = self("listNetworkServiceProviders", physicalnetworkid=network["id"])
        for provider in providers["networkserviceprovider"]:
            if provider["name"] in names:
                self("updateNetworkServiceProvider", id=provider["id"], state="Enabled")
        enabled = self("updatePhysicalNetwork", id=network["id"], state="Enabled")
        assert enabled["physicalnetwork"]["state"] == "Enabled"

    def missing_later_steps(self) -> list[str]:
        return [name for name in LATER_STEPS if self.registry.get(name) is None]

    def later_steps(self, zone: dict[str, Any], pod: dict[str, Any], prefix: str) -> None:
        """Steps first cluster, first host, first primary and secondary storage."""
        missing = self.missing_later_steps()
        if missing:
            pytest.skip(
                "cluster/host/storage wizard steps wait for their commands: "
                + ", ".join(missing)
                + " (not registered yet)"
            )
        cluster = self(
            "addCluster",
            zoneid=zone["id"],
            podid=pod["id"],
            clustername=f"{prefix}-cluster",
            hypervisor="Simulator",
            clustertype="CloudManaged",
        )["cluster"][0]
        host = self(
            "addHost",
            zoneid=zone["id"],
            podid=pod["id"],
            clusterid=cluster["id"],
            hypervisor="Simulator",
            url="http://sim/c1/h1",
            username="root",
            password="password",
            hosttags="ha",
        )["host"][0]
        assert host["clusterid"] == cluster["id"]
        self(
            "createStoragePool",
            zoneid=zone["id"],
            podid=pod["id"],
            clusterid=cluster["id"],
            name=f"{prefix}-primary",
            url="nfs://10.10.10.10/export/primary",
        )
        self("addSecondaryStorage", zoneid=zone["id"], url="nfs://10.10.10.10/export/secondary")


@pytest.fixture
def wizard(api: falcon.testing.TestClient, runtime: Runtime, admin_keys: Keys) -> Wizard:
    return Wizard(api, runtime, admin_keys)


def test_basic_zone_wizard_with_security_groups(wizard: Wizard) -> None:
    """§13.4: basic zone, DefaultSharedNetworkOfferingWithSGService (security groups
    chosen at creation, REQ-ZONE-02), one physical network (REQ-OM-13) carrying
    management, guest and storage traffic with KVM labels, first pod, guest range in
    the pod's CIDR (REQ-ZONE-07), then the zone is launched (enabled)."""
    # 1. Zone details: name, DNS 1/2, internal DNS 1/2, network domain, public.
    zone = wizard(
        "createZone",
        name="Basic1",
        networktype="Basic",
        dns1="8.8.8.8",
        dns2="8.8.4.4",
        internaldns1="192.168.10.253",
        internaldns2="192.168.10.254",
        domain="basic.example.com",
        securitygroupenabled=True,
        localstorageenabled=False,
        allocationstate="Disabled",
    )["zone"]
    assert zone["securitygroupsenabled"] is True and zone["domain"] == "basic.example.com"
    assert "domainid" not in zone  # public: no domain (REQ-OM-09)
    # 2. Traffic types on the physical network (renamed from the default).
    network = wizard("createPhysicalNetwork", zoneid=zone["id"], name="Basic1-physical")[
        "physicalnetwork"
    ]
    for traffic in ("Management", "Guest", "Storage"):
        wizard("addTrafficType", physicalnetworkid=network["id"], traffictype=traffic)
    # 3. Traffic labels for the first cluster's hypervisor.
    wizard.labels(network, {"Management": "cloudbr0", "Guest": "cloudbr0", "Storage": "cloudbr0"})
    wizard.enable_providers(network, ("VirtualRouter", "SecurityGroupProvider"))
    # 6. First pod: name, reserved system gateway/netmask/start/end.
    pod = wizard(
        "createPod",
        zoneid=zone["id"],
        name="Basic1-pod1",
        gateway="192.168.10.1",
        netmask="255.255.255.0",
        startip="192.168.10.2",
        endip="192.168.10.7",
    )["pod"]
    assert (pod["startip"], pod["endip"]) == ("192.168.10.2", "192.168.10.7")
    # 7. Guest network: gateway, netmask, start, end — one NIC, so inside the pod CIDR.
    guest = wizard(
        "createVlanIpRange",
        zoneid=zone["id"],
        podid=pod["id"],
        forvirtualnetwork=False,
        gateway="192.168.10.1",
        netmask="255.255.255.0",
        startip="192.168.10.100",
        endip="192.168.10.199",
    )["vlan"]
    assert guest["podid"] == pod["id"] and guest["forvirtualnetwork"] is False
    # 8.-11. First cluster, host, primary and secondary storage.
    wizard.later_steps(zone, pod, "Basic1")
    # 12. Launch (with shared primary storage in place, REQ-PS-05).
    launched = wizard("updateZone", id=zone["id"], allocationstate="Enabled")["zone"]
    assert launched["allocationstate"] == "Enabled"


def test_advanced_zone_wizard_with_vlan_and_public_ranges(wizard: Wizard) -> None:
    """§13.5: advanced zone with a guest CIDR, two physical networks (management and
    public on one, guest on the other: REQ-OM-14), labels per traffic type, two public
    IP ranges (REQ-ZONE-08), the first pod and the guest VLAN range, then launch."""
    # 1. Zone details with Guest CIDR.
    zone = wizard(
        "createZone",
        name="Adv1",
        networktype="Advanced",
        dns1="8.8.8.8",
        dns2="8.8.4.4",
        internaldns1="172.16.0.253",
        internaldns2="172.16.0.254",
        guestcidraddress="10.1.1.0/24",
        domain="adv.example.com",
    )["zone"]
    assert zone["guestcidraddress"] == "10.1.1.0/24" and zone["networktype"] == "Advanced"
    # 2. Traffic types over two physical networks.
    first = wizard(
        "createPhysicalNetwork",
        zoneid=zone["id"],
        name="Adv1-mgmt-public",
        isolationmethods="VLAN",
    )["physicalnetwork"]
    second = wizard(
        "createPhysicalNetwork", zoneid=zone["id"], name="Adv1-guest", isolationmethods="VLAN"
    )["physicalnetwork"]
    for traffic in ("Management", "Public"):
        wizard("addTrafficType", physicalnetworkid=first["id"], traffictype=traffic)
    wizard("addTrafficType", physicalnetworkid=second["id"], traffictype="Guest")
    # 3. Traffic labels per traffic type per physical network.
    wizard.labels(first, {"Management": "cloudbr0", "Public": "cloudbr1"})
    wizard.labels(second, {"Guest": "cloudbr2"})
    wizard.enable_providers(first, ("VirtualRouter",))
    wizard.enable_providers(second, ("VirtualRouter",))
    # 4. Public IP ranges: gateway, netmask, VLAN, start, end — repeatable.
    for vlan, start, end in (
        ("100", "203.0.113.10", "203.0.113.50"),
        ("101", "203.0.113.60", "203.0.113.90"),
    ):
        public = wizard(
            "createVlanIpRange",
            zoneid=zone["id"],
            forvirtualnetwork=True,
            vlan=vlan,
            gateway="203.0.113.1",
            netmask="255.255.255.0",
            startip=start,
            endip=end,
        )["vlan"]
        assert public["forvirtualnetwork"] is True and public["physicalnetworkid"] == first["id"]
    # 5. First pod.
    pod = wizard(
        "createPod",
        zoneid=zone["id"],
        name="Adv1-pod1",
        gateway="172.16.0.1",
        netmask="255.255.255.0",
        startip="172.16.0.10",
        endip="172.16.0.30",
    )["pod"]
    # 6. Guest VLAN range of the guest physical network.
    ranged = wizard("updatePhysicalNetwork", id=second["id"], vlan="500-999")
    assert ranged["physicalnetwork"]["vlan"] == "500-999"
    assert wizard("listVlanIpRanges", zoneid=zone["id"])["count"] == 2
    # 7.-10. First cluster, host, primary and secondary storage.
    wizard.later_steps(zone, pod, "Adv1")
    # 11. Launch (with shared primary storage in place, REQ-PS-05).
    assert (
        wizard("updateZone", id=zone["id"], allocationstate="Enabled")["zone"]["allocationstate"]
        == "Enabled"
    )
