"""``listAccounts``: a page of accounts with their users, in a constant number of queries.

One statement fetches the page, its domains and the total count; one more fetches the
users of every account on the page; a third, only when some account on the page has
details, fetches those. Never one query per account.

Scoping is 4.1's ``searchForAccounts`` (CS41: server/src/com/cloud/api/query/
QueryManagerImpl.java): without ``id``, ``domainid`` or ``listall`` every caller lists
its own account (root admin included); an admin with ``listall`` lists its subtree,
with ``domainid`` that domain (and below it with ``isrecursive``). The ``system``
account and project accounts are never listed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import ColumnElement, Select, or_, select
from sqlalchemy.orm import Session

from cumulo.accounts.access import (
    SYSTEM_ACCOUNT_ID,
    check_account_access,
    check_domain_access,
    domain_subtree,
)
from cumulo.accounts.lookup import active_account_by_name
from cumulo.accounts.models import Account, AccountDetail, AccountType, Domain, User
from cumulo.db.listing import fetch_page
from cumulo.sdk.api import CallContext, Role
from cumulo.sdk.errors import InvalidParameterValue


@dataclass
class AccountPage:
    """One page of ``listAccounts``.

    :ivar rows: the accounts with their domains, in id order.
    :ivar total: how many accounts match, ignoring paging.
    :ivar users: the live users of each account on the page, by account id, in id order.
    :ivar details: the ``accountdetails`` of each account that has any, by account id.
    """

    rows: list[tuple[Account, Domain]]
    total: int
    users: dict[int, list[User]] = field(default_factory=dict)
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

    conditions: list[ColumnElement[bool]] = [
        Account.removed.is_(None),
        Account.id != SYSTEM_ACCOUNT_ID,
        Account.type != AccountType.PROJECT,
    ]
    is_admin = ctx.role not in (Role.USER, Role(0))
    if account is not None:
        conditions.append(Account.id == account.id)
    elif is_admin and listall and domain is None:
        conditions.append(domain_subtree(ctx.domain_path))
    elif is_admin and domain is not None:
        conditions.append(
            domain_subtree(domain.path) if isrecursive else Account.domain_id == domain.id
        )
    else:
        conditions.append(Account.id == ctx.account_id)
    if name is not None:
        conditions.append(Account.account_name == name)
    if account_type is not None:
        conditions.append(Account.type == account_type)
    if state is not None:
        conditions.append(Account.state == state)
    if cleanup_required is not None:
        conditions.append(Account.cleanup_needed.is_(cleanup_required))
    if keyword is not None:
        conditions.append(
            or_(
                Account.account_name.contains(keyword, autoescape=True),
                Account.state.contains(keyword, autoescape=True),
            )
        )

    has_details = select(AccountDetail.id).where(AccountDetail.account_id == Account.id).exists()
    stmt = (
        select(Account, Domain, has_details.label("has_details"))
        .join(Domain, Account.domain_id == Domain.id)
        .where(*conditions)
        .order_by(Account.id)
    )
    rows, total = fetch_page(
        # fetch_page takes a select of any columns; its hint says one.
        session,
        cast("Select[Any]", stmt),
        page=page,
        pagesize=pagesize,
        max_page_size=max_page_size,
    )
    result = AccountPage([(row[0], row[1]) for row in rows], total)
    result.users = users_of(session, [row[0].id for row in rows])
    with_details = [row[0].id for row in rows if row[2]]
    result.details = details_of(session, with_details)
    return result


def users_of(session: Session, account_ids: Sequence[int]) -> dict[int, list[User]]:
    """The live users of the given accounts, by account id, in id order; one statement
    (none for no accounts)."""
    found: dict[int, list[User]] = defaultdict(list)
    if account_ids:
        users = session.scalars(
            select(User)
            .where(User.account_id.in_(account_ids), User.removed.is_(None))
            .order_by(User.id)
        )
        for user in users:
            found[user.account_id].append(user)
    return dict(found)


def details_of(session: Session, account_ids: Sequence[int]) -> dict[int, dict[str, str]]:
    """The ``accountdetails`` of the given accounts, by account id; one statement (none
    for no accounts)."""
    found: dict[int, dict[str, str]] = defaultdict(dict)
    if account_ids:
        details = session.scalars(
            select(AccountDetail)
            .where(AccountDetail.account_id.in_(account_ids))
            .order_by(AccountDetail.id)
        )
        for detail in details:
            found[detail.account_id][detail.name] = detail.value
    return dict(found)
