"""Finding the offering an API parameter names.

Two kinds of lookup:

- :func:`find_service_offering` / :func:`find_disk_offering`: any live offering, for
  the root-admin commands that change offerings;
- :func:`service_offering_for` / :func:`disk_offering_for`: an offering a caller may
  *use* (deploy a VM, create a volume): live, not a system offering, and visible to
  the caller (:mod:`cumulo.offerings.visibility`). Other areas call these.

Values are a lower-case UUID or, as 4.1's ``findByUuid`` fallbacks allowed, an internal
numeric id. Each lookup is one statement (the offering's domain path comes with it).
Whatever the reason an offering cannot be had (unknown, removed, not visible, system),
the answer is the same 431 naming the parameter, so nothing reveals offerings of other
domains.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from cumulo.accounts.access import check_owner_access
from cumulo.accounts.lookup import invalid_id
from cumulo.accounts.models import Account, Domain
from cumulo.compute.models import VirtualMachine, VmType
from cumulo.offerings.models import DiskOffering, ServiceOffering
from cumulo.offerings.visibility import may_see
from cumulo.sdk.api import CallContext

Offering = TypeVar("Offering", ServiceOffering, DiskOffering)


def _find(
    session: Session, model: type[Offering], value: object, param: str
) -> tuple[Offering, str | None]:
    """The live offering ``value`` names and its domain's path (``None``: public)."""
    text = str(value).strip()
    stmt: Any = (
        select(model, Domain.path)
        .outerjoin(Domain, Domain.id == model.domain_id)
        .where(model.removed.is_(None))
    )
    if isinstance(value, int) or text.isdecimal():
        number = int(text)
        if not 0 < number < 2**63:
            raise invalid_id(param, value)
        stmt = stmt.where(model.id == number)
    else:
        stmt = stmt.where(model.uuid == text)
    row = session.execute(stmt).first()
    if row is None:
        raise invalid_id(param, value)
    return row[0], row[1]


def find_service_offering(session: Session, value: object, param: str = "id") -> ServiceOffering:
    """The live service offering ``value`` names, system ones included; 431 naming
    ``param`` if none."""
    return _find(session, ServiceOffering, value, param)[0]


def find_disk_offering(session: Session, value: object, param: str = "id") -> DiskOffering:
    """The live disk offering ``value`` names, system ones included; 431 naming
    ``param`` if none."""
    return _find(session, DiskOffering, value, param)[0]


def service_offering_for(
    session: Session,
    caller: CallContext,
    uuid: object,
    *,
    param: str = "serviceofferingid",
    allow_system: bool = False,
) -> ServiceOffering:
    """The service offering ``caller`` may deploy a VM with.

    :param uuid: the parameter's value (UUID, or internal id).
    :param param: the parameter named in the error.
    :param allow_system: accept system offerings (for the code that starts system VMs).
    :raises InvalidParameterValue: unknown, removed, a system offering, or not visible
        to the caller (431 naming ``param``).
    """
    offering, domain_path = _find(session, ServiceOffering, uuid, param)
    if (offering.system_use and not allow_system) or not may_see(caller, domain_path):
        raise invalid_id(param, uuid)
    return offering


def disk_offering_for(
    session: Session,
    caller: CallContext,
    uuid: object,
    *,
    param: str = "diskofferingid",
) -> DiskOffering:
    """The disk offering ``caller`` may create a volume with.

    :raises InvalidParameterValue: unknown, removed, a system offering, or not visible
        to the caller (431 naming ``param``).
    """
    offering, domain_path = _find(session, DiskOffering, uuid, param)
    if offering.system_use or not may_see(caller, domain_path):
        raise invalid_id(param, uuid)
    return offering


def current_offering_of_vm(session: Session, caller: CallContext, vm: object) -> tuple[int, bool]:
    """``(offering id, uses local storage)`` of the user VM ``vm`` names, for
    ``listServiceOfferings virtualmachineid=`` (the offerings it can change to).

    One statement: the VM, its owner's account and domain, and its current offering.

    :raises InvalidParameterValue: no such live user VM (431 naming
        ``virtualmachineid``).
    :raises PermissionDenied: the VM's owner is outside the caller's reach (531).
    """
    param = "virtualmachineid"
    text = str(vm).strip()
    key = VirtualMachine.id == int(text) if text.isdecimal() else VirtualMachine.uuid == text
    if text.isdecimal() and not 0 < int(text) < 2**63:
        raise invalid_id(param, vm)
    row = session.execute(
        select(
            VirtualMachine.account_id,
            VirtualMachine.service_offering_id,
            Account.uuid.label("account_uuid"),
            Domain.id,
            Domain.uuid,
            Domain.path,
            Domain.removed,
            ServiceOffering.use_local_storage,
        )
        .join(Account, Account.id == VirtualMachine.account_id)
        .join(Domain, Domain.id == Account.domain_id)
        .outerjoin(ServiceOffering, ServiceOffering.id == VirtualMachine.service_offering_id)
        .where(key, VirtualMachine.removed.is_(None), VirtualMachine.type == VmType.USER.value)
    ).first()
    if row is None:
        raise invalid_id(param, vm)
    check_owner_access(caller, row.account_id, row.account_uuid, row)
    return int(row.service_offering_id), bool(row.use_local_storage)
