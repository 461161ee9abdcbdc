"""The tables of the rules tenants put on public IPs and guest networks, in CloudStack
4.1's shape: ``firewall_rules`` is the base row of every rule (firewall, egress
firewall, port forwarding, IP forwarding under static NAT, load balancing, the VPN's
own openings), with the source CIDRs in ``firewall_rules_cidrs``; port forwarding and
load balancing add a row of their own keyed by the same id; a load balancer's members
and stickiness policies hang off its row. Static NAT itself is a state of the public
IP (``user_ip_address.one_to_one_nat``, ``vm_id``: the IPAM's columns).

**States** (4.1 ``FirewallRule.State``): a rule is created ``Add``, becomes ``Active``
once the network's provider applied it, and is ``Revoke`` while being removed; the row
is deleted once the provider applied the set without it. The desired set handed to
providers is every rule in ``Add`` or ``Active`` (:mod:`cumulo.network.rules.rulesets`).
Load balancer members and stickiness policies keep 4.1's ``revoke`` flag instead.

``related`` ties the firewall rule that ``openfirewall=true`` opened to the rule it was
opened for (port forwarding, load balancing, VPN): deleting that rule deletes it.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from cumulo.db.base import Base, IdType, UtcDateTime, new_uuid, utcnow


class RuleState(enum.StrEnum):
    """``firewall_rules.state`` (4.1 ``FirewallRule.State``)."""

    ADD = "Add"
    ACTIVE = "Active"
    REVOKE = "Revoke"


LIVE_STATES = (RuleState.ADD.value, RuleState.ACTIVE.value)
"""States of rules that belong to the desired set (not being removed)."""


class Purpose(enum.StrEnum):
    """``firewall_rules.purpose`` (4.1 ``FirewallRule.Purpose``)."""

    FIREWALL = "Firewall"
    PORT_FORWARDING = "PortForwarding"
    LOAD_BALANCING = "LoadBalancing"
    STATIC_NAT = "StaticNat"
    VPN = "Vpn"


class RuleType(enum.StrEnum):
    """``firewall_rules.type``: made by a tenant, or by the system for it."""

    USER = "User"
    SYSTEM = "System"


class TrafficType(enum.StrEnum):
    """``firewall_rules.traffic_type``: ingress rules open a public IP, egress rules let
    a guest network out."""

    INGRESS = "Ingress"
    EGRESS = "Egress"


class NetworkRule(Base):
    """One rule of any purpose (4.1 ``firewall_rules``).

    ``start_port``/``end_port`` are the public (source) ports; ``None`` for ICMP and
    for a TCP/UDP firewall rule opening every port. Egress rules have no public IP.
    """

    __tablename__ = "firewall_rules"
    __table_args__ = (
        # The rule sets of a network are read by purpose; a public IP's rules are read
        # for every conflict check; listings page an account's rules.
        Index(None, "network_id", "purpose", "state"),
        Index(None, "ip_address_id", "purpose"),
        Index(None, "account_id", "purpose"),
        Index(None, "related"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(40), unique=True, default=new_uuid)
    ip_address_id: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("user_ip_address.id", ondelete="CASCADE")
    )
    start_port: Mapped[int | None] = mapped_column(Integer)
    end_port: Mapped[int | None] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(32), default=RuleState.ADD.value)
    protocol: Mapped[str] = mapped_column(String(16), default="tcp")
    purpose: Mapped[str] = mapped_column(String(32))
    account_id: Mapped[int] = mapped_column(IdType, ForeignKey("account.id"))
    domain_id: Mapped[int] = mapped_column(IdType, ForeignKey("domain.id"))
    network_id: Mapped[int] = mapped_column(IdType, ForeignKey("networks.id", ondelete="CASCADE"))
    created: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    icmp_code: Mapped[int | None] = mapped_column(Integer)
    icmp_type: Mapped[int | None] = mapped_column(Integer)
    related: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("firewall_rules.id", ondelete="CASCADE")
    )
    type: Mapped[str] = mapped_column(String(10), default=RuleType.USER.value)
    traffic_type: Mapped[str] = mapped_column(String(16), default=TrafficType.INGRESS.value)


class RuleCidr(Base):
    """A source CIDR of a rule (4.1 ``firewall_rules_cidrs``); egress rules keep their
    guest source CIDRs here too."""

    __tablename__ = "firewall_rules_cidrs"
    __table_args__ = (UniqueConstraint("firewall_rule_id", "source_cidr"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    firewall_rule_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("firewall_rules.id", ondelete="CASCADE")
    )
    source_cidr: Mapped[str] = mapped_column(String(43))


class PortForwardingTarget(Base):
    """Where a port-forwarding rule sends its traffic (4.1 ``port_forwarding_rules``):
    the VM and its guest address on the rule's network, and the private ports (a range
    as long as the public one)."""

    __tablename__ = "port_forwarding_rules"

    id: Mapped[int] = mapped_column(
        IdType, ForeignKey("firewall_rules.id", ondelete="CASCADE"), primary_key=True
    )
    instance_id: Mapped[int] = mapped_column(IdType, ForeignKey("vm_instance.id"), index=True)
    dest_ip_address: Mapped[str] = mapped_column(String(40))
    dest_port_start: Mapped[int] = mapped_column(Integer)
    dest_port_end: Mapped[int] = mapped_column(Integer)


class LbRule(Base):
    """A load balancer (4.1 ``load_balancing_rules``): the public port is the base
    rule's ``start_port``; ``default_port_start`` is the VMs' private port."""

    __tablename__ = "load_balancing_rules"

    id: Mapped[int] = mapped_column(
        IdType, ForeignKey("firewall_rules.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(String(4096))
    default_port_start: Mapped[int] = mapped_column(Integer)
    default_port_end: Mapped[int] = mapped_column(Integer)
    algorithm: Mapped[str] = mapped_column(String(255))


class LbVmMap(Base):
    """A VM behind a load balancer (4.1 ``load_balancer_vm_map``); ``revoke`` while
    ``removeFromLoadBalancerRule`` is being applied."""

    __tablename__ = "load_balancer_vm_map"
    __table_args__ = (UniqueConstraint("load_balancer_id", "instance_id"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    load_balancer_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("load_balancing_rules.id", ondelete="CASCADE")
    )
    instance_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("vm_instance.id", ondelete="CASCADE"), index=True
    )
    revoke: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class LbStickinessPolicy(Base):
    """A load balancer's stickiness policy (4.1 ``load_balancer_stickiness_policies``);
    ``params`` is the JSON object of the method's parameters as given."""

    __tablename__ = "load_balancer_stickiness_policies"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(40), unique=True, default=new_uuid)
    load_balancer_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("load_balancing_rules.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(String(4096))
    method_name: Mapped[str] = mapped_column(String(255))
    params: Mapped[str] = mapped_column(String(4096), default="{}")
    revoke: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
