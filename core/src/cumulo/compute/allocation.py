"""``deployVirtualMachine``'s first step: validate everything and allocate the VM.

4.1's ``DeployVMCmd`` is a ``BaseAsyncCreateCmd``: ``create()`` runs in the API request
and allocates the VM (``Stopped``, volumes ``Allocated``) so the answer carries its
``id`` beside the ``jobid``; ``execute()`` then starts it in the job
(:mod:`cumulo.compute.starting`). Here the allocation is one transaction — the API
request's, committed with the job row — of five statements besides authentication
and the job row (bench/deploy.py counts them):

- the caller's ``user_vm`` and ``volume`` counts are incremented (one ``UPDATE``; a
  :class:`~cumulo.limits.reservation.Reservation`, race-free against the limits);
- ONE statement reads the zone, the offerings, the template/ISO with its download,
  whether the name is taken, the highest VM id, and those counts with their limits
  (:mod:`cumulo.compute.deploy_lookup`); the parameters are checked on it in 4.1's
  order, the limits last (an exceeded one undoes the increment, 532);
- the ``vm_instance`` row, named ``i-<account>-<id>-VM`` in the same statement (its id
  predicted from the highest one, see :func:`_insert_vm`), its volume rows (one
  statement) and its group membership are written;
- ``VM.CREATE`` is recorded.

A deploy for another account (``account``/``domainid``) resolves it after the zone,
as 4.1 does, and reserves through :func:`cumulo.limits.service.reserve_many`.

Placement and the hypervisor come with the start. An advanced zone's NICs are
allocated here, on the given networks or the account's default isolated network
(:func:`cumulo.network.nics.allocate_deploy_nics`); a basic zone's NIC comes with the
start, because its address comes from the guest range of the pod placement picks.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cumulo import events
from cumulo.accounts.lookup import invalid_id
from cumulo.accounts.models import AccountState
from cumulo.compute import deploy_lookup, groups, passwords
from cumulo.compute.deploy_lookup import check_disk_offering, check_offering, deployable
from cumulo.compute.disks import DiskRequest, insert_volumes
from cumulo.compute.groups import VmRef
from cumulo.compute.models import VirtualMachine, VmState
from cumulo.compute.owners import resolve_owner, runtime_of
from cumulo.compute.settings import INSTANCE_NAME
from cumulo.db.base import new_uuid
from cumulo.infra import ipv4
from cumulo.infra.hosts.lookup import find_host
from cumulo.infra.models import AllocationState, NetworkType
from cumulo.limits.reservation import CountedAccount, Reservation
from cumulo.limits.service import reserve_many
from cumulo.limits.types import ResourceType
from cumulo.network.nics import NicOwner, ZoneFacts, allocate_deploy_nics
from cumulo.sdk.api import Call
from cumulo.sdk.errors import InvalidParameterValue, PermissionDenied
from cumulo.templates.lookup import DeployableTemplate
from cumulo.volumes.models import VolumeType

GB = 1024**3
MAX_USER_DATA_BYTES = 2048
"""4.1's ``MAX_USER_DATA_LENGTH_BYTES``: what an HTTP GET may carry (base64 text)."""
MAX_USER_DATA_POST_BYTES = 16 * MAX_USER_DATA_BYTES
"""4.1's ``MAX_HTTP_POST_LENGTH``: 32 KiB by POST."""

# 4.1 NetUtils.verifyDomainNameLabel(hostName, true): a DNS label, not starting with a digit.
_HOST_NAME = re.compile(r"^[a-zA-Z]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$")


def validate_user_data(value: str | None, *, method: str = "GET") -> str | None:
    """``userdata`` checked as 4.1's ``validateUserData``: base64, not empty once
    decoded, at most 2 KiB by GET and 32 KiB by POST.

    :param method: the HTTP method the request came with (``GET`` or ``POST``).
    :return: the value as given (stored base64, as 4.1 stores it), or ``None``.
    :raises InvalidParameterValue: not base64, empty, or too long (431 naming
        ``userdata``).
    """
    if value is None:
        return None
    limit = MAX_USER_DATA_POST_BYTES if method.upper() == "POST" else MAX_USER_DATA_BYTES
    if len(value) > limit:
        raise InvalidParameterValue(
            f"userdata: User data is too long for an http {method.upper()} request"
            f" (at most {limit} characters of base64)"
        )
    try:
        decoded = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidParameterValue(f"userdata: User data is not base64 encoded ({exc})") from exc
    if not decoded:
        raise InvalidParameterValue("userdata: User data is too short")
    return value.strip()


def check_host_name(name: str) -> None:
    """4.1's host-name rule for a VM's ``name``.

    :raises InvalidParameterValue: not a DNS label starting with a letter (431).
    """
    if not _HOST_NAME.match(name):
        raise InvalidParameterValue(
            "Invalid name. Vm name can contain ASCII letters 'a' through 'z', the digits '0'"
            " through '9', and the hyphen ('-'), must be between 1 and 63 characters long,"
            " and can't start or end with \"-\" and can't start with digit"
        )


@dataclass(frozen=True)
class DeployChoice:
    """What the allocation made: the VM's ids, for the answer and the job."""

    vm_id: int
    vm_uuid: str


def _check_zone(call: Call, row: Any) -> None:
    """:func:`cumulo.infra.lookup.find_zone`'s other rules, on the lookup's row."""
    if row.zone_allocation_state == AllocationState.DISABLED.value and not call.ctx.is_root_admin:
        raise PermissionDenied(
            f"Cannot perform this operation, Zone is currently disabled: {row.zone_uuid}"
        )
    if row.zone_networktype == NetworkType.BASIC.value and (
        call.get("networkids") or call.get("iptonetworklist")
    ):
        which = "networkids" if call.get("networkids") else "iptonetworklist"
        raise InvalidParameterValue(f"{which}: Can't specify network Ids in Basic zone")


def _disks(call: Call, row: Any, template: DeployableTemplate) -> tuple[bool, list[DiskRequest]]:
    """Whether a disk offering is used, and the disks (ROOT first) the parameters ask
    for; the disk offering's rules on the lookup's row."""
    ctx = call.ctx
    given = bool(call.get("diskofferingid"))
    if given:
        check_disk_offering(ctx, row, call.params["diskofferingid"])
    customized = given and bool(row.do_customized)
    size_gb = call.get("size")
    if size_gb is not None and not customized:
        raise InvalidParameterValue(
            "size: a size is accepted only with a customized disk offering (diskofferingid)"
        )
    if size_gb is not None and size_gb <= 0:
        raise InvalidParameterValue("size: the disk size must be a positive number of GB")
    disk_bytes = 0
    if given:
        disk_bytes = int(size_gb) * GB if customized and size_gb else int(row.do_size or 0)
        if customized and size_gb is None:
            raise InvalidParameterValue(
                "size: the disk offering is customized; give the disk size in GB"
            )
    if template.is_iso:
        if not given:
            raise InvalidParameterValue(
                "diskofferingid: Installing from ISO requires a disk offering to be specified"
                " for the root disk."
            )
        return given, [
            DiskRequest(VolumeType.ROOT, disk_bytes, disk_offering_id=row.do_id, format=None)
        ]
    disks = [
        DiskRequest(VolumeType.ROOT, template.size, template_id=template.id, format=template.format)
    ]
    if given:
        disks.append(DiskRequest(VolumeType.DATADISK, disk_bytes, disk_offering_id=row.do_id))
    return given, disks


def _name(call: Call, row: Any, uuid: str) -> str:
    name: str | None = call.get("name")
    if name is None:
        return uuid
    check_host_name(name)
    if row.name_taken:
        raise InvalidParameterValue(
            f"name: The vm with hostName {name} already exists in the network domain of"
            f" zone {row.zone_name}"
        )
    return name


def _amounts(volumes: int) -> dict[ResourceType, int]:
    return {ResourceType.USER_VM: 1, ResourceType.VOLUME: volumes}


def allocate(call: Call, *, http_method: str = "GET") -> DeployChoice:
    """Validate a ``deployVirtualMachine`` call and allocate its VM (module doc).

    :raises InvalidParameterValue: a parameter is wrong (431 naming it).
    :raises PermissionDenied: a resource is outside the caller's reach (531).
    :raises AccountLimitExceeded: the owner's VM or volume limit is reached (532).
    """
    session, ctx = call.session, call.ctx
    runtime = runtime_of(call)
    # The caller owns the VM (no ``account``): its counts are incremented first and
    # read back by the lookup (see the module doc); for another owner, that owner is
    # resolved after the zone, as before, and reserved the usual way.
    reservation: Reservation | None = None
    if call.get("account") is None:
        counted = CountedAccount(
            ctx.account_id, ctx.account_type, ctx.account_name, ctx.domain_path, ctx.domain_id
        )
        # A template deploy's volumes: ROOT and the data disk of a disk offering (an
        # ISO deploy's disk offering is its ROOT: corrected below, rarely).
        reservation = Reservation(counted, _amounts(2 if call.get("diskofferingid") else 1))
        reservation.increment(session)
    predict = session.get_bind().dialect.name in _PREDICTING
    found = deploy_lookup.read(
        session,
        call.params,
        ctx,
        name=call.get("name"),
        predict=predict,
        reservation=reservation,
    )
    if found is None:
        raise invalid_id("zoneid", call.params["zoneid"])
    row = found.row
    _check_zone(call, row)
    owner = resolve_owner(call)
    if owner.state != AccountState.ENABLED.value:
        raise PermissionDenied(f"The owner of vm {owner.account_name} is disabled: {owner.uuid}")
    if call.get("hostid") is not None:
        if not ctx.is_root_admin:
            raise PermissionDenied("hostid: Parameter hostid can only be specified by a Root Admin")
        host = find_host(session, call.params["hostid"], "hostid")
        if host.data_center_id != row.zone_id:
            raise InvalidParameterValue("hostid: the host is not in zone zoneid")
    if call.get("securitygroupids") and call.get("securitygroupnames"):
        raise InvalidParameterValue(
            "securitygroupids: securitygroupids parameter is mutually exclusive with"
            " securitygroupnames parameter"
        )
    if call.get("ipaddress") is not None:
        ipv4.address(call.params["ipaddress"], "ipaddress")
    if call.get("projectid") is not None:
        raise InvalidParameterValue("projectid: projects are not supported by this server")
    check_offering(ctx, row, call.params["serviceofferingid"])
    template = deployable(ctx, row, call.params["templateid"])
    hypervisor = call.get("hypervisor")
    if (
        hypervisor
        and template.hypervisor_type
        and not template.is_iso
        and hypervisor.lower() != template.hypervisor_type.lower()
    ):
        raise InvalidParameterValue(
            f"hypervisor: the template is for {template.hypervisor_type}, not {hypervisor}"
        )
    if row.so_local and not row.zone_local_storage:
        raise InvalidParameterValue(
            f"serviceofferingid: Zone is not configured to use local storage but service"
            f" offering {row.so_name} uses it"
        )
    _, disks = _disks(call, row, template)
    user_data = validate_user_data(call.get("userdata"), method=http_method)
    public_key = None
    if call.get("keypair"):
        from cumulo.keypairs.lookup import public_key_for

        public_key = public_key_for(session, owner.id, call.params["keypair"])
    if reservation is None:
        wanted: dict[ResourceType | int | str, int] = dict(_amounts(len(disks)).items())
        reserve_many(session, owner.id, wanted)
    else:
        rows = found.rows
        if reservation.amounts[ResourceType.VOLUME] != len(disks):  # an ISO's disk offering
            surplus = reservation.amounts[ResourceType.VOLUME] - len(disks)
            Reservation(reservation.account, {ResourceType.VOLUME: surplus}).increment(session, -1)
            reservation = Reservation(reservation.account, _amounts(len(disks)))
            rows = reservation.read(session)
        reservation.check(session, rows)
    uuid = new_uuid()
    name = _name(call, row, uuid)
    display_name = call.get("displayname") or name
    values = {
        "uuid": uuid,
        "name": name,
        "display_name": display_name,
        "state": VmState.STOPPED.value,
        "account_id": owner.id,
        "domain_id": owner.domain_id,
        "service_offering_id": row.so_id,
        "template_id": None if template.is_iso else template.id,
        "iso_id": template.id if template.is_iso else None,
        "guest_os_id": template.guest_os_id,
        "data_center_id": row.zone_id,
        "hypervisor_type": (template.hypervisor_type if not template.is_iso else hypervisor)
        or hypervisor,
        "ha_enabled": bool(row.so_ha),
        "limit_cpu_use": bool(row.so_limit_cpu_use),
        "vnc_password": passwords.new_vnc_password(runtime.database_key, runtime.algorithm),
        "user_data": user_data,
        "ssh_public_key": public_key,
        "keypair_name": call.get("keypair") if public_key else None,
    }
    suffix = runtime.config_store(session).value(INSTANCE_NAME) or "VM"
    predicted = int(row.max_vm_id or 0) + 1 if predict else None
    vm_id = _insert_vm(session, values, f"i-{owner.id}-{{}}-{suffix}", predicted)
    insert_volumes(session, vm_id, owner.id, owner.domain_id, row.zone_id, disks)
    # Advanced zones: the NICs, on the given networks or the account's default isolated
    # network (created if it has none); a basic zone's NIC comes with the first start.
    allocate_deploy_nics(
        session,
        NicOwner(vm_id, owner.id, owner.domain_id),
        ZoneFacts(row.zone_id, row.zone_name, row.zone_networktype),
        networkids=call.get("networkids"),
        ipaddress=call.get("ipaddress"),
        iptonetworklist=call.get("iptonetworklist"),
    )
    if call.get("group"):
        groups.join_by_name(session, VmRef(vm_id, owner.id, owner.domain_id), call.params["group"])
    if row.zone_sg_enabled or call.get("securitygroupids") or call.get("securitygroupnames"):
        # Security groups (REQ-SG-02): the ones named, else the owner's default group;
        # refused in zones without security groups.
        from cumulo.network.security_groups import membership

        membership.join(
            session,
            membership.Member(vm_id, owner.id, owner.domain_id, row.zone_id),
            membership.resolve_groups(
                session,
                ctx,
                owner,
                ids=call.get("securitygroupids"),
                names=call.get("securitygroupnames"),
            ),
            sg_enabled=bool(row.zone_sg_enabled),
        )
    events.record(
        call,
        "VM.CREATE",
        f"Successfully created entity for deploying Vm. Vm Id: {uuid}",
        resource_type="VirtualMachine",
        resource_uuid=uuid,
        account_id=owner.id,
        domain_id=owner.domain_id,
    )
    return DeployChoice(vm_id, uuid)


_PREDICTING = frozenset({"sqlite", "mysql", "mariadb"})
"""Back ends whose failed ``INSERT`` leaves the transaction usable (PostgreSQL aborts
it), so a VM id predicted wrong can fall back to the database's."""

_VM = cast(Table, VirtualMachine.__table__)
_INSERT_VM = insert(_VM)
_NAME_VM = (
    update(_VM).where(_VM.c.id == bindparam("vm_id")).values(instance_name=bindparam("new_name"))
)


def _insert_vm(
    session: Session, values: dict[str, Any], name_pattern: str, predicted: int | None
) -> int:
    """Insert the VM row; its id.

    ``instance_name`` carries the id (``i-<account>-<id>-VM``). With ``predicted`` (the
    highest VM id read by the lookup, plus one) the row is written with that id and
    its final name in one statement. On SQLite the prediction is exact (the
    transaction holds the write lock since ``BEGIN IMMEDIATE``); on MariaDB a
    concurrent deploy may have taken the id meanwhile, and the duplicate key then only
    fails that statement: the row is written again with the database's id, and named
    by a second statement, as without a prediction.
    """
    connection = session.connection()
    if predicted is not None:
        try:
            connection.execute(
                _INSERT_VM,
                {**values, "id": predicted, "instance_name": name_pattern.format(predicted)},
            )
            return predicted
        except IntegrityError:
            pass
    result = connection.execute(_INSERT_VM, {**values, "instance_name": values["uuid"]})
    vm_id = int(result.inserted_primary_key[0])  # type: ignore[index]
    connection.execute(_NAME_VM, {"vm_id": vm_id, "new_name": name_pattern.format(vm_id)})
    return vm_id
