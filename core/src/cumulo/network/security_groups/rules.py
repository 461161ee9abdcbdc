"""Ingress and egress rules of security groups (``authorizeSecurityGroupIngress`` /
``Egress``, ``revokeSecurityGroupIngress`` / ``Egress``), as 4.1 checks them:

- protocol ``tcp`` (the default), ``udp``, ``icmp`` or ``all``; TCP/UDP need a start
  port (the end defaults to it, REQ-SG-07: one port is start = end), ports 0-65535;
  ICMP takes a type and code (-1: any), nothing else does;
- peers: CIDRs (``cidrlist``, comma-separated, ``0.0.0.0/0`` = all) and/or groups
  named by account + group (``usersecuritygrouplist[i].account``/``.group``, REQ-SG-07:
  naming the group itself allows its members to talk to each other); the account is
  looked up in the group owner's domain, as 4.1 does; at least one peer;
- one rule row per peer (4.1's shape); a rule that exists already is not added twice.

Rules take effect on every VM of the group, running or stopped (REQ-SG-04), by
applying the SecurityGroup set of every network those VMs have a NIC on
(:mod:`cumulo.network.security_groups.membership`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, insert, select
from sqlalchemy.orm import Session

from cumulo.accounts.models import Account
from cumulo.network.rules import validation as check
from cumulo.network.security_groups.groups import FoundGroup, ensure_default
from cumulo.network.security_groups.models import (
    DEFAULT_GROUP,
    Direction,
    SecurityGroup,
    SecurityGroupRule,
)
from cumulo.sdk.errors import InvalidParameterValue

PROTOCOLS = (check.TCP, check.UDP, check.ICMP, check.ALL)


@dataclass(frozen=True)
class RuleShape:
    """What a rule allows, peers apart: 4.1's columns (ICMP type/code in the ports)."""

    protocol: str
    start_port: int | None
    end_port: int | None


def shape(
    protocol: str | None,
    start_port: int | None,
    end_port: int | None,
    icmp_type: int | None,
    icmp_code: int | None,
) -> RuleShape:
    """Validated protocol, ports or ICMP type/code (module doc).

    :raises InvalidParameterValue: naming the parameter.
    """
    proto = check.protocol(protocol or check.TCP, PROTOCOLS)
    if proto == check.ICMP:
        check.no_ports_for(proto, start_port, end_port)
        icmp = check.icmp(icmp_type, icmp_code)
        return RuleShape(proto, icmp.type, icmp.code)
    check.no_icmp_for(proto, icmp_type, icmp_code)
    if proto == check.ALL:
        check.no_ports_for(proto, start_port, end_port)
        return RuleShape(proto, None, None)
    if start_port is None:
        raise InvalidParameterValue(f"startport: required for protocol {proto}")
    start, end = check.port_range(start_port, end_port, "startport", "endport", minimum=0)
    return RuleShape(proto, start, end)


def peer_groups(
    session: Session, group: FoundGroup, entries: Sequence[Mapping[str, Any]] | None
) -> list[int]:
    """The group ids ``usersecuritygrouplist`` names, each looked up by account name in
    the group owner's domain (one statement per entry, as entries are few).

    :raises InvalidParameterValue: an entry without account or group, or naming an
        account or group that does not exist (431 naming ``usersecuritygrouplist``).
    """
    found: list[int] = []
    for entry in entries or ():
        lowered = {str(k).lower(): str(v).strip() for k, v in entry.items()}
        account_name, group_name = lowered.get("account", ""), lowered.get("group", "")
        if not account_name or not group_name:
            raise InvalidParameterValue(
                "usersecuritygrouplist: every entry needs an account and a group"
                " (usersecuritygrouplist[i].account, usersecuritygrouplist[i].group)"
            )
        account = session.execute(
            select(Account.id, Account.domain_id).where(
                Account.account_name == account_name,
                Account.domain_id == group.domain_id,
                Account.removed.is_(None),
            )
        ).first()
        if account is None:
            raise InvalidParameterValue(
                f"usersecuritygrouplist: Nonexistent account {account_name} in the domain of"
                f" security group {group.name}"
            )
        if group_name.lower() == DEFAULT_GROUP:
            ensure_default(session, account.id, account.domain_id)
        peer = session.scalar(
            select(SecurityGroup.id).where(
                SecurityGroup.account_id == account.id, SecurityGroup.name == group_name
            )
        )
        if peer is None:
            raise InvalidParameterValue(
                f"usersecuritygrouplist: Nonexistent group {group_name} for account {account_name}"
            )
        found.append(peer)
    return list(dict.fromkeys(found))


def authorize(
    session: Session,
    group: FoundGroup,
    direction: Direction,
    rule: RuleShape,
    cidrs: tuple[str, ...],
    peers: list[int],
) -> tuple[list[int], list[int]]:
    """Add one rule per peer not there yet (committed by the caller): ``(new rule
    ids, ids of every rule allowing what was asked)``.

    :raises InvalidParameterValue: no peer at all (431).
    """
    if not cidrs and not peers:
        raise InvalidParameterValue(
            "cidrlist: At least one cidr or at least one security group needs to be"
            " specified (cidrlist or usersecuritygrouplist)"
        )
    same = and_(
        SecurityGroupRule.security_group_id == group.id,
        SecurityGroupRule.type == direction.value,
        SecurityGroupRule.protocol == rule.protocol,
        _equal(SecurityGroupRule.start_port, rule.start_port),
        _equal(SecurityGroupRule.end_port, rule.end_port),
        SecurityGroupRule.revoke.is_(False),
    )
    existing = session.execute(
        select(
            SecurityGroupRule.id,
            SecurityGroupRule.allowed_ip_cidr,
            SecurityGroupRule.allowed_network_id,
        ).where(same)
    ).all()
    have_cidrs = {row.allowed_ip_cidr: row.id for row in existing if row.allowed_ip_cidr}
    have_peers = {row.allowed_network_id: row.id for row in existing if row.allowed_network_id}
    base = {
        "security_group_id": group.id,
        "type": direction.value,
        "protocol": rule.protocol,
        "start_port": rule.start_port,
        "end_port": rule.end_port,
    }
    new = [{**base, "allowed_ip_cidr": c} for c in cidrs if c not in have_cidrs]
    new += [{**base, "allowed_network_id": p} for p in peers if p not in have_peers]
    if new:
        session.execute(insert(SecurityGroupRule), new)
    ids = list(
        session.scalars(
            select(SecurityGroupRule.id)
            .where(
                same,
                SecurityGroupRule.allowed_ip_cidr.in_(cidrs)
                | SecurityGroupRule.allowed_network_id.in_(peers),
            )
            .order_by(SecurityGroupRule.id)
        )
    )
    old = {row.id for row in existing}
    return [i for i in ids if i not in old], ids


def _equal(column: Any, value: int | None) -> Any:
    return column.is_(None) if value is None else column == value
