"""The list commands of rules: one statement per page (rows and total together,
:func:`cumulo.db.listing.fetch_rows`), plus one for the page's source CIDRs where the
response shows them. The same selects, by rule id, answer the create and update
commands, so a rule always looks the same.

Every list is scoped by the owner account (:func:`cumulo.accounts.access.
visible_accounts`): a user sees its own rules only (REQ tenant isolation).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, false, or_, select
from sqlalchemy.orm import Session, aliased

from cumulo.accounts.access import check_list_scope, visible_accounts
from cumulo.accounts.commands.support import max_page_size
from cumulo.accounts.lookup import find_domain
from cumulo.accounts.models import Account, Domain
from cumulo.compute.models import VirtualMachine
from cumulo.db.listing import fetch_rows
from cumulo.infra.models import UserIpAddress, Zone
from cumulo.network.networks.models import Network
from cumulo.network.rules.models import (
    LbRule,
    NetworkRule,
    PortForwardingTarget,
    Purpose,
    RuleCidr,
    TrafficType,
)
from cumulo.sdk.api import Call

_IP_VM = aliased(VirtualMachine, name="nat_vm")


def scope(call: Call) -> ColumnElement[bool]:
    """The accounts the list may show (``listall``, ``domainid``, ``account``,
    ``isrecursive``), after 4.1's checks of those parameters."""
    session, ctx = call.session, call.ctx
    domain = find_domain(session, call.params["domainid"]) if call.get("domainid") else None
    check_list_scope(ctx, session, domain=domain, account_name=call.get("account"))
    return visible_accounts(
        ctx,
        listall=bool(call.get("listall", False)),
        isrecursive=bool(call.get("isrecursive", False)),
        domain_id=domain.id if domain is not None else None,
        account_name=call.get("account"),
    )


def nothing(call: Call) -> bool:
    """Filters that can match nothing here: projects and resource tags do not exist."""
    return bool(call.get("projectid") or call.get("tags"))


@dataclass(frozen=True)
class Page:
    """A page of rows with the total, and the source CIDRs of its rules by rule id."""

    rows: list[Row[Any]]
    total: int
    cidrs: dict[int, list[str]]


def cidrs_of(session: Session, rule_ids: Sequence[int]) -> dict[int, list[str]]:
    """The source CIDRs of the rules, by rule id, in insertion order (one statement)."""
    found: dict[int, list[str]] = defaultdict(list)
    if not rule_ids:
        return found
    rows = session.execute(
        select(RuleCidr.firewall_rule_id, RuleCidr.source_cidr)
        .where(RuleCidr.firewall_rule_id.in_(list(rule_ids)))
        .order_by(RuleCidr.id)
    )
    for rule_id, cidr in rows:
        found[rule_id].append(cidr)
    return found


def _page(call: Call, stmt: Select[Any], *, with_cidrs: bool) -> Page:
    rows, total = fetch_rows(
        call.session,
        stmt.order_by(NetworkRule.id),
        page=call.get("page"),
        pagesize=call.get("pagesize"),
        max_page_size=max_page_size(call),
    )
    cidrs = cidrs_of(call.session, [row.id for row in rows]) if with_cidrs else {}
    return Page(rows, total, cidrs)


# ---- firewall (ingress and egress) ------------------------------------------------------


def firewall_select() -> Select[Any]:
    """The columns of ``FirewallResponse``."""
    rule = NetworkRule
    stmt: Select[Any] = (
        select(  # type: ignore[assignment]
            rule.id,
            rule.uuid,
            rule.protocol,
            rule.start_port,
            rule.end_port,
            rule.state,
            rule.icmp_type,
            rule.icmp_code,
            UserIpAddress.uuid.label("ip_uuid"),
            UserIpAddress.public_ip_address.label("ip_address"),
            Network.uuid.label("network_uuid"),
        )
        .select_from(rule)
        .join(Account, Account.id == rule.account_id)
        .join(Network, Network.id == rule.network_id)
        .outerjoin(UserIpAddress, UserIpAddress.id == rule.ip_address_id)
    )
    return stmt


def list_firewall(
    call: Call,
    traffic: TrafficType,
    *,
    rule_id: int | None,
    ip_id: int | None,
    network_id: int | None = None,
) -> Page:
    """``listFirewallRules`` (ingress) or ``listEgressFirewallRules`` (egress)."""
    rule = NetworkRule
    conditions: list[ColumnElement[bool]] = [
        scope(call),
        rule.purpose == Purpose.FIREWALL.value,
        rule.traffic_type == traffic.value,
    ]
    for column, value in (
        (rule.id, rule_id),
        (rule.ip_address_id, ip_id),
        (rule.network_id, network_id),
    ):
        if value is not None:
            conditions.append(column == value)
    if call.get("keyword"):
        conditions.append(rule.protocol.contains(call.params["keyword"], autoescape=True))
    if nothing(call):
        conditions.append(false())
    return _page(call, firewall_select().where(*conditions), with_cidrs=True)


def firewall_row(session: Session, rule_id: int) -> tuple[Row[Any], list[str]]:
    """One firewall rule as listed, with its CIDRs (two statements)."""
    row = session.execute(firewall_select().where(NetworkRule.id == rule_id)).one()
    return row, cidrs_of(session, [rule_id]).get(rule_id, [])


# ---- port forwarding --------------------------------------------------------------------


def port_forwarding_select() -> Select[Any]:
    """The columns of a port-forwarding ``FirewallRuleResponse``."""
    rule = NetworkRule
    stmt: Select[Any] = (
        select(  # type: ignore[assignment]
            rule.id,
            rule.uuid,
            rule.protocol,
            rule.start_port,
            rule.end_port,
            rule.state,
            PortForwardingTarget.dest_port_start,
            PortForwardingTarget.dest_port_end,
            VirtualMachine.uuid.label("vm_uuid"),
            VirtualMachine.name.label("vm_name"),
            VirtualMachine.display_name.label("vm_display_name"),
            UserIpAddress.uuid.label("ip_uuid"),
            UserIpAddress.public_ip_address.label("ip_address"),
        )
        .select_from(rule)
        .join(PortForwardingTarget, PortForwardingTarget.id == rule.id)
        .join(Account, Account.id == rule.account_id)
        .join(VirtualMachine, VirtualMachine.id == PortForwardingTarget.instance_id)
        .join(UserIpAddress, UserIpAddress.id == rule.ip_address_id)
    )
    return stmt


def list_port_forwarding(
    call: Call, *, rule_id: int | None, ip_id: int | None, network_id: int | None = None
) -> Page:
    """``listPortForwardingRules``."""
    rule = NetworkRule
    conditions: list[ColumnElement[bool]] = [scope(call)]
    for column, value in (
        (rule.id, rule_id),
        (rule.ip_address_id, ip_id),
        (rule.network_id, network_id),
    ):
        if value is not None:
            conditions.append(column == value)
    if call.get("keyword"):
        keyword = call.params["keyword"]
        conditions.append(
            or_(
                rule.protocol.contains(keyword, autoescape=True),
                VirtualMachine.name.contains(keyword, autoescape=True),
            )
        )
    if nothing(call):
        conditions.append(false())
    return _page(call, port_forwarding_select().where(*conditions), with_cidrs=False)


def port_forwarding_row(session: Session, rule_id: int) -> Row[Any]:
    """One port-forwarding rule as listed (one statement)."""
    return session.execute(port_forwarding_select().where(NetworkRule.id == rule_id)).one()


# ---- IP forwarding (static NAT) -----------------------------------------------------------


def ip_forwarding_select() -> Select[Any]:
    """The columns of ``IpForwardingRuleResponse``: the VM is the one the address is
    statically NATed to."""
    rule = NetworkRule
    stmt: Select[Any] = (
        select(  # type: ignore[assignment]
            rule.id,
            rule.uuid,
            rule.protocol,
            rule.start_port,
            rule.end_port,
            rule.state,
            _IP_VM.uuid.label("vm_uuid"),
            _IP_VM.name.label("vm_name"),
            _IP_VM.display_name.label("vm_display_name"),
            UserIpAddress.uuid.label("ip_uuid"),
            UserIpAddress.public_ip_address.label("ip_address"),
        )
        .select_from(rule)
        .join(Account, Account.id == rule.account_id)
        .join(UserIpAddress, UserIpAddress.id == rule.ip_address_id)
        .outerjoin(_IP_VM, _IP_VM.id == UserIpAddress.vm_id)
        .where(rule.purpose == Purpose.STATIC_NAT.value)
    )
    return stmt


def list_ip_forwarding(
    call: Call, *, rule_id: int | None, ip_id: int | None, vm_id: int | None
) -> Page:
    """``listIpForwardingRules``."""
    rule = NetworkRule
    conditions: list[ColumnElement[bool]] = [scope(call)]
    for column, value in (
        (rule.id, rule_id),
        (rule.ip_address_id, ip_id),
        (UserIpAddress.vm_id, vm_id),
    ):
        if value is not None:
            conditions.append(column == value)
    if call.get("keyword"):
        conditions.append(rule.protocol.contains(call.params["keyword"], autoescape=True))
    if nothing(call):
        conditions.append(false())
    return _page(call, ip_forwarding_select().where(*conditions), with_cidrs=False)


def ip_forwarding_row(session: Session, rule_id: int) -> Row[Any]:
    """One IP forwarding rule as listed (one statement)."""
    return session.execute(ip_forwarding_select().where(NetworkRule.id == rule_id)).one()


# ---- load balancers -----------------------------------------------------------------------


def lb_select() -> Select[Any]:
    """The columns of ``LoadBalancerResponse``."""
    rule = NetworkRule
    stmt: Select[Any] = (
        select(  # type: ignore[assignment]
            rule.id,
            rule.uuid,
            rule.start_port,
            rule.state,
            rule.network_id,
            rule.account_id,
            LbRule.name,
            LbRule.description,
            LbRule.default_port_start,
            LbRule.algorithm,
            UserIpAddress.uuid.label("ip_uuid"),
            UserIpAddress.public_ip_address.label("ip_address"),
            Account.account_name,
            Domain.uuid.label("domain_uuid"),
            Domain.name.label("domain_name"),
            Zone.uuid.label("zone_uuid"),
        )
        .select_from(rule)
        .join(LbRule, LbRule.id == rule.id)
        .join(Account, Account.id == rule.account_id)
        .join(Domain, Domain.id == rule.domain_id)
        .join(UserIpAddress, UserIpAddress.id == rule.ip_address_id)
        .join(Zone, Zone.id == UserIpAddress.data_center_id)
    )
    return stmt


def list_lb(
    call: Call,
    *,
    rule_id: int | None,
    ip_id: int | None,
    zone_id: int | None,
    vm_id: int | None,
) -> Page:
    """``listLoadBalancerRules``."""
    from cumulo.network.rules.models import LbVmMap

    rule = NetworkRule
    conditions: list[ColumnElement[bool]] = [scope(call)]
    for column, value in (
        (rule.id, rule_id),
        (rule.ip_address_id, ip_id),
        (UserIpAddress.data_center_id, zone_id),
    ):
        if value is not None:
            conditions.append(column == value)
    if vm_id is not None:
        conditions.append(
            rule.id.in_(select(LbVmMap.load_balancer_id).where(LbVmMap.instance_id == vm_id))
        )
    if call.get("name"):
        conditions.append(LbRule.name == call.params["name"])
    if call.get("keyword"):
        conditions.append(LbRule.name.contains(call.params["keyword"], autoescape=True))
    if nothing(call):
        conditions.append(false())
    return _page(call, lb_select().where(*conditions), with_cidrs=False)


def lb_row(session: Session, rule_id: int) -> Row[Any]:
    """One load balancer as listed (one statement)."""
    return session.execute(lb_select().where(NetworkRule.id == rule_id)).one()
