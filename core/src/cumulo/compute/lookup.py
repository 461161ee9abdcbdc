"""Finding the VM (or instance group) an API parameter names, checked against the
caller in the same statement's result.

A VM is found by its UUID (or, as every 4.1 lookup, its internal id) together with its
owner's public id and domain, so that the ownership check (:mod:`cumulo.accounts.access`)
needs no further statement. Expunged VMs are not found; ``Destroyed`` ones are, for
admins only (4.1 hides them from users).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from cumulo.accounts.access import check_owner_access
from cumulo.accounts.lookup import invalid_id
from cumulo.accounts.models import Account, Domain
from cumulo.compute.models import InstanceGroup, VirtualMachine, VmState, VmType
from cumulo.sdk.api import CallContext, Role


def _by_id(
    model: type[VirtualMachine] | type[InstanceGroup], value: object, param: str
) -> ColumnElement[bool]:
    text = str(value).strip()
    if isinstance(value, int) or text.isdecimal():
        number = int(text)
        if not 0 < number < 2**63:
            raise invalid_id(param, value)
        return model.id == number
    return model.uuid == text


def find_vm(
    session: Session,
    ctx: CallContext,
    value: object,
    param: str = "id",
    *,
    for_update: bool = False,
) -> VirtualMachine:
    """The VM ``value`` names, if the caller may act on it.

    :param for_update: lock the row (``SELECT ... FOR UPDATE`` where the back end has
        it); state changes do not need it, they are conditional updates.
    :raises InvalidParameterValue: no such (live) VM (431 naming ``param``), or a user
        naming a destroyed one.
    :raises PermissionDenied: the VM belongs to an account outside the caller's reach.
    """
    stmt = (
        select(VirtualMachine, Account.uuid, Domain.id, Domain.uuid, Domain.path, Domain.removed)
        .join(Account, Account.id == VirtualMachine.account_id)
        .join(Domain, Domain.id == VirtualMachine.domain_id)
        .where(
            _by_id(VirtualMachine, value, param),
            VirtualMachine.removed.is_(None),
            # a router is acted on through the router commands, never as a user VM
            VirtualMachine.type == VmType.USER.value,
        )
    )
    if for_update:
        stmt = stmt.with_for_update(of=VirtualMachine)
    row = session.execute(stmt).first()
    if row is None:
        raise invalid_id(param, value)
    vm, account_uuid, domain_id, domain_uuid, path, removed = row
    check_owner_access(
        ctx, vm.account_id, account_uuid, _Domain(domain_id, domain_uuid, path, removed)
    )
    if vm.state == VmState.DESTROYED.value and ctx.role == Role.USER:
        raise invalid_id(param, value)
    return vm


def find_group(
    session: Session, ctx: CallContext, value: object, param: str = "id"
) -> InstanceGroup:
    """The live instance group ``value`` names, if the caller may act on it."""
    stmt = (
        select(InstanceGroup, Account.uuid, Domain.id, Domain.uuid, Domain.path, Domain.removed)
        .join(Account, Account.id == InstanceGroup.account_id)
        .join(Domain, Domain.id == InstanceGroup.domain_id)
        .where(_by_id(InstanceGroup, value, param), InstanceGroup.removed.is_(None))
    )
    row = session.execute(stmt).first()
    if row is None:
        raise invalid_id(param, value)
    group, account_uuid, domain_id, domain_uuid, path, removed = row
    check_owner_access(
        ctx, group.account_id, account_uuid, _Domain(domain_id, domain_uuid, path, removed)
    )
    return group


@dataclass(frozen=True)
class _Domain:
    """The owner's domain columns read with the resource (a ``DomainRef``)."""

    id: int
    uuid: str
    path: str
    removed: dt.datetime | None
