"""What the deploy's job reads back of what its create step made, in ONE statement:
the VM (found through the job's instance id), its service offering, and its template
or ISO with its download in the VM's zone, as the
:class:`~cumulo.templates.lookup.DeployableTemplate` the start needs.

The create step checked the caller against all of them (ownership, visibility, the
download); the job runs as the same caller on the rows it made, so it does not check
again.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from cumulo.compute.models import VirtualMachine
from cumulo.infra.hosts.models import Host
from cumulo.jobs.models import AsyncJob
from cumulo.offerings.models import ServiceOffering
from cumulo.sdk.errors import InternalError, InvalidParameterValue
from cumulo.templates.lookup import DeployableTemplate
from cumulo.templates.models import (
    DownloadState,
    GuestOs,
    TemplateFormat,
    TemplateZoneRef,
    VMTemplate,
)


@dataclass(frozen=True)
class Deployment:
    """The VM a deploy job starts, with its offering and template."""

    vm: VirtualMachine
    offering: ServiceOffering
    template: DeployableTemplate


def load_deployment(session: Session, job_uuid: str) -> Deployment:
    """The deploy job ``job_uuid``'s VM, offering and template (one statement).

    :raises InternalError: the job names no VM (a bug; 530).
    :raises InvalidParameterValue: the template is no longer downloaded in the zone.
    """
    row = session.execute(
        select(
            VirtualMachine,
            ServiceOffering,
            VMTemplate,
            GuestOs.display_name,
            TemplateZoneRef.download_state,
            TemplateZoneRef.install_path,
            TemplateZoneRef.size,
            Host.url,
        )
        .select_from(AsyncJob)
        .join(VirtualMachine, VirtualMachine.uuid == AsyncJob.instance_uuid)
        .join(ServiceOffering, ServiceOffering.id == VirtualMachine.service_offering_id)
        .join(
            VMTemplate,
            (VMTemplate.id == VirtualMachine.template_id)
            | (VMTemplate.id == VirtualMachine.iso_id),
        )
        .outerjoin(GuestOs, GuestOs.id == VMTemplate.guest_os_id)
        .outerjoin(
            TemplateZoneRef,
            and_(
                TemplateZoneRef.template_id == VMTemplate.id,
                TemplateZoneRef.zone_id == VirtualMachine.data_center_id,
            ),
        )
        .outerjoin(Host, Host.id == TemplateZoneRef.store_id)
        .where(AsyncJob.uuid == job_uuid, VirtualMachine.removed.is_(None))
    ).first()
    if row is None:
        raise InternalError(f"job {job_uuid} has no virtual machine to deploy")
    vm, offering, template, os_name, state, path, zone_size, store_url = row
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
    return Deployment(vm, offering, deployable)
