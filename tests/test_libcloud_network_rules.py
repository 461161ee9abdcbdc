"""Unchanged Apache Libcloud (``CloudStackNodeDriver``) manages network rules on
``cumulo serve --embedded`` over real HTTP (issue 6, "Must show"): port forwarding,
firewall and egress firewall rules, security groups, and ``list_nodes`` (which reads
port forwarding and IP forwarding rules with every VM).

The driver runs as a tenant with its own keys. Its isolated network, public addresses
and VM are put in place through the server's own database (creating networks,
allocating addresses and deploying into networks are the network and IPAM areas' tests):
the network is ``Allocated``, not implemented yet, so, as in 4.1, the rules are stored
and become ``Active`` at once, to be applied when its first VM starts. Each call's
effect is checked through the API with ``cs``, not through Libcloud's own view.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from cs import CloudStack
from sqlalchemy import select
from test_vm_clients import Cloud, embedded_cloud

from cumulo.accounts.models import Account
from cumulo.compute.models import Nic, VirtualMachine
from cumulo.infra.models import IpState, UserIpAddress, VlanIpRange, VlanType, Zone
from cumulo.network.networks.models import Network, NetworkServiceMap
from cumulo.network.offerings.models import NetworkOffering, NetworkOfferingService
from cumulo.runtime import Runtime

OFFERING = "DefaultIsolatedNetworkOfferingWithSourceNatService"


@dataclass(frozen=True)
class World:
    """The tenant's driver and ``cs`` client, its network, addresses and VM."""

    driver: Any
    cs: CloudStack
    network: str
    addresses: dict[str, str]
    vm: str


def _world(conf: Any, account_name: str) -> tuple[str, dict[str, str], str]:
    """An advanced zone, the tenant's isolated network (``Allocated``), three public
    addresses associated with it and a VM with a NIC on it."""
    runtime = Runtime.from_conf(conf)
    try:
        with runtime.sessions.begin() as session:
            account = session.scalars(
                select(Account).where(Account.account_name == account_name)
            ).one()
            zone = Zone(name="Advanced", dns1="8.8.8.8", internal_dns1="10.0.0.2",
                        networktype="Advanced", guest_network_cidr="10.1.1.0/24")  # fmt: skip
            session.add(zone)
            session.flush()
            offering = session.scalars(
                select(NetworkOffering).where(NetworkOffering.unique_name == OFFERING)
            ).one()
            network = Network(
                name="lc-net", display_text="libcloud", traffic_type="Guest",
                broadcast_domain_type="Vlan", gateway="10.1.1.1", cidr="10.1.1.0/24",
                mode="Dhcp", network_offering_id=offering.id, data_center_id=zone.id,
                guru_name="ExternalGuestNetworkGuru", state="Allocated",
                domain_id=account.domain_id, account_id=account.id, acl_type="Account",
                guest_type="Isolated",
            )  # fmt: skip
            session.add(network)
            session.flush()
            for service, provider in session.execute(
                select(NetworkOfferingService.service, NetworkOfferingService.provider).where(
                    NetworkOfferingService.network_offering_id == offering.id
                )
            ):
                session.add(
                    NetworkServiceMap(network_id=network.id, service=service, provider=provider)
                )
            vlan = VlanIpRange(
                vlan_id="untagged", vlan_gateway="203.0.113.1", vlan_netmask="255.255.255.0",
                vlan_type=VlanType.VIRTUAL_NETWORK.value, data_center_id=zone.id,
                description="203.0.113.10-203.0.113.12",
            )  # fmt: skip
            session.add(vlan)
            session.flush()
            addresses = {}
            for index in range(3):
                ip = UserIpAddress(
                    public_ip_address=f"203.0.113.{10 + index}", ip_num=10 + index,
                    data_center_id=zone.id, vlan_db_id=vlan.id, state=IpState.ALLOCATED.value,
                    account_id=account.id, domain_id=account.domain_id,
                    associated_with_network_id=network.id, source_nat=index == 0,
                )  # fmt: skip
                session.add(ip)
                session.flush()
                addresses[ip.public_ip_address] = ip.uuid
            vm = VirtualMachine(
                name="lc-web", instance_name=f"i-{account.id}-lc-web-VM", display_name="lc-web",
                account_id=account.id, domain_id=account.domain_id, service_offering_id=1,
                data_center_id=zone.id, vnc_password="x", state="Running",
            )  # fmt: skip
            session.add(vm)
            session.flush()
            session.add(
                Nic(
                    instance_id=vm.id, data_center_id=zone.id, network_id=network.id,
                    ip4_address="10.1.1.11", netmask="255.255.255.0", gateway="10.1.1.1",
                    mac_address="02:00:0a:01:01:0b", mac_key="02:00:0a:01:01:0b",
                    is_default=True,
                )
            )  # fmt: skip
            return network.uuid, addresses, vm.uuid
    finally:
        runtime.close()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with embedded_cloud(tmp_path_factory.mktemp("libcloud-rules")) as cloud:
        yield _tenant_world(cloud)


def _tenant_world(cloud: Cloud) -> World:
    keys = cloud.tenant("lcrules")
    cs = cloud.cs(keys)
    name = cs.listAccounts()["account"][0]["name"]
    network, addresses, vm = _world(cloud.conf, name)
    return World(cloud.libcloud(keys), cs, network, addresses, vm)


def _address(world: World, ip: str) -> Any:
    (found,) = [a for a in world.driver.ex_list_public_ips() if a.address == ip]
    return found


def _node(world: World) -> Any:
    (node,) = [n for n in world.driver.list_nodes() if n.id == world.vm]
    return node


def test_port_forwarding_rules_are_created_listed_and_deleted(world: World) -> None:
    node, address = _node(world), _address(world, "203.0.113.11")
    rule = world.driver.ex_create_port_forwarding_rule(
        node, address, private_port=80, public_port=8080, protocol="TCP"
    )
    (seen,) = world.cs.listPortForwardingRules(id=rule.id)["portforwardingrule"]
    assert (seen["publicport"], seen["privateport"], seen["state"]) == ("8080", "80", "Active")
    assert seen["virtualmachineid"] == world.vm and seen["ipaddress"] == "203.0.113.11"
    listed = world.driver.ex_list_port_forwarding_rules()
    assert [(r.id, r.public_port, r.private_port) for r in listed] == [(rule.id, "8080", "80")]
    # openfirewall (Libcloud sends true) opened the port with a firewall rule.
    opened = world.cs.listFirewallRules(ipaddressid=address.id)["firewallrule"]
    assert [(r["startport"], r["cidrlist"]) for r in opened] == [("8080", "0.0.0.0/0")]
    # list_nodes reads port forwarding and IP forwarding rules with every VM.
    listed_node = _node(world)
    assert [r.id for r in listed_node.extra["port_forwarding_rules"]] == [rule.id]
    assert listed_node.extra["ip_forwarding_rules"] == []
    assert world.driver.ex_delete_port_forwarding_rule(listed_node, rule) is True
    assert world.cs.listPortForwardingRules() == {}
    assert world.cs.listFirewallRules() == {}


def test_firewall_rules_are_created_listed_and_deleted(world: World) -> None:
    address = _address(world, "203.0.113.12")
    rule = world.driver.ex_create_firewall_rule(
        address, "192.168.0.0/22", "TCP", start_port=22, end_port=23
    )
    (seen,) = world.cs.listFirewallRules(id=rule.id)["firewallrule"]
    assert (seen["protocol"], seen["startport"], seen["endport"]) == ("tcp", "22", "23")
    assert seen["cidrlist"] == "192.168.0.0/22" and seen["state"] == "Active"
    icmp = world.driver.ex_create_firewall_rule(
        address, "0.0.0.0/0", "ICMP", icmp_type=8, icmp_code=0
    )
    listed = {r.id: r for r in world.driver.ex_list_firewall_rules()}
    assert set(listed) == {rule.id, icmp.id}
    assert listed[icmp.id].icmp_type == 8 and listed[rule.id].address.address == "203.0.113.12"
    for one in (rule, icmp):
        assert world.driver.ex_delete_firewall_rule(one) is True
    assert world.cs.listFirewallRules() == {}


def test_egress_firewall_rules_are_created_listed_and_deleted(world: World) -> None:
    rule = world.driver.ex_create_egress_firewall_rule(
        world.network, "10.1.1.0/24", "TCP", start_port=443, end_port=443
    )
    (seen,) = world.cs.listEgressFirewallRules(id=rule.id)["firewallrule"]
    assert seen["networkid"] == world.network and seen["cidrlist"] == "10.1.1.0/24"
    listed = world.driver.ex_list_egress_firewall_rules()
    assert [(r.id, r.network_id, r.start_port) for r in listed] == [(rule.id, world.network, "443")]
    assert world.driver.ex_delete_egress_firewall_rule(rule) is True
    assert world.cs.listEgressFirewallRules() == {}


def test_security_groups_are_created_authorized_and_listed(world: World) -> None:
    created = world.driver.ex_create_security_group("lc-web", description="web servers")
    assert created["name"] == "lc-web" and created["ingressrule"] == []
    group = world.driver.ex_authorize_security_group_ingress(
        "lc-web", "tcp", "0.0.0.0/0", startport=80
    )
    (rule,) = group["ingressrule"]
    assert (rule["protocol"], rule["startport"], rule["endport"]) == ("tcp", 80, 80)
    world.driver.ex_authorize_security_group_ingress("lc-web", "icmp", "10.0.0.0/8", icmptype=8)
    groups = {g["name"]: g for g in world.driver.ex_list_security_groups()}
    assert set(groups) == {"default", "lc-web"}
    assert len(groups["lc-web"]["ingressrule"]) == 2
    (seen,) = world.cs.listSecurityGroups(securitygroupname="lc-web")["securitygroup"]
    assert seen["id"] == created["id"] and seen["description"] == "web servers"
    assert world.driver.ex_delete_security_group("lc-web") in (True, "true")
