"""Security groups over the real API (CAP-22) in a basic zone with security groups: the
per-account default group, ingress and egress rules by CIDR or by account + group, the
rule sets the provider receives for running and stopped VMs, membership at deploy,
refusals with clear errors, tenants isolated, lists at a fixed statement count."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, select

from cumulo.compute.models import VirtualMachine
from cumulo.compute.owners import Owner
from cumulo.network.security_groups import membership
from cumulo.network.security_groups.models import SecurityGroup, SecurityGroupVmMap
from cumulo.runtime import Runtime
from cumulo.sdk.api import CallContext
from cumulo.sdk.network import PortRange, SecurityGroupRule, Service

pytest.register_assert_rewrite("network_rules_world")
from network_rules_world import (  # noqa: E402
    Cloud,
    GuestNet,
    RecordingProvider,
    Tenant,
    add_vm,
    make_network,
    make_zone,
)

pytest_plugins = ("network_rules_world",)

SG_SERVICES = {
    "Dhcp": "VirtualRouter",
    "Dns": "VirtualRouter",
    "UserData": "VirtualRouter",
    "SecurityGroup": "SecurityGroupProvider",
}


@pytest.fixture
def basic(runtime: Runtime) -> int:
    return make_zone(runtime, "basic", basic=True)


@pytest.fixture
def shared(runtime: Runtime, basic: int) -> GuestNet:
    """The basic zone's shared network (a ``Setup`` network, as the IPAM makes it)."""
    system = Tenant("system", 1, 1, ("", ""))
    return make_network(
        runtime, basic, system, cidr="192.168.100.0/24", guest_type="Shared",
        offering="DefaultSharedNetworkOfferingWithSGService", services=SG_SERVICES,
        state="Setup",
    )  # fmt: skip


def _vm_in(runtime: Runtime, zone: int, net: GuestNet, owner: Tenant, name: str, address: str,
           groups: list[str] | None = None, state: str = "Running") -> str:  # fmt: skip
    """A VM on the shared network that joined ``groups`` (names; none: default)."""
    uuid = add_vm(runtime, zone, net, owner, name, address, state=state)
    with runtime.sessions.begin() as session:
        vm = session.scalars(select(VirtualMachine).where(VirtualMachine.uuid == uuid)).one()
        ctx = CallContext(owner.account_id, owner.account_id, owner.domain_id, "/", 0)
        who = Owner(owner.account_id, "", owner.domain_id, owner.name, "Enabled")
        ids = membership.resolve_groups(session, ctx, who, names=groups or [])
        membership.join(session, vm, ids)
    return uuid


def _rules_of(
    provider: type[RecordingProvider], net: GuestNet, vm: str
) -> tuple[SecurityGroupRule, ...]:
    (entry,) = [e for e in provider.applied[(net.uuid, Service.SECURITY_GROUP)] if e.vm_uuid == vm]
    return entry.rules  # type: ignore[no-any-return]


def test_every_account_has_a_default_group_denying_ingress_req_sg_01(
    runtime: Runtime, cloud: Cloud, alice: Tenant, basic: int, shared: GuestNet,
    provider: type[RecordingProvider],
) -> None:  # fmt: skip
    """REQ-SG-01/02/05/06: a new VM gets the default group; no rules: nothing in,
    everything out."""
    listed = cloud.call(alice.keys, "listSecurityGroups")
    (group,) = listed["securitygroup"]
    assert group["name"] == "default" and group["ingressrule"] == [] and group["egressrule"] == []
    vm = _vm_in(runtime, basic, shared, alice, "v1", "192.168.100.10")
    with runtime.sessions() as session:
        maps = session.scalars(select(SecurityGroupVmMap)).all()
        assert [m.security_group_id for m in maps] == [
            session.scalar(select(SecurityGroup.id).where(SecurityGroup.uuid == group["id"]))
        ]
    # A change to the group is applied, with the VM in it and no rules at all.
    cloud.ok(alice.keys, "authorizeSecurityGroupEgress", securitygroupname="default",
             protocol="udp", startport=53, endport=53, cidrlist="8.8.8.8/32")  # fmt: skip
    (rule,) = _rules_of(provider, shared, vm)
    assert (rule.direction, rule.protocol, rule.ports, rule.cidrs) == (
        "egress", "udp", PortRange(53, 53), ("8.8.8.8/32",),
    )  # fmt: skip


def test_ingress_by_cidr_and_by_group_reach_running_and_stopped_vms_req_sg_04_req_sg_07(
    runtime: Runtime, cloud: Cloud, alice: Tenant, bob: Tenant, basic: int, shared: GuestNet,
    provider: type[RecordingProvider],
) -> None:  # fmt: skip
    """REQ-SG-04: rules apply at once to every VM of the group, running or stopped;
    REQ-SG-07: a group peer stands for its VMs' addresses (the group itself: its
    members talk to each other)."""
    web = cloud.call(alice.keys, "createSecurityGroup", name="web", description="front")
    assert web["securitygroup"]["name"] == "web" and web["securitygroup"]["account"] == "alice"
    running = _vm_in(runtime, basic, shared, alice, "w1", "192.168.100.11", ["web"])
    stopped = _vm_in(runtime, basic, shared, alice, "w2", "192.168.100.12", ["web"], "Stopped")
    cloud.call(bob.keys, "createSecurityGroup", name="ops")
    _vm_in(runtime, basic, shared, bob, "o1", "192.168.100.20", ["ops"])
    answer = cloud.ok(
        alice.keys, "authorizeSecurityGroupIngress", securitygroupname="web", protocol="TCP",
        startport=80, endport=80, cidrlist="0.0.0.0/0",
    )["securitygroup"]  # fmt: skip
    (rule,) = answer["ingressrule"]
    assert (rule["protocol"], rule["startport"], rule["endport"], rule["cidr"]) == (
        "tcp", 80, 80, "0.0.0.0/0",
    )  # fmt: skip
    cloud.ok(
        alice.keys, "authorizeSecurityGroupIngress", securitygroupid=web["securitygroup"]["id"],
        protocol="tcp", startport=22, **{
            "usersecuritygrouplist[0].account": "bob", "usersecuritygrouplist[0].group": "ops",
            "usersecuritygrouplist[1].account": "alice", "usersecuritygrouplist[1].group": "web",
        },
    )  # fmt: skip
    for vm in (running, stopped):
        rules = {(r.ports, r.cidrs) for r in _rules_of(provider, shared, vm)}
        assert rules == {
            (PortRange(80, 80), ("0.0.0.0/0",)),
            (PortRange(22, 22), ("192.168.100.20/32",)),
            (PortRange(22, 22), ("192.168.100.11/32", "192.168.100.12/32")),
        }
    listed = cloud.call(alice.keys, "listSecurityGroups", securitygroupname="web")
    peers = {
        (r["securitygroupname"], r["account"])
        for r in listed["securitygroup"][0]["ingressrule"]
        if "securitygroupname" in r
    }
    assert peers == {("ops", "bob"), ("web", "alice")}
    # Revoking takes the rule away from both VMs.
    cloud.ok(alice.keys, "revokeSecurityGroupIngress", id=rule["ruleid"])
    assert all(r.ports != PortRange(80, 80) for r in _rules_of(provider, shared, stopped))


def test_icmp_rules_show_type_and_code(
    cloud: Cloud, alice: Tenant, basic: int, shared: GuestNet
) -> None:
    answer = cloud.ok(alice.keys, "authorizeSecurityGroupIngress", securitygroupname="default",
                      protocol="icmp", icmptype=8, icmpcode=0, cidrlist="10.0.0.0/8")  # fmt: skip
    (rule,) = answer["securitygroup"]["ingressrule"]
    assert (rule["icmptype"], rule["icmpcode"]) == (8, 0) and "startport" not in rule


@pytest.mark.parametrize(
    ("params", "param", "text"),
    [
        ({"protocol": "gre", "cidrlist": "0.0.0.0/0"}, "protocol", "invalid protocol"),
        ({"protocol": "tcp", "cidrlist": "0.0.0.0/0"}, "startport", "required"),
        ({"protocol": "tcp", "startport": 70000, "cidrlist": "0.0.0.0/0"}, "startport",
         "invalid port"),
        ({"protocol": "tcp", "startport": 22}, "cidrlist", "At least one cidr"),
        ({"protocol": "tcp", "startport": 22, "cidrlist": "300.1.1.0/24"}, "cidrlist", "CIDR"),
        ({"protocol": "icmp", "icmptype": 999, "cidrlist": "0.0.0.0/0"}, "icmptype", "invalid"),
        ({"protocol": "all", "startport": 1, "cidrlist": "0.0.0.0/0"}, "startport", "only valid"),
        ({"protocol": "tcp", "startport": 22, "usersecuritygrouplist[0].account": "nobody",
          "usersecuritygrouplist[0].group": "x"}, "usersecuritygrouplist", "Nonexistent account"),
        ({"protocol": "tcp", "startport": 22, "usersecuritygrouplist[0].account": "alice",
          "usersecuritygrouplist[0].group": "nope"}, "usersecuritygrouplist", "Nonexistent group"),
    ],
)  # fmt: skip
def test_bad_rules_are_refused_431(
    cloud: Cloud, alice: Tenant, params: dict[str, Any], param: str, text: str
) -> None:
    bad = cloud.refused(
        alice.keys, "authorizeSecurityGroupIngress", securitygroupname="default", **params
    )
    assert bad["errorcode"] == 431 and bad["errortext"].startswith(param), bad
    assert text in bad["errortext"]


def test_group_commands_refusals(
    runtime: Runtime, cloud: Cloud, alice: Tenant, basic: int, shared: GuestNet
) -> None:
    bad = cloud.fail(alice.keys, "createSecurityGroup", name="default")
    assert bad["errorcode"] == 431 and "default" in bad["errortext"]
    cloud.call(alice.keys, "createSecurityGroup", name="db")
    bad = cloud.fail(alice.keys, "createSecurityGroup", name="db")
    assert bad["errorcode"] == 431 and "already exists" in bad["errortext"]
    bad = cloud.fail(alice.keys, "deleteSecurityGroup", name="default")
    assert bad["errorcode"] == 431 and "can't be deleted" in bad["errortext"]
    _vm_in(runtime, basic, shared, alice, "d1", "192.168.100.30", ["db"])
    bad = cloud.fail(alice.keys, "deleteSecurityGroup", name="db")
    assert bad["errorcode"] == 536 and "in use" in bad["errortext"]
    spare = cloud.call(alice.keys, "createSecurityGroup", name="spare")["securitygroup"]
    assert cloud.call(alice.keys, "deleteSecurityGroup", id=spare["id"]) == {"success": "true"}
    egress = cloud.ok(
        alice.keys, "authorizeSecurityGroupEgress", securitygroupname="db", protocol="all",
        cidrlist="0.0.0.0/0",
    )["securitygroup"]["egressrule"]  # fmt: skip
    bad = cloud.refused(alice.keys, "revokeSecurityGroupIngress", id=egress[0]["ruleid"])
    assert bad["errorcode"] == 431 and "revokeSecurityGroupEgress" in bad["errortext"]


def test_membership_at_deploy_rules(
    runtime: Runtime, cloud: Cloud, alice: Tenant, bob: Tenant, zone: int, net: GuestNet
) -> None:
    """REQ-SG-02/08: groups only in zones with security groups; only the VM owner's."""
    vm_uuid = next(iter(net.vms))
    bobs = cloud.call(bob.keys, "createSecurityGroup", name="b")["securitygroup"]
    with runtime.sessions() as session:
        vm = session.scalars(select(VirtualMachine).where(VirtualMachine.uuid == vm_uuid)).one()
        assert membership.join(session, vm, []) == []  # advanced zone: nothing to join
        group_id = session.scalar(select(SecurityGroup.id).where(SecurityGroup.uuid == bobs["id"]))
        with pytest.raises(Exception, match="not enabled in the zone"):
            membership.join(session, vm, [group_id])
        ctx = CallContext(alice.account_id, alice.account_id, alice.domain_id, "/", 0)
        who = Owner(alice.account_id, "", alice.domain_id, "alice", "Enabled")
        with pytest.raises(Exception, match="mutually exclusive"):
            membership.resolve_groups(session, ctx, who, ids=[bobs["id"]], names=["x"])
        with pytest.raises(Exception) as refused:
            membership.resolve_groups(session, ctx, who, ids=[bobs["id"]])
        assert getattr(refused.value, "errorcode", None) == 531


def test_another_account_cannot_see_or_touch_groups(
    cloud: Cloud, alice: Tenant, bob: Tenant
) -> None:
    group = cloud.call(alice.keys, "createSecurityGroup", name="private")["securitygroup"]
    names = [g["name"] for g in cloud.call(bob.keys, "listSecurityGroups")["securitygroup"]]
    assert names == ["default"]  # bob's own
    assert cloud.fail(bob.keys, "listSecurityGroups", id=group["id"])["errorcode"] == 531
    assert cloud.fail(bob.keys, "deleteSecurityGroup", id=group["id"])["errorcode"] == 531
    bad = cloud.refused(bob.keys, "authorizeSecurityGroupIngress", securitygroupid=group["id"],
                        protocol="tcp", startport=1, cidrlist="0.0.0.0/0")  # fmt: skip
    assert bad["errorcode"] == 531


def test_list_security_groups_costs_the_same_for_few_or_many(
    runtime: Runtime, cloud: Cloud, alice: Tenant
) -> None:
    def statements() -> int:
        seen: list[str] = []

        def count(*args: Any) -> None:
            seen.append(args[2])

        event.listen(runtime.engine, "before_cursor_execute", count)
        try:
            cloud.call(alice.keys, "listSecurityGroups")
        finally:
            event.remove(runtime.engine, "before_cursor_execute", count)
        return len(seen)

    def grow(count: int, start: int) -> None:
        for index in range(start, start + count):
            cloud.call(alice.keys, "createSecurityGroup", name=f"g{index}")
            cloud.ok(
                alice.keys, "authorizeSecurityGroupIngress", securitygroupname=f"g{index}",
                protocol="tcp", startport=index, cidrlist="10.0.0.0/8,10.1.0.0/16",
            )  # fmt: skip

    grow(2, 0)
    statements()
    few = statements()
    grow(20, 2)
    assert statements() == few
