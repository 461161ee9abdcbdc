"""``createTemplate``: a private template made from a volume or a snapshot.

4.1's ``CreateTemplateCmd`` is a ``BaseAsyncCreateCmd``, and so is this:

- **create** (:func:`create_record`, in the request's transaction): the rules, then
  the template row (``USER``, private unless asked, owned by the volume's owner and
  counted against its ``template`` limit, resource type 4) and its row in the source's
  zone, ``DOWNLOAD_IN_PROGRESS`` at 0 % on the zone's secondary store; the answer
  carries the template's ``id`` with the ``jobid``.
- **job** (:func:`copy_to_secondary`, in the job worker): a volume's bits are copied
  from primary storage to the store by the source pool's storage driver
  (:meth:`~cumulo.sdk.storage.PrimaryStorageDriver.copy_to_store`), a snapshot's from
  its backup (below), with no transaction open (a copy may take long; on SQLite a
  transaction holds the write lock), then a last transaction records ``DOWNLOADED``
  with the real sizes (``Download Complete``) and ``TEMPLATE.CREATE``; or
  ``DOWNLOAD_ERROR`` with the reason, the count given back and the template removed,
  and the job fails with the reason.

Sources (4.1's rules): a volume that is ``Ready`` on primary storage — a ``ROOT``
volume only while its VM is ``Stopped`` (a running guest's disk would be copied
mid-write), a data volume attached or not; or a snapshot ``BackedUp``, whose backup on
secondary storage is read (REQ-SS-01): the store's driver copies it to the template's
path on the same store (``SecondaryStorageDriver.copy_within_store``); a secondary
driver that does not offer that optional method makes the template from the snapshot's
copy on primary storage instead, through the pool's driver, as volumes are. The
template is kept on the store of the snapshot's backup. The template takes the source's
zone, hypervisor and format, and remembers the source (``source_volume_id``/
``source_snapshot_id``, and the template the volume was made from as
``source_template_id``).

While the copy runs its source is locked (:mod:`cumulo.volumes.busy`): the volume
cannot be deleted, attached, detached, resized, migrated or snapshotted, the snapshot
cannot be deleted. The create step claims the source by a conditional ``UPDATE`` of
its ``update_count``; the template's zone row, ``DOWNLOAD_IN_PROGRESS`` until the job's
last transaction, is the lock, released with the outcome whether the copy succeeded or
failed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cumulo.compute.models import VirtualMachine, VmState
from cumulo.db.base import new_uuid, utcnow
from cumulo.events import record
from cumulo.infra.hosts.models import Cluster
from cumulo.infra.storage.models import StoragePool
from cumulo.jobs.models import AsyncJob
from cumulo.limits import service as limits
from cumulo.limits.types import ResourceType
from cumulo.sdk.api import CallContext
from cumulo.sdk.errors import InvalidParameterValue, PermissionDenied, ResourceUnavailable
from cumulo.sdk.storage import SecondaryStorageDriver, StorageError, StoredObject
from cumulo.templates.download import Store, install_path, store_by_id, zone_store
from cumulo.templates.models import (
    DownloadState,
    TemplateDetail,
    TemplateState,
    TemplateType,
    TemplateZoneRef,
    VMTemplate,
)
from cumulo.templates.oslookup import find_guest_os
from cumulo.volumes import busy
from cumulo.volumes.lookup import find_snapshot, find_volume
from cumulo.volumes.models import Volume, VolumeState, VolumeType
from cumulo.volumes.pools import PoolTarget, target_of
from cumulo.volumes.snapshot_models import Snapshot, SnapshotState

DEFAULT_FORMATS = {
    "kvm": "QCOW2",
    "xenserver": "VHD",
    "vmware": "OVA",
    "simulator": "VHD",
    "lxc": "RAW",
    "ovm": "RAW",
}
"""The image format of a hypervisor's volumes, when the volume does not say."""


@dataclass(frozen=True)
class TemplateRequest:
    """What ``createTemplate`` asked for (parsed API values)."""

    name: str
    display_text: str
    os_type: str
    volume: str | None = None
    snapshot: str | None = None
    public: bool | None = None
    featured: bool = False
    password_enabled: bool = False
    requires_hvm: bool = True
    bits: int = 64
    template_tag: str | None = None
    details: Mapping[str, str] | None = None


@dataclass(frozen=True)
class _Source:
    """The volume whose bits are copied, or a snapshot (and the volume it was taken of)."""

    volume: Volume
    snapshot: Snapshot | None
    hypervisor: str | None


def _pool_of(session: Session, volume: Volume, param: str, what: str) -> StoragePool:
    pool = session.get(StoragePool, volume.pool_id) if volume.pool_id is not None else None
    if pool is None or pool.removed is not None:
        raise InvalidParameterValue(f"{param}: {what} is not on primary storage")
    return pool


def _hypervisor_of(session: Session, pool: StoragePool) -> str | None:
    if pool.cluster_id is None:
        return None
    return session.scalar(select(Cluster.hypervisor_type).where(Cluster.id == pool.cluster_id))


def _from_volume(session: Session, ctx: CallContext, value: str) -> _Source:
    volume = find_volume(session, ctx, value, "volumeid")
    if volume.state != VolumeState.READY.value or not volume.path:
        raise InvalidParameterValue(
            f"volumeid: volume {volume.uuid} is {volume.state}; a template is made from a"
            " volume that is Ready on primary storage"
        )
    hypervisor = None
    if volume.instance_id is not None:
        vm = session.get(VirtualMachine, volume.instance_id)
        if vm is not None:
            hypervisor = vm.hypervisor_type
            if volume.volume_type == VolumeType.ROOT.value and vm.state != VmState.STOPPED.value:
                raise InvalidParameterValue(
                    f"volumeid: the VM {vm.uuid} of ROOT volume {volume.uuid} is {vm.state};"
                    " stop it before creating a template from its disk"
                )
    pool = _pool_of(session, volume, "volumeid", f"volume {volume.uuid}")
    return _Source(volume, None, hypervisor or _hypervisor_of(session, pool))


def _from_snapshot(session: Session, ctx: CallContext, value: str) -> _Source:
    snapshot = find_snapshot(session, ctx, value, "snapshotid")
    if (
        snapshot.status != SnapshotState.BACKED_UP.value
        or snapshot.store_id is None
        or not snapshot.install_path
    ):
        raise InvalidParameterValue(
            f"snapshotid: snapshot {snapshot.uuid} is {snapshot.status}; a template is made"
            " from a snapshot that is BackedUp to secondary storage"
        )
    volume = session.get(Volume, snapshot.volume_id)
    if volume is None:
        raise InvalidParameterValue(f"snapshotid: the volume of snapshot {snapshot.uuid} is gone")
    return _Source(volume, snapshot, snapshot.hypervisor_type)


def create_record(
    session: Session,
    ctx: CallContext,
    request: TemplateRequest,
    *,
    public_user_templates: bool = True,
) -> tuple[VMTemplate, TemplateZoneRef]:
    """The create step (module doc), in the caller's transaction (not committed).

    :raises InvalidParameterValue: neither or both of ``volumeid`` and ``snapshotid``,
        a source in the wrong state, an unknown OS type, a zone without secondary
        storage that is Up (431 naming the parameter).
    :raises ResourceUnavailable: the source changed while it was claimed (534).
    :raises PermissionDenied: the source is out of the caller's reach, featuring
        without being an admin, a public template where users may not make them (531).
    :raises AccountLimitExceeded: the owner's template limit is reached (532).
    """
    if (request.volume is None) == (request.snapshot is None):
        raise InvalidParameterValue(
            "volumeid: pass either volumeid or snapshotid (exactly one) to create a template"
        )
    if not request.name.strip():
        raise InvalidParameterValue("name: the template name must not be blank")
    if request.bits not in (32, 64):
        raise InvalidParameterValue("bits: must be 32 or 64")
    source = (
        _from_volume(session, ctx, request.volume)
        if request.volume is not None
        else _from_snapshot(session, ctx, str(request.snapshot))
    )
    guest_os = find_guest_os(session, request.os_type, "ostypeid")
    is_admin = ctx.is_root_admin or ctx.is_domain_admin
    if request.featured and not is_admin:
        raise PermissionDenied("Only admins may create featured templates")
    public = bool(request.public)
    if public and not is_admin and not public_user_templates:
        raise PermissionDenied(
            "Only admins may create public templates (allow.public.user.templates is false)"
        )
    volume = source.volume
    zone_id = source.snapshot.data_center_id if source.snapshot else volume.data_center_id
    try:
        store = (
            store_by_id(session, source.snapshot.store_id)
            if source.snapshot is not None and source.snapshot.store_id is not None
            else zone_store(session, zone_id)
        )
    except ResourceUnavailable as exc:
        raise InvalidParameterValue(f"{_param(request)}: {exc}") from exc
    if source.snapshot is not None:
        busy.claim_snapshot(session, source.snapshot)
    else:
        busy.claim(session, volume)
    limits.reserve(session, volume.account_id, ResourceType.TEMPLATE)
    parent = session.get(VMTemplate, volume.template_id) if volume.template_id else None
    hypervisor = source.hypervisor
    template_format = volume.format or DEFAULT_FORMATS.get((hypervisor or "").lower(), "RAW")
    template = VMTemplate(
        uuid=new_uuid(),
        name=request.name,
        display_text=request.display_text,
        format=template_format.upper(),
        hypervisor_type=hypervisor,
        guest_os_id=guest_os.id,
        account_id=volume.account_id,
        domain_id=volume.domain_id,
        public=public,
        featured=request.featured,
        password_enabled=request.password_enabled,
        sshkey_enabled=bool(parent.sshkey_enabled) if parent is not None else False,
        bootable=True,
        extractable=bool(parent.extractable) if parent is not None else False,
        requires_hvm=request.requires_hvm,
        bits=request.bits,
        cross_zones=False,
        template_type=TemplateType.USER.value,
        url=None,
        checksum=None,
        template_tag=request.template_tag,
        source_template_id=parent.id if parent is not None else None,
        source_volume_id=volume.id,
        source_snapshot_id=source.snapshot.id if source.snapshot else None,
        state=TemplateState.ACTIVE.value,
    )
    template.unique_name = template.uuid
    session.add(template)
    session.flush()
    session.add_all(
        TemplateDetail(template_id=template.id, name=key, value=value)
        for key, value in (request.details or {}).items()
    )
    now = utcnow()
    ref = TemplateZoneRef(
        template_id=template.id,
        zone_id=zone_id,
        store_id=store.host_id,
        install_path=install_path(template),
        download_state=DownloadState.DOWNLOAD_IN_PROGRESS.value,
        download_pct=0,
        download_attempts=1,
        created=now,
        last_updated=now,
    )
    session.add(ref)
    session.flush()
    return template, ref


def _param(request: TemplateRequest) -> str:
    return "volumeid" if request.volume is not None else "snapshotid"


COPY_WITHIN_STORE = "copy_within_store"
"""The optional secondary storage driver method that copies an object to another path
of its store (a snapshot's backup to a template)."""


def copies_within_store(driver: SecondaryStorageDriver) -> bool:
    """Whether ``driver`` offers :data:`COPY_WITHIN_STORE` (overrides the SDK's
    refusing default, or has it where the SDK has none)."""
    offered = getattr(type(driver), COPY_WITHIN_STORE, None)
    return offered is not None and offered is not getattr(
        SecondaryStorageDriver, COPY_WITHIN_STORE, None
    )


def _copy_within_store(store: Store, path: str, target_path: str) -> StoredObject:
    method = getattr(store.driver, COPY_WITHIN_STORE)
    stored = method(store.ref, path, target_path)
    assert isinstance(stored, StoredObject)
    return stored


@dataclass(frozen=True)
class _Copy:
    """What the copy needs, read in the job's first transaction: ``pool`` is ``None``
    when the source is a snapshot's backup on ``store`` itself."""

    ref_id: int
    template_uuid: str
    source_path: str
    target_path: str
    pool: PoolTarget | None
    store: Store


def _prepare(runtime: Any, job_uuid: str) -> _Copy | str:
    """The copy's facts, or why it cannot run (the caller marks the failure)."""
    with runtime.sessions.begin() as session:
        row = session.execute(
            select(VMTemplate, TemplateZoneRef)
            .join(AsyncJob, AsyncJob.instance_uuid == VMTemplate.uuid)
            .join(TemplateZoneRef, TemplateZoneRef.template_id == VMTemplate.id)
            .where(AsyncJob.uuid == job_uuid)
        ).first()
        if row is None or row[0].removed is not None:
            return "the template was deleted before its bits were copied"
        template, ref = row
        ref.job_uuid, ref.last_updated = job_uuid, utcnow()
        snapshot = (
            session.get(Snapshot, template.source_snapshot_id)
            if template.source_snapshot_id
            else None
        )
        target_path = ref.install_path or install_path(template)
        if snapshot is not None:
            if snapshot.store_id is None or not snapshot.install_path:
                return "the snapshot's backup is no longer on secondary storage"
            store = store_by_id(session, snapshot.store_id)
            if copies_within_store(store.driver):
                return _Copy(ref.id, template.uuid, snapshot.install_path, target_path, None, store)
        volume = session.get(Volume, template.source_volume_id)
        pool = (
            session.get(StoragePool, volume.pool_id)
            if volume is not None and volume.pool_id is not None
            else None
        )
        source_path = snapshot.path if snapshot is not None else (volume.path if volume else None)
        if pool is None or pool.removed is not None or not source_path:
            return "the source volume or snapshot is no longer on primary storage"
        store = (
            store_by_id(session, ref.store_id)
            if ref.store_id is not None
            else zone_store(session, ref.zone_id)
        )
        return _Copy(
            ref.id, template.uuid, source_path, target_path, target_of(session, pool), store
        )


def copy_to_secondary(runtime: Any, ctx: CallContext, job_uuid: str) -> int:
    """The job step (module doc); return the template's zone row id.

    :raises ResourceUnavailable: the storage refused, or the source is gone (534); the
        template is removed and its count given back.
    """
    try:
        plan = _prepare(runtime, job_uuid)
    except ResourceUnavailable as exc:  # the zone lost its store meanwhile
        plan = str(exc)
    if isinstance(plan, str):
        _fail_job(runtime, job_uuid, plan)
        raise ResourceUnavailable(plan)
    stored: StoredObject | None = None
    error: str | None = None
    try:
        if plan.pool is None:
            stored = _copy_within_store(plan.store, plan.source_path, plan.target_path)
        else:
            stored = plan.pool.driver.copy_to_store(
                plan.pool.ref, plan.source_path, plan.store.ref, plan.target_path
            )
    except StorageError as exc:
        what = "the snapshot's backup" if plan.pool is None else "the volume"
        error = f"Copying {what} to the template on secondary storage failed: {exc}"
    except ResourceUnavailable as exc:  # no driver for the pool's hypervisor
        error = str(exc)
    with runtime.sessions.begin() as session:
        ref = session.get(TemplateZoneRef, plan.ref_id)
        template = session.get(VMTemplate, ref.template_id) if ref is not None else None
        if ref is None or template is None or template.removed is not None:
            error = error or "the template was deleted while its bits were copied"
            gone = True
        else:
            gone = False
            if stored is not None and error is None:
                _complete(session, ctx, template, ref, stored)
            else:
                _mark_failed(session, template, ref, error or "the copy failed")
    if error is not None:
        if stored is not None or gone:
            _delete_quietly(plan.store, plan.target_path)
        raise ResourceUnavailable(error)
    return plan.ref_id


def _complete(
    session: Session,
    ctx: CallContext,
    template: VMTemplate,
    ref: TemplateZoneRef,
    stored: StoredObject,
) -> None:
    ref.download_state, ref.download_pct = DownloadState.DOWNLOADED.value, 100
    ref.size, ref.physical_size = stored.size_bytes, stored.physical_size_bytes
    ref.error_str, ref.last_updated = None, utcnow()
    template.size, template.physical_size = stored.size_bytes, stored.physical_size_bytes
    if stored.digests.get("md5"):
        template.checksum = stored.digests["md5"]
    origin = (
        f"snapshot id={template.source_snapshot_id}"
        if template.source_snapshot_id
        else f"volume id={template.source_volume_id}"
    )
    record(
        session,
        "TEMPLATE.CREATE",
        f"Successfully created template {template.name} from {origin}"
        f" ({stored.size_bytes} bytes virtual, {stored.physical_size_bytes} on the store)",
        resource_type="Template",
        resource_uuid=template.uuid,
        account_id=template.account_id,
        user_id=ctx.user_id,
    )


def _mark_failed(session: Session, template: VMTemplate, ref: TemplateZoneRef, error: str) -> None:
    """The copy failed: the row shows why, the template goes, its count comes back."""
    ref.download_state = DownloadState.DOWNLOAD_ERROR.value
    ref.error_str, ref.last_updated = error[:1024], utcnow()
    if template.removed is None:
        template.removed = utcnow()
        template.state = TemplateState.INACTIVE.value
        limits.release(session, template.account_id, ResourceType.TEMPLATE)
    record(
        session,
        "TEMPLATE.CREATE",
        f"Failed to create template {template.name}: {error}",
        level="ERROR",
        resource_type="Template",
        resource_uuid=template.uuid,
        account_id=template.account_id,
    )


def _fail_job(runtime: Any, job_uuid: str, error: str) -> None:
    with runtime.sessions.begin() as session:
        row = session.execute(
            select(VMTemplate, TemplateZoneRef)
            .join(AsyncJob, AsyncJob.instance_uuid == VMTemplate.uuid)
            .join(TemplateZoneRef, TemplateZoneRef.template_id == VMTemplate.id)
            .where(
                AsyncJob.uuid == job_uuid,
                TemplateZoneRef.download_state == DownloadState.DOWNLOAD_IN_PROGRESS.value,
            )
        ).first()
        if row is not None:
            _mark_failed(session, row[0], row[1], error)


def _delete_quietly(store: Store, path: str) -> None:
    # Best effort: the row records the failure; a leftover object is harmless.
    with contextlib.suppress(StorageError):
        store.driver.delete_object(store.ref, path)
