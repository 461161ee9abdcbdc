"""``updateResourceLimit`` and ``listResourceLimits``: the limits admins set and the
limits an account or a domain has.

4.1's rules (``ResourceLimitManagerImpl.updateResourceLimit``/``searchForLimits``):

- an account's limit is its own row, else the ``max.account.*`` default
  (``max.project.*`` for project accounts); root admin accounts are unlimited and
  accept no other limit;
- a domain's limit is its own row, else the nearest ancestor's row below ROOT, else
  the ``max.domain.*`` default; ROOT is unlimited and accepts no limit;
- a domain's limit may not exceed its parent's;
- a domain or resource admin may set limits below itself, but not on its own account
  or its own domain; users may only list their own account's limits.

Every function works in the caller's transaction and never commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from cumulo.accounts.access import (
    SYSTEM_ACCOUNT_ID,
    check_account_access,
    check_domain_access,
)
from cumulo.accounts.models import Account, AccountType, Domain
from cumulo.limits.models import ResourceLimit
from cumulo.limits.service import ancestor_paths
from cumulo.limits.settings import UNLIMITED, read_defaults
from cumulo.limits.types import ResourceType, account_key, domain_key, project_key
from cumulo.sdk.api import CallContext, Role
from cumulo.sdk.errors import InvalidParameterValue, PermissionDenied

ALL_TYPES: tuple[ResourceType, ...] = tuple(ResourceType)


@dataclass(frozen=True)
class Limit:
    """One limit as ``ResourceLimitResponse`` shows it.

    :param account: the owner account (``None`` for a domain's limit).
    :param domain: the owner domain, or the owner account's domain.
    """

    resource_type: ResourceType
    max: int
    domain: Domain
    account: Account | None = None


def named_account(session: Session, name: str | None, domain: Domain | None) -> Account | None:
    """The active account ``name`` in ``domain`` (4.1's ``finalizeAccountId``), ``None``
    when no ``account`` was given.

    :raises InvalidParameterValue: ``account`` without ``domainid``, or no such account.
    """
    if name is None:
        return None
    if domain is None:
        raise InvalidParameterValue("Account must be specified with domainId parameter")
    account = session.scalars(
        select(Account).where(
            Account.account_name == name,
            Account.domain_id == domain.id,
            Account.removed.is_(None),
            Account.type != AccountType.PROJECT,
        )
    ).first()
    if account is None:
        raise InvalidParameterValue(
            f"Unable to find account by name {name} in domain Id={domain.uuid}"
        )
    return account


def account_limits(
    session: Session, account: Account, types: Sequence[ResourceType] = ALL_TYPES
) -> list[Limit]:
    """The limits ``account`` has for ``types`` (two statements)."""
    explicit = {
        label: value
        for label, value in session.execute(
            select(ResourceLimit.type, ResourceLimit.max).where(
                ResourceLimit.account_id == account.id,
                ResourceLimit.type.in_([t.label for t in types]),
            )
        )
    }
    key_of = project_key if account.type == AccountType.PROJECT else account_key
    defaults = read_defaults(session, (key_of(t) for t in types))
    limits: list[Limit] = []
    for kind in types:
        if account.type == AccountType.ADMIN:
            value = UNLIMITED
        elif kind.label in explicit:
            value = int(explicit[kind.label])
        else:
            key = key_of(kind)
            value = defaults[key] if key is not None else UNLIMITED
        limits.append(Limit(kind, value, account.domain, account))
    return limits


def domain_limits(
    session: Session, domain: Domain, types: Sequence[ResourceType] = ALL_TYPES
) -> list[Limit]:
    """The limits ``domain`` has for ``types``: its own, else its nearest limited
    ancestor's below ROOT, else the default (two statements)."""
    paths = ancestor_paths(domain.path)
    rows = session.execute(
        select(Domain.path, ResourceLimit.type, ResourceLimit.max)
        .join(ResourceLimit, ResourceLimit.domain_id == Domain.id)
        .where(
            Domain.path.in_(paths),
            Domain.removed.is_(None),
            ResourceLimit.type.in_([t.label for t in types]),
        )
    ).all()
    nearest: dict[str, tuple[int, int]] = {}  # type -> (depth, max), deepest wins
    for path, label, value in rows:
        if path == "/":
            continue
        depth = len(path)
        if label not in nearest or nearest[label][0] < depth:
            nearest[label] = (depth, int(value))
    defaults = read_defaults(session, (domain_key(t) for t in types))
    limits: list[Limit] = []
    for kind in types:
        key = domain_key(kind)
        if domain.parent is None:
            value = UNLIMITED
        elif kind.label in nearest:
            value = nearest[kind.label][1]
        else:
            value = defaults[key] if key is not None else UNLIMITED
        limits.append(Limit(kind, value, domain))
    return limits


def update_limit(
    ctx: CallContext,
    session: Session,
    *,
    resource_type: ResourceType,
    max_value: int | None,
    account: Account | None = None,
    domain: Domain | None = None,
) -> Limit:
    """Set the limit of ``resource_type`` for ``account`` (when given) or ``domain``.

    :param max_value: the new limit; ``None`` or -1 for unlimited.
    :raises InvalidParameterValue: ``max`` below -1; neither owner; the system account;
        a limit other than -1 for a root admin; above the parent domain's limit.
    :raises PermissionDenied: the owner lies outside the caller's reach, is the caller's
        own account or domain (domain/resource admins), or is ROOT.
    """
    value = UNLIMITED if max_value is None else max_value
    if value < UNLIMITED:
        raise InvalidParameterValue(
            "Please specify either '-1' for an infinite limit, or a limit that is at least"
            " '0' (max)."
        )
    if account is not None:
        if account.id == SYSTEM_ACCOUNT_ID:
            raise InvalidParameterValue("Can't update system account")
        if account.type == AccountType.ADMIN and value != UNLIMITED:
            raise InvalidParameterValue(
                f"Only {UNLIMITED} limit is supported for Root Admin accounts (max)"
            )
        if account.id == ctx.account_id and ctx.is_domain_admin:
            raise PermissionDenied(
                f"Unable to update resource limit for his own account {account.uuid},"
                " permission denied"
            )
        check_account_access(ctx, session, account)
        _store(session, resource_type, value, account_id=account.id)
        return Limit(resource_type, value, account.domain, account)
    if domain is None:
        raise InvalidParameterValue(
            "AccountId or domainId have to be specified in order to update resource limit"
        )
    check_domain_access(ctx, domain)
    if domain.parent is None:
        raise PermissionDenied(
            f"Cannot update resource limit for ROOT domain {domain.uuid}, permission denied"
        )
    if domain.id == ctx.domain_id and ctx.is_domain_admin:
        raise PermissionDenied(
            f"Unable to update resource limit for domain {domain.uuid}, permission denied"
        )
    parent = session.get(Domain, domain.parent)
    if parent is not None:
        (parent_limit,) = domain_limits(session, parent, (resource_type,))
        if 0 <= parent_limit.max < value:
            raise InvalidParameterValue(
                f"Domain {domain.name}(id: {parent.uuid}) has maximum allowed resource limit"
                f" {parent_limit.max} for {resource_type.label}, please specify a value less"
                f" that or equal to {parent_limit.max} (max)"
            )
    _store(session, resource_type, value, domain_id=domain.id)
    return Limit(resource_type, value, domain)


def list_limits(
    ctx: CallContext,
    session: Session,
    *,
    account: Account | None = None,
    domain: Domain | None = None,
    resource_type: ResourceType | None = None,
    limit_id: int | None = None,
) -> list[Limit]:
    """The limits the caller asked for and may see (4.1's ``searchForLimits``).

    Users see their own account's limits, whatever they pass. Admins see the named
    account's (``account`` + ``domainid``), else the domain's (``domainid``), else
    their own account's. ``limit_id`` picks one stored limit row (4.1's ``id``).

    :raises PermissionDenied: the account or domain lies outside the caller's reach.
    """
    if ctx.role == Role.USER or not ctx.role:
        account, domain = session.get(Account, ctx.account_id), None
    elif domain is not None:
        check_domain_access(ctx, domain)
        if account is not None:
            check_account_access(ctx, session, account)
    types = ALL_TYPES if resource_type is None else (resource_type,)
    if limit_id is not None:
        return _one_row(ctx, session, limit_id, account, domain)
    if account is None and domain is None:
        account = session.get(Account, ctx.account_id)
    if account is not None:
        return account_limits(session, account, types)
    assert domain is not None
    return domain_limits(session, domain, types)


def check_count_access(
    ctx: CallContext, session: Session, domain: Domain, account: Account | None
) -> None:
    """Allow the caller to recount ``domain`` (or ``account`` in it), else raise 531."""
    check_domain_access(ctx, domain)
    if account is not None:
        check_account_access(ctx, session, account)


def _one_row(
    ctx: CallContext,
    session: Session,
    limit_id: int,
    account: Account | None,
    domain: Domain | None,
) -> list[Limit]:
    row = session.get(ResourceLimit, limit_id)
    if row is None:
        return []
    kind = ResourceType.of(row.type)
    if row.account_id is not None:
        owner = session.get(Account, row.account_id)
        if owner is None or (account is not None and owner.id != account.id):
            return []
        check_account_access(ctx, session, owner)
        return [Limit(kind, int(row.max), owner.domain, owner)]
    owner_domain = session.get(Domain, row.domain_id)
    if owner_domain is None or account is not None:
        return []
    if domain is not None and owner_domain.id != domain.id:
        return []
    check_domain_access(ctx, owner_domain)
    return [Limit(kind, int(row.max), owner_domain)]


def _store(
    session: Session,
    resource_type: ResourceType,
    value: int,
    *,
    account_id: int | None = None,
    domain_id: int | None = None,
) -> None:
    owner = (
        ResourceLimit.account_id == account_id
        if account_id is not None
        else ResourceLimit.domain_id == domain_id
    )
    row = session.scalars(
        select(ResourceLimit).where(owner, ResourceLimit.type == resource_type.label)
    ).first()
    if row is None:
        session.add(
            ResourceLimit(
                type=resource_type.label, account_id=account_id, domain_id=domain_id, max=value
            )
        )
    else:
        row.max = value
    session.flush()
