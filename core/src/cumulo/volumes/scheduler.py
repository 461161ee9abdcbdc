"""The periodic task that runs snapshot policies (4.1's ``SnapshotSchedulerImpl``).

:func:`run_scheduled_snapshots` is called by the job worker's background loop
(:class:`cumulo.jobs.scheduler.BackgroundTasks`) every :data:`RUN_EVERY` seconds. Under
the ``snapshot.policies`` lease (one server at a time runs it), it:

1. reads the active policies whose ``next_run`` has come (one indexed statement);
2. for each, claims the run with one conditional ``UPDATE`` that advances
   ``next_run`` only if it is still the value read — a second server, or a run that
   overlapped a lease hand-over, finds it changed and skips it;
3. takes the snapshot and backs it up to secondary storage
   (:mod:`cumulo.volumes.snapshots`: allocate, then take, each in its own
   transactions) unless the volume is not Ready, is being copied to a template, or the
   owner's snapshot limit is reached (a ``WARN`` event says so);
4. trims the policy's backed-up snapshots to its ``maxsnaps``, deleting the oldest —
   both copies, on primary and on secondary storage.

Each policy is handled in transactions of its own, so one that fails is logged and the
others still run.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from cumulo.db.base import utcnow
from cumulo.events import record
from cumulo.jobs import lease
from cumulo.sdk.errors import AccountLimitExceeded, CloudError, InvalidParameterValue
from cumulo.volumes import policies, snapshots
from cumulo.volumes.models import Volume, VolumeState
from cumulo.volumes.snapshot_models import IntervalType, Snapshot, SnapshotPolicy, SnapshotState

if TYPE_CHECKING:
    from cumulo.runtime import Runtime

log = logging.getLogger(__name__)

LEASE = "snapshot.policies"
RUN_EVERY = 60.0
"""Seconds between two looks for due policies (hourly is the finest schedule)."""
BATCH = 100
"""Most policies handled in one run; the rest wait for the next."""


@dataclass
class Outcome:
    """What a run did: snapshots taken and deleted, policies skipped (with why)."""

    taken: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)


def run_scheduled_snapshots(runtime: Runtime, now: dt.datetime | None = None) -> Outcome:
    """One run of the task (module doc); never raises for one policy's failure.

    :param runtime: the :class:`cumulo.runtime.Runtime` (sessions, msid, keys).
    :param now: the time to run for (naive UTC; default: now).
    """
    sessions = runtime.sessions
    outcome = Outcome()
    with sessions.begin() as session:
        held = lease.acquire(
            session,
            LEASE,
            runtime.msid,
            dt.timedelta(seconds=5 * RUN_EVERY),
        )
    if not held:
        return outcome
    at = now or utcnow()
    with sessions() as session:
        found = policies.due(session, at, BATCH)
    secrets = snapshots.Secrets(runtime.database_key, runtime.algorithm)
    for policy_id, seen in found:
        try:
            with sessions() as session:
                _run_policy(session, policy_id, seen, at, secrets, outcome)
        except Exception:
            log.exception("snapshot policy id=%s failed; it runs again when next due", policy_id)
    return outcome


def _run_policy(
    session: Session,
    policy_id: int,
    seen: dt.datetime,
    at: dt.datetime,
    secrets: snapshots.Secrets,
    outcome: Outcome,
) -> None:
    policy = session.get(SnapshotPolicy, policy_id)
    if policy is None:
        return
    following = policies.next_run(
        IntervalType(policy.interval), policy.schedule, policy.timezone, at
    )
    claimed = session.execute(
        update(SnapshotPolicy)
        .where(SnapshotPolicy.id == policy_id, SnapshotPolicy.next_run == seen)
        .values(next_run=following, last_run=at)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    session.commit()
    if claimed != 1:
        return
    volume = session.get(Volume, policy.volume_id)
    if volume is None or volume.removed is not None:
        outcome.skipped[policy.uuid] = "its volume is gone"
        return
    if volume.state != VolumeState.READY.value:
        outcome.skipped[policy.uuid] = f"its volume is {volume.state}"
        return
    try:
        snapshot = snapshots.allocate(session, volume, policy=policy)
        session.commit()
    except (AccountLimitExceeded, InvalidParameterValue) as exc:  # limit reached, or busy
        session.rollback()
        record(
            session,
            "SNAPSHOT.CREATE",
            f"Scheduled snapshot of volume {volume.name} skipped: {exc}",
            level="WARN",
            resource_type="Volume",
            resource_uuid=volume.uuid,
            account_id=volume.account_id,
        )
        session.commit()
        outcome.skipped[policy.uuid] = str(exc)
        return
    try:
        snapshots.take(session, snapshot.id, secrets)
    except CloudError as exc:
        outcome.skipped[policy.uuid] = str(exc)
        return
    outcome.taken.append(snapshot.uuid)
    _trim(session, policy, secrets, outcome)


def _trim(
    session: Session, policy: SnapshotPolicy, secrets: snapshots.Secrets, outcome: Outcome
) -> None:
    """Delete the policy's oldest backed-up snapshots beyond ``maxsnaps``."""
    kept = session.scalars(
        select(Snapshot)
        .where(
            Snapshot.policy_id == policy.id,
            Snapshot.status == SnapshotState.BACKED_UP.value,
            Snapshot.removed.is_(None),
        )
        .order_by(Snapshot.created.desc(), Snapshot.id.desc())
    ).all()
    for old in kept[policy.max_snaps :]:
        try:
            snapshots.delete(session, old, secrets)
            record(
                session,
                "SNAPSHOT.DELETE",
                f"Deleted snapshot {old.name}: its policy keeps {policy.max_snaps}",
                resource_type="Snapshot",
                resource_uuid=old.uuid,
                account_id=old.account_id,
            )
            session.commit()
            outcome.deleted.append(old.uuid)
        except CloudError as exc:
            session.rollback()
            log.warning("could not trim snapshot %s: %s", old.uuid, exc)
