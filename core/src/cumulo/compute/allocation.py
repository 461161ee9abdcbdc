"""``deployVirtualMachine``'s first step: validate everything and allocate the VM.

4.1's ``DeployVMCmd`` is a ``BaseAsyncCreateCmd``: ``create()`` runs in the API request
and allocates the VM (``Stopped``, volumes ``Allocated``) so the answer carries its
``id`` beside the ``jobid``; ``execute()`` then starts it in the job
(:mod:`cumulo.compute.starting`). Here the allocation is one transaction — the API
request's, committed with the job row:

- the zone, offerings, template/ISO, key pair, owner and parameters are checked;
- the account's ``user_vm`` and ``volume`` counts are reserved together
  (:func:`cumulo.limits.service.reserve_many`, race-free against the limits);
- the ``vm_instance`` row, its volume rows and its group membership are written;
- ``VM.CREATE`` is recorded.

Placement, the NIC's address and the hypervisor come with the start, because in a
basic zone the address comes from the guest range of the pod placement picks.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from cumulo import events
from cumulo.accounts.models import AccountState
from cumulo.compute import groups, passwords
from cumulo.compute.disks import DiskRequest, allocate_volumes
from cumulo.compute.models import VirtualMachine, VmState
from cumulo.compute.owners import resolve_owner, runtime_of
from cumulo.compute.settings import INSTANCE_NAME
from cumulo.db.base import new_uuid
from cumulo.infra import ipv4
from cumulo.infra.hosts.lookup import find_host
from cumulo.infra.lookup import find_zone
from cumulo.infra.models import AllocationState, NetworkType, Zone
from cumulo.limits.service import reserve_many
from cumulo.limits.types import ResourceType
from cumulo.offerings.lookup import disk_offering_for, service_offering_for
from cumulo.offerings.models import DiskOffering, ServiceOffering
from cumulo.sdk.api import Call
from cumulo.sdk.errors import InvalidParameterValue, PermissionDenied
from cumulo.templates.lookup import DeployableTemplate, template_for_deploy
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
    """What the allocation decided, for the answer and the start."""

    vm: VirtualMachine
    offering: ServiceOffering
    template: DeployableTemplate
    disk_offering: DiskOffering | None


def _zone(call: Call) -> Zone:
    zone = find_zone(call.session, call.params["zoneid"])
    if zone.allocation_state == AllocationState.DISABLED.value and not call.ctx.is_root_admin:
        raise PermissionDenied(
            f"Cannot perform this operation, Zone is currently disabled: {zone.uuid}"
        )
    if zone.networktype != NetworkType.BASIC.value:
        raise InvalidParameterValue(
            "networkids: deploying into an advanced zone needs guest networks, which this"
            " server does not support yet; use a basic zone"
        )
    if call.get("networkids") or call.get("iptonetworklist"):
        which = "networkids" if call.get("networkids") else "iptonetworklist"
        raise InvalidParameterValue(f"{which}: Can't specify network Ids in Basic zone")
    return zone


def _data_disk(
    call: Call, template: DeployableTemplate
) -> tuple[DiskOffering | None, list[DiskRequest]]:
    """The disk offering and the disks (ROOT first) the parameters ask for."""
    session, ctx = call.session, call.ctx
    offering = (
        disk_offering_for(session, ctx, call.params["diskofferingid"])
        if call.get("diskofferingid")
        else None
    )
    size_gb = call.get("size")
    if size_gb is not None and (offering is None or not offering.customized):
        raise InvalidParameterValue(
            "size: a size is accepted only with a customized disk offering (diskofferingid)"
        )
    if size_gb is not None and size_gb <= 0:
        raise InvalidParameterValue("size: the disk size must be a positive number of GB")
    disk_bytes = 0
    if offering is not None:
        disk_bytes = int(size_gb) * GB if offering.customized else int(offering.disk_size)
        if offering.customized and size_gb is None:
            raise InvalidParameterValue(
                "size: the disk offering is customized; give the disk size in GB"
            )
    if template.is_iso:
        if offering is None:
            raise InvalidParameterValue(
                "diskofferingid: Installing from ISO requires a disk offering to be specified"
                " for the root disk."
            )
        return offering, [
            DiskRequest(VolumeType.ROOT, disk_bytes, disk_offering_id=offering.id, format=None)
        ]
    disks = [
        DiskRequest(VolumeType.ROOT, template.size, template_id=template.id, format=template.format)
    ]
    if offering is not None:
        disks.append(DiskRequest(VolumeType.DATADISK, disk_bytes, disk_offering_id=offering.id))
    return offering, disks


def _name(session: Session, call: Call, zone: Zone, uuid: str) -> str:
    name: str | None = call.get("name")
    if name is None:
        return uuid
    check_host_name(name)
    taken = session.scalar(
        select(
            exists().where(
                VirtualMachine.data_center_id == zone.id,
                VirtualMachine.name == name,
                VirtualMachine.removed.is_(None),
            )
        )
    )
    if taken:
        raise InvalidParameterValue(
            f"name: The vm with hostName {name} already exists in the network domain of"
            f" zone {zone.name}"
        )
    return name


def allocate(call: Call, *, http_method: str = "GET") -> DeployChoice:
    """Validate a ``deployVirtualMachine`` call and allocate its VM (module doc).

    :raises InvalidParameterValue: a parameter is wrong (431 naming it).
    :raises PermissionDenied: a resource is outside the caller's reach (531).
    :raises AccountLimitExceeded: the owner's VM or volume limit is reached (532).
    """
    session, ctx = call.session, call.ctx
    runtime = runtime_of(call)
    zone = _zone(call)
    owner = resolve_owner(call)
    if owner.state != AccountState.ENABLED.value:
        raise PermissionDenied(f"The owner of vm {owner.account_name} is disabled: {owner.uuid}")
    if call.get("hostid") is not None:
        if not ctx.is_root_admin:
            raise PermissionDenied("hostid: Parameter hostid can only be specified by a Root Admin")
        host = find_host(session, call.params["hostid"], "hostid")
        if host.data_center_id != zone.id:
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
    offering = service_offering_for(session, ctx, call.params["serviceofferingid"])
    template = template_for_deploy(session, ctx, call.params["templateid"], zone.id)
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
    if offering.use_local_storage and not zone.is_local_storage_enabled:
        raise InvalidParameterValue(
            f"serviceofferingid: Zone is not configured to use local storage but service"
            f" offering {offering.name} uses it"
        )
    disk_offering, disks = _data_disk(call, template)
    user_data = validate_user_data(call.get("userdata"), method=http_method)
    public_key = None
    if call.get("keypair"):
        from cumulo.keypairs.lookup import public_key_for

        public_key = public_key_for(session, owner.id, call.params["keypair"])
    display_name = call.get("displayname")
    # Both counts in one pass (four statements, not eight), all or nothing.
    reserve_many(session, owner.id, {ResourceType.USER_VM: 1, ResourceType.VOLUME: len(disks)})
    config = runtime.config_store(session)
    vm = VirtualMachine(
        uuid=new_uuid(),
        name="",
        instance_name="",
        display_name=display_name,
        state=VmState.STOPPED.value,
        account_id=owner.id,
        domain_id=owner.domain_id,
        service_offering_id=offering.id,
        template_id=None if template.is_iso else template.id,
        iso_id=template.id if template.is_iso else None,
        guest_os_id=template.guest_os_id,
        data_center_id=zone.id,
        hypervisor_type=(template.hypervisor_type if not template.is_iso else hypervisor)
        or hypervisor,
        ha_enabled=offering.ha_enabled,
        limit_cpu_use=offering.limit_cpu_use,
        vnc_password=passwords.new_vnc_password(runtime.database_key, runtime.algorithm),
        user_data=user_data,
        ssh_public_key=public_key,
        keypair_name=call.get("keypair") if public_key else None,
    )
    vm.name = _name(session, call, zone, vm.uuid)
    vm.display_name = display_name or vm.name
    # instance_name needs the id: a unique placeholder until the flush gives one.
    vm.instance_name = vm.uuid
    session.add(vm)
    session.flush()
    vm.instance_name = f"i-{owner.id}-{vm.id}-{config.value(INSTANCE_NAME) or 'VM'}"
    allocate_volumes(session, vm, disks)
    if call.get("group"):
        groups.join_by_name(session, vm, call.params["group"])
    session.flush()
    events.record(
        call,
        "VM.CREATE",
        f"Successfully created entity for deploying Vm. Vm Id: {vm.uuid}",
        resource_type="VirtualMachine",
        resource_uuid=vm.uuid,
        account_id=owner.id,
        domain_id=owner.domain_id,
    )
    return DeployChoice(vm, offering, template, disk_offering)
