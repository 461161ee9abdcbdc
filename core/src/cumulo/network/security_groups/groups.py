"""Security groups themselves (CAP-22, 4.1's ``SecurityGroupManagerImpl``): the
per-account ``default`` group, creating, finding and deleting groups.

Every account has a group named ``default`` which, having no rules, denies all ingress
and allows all egress (REQ-SG-01). It is created when the account first needs it — a
VM joining groups, a group being created or listed, a rule naming it — since accounts
may predate security groups (:func:`ensure_default`); the name is reserved.

A group is named uniquely within its account (the unique key makes two concurrent
creations of the same name one success and one 431). A group is deleted outright; not
the ``default`` one, and not while VMs are in it (536, as 4.1's
``ResourceInUseException``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, Select, delete, exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cumulo.accounts.access import check_owner_access
from cumulo.accounts.lookup import invalid_id
from cumulo.accounts.models import Account, Domain
from cumulo.compute.owners import Owner
from cumulo.network.rules.lookup import OwnerDomain
from cumulo.network.security_groups.models import (
    DEFAULT_GROUP,
    SecurityGroup,
    SecurityGroupVmMap,
)
from cumulo.sdk.api import CallContext
from cumulo.sdk.errors import InvalidParameterValue, ResourceInUse

DEFAULT_DESCRIPTION = "Default Security Group"


@dataclass(frozen=True)
class FoundGroup:
    """A group with its owner's names (read in one statement)."""

    id: int
    uuid: str
    name: str
    description: str | None
    account_id: int
    domain_id: int
    account_name: str
    domain_uuid: str
    domain_name: str


def ensure_default(session: Session, account_id: int, domain_id: int) -> int:
    """The id of the account's ``default`` group, created if missing (one statement
    when it exists; a concurrent creation by another transaction is tolerated)."""
    found = session.scalar(
        select(SecurityGroup.id).where(
            SecurityGroup.account_id == account_id, SecurityGroup.name == DEFAULT_GROUP
        )
    )
    if found is not None:
        return found
    try:
        with session.begin_nested():
            group = SecurityGroup(
                name=DEFAULT_GROUP,
                description=DEFAULT_DESCRIPTION,
                account_id=account_id,
                domain_id=domain_id,
            )
            session.add(group)
            session.flush()
            return group.id
    except IntegrityError:
        created = session.scalar(
            select(SecurityGroup.id).where(
                SecurityGroup.account_id == account_id, SecurityGroup.name == DEFAULT_GROUP
            )
        )
        if created is None:  # pragma: no cover - the conflict was something else
            raise
        return created


def create(session: Session, owner: Owner, name: str, description: str | None) -> int:
    """``createSecurityGroup``: a new group of ``owner``; its id.

    :raises InvalidParameterValue: the name is ``default`` or taken in the account (431
        naming ``name``).
    """
    text = name.strip()
    if not text:
        raise InvalidParameterValue("name: give the security group a name")
    if text.lower() == DEFAULT_GROUP:
        raise InvalidParameterValue(
            "name: Unable to create default security group: every account has one already"
        )
    ensure_default(session, owner.id, owner.domain_id)
    taken = session.scalar(
        select(exists().where(SecurityGroup.account_id == owner.id, SecurityGroup.name == text))
    )
    if taken:
        raise InvalidParameterValue(
            f"name: Unable to create security group, a group with name {text} already exists"
        )
    try:
        with session.begin_nested():
            group = SecurityGroup(
                name=text, description=description, account_id=owner.id, domain_id=owner.domain_id
            )
            session.add(group)
            session.flush()
    except IntegrityError:
        raise InvalidParameterValue(
            f"name: Unable to create security group, a group with name {text} already exists"
        ) from None
    return group.id


def _select() -> Select[Any]:
    stmt: Select[Any] = (
        select(  # type: ignore[assignment]
            SecurityGroup.id,
            SecurityGroup.uuid,
            SecurityGroup.name,
            SecurityGroup.description,
            SecurityGroup.account_id,
            SecurityGroup.domain_id,
            Account.account_name,
            Account.uuid.label("account_uuid"),
            Domain.uuid.label("domain_uuid"),
            Domain.name.label("domain_name"),
            Domain.path,
            Domain.removed,
        )
        .join(Account, Account.id == SecurityGroup.account_id)
        .join(Domain, Domain.id == SecurityGroup.domain_id)
    )
    return stmt


def _found(ctx: CallContext, row: Row[Any]) -> FoundGroup:
    """The group of a :func:`_select` row, if the caller may act on it."""
    check_owner_access(
        ctx,
        row.account_id,
        row.account_uuid,
        OwnerDomain(row.domain_id, row.domain_uuid, row.path, row.removed),
    )
    return FoundGroup(
        row.id,
        row.uuid,
        row.name,
        row.description,
        row.account_id,
        row.domain_id,
        row.account_name,
        row.domain_uuid,
        row.domain_name,
    )


def find_group(session: Session, ctx: CallContext, value: object, param: str = "id") -> FoundGroup:
    """The group ``value`` (UUID or internal id) names, if the caller may act on it.

    :raises InvalidParameterValue: no such group (431 naming ``param``).
    :raises PermissionDenied: another account's, out of the caller's reach (531).
    """
    text = str(value).strip()
    if text.isdecimal():
        if not 0 < int(text) < 2**63:
            raise invalid_id(param, value)
        where = SecurityGroup.id == int(text)
    else:
        where = SecurityGroup.uuid == text
    row = session.execute(_select().where(where)).first()
    if row is None:
        raise invalid_id(param, value)
    return _found(ctx, row)


def find_by_name(
    session: Session, ctx: CallContext, owner: Owner, name: str, param: str = "name"
) -> FoundGroup:
    """The group named ``name`` of ``owner`` (its ``default`` group is created if it
    is the one named and missing).

    :raises InvalidParameterValue: the account has no such group (431 naming ``param``).
    """
    text = name.strip()
    if text.lower() == DEFAULT_GROUP:
        ensure_default(session, owner.id, owner.domain_id)
    row = session.execute(
        _select().where(SecurityGroup.account_id == owner.id, SecurityGroup.name == text)
    ).first()
    if row is None:
        raise InvalidParameterValue(
            f"{param}: unable to find security group {text} of account {owner.account_name}"
        )
    return _found(ctx, row)


def delete_group(session: Session, group: FoundGroup) -> None:
    """``deleteSecurityGroup`` (module doc).

    :raises InvalidParameterValue: it is the ``default`` group (431).
    :raises ResourceInUse: VMs are in it (536).
    """
    if group.name == DEFAULT_GROUP:
        raise InvalidParameterValue(
            f"id: the default security group {group.uuid} of an account can't be deleted"
        )
    in_use = session.scalar(
        select(exists().where(SecurityGroupVmMap.security_group_id == group.id))
    )
    if in_use:
        raise ResourceInUse(
            f"Cannot delete security group {group.name} ({group.uuid}): it is in use by"
            " virtual machines"
        )
    session.execute(delete(SecurityGroup).where(SecurityGroup.id == group.id))
