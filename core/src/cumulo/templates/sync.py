"""Template sync: templates reaching the zones they belong in, and downloads that died.

4.1's secondary storage VM, when it connects, compares what a store holds with what
the zone should hold and downloads the difference (the built-in templates included:
REQ-INIT-02), and its download monitor notices transfers that stopped. cumulo does both
from the management server, in :func:`sync_templates` (a periodic task under the
``template.sync`` lease) and, for one zone at once, :func:`sync_zone` (what the demo
zone and ``addSecondaryStorage`` call right after adding a store):

1. **Zones**: every zone with an ``Up`` secondary store gets a ``template_zone_ref``
   for each live cross-zone template it lacks — the built-in templates
   (:mod:`cumulo.templates.builtin`) only in zones whose clusters run their
   hypervisor (as 4.1 skips templates of hypervisors a zone does not have), users'
   cross-zone templates and ISOs (``zoneid=-1``) in every zone — and a download job
   for it, so zones and stores added after a template was registered receive it.
2. **Dead transfers**: a download ``DOWNLOAD_IN_PROGRESS`` whose row has not been
   stamped for ``template.download.stall.timeout`` seconds (a running download stamps
   it at least every :data:`~cumulo.templates.download.HEARTBEAT_INTERVAL` seconds,
   and a connection stalls for at most the fetch timeout before it fails) has died:
   its job was failed by the takeover of a dead management server, or its worker hangs.
   If its job is over and the template has a URL to fetch again, it is queued again,
   up to ``template.download.retries`` attempts; otherwise it is marked
   ``DOWNLOAD_ERROR`` with the reason, so ``listTemplates`` stops showing ``n%
   Downloaded`` forever. A row ``NOT_DOWNLOADED`` whose job ended before starting it is
   queued again likewise.

Statements: a constant number per zone and per run, plus one insert per new row and
one job per queued download.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from cumulo.auth.identity import principal_by_user_id
from cumulo.db.base import utcnow
from cumulo.events import record
from cumulo.infra.hosts.models import Cluster, Host, HostStatus, HostType
from cumulo.jobs import lease
from cumulo.jobs.models import AsyncJob, JobStatus
from cumulo.sdk import ConfigKey, ValueType
from cumulo.sdk.api import Call
from cumulo.setup.seed import SYSTEM_USER_ID
from cumulo.templates.builtin import ensure_builtin_templates
from cumulo.templates.download import DOWNLOAD_JOB, queue_downloads
from cumulo.templates.models import (
    DownloadState,
    TemplateFormat,
    TemplateType,
    TemplateZoneRef,
    VMTemplate,
)

log = logging.getLogger(__name__)

LEASE = "template.sync"
RUN_EVERY = 60.0
STALL_KEY = "template.download.stall.timeout"
RETRIES_KEY = "template.download.retries"
DEFAULT_STALL = 300
DEFAULT_RETRIES = 3

CONFIG_KEYS = (
    ConfigKey(
        STALL_KEY,
        ValueType.INTEGER,
        str(DEFAULT_STALL),
        "Seconds a template download may go without progress before it is taken for"
        " dead and retried (or marked failed).",
        "Advanced",
    ),
    ConfigKey(
        RETRIES_KEY,
        ValueType.INTEGER,
        str(DEFAULT_RETRIES),
        "How many times a template download is attempted in a zone before a dead"
        " transfer marks it failed.",
        "Advanced",
    ),
)


@dataclass
class SyncOutcome:
    """What a sync did: template uuids queued per zone id, rows retried or failed."""

    queued: dict[int, list[str]] = field(default_factory=dict)
    retried: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)


# ---- zones -------------------------------------------------------------------------------


def _zones_with_store(session: Session, zone_id: int | None = None) -> list[int]:
    stmt = (
        select(Host.data_center_id)
        .where(
            Host.type == HostType.SECONDARY_STORAGE.value,
            Host.status == HostStatus.UP.value,
            Host.removed.is_(None),
        )
        .distinct()
    )
    if zone_id is not None:
        stmt = stmt.where(Host.data_center_id == zone_id)
    return sorted(int(z) for z in session.scalars(stmt) if z is not None)


def missing_refs(session: Session, zone_id: int) -> list[TemplateZoneRef]:
    """Add (not commit) the zone rows of the cross-zone templates zone ``zone_id``
    should hold and lacks (module doc, step 1); return them."""
    hypervisors = {
        str(h).lower()
        for h in session.scalars(
            select(Cluster.hypervisor_type)
            .where(Cluster.data_center_id == zone_id, Cluster.removed.is_(None))
            .distinct()
        )
        if h
    }
    candidates = session.scalars(
        select(VMTemplate)
        .outerjoin(
            TemplateZoneRef,
            and_(
                TemplateZoneRef.template_id == VMTemplate.id,
                TemplateZoneRef.zone_id == zone_id,
            ),
        )
        .where(
            VMTemplate.cross_zones.is_(True),
            VMTemplate.removed.is_(None),
            VMTemplate.template_type != TemplateType.SYSTEM.value,
            TemplateZoneRef.id.is_(None),
        )
        .order_by(VMTemplate.id)
    ).all()
    now = utcnow()
    added = []
    for template in candidates:
        builtin = template.template_type == TemplateType.BUILTIN.value
        if (
            builtin
            and template.format != TemplateFormat.ISO.value
            and (template.hypervisor_type or "").lower() not in hypervisors
        ):
            continue
        ref = TemplateZoneRef(
            template_id=template.id,
            zone_id=zone_id,
            download_state=DownloadState.NOT_DOWNLOADED.value,
            download_pct=0,
            created=now,
            last_updated=now,
        )
        session.add(ref)
        added.append(ref)
    session.flush()
    return added


def _system_call(runtime: Any, session: Session) -> Call | None:
    system = principal_by_user_id(session, SYSTEM_USER_ID)
    if system is None:
        return None
    return Call(
        DOWNLOAD_JOB,
        system.context(),
        session,
        {},
        runtime.pm,
        services={"runtime": runtime},
    )


def queue(runtime: Any, session: Session, refs: list[TemplateZoneRef]) -> list[str]:
    """Queue a download job per row (as the ``system`` account), in ``session``'s
    transaction; return the job ids."""
    call = _system_call(runtime, session)
    if call is None or not refs:
        return []
    jobs = []
    for ref in refs:
        template = session.get(VMTemplate, ref.template_id)
        if template is not None:
            jobs.extend(queue_downloads(call, template, [ref]))
    return jobs


def add_zone_templates(
    runtime: Any, session: Session, zone_id: int, *, queue_jobs: bool = True
) -> list[tuple[int, str]]:
    """Step 1 of the module doc for one zone, in the caller's transaction (not
    committed; for ``addSecondaryStorage`` right after it adds a store): the built-in
    templates written if missing, the zone's missing rows added and, unless
    ``queue_jobs`` is false, their downloads queued. A zone without an ``Up`` store
    gets nothing yet.

    :param queue_jobs: ``False``: the caller runs the downloads itself
        (:func:`cumulo.templates.download.download_to_zone`); should it die first,
        step 2 queues them.
    :return: ``(row id, template uuid)`` of each row added.
    """
    if not _zones_with_store(session, zone_id):
        return []
    ensure_builtin_templates(session)
    refs = missing_refs(session, zone_id)
    if not refs:
        return []
    if queue_jobs:
        queue(runtime, session, refs)
    rows = session.execute(
        select(VMTemplate.id, VMTemplate.uuid).where(
            VMTemplate.id.in_([ref.template_id for ref in refs])
        )
    )
    uuids = {template_id: uuid for template_id, uuid in rows}
    return [(ref.id, uuids[ref.template_id]) for ref in refs]


def sync_zone(runtime: Any, zone_id: int, *, queue_jobs: bool = True) -> list[tuple[int, str]]:
    """:func:`add_zone_templates` in a transaction of its own (committed)."""
    with runtime.sessions.begin() as session:
        return add_zone_templates(runtime, session, zone_id, queue_jobs=queue_jobs)


# ---- dead transfers ----------------------------------------------------------------------


def _setting(runtime: Any, session: Session, key: str, default: int) -> int:
    value = runtime.config_store(session).value(key)
    try:
        return int(value) if value not in (None, "") else default
    except ValueError:
        return default


def recover_stalled(runtime: Any, now: dt.datetime | None = None) -> SyncOutcome:
    """Step 2 of the module doc, in one transaction (committed)."""
    outcome = SyncOutcome()
    with runtime.sessions.begin() as session:
        stall = _setting(runtime, session, STALL_KEY, DEFAULT_STALL)
        retries = _setting(runtime, session, RETRIES_KEY, DEFAULT_RETRIES)
        cutoff = (now or utcnow()) - dt.timedelta(seconds=stall)
        rows = session.execute(
            select(TemplateZoneRef, VMTemplate, AsyncJob.status)
            .join(VMTemplate, VMTemplate.id == TemplateZoneRef.template_id)
            .outerjoin(AsyncJob, AsyncJob.uuid == TemplateZoneRef.job_uuid)
            .where(
                VMTemplate.removed.is_(None),
                TemplateZoneRef.download_state.in_(
                    (DownloadState.DOWNLOAD_IN_PROGRESS.value, DownloadState.NOT_DOWNLOADED.value)
                ),
                TemplateZoneRef.last_updated < cutoff,
            )
            .order_by(TemplateZoneRef.id)
        ).all()
        again = []
        for ref, template, job_status in rows:
            job_over = job_status is None or job_status != int(JobStatus.IN_PROGRESS)
            started = ref.download_state == DownloadState.DOWNLOAD_IN_PROGRESS.value
            if not started and not job_over:
                continue  # queued behind other jobs: not dead
            fetchable = bool(template.url) and "://" in (template.url or "")
            if job_over and fetchable and (ref.download_attempts or 0) < retries:
                ref.download_state, ref.download_pct = DownloadState.NOT_DOWNLOADED.value, 0
                ref.error_str, ref.last_updated = None, utcnow()
                again.append(ref)
                outcome.retried.append(ref.id)
                continue
            reason = (
                f"Download failed: no progress for {stall} s (the transfer died)"
                if started
                else "Download failed: its job ended before the download started"
            )
            if job_over and fetchable:
                reason += f"; gave up after {ref.download_attempts} attempts"
            _fail(session, template, ref, reason)
            outcome.failed.append(ref.id)
        queue(runtime, session, again)
    return outcome


def _fail(session: Session, template: VMTemplate, ref: TemplateZoneRef, error: str) -> None:
    ref.download_state = DownloadState.DOWNLOAD_ERROR.value
    ref.error_str, ref.last_updated = error[:1024], utcnow()
    iso = template.format == TemplateFormat.ISO.value
    record(
        session,
        "TEMPLATE.DOWNLOAD.FAILED",
        f"{'ISO' if iso else 'Template'} {template.name} in zone {ref.zone_id}: {error}",
        level="ERROR",
        resource_type="Iso" if iso else "Template",
        resource_uuid=template.uuid,
        account_id=template.account_id,
    )


# ---- the periodic task ----------------------------------------------------------------------


def sync_templates(runtime: Any) -> SyncOutcome:
    """One run of the periodic task (module doc), under the ``template.sync`` lease;
    never raises for one zone's failure."""
    with runtime.sessions.begin() as session:
        held = lease.acquire(session, LEASE, runtime.msid, dt.timedelta(seconds=5 * RUN_EVERY))
    if not held:
        return SyncOutcome()
    with runtime.sessions() as session:
        zones = _zones_with_store(session)
    outcome = SyncOutcome()
    for zone_id in zones:
        try:
            refs = sync_zone(runtime, zone_id)
        except Exception:
            log.exception("template sync of zone id=%s failed; it runs again later", zone_id)
            continue
        if refs:
            outcome.queued[zone_id] = [uuid for _, uuid in refs]
    try:
        stalled = recover_stalled(runtime)
    except Exception:
        log.exception("recovering stalled template downloads failed; it runs again later")
    else:
        outcome.retried, outcome.failed = stalled.retried, stalled.failed
    return outcome
