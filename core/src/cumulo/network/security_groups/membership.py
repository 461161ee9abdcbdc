"""Which VMs are in which security groups, and getting their rules applied.

- :func:`join` puts a VM in its groups when it is deployed in a zone with security
  groups (``deployVirtualMachine securitygroupids``/``securitygroupnames``, resolved by
  :func:`resolve_groups`; none given: the account's ``default`` group, REQ-SG-02). The
  membership is fixed for the VM's lifetime (REQ-SG-03): nothing here moves a VM.
- A change of a group's rules, or of who is in a group that other groups' rules name,
  changes what the providers must enforce for the VMs concerned, running or stopped
  (REQ-SG-04): :func:`apply_networks` applies the SecurityGroup set of every network
  those VMs have a NIC on (:mod:`cumulo.network.security_groups.rulesets`).

The compute deploy path calls :func:`join` in its allocation transaction, and
:func:`refresh` once the VM's NICs exist (after its start) and after its expunge.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import exists, insert, or_, select
from sqlalchemy.orm import Session

from cumulo.compute.models import Nic, VirtualMachine
from cumulo.compute.owners import Owner
from cumulo.infra.models import Zone
from cumulo.network.rules.applying import apply_services, bind_runtime
from cumulo.network.security_groups.groups import ensure_default, find_by_name, find_group
from cumulo.network.security_groups.models import (
    SecurityGroup,
    SecurityGroupRule,
    SecurityGroupVmMap,
)
from cumulo.sdk.api import CallContext
from cumulo.sdk.errors import CloudError, InvalidParameterValue, PermissionDenied
from cumulo.sdk.network import Service

_SG = (Service.SECURITY_GROUP,)
log = logging.getLogger(__name__)


def resolve_groups(
    session: Session,
    ctx: CallContext,
    owner: Owner,
    *,
    ids: Sequence[object] | None = None,
    names: Sequence[str] | None = None,
) -> list[int]:
    """The groups ``securitygroupids`` or ``securitygroupnames`` name, as internal ids
    (``[]`` for neither: :func:`join` then uses the ``default`` group).

    :raises InvalidParameterValue: both given, or a group that does not exist (431).
    :raises PermissionDenied: a group of another account than the VM's owner (531).
    """
    if ids and names:
        raise InvalidParameterValue(
            "securitygroupids: securitygroupids and securitygroupnames are mutually exclusive"
        )
    found: list[int] = []
    for value in ids or ():
        group = find_group(session, ctx, value, "securitygroupids")
        if group.account_id != owner.id:
            raise PermissionDenied(
                f"securitygroupids: security group {group.uuid} does not belong to the VM's"
                f" account {owner.account_name}"
            )
        found.append(group.id)
    for name in names or ():
        found.append(find_by_name(session, ctx, owner, name, "securitygroupnames").id)
    return list(dict.fromkeys(found))


@dataclass(frozen=True)
class Member:
    """A VM as the deploy path knows it before it has a row object (a :class:`MemberVm`)."""

    id: int
    account_id: int
    domain_id: int
    data_center_id: int


class MemberVm(Protocol):
    """What :func:`join` reads of a VM: a ``VirtualMachine`` row, or the same values
    the deploy path holds before it has one."""

    @property
    def id(self) -> int: ...

    @property
    def account_id(self) -> int: ...

    @property
    def domain_id(self) -> int: ...

    @property
    def data_center_id(self) -> int: ...


def join(
    session: Session,
    vm: MemberVm,
    group_ids: Sequence[int],
    *,
    sg_enabled: bool | None = None,
) -> list[int]:
    """Put ``vm`` in ``group_ids`` (none: its account's ``default`` group) when its
    zone has security groups; return the groups joined (``[]`` in other zones).

    :param sg_enabled: the zone's ``is_security_group_enabled`` when the caller read it
        already (then a zone without security groups costs no statement).
    :raises InvalidParameterValue: groups were given in a zone without security groups
        (431 naming ``securitygroupids``).
    """
    enabled = sg_enabled
    if enabled is None:
        enabled = session.scalar(
            select(Zone.is_security_group_enabled).where(Zone.id == vm.data_center_id)
        )
    if not enabled:
        if group_ids:
            raise InvalidParameterValue(
                "securitygroupids: security groups are not enabled in the zone of the VM"
            )
        return []
    groups = list(dict.fromkeys(group_ids)) or [
        ensure_default(session, vm.account_id, vm.domain_id)
    ]
    session.execute(
        insert(SecurityGroupVmMap),
        [{"security_group_id": g, "instance_id": vm.id} for g in groups],
    )
    return groups


def member_networks(session: Session, group_ids: Sequence[int]) -> list[int]:
    """The networks the live VMs of the groups have a NIC on (one statement)."""
    if not group_ids:
        return []
    rows = session.scalars(
        select(Nic.network_id)
        .join(SecurityGroupVmMap, SecurityGroupVmMap.instance_id == Nic.instance_id)
        .join(VirtualMachine, VirtualMachine.id == Nic.instance_id)
        .where(
            SecurityGroupVmMap.security_group_id.in_(list(group_ids)),
            Nic.removed.is_(None),
            Nic.network_id.is_not(None),
            VirtualMachine.removed.is_(None),
        )
        .distinct()
    )
    return sorted(n for n in rows if n is not None)


def networks_for_vm(session: Session, vm_id: int) -> list[int]:
    """The networks whose SecurityGroup set changes with the VM's membership: its
    own, and those of the VMs whose groups' rules name one of its groups (one
    statement; none for a VM in no group)."""
    mine = select(SecurityGroupVmMap.security_group_id).where(
        SecurityGroupVmMap.instance_id == vm_id
    )
    naming = select(SecurityGroupRule.security_group_id).where(
        SecurityGroupRule.allowed_network_id.in_(mine)
    )
    rows = session.scalars(
        select(Nic.network_id)
        .outerjoin(SecurityGroupVmMap, SecurityGroupVmMap.instance_id == Nic.instance_id)
        .where(
            # A VM in no group (any zone without security groups) changes nothing.
            exists(mine),
            or_(Nic.instance_id == vm_id, SecurityGroupVmMap.security_group_id.in_(naming)),
            Nic.network_id.is_not(None),
        )
        .distinct()
    )
    return sorted(n for n in rows if n is not None)


def apply_networks(session: Session, network_ids: Sequence[int]) -> None:
    """Apply the SecurityGroup set of each network that has the service.

    :raises cumulo.sdk.errors.CloudError: a provider refused or did not answer.
    """
    for network_id in network_ids:
        apply_services(session, network_id, _SG)


def apply_for_vm(session: Session, vm_id: int) -> None:
    """Apply what the VM's membership changes (:func:`networks_for_vm`): call it once
    the VM's NICs exist (after its start) and after it is expunged."""
    apply_networks(session, networks_for_vm(session, vm_id))


def refresh(session: Session, runtime: object, vm_id: int) -> bool:
    """:func:`apply_for_vm` for the compute paths (a VM started, a VM expunged), which
    must not fail because a provider refused: as 4.1's security group work queue, a
    refusal is logged and left for the next change of the same sets to converge.

    :param runtime: the process's runtime, bound to the session for the providers.
    :return: whether every provider accepted the sets.
    """
    bind_runtime(session, runtime)
    try:
        apply_for_vm(session, vm_id)
    except CloudError as exc:
        session.rollback()
        log.warning("security group rules of VM id=%s were not applied: %s", vm_id, exc)
        return False
    return True


def groups_of(session: Session, vm_ids: Sequence[int]) -> dict[int, list[tuple[str, str]]]:
    """``(uuid, name)`` of each VM's groups, by VM id (one statement): what
    ``UserVmResponse.securitygroup`` shows."""
    found: dict[int, list[tuple[str, str]]] = {}
    if not vm_ids:
        return found
    rows = session.execute(
        select(SecurityGroupVmMap.instance_id, SecurityGroup.uuid, SecurityGroup.name)
        .join(SecurityGroup, SecurityGroup.id == SecurityGroupVmMap.security_group_id)
        .where(SecurityGroupVmMap.instance_id.in_(list(vm_ids)))
        .order_by(SecurityGroupVmMap.id)
    )
    for vm_id, uuid, name in rows:
        found.setdefault(vm_id, []).append((uuid, name))
    return found
