"""Moving templates between zones and out of the cloud: ``copyTemplate``/``copyIso``
and ``extractTemplate``/``extractIso``.

Copying runs inside the command's async job in three steps, as a download does
(:mod:`cumulo.templates.download`): a short transaction checks and claims the target
zone's row, the copy runs with no transaction open (through the target store's driver,
:meth:`~cumulo.sdk.storage.SecondaryStorageDriver.copy_object`; a driver that cannot
copy between the two stores falls back to downloading the template's URL again, under
the same address policy and checksum check), and a last transaction records the
outcome.

Extracting (``HTTP_DOWNLOAD``) answers a URL on the management server that serves the
object for stores the management server reads directly (``file://`` stores); the path
holds an unguessable token kept on the template's zone row. Other stores cannot be
served from here (a 431 naming ``zoneid``), and ``FTP_UPLOAD`` is not supported (431
naming ``mode``), as 4.1 itself no longer offered it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from cumulo.db.base import utcnow
from cumulo.events import record
from cumulo.infra.hosts.models import Host
from cumulo.infra.models import Zone
from cumulo.sdk.api import CallContext
from cumulo.sdk.errors import InvalidParameterValue, PermissionDenied, ResourceUnavailable
from cumulo.sdk.storage import StorageError, StorageUrl, StoredObject, TemplateSource
from cumulo.templates import sources
from cumulo.templates.access import may_copy, may_use
from cumulo.templates.download import Store, require_ready_ref, zone_store
from cumulo.templates.lookup import find_template
from cumulo.templates.models import DownloadState, TemplateZoneRef, VMTemplate

EXTRACT_PREFIX = "/client/extract"
"""Path under which the management server serves extracted templates."""


def copy_to_zone(
    runtime: Any, ctx: CallContext, value: object, source_zone: Zone, dest_zone: Zone, *, iso: bool
) -> int:
    """Copy a downloaded template to ``dest_zone``; return the zone row's id there.

    A template already downloaded in ``dest_zone`` is not copied again: its row there
    is the answer, as 4.1 answers ("don't need to copy").

    :raises InvalidParameterValue: unknown template, the same zone twice, not ready in
        the source zone, a copy to the target zone already in progress (431).
    :raises PermissionDenied: the caller may not copy it (531; see
        :func:`cumulo.templates.access.may_copy`).
    :raises ResourceUnavailable: the copy failed; the row shows why (534).
    """
    with runtime.sessions.begin() as session:
        template = find_template(session, value, iso=iso)
        if not may_copy(ctx, session, template):
            kind = "ISO" if iso else "template"
            why = ": a public one is copied by its owner or a root admin" if template.public else ""
            raise PermissionDenied(
                f"Account {ctx.account_name} does not have permission to copy {kind}"
                f" {template.uuid}{why}"
            )
        if source_zone.id == dest_zone.id:
            raise InvalidParameterValue("destzoneid: the source and destination zones are the same")
        source_ref = require_ready_ref(session, template, source_zone.id, "sourcezoneid")
        present = _downloaded_in(session, template, dest_zone)
        if present is not None:
            return present
        source = zone_store(session, source_zone.id)
        target = zone_store(session, dest_zone.id)
        ref = _claim_target(session, template, dest_zone, target)
        path = source_ref.install_path or ""
        url, checksum, ref_id = template.url or "", template.checksum, ref.id
        policy = sources.AddressPolicy.read(runtime, session)
        template_uuid, template_name = template.uuid, template.name
    stored, error = _copy(source, target, path, TemplateSource(url, policy))
    if stored is not None:
        error = sources.checksum_mismatch(checksum, stored.digests)
    with runtime.sessions.begin() as session:
        ref = session.get(TemplateZoneRef, ref_id)
        owner = session.get(VMTemplate, ref.template_id) if ref is not None else None
        if ref is None or owner is None or owner.removed is not None:
            raise ResourceUnavailable(f"{template_uuid} was deleted while it was copied")
        ref.last_updated = utcnow()
        if stored is None or error is not None:
            ref.download_state, ref.error_str = DownloadState.DOWNLOAD_ERROR.value, error
        else:
            ref.download_state, ref.download_pct = DownloadState.DOWNLOADED.value, 100
            ref.size, ref.physical_size = stored.size_bytes, stored.physical_size_bytes
            ref.error_str = None
            record(
                session,
                "ISO.COPY" if iso else "TEMPLATE.COPY",
                f"Copied {template_name} from zone {source_zone.name} to zone {dest_zone.name}",
                resource_type="Iso" if iso else "Template",
                resource_uuid=template_uuid,
                account_id=owner.account_id,
            )
    if error is not None:
        raise ResourceUnavailable(
            f"copying {template_uuid} to zone {dest_zone.name} failed: {error}"
        )
    return ref_id


def _downloaded_in(session: Session, template: VMTemplate, zone: Zone) -> int | None:
    """The id of the template's row in ``zone`` if it is downloaded there."""
    return session.scalar(
        select(TemplateZoneRef.id).where(
            TemplateZoneRef.template_id == template.id,
            TemplateZoneRef.zone_id == zone.id,
            TemplateZoneRef.download_state == DownloadState.DOWNLOADED.value,
        )
    )


def _claim_target(
    session: Session, template: VMTemplate, zone: Zone, target: Store
) -> TemplateZoneRef:
    ref = session.scalars(
        select(TemplateZoneRef).where(
            TemplateZoneRef.template_id == template.id, TemplateZoneRef.zone_id == zone.id
        )
    ).first()
    if ref is not None and ref.download_state == DownloadState.DOWNLOAD_IN_PROGRESS.value:
        raise InvalidParameterValue(
            f"destzoneid: {template.uuid} is already being copied or downloaded to zone {zone.name}"
        )
    now = utcnow()
    if ref is None:
        ref = TemplateZoneRef(template_id=template.id, zone_id=zone.id, created=now)
        session.add(ref)
    ref.store_id, ref.install_path = target.host_id, _path_of(session, template)
    ref.download_state, ref.download_pct = DownloadState.DOWNLOAD_IN_PROGRESS.value, 0
    ref.error_str, ref.last_updated = None, now
    session.flush()
    return ref


def _path_of(session: Session, template: VMTemplate) -> str | None:
    return session.scalar(
        select(TemplateZoneRef.install_path)
        .where(
            TemplateZoneRef.template_id == template.id, TemplateZoneRef.install_path.is_not(None)
        )
        .limit(1)
    )


def _copy(
    source: Store, target: Store, path: str, fallback: TemplateSource
) -> tuple[StoredObject | None, str | None]:
    try:
        if type(source.driver) is type(target.driver):
            try:
                return target.driver.copy_object(source.ref, path, target.ref), None
            except StorageError:
                if not fallback.url:
                    raise
        return target.driver.download_template(target.ref, path, fallback), None
    except StorageError as exc:
        return None, f"Copy failed: {exc}"


# ---- extract -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Extracted:
    """An ``ExtractResponse``'s facts."""

    template: VMTemplate
    zone: Zone
    url: str
    created: Any


def extract(
    session: Session,
    ctx: CallContext,
    template: VMTemplate,
    *,
    mode: str,
    zone: Zone | None,
    endpoint: str,
) -> Extracted:
    """Make an ``HTTP_DOWNLOAD`` URL for the template in ``zone`` (default: the first
    zone where it is downloaded).

    :param endpoint: ``endpointe.url`` (the API's public URL); the extract URL is served
        by the same server, under :data:`EXTRACT_PREFIX`.
    :raises InvalidParameterValue: another mode, not extractable, not ready, or a store
        the management server cannot serve from (431 naming the parameter).
    :raises PermissionDenied: the caller may not use the template (531).
    """
    if mode.upper() != "HTTP_DOWNLOAD":
        raise InvalidParameterValue(f"mode: {mode} is not supported; use HTTP_DOWNLOAD")
    if not may_use(ctx, session, template):
        raise PermissionDenied(
            f"Account {ctx.account_name} does not have permission to use {template.uuid}"
        )
    if not template.extractable and not ctx.is_root_admin:
        raise InvalidParameterValue(f"id: {template.uuid} is not extractable")
    stmt = (
        select(TemplateZoneRef, Zone, Host)
        .join(Zone, Zone.id == TemplateZoneRef.zone_id)
        .join(Host, Host.id == TemplateZoneRef.store_id)
        .where(
            TemplateZoneRef.template_id == template.id,
            TemplateZoneRef.download_state == DownloadState.DOWNLOADED.value,
        )
        .order_by(TemplateZoneRef.zone_id)
    )
    if zone is not None:
        stmt = stmt.where(TemplateZoneRef.zone_id == zone.id)
    row = session.execute(stmt.limit(1)).first()
    if row is None:
        raise InvalidParameterValue(
            f"zoneid: {template.uuid} is not downloaded in {'that zone' if zone else 'any zone'}"
        )
    ref, found_zone, host = row
    if StorageUrl.parse(host.url or host.name).scheme != "file":
        raise InvalidParameterValue(
            f"zoneid: the secondary storage of zone {found_zone.name} ({host.url}) cannot be"
            " served by the management server; only file:// stores can be extracted"
        )
    if not ref.extract_token:
        ref.extract_token = secrets.token_urlsafe(32)
    file_name = Path(ref.install_path or "").name
    parts = urlsplit(endpoint)
    url = f"{parts.scheme}://{parts.netloc}{EXTRACT_PREFIX}/{ref.extract_token}/{file_name}"
    session.flush()
    return Extracted(template, found_zone, url, utcnow())


@dataclass(frozen=True)
class ExtractedFile:
    """A file the management server may serve for an extract URL."""

    path: Path
    name: str
    size: int


def extracted_file(session: Session, token: str) -> ExtractedFile | None:
    """The file an extract token stands for, or ``None`` (unknown token, template
    deleted, store gone or not local). For the HTTP route that serves extract URLs."""
    row = session.execute(
        select(TemplateZoneRef.install_path, Host.url)
        .join(Host, Host.id == TemplateZoneRef.store_id)
        .join(VMTemplate, VMTemplate.id == TemplateZoneRef.template_id)
        .where(
            TemplateZoneRef.extract_token == token,
            TemplateZoneRef.download_state == DownloadState.DOWNLOADED.value,
            VMTemplate.removed.is_(None),
            Host.removed.is_(None),
        )
    ).first()
    if row is None or not row[0] or not row[1]:
        return None
    parsed = StorageUrl.parse(row[1])
    if parsed.scheme != "file":
        return None
    base = Path(parsed.path).resolve()
    path = (base / row[0]).resolve()
    if not path.is_relative_to(base) or not path.is_file():
        return None
    return ExtractedFile(path, path.name, path.stat().st_size)
