"""Load balancing and stickiness over the real API (CAP-26): members, algorithms from
the provider's capabilities (REQ-LB-03), stickiness methods and parameters validated
against ``SupportedStickinessMethods`` (REQ-LB-01, REQ-LB-02), undo on refusal,
tenants isolated."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from cumulo.network.rules.models import LbStickinessPolicy, LbVmMap
from cumulo.runtime import Runtime
from cumulo.sdk.network import LoadBalancerBackend, Service, StickinessPolicy

pytest.register_assert_rewrite("network_rules_world")
from network_rules_world import (  # noqa: E402
    Cloud,
    GuestNet,
    RecordingProvider,
    Tenant,
    add_vm,
)

pytest_plugins = ("network_rules_world",)


def _ip(net: GuestNet, index: int) -> str:
    return list(net.ips)[index]


@pytest.fixture
def two_vms(runtime: Runtime, zone: int, alice: Tenant, net: GuestNet) -> list[str]:
    return [next(iter(net.vms)), add_vm(runtime, zone, net, alice, "web2", "10.1.1.12")]


def _lb(cloud: Cloud, tenant: Tenant, net: GuestNet, **params: Any) -> dict[str, Any]:
    base = {
        "publicipid": _ip(net, 1),
        "name": "web",
        "algorithm": "roundrobin",
        "publicport": 80,
        "privateport": 8080,
    }
    return cloud.ok(tenant.keys, "createLoadBalancerRule", **{**base, **params})["loadbalancer"]  # type: ignore[no-any-return]


def test_a_load_balancer_spreads_over_its_members_req_lb_03(
    cloud: Cloud,
    alice: Tenant,
    net: GuestNet,
    two_vms: list[str],
    provider: type[RecordingProvider],
) -> None:
    """REQ-LB-03: round robin over the VMs assigned, on their private port."""
    lb = _lb(cloud, alice, net)
    assert (lb["publicport"], lb["privateport"], lb["algorithm"]) == ("80", "8080", "roundrobin")
    assert (
        lb["state"] == "Active"
        and lb["account"] == "alice"
        and lb["publicip"] == net.ips[_ip(net, 1)]
    )
    (applied,) = provider.applied[(net.uuid, Service.LB)]
    assert applied.backends == () and applied.public_port == 80 and applied.private_port == 8080
    cloud.ok(
        alice.keys, "assignToLoadBalancerRule", id=lb["id"], virtualmachineids=",".join(two_vms)
    )
    (applied,) = provider.applied[(net.uuid, Service.LB)]
    assert applied.backends == (
        LoadBalancerBackend(two_vms[0], "10.1.1.11"),
        LoadBalancerBackend(two_vms[1], "10.1.1.12"),
    )
    members = cloud.call(alice.keys, "listLoadBalancerRuleInstances", id=lb["id"])
    assert {vm["id"] for vm in members["loadbalancerruleinstance"]} == set(two_vms)
    assert cloud.call(alice.keys, "listLoadBalancerRuleInstances", id=lb["id"], applied=False) == {}
    cloud.ok(alice.keys, "removeFromLoadBalancerRule", id=lb["id"], virtualmachineids=two_vms[0])
    (applied,) = provider.applied[(net.uuid, Service.LB)]
    assert [b.vm_uuid for b in applied.backends] == [two_vms[1]]
    free = cloud.call(alice.keys, "listLoadBalancerRuleInstances", id=lb["id"], applied=False)
    assert [vm["id"] for vm in free["loadbalancerruleinstance"]] == [two_vms[0]]
    listed = cloud.call(alice.keys, "listLoadBalancerRules", virtualmachineid=two_vms[1])
    assert listed["loadbalancerrule"][0]["id"] == lb["id"]
    updated = cloud.ok(
        alice.keys, "updateLoadBalancerRule", id=lb["id"], algorithm="leastconn", name="w2"
    )
    assert (updated["loadbalancer"]["algorithm"], updated["loadbalancer"]["name"]) == (
        "leastconn",
        "w2",
    )
    assert provider.applied[(net.uuid, Service.LB)][0].algorithm == "leastconn"
    cloud.ok(alice.keys, "deleteLoadBalancerRule", id=lb["id"])
    assert provider.applied[(net.uuid, Service.LB)] == ()
    assert provider.applied[(net.uuid, Service.FIREWALL)] == ()  # its opening went too


@pytest.mark.parametrize(
    ("params", "param", "text"),
    [
        ({"algorithm": "random"}, "algorithm", "not supported"),
        ({"publicport": 0}, "publicport", "invalid port"),
        ({"privateport": 70000}, "privateport", "invalid port"),
        ({"cidrlist": "10.0.0.0/8"}, "cidrlist", "deprecated"),
        ({"publicipid": None}, "publicipid", "elastic load balancing"),
    ],
)
def test_bad_load_balancer_parameters_are_431(
    cloud: Cloud, alice: Tenant, net: GuestNet, params: dict[str, Any], param: str, text: str
) -> None:
    base = {"publicipid": _ip(net, 1), "name": "w", "algorithm": "source", "publicport": 80,
            "privateport": 80}  # fmt: skip
    bad = cloud.fail(alice.keys, "createLoadBalancerRule", **{**base, **params})
    assert bad["errorcode"] == 431 and bad["errortext"].startswith(param), bad
    assert text in bad["errortext"]


def test_members_must_be_the_owners_live_vms_on_the_network_once(
    runtime: Runtime, cloud: Cloud, alice: Tenant, bob: Tenant, zone: int, net: GuestNet
) -> None:
    from network_rules_world import make_network

    lb = _lb(cloud, alice, net)
    vm = next(iter(net.vms))
    cloud.ok(alice.keys, "assignToLoadBalancerRule", id=lb["id"], virtualmachineids=vm)
    again = cloud.refused(alice.keys, "assignToLoadBalancerRule", id=lb["id"], virtualmachineids=vm)
    assert again["errorcode"] == 431 and "already assigned" in again["errortext"]
    other = make_network(runtime, zone, alice, cidr="10.5.5.0/24")
    stray = add_vm(runtime, zone, other, alice, "stray", "10.5.5.5")
    bad = cloud.refused(
        alice.keys, "assignToLoadBalancerRule", id=lb["id"], virtualmachineids=stray
    )
    assert bad["errorcode"] == 431 and "no NIC on network" in bad["errortext"]
    bobs = add_vm(
        runtime, zone, make_network(runtime, zone, bob, cidr="10.6.6.0/24"), bob, "b", "10.6.6.6"
    )
    bad = cloud.refused(alice.keys, "assignToLoadBalancerRule", id=lb["id"], virtualmachineids=bobs)
    assert bad["errorcode"] == 531
    bad = cloud.refused(
        alice.keys, "removeFromLoadBalancerRule", id=lb["id"], virtualmachineids=stray
    )
    assert bad["errorcode"] == 431 and "not assigned" in bad["errortext"]


def test_a_refused_assignment_is_undone(
    runtime: Runtime, cloud: Cloud, alice: Tenant, net: GuestNet, provider: type[RecordingProvider]
) -> None:
    lb = _lb(cloud, alice, net)
    provider.refuse.add(Service.LB)
    bad = cloud.refused(
        alice.keys, "assignToLoadBalancerRule", id=lb["id"], virtualmachineids=next(iter(net.vms))
    )
    assert bad["errorcode"] == 530
    with runtime.sessions() as session:
        assert session.scalars(select(LbVmMap)).all() == []


def test_load_balancing_and_port_forwarding_cannot_share_a_port(
    cloud: Cloud, alice: Tenant, net: GuestNet
) -> None:
    _lb(cloud, alice, net)
    bad = cloud.fail(
        alice.keys, "createPortForwardingRule", ipaddressid=_ip(net, 1), protocol="tcp",
        publicport=80, privateport=80, virtualmachineid=next(iter(net.vms)), openfirewall=False,
    )  # fmt: skip
    assert bad["errorcode"] == 537


# ---- stickiness ---------------------------------------------------------------------------------


def test_stickiness_policies_follow_the_providers_methods_req_lb_02(
    cloud: Cloud, alice: Tenant, net: GuestNet, provider: type[RecordingProvider]
) -> None:
    """REQ-LB-01/02: one policy per load balancer, a method of the provider's
    ``SupportedStickinessMethods`` with that method's parameters."""
    lb = _lb(cloud, alice, net)
    created = cloud.ok(
        alice.keys, "createLBStickinessPolicy", lbruleid=lb["id"], name="sticky",
        methodname="sourcebased", **{"param[0].name": "tablesize", "param[0].value": "200k",
                                      "param[1].name": "expire", "param[1].value": "30m"},
    )["stickinesspolicies"]  # fmt: skip
    assert created["lbruleid"] == lb["id"]
    (policy,) = created["stickinesspolicy"]
    assert policy["methodname"] == "SourceBased" and policy["state"] == "Active"
    assert policy["params"] == {"expire": "30m", "tablesize": "200k"}
    (applied,) = provider.applied[(net.uuid, Service.LB)]
    assert applied.stickiness == StickinessPolicy(
        "sticky", "SourceBased", {"expire": "30m", "tablesize": "200k"}
    )
    again = cloud.fail(alice.keys, "createLBStickinessPolicy", lbruleid=lb["id"], name="two",
                       methodname="LbCookie")  # fmt: skip
    assert again["errorcode"] == 431 and "Already policy attached" in again["errortext"]
    listed = cloud.call(alice.keys, "listLBStickinessPolicies", lbruleid=lb["id"])
    assert listed["stickinesspolicies"][0]["stickinesspolicy"][0]["id"] == policy["id"]
    cloud.ok(alice.keys, "deleteLBStickinessPolicy", id=policy["id"])
    assert provider.applied[(net.uuid, Service.LB)][0].stickiness is None


@pytest.mark.parametrize(
    ("method", "params", "param", "text"),
    [
        ("RandomCookie", {}, "methodname", "not a stickiness method"),
        ("LbCookie", {"holdtime": "3h"}, "param", "not a parameter of stickiness method"),
        ("AppCookie", {"length": "12"}, "param", "requires cookie-name"),
        ("AppCookie", {"cookie-name": "J", "length": "long"}, "param", "length must be"),
        ("AppCookie", {"cookie-name": "J", "holdtime": "soon"}, "param", "holdtime must be"),
        ("SourceBased", {"tablesize": "lots"}, "param", "tablesize must be"),
        ("LbCookie", {"nocache": "maybe"}, "param", "is a flag"),
    ],
)
def test_bad_stickiness_policies_are_431(
    cloud: Cloud,
    alice: Tenant,
    net: GuestNet,
    method: str,
    params: dict[str, str],
    param: str,
    text: str,
) -> None:
    lb = _lb(cloud, alice, net)
    wire: dict[str, str] = {}
    for index, (name, value) in enumerate(params.items()):
        wire[f"param[{index}].name"], wire[f"param[{index}].value"] = name, value
    bad = cloud.fail(alice.keys, "createLBStickinessPolicy", lbruleid=lb["id"], name="p",
                     methodname=method, **wire)  # fmt: skip
    assert bad["errorcode"] == 431 and bad["errortext"].startswith(param), bad
    assert text in bad["errortext"]


def test_a_refused_policy_is_removed_again(
    runtime: Runtime, cloud: Cloud, alice: Tenant, net: GuestNet, provider: type[RecordingProvider]
) -> None:
    lb = _lb(cloud, alice, net)
    provider.refuse.add(Service.LB)
    bad = cloud.refused(alice.keys, "createLBStickinessPolicy", lbruleid=lb["id"], name="p",
                        methodname="LbCookie")  # fmt: skip
    assert bad["errorcode"] == 530
    with runtime.sessions() as session:
        assert session.scalars(select(LbStickinessPolicy)).all() == []


# ---- tenants ----------------------------------------------------------------------------------


def test_another_account_cannot_see_or_touch_load_balancers(
    cloud: Cloud, alice: Tenant, bob: Tenant, net: GuestNet
) -> None:
    lb = _lb(cloud, alice, net)
    assert cloud.call(bob.keys, "listLoadBalancerRules") == {}
    assert cloud.fail(bob.keys, "listLoadBalancerRuleInstances", id=lb["id"])["errorcode"] == 531
    assert cloud.fail(bob.keys, "listLBStickinessPolicies", lbruleid=lb["id"])["errorcode"] == 531
    assert cloud.refused(bob.keys, "deleteLoadBalancerRule", id=lb["id"])["errorcode"] == 531
    bad = cloud.fail(
        bob.keys, "createLBStickinessPolicy", lbruleid=lb["id"], name="x", methodname="LbCookie"
    )
    assert bad["errorcode"] == 531
    assert cloud.call(alice.keys, "listLoadBalancerRules")["count"] == 1
