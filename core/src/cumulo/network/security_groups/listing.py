"""``listSecurityGroups`` and the answers of the group commands: a page of groups in one
statement (rows and total), their rules in one more, whatever their number. Scoped by
owner account like every list (a user sees its own groups only)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, false, select
from sqlalchemy.orm import Session, aliased

from cumulo.accounts.commands.support import max_page_size
from cumulo.accounts.models import Account, Domain
from cumulo.db.listing import fetch_rows
from cumulo.network.rules.listing import nothing, scope
from cumulo.network.security_groups.models import (
    Direction,
    SecurityGroup,
    SecurityGroupRule,
    SecurityGroupVmMap,
)
from cumulo.network.security_groups.views import group_fields, rule_fields
from cumulo.sdk.api import Call, Fields

_PEER = aliased(SecurityGroup, name="peer")
_PEER_ACCOUNT = aliased(Account, name="peer_account")


def _groups() -> Select[Any]:
    stmt: Select[Any] = (
        select(  # type: ignore[assignment]
            SecurityGroup.id,
            SecurityGroup.uuid,
            SecurityGroup.name,
            SecurityGroup.description,
            Account.account_name,
            Domain.uuid.label("domain_uuid"),
            Domain.name.label("domain_name"),
        )
        .join(Account, Account.id == SecurityGroup.account_id)
        .join(Domain, Domain.id == SecurityGroup.domain_id)
    )
    return stmt


def rules_of(
    session: Session, group_ids: Sequence[int], only: Sequence[int] | None = None
) -> dict[int, dict[str, list[Fields]]]:
    """The rules of the groups (or only the rules ``only``), by group id and direction,
    in one statement."""
    found: dict[int, dict[str, list[Fields]]] = defaultdict(lambda: {"ingress": [], "egress": []})
    if not group_ids:
        return found
    rule = SecurityGroupRule
    stmt = (
        select(
            rule.security_group_id,
            rule.uuid,
            rule.type,
            rule.protocol,
            rule.start_port,
            rule.end_port,
            rule.allowed_ip_cidr,
            _PEER.name.label("peer_name"),
            _PEER_ACCOUNT.account_name.label("peer_account"),
        )
        .outerjoin(_PEER, _PEER.id == rule.allowed_network_id)
        .outerjoin(_PEER_ACCOUNT, _PEER_ACCOUNT.id == _PEER.account_id)
        .where(rule.security_group_id.in_(list(group_ids)))
        .order_by(rule.id)
    )
    if only is not None:
        stmt = stmt.where(rule.id.in_(list(only)))
    for row in session.execute(stmt):
        key = "ingress" if row.type == Direction.INGRESS.value else "egress"
        found[row.security_group_id][key].append(rule_fields(row))
    return found


def group_answer(
    session: Session, group_id: int, only_rules: Sequence[int] | None = None
) -> Fields:
    """One group as listed (two statements); with ``only_rules``, showing those rules
    (what ``authorizeSecurityGroup*`` answers: the rules it added)."""
    row = session.execute(_groups().where(SecurityGroup.id == group_id)).one()
    rules = rules_of(session, [group_id], only_rules)[group_id]
    return group_fields(row, rules["ingress"], rules["egress"])


def list_groups(call: Call, *, group_id: int | None, vm_id: int | None) -> tuple[list[Fields], int]:
    """``listSecurityGroups``: a page of groups with their rules, and the total."""
    conditions: list[ColumnElement[bool]] = [scope(call)]
    if group_id is not None:
        conditions.append(SecurityGroup.id == group_id)
    if call.get("securitygroupname"):
        conditions.append(SecurityGroup.name == call.params["securitygroupname"])
    if vm_id is not None:
        conditions.append(
            SecurityGroup.id.in_(
                select(SecurityGroupVmMap.security_group_id).where(
                    SecurityGroupVmMap.instance_id == vm_id
                )
            )
        )
    if call.get("keyword"):
        conditions.append(SecurityGroup.name.contains(call.params["keyword"], autoescape=True))
    if nothing(call):
        conditions.append(false())
    rows, total = fetch_rows(
        call.session,
        _groups().where(*conditions).order_by(SecurityGroup.id),
        page=call.get("page"),
        pagesize=call.get("pagesize"),
        max_page_size=max_page_size(call),
    )
    rules = rules_of(call.session, [row.id for row in rows])
    items = [group_fields(row, rules[row.id]["ingress"], rules[row.id]["egress"]) for row in rows]
    return items, total
