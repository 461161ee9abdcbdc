"""``listUsers`` and ``getUser``: users with their account and domain, one statement.

Scoping is 4.1's ``searchForUsers`` (CS41: server/src/com/cloud/api/query/
QueryManagerImpl.java): the caller's domain (or ``domainid``) and every domain below
it; with ``account`` just that account of that domain. ``listall`` and ``isrecursive``
are declared but, as in 4.1, change nothing. The ``system`` user is never listed.
"""

from __future__ import annotations

import typing
from typing import Any

from sqlalchemy import ColumnElement, Select, String, cast, or_, select
from sqlalchemy.orm import Session

from cumulo.accounts.access import check_domain_access, domain_subtree
from cumulo.accounts.models import Account, Domain, User
from cumulo.db.listing import fetch_page
from cumulo.sdk.api import CallContext
from cumulo.sdk.errors import InvalidParameterValue

SYSTEM_USER_ID = 1
"""The ``system`` user (seeded with id 1), hidden from every listing."""

UserRow = tuple[User, Account, Domain]
"""A user with the account and domain a ``UserResponse`` shows."""


def list_users(
    ctx: CallContext,
    session: Session,
    *,
    user: User | None = None,
    username: str | None = None,
    account_name: str | None = None,
    domain: Domain | None = None,
    account_type: int | None = None,
    state: str | None = None,
    keyword: str | None = None,
    page: int | None = None,
    pagesize: int | None = None,
    max_page_size: int,
) -> tuple[list[UserRow], int]:
    """One page of the live users the caller asks for, within its reach.

    :param user: the user ``id`` names.
    :param domain: the domain ``domainid`` names (default: the caller's).
    :raises InvalidParameterValue: the domain was deleted.
    :raises PermissionDenied: the domain lies outside the caller's subtree.
    """
    if domain is not None:
        if domain.removed is not None:
            raise InvalidParameterValue(f"Unable to find domain by id={domain.uuid}")
        check_domain_access(ctx, domain)
        scope_path = domain.path
        scope_id = domain.id
    else:
        scope_path = ctx.domain_path
        scope_id = ctx.domain_id
    if user is not None and user.id == SYSTEM_USER_ID:
        return [], 0
    conditions: list[ColumnElement[bool]] = [User.removed.is_(None), User.id != SYSTEM_USER_ID]
    if user is not None:
        conditions.append(User.id == user.id)
    if account_name is not None:
        conditions += [Account.account_name == account_name, Account.domain_id == scope_id]
    else:
        conditions.append(domain_subtree(scope_path))
    if username is not None:
        conditions.append(User.username == username)
    if account_type is not None:
        conditions.append(Account.type == account_type)
    if state is not None:
        conditions.append(User.state == state)
    if keyword is not None:
        conditions.append(
            or_(
                *(
                    column.contains(keyword, autoescape=True)
                    for column in (
                        User.username,
                        User.firstname,
                        User.lastname,
                        User.email,
                        User.state,
                        Account.account_name,
                        cast(Account.type, String),
                    )
                )
            )
        )
    stmt = (
        select(User, Account, Domain)
        .join(Account, User.account_id == Account.id)
        .join(Domain, Account.domain_id == Domain.id)
        .where(*conditions)
        .order_by(User.id)
    )
    rows, total = fetch_page(
        # fetch_page takes a select of any columns; its hint says one.
        session,
        typing.cast("Select[Any]", stmt),
        page=page,
        pagesize=pagesize,
        max_page_size=max_page_size,
    )
    return [(row[0], row[1], row[2]) for row in rows], total


def user_row(session: Session, user: User) -> UserRow:
    """``user`` with its account and domain, for a single-user answer."""
    account = user.account
    return user, account, account.domain
