"""Firewall and egress firewall rules over the real API (CAP-28): what the provider is
given, every rule the seed states refused with a clear error, nothing half-written
when the provider refuses, tenants isolated, lists at a fixed statement count."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, func, select

from cumulo.network.rules.models import NetworkRule, RuleCidr
from cumulo.runtime import Runtime
from cumulo.sdk.network import FirewallRule, PortRange, Service

pytest.register_assert_rewrite("network_rules_world")
from network_rules_world import (  # noqa: E402
    Cloud,
    GuestNet,
    RecordingProvider,
    Tenant,
    add_public_ips,
    add_vm,
    make_network,
    make_zone,
)

pytest_plugins = ("network_rules_world",)


def _ip(net: GuestNet, index: int) -> str:
    return list(net.ips)[index]


def _rows(runtime: Runtime) -> list[tuple[str, str]]:
    with runtime.sessions() as session:
        return [(r.purpose, r.state) for r in session.scalars(select(NetworkRule))]


# ---- ingress ---------------------------------------------------------------------------------


def test_ingress_rule_is_applied_then_active_req_fw_03(
    cloud: Cloud, alice: Tenant, net: GuestNet, provider: type[RecordingProvider]
) -> None:
    """REQ-FW-01/REQ-FW-03: nothing is open until a rule opens ports from source CIDRs."""
    ip = _ip(net, 1)
    answer = cloud.call(
        alice.keys, "createFirewallRule", ipaddressid=ip, protocol="TCP",
        startport=22, endport=22, cidrlist="192.168.0.0/22,10.9.0.0/16",
    )  # fmt: skip
    assert set(answer) == {"id", "jobid"}
    listed = cloud.call(alice.keys, "listFirewallRules", id=answer["id"])
    assert listed["firewallrule"][0]["state"] == "Add"  # written, not applied yet
    cloud.call(alice.keys, "queryAsyncJobResult", jobid=answer["jobid"])
    from cumulo_api.worker import run_pending

    run_pending(cloud.runtime, cloud.registry)
    job = cloud.call(alice.keys, "queryAsyncJobResult", jobid=answer["jobid"])
    rule = job["jobresult"]["firewallrule"]
    assert job["jobinstancetype"] == "FirewallRule" and job["jobinstanceid"] == answer["id"]
    assert rule["state"] == "Active" and rule["protocol"] == "tcp"
    assert (rule["startport"], rule["endport"]) == ("22", "22")  # strings, as 4.1
    assert rule["cidrlist"] == "192.168.0.0/22,10.9.0.0/16"
    assert rule["ipaddressid"] == ip and rule["ipaddress"] == net.ips[ip]
    assert rule["networkid"] == net.uuid and rule["tags"] == []
    applied = provider.applied[(net.uuid, Service.FIREWALL)]
    assert applied == (
        FirewallRule(
            uuid=answer["id"], protocol="tcp", ports=PortRange(22, 22),
            cidrs=("192.168.0.0/22", "10.9.0.0/16"), public_ip=net.ips[ip],
        ),
    )  # fmt: skip


def test_icmp_rule_defaults_to_any_type_and_code(
    cloud: Cloud, alice: Tenant, net: GuestNet, provider: type[RecordingProvider]
) -> None:
    rule = cloud.ok(alice.keys, "createFirewallRule", ipaddressid=_ip(net, 1), protocol="icmp")
    fields = rule["firewallrule"]
    assert (fields["icmptype"], fields["icmpcode"]) == (-1, -1)
    assert "startport" not in fields and fields["cidrlist"] == "0.0.0.0/0"
    (applied,) = provider.applied[(net.uuid, Service.FIREWALL)]
    assert (applied.icmp_type, applied.icmp_code, applied.ports) == (-1, -1, PortRange())


@pytest.mark.parametrize(
    ("params", "param", "text"),
    [
        ({"protocol": "gre"}, "protocol", "invalid protocol"),
        ({"protocol": "all"}, "protocol", "invalid protocol"),
        ({"protocol": "tcp", "startport": 0}, "startport", "invalid port"),
        ({"protocol": "tcp", "startport": 70000}, "startport", "invalid port"),
        ({"protocol": "tcp", "startport": 30, "endport": 20}, "startport", "bigger"),
        ({"protocol": "tcp", "endport": 20}, "startport", "required"),
        ({"protocol": "tcp", "startport": 22, "icmptype": 8}, "icmptype", "only valid"),
        ({"protocol": "icmp", "startport": 22}, "startport", "only valid"),
        ({"protocol": "icmp", "icmptype": 300}, "icmptype", "invalid ICMP type"),
        ({"protocol": "icmp", "icmptype": 3, "icmpcode": 16}, "icmpcode", "invalid ICMP code"),
        ({"protocol": "icmp", "icmpcode": 1}, "icmpcode", "needs an ICMP type"),
        ({"protocol": "tcp", "startport": 22, "cidrlist": "10.0.0.1/8"}, "cidrlist", "CIDR"),
        ({"protocol": "tcp", "startport": 22, "cidrlist": "nonsense"}, "cidrlist", "CIDR"),
    ],
)
def test_bad_firewall_parameters_are_431_naming_them(
    cloud: Cloud, alice: Tenant, net: GuestNet, params: dict[str, Any], param: str, text: str
) -> None:
    bad = cloud.fail(alice.keys, "createFirewallRule", ipaddressid=_ip(net, 1), **params)
    assert bad["errorcode"] == 431 and bad["errortext"].startswith(param), bad
    assert text in bad["errortext"]


def test_the_same_opening_twice_conflicts_but_other_cidrs_do_not(
    cloud: Cloud, alice: Tenant, net: GuestNet
) -> None:
    ip = _ip(net, 1)
    cloud.ok(alice.keys, "createFirewallRule", ipaddressid=ip, protocol="tcp",
             startport=20, endport=30, cidrlist="10.0.0.0/8")  # fmt: skip
    clash = cloud.fail(alice.keys, "createFirewallRule", ipaddressid=ip, protocol="tcp",
                       startport=25, endport=40, cidrlist="10.0.0.0/8")  # fmt: skip
    assert clash["errorcode"] == 537 and "conflicts" in clash["errortext"]
    # Other sources, another protocol: fine.
    cloud.ok(alice.keys, "createFirewallRule", ipaddressid=ip, protocol="tcp",
             startport=25, endport=40, cidrlist="172.16.0.0/12")  # fmt: skip
    cloud.ok(alice.keys, "createFirewallRule", ipaddressid=ip, protocol="udp",
             startport=25, endport=40, cidrlist="10.0.0.0/8")  # fmt: skip


def test_an_address_without_a_network_or_not_allocated_is_refused(
    runtime: Runtime, cloud: Cloud, alice: Tenant, net: GuestNet
) -> None:
    from cumulo.infra.models import UserIpAddress

    ip = _ip(net, 2)
    with runtime.sessions.begin() as session:
        row = session.scalars(select(UserIpAddress).where(UserIpAddress.uuid == ip)).one()
        row.associated_with_network_id = None
    bad = cloud.fail(alice.keys, "createFirewallRule", ipaddressid=ip, protocol="tcp", startport=1)
    assert bad["errorcode"] == 431 and "not associated with any guest network" in bad["errortext"]
    with runtime.sessions.begin() as session:
        row = session.scalars(select(UserIpAddress).where(UserIpAddress.uuid == ip)).one()
        row.state, row.account_id = "Free", None
    bad = cloud.fail(alice.keys, "createFirewallRule", ipaddressid=ip, protocol="tcp", startport=1)
    assert bad["errorcode"] == 431 and "not allocated" in bad["errortext"]


def test_a_network_without_the_firewall_service_refuses_rules(
    runtime: Runtime, cloud: Cloud, zone: int, alice: Tenant
) -> None:
    plain = make_network(runtime, zone, alice, offering="DefaultIsolatedNetworkOffering")
    (ip,) = add_public_ips(runtime, zone, plain, alice, 1, base="198.51.100")
    bad = cloud.fail(alice.keys, "createFirewallRule", ipaddressid=ip, protocol="tcp", startport=1)
    assert bad["errorcode"] == 431 and "Firewall service is not supported" in bad["errortext"]


def test_elastic_ips_take_no_firewall_or_port_forwarding_rules_req_fw_04_req_pf_02(
    runtime: Runtime, cloud: Cloud, zone: int, alice: Tenant
) -> None:
    """REQ-FW-04, REQ-PF-02, REQ-SG-11: security groups control elastic IPs."""
    services = {"Firewall": "VirtualRouter", "PortForwarding": "VirtualRouter"}
    eip = make_network(
        runtime, zone, alice, offering="DefaultSharedNetscalerEIPandELBNetworkOffering",
        services=services, guest_type="Shared",
    )  # fmt: skip
    (ip,) = add_public_ips(runtime, zone, eip, alice, 1, base="198.51.100")
    vm = add_vm(runtime, zone, eip, alice, "e1", "10.1.1.30")
    bad = cloud.fail(alice.keys, "createFirewallRule", ipaddressid=ip, protocol="tcp", startport=1)
    assert bad["errorcode"] == 431 and "elastic IP" in bad["errortext"]
    bad = cloud.fail(
        alice.keys, "createPortForwardingRule", ipaddressid=ip, protocol="tcp",
        publicport=80, privateport=80, virtualmachineid=vm,
    )  # fmt: skip
    assert bad["errorcode"] == 431 and "elastic IP" in bad["errortext"]


def test_a_refused_rule_is_removed_again_and_the_job_fails(
    runtime: Runtime, cloud: Cloud, alice: Tenant, net: GuestNet, provider: type[RecordingProvider]
) -> None:
    """Nothing half-written: the provider refuses, the rule is gone (4.1 revokes it)."""
    provider.refuse.add(Service.FIREWALL)
    failed = cloud.refused(
        alice.keys, "createFirewallRule", ipaddressid=_ip(net, 1), protocol="tcp", startport=80
    )
    assert failed["errorcode"] == 530 and "refuses Firewall" in failed["errortext"]
    assert _rows(runtime) == []


def test_a_refused_delete_leaves_the_rule_revoked_and_a_retry_removes_it(
    runtime: Runtime, cloud: Cloud, alice: Tenant, net: GuestNet, provider: type[RecordingProvider]
) -> None:
    rule = cloud.ok(alice.keys, "createFirewallRule", ipaddressid=_ip(net, 1), protocol="tcp",
                    startport=80)["firewallrule"]  # fmt: skip
    provider.refuse.add(Service.FIREWALL)
    failed = cloud.refused(alice.keys, "deleteFirewallRule", id=rule["id"])
    assert failed["errorcode"] == 530
    assert _rows(runtime) == [("Firewall", "Revoke")]  # out of every set, shown so
    listed = cloud.call(alice.keys, "listFirewallRules", id=rule["id"])["firewallrule"]
    assert listed[0]["state"] == "Revoke"
    provider.refuse.clear()
    assert cloud.ok(alice.keys, "deleteFirewallRule", id=rule["id"]) == {"success": True}
    assert _rows(runtime) == []
    assert provider.applied[(net.uuid, Service.FIREWALL)] == ()
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(RuleCidr)) == 0


# ---- egress ----------------------------------------------------------------------------------


def test_egress_rules_have_guest_sources_and_no_address_req_fw_07(
    cloud: Cloud, alice: Tenant, net: GuestNet, provider: type[RecordingProvider]
) -> None:
    """REQ-FW-06/07 and A-24: egress CIDRs are sources inside the guest CIDR; the
    default source is the whole guest network."""
    rule = cloud.ok(alice.keys, "createEgressFirewallRule", networkid=net.uuid, protocol="tcp",
                    startport=22, cidrlist="10.1.1.0/25")["firewallrule"]  # fmt: skip
    assert rule["networkid"] == net.uuid and "ipaddressid" not in rule
    anywhere = cloud.ok(alice.keys, "createEgressFirewallRule", networkid=net.uuid,
                        protocol="all")["firewallrule"]  # fmt: skip
    assert anywhere["cidrlist"] == "10.1.1.0/24"
    applied = provider.applied[(net.uuid, Service.FIREWALL)]
    assert [(r.public_ip, r.cidrs, r.protocol) for r in applied] == [
        ("", ("10.1.1.0/25",), "tcp"),
        ("", ("10.1.1.0/24",), "all"),
    ]
    listed = cloud.call(alice.keys, "listEgressFirewallRules", networkid=net.uuid)
    assert listed["count"] == 2
    assert cloud.call(alice.keys, "listFirewallRules") == {}  # egress is not ingress
    cloud.ok(alice.keys, "deleteEgressFirewallRule", id=rule["id"])
    assert len(provider.applied[(net.uuid, Service.FIREWALL)]) == 1


@pytest.mark.parametrize(
    ("params", "text"),
    [
        (
            {"protocol": "tcp", "startport": 22, "cidrlist": "192.168.0.0/24"},
            "not part of the guest",
        ),
        ({"protocol": "all", "startport": 22}, "only valid with protocol tcp or udp"),
    ],
)
def test_bad_egress_rules_are_refused(
    cloud: Cloud, alice: Tenant, net: GuestNet, params: dict[str, Any], text: str
) -> None:
    bad = cloud.fail(alice.keys, "createEgressFirewallRule", networkid=net.uuid, **params)
    assert bad["errorcode"] == 431 and text in bad["errortext"]


def test_egress_rules_only_on_isolated_virtual_router_networks_of_advanced_zones_req_fw_06(
    runtime: Runtime, cloud: Cloud, alice: Tenant, zone: int
) -> None:
    """REQ-FW-06: egress rules are supported only on virtual routers, in advanced zones."""
    other = make_network(runtime, zone, alice, services={"Firewall": "JuniperSRX"})
    bad = cloud.fail(alice.keys, "createEgressFirewallRule", networkid=other.uuid, protocol="all")
    assert bad["errorcode"] == 431 and "only on virtual routers" in bad["errortext"]
    basic = make_zone(runtime, "basic", basic=True)
    shared = make_network(
        runtime, basic, alice, guest_type="Shared", services={"Firewall": "VirtualRouter"}
    )
    bad = cloud.fail(alice.keys, "createEgressFirewallRule", networkid=shared.uuid, protocol="all")
    assert bad["errorcode"] == 431 and "advanced zones" in bad["errortext"]
    shared_adv = make_network(
        runtime, zone, alice, guest_type="Shared", services={"Firewall": "VirtualRouter"}
    )
    bad = cloud.fail(
        alice.keys, "createEgressFirewallRule", networkid=shared_adv.uuid, protocol="all"
    )
    assert bad["errorcode"] == 431 and "isolated networks" in bad["errortext"]


# ---- tenants and statements ----------------------------------------------------------------


def test_another_account_cannot_see_or_touch_the_rules(
    cloud: Cloud, alice: Tenant, bob: Tenant, net: GuestNet
) -> None:
    rule = cloud.ok(alice.keys, "createFirewallRule", ipaddressid=_ip(net, 1), protocol="tcp",
                    startport=80)["firewallrule"]  # fmt: skip
    assert cloud.call(bob.keys, "listFirewallRules") == {}
    assert cloud.call(bob.keys, "listFirewallRules", listall=True) == {}
    assert cloud.fail(bob.keys, "listFirewallRules", id=rule["id"])["errorcode"] == 531
    # A delete is a job (4.1): the job fails, and the rule stays.
    assert cloud.refused(bob.keys, "deleteFirewallRule", id=rule["id"])["errorcode"] == 531
    assert cloud.call(alice.keys, "listFirewallRules")["count"] == 1
    bad = cloud.fail(
        bob.keys, "createFirewallRule", ipaddressid=_ip(net, 1), protocol="tcp", startport=81
    )
    assert bad["errorcode"] == 531
    bad = cloud.fail(bob.keys, "createEgressFirewallRule", networkid=net.uuid, protocol="all")
    assert bad["errorcode"] == 531


def test_list_firewall_rules_costs_the_same_for_3_or_30_rules(
    runtime: Runtime, cloud: Cloud, alice: Tenant, net: GuestNet
) -> None:
    def statements() -> int:
        seen: list[str] = []

        def count(*args: Any) -> None:
            seen.append(args[2])

        event.listen(runtime.engine, "before_cursor_execute", count)
        try:
            assert cloud.call(alice.keys, "listFirewallRules")["count"] > 0
        finally:
            event.remove(runtime.engine, "before_cursor_execute", count)
        return len(seen)

    ip = _ip(net, 1)
    for port in range(1, 4):
        cloud.ok(alice.keys, "createFirewallRule", ipaddressid=ip, protocol="tcp", startport=port)
    statements()  # warms the process's caches (configuration, keys)
    few = statements()
    for port in range(4, 31):
        cloud.ok(alice.keys, "createFirewallRule", ipaddressid=ip, protocol="tcp", startport=port)
    assert statements() == few
