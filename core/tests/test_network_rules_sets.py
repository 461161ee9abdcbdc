"""The rule sets handed to providers are built set-based: a fixed number of statements
whatever the number of rules, members, groups or users (the orchestrator's contract).
Each builder is measured on a network holding a few and then many of everything."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, insert
from sqlalchemy.orm import Session

from cumulo.infra.hosts.connection import conceal
from cumulo.network import orchestrator
from cumulo.network.rules import rulesets
from cumulo.network.rules.models import (
    LbRule,
    LbStickinessPolicy,
    LbVmMap,
    NetworkRule,
    PortForwardingTarget,
    RuleCidr,
)
from cumulo.network.security_groups import rulesets as sg_rulesets
from cumulo.network.security_groups.models import (
    SecurityGroup,
    SecurityGroupRule,
    SecurityGroupVmMap,
)
from cumulo.network.vpn import rulesets as vpn_rulesets
from cumulo.network.vpn.models import RemoteAccessVpn, VpnUser
from cumulo.runtime import Runtime
from cumulo.sdk.network import Service

pytest.register_assert_rewrite("network_rules_world")
from network_rules_world import (  # noqa: E402
    GuestNet,
    Tenant,
    add_public_ips,
    add_vm,
)

pytest_plugins = ("network_rules_world",)


@contextmanager
def counted(session: Session) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(*args: Any) -> None:
        if not args[2].startswith("BEGIN"):  # SQLite's transaction start, not a query
            seen.append(args[2])

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def _grow(runtime: Runtime, zone: int, net: GuestNet, alice: Tenant, size: int) -> None:
    """``size`` VMs, and per VM: a firewall rule with two CIDRs, a port forwarding rule,
    a load balancer with that VM and a policy, security group rules and a VPN user."""
    start = len(net.vms)
    vm_uuids = [
        add_vm(runtime, zone, net, alice, f"vm{start + i}", f"10.1.1.{20 + start + i}")
        for i in range(size)
    ]
    ips = add_public_ips(runtime, zone, net, alice, size, base=f"198.51.{start}")
    with runtime.sessions.begin() as session:
        from sqlalchemy import select

        from cumulo.compute.models import VirtualMachine
        from cumulo.infra.models import UserIpAddress

        vms = dict(session.execute(select(VirtualMachine.uuid, VirtualMachine.id)).all())
        ip_ids = dict(session.execute(select(UserIpAddress.uuid, UserIpAddress.id)).all())
        group = SecurityGroup(
            name=f"g{start}", account_id=alice.account_id, domain_id=alice.domain_id
        )
        session.add(group)
        session.flush()
        secret = conceal("secret", runtime.database_key, runtime.algorithm)
        for index, (vm_uuid, ip_uuid) in enumerate(zip(vm_uuids, ips, strict=True)):
            vm_id = vms[vm_uuid]
            common = {
                "network_id": net.id,
                "account_id": alice.account_id,
                "domain_id": alice.domain_id,
                "ip_address_id": ip_ids[ip_uuid],
                "state": "Active",
                "protocol": "tcp",
            }
            fw = NetworkRule(purpose="Firewall", start_port=22, end_port=22, **common)
            pf = NetworkRule(purpose="PortForwarding", start_port=80, end_port=80, **common)
            lb = NetworkRule(purpose="LoadBalancing", start_port=443, end_port=443, **common)
            session.add_all([fw, pf, lb])
            session.flush()
            session.execute(
                insert(RuleCidr),
                [
                    {"firewall_rule_id": fw.id, "source_cidr": c}
                    for c in ("10.0.0.0/8", "1.2.0.0/16")
                ],
            )
            session.add_all(
                [
                    PortForwardingTarget(
                        id=pf.id,
                        instance_id=vm_id,
                        dest_ip_address=net.vms[vm_uuid],
                        dest_port_start=80,
                        dest_port_end=80,
                    ),
                    LbRule(
                        id=lb.id,
                        name=f"lb{index}",
                        default_port_start=8443,
                        default_port_end=8443,
                        algorithm="source",
                    ),
                ]
            )
            session.flush()
            rule = {"security_group_id": group.id, "type": "ingress", "protocol": "tcp"}
            session.add_all(
                [
                    LbVmMap(load_balancer_id=lb.id, instance_id=vm_id),
                    LbStickinessPolicy(
                        load_balancer_id=lb.id, name="s", method_name="SourceBased", params="{}"
                    ),
                    SecurityGroupVmMap(security_group_id=group.id, instance_id=vm_id),
                    SecurityGroupRule(
                        start_port=index, end_port=index, allowed_ip_cidr="0.0.0.0/0", **rule
                    ),
                    SecurityGroupRule(
                        start_port=index, end_port=index, allowed_network_id=group.id, **rule
                    ),
                    VpnUser(
                        owner_id=alice.account_id,
                        domain_id=alice.domain_id,
                        username=f"u{start}-{index}",
                        password=secret,
                        state="Active",
                    ),
                ]
            )


BUILDERS: dict[str, tuple[Callable[[Session, int], Any], int]] = {
    "firewall": (rulesets.firewall_rules, 2),
    "port forwarding": (rulesets.port_forwarding_rules, 1),
    "static nat": (rulesets.static_nat_rules, 1),
    "load balancers": (rulesets.load_balancers, 3),
    "security groups": (sg_rulesets.security_rules, 3),
    "vpn": (vpn_rulesets.remote_access_vpn, 2),
}


def test_every_rule_service_has_a_registered_builder() -> None:
    registered = orchestrator.registered_rule_sets()
    assert registered[Service.FIREWALL] is rulesets.firewall_rules
    assert registered[Service.PORT_FORWARDING] is rulesets.port_forwarding_rules
    assert registered[Service.STATIC_NAT] is rulesets.static_nat_rules
    assert registered[Service.LB] is rulesets.load_balancers
    assert registered[Service.SECURITY_GROUP] is sg_rulesets.security_rules
    assert registered[Service.VPN] is vpn_rulesets.remote_access_vpn


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_builders_take_a_fixed_number_of_statements(
    runtime: Runtime, zone: int, alice: Tenant, net: GuestNet, name: str
) -> None:
    builder, expected = BUILDERS[name]
    with runtime.sessions.begin() as session:
        source_nat = next(iter(net.ips))
        from sqlalchemy import select

        from cumulo.infra.models import UserIpAddress

        ip_id = session.scalar(select(UserIpAddress.id).where(UserIpAddress.uuid == source_nat))
        session.add(RemoteAccessVpn(
            vpn_server_addr_id=ip_id, account_id=alice.account_id, network_id=net.id,
            domain_id=alice.domain_id, local_ip="10.1.2.1", ip_range="10.1.2.2-10.1.2.8",
            ipsec_psk=conceal("presharedkey", runtime.database_key, runtime.algorithm),
            state="Running",
        ))  # fmt: skip
    sizes = []
    for size in (3, 40):
        _grow(runtime, zone, net, alice, size)
        with runtime.sessions() as session:
            session.info["runtime"] = runtime
            with counted(session) as statements:
                built = builder(session, net.id)
            sizes.append((len(statements), built))
    (few, small), (many, large) = sizes
    assert few == many == expected, (few, many)
    if name == "vpn":
        assert len(small.users) == 3 and len(large.users) == 43
        assert large.preshared_key == "presharedkey" and large.users[0].password == "secret"
    elif name != "static nat":
        assert len(large) > len(small) >= 3
