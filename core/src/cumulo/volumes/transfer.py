"""Volumes in and out of the cloud: ``uploadVolume`` and ``extractVolume``.

Upload, in the job worker (the job's session, three transactions):

1. the rules, then the volume row in state ``UploadOp`` (counted against the owner's
   volume limit) and its ``volume_host_ref`` row ``DOWNLOAD_IN_PROGRESS`` on the zone's
   secondary store — committed, so ``listVolumes`` shows the upload going on;
2. the secondary storage driver downloads the URL with no transaction open (a download
   may take long; on SQLite an open transaction holds the write lock). The URL obeys
   the template rules (:mod:`cumulo.templates.sources`): http/https, the format's file
   ending, and no internal address unless ``secstorage.allowed.internal.sites`` allows
   it — checked when asked and again by the driver when it connects;
3. the checksum (MD5 as 4.1, or SHA-256) is compared with what the driver computed;
   the volume becomes ``Uploaded`` (4.1's "Upload Complete"), or the ref records the
   error (shown as the volume's ``status``) and the job fails with it.

An uploaded volume is copied to primary storage when first attached
(:mod:`cumulo.volumes.attach`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cumulo.accounts.models import Account
from cumulo.db.base import new_uuid, utcnow
from cumulo.infra.hosts.models import Host
from cumulo.infra.models import Zone
from cumulo.limits import service as limits
from cumulo.limits.types import ResourceType
from cumulo.sdk.api import CallContext
from cumulo.sdk.errors import CloudError, InvalidParameterValue
from cumulo.sdk.storage import StorageError, StoredObject, TemplateSource
from cumulo.templates import sources
from cumulo.templates.download import Store, zone_store
from cumulo.volumes.models import Volume, VolumeState, VolumeType
from cumulo.volumes.service import check_zone_usable
from cumulo.volumes.snapshot_models import VolumeHostRef
from cumulo.volumes.states import VolumeEvent, volume_transition

log = logging.getLogger(__name__)

UPLOAD_FORMATS = ("QCOW2", "OVA", "VHD", "RAW")
EXTRACT_MODES = ("HTTP_DOWNLOAD", "FTP_UPLOAD")
IN_PROGRESS, DOWNLOADED, ERROR = "DOWNLOAD_IN_PROGRESS", "DOWNLOADED", "DOWNLOAD_ERROR"


@dataclass(frozen=True)
class Upload:
    """What ``uploadVolume`` asks for, checked and resolved."""

    owner: Account
    zone: Zone
    name: str
    url: str
    format: str
    checksum: str | None


def check_upload(
    ctx: CallContext,
    owner: Account,
    zone: Zone,
    *,
    name: str,
    url: str,
    format: str,
    checksum: str | None,
    policy: Any,
) -> Upload:
    """The upload's rules (431 naming the parameter; 531 for a disabled zone)."""
    fmt = format.strip().upper()
    if fmt not in UPLOAD_FORMATS:
        raise InvalidParameterValue(
            f"format: {format} is not a valid volume format; use one of {', '.join(UPLOAD_FORMATS)}"
        )
    check_zone_usable(ctx, zone)
    checked = sources.check_source_url(url, fmt, policy)
    return Upload(owner, zone, name, checked, fmt, sources.parse_checksum(checksum))


def begin_upload(session: Session, upload: Upload) -> tuple[Volume, VolumeHostRef, Store]:
    """Step 1: the ``UploadOp`` volume and its ref on the zone's store (not committed).

    :raises ResourceUnavailable: the zone has no secondary storage that is Up (534).
    :raises AccountLimitExceeded: the owner may not have another volume (532).
    """
    store = zone_store(session, upload.zone.id)
    limits.reserve(session, upload.owner.id, ResourceType.VOLUME)
    volume = Volume(
        name=upload.name,
        account_id=upload.owner.id,
        domain_id=upload.owner.domain_id,
        data_center_id=upload.zone.id,
        volume_type=VolumeType.DATADISK.value,
        state=VolumeState.UPLOADING.value,
        size=0,
        format=upload.format,
    )
    session.add(volume)
    session.flush()
    ref = VolumeHostRef(
        volume_id=volume.id,
        zone_id=upload.zone.id,
        host_id=store.host_id,
        download_state=IN_PROGRESS,
        download_pct=0,
        install_path=(
            f"volumes/{upload.owner.id}/{volume.id}/{volume.uuid}.{upload.format.lower()}"
        ),
        url=upload.url,
        checksum=upload.checksum,
        format=upload.format,
        last_updated=utcnow(),
    )
    session.add(ref)
    session.flush()
    return volume, ref, store


def download(
    store: Store, ref_path: str, url: str, policy: Any
) -> tuple[StoredObject | None, str | None]:
    """Step 2, with no transaction open: ``(stored, None)`` or ``(None, error)``."""
    try:
        return store.driver.download_template(
            store.ref, ref_path, TemplateSource(url, policy)
        ), None
    except StorageError as exc:
        return None, f"Upload failed: {exc}"
    except Exception as exc:  # a driver bug must still end the upload visibly
        log.exception("storage driver failed downloading %s", url)
        return None, f"Upload failed: {type(exc).__name__}: {exc}"


def finish_upload(
    session: Session,
    volume_id: int,
    store: Store,
    stored: StoredObject | None,
    error: str | None,
) -> tuple[Volume, str | None]:
    """Step 3: verify the checksum and record the outcome; returns the volume and the
    error, if any (the caller commits, then reports it)."""
    volume = session.get(Volume, volume_id)
    ref = session.scalars(select(VolumeHostRef).where(VolumeHostRef.volume_id == volume_id)).first()
    assert volume is not None and ref is not None  # nobody deletes an UploadOp volume's ref
    if stored is not None and error is None:
        error = sources.checksum_mismatch(ref.checksum, stored.digests)
        if error is not None:
            _delete_quietly(store, stored.path)
    ref.last_updated = utcnow()
    if error is not None or stored is None:
        ref.download_state, ref.error_str = ERROR, (error or "Upload failed")[:1024]
        session.flush()
        return volume, ref.error_str
    ref.download_state, ref.download_pct, ref.error_str = DOWNLOADED, 100, None
    ref.size, ref.physical_size = stored.size_bytes, stored.physical_size_bytes
    volume_transition(
        session, volume, VolumeEvent.OPERATION_SUCCEEDED, "upload", {"size": stored.size_bytes}
    )
    return volume, None


def _delete_quietly(store: Store, path: str) -> None:
    try:
        store.driver.delete_object(store.ref, path)
    except StorageError as exc:
        log.warning("could not delete %s from %s: %s", path, store.ref.url, exc)


def delete_secondary_copy(session: Session, volume: Volume) -> None:
    """Remove an uploaded volume's copy from its store (best effort, logged)."""
    ref = session.scalars(select(VolumeHostRef).where(VolumeHostRef.volume_id == volume.id)).first()
    if ref is None or ref.install_path is None:
        return
    try:
        store = zone_store(session, ref.zone_id)
    except CloudError as exc:
        log.warning("volume %s: its uploaded copy stays on secondary storage: %s", volume.uuid, exc)
        return
    _delete_quietly(store, ref.install_path)


@dataclass(frozen=True)
class Extraction:
    """A volume's download URL (``extractVolume`` in ``HTTP_DOWNLOAD`` mode)."""

    extract_uuid: str
    url: str


def extract(session: Session, volume: Volume, zone: Zone, mode: str, url: str | None) -> Extraction:
    """``extractVolume``: the URL the zone's secondary storage serves the volume at
    (4.1's ``/userdata/<uuid>.<format>`` on the store's host).

    :raises InvalidParameterValue: another zone, a volume not created on primary
        storage, a ROOT volume of a template that is not extractable, an unknown mode
        or ``FTP_UPLOAD`` (not supported, as by most 4.1 deployments) (431).
    :raises ResourceUnavailable: the zone has no secondary storage that is Up (534).
    """
    chosen = mode.strip().upper()
    if chosen not in EXTRACT_MODES:
        raise InvalidParameterValue(f"mode: use one of {', '.join(EXTRACT_MODES)}")
    if chosen == "FTP_UPLOAD":
        raise InvalidParameterValue("mode: FTP_UPLOAD is not supported; use HTTP_DOWNLOAD")
    if url:
        raise InvalidParameterValue("url: a URL is only given with mode FTP_UPLOAD")
    if volume.data_center_id != zone.id:
        raise InvalidParameterValue(f"zoneid: volume {volume.uuid} is not in zone {zone.uuid}")
    if volume.state != VolumeState.READY.value or volume.path is None:
        raise InvalidParameterValue(
            f"id: volume {volume.uuid} is {volume.state}; only a volume created on primary"
            " storage (Ready) can be extracted"
        )
    if volume.volume_type == VolumeType.ROOT.value and volume.template_id is not None:
        from cumulo.templates.models import VMTemplate

        template = session.get(VMTemplate, volume.template_id)
        if template is not None and (
            not template.extractable or template.template_type == "SYSTEM"
        ):
            raise InvalidParameterValue(
                f"id: volume {volume.uuid} was made from a template that is not extractable"
            )
    store = zone_store(session, zone.id)
    host = session.get(Host, store.host_id)
    address = (host.private_ip_address if host is not None else None) or "secondary-storage"
    extract_uuid = new_uuid()
    extension = (volume.format or "raw").lower()
    return Extraction(extract_uuid, f"http://{address}/userdata/{extract_uuid}.{extension}")
