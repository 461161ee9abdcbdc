"""``listAccounts``: a page of accounts with their users, in a constant number of queries.

One statement fetches the page, its domains and the total count; one more fetches the
users of every account on the page; a third, only when some account on the page has
details, fetches those. Never one query per account. The rows are Core rows of the
tables (the views read them by column name), from statements whose fixed part is built
once at import: a page of ORM objects costs several times the CPU.

Scoping is 4.1's ``searchForAccounts`` (CS41: server/src/com/cloud/api/query/
QueryManagerImpl.java): without ``id``, ``domainid`` or ``listall`` every caller lists
its own account (root admin included); an admin with ``listall`` lists its subtree,
with ``domainid`` that domain (and below it with ``isrecursive``). The ``system``
account and project accounts are never listed.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Select, bindparam, or_, select
from sqlalchemy.orm import Session

from cumulo.accounts.access import (
    SYSTEM_ACCOUNT_ID,
    check_account_access,
    check_domain_access,
)
from cumulo.accounts.lookup import active_account_by_name
from cumulo.accounts.models import Account, AccountDetail, AccountType, Domain, User
from cumulo.accounts.views import AccountLike, DomainLike, UserLike
from cumulo.db.listing import escape_like, fetch_rows, like_prefix
from cumulo.infra.models import Zone
from cumulo.sdk.api import CallContext, Role
from cumulo.sdk.errors import InvalidParameterValue

_ACCOUNTS, _DOMAINS = Account.__table__, Domain.__table__
_USERS, _DETAILS = User.__table__, AccountDetail.__table__
_ZONES = Zone.__table__

_LISTED = (
    select(
        _ACCOUNTS,
        _DOMAINS.c.uuid.label("domain_uuid"),
        _DOMAINS.c.name.label("domain_name"),
        _DOMAINS.c.path.label("domain_path"),
        select(_DETAILS.c.id)
        .where(_DETAILS.c.account_id == _ACCOUNTS.c.id)
        .exists()
        .label("has_details"),
        select(_ZONES.c.uuid)
        .where(_ZONES.c.id == _ACCOUNTS.c.default_zone_id)
        .scalar_subquery()
        .label("default_zone_uuid"),
    )
    .join(_DOMAINS, _ACCOUNTS.c.domain_id == _DOMAINS.c.id)
    # 4.1 never lists removed accounts, the system account or project accounts.
    .where(
        _ACCOUNTS.c.removed.is_(None),
        _ACCOUNTS.c.id != SYSTEM_ACCOUNT_ID,
        _ACCOUNTS.c.type != AccountType.PROJECT,
    )
    .order_by(_ACCOUNTS.c.id)
)
_LIVE_USERS = (
    select(_USERS)
    .where(_USERS.c.account_id.in_(bindparam("accounts", expanding=True)))
    .where(_USERS.c.removed.is_(None))
    .order_by(_USERS.c.id)
)
_DETAILS_OF = (
    select(_DETAILS.c.account_id, _DETAILS.c.name, _DETAILS.c.value)
    .where(_DETAILS.c.account_id.in_(bindparam("accounts", expanding=True)))
    .order_by(_DETAILS.c.id)
)


class ListedDomain(NamedTuple):
    """The domain of a listed account (from the ``domain_*`` columns of its row)."""

    id: int
    uuid: str
    name: str
    path: str


@dataclass
class AccountPage:
    """One page of ``listAccounts``.

    :ivar rows: the accounts (Core rows of ``account``) with their domains, in id order.
    :ivar total: how many accounts match, ignoring paging.
    :ivar users: the live users (Core rows of ``user``) of each account on the page, by
        account id, in id order.
    :ivar details: the ``accountdetails`` of each account that has any, by account id.
    """

    rows: list[tuple[AccountLike, DomainLike]]
    total: int
    users: dict[int, list[UserLike]] = field(default_factory=dict)
    details: dict[int, dict[str, str]] = field(default_factory=dict)


def list_accounts(
    ctx: CallContext,
    session: Session,
    *,
    account: Account | None = None,
    domain: Domain | None = None,
    name: str | None = None,
    account_type: int | None = None,
    state: str | None = None,
    cleanup_required: bool | None = None,
    keyword: str | None = None,
    listall: bool = False,
    isrecursive: bool = False,
    page: int | None = None,
    pagesize: int | None = None,
    max_page_size: int,
) -> AccountPage:
    """One page of the accounts the caller asks for and may see.

    :param account: the account ``id`` names.
    :param domain: the domain ``domainid`` names.
    :param name: the exact account name.
    :raises InvalidParameterValue: ``id`` or ``name`` names no listable account, or the
        domain was deleted.
    :raises PermissionDenied: the account or domain lies outside the caller's reach.
    """
    if account is not None:
        if account.id == SYSTEM_ACCOUNT_ID or account.removed is not None:
            raise InvalidParameterValue(f"Unable to find account by id {account.uuid}")
        check_account_access(ctx, session, account)
    if domain is not None:
        if domain.removed is not None:
            raise InvalidParameterValue(f"Domain id={domain.uuid} doesn't exist")
        check_domain_access(ctx, domain)
        if name is not None:
            named = active_account_by_name(session, name, domain.id)
            if named is None or named.id == SYSTEM_ACCOUNT_ID:
                raise InvalidParameterValue(
                    f"Unable to find account by name {name} in domain {domain.uuid}"
                )
            check_account_access(ctx, session, named)

    shape: list[str] = []
    values: dict[str, object] = {}
    is_admin = ctx.role not in (Role.USER, Role(0))
    if account is not None:
        shape.append("id")
        values["account_id"] = account.id
    elif is_admin and domain is None and listall:
        shape.append("subtree")
        values["path"] = like_prefix(ctx.domain_path)
    elif is_admin and domain is not None and isrecursive:
        shape.append("subtree")
        values["path"] = like_prefix(domain.path)
    elif is_admin and domain is not None:
        shape.append("domain")
        values["domain_id"] = domain.id
    else:
        shape.append("id")
        values["account_id"] = ctx.account_id
    for key, value in (
        ("name", name),
        ("type", account_type),
        ("state", state),
        ("cleanup", cleanup_required),
        ("keyword", None if keyword is None else f"%{escape_like(keyword)}%"),
    ):
        if value is not None:
            shape.append(key)
            values[key] = value
    rows, total = fetch_rows(
        session,
        _listed(tuple(shape)),
        params=values,
        page=page,
        pagesize=pagesize,
        max_page_size=max_page_size,
    )
    listed: list[tuple[AccountLike, DomainLike]] = [
        (row, ListedDomain(row.domain_id, row.domain_uuid, row.domain_name, row.domain_path))
        for row in rows
    ]
    result = AccountPage(listed, total)
    result.users = users_of(session, [row.id for row in rows])
    result.details = details_of(session, [row.id for row in rows if row.has_details])
    return result


_COLUMNS = _ACCOUNTS.c
_CONDITIONS: dict[str, ColumnElement[bool]] = {
    "id": _COLUMNS.id == bindparam("account_id"),
    # access.domain_subtree on the table column (the statement has no ORM entities): an
    # indexed prefix match, the value's LIKE wildcards escaped by like_prefix.
    "subtree": _DOMAINS.c.path.like(bindparam("path"), escape="\\"),
    "domain": _COLUMNS.domain_id == bindparam("domain_id"),
    "name": _COLUMNS.account_name == bindparam("name"),
    "type": _COLUMNS.type == bindparam("type"),
    "state": _COLUMNS.state == bindparam("state"),
    "cleanup": _COLUMNS.cleanup_needed == bindparam("cleanup"),
    "keyword": or_(
        _COLUMNS.account_name.like(bindparam("keyword"), escape="\\"),
        _COLUMNS.state.like(bindparam("keyword"), escape="\\"),
    ),
}


@functools.cache
def _listed(shape: tuple[str, ...]) -> Select[Any]:
    """The listing statement for one combination of filters (a few dozen exist), built
    once: its values are bound parameters, so requests reuse the compiled statement."""
    return _LISTED.where(*(_CONDITIONS[key] for key in shape))


def users_of(session: Session, account_ids: Sequence[int]) -> dict[int, list[UserLike]]:
    """The live users (Core rows of ``user``) of the given accounts, by account id, in
    id order; one statement (none for no accounts)."""
    found: dict[int, list[UserLike]] = defaultdict(list)
    if account_ids:
        connection = session.connection()
        for user in connection.execute(_LIVE_USERS, {"accounts": list(account_ids)}):
            found[user.account_id].append(user)
    return dict(found)


def details_of(session: Session, account_ids: Sequence[int]) -> dict[int, dict[str, str]]:
    """The ``accountdetails`` of the given accounts, by account id; one statement (none
    for no accounts)."""
    found: dict[int, dict[str, str]] = defaultdict(dict)
    if account_ids:
        for account_id, name, value in session.execute(
            _DETAILS_OF, {"accounts": list(account_ids)}
        ):
            found[account_id][name] = value
    return dict(found)
