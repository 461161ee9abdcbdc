"""Management servers: registration, heartbeat, and taking over the jobs of dead ones.

Every job-running process registers in ``mshost`` under its ``msid`` and refreshes
``last_heartbeat`` every ``cluster.heartbeat.interval`` milliseconds, on the database's
clock. A server whose heartbeat is older than ``cluster.heartbeat.threshold`` is
presumed dead and marked ``Down`` (CS41: ``ClusterManagerImpl`` reads both keys, 1500 ms
and 150000 ms by default).

The jobs a dead server was running are failed, never left in progress: 4.1 does the
same when it learns a peer left (CS41: ``AsyncJobManagerImpl.onManagementNodeLeft`` →
``resetJobProcess`` with ``INTERNAL_ERROR``). Re-running them instead would be wrong
for commands that are not idempotent and had half-acted on hypervisors or devices, so
the job fails with a message that says exactly what happened and the caller decides.
Every function works inside the caller's transaction and never commits.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from cumulo import __version__
from cumulo.jobs.clock import db_now
from cumulo.jobs.models import AsyncJob, JobStatus, ManagementServerHost, MsHostState
from cumulo.jobs.queue import fail_abandoned


@dataclass(frozen=True)
class Takeover:
    """What one takeover pass did.

    :param marked_down: msids newly marked ``Down`` because their heartbeat was stale.
    :param failed_jobs: in-progress jobs of stopped servers that were failed, by msid.
    """

    marked_down: tuple[int, ...]
    failed_jobs: dict[int, int]


def abandoned_message(msid: int, name: str | None) -> str:
    """The ``errortext`` of a job whose server stopped while running it."""
    server = f"{name} ({msid})" if name else f"({msid})"
    return (
        f"the management server {server} stopped while running this job; the job was not completed"
    )


def register(session: Session, msid: int, name: str, ip: str | None) -> dt.datetime:
    """Record server ``msid`` as ``Up`` with a fresh heartbeat; return that time.

    A server restarting under the same msid (``cumulo serve`` restarts its job worker
    with its own msid) first fails the jobs its previous run left in progress, as 4.1
    does at start-up (``resetJobProcess(getMsid())``): nothing else will finish them.
    """
    now = db_now(session)
    values = {
        "name": name,
        "ip": ip,
        "version": __version__,
        "state": MsHostState.UP.value,
        "last_heartbeat": now,
    }
    existing = session.scalar(
        select(ManagementServerHost.name).where(ManagementServerHost.msid == msid)
    )
    if existing is None:
        session.execute(insert(ManagementServerHost).values(msid=msid, created=now, **values))
    else:
        fail_abandoned(session, msid, abandoned_message(msid, existing))
        session.execute(
            update(ManagementServerHost).where(ManagementServerHost.msid == msid).values(**values)
        )
    return now


def heartbeat(session: Session, msid: int) -> bool:
    """Refresh server ``msid``'s heartbeat; ``False`` when it is not registered (its row
    was removed), so the caller registers again."""
    stmt = (
        update(ManagementServerHost)
        .where(ManagementServerHost.msid == msid)
        .values(last_heartbeat=db_now(session), state=MsHostState.UP.value)
        .execution_options(synchronize_session=False)
    )
    return int(session.execute(stmt).rowcount) == 1  # type: ignore[attr-defined]


def mark_down(session: Session, msid: int) -> None:
    """Record that server ``msid`` stopped (a clean shutdown); its leftover jobs are
    then taken over at the next pass instead of after the heartbeat threshold."""
    session.execute(
        update(ManagementServerHost)
        .where(ManagementServerHost.msid == msid)
        .values(state=MsHostState.DOWN.value)
        .execution_options(synchronize_session=False)
    )


def take_over(session: Session, taker: int, threshold: dt.timedelta) -> Takeover:
    """Mark stale servers ``Down`` and fail the in-progress jobs of every stopped one.

    Statements: a constant handful plus one ``UPDATE`` per stopped server holding jobs,
    never one per job. Jobs of an owner that never registered (a tool running jobs in
    its own process) are failed only once idle for ``threshold``.

    :param taker: this server's msid; its own jobs are never touched.
    :param threshold: how old a heartbeat may be before its server is presumed dead.
    """
    cutoff = db_now(session) - threshold
    stale = list(
        session.scalars(
            select(ManagementServerHost.msid).where(
                ManagementServerHost.state == MsHostState.UP.value,
                ManagementServerHost.last_heartbeat < cutoff,
                ManagementServerHost.msid != taker,
            )
        )
    )
    if stale:
        session.execute(
            update(ManagementServerHost)
            .where(ManagementServerHost.msid.in_(stale))
            .values(state=MsHostState.DOWN.value)
            .execution_options(synchronize_session=False)
        )
    owners = {
        owner
        for owner in session.scalars(
            select(AsyncJob.owner)
            .where(AsyncJob.status == int(JobStatus.IN_PROGRESS), AsyncJob.owner.is_not(None))
            .distinct()
        )
        if owner is not None
    }
    owners.discard(taker)
    failed: dict[int, int] = {}
    if not owners:
        return Takeover(tuple(stale), failed)
    known = {
        row.msid: row
        for row in session.execute(
            select(
                ManagementServerHost.msid,
                ManagementServerHost.name,
                ManagementServerHost.state,
                ManagementServerHost.last_heartbeat,
            ).where(ManagementServerHost.msid.in_(owners))
        )
    }
    for owner in sorted(owners):
        row = known.get(owner)
        if row is None:
            count = fail_abandoned(
                session, owner, abandoned_message(owner, None), idle_before=cutoff
            )
        elif row.state == MsHostState.DOWN.value or row.last_heartbeat < cutoff:
            count = fail_abandoned(session, owner, abandoned_message(owner, row.name))
        else:
            continue
        if count:
            failed[owner] = count
    return Takeover(tuple(stale), failed)
