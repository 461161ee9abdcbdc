"""What the deploy's job reads back of what its create step made, in ONE statement:
the VM (found through the job's instance id), its service offering, its template or
ISO with its download in the VM's zone (as the
:class:`~cumulo.templates.lookup.DeployableTemplate` the start needs), its volumes
with their disk offerings, and the names its answer shows (owner, domain, zone, OS
type, instance group) — a row per volume.

The create step checked the caller against all of them (ownership, visibility, the
download); the job runs as the same caller on the rows it made, so it does not check
again. Since the job then knows every column of the answer but the host and the NIC,
which the start itself chooses, the answer is built without reading the VM back
(:func:`answer_row`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, bindparam, select
from sqlalchemy.orm import Session, aliased

from cumulo.accounts.models import Account, Domain
from cumulo.compute.listing import VM_COLUMNS
from cumulo.compute.models import InstanceGroup, InstanceGroupVmMap, VirtualMachine
from cumulo.infra.hosts.models import Host
from cumulo.infra.models import Zone
from cumulo.jobs.models import AsyncJob
from cumulo.offerings.models import DiskOffering, ServiceOffering
from cumulo.sdk.errors import InternalError, InvalidParameterValue
from cumulo.templates.lookup import DeployableTemplate
from cumulo.templates.models import (
    DownloadState,
    GuestOs,
    TemplateFormat,
    TemplateZoneRef,
    VMTemplate,
)
from cumulo.volumes.models import Volume


@dataclass(frozen=True)
class DeployVolume:
    """A volume the create step allocated (no pool, no path yet)."""

    id: int
    uuid: str
    volume_type: str
    device_id: int
    size: int
    template_id: int | None
    disk_tags: tuple[str, ...]
    disk_local: bool


@dataclass(frozen=True)
class Deployment:
    """The VM a deploy job starts, with its offering, template, volumes and names."""

    vm: VirtualMachine
    offering: ServiceOffering
    template: DeployableTemplate
    template_display_text: str | None
    template_zone_size: int
    volumes: tuple[DeployVolume, ...]
    names: dict[str, Any]
    """The listing's columns (:data:`cumulo.compute.listing.VM_COLUMNS`) that the
    start does not change: owner, domain, zone, offering, OS type, group."""
    zone_security_groups: bool = False
    """The zone has security groups (a VM elsewhere is in none)."""


_VM_OS = aliased(GuestOs, name="vm_os")
_TEMPLATE_OS = aliased(GuestOs, name="template_os")
_STORE = aliased(Host, name="store")

_LOAD: Select[Any] = (
    select(  # type: ignore[assignment]
        VirtualMachine,
        ServiceOffering,
        VMTemplate,
        _TEMPLATE_OS.display_name,
        TemplateZoneRef.download_state,
        TemplateZoneRef.install_path,
        TemplateZoneRef.size,
        _STORE.url,
        Account.account_name,
        Domain.uuid,
        Domain.name,
        Zone.uuid,
        Zone.name,
        _VM_OS.uuid,
        InstanceGroup.uuid,
        InstanceGroup.name,
        Volume.id,
        Volume.uuid,
        Volume.volume_type,
        Volume.device_id,
        Volume.size,
        Volume.template_id,
        DiskOffering.tags,
        DiskOffering.use_local_storage,
        Zone.is_security_group_enabled,
    )
    .select_from(AsyncJob)
    .join(VirtualMachine, VirtualMachine.uuid == AsyncJob.instance_uuid)
    .join(ServiceOffering, ServiceOffering.id == VirtualMachine.service_offering_id)
    .join(
        VMTemplate,
        (VMTemplate.id == VirtualMachine.template_id) | (VMTemplate.id == VirtualMachine.iso_id),
    )
    .join(Account, Account.id == VirtualMachine.account_id)
    .join(Domain, Domain.id == VirtualMachine.domain_id)
    .join(Zone, Zone.id == VirtualMachine.data_center_id)
    .outerjoin(_TEMPLATE_OS, _TEMPLATE_OS.id == VMTemplate.guest_os_id)
    .outerjoin(_VM_OS, _VM_OS.id == VirtualMachine.guest_os_id)
    .outerjoin(
        TemplateZoneRef,
        and_(
            TemplateZoneRef.template_id == VMTemplate.id,
            TemplateZoneRef.zone_id == VirtualMachine.data_center_id,
        ),
    )
    .outerjoin(_STORE, _STORE.id == TemplateZoneRef.store_id)
    .outerjoin(InstanceGroupVmMap, InstanceGroupVmMap.instance_id == VirtualMachine.id)
    .outerjoin(InstanceGroup, InstanceGroup.id == InstanceGroupVmMap.group_id)
    .outerjoin(Volume, and_(Volume.instance_id == VirtualMachine.id, Volume.removed.is_(None)))
    .outerjoin(DiskOffering, DiskOffering.id == Volume.disk_offering_id)
    .where(AsyncJob.uuid == bindparam("job"), VirtualMachine.removed.is_(None))
    .order_by(Volume.device_id)
)


def load_deployment(session: Session, job_uuid: str) -> Deployment:
    """The deploy job ``job_uuid``'s VM, offering, template and volumes (one
    statement).

    :raises InternalError: the job names no VM (a bug; 530).
    :raises InvalidParameterValue: the template is no longer downloaded in the zone.
    """
    rows = session.execute(_LOAD, {"job": job_uuid}).all()
    if not rows:
        raise InternalError(f"job {job_uuid} has no virtual machine to deploy")
    vm, offering, template, os_name, state, path, zone_size, store_url = rows[0][:8]
    is_iso = template.format == TemplateFormat.ISO.value
    if state != DownloadState.DOWNLOADED.value:
        raise InvalidParameterValue(
            f"templateid: {'ISO' if is_iso else 'template'} {template.uuid} is not ready in"
            " the VM's zone (not downloaded there)"
        )
    deployable = DeployableTemplate(
        id=template.id,
        uuid=template.uuid,
        name=template.name,
        format=template.format,
        hypervisor_type=template.hypervisor_type,
        size=int(zone_size or template.size or 0),
        password_enabled=template.password_enabled,
        is_iso=is_iso,
        guest_os_id=template.guest_os_id,
        guest_os_display_name=os_name,
        install_url=f"{(store_url or '').rstrip('/')}/{path or ''}",
        sshkey_enabled=template.sshkey_enabled,
        bootable=template.bootable,
    )
    (account_name, domain_uuid, domain_name, zone_uuid, zone_name, os_uuid) = rows[0][8:14]
    group_uuid, group_name = rows[0][14:16]
    names = {
        "account_name": account_name,
        "domain_uuid": domain_uuid,
        "domain_name": domain_name,
        "zone_uuid": zone_uuid,
        "zone_name": zone_name,
        "offering_uuid": offering.uuid,
        "offering_name": offering.name,
        "cpu": offering.cpu,
        "speed": offering.speed,
        "ram_size": offering.ram_size,
        "guest_os_uuid": os_uuid,
        "group_uuid": group_uuid,
        "group_name": group_name,
    }
    volumes = tuple(
        DeployVolume(
            id=row[16],
            uuid=row[17],
            volume_type=row[18],
            device_id=row[19] or 0,
            size=int(row[20] or 0),
            template_id=row[21],
            disk_tags=tuple(t.strip() for t in (row[22] or "").split(",") if t.strip()),
            disk_local=bool(row[23]),
        )
        for row in rows
        if row[16] is not None
    )
    return Deployment(
        vm,
        offering,
        deployable,
        template.display_text,
        int(zone_size or 0),
        volumes,
        names,
        bool(rows[0][24]),
    )


def answer_row(loaded: Deployment, host_uuid: str, host_name: str) -> tuple[Any, ...]:
    """The deployed VM as :func:`cumulo.compute.listing.vm_row` would read it now: the
    :data:`~cumulo.compute.listing.VM_COLUMNS` in order, from what the job knows."""
    vm, template = loaded.vm, loaded.template
    iso = template.is_iso
    values = {
        **loaded.names,
        "id": vm.id,
        "uuid": vm.uuid,
        "name": vm.name,
        "display_name": vm.display_name,
        "instance_name": vm.instance_name,
        "state": vm.state,
        "created": vm.created,
        "ha_enabled": vm.ha_enabled,
        "hypervisor_type": vm.hypervisor_type,
        "keypair_name": vm.keypair_name,
        "password": vm.password,
        "account_id": vm.account_id,
        "update_count": vm.update_count,
        "host_uuid": host_uuid,
        "host_name": host_name,
        "template_uuid": None if iso else template.uuid,
        "template_name": None if iso else template.name,
        "template_display_text": None if iso else loaded.template_display_text,
        "password_enabled": False if iso else template.password_enabled,
        "iso_uuid": template.uuid if iso else None,
        "iso_name": template.name if iso else None,
        "iso_display_text": loaded.template_display_text if iso else None,
    }
    return tuple(values.get(name) for name in VM_COLUMNS)
