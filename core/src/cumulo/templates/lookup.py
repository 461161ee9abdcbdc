"""Finding the template or ISO a parameter names, and what a deployment needs of it.

:func:`template_for_deploy` is the interface the VM lifecycle uses
(``deployVirtualMachine templateid=``, ``attachIso id=``): one statement reads the
template, its OS type and its download in the zone; anything the caller may not use,
or that is not downloaded in that zone, is the same 431 naming the parameter, so a
probe cannot tell someone else's private template from a missing one.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from cumulo.accounts.lookup import invalid_id
from cumulo.infra.hosts.models import Host
from cumulo.sdk.api import CallContext
from cumulo.sdk.errors import InvalidParameterValue
from cumulo.sdk.hypervisor import IsoSpec
from cumulo.templates.access import may_use
from cumulo.templates.models import (
    DownloadState,
    GuestOs,
    TemplateFormat,
    TemplateZoneRef,
    VMTemplate,
)


@dataclass(frozen=True)
class DeployableTemplate:
    """A template or ISO ready in a zone, as a deployment sees it.

    :param size: virtual size in bytes (what the root volume needs at least).
    :param install_url: where the bits are: the store's URL joined with the object's
        path (``nfs://10.1.1.3/export/secondary/template/tmpl/2/201/<uuid>.qcow2``).
    """

    id: int
    uuid: str
    name: str
    format: str
    hypervisor_type: str | None
    size: int
    password_enabled: bool
    is_iso: bool
    guest_os_id: int | None
    guest_os_display_name: str | None
    install_url: str
    sshkey_enabled: bool = False
    bootable: bool = True


def _match_id(value: object) -> tuple[str, object] | None:
    text = str(value).strip()
    if isinstance(value, int) or text.isdecimal():
        number = int(text)
        return ("id", number) if 0 < number < 2**63 else None
    return ("uuid", text)


def find_template(
    session: Session, value: object, *, param: str = "id", iso: bool | None = None
) -> VMTemplate:
    """The live template or ISO ``value`` (UUID or internal id) names.

    :param iso: ``True`` only ISOs, ``False`` only templates, ``None`` either.
    :raises InvalidParameterValue: nothing live matches (431 naming ``param``).
    """
    match = _match_id(value)
    if match is None:
        raise invalid_id(param, value)
    column = VMTemplate.id if match[0] == "id" else VMTemplate.uuid
    found = session.scalars(select(VMTemplate).where(column == match[1])).first()
    if found is None or found.removed is not None:
        raise invalid_id(param, value)
    if iso is not None and (found.format == TemplateFormat.ISO.value) != iso:
        raise InvalidParameterValue(
            f"{param}: {value} is {'a template' if iso else 'an ISO'}, not"
            f" {'an ISO' if iso else 'a template'}"
        )
    return found


def template_for_deploy(
    session: Session,
    caller: CallContext,
    uuid: object,
    zone_id: int,
    *,
    param: str = "templateid",
) -> DeployableTemplate:
    """The template or ISO ``uuid`` names, usable by ``caller`` and downloaded in the
    zone with internal id ``zone_id``.

    :raises InvalidParameterValue: unknown, removed, not visible to the caller, or not
        ready in that zone (431 naming ``param``).
    """
    match = _match_id(uuid)
    if match is None:
        raise invalid_id(param, uuid)
    column = VMTemplate.id if match[0] == "id" else VMTemplate.uuid
    row = session.execute(
        select(
            VMTemplate,
            GuestOs.display_name,
            TemplateZoneRef.download_state,
            TemplateZoneRef.install_path,
            TemplateZoneRef.size,
            Host.url,
        )
        .outerjoin(GuestOs, GuestOs.id == VMTemplate.guest_os_id)
        .outerjoin(
            TemplateZoneRef,
            (TemplateZoneRef.template_id == VMTemplate.id) & (TemplateZoneRef.zone_id == zone_id),
        )
        .outerjoin(Host, Host.id == TemplateZoneRef.store_id)
        .where(column == match[1], VMTemplate.removed.is_(None))
    ).first()
    if row is None:
        raise invalid_id(param, uuid)
    template, os_name, state, path, zone_size, store_url = row
    if not may_use(caller, session, template):
        raise invalid_id(param, uuid)
    is_iso = template.format == TemplateFormat.ISO.value
    if state != DownloadState.DOWNLOADED.value:
        raise InvalidParameterValue(
            f"{param}: {'ISO' if is_iso else 'template'} {template.uuid} is not ready in"
            " that zone (not downloaded there)"
        )
    return DeployableTemplate(
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


def iso_spec_for(session: Session, iso_id: int | None, zone_id: int) -> IsoSpec | None:
    """The ISO ``iso_id`` (a VM's ``iso_id``) as a start in zone ``zone_id`` presents it
    in the VM's drive, or ``None`` (no ISO, or it is no longer downloaded in that
    zone). One statement."""
    if iso_id is None:
        return None
    row = session.execute(
        select(VMTemplate.uuid, VMTemplate.bootable, TemplateZoneRef.install_path,
               TemplateZoneRef.size, Host.url)
        .join(
            TemplateZoneRef,
            and_(
                TemplateZoneRef.template_id == VMTemplate.id,
                TemplateZoneRef.zone_id == zone_id,
                TemplateZoneRef.download_state == DownloadState.DOWNLOADED.value,
            ),
        )
        .outerjoin(Host, Host.id == TemplateZoneRef.store_id)
        .where(VMTemplate.id == iso_id, VMTemplate.removed.is_(None))
    ).first()  # fmt: skip
    if row is None:
        return None
    uuid, bootable, path, size, store_url = row
    url = f"{(store_url or '').rstrip('/')}/{path or ''}"
    return IsoSpec(uuid=uuid, url=url, size_bytes=int(size or 0), bootable=bool(bootable))
