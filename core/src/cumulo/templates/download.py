"""Downloading a template to a zone's secondary storage, with visible progress.

One async job per template and zone (queued by :func:`queue_downloads` in the
registering request's transaction, so a rolled-back registration leaves no job) runs
:func:`download_to_zone` in the job worker:

1. a short transaction picks the zone's store (the oldest ``Up`` secondary storage
   host) and its driver (the secondary driver of a hypervisor the zone runs, as
   ``addSecondaryStorage`` reaches NFS stores), marks the row ``DOWNLOAD_IN_PROGRESS``
   at 0 % and records ``TEMPLATE.DOWNLOAD.START``;
2. the driver downloads with no transaction open — on SQLite a transaction holds the
   write lock, and a download may take half an hour — calling back with progress;
   each new percentage is written in a transaction of its own, at most every
   :data:`PROGRESS_INTERVAL` seconds, so ``listTemplates`` shows ``n% Downloaded``;
3. a last transaction verifies the checksum against the digests the driver computed
   and records ``DOWNLOADED`` with the real size (``Download Complete``), or
   ``DOWNLOAD_ERROR`` with the reason as ``status``, and the matching event. A
   mismatching download is deleted from the store.

The job's own transaction is touched only after all that (its completion), so the
job worker's one-transaction rule costs nothing here. A template deleted while it
downloads finds its row gone in step 3: the object is removed again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from cumulo.db.base import utcnow
from cumulo.events import record
from cumulo.infra.hosts.models import Cluster, Host, HostStatus, HostType
from cumulo.infra.models import Zone
from cumulo.infra.storage import drivers
from cumulo.jobs import queue as jobs
from cumulo.sdk.api import Call, Command, ObjectResult, Role
from cumulo.sdk.errors import CloudError, InvalidParameterValue, ResourceUnavailable
from cumulo.sdk.storage import (
    SecondaryStorageDriver,
    StorageError,
    StoredObject,
    StoreRef,
    TemplateSource,
)
from cumulo.templates import listing, sources, views
from cumulo.templates.models import DownloadState, TemplateZoneRef, VMTemplate

log = logging.getLogger(__name__)

PROGRESS_INTERVAL = 0.5
"""Least seconds between two progress writes of one download."""
HEARTBEAT_INTERVAL = 30.0
"""Most seconds between two writes of a download that is still receiving bytes."""

DOWNLOAD_COMMAND = "downloadTemplateToZone"
"""The internal job command (no role may call it through the API)."""


@dataclass(frozen=True)
class Store:
    """A zone's secondary store as a download needs it."""

    host_id: int
    ref: StoreRef
    driver: SecondaryStorageDriver


@dataclass(frozen=True)
class Outcome:
    """How a download ended: ``error`` ``None`` on success."""

    ref_id: int
    error: str | None = None
    stored: StoredObject | None = None


def install_path(template: VMTemplate) -> str:
    """Where a template lives on every store (4.1's layout,
    ``template/tmpl/<account id>/<template id>/<file>``)."""
    name = sources.template_file_name(template.uuid, template.format, template.url or "")
    return f"template/tmpl/{template.account_id}/{template.id}/{name}"


def zone_store(session: Session, zone_id: int) -> Store:
    """The store and driver downloads to zone ``zone_id`` use.

    :raises ResourceUnavailable: the zone has no ``Up`` secondary storage, or no
        installed driver can reach it (534).
    """
    host = session.scalars(
        select(Host)
        .where(
            Host.data_center_id == zone_id,
            Host.type == HostType.SECONDARY_STORAGE.value,
            Host.status == HostStatus.UP.value,
            Host.removed.is_(None),
        )
        .order_by(Host.id)
        .limit(1)
    ).first()
    if host is None:
        zone = session.get(Zone, zone_id)
        raise ResourceUnavailable(
            f"zone {zone.name if zone else zone_id} has no secondary storage that is Up"
        )
    return _store_of(session, host)


def store_by_id(session: Session, host_id: int) -> Store:
    """The store ``host_id`` (a ``SecondaryStorage`` host row) and its driver: where
    an object recorded on that store is read or deleted.

    :raises ResourceUnavailable: the store is gone or not ``Up``, or no installed
        driver can reach it (534).
    """
    host = session.get(Host, host_id)
    if host is None or host.removed is not None or host.type != HostType.SECONDARY_STORAGE.value:
        raise ResourceUnavailable(f"secondary storage id={host_id} no longer exists")
    if host.status != HostStatus.UP.value:
        raise ResourceUnavailable(f"secondary storage {host.url or host.name} is {host.status}")
    return _store_of(session, host)


def _store_of(session: Session, host: Host) -> Store:
    hypervisors = session.scalars(
        select(Cluster.hypervisor_type)
        .where(Cluster.data_center_id == host.data_center_id, Cluster.removed.is_(None))
        .order_by(Cluster.id)
    )
    driver = drivers.secondary_driver(list(dict.fromkeys(hypervisors)))
    return Store(host.id, StoreRef(host.uuid, host.url or host.name), driver)


def object_url(store: Store, path: str) -> str:
    """The store's URL joined with an object's path: how a primary storage driver is
    told to read an object of secondary storage (as deploys name a template)."""
    return f"{store.ref.url.rstrip('/')}/{path}"


# ---- queueing ----------------------------------------------------------------------------


def queue_downloads(call: Call, template: VMTemplate, refs: Sequence[TemplateZoneRef]) -> list[str]:
    """Queue one download job per zone row, in the caller's transaction; return the
    job ids (also kept on the rows)."""
    queued = []
    for ref in refs:
        job_call = Call(
            DOWNLOAD_JOB,
            call.ctx,
            call.session,
            {"id": template.uuid, "zoneid": str(ref.zone_id)},
            call.pm,
            services=call.services,
        )
        ref.job_uuid = jobs.submit(call.session, job_call, instance=("Template", template.uuid))
        queued.append(ref.job_uuid)
    call.session.flush()
    return queued


def end_job_transaction(call: Call) -> None:
    """End whatever transaction the job worker left open on the job's session before a
    handler works in transactions of its own (a download, a copy to secondary storage):
    on SQLite an open transaction may hold the write lock those would wait for, for as
    long as the storage takes. Nothing is lost: the worker writes the job's outcome in
    a new transaction of the same session."""
    call.session.commit()


def _run_download_job(call: Call) -> ObjectResult:
    """The internal job: download and answer the template's state in that zone."""
    runtime = call.services["runtime"]
    end_job_transaction(call)
    outcome = download_to_zone(runtime, str(call.params["id"]), int(call.params["zoneid"]))
    if outcome.error is not None:
        raise ResourceUnavailable(outcome.error)

    row = listing.entry(call.session, outcome.ref_id)
    return ObjectResult("template", views.template_fields(row))


DOWNLOAD_JOB = Command(
    name=DOWNLOAD_COMMAND,
    handler=_run_download_job,
    roles=Role(0),
    is_async=True,
    response_name="downloadtemplatetozoneresponse",
    response_class="TemplateResponse",
    description="cumulo internal: downloads a registered template to a zone's secondary"
    " storage (queued by registerTemplate and registerIso; not callable).",
    instance_type="Template",
)


# ---- running -----------------------------------------------------------------------------


def download_to_zone(runtime: Any, template_uuid: str, zone_id: int) -> Outcome:
    """Download the template to the zone's store (see the module doc); never raises
    for the download's own failure, which is recorded on the row and returned."""
    with runtime.sessions.begin() as session:
        found = _begin(session, template_uuid, zone_id)
        if isinstance(found, Outcome):
            return found
        template, ref = found
        try:
            store = zone_store(session, zone_id)
        except CloudError as exc:
            _fail(session, template, ref, str(exc))
            return Outcome(ref.id, str(exc))
        path = install_path(template)
        ref.store_id, ref.install_path = store.host_id, path
        ref.download_state, ref.download_pct = DownloadState.DOWNLOAD_IN_PROGRESS.value, 0
        ref.error_str, ref.last_updated = None, utcnow()
        ref.download_attempts = (ref.download_attempts or 0) + 1
        record(
            session,
            "TEMPLATE.DOWNLOAD.START",
            f"Started downloading {_kind(template)} {template.name} to zone {zone_id}",
            resource_type=_resource(template),
            resource_uuid=template.uuid,
            account_id=template.account_id,
        )
        policy = sources.AddressPolicy.read(runtime, session)
        url, checksum, ref_id = template.url or "", template.checksum, ref.id
    source = TemplateSource(url, policy, _progress_writer(runtime, ref_id))
    error: str | None = None
    stored: StoredObject | None = None
    try:
        stored = store.driver.download_template(store.ref, path, source)
    except StorageError as exc:
        error = f"Download failed: {exc}"
    except Exception as exc:  # a driver bug must still end the download visibly
        log.exception("storage driver failed downloading %s", url)
        error = f"Download failed: {type(exc).__name__}: {exc}"
    if stored is not None:
        error = sources.checksum_mismatch(checksum, stored.digests)
        if error is not None:
            _delete_quietly(store, path)
    return _finish(runtime, store, template_uuid, ref_id, path, stored, error)


def _begin(
    session: Session, template_uuid: str, zone_id: int
) -> tuple[VMTemplate, TemplateZoneRef] | Outcome:
    row = session.execute(
        select(VMTemplate, TemplateZoneRef)
        .join(TemplateZoneRef, TemplateZoneRef.template_id == VMTemplate.id)
        .where(VMTemplate.uuid == template_uuid, TemplateZoneRef.zone_id == zone_id)
    ).first()
    if row is None or row[0].removed is not None:
        # Deleted before its download started: nothing to do.
        return Outcome(0, f"template {template_uuid} is no longer registered in that zone")
    template, ref = row[0], row[1]
    if ref.download_state == DownloadState.DOWNLOADED.value:
        return Outcome(ref.id)
    return template, ref


def _progress_writer(runtime: Any, ref_id: int) -> Callable[[int, int | None], None]:
    # Each write also stamps last_updated: the sync task takes a download whose row
    # has not been stamped for a while for a dead transfer (cumulo.templates.sync).
    # A transfer of unknown length, or one stuck on one percentage, is still stamped
    # every HEARTBEAT_INTERVAL seconds while bytes arrive.
    last = {"pct": -1, "at": 0.0}

    def progress(done: int, total: int | None) -> None:
        # 100 % is Download Complete, written last.
        pct = min(99, done * 100 // total) if total else max(0, int(last["pct"]))
        now = time.monotonic()
        elapsed = now - last["at"]
        if elapsed < PROGRESS_INTERVAL or (pct == last["pct"] and elapsed < HEARTBEAT_INTERVAL):
            return
        last["pct"], last["at"] = pct, now
        with runtime.sessions.begin() as session:
            session.execute(
                update(TemplateZoneRef)
                .where(
                    TemplateZoneRef.id == ref_id,
                    TemplateZoneRef.download_state == DownloadState.DOWNLOAD_IN_PROGRESS.value,
                )
                .values(download_pct=pct, last_updated=utcnow())
                .execution_options(synchronize_session=False)
            )

    return progress


def _finish(
    runtime: Any,
    store: Store,
    template_uuid: str,
    ref_id: int,
    path: str,
    stored: StoredObject | None,
    error: str | None,
) -> Outcome:
    with runtime.sessions.begin() as session:
        row = session.execute(
            select(VMTemplate, TemplateZoneRef)
            .join(TemplateZoneRef, TemplateZoneRef.template_id == VMTemplate.id)
            .where(TemplateZoneRef.id == ref_id)
        ).first()
        if row is None or row[0].removed is not None:
            gone = True
        else:
            gone = False
            template, ref = row[0], row[1]
            if error is not None or stored is None:
                _fail(session, template, ref, error or "Download failed")
            else:
                _complete(session, template, ref, stored)
    if gone:
        # Deleted while downloading: leave nothing behind on the store.
        _delete_quietly(store, path)
        return Outcome(ref_id, "the template was deleted while it downloaded")
    return Outcome(ref_id, error, stored)


def _complete(
    session: Session, template: VMTemplate, ref: TemplateZoneRef, stored: StoredObject
) -> None:
    ref.download_state, ref.download_pct = DownloadState.DOWNLOADED.value, 100
    ref.size, ref.physical_size = stored.size_bytes, stored.physical_size_bytes
    ref.error_str, ref.last_updated = None, utcnow()
    template.size, template.physical_size = stored.size_bytes, stored.physical_size_bytes
    record(
        session,
        "TEMPLATE.DOWNLOAD.SUCCESS",
        f"{_kind(template).capitalize()} {template.name} downloaded to zone {ref.zone_id}"
        f" ({stored.physical_size_bytes} bytes)",
        resource_type=_resource(template),
        resource_uuid=template.uuid,
        account_id=template.account_id,
    )


def _fail(session: Session, template: VMTemplate, ref: TemplateZoneRef, error: str) -> None:
    ref.download_state = DownloadState.DOWNLOAD_ERROR.value
    ref.error_str, ref.last_updated = error[:1024], utcnow()
    record(
        session,
        "TEMPLATE.DOWNLOAD.FAILED",
        f"{_kind(template).capitalize()} {template.name}: {error}",
        level="ERROR",
        resource_type=_resource(template),
        resource_uuid=template.uuid,
        account_id=template.account_id,
    )


def _delete_quietly(store: Store, path: str) -> None:
    try:
        store.driver.delete_object(store.ref, path)
    except StorageError as exc:
        log.warning("could not delete %s from %s: %s", path, store.ref.url, exc)


def _kind(template: VMTemplate) -> str:
    return "ISO" if template.format == "ISO" else "template"


def _resource(template: VMTemplate) -> str:
    return "Iso" if template.format == "ISO" else "Template"


def require_ready_ref(
    session: Session, template: VMTemplate, zone_id: int, param: str
) -> TemplateZoneRef:
    """The template's row in a zone where it is downloaded.

    :raises InvalidParameterValue: not downloaded there (431 naming ``param``).
    """
    ref = session.scalars(
        select(TemplateZoneRef).where(
            TemplateZoneRef.template_id == template.id, TemplateZoneRef.zone_id == zone_id
        )
    ).first()
    if ref is None or ref.download_state != DownloadState.DOWNLOADED.value:
        raise InvalidParameterValue(
            f"{param}: {_kind(template)} {template.uuid} is not downloaded in that zone"
        )
    return ref
