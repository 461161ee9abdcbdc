"""Taking, renewing and closing HA work items (``op_ha_work``) across management servers.

Every management server runs HA workers (as 4.1 does); a server takes an item with one
conditional ``UPDATE`` whose row count says whether it won, so two servers never work on
the same item. An item may be taken when it is

* ``Scheduled``, due (``time_to_try`` passed), and free — no holder, or a holder whose
  lease expired or whose ``mshost`` row is ``Down``; or
* in flight (``Restarting``/``Migrating``) and abandoned the same way: its server died
  mid-work, and the taker resumes it (:mod:`cumulo.ha.restart` undoes the half-done
  start first).

A holder renews its lease at every step it commits. Closing an item (``Done``,
``Cancelled``, ``Error``) clears ``open_instance_id``, so new work may be scheduled for
the VM. Every write repeats "held by me", so a server whose item was taken over after
its lease expired cannot overwrite what the new holder did.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from cumulo.ha.models import CLOSED_STEPS, HaWork, Step
from cumulo.jobs.models import ManagementServerHost, MsHostState

LEASE = dt.timedelta(minutes=30)
"""How long a server holds an item without renewing it. Long, because a restart's
driver calls may take minutes; a server that dies is noticed sooner through ``mshost``
(the job scheduler's takeover marks it ``Down`` after ``cluster.heartbeat.threshold``)."""


@dataclass(frozen=True)
class WorkItem:
    """An item as its worker sees it (plain values, detached from any session)."""

    id: int
    instance_id: int
    type: str
    step: str
    host_id: int
    previous_state: str
    tried: int
    updated: int


def _dead_servers() -> Any:
    return select(ManagementServerHost.msid).where(
        ManagementServerHost.state == MsHostState.DOWN.value
    )


def _abandoned(now: dt.datetime) -> Any:
    """Held by nobody, or by a server whose lease expired or that is ``Down``."""
    return or_(
        HaWork.mgmt_server_id.is_(None),
        HaWork.lease_expires < now,
        HaWork.mgmt_server_id.in_(_dead_servers()),
    )


def _takeable(now: dt.datetime) -> Any:
    return or_(
        and_(HaWork.step == Step.SCHEDULED.value, HaWork.time_to_try <= now, _abandoned(now)),
        and_(
            HaWork.step.in_((Step.RESTARTING.value, Step.MIGRATING.value)),
            HaWork.mgmt_server_id.is_not(None),
            or_(HaWork.lease_expires < now, HaWork.mgmt_server_id.in_(_dead_servers())),
        ),
    )


def take(session: Session, msid: int, now: dt.datetime, limit: int) -> list[WorkItem]:
    """Take up to ``limit`` items for server ``msid`` (4.1's ``ha.workers`` per round):
    one ``SELECT`` of candidates, then one conditional ``UPDATE`` per item until
    ``limit`` are won. The caller commits at once so the others see the claims.
    """
    rows = session.execute(
        select(
            HaWork.id,
            HaWork.instance_id,
            HaWork.type,
            HaWork.step,
            HaWork.host_id,
            HaWork.previous_state,
            HaWork.tried,
            HaWork.updated,
        )
        .where(_takeable(now))
        .order_by(HaWork.time_to_try, HaWork.id)
        .limit(2 * limit)
    ).all()
    taken: list[WorkItem] = []
    for row in rows:
        if len(taken) >= limit:
            break
        won = session.execute(
            update(HaWork)
            .where(HaWork.id == row.id, _takeable(now))
            .values(mgmt_server_id=msid, taken=now, lease_expires=now + LEASE)
            .execution_options(synchronize_session=False)
        )
        if int(won.rowcount) == 1:  # type: ignore[attr-defined]
            taken.append(WorkItem(*row))
    return taken


def _mine(item: WorkItem, msid: int) -> tuple[Any, ...]:
    return (HaWork.id == item.id, HaWork.mgmt_server_id == msid)


def advance(session: Session, item: WorkItem, msid: int, now: dt.datetime, **values: Any) -> bool:
    """Record progress of an item ``msid`` holds (``step``, ``updated`` ...) and renew
    its lease; ``False`` when the item is no longer ``msid``'s (taken over)."""
    result = session.execute(
        update(HaWork)
        .where(*_mine(item, msid))
        .values(lease_expires=now + LEASE, **values)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount) == 1  # type: ignore[attr-defined]


def close(
    session: Session, item: WorkItem, msid: int, step: Step, error: str | None = None
) -> bool:
    """Close an item ``msid`` holds as ``step`` (``Done``, ``Cancelled`` or ``Error``);
    its VM may get new work after this."""
    assert step.value in CLOSED_STEPS
    values: dict[str, Any] = {
        "step": step.value,
        "open_instance_id": None,
        "mgmt_server_id": None,
        "lease_expires": None,
    }
    if error is not None:
        values["last_error"] = error[:1024]
    result = session.execute(
        update(HaWork)
        .where(*_mine(item, msid))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount) == 1  # type: ignore[attr-defined]


def retry_later(
    session: Session,
    item: WorkItem,
    msid: int,
    when: dt.datetime,
    *,
    updated: int,
    error: str,
) -> bool:
    """Give an item back for another try at ``when`` (one more ``tried``), expecting the
    VM at ``updated``."""
    result = session.execute(
        update(HaWork)
        .where(*_mine(item, msid))
        .values(
            step=Step.SCHEDULED.value,
            tried=item.tried + 1,
            time_to_try=when,
            updated=updated,
            mgmt_server_id=None,
            taken=None,
            lease_expires=None,
            last_error=error[:1024],
        )
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount) == 1  # type: ignore[attr-defined]


def abandon(session: Session, item: WorkItem, msid: int, when: dt.datetime, error: str) -> bool:
    """Let go of an item whose handler failed unexpectedly, as it is (same step, one
    more ``tried``): anyone may take it again from ``when`` — an item left ``Restarting``
    is then resumed as if its server had died."""
    result = session.execute(
        update(HaWork)
        .where(*_mine(item, msid))
        .values(
            tried=item.tried + 1,
            time_to_try=when,
            lease_expires=when,
            last_error=error[:1024],
        )
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount) == 1  # type: ignore[attr-defined]


def open_items(session: Session, instance_ids: Sequence[int]) -> dict[int, str]:
    """The type of the open item of each VM that has one (one statement)."""
    if not instance_ids:
        return {}
    rows = session.execute(
        select(HaWork.open_instance_id, HaWork.type).where(
            HaWork.open_instance_id.in_(list(instance_ids))
        )
    ).all()
    return {int(vm_id): str(kind) for vm_id, kind in rows if vm_id is not None}
