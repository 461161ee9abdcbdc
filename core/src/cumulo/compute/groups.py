"""Instance groups: named sets of an account's VMs (``createInstanceGroup``, the
``group`` of ``deployVirtualMachine`` and ``updateVirtualMachine``).

A group name is unique among the live groups of an account (4.1). A VM is in at most
one group (``instance_group_vm_map`` has a unique key on the VM). Deleting a group
soft-deletes it and takes its VMs out of it; the VMs stay.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import ColumnElement, Row, Select, delete, exists, select
from sqlalchemy.orm import Session

from cumulo.accounts.models import Account, Domain
from cumulo.compute.models import InstanceGroup, InstanceGroupVmMap
from cumulo.compute.owners import Owner
from cumulo.db.base import utcnow
from cumulo.db.listing import DEFAULT_PAGE_SIZE, fetch_rows
from cumulo.sdk.errors import InvalidParameterValue


def _named(session: Session, account_id: int, name: str) -> InstanceGroup | None:
    return session.scalars(
        select(InstanceGroup).where(
            InstanceGroup.account_id == account_id,
            InstanceGroup.name == name,
            InstanceGroup.removed.is_(None),
        )
    ).first()


def create_group(session: Session, owner: Owner, name: str) -> InstanceGroup:
    """A new group of ``owner`` (flushed).

    :raises InvalidParameterValue: the account already has a group of that name (431).
    """
    if not name.strip():
        raise InvalidParameterValue("name: the group name must not be empty")
    if _named(session, owner.id, name) is not None:
        raise InvalidParameterValue(
            f"name: Unable to create instance group, a group with name {name} already exists"
            f" for account {owner.account_name}"
        )
    group = InstanceGroup(account_id=owner.id, domain_id=owner.domain_id, name=name)
    session.add(group)
    session.flush()
    return group


def rename_group(session: Session, group: InstanceGroup, name: str) -> InstanceGroup:
    """Give ``group`` a new name, unique in its account.

    :raises InvalidParameterValue: another live group of the account has it (431).
    """
    other = _named(session, group.account_id, name)
    if other is not None and other.id != group.id:
        raise InvalidParameterValue(
            f"name: Unable to update vm group, a group with name {name} already exists for"
            " the account"
        )
    group.name = name
    session.flush()
    return group


def delete_group(session: Session, group: InstanceGroup) -> None:
    """Soft-delete ``group``; its VMs leave it."""
    session.execute(delete(InstanceGroupVmMap).where(InstanceGroupVmMap.group_id == group.id))
    group.removed = utcnow()
    session.flush()


class VmOwned(Protocol):
    """What joining a group reads of a VM (a :class:`VirtualMachine` or a
    :class:`VmRef`)."""

    @property
    def id(self) -> int: ...
    @property
    def account_id(self) -> int: ...
    @property
    def domain_id(self) -> int: ...


@dataclass(frozen=True)
class VmRef:
    """A VM by its ids (a deploy writes its row with Core and has no ORM object)."""

    id: int
    account_id: int
    domain_id: int


def join_by_name(session: Session, vm: VmOwned, name: str | None) -> None:
    """Put ``vm`` in its account's group ``name`` (created if missing), leaving any
    group it was in; ``None`` or ``""`` only leaves (4.1 ``addInstanceToGroup``)."""
    session.execute(delete(InstanceGroupVmMap).where(InstanceGroupVmMap.instance_id == vm.id))
    if not name:
        return
    group = _named(session, vm.account_id, name)
    if group is None:
        group = InstanceGroup(account_id=vm.account_id, domain_id=vm.domain_id, name=name)
        session.add(group)
        session.flush()
    session.add(InstanceGroupVmMap(group_id=group.id, instance_id=vm.id))


def list_groups(
    session: Session,
    scope: ColumnElement[bool],
    *,
    group_id: int | None = None,
    name: str | None = None,
    keyword: str | None = None,
    page: int | None = None,
    pagesize: int | None = None,
    max_page_size: int = DEFAULT_PAGE_SIZE,
) -> tuple[list[Row[Any]], int]:
    """A page of live groups the scope shows, with owner names (one statement)."""
    stmt: Select[Any] = (
        select(InstanceGroup, Account.account_name, Domain.uuid, Domain.name)  # type: ignore[assignment]
        .join(Account, Account.id == InstanceGroup.account_id)
        .join(Domain, Domain.id == InstanceGroup.domain_id)
        .where(InstanceGroup.removed.is_(None), scope)
        .order_by(InstanceGroup.id)
    )
    if group_id is not None:
        stmt = stmt.where(InstanceGroup.id == group_id)
    if name is not None:
        stmt = stmt.where(InstanceGroup.name == name)
    if keyword:
        stmt = stmt.where(InstanceGroup.name.contains(keyword, autoescape=True))
    return fetch_rows(session, stmt, page=page, pagesize=pagesize, max_page_size=max_page_size)


def group_has_vm(session: Session, group_id: int) -> bool:
    """Whether any VM is in the group (for messages)."""
    return bool(session.scalar(select(exists().where(InstanceGroupVmMap.group_id == group_id))))
