"""Port forwarding, static NAT and IP forwarding over the real API (CAP-27, CAP-28):
the sets providers receive, the seed's rules refused with clear errors (REQ-NAT-02,
REQ-NAT-03, REQ-PF-04), conflicts, undo on refusal, tenants isolated."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from cumulo.infra.models import UserIpAddress
from cumulo.network.rules.models import NetworkRule
from cumulo.runtime import Runtime
from cumulo.sdk.network import PortForwardingRule, PortRange, Service, StaticNatRule

pytest.register_assert_rewrite("network_rules_world")
from network_rules_world import (  # noqa: E402
    Cloud,
    GuestNet,
    RecordingProvider,
    Tenant,
    add_vm,
    make_network,
)

pytest_plugins = ("network_rules_world",)


def _ip(net: GuestNet, index: int) -> str:
    return list(net.ips)[index]


def _vm(net: GuestNet) -> str:
    return next(iter(net.vms))


def _pf(cloud: Cloud, tenant: Tenant, net: GuestNet, **params: object) -> dict[str, object]:
    base: dict[str, object] = {
        "ipaddressid": _ip(net, 1),
        "protocol": "tcp",
        "publicport": 8080,
        "privateport": 80,
        "virtualmachineid": _vm(net),
    }
    return cloud.ok(tenant.keys, "createPortForwardingRule", **{**base, **params})  # type: ignore[no-any-return]


# ---- port forwarding ----------------------------------------------------------------------------


def test_port_forwarding_opens_and_forwards_to_the_vm_guest_address(
    cloud: Cloud, alice: Tenant, net: GuestNet, provider: type[RecordingProvider]
) -> None:
    """REQ-PF-01/03 and libcloud's listing fields."""
    rule = _pf(cloud, alice, net, publicendport=8090, privateendport=90)["portforwardingrule"]
    assert rule["state"] == "Active" and rule["virtualmachineid"] == _vm(net)  # type: ignore[index]
    assert (rule["publicport"], rule["publicendport"]) == ("8080", "8090")  # type: ignore[index]
    assert (rule["privateport"], rule["privateendport"]) == ("80", "90")  # type: ignore[index]
    assert rule["virtualmachinename"] == "web1" and rule["ipaddress"] == net.ips[_ip(net, 1)]  # type: ignore[index]
    assert provider.applied[(net.uuid, Service.PORT_FORWARDING)] == (
        PortForwardingRule(
            uuid=rule["id"], public_ip=net.ips[_ip(net, 1)], protocol="tcp",  # type: ignore[index]
            public_ports=PortRange(8080, 8090), guest_ip="10.1.1.11",
            private_ports=PortRange(80, 90),
        ),
    )  # fmt: skip
    # openfirewall (default true) opened the public range for every source.
    (opening,) = provider.applied[(net.uuid, Service.FIREWALL)]
    assert (opening.ports, opening.cidrs) == (PortRange(8080, 8090), ("0.0.0.0/0",))
    listed = cloud.call(alice.keys, "listPortForwardingRules", ipaddressid=_ip(net, 1))
    assert listed["count"] == 1 and listed["portforwardingrule"][0]["id"] == rule["id"]  # type: ignore[index]
    # Deleting it removes its opening too.
    cloud.ok(alice.keys, "deletePortForwardingRule", id=rule["id"])  # type: ignore[index]
    assert provider.applied[(net.uuid, Service.PORT_FORWARDING)] == ()
    assert provider.applied[(net.uuid, Service.FIREWALL)] == ()


def test_openfirewall_false_opens_nothing(
    cloud: Cloud, alice: Tenant, net: GuestNet, provider: type[RecordingProvider]
) -> None:
    _pf(cloud, alice, net, openfirewall=False)
    assert (net.uuid, Service.FIREWALL) not in provider.applied
    assert cloud.call(alice.keys, "listFirewallRules") == {}


@pytest.mark.parametrize(
    ("params", "param", "text"),
    [
        ({"protocol": "icmp"}, "protocol", "invalid protocol"),
        ({"publicport": 0}, "publicport", "invalid port"),
        ({"privateport": 65536}, "privateport", "invalid port"),
        ({"publicendport": 8081}, "privateendport", "equal length"),
        ({"cidrlist": "10.0.0.0/8"}, "cidrlist", "deprecated"),
    ],
)
def test_bad_port_forwarding_parameters_are_431(
    cloud: Cloud, alice: Tenant, net: GuestNet, params: dict[str, object], param: str, text: str
) -> None:
    base: dict[str, object] = {
        "ipaddressid": _ip(net, 1), "protocol": "tcp", "publicport": 8080, "privateport": 80,
        "virtualmachineid": _vm(net),
    }  # fmt: skip
    bad = cloud.fail(alice.keys, "createPortForwardingRule", **{**base, **params})
    assert bad["errorcode"] == 431 and bad["errortext"].startswith(param), bad
    assert text in bad["errortext"]


def test_overlapping_public_ports_conflict_but_another_protocol_does_not(
    cloud: Cloud, alice: Tenant, net: GuestNet
) -> None:
    _pf(cloud, alice, net, publicendport=8090, privateendport=90)
    params = {
        "ipaddressid": _ip(net, 1), "protocol": "tcp", "publicport": 8085, "privateport": 85,
        "virtualmachineid": _vm(net), "openfirewall": False,
    }  # fmt: skip
    clash = cloud.fail(alice.keys, "createPortForwardingRule", **params)
    assert clash["errorcode"] == 537 and "conflicts with rule" in clash["errortext"]
    _pf(cloud, alice, net, protocol="udp", publicport=8085, privateport=85, openfirewall=False)


def test_the_vm_must_be_on_the_network_and_the_address_owners(
    runtime: Runtime, cloud: Cloud, alice: Tenant, bob: Tenant, zone: int, net: GuestNet
) -> None:
    elsewhere = make_network(runtime, zone, alice, cidr="10.2.2.0/24")
    stray = add_vm(runtime, zone, elsewhere, alice, "stray", "10.2.2.5")
    bad = cloud.fail(
        alice.keys, "createPortForwardingRule", ipaddressid=_ip(net, 1), protocol="tcp",
        publicport=22, privateport=22, virtualmachineid=stray,
    )  # fmt: skip
    assert bad["errorcode"] == 431 and "has no NIC on network" in bad["errortext"]
    bobs_net = make_network(runtime, zone, bob, cidr="10.3.3.0/24")
    bobs = add_vm(runtime, zone, bobs_net, bob, "b1", "10.3.3.5")
    bad = cloud.fail(
        alice.keys, "createPortForwardingRule", ipaddressid=_ip(net, 1), protocol="tcp",
        publicport=22, privateport=22, virtualmachineid=bobs,
    )  # fmt: skip
    assert bad["errorcode"] == 531


def test_a_refused_port_forwarding_leaves_nothing_behind(
    runtime: Runtime, cloud: Cloud, alice: Tenant, net: GuestNet, provider: type[RecordingProvider]
) -> None:
    provider.refuse.add(Service.PORT_FORWARDING)
    failed = cloud.refused(
        alice.keys, "createPortForwardingRule", ipaddressid=_ip(net, 1), protocol="tcp",
        publicport=22, privateport=22, virtualmachineid=_vm(net),
    )  # fmt: skip
    assert failed["errorcode"] == 530
    with runtime.sessions() as session:
        assert session.scalars(select(NetworkRule)).all() == []


def test_update_port_forwarding_changes_the_private_port(
    cloud: Cloud, alice: Tenant, net: GuestNet, provider: type[RecordingProvider]
) -> None:
    _pf(cloud, alice, net)
    updated = cloud.ok(
        alice.keys, "updatePortForwardingRule", ipaddressid=_ip(net, 1), protocol="tcp",
        publicport="8080", privateport="8000", privateip="10.1.1.11",
    )["portforwardingrule"]  # fmt: skip
    assert updated["privateport"] == "8000"
    (applied,) = provider.applied[(net.uuid, Service.PORT_FORWARDING)]
    assert applied.private_ports == PortRange(8000, 8000)
    bad = cloud.refused(
        alice.keys, "updatePortForwardingRule", ipaddressid=_ip(net, 1), protocol="tcp",
        publicport="9999", privateport="8000",
    )  # fmt: skip
    assert bad["errorcode"] == 431 and "no tcp port forwarding rule" in bad["errortext"]


# ---- static NAT -------------------------------------------------------------------------------


def test_static_nat_maps_and_unmaps_the_vm(
    runtime: Runtime, cloud: Cloud, alice: Tenant, net: GuestNet, provider: type[RecordingProvider]
) -> None:
    """REQ-NAT-01/04: enableStaticNat (synchronous), disableStaticNat (a job)."""
    ip, vm = _ip(net, 2), _vm(net)
    assert cloud.call(alice.keys, "enableStaticNat", ipaddressid=ip, virtualmachineid=vm) == {
        "success": "true"
    }
    assert provider.applied[(net.uuid, Service.STATIC_NAT)] == (
        StaticNatRule(public_ip=net.ips[ip], guest_ip="10.1.1.11", vm_uuid=vm),
    )
    fwd = cloud.ok(alice.keys, "createIpForwardingRule", ipaddressid=ip, protocol="tcp",
                   startport=22, endport=25)["ipforwardingrule"]  # fmt: skip
    assert (fwd["startport"], fwd["endport"], fwd["virtualmachineid"]) == (22, 25, vm)
    listed = cloud.call(alice.keys, "listIpForwardingRules", virtualmachineid=vm)
    assert listed["ipforwardingrule"][0]["id"] == fwd["id"]
    # The IP forwarding rule and its opening reach providers as openings of the address.
    assert {r.ports for r in provider.applied[(net.uuid, Service.FIREWALL)]} == {PortRange(22, 25)}
    assert cloud.ok(alice.keys, "disableStaticNat", ipaddressid=ip) == {"success": True}
    assert provider.applied[(net.uuid, Service.STATIC_NAT)] == ()
    assert provider.applied[(net.uuid, Service.FIREWALL)] == ()
    assert cloud.call(alice.keys, "listIpForwardingRules") == {}
    with runtime.sessions() as session:
        row = session.scalars(select(UserIpAddress).where(UserIpAddress.uuid == ip)).one()
        assert (row.one_to_one_nat, row.vm_id, row.vm_ip_address) == (False, None, None)


def test_static_nat_is_refused_on_an_address_with_port_forwarding_req_nat_02(
    cloud: Cloud, alice: Tenant, net: GuestNet
) -> None:
    """REQ-NAT-02 / REQ-PF-04, both ways round."""
    _pf(cloud, alice, net)
    bad = cloud.fail(
        alice.keys, "enableStaticNat", ipaddressid=_ip(net, 1), virtualmachineid=_vm(net)
    )
    assert bad["errorcode"] == 431 and "PortForwarding rules" in bad["errortext"]
    cloud.call(alice.keys, "enableStaticNat", ipaddressid=_ip(net, 2), virtualmachineid=_vm(net))
    bad = cloud.fail(
        alice.keys, "createPortForwardingRule", ipaddressid=_ip(net, 2), protocol="tcp",
        publicport=22, privateport=22, virtualmachineid=_vm(net),
    )  # fmt: skip
    assert bad["errorcode"] == 431 and "static NAT is enabled" in bad["errortext"]


def test_static_nat_only_on_the_vm_default_network_req_nat_03(
    runtime: Runtime, cloud: Cloud, alice: Tenant, zone: int, net: GuestNet
) -> None:
    """REQ-NAT-03: a VM on several networks gets static NAT on its default one only."""
    second = add_vm(runtime, zone, net, alice, "multi", "10.1.1.40", default=False)
    bad = cloud.fail(
        alice.keys, "enableStaticNat", ipaddressid=_ip(net, 2), virtualmachineid=second
    )
    assert bad["errorcode"] == 431 and "default network" in bad["errortext"]


def test_static_nat_refusals(
    cloud: Cloud, alice: Tenant, zone: int, net: GuestNet, runtime: Runtime
) -> None:
    vm = _vm(net)
    bad = cloud.fail(alice.keys, "enableStaticNat", ipaddressid=_ip(net, 0), virtualmachineid=vm)
    assert bad["errorcode"] == 431 and "source NAT" in bad["errortext"]
    cloud.call(alice.keys, "enableStaticNat", ipaddressid=_ip(net, 1), virtualmachineid=vm)
    bad = cloud.fail(alice.keys, "enableStaticNat", ipaddressid=_ip(net, 1), virtualmachineid=vm)
    assert bad["errorcode"] == 431 and "already enabled" in bad["errortext"]
    bad = cloud.fail(alice.keys, "enableStaticNat", ipaddressid=_ip(net, 2), virtualmachineid=vm)
    assert bad["errorcode"] == 431 and "already has static NAT" in bad["errortext"]
    bad = cloud.fail(
        alice.keys, "createIpForwardingRule", ipaddressid=_ip(net, 2), protocol="tcp", startport=22
    )
    assert bad["errorcode"] == 431 and "not enabled" in bad["errortext"]
    assert (
        cloud.refused(alice.keys, "disableStaticNat", ipaddressid=_ip(net, 2))["errorcode"] == 431
    )


def test_a_refused_static_nat_is_unmapped_again(
    runtime: Runtime, cloud: Cloud, alice: Tenant, net: GuestNet, provider: type[RecordingProvider]
) -> None:
    provider.refuse.add(Service.STATIC_NAT)
    bad = cloud.fail(
        alice.keys, "enableStaticNat", ipaddressid=_ip(net, 1), virtualmachineid=_vm(net)
    )
    assert bad["errorcode"] == 530
    with runtime.sessions() as session:
        row = session.scalars(select(UserIpAddress).where(UserIpAddress.uuid == _ip(net, 1))).one()
        assert (row.one_to_one_nat, row.vm_id) == (False, None)


# ---- tenants ------------------------------------------------------------------------------------


def test_another_account_cannot_see_or_touch_forwarding(
    cloud: Cloud, alice: Tenant, bob: Tenant, net: GuestNet
) -> None:
    rule = _pf(cloud, alice, net)["portforwardingrule"]
    assert cloud.call(bob.keys, "listPortForwardingRules") == {}
    assert cloud.call(bob.keys, "listIpForwardingRules") == {}
    assert cloud.refused(bob.keys, "deletePortForwardingRule", id=rule["id"])["errorcode"] == 531  # type: ignore[index]
    bad = cloud.fail(
        bob.keys, "enableStaticNat", ipaddressid=_ip(net, 2), virtualmachineid=_vm(net)
    )
    assert bad["errorcode"] == 531
    assert cloud.call(alice.keys, "listPortForwardingRules")["count"] == 1


def test_releasing_an_address_removes_its_rules_and_static_nat(
    runtime: Runtime, cloud: Cloud, alice: Tenant, net: GuestNet, provider: type[RecordingProvider]
) -> None:
    """4.1's ``disassociateIpAddress``: the address's rules and static NAT go first, and
    the providers are told (REQ-IP-02)."""
    _pf(cloud, alice, net)
    cloud.ok(
        alice.keys, "createFirewallRule", ipaddressid=_ip(net, 1), protocol="udp", startport=53
    )
    cloud.call(alice.keys, "enableStaticNat", ipaddressid=_ip(net, 2), virtualmachineid=_vm(net))
    cloud.ok(alice.keys, "disassociateIpAddress", id=_ip(net, 1))
    assert provider.applied[(net.uuid, Service.PORT_FORWARDING)] == ()
    assert provider.applied[(net.uuid, Service.FIREWALL)] == ()
    cloud.ok(alice.keys, "disassociateIpAddress", id=_ip(net, 2))
    assert provider.applied[(net.uuid, Service.STATIC_NAT)] == ()
    with runtime.sessions() as session:
        assert session.scalars(select(NetworkRule)).all() == []
        row = session.scalars(select(UserIpAddress).where(UserIpAddress.uuid == _ip(net, 2))).one()
        assert (row.one_to_one_nat, row.vm_id) == (False, None)
