"""The whole desired rule set of a network, per service, as providers receive it
(:mod:`cumulo.sdk.network`): registered with the orchestrator when this module is
imported (:func:`cumulo.network.orchestrator.register_rule_set`).

Every builder is set-based: a fixed number of statements whatever the number of rules
(the firewall two, port forwarding one, static NAT one, load balancers three). A set
holds the rules in ``Add`` or ``Active`` state (``Revoke`` ones are on their way out),
members and policies not being revoked, ordered by id so that the same rules always
give the same set.

- **Firewall**: ingress rules on the network's addresses, egress rules (no address;
  their CIDRs are guest sources), and IP forwarding rules of statically NATed
  addresses, which reach providers as openings of that address (the contract's
  :class:`~cumulo.sdk.network.StaticNatRule`).
- **PortForwarding**: public address and ports → guest address and ports.
- **StaticNat**: the network's addresses mapped one to one to a VM.
- **Lb**: every load balancer with its members' guest addresses on the network and
  its stickiness policy.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from cumulo.compute.models import Nic, VirtualMachine
from cumulo.infra.models import UserIpAddress
from cumulo.network import orchestrator
from cumulo.network.rules.lookup import UNUSABLE_VM_STATES
from cumulo.network.rules.models import (
    LIVE_STATES,
    LbRule,
    LbStickinessPolicy,
    LbVmMap,
    NetworkRule,
    PortForwardingTarget,
    Purpose,
    RuleCidr,
    TrafficType,
)
from cumulo.network.rules.stickiness import params_of
from cumulo.sdk import network as sdk
from cumulo.sdk.network import Service

_ANYWHERE = ("0.0.0.0/0",)


def _live(network_id: int, *purposes: Purpose) -> list[ColumnElement[bool]]:
    return [
        NetworkRule.network_id == network_id,
        NetworkRule.purpose.in_([p.value for p in purposes]),
        NetworkRule.state.in_(LIVE_STATES),
    ]


def firewall_rules(session: Session, network_id: int) -> tuple[sdk.FirewallRule, ...]:
    """The Firewall set (module doc), in two statements."""
    where = _live(network_id, Purpose.FIREWALL, Purpose.STATIC_NAT)
    rule = NetworkRule
    rows = session.execute(
        select(
            rule.id,
            rule.uuid,
            rule.protocol,
            rule.start_port,
            rule.end_port,
            rule.icmp_type,
            rule.icmp_code,
            rule.traffic_type,
            UserIpAddress.public_ip_address,
        )
        .outerjoin(UserIpAddress, UserIpAddress.id == rule.ip_address_id)
        .where(*where)
        .order_by(rule.id)
    ).all()
    cidrs: dict[int, list[str]] = defaultdict(list)
    for rule_id, cidr in session.execute(
        select(RuleCidr.firewall_rule_id, RuleCidr.source_cidr)
        .join(rule, rule.id == RuleCidr.firewall_rule_id)
        .where(*where)
        .order_by(RuleCidr.id)
    ):
        cidrs[rule_id].append(cidr)
    return tuple(
        sdk.FirewallRule(
            uuid=row.uuid,
            protocol=row.protocol,
            ports=sdk.PortRange(row.start_port, row.end_port),
            icmp_type=row.icmp_type,
            icmp_code=row.icmp_code,
            cidrs=tuple(cidrs.get(row.id, ())) or _ANYWHERE,
            public_ip=""
            if row.traffic_type == TrafficType.EGRESS.value
            else row.public_ip_address or "",
        )
        for row in rows
    )


def port_forwarding_rules(session: Session, network_id: int) -> tuple[sdk.PortForwardingRule, ...]:
    """The PortForwarding set, in one statement."""
    rule = NetworkRule
    rows = session.execute(
        select(
            rule.uuid,
            rule.protocol,
            rule.start_port,
            rule.end_port,
            UserIpAddress.public_ip_address,
            PortForwardingTarget.dest_ip_address,
            PortForwardingTarget.dest_port_start,
            PortForwardingTarget.dest_port_end,
        )
        .join(PortForwardingTarget, PortForwardingTarget.id == rule.id)
        .join(UserIpAddress, UserIpAddress.id == rule.ip_address_id)
        .where(*_live(network_id, Purpose.PORT_FORWARDING))
        .order_by(rule.id)
    ).all()
    return tuple(
        sdk.PortForwardingRule(
            uuid=row.uuid,
            public_ip=row.public_ip_address,
            protocol=row.protocol,
            public_ports=sdk.PortRange(row.start_port, row.end_port),
            guest_ip=row.dest_ip_address,
            private_ports=sdk.PortRange(row.dest_port_start, row.dest_port_end),
        )
        for row in rows
    )


def static_nat_rules(session: Session, network_id: int) -> tuple[sdk.StaticNatRule, ...]:
    """The StaticNat set, in one statement."""
    ip = UserIpAddress
    rows = session.execute(
        select(ip.public_ip_address, ip.vm_ip_address, VirtualMachine.uuid)
        .outerjoin(VirtualMachine, VirtualMachine.id == ip.vm_id)
        .where(
            ip.associated_with_network_id == network_id,
            ip.one_to_one_nat.is_(True),
            ip.vm_ip_address.is_not(None),
        )
        .order_by(ip.id)
    ).all()
    return tuple(
        sdk.StaticNatRule(public_ip=address, guest_ip=guest or "", vm_uuid=vm_uuid or "")
        for address, guest, vm_uuid in rows
    )


def load_balancers(session: Session, network_id: int) -> tuple[sdk.LoadBalancerRule, ...]:
    """The Lb set, in three statements (rules, members, policies)."""
    where = _live(network_id, Purpose.LOAD_BALANCING)
    rule = NetworkRule
    rows = session.execute(
        select(
            rule.id,
            rule.uuid,
            rule.protocol,
            rule.start_port,
            LbRule.name,
            LbRule.default_port_start,
            LbRule.algorithm,
            UserIpAddress.public_ip_address,
        )
        .join(LbRule, LbRule.id == rule.id)
        .join(UserIpAddress, UserIpAddress.id == rule.ip_address_id)
        .where(*where)
        .order_by(rule.id)
    ).all()
    backends: dict[int, list[sdk.LoadBalancerBackend]] = defaultdict(list)
    for lb_id, vm_uuid, address in session.execute(
        select(LbVmMap.load_balancer_id, VirtualMachine.uuid, Nic.ip4_address)
        .join(rule, rule.id == LbVmMap.load_balancer_id)
        .join(VirtualMachine, VirtualMachine.id == LbVmMap.instance_id)
        .join(
            Nic,
            (Nic.instance_id == VirtualMachine.id)
            & (Nic.network_id == network_id)
            & Nic.removed.is_(None),
        )
        .where(
            *where,
            LbVmMap.revoke.is_(False),
            VirtualMachine.removed.is_(None),
            VirtualMachine.state.not_in(UNUSABLE_VM_STATES),
        )
        .order_by(LbVmMap.id)
    ):
        backends[lb_id].append(sdk.LoadBalancerBackend(vm_uuid, address or ""))
    policies: dict[int, sdk.StickinessPolicy] = {}
    for lb_id, name, method, params in session.execute(
        select(
            LbStickinessPolicy.load_balancer_id,
            LbStickinessPolicy.name,
            LbStickinessPolicy.method_name,
            LbStickinessPolicy.params,
        )
        .join(rule, rule.id == LbStickinessPolicy.load_balancer_id)
        .where(*where, LbStickinessPolicy.revoke.is_(False))
        .order_by(LbStickinessPolicy.id)
    ):
        policies.setdefault(lb_id, sdk.StickinessPolicy(name, method, params_of(params)))
    return tuple(
        sdk.LoadBalancerRule(
            uuid=row.uuid,
            name=row.name,
            public_ip=row.public_ip_address,
            public_port=row.start_port,
            private_port=row.default_port_start,
            algorithm=row.algorithm,
            protocol=row.protocol,
            backends=tuple(backends.get(row.id, ())),
            stickiness=policies.get(row.id),
        )
        for row in rows
    )


orchestrator.register_rule_set(Service.FIREWALL, firewall_rules)
orchestrator.register_rule_set(Service.PORT_FORWARDING, port_forwarding_rules)
orchestrator.register_rule_set(Service.STATIC_NAT, static_nat_rules)
orchestrator.register_rule_set(Service.LB, load_balancers)
