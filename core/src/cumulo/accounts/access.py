"""Who may see and act on which domains and accounts: CloudStack 4.1's domain scoping.

The role bitmask (checked by the API before a handler runs) decides which *commands*
a caller may use; this module decides which *resources* (CS41:
server/src/com/cloud/acl/DomainChecker.java and ``AccountManagerImpl.checkAccess``):

- a root admin (account type 1) sees and manages everything;
- a domain admin or resource admin (types 2 and 3) sees and manages its own domain and
  the domains below it, i.e. every domain whose ``path`` starts with its own;
- a user (type 0) sees its own account only.

On top of 4.1, nobody but a root admin may *manage* a root admin account (4.1 lets a
domain admin placed in ROOT disable the root admin; here that is refused), and the
``system`` account is never managed through the API at all.

List commands of every domain (jobs, events, resources) scope their rows with
:func:`visible_accounts`, a WHERE clause over ``account``; they call
:func:`check_list_scope` first so that a bad ``domainid``/``account`` answers the same
431/531 errors as 4.1.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from sqlalchemy import ColumnElement, Select, String, and_, false, func, literal, select, true
from sqlalchemy.orm import Session

from cumulo.accounts.models import Account, AccountType, Domain
from cumulo.sdk.api import CallContext, Role
from cumulo.sdk.errors import InvalidParameterValue, PermissionDenied

SYSTEM_ACCOUNT_ID = 1
"""The ``system`` account acts for the management server itself (seeded with id 1)."""

_ROLES = {
    AccountType.ADMIN: Role.ADMIN,
    AccountType.RESOURCE_DOMAIN_ADMIN: Role.RESOURCE_ADMIN,
    AccountType.DOMAIN_ADMIN: Role.DOMAIN_ADMIN,
    AccountType.NORMAL: Role.USER,
}

# The LIKE escape character for paths computed in SQL; '!' because '/' is in every path.
_ESCAPE = "!"


def role_of(account_type: int) -> Role:
    """The 4.1 role bit of an account type (``AccountManagerImpl.getRoleType``).

    Type 2 (domain admin) maps to bit 4 and type 3 (resource admin) to bit 2; types
    without API access (4 read-only admin, 5 project) give ``Role(0)``.
    """
    try:
        return _ROLES[AccountType(account_type)]
    except (KeyError, ValueError):
        return Role(0)


def is_in_subtree(path: str, ancestor_path: str) -> bool:
    """Whether the domain with ``path`` is ``ancestor_path`` or lies below it.

    Paths end with ``/`` (``/``, ``/Sales/``, ``/Sales/EMEA/``), so a plain prefix test
    cannot confuse ``/Sales/`` with ``/SalesTeam/``.
    """
    return path.startswith(ancestor_path)


def domain_subtree(path: str) -> ColumnElement[bool]:
    """``domain.path`` lies in the subtree rooted at ``path`` (the domain included).

    An indexed prefix match; ``_`` and ``%`` in domain names are escaped, so a domain
    ``/a_b/`` never matches ``/aXb/``.
    """
    return Domain.path.startswith(path, autoescape=True)


def domain_subtree_of(domain_id: int) -> ColumnElement[bool]:
    """``domain.path`` lies in the subtree of the domain with internal id ``domain_id``.

    For callers that only know the id: the path is read by a scalar subquery and escaped
    in SQL (``REPLACE`` exists on SQLite, MariaDB and PostgreSQL alike).
    """
    parent = select(Domain.path).where(Domain.id == domain_id).scalar_subquery()
    escaped: ColumnElement[str] = parent
    for special in (_ESCAPE, "%", "_"):
        escaped = func.replace(escaped, special, _ESCAPE + special, type_=String)
    return Domain.path.like(escaped + literal("%", String), escape=_ESCAPE)


class DomainRef(Protocol):
    """What the checks read of a domain: a :class:`Domain`, or the same columns read
    without the ORM (hot paths fetch them in the statement that finds the resource)."""

    @property
    def id(self) -> int: ...

    @property
    def uuid(self) -> str: ...

    @property
    def path(self) -> str: ...

    @property
    def removed(self) -> dt.datetime | None: ...


def check_domain_access(ctx: CallContext, domain: DomainRef) -> None:
    """Allow the caller to work within ``domain``, else raise 531.

    CS41: DomainChecker.checkAccess(Account, Domain): a user only within its own domain,
    an admin within its subtree. A removed domain is "not found" for everyone.

    :raises PermissionDenied: the caller may not act within ``domain``.
    """
    if domain.removed is not None:
        raise PermissionDenied("Domain is not found.")
    if ctx.is_root_admin:
        return
    if ctx.role == Role.USER:
        allowed = domain.id == ctx.domain_id
    else:
        allowed = is_in_subtree(domain.path, ctx.domain_path)
    if not allowed:
        raise PermissionDenied(
            f"Account {ctx.account_name} does not have permission to operate within"
            f" domain id={domain.uuid}"
        )


def check_account_access(ctx: CallContext, session: Session, account: Account) -> None:
    """Allow the caller to see ``account`` (and what it owns), else raise 531.

    A user may see its own account only; a domain or resource admin the accounts of its
    subtree; a root admin every account.

    :raises PermissionDenied: the account lies outside the caller's reach.
    """
    if ctx.is_root_admin or ctx.role == Role.USER:
        _check_own_account(ctx, account.id, account.uuid)
        return
    domain = session.get(Domain, account.domain_id)
    if domain is None:  # pragma: no cover - the foreign key forbids it
        raise PermissionDenied("Domain is not found.")
    check_domain_access(ctx, domain)


def check_owner_access(
    ctx: CallContext, account_id: int, account_uuid: str, domain: DomainRef
) -> None:
    """:func:`check_account_access` for a resource read together with its owner
    account's id and public id and that account's domain: no statement at all.

    :raises PermissionDenied: the account lies outside the caller's reach.
    """
    if ctx.is_root_admin or ctx.role == Role.USER:
        _check_own_account(ctx, account_id, account_uuid)
        return
    check_domain_access(ctx, domain)


def _check_own_account(ctx: CallContext, account_id: int, account_uuid: str) -> None:
    # Root admins see every account, users (and types without a role) their own only.
    if not ctx.is_root_admin and account_id != ctx.account_id:
        raise PermissionDenied(
            f"Account {ctx.account_name} does not have permission to operate with"
            f" account {account_uuid}"
        )


def check_account_management(ctx: CallContext, session: Session, account: Account) -> None:
    """Allow the caller to change ``account`` or its users, else raise.

    :func:`check_account_access`, plus: the ``system`` account is never changed through
    the API, and only a root admin may change a root admin account.

    :raises PermissionDenied: not the caller's to change.
    """
    if account.id == SYSTEM_ACCOUNT_ID:
        raise PermissionDenied(f"Account id : {account.uuid} is a system account, not allowed")
    check_account_access(ctx, session, account)
    if account.type == AccountType.ADMIN and not ctx.is_root_admin:
        raise PermissionDenied(
            f"Account {ctx.account_name} may not manage the root admin account {account.uuid}"
        )


def caller_scope(ctx: CallContext) -> ColumnElement[bool]:
    """Every account the caller may see at all, as a WHERE clause over ``account``.

    Root admin: all; domain or resource admin: its subtree; user: its own account.
    """
    if ctx.is_root_admin:
        return true()
    if ctx.is_domain_admin:
        return Account.domain_id.in_(select(Domain.id).where(domain_subtree(ctx.domain_path)))
    if ctx.role == Role.USER:
        return Account.id == ctx.account_id
    return false()


def visible_accounts(
    ctx: CallContext,
    *,
    listall: bool = False,
    isrecursive: bool = False,
    domain_id: int | None = None,
    account_name: str | None = None,
) -> ColumnElement[bool]:
    """The accounts a list command shows, as a WHERE clause over ``account`` columns.

    4.1's ``buildACLSearchParameters`` (CS41: server/src/com/cloud/user/
    AccountManagerImpl.java) for commands listing resources owned by accounts
    (``listAsyncJobs``, ``listEvents``, ...); join ``account`` on the owner column and
    add this clause. It is always narrowed to :func:`caller_scope`, so it never widens
    what the caller may see, even for unchecked arguments; call
    :func:`check_list_scope` first to answer bad arguments with 4.1's errors.

    :param listall: ``false`` (the default) lists only the caller's own account;
        ``true`` everything the caller may see (admins; users always see their own).
    :param isrecursive: with ``domain_id``: that domain and its subdomains, not just
        the domain itself.
    :param domain_id: internal id of the domain to list (``domainid``).
    :param account_name: list the account of that name (``account``), in ``domain_id``
        or else in the caller's domain.
    """
    if account_name is not None:
        in_domain = domain_id if domain_id is not None else ctx.domain_id
        scope: ColumnElement[bool] = and_(
            Account.account_name == account_name,
            Account.domain_id == in_domain,
            Account.removed.is_(None),
        )
    elif ctx.role == Role.USER or not ctx.role:
        scope = Account.id == ctx.account_id
    elif domain_id is not None:
        if isrecursive:
            scope = Account.domain_id.in_(select(Domain.id).where(domain_subtree_of(domain_id)))
        else:
            scope = Account.domain_id == domain_id
    elif not listall:
        scope = Account.id == ctx.account_id
    else:
        scope = true()
    return and_(scope, caller_scope(ctx))


def visible_account_ids(
    ctx: CallContext,
    *,
    listall: bool = False,
    isrecursive: bool = False,
    domain_id: int | None = None,
    account_name: str | None = None,
) -> Select[int]:
    """:func:`visible_accounts` as a subquery of account ids, for
    ``Owner.account_id.in_(visible_account_ids(...))``."""
    return select(Account.id).where(
        visible_accounts(
            ctx,
            listall=listall,
            isrecursive=isrecursive,
            domain_id=domain_id,
            account_name=account_name,
        )
    )


def check_list_scope(
    ctx: CallContext,
    session: Session,
    *,
    domain: Domain | None = None,
    account_name: str | None = None,
) -> Account | None:
    """Validate a list command's ``domainid``/``account`` as 4.1 does.

    :param domain: the domain ``domainid`` named (already looked up), or ``None``.
    :param account_name: the ``account`` parameter, or ``None``.
    :return: the account ``account`` names (in ``domain``, else the caller's domain),
        or ``None`` when no account was named.
    :raises PermissionDenied: the domain or account lies outside the caller's reach.
    :raises InvalidParameterValue: no active account of that name in that domain.
    """
    if domain is not None:
        check_domain_access(ctx, domain)
    if account_name is None:
        return None
    in_domain = domain.id if domain is not None else ctx.domain_id
    account = session.scalars(
        select(Account).where(
            Account.account_name == account_name,
            Account.domain_id == in_domain,
            Account.removed.is_(None),
        )
    ).first()
    if account is None:
        where = domain.uuid if domain is not None else "of the caller"
        raise InvalidParameterValue(f"could not find account {account_name} in domain {where}")
    check_account_access(ctx, session, account)
    return account
