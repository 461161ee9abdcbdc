"""Whether a new rule on a public IP conflicts with the rules it already has (4.1
``FirewallManagerImpl.detectRulesConflict``), in one statement whatever their number.

The semantics, per pair of the new rule and a live existing one:

- a **firewall** rule only opens ports; it never conflicts with a forwarding rule
  (port forwarding, load balancing, IP forwarding, VPN), and two firewall rules
  conflict only when they would open the same thing twice: same protocol, overlapping
  ports (or, for ICMP, the same type and code) and at least one source CIDR in common;
- **IP forwarding** (static NAT) and any other forwarding cannot share an IP;
- two **forwarding** rules conflict when their public ports overlap, except port
  forwarding (or IP forwarding) rules of different protocols (TCP 80 and UDP 80 may
  go to different VMs);
- rules of another network cannot share the IP (4.1 says so for moved addresses).

A conflict is :class:`~cumulo.sdk.errors.NetworkRuleConflict` (537), as 4.1's
``NetworkRuleConflictException``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.orm import Session

from cumulo.network.rules.models import (
    LIVE_STATES,
    NetworkRule,
    Purpose,
    RuleCidr,
    TrafficType,
)
from cumulo.network.rules.validation import ICMP, overlaps
from cumulo.sdk.errors import NetworkRuleConflict


@dataclass(frozen=True)
class Candidate:
    """The rule about to be added."""

    purpose: Purpose
    protocol: str
    start_port: int | None
    end_port: int | None
    network_id: int
    icmp_type: int | None = None
    icmp_code: int | None = None
    cidrs: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Existing:
    uuid: str
    purpose: str
    protocol: str
    start_port: int | None
    end_port: int | None
    network_id: int
    icmp_type: int | None
    icmp_code: int | None
    cidrs: frozenset[str]


def _existing(session: Session, where: ColumnElement[bool]) -> list[_Existing]:
    rule = NetworkRule
    rows = session.execute(
        select(
            rule.id,
            rule.uuid,
            rule.purpose,
            rule.protocol,
            rule.start_port,
            rule.end_port,
            rule.network_id,
            rule.icmp_type,
            rule.icmp_code,
            RuleCidr.source_cidr,
        )
        .outerjoin(RuleCidr, RuleCidr.firewall_rule_id == rule.id)
        .where(where, rule.state.in_(LIVE_STATES))
        .order_by(rule.id)
    ).all()
    cidrs: dict[int, set[str]] = defaultdict(set)
    first: dict[int, Any] = {}
    for row in rows:
        first.setdefault(row.id, row)
        if row.source_cidr is not None:
            cidrs[row.id].add(row.source_cidr)
    return [
        _Existing(
            uuid=row.uuid,
            purpose=row.purpose,
            protocol=row.protocol,
            start_port=row.start_port,
            end_port=row.end_port,
            network_id=row.network_id,
            icmp_type=row.icmp_type,
            icmp_code=row.icmp_code,
            cidrs=frozenset(cidrs[rule_id]),
        )
        for rule_id, row in first.items()
    ]


def check(session: Session, ip_id: int, new: Candidate, ip_address: str) -> None:
    """Refuse ``new`` if it conflicts with a live rule on the IP (module doc).

    :raises NetworkRuleConflict: naming the rule it conflicts with (537).
    """
    for old in _existing(session, NetworkRule.ip_address_id == ip_id):
        _check_pair(new, old, ip_address)


def opened_already(session: Session, ip_id: int, protocol: str, start: int, end: int) -> bool:
    """Whether a live firewall rule of the IP already opens ``start``-``end`` of
    ``protocol`` to every source (then ``openfirewall`` need not open it again, and
    must not: the same opening twice would conflict)."""
    for old in _existing(session, NetworkRule.ip_address_id == ip_id):
        if old.purpose != Purpose.FIREWALL.value or old.protocol != protocol:
            continue
        if "0.0.0.0/0" not in old.cidrs:
            continue
        if old.start_port is None or (
            old.start_port <= start and (old.end_port or old.start_port) >= end
        ):
            return True
    return False


def check_egress(session: Session, network_id: int, new: Candidate) -> None:
    """Refuse egress rule ``new`` if a live egress rule of the network already allows
    the same traffic (the firewall-pair test of the module doc).

    :raises NetworkRuleConflict: naming that rule (537).
    """
    where = and_(
        NetworkRule.network_id == network_id,
        NetworkRule.purpose == Purpose.FIREWALL.value,
        NetworkRule.traffic_type == TrafficType.EGRESS.value,
    )
    for old in _existing(session, where):
        _check_firewall_pair(new, old)


def _check_pair(new: Candidate, old: _Existing, ip_address: str) -> None:
    firewall = Purpose.FIREWALL.value
    if old.network_id != new.network_id:
        raise NetworkRuleConflict(
            f"The IP address {ip_address} has rule {old.uuid} for another network"
        )
    if (new.purpose == firewall) != (old.purpose == firewall):
        return  # opening a port never conflicts with forwarding it
    if new.purpose == firewall:
        _check_firewall_pair(new, old)
        return
    static_nat = Purpose.STATIC_NAT.value
    if (new.purpose == static_nat) != (old.purpose == static_nat):
        raise NetworkRuleConflict(
            f"The IP address {ip_address} has static NAT (IP forwarding) rules and"
            f" {old.purpose} rules can't share it: rule {old.uuid}"
            if old.purpose == static_nat
            else f"The IP address {ip_address} already has {old.purpose} rule {old.uuid};"
            " IP forwarding rules can't share it"
        )
    if not _ports_overlap(new, old):
        return
    forwarding_kinds = (Purpose.PORT_FORWARDING.value, static_nat)
    if new.purpose == old.purpose in forwarding_kinds and new.protocol != old.protocol:
        return
    raise NetworkRuleConflict(
        f"The range specified, {new.start_port}-{new.end_port}, conflicts with rule"
        f" {old.uuid} which has {old.start_port}-{old.end_port}"
    )


def _check_firewall_pair(new: Candidate, old: _Existing) -> None:
    if new.protocol != old.protocol or not (set(new.cidrs) & old.cidrs):
        return
    if new.protocol == ICMP:
        if (new.icmp_type, new.icmp_code) == (old.icmp_type, old.icmp_code):
            raise NetworkRuleConflict(
                f"New rule conflicts with existing firewall rule {old.uuid} (ICMP type"
                f" {old.icmp_type} code {old.icmp_code} from the same source CIDRs)"
            )
        return
    if new.start_port is None or old.start_port is None:
        # A rule without ports opens every port of its protocol.
        raise NetworkRuleConflict(
            f"New rule conflicts with existing firewall rule {old.uuid}, which opens"
            f" the same {old.protocol} ports to the same source CIDRs"
        )
    if _ports_overlap(new, old):
        raise NetworkRuleConflict(
            f"The range specified, {new.start_port}-{new.end_port}, conflicts with"
            f" firewall rule {old.uuid} which has {old.start_port}-{old.end_port} for the"
            " same source CIDRs"
        )


def _ports_overlap(new: Candidate, old: _Existing) -> bool:
    if new.start_port is None or old.start_port is None:
        return False
    return overlaps(
        new.start_port,
        new.end_port if new.end_port is not None else new.start_port,
        old.start_port,
        old.end_port if old.end_port is not None else old.start_port,
    )
