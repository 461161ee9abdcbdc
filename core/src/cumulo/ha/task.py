"""The HA periodic task: fence the VMs of ``Down`` hosts, then work on HA items.

One round (:func:`run_ha_round`, run by the job worker's periodic-task thread):

1. under the ``ha`` lease (one server at a time): fence a batch of the VMs still
   recorded on ``Down`` hosts and schedule their work (:mod:`cumulo.ha.fencing`, one
   transaction); a batch that raced another operation is rolled back and retried at
   the next round;
2. on every server, lease or not (4.1 runs HA workers on every management server):
   take up to ``ha.workers`` due items (:mod:`cumulo.ha.work`) and run each —
   ``HA`` restarts (:mod:`cumulo.ha.restart`), ``Stop`` of stray copies
   (:mod:`cumulo.ha.strays`), ``Migration`` away from hosts entering maintenance
   (:mod:`cumulo.ha.migration`). One item's failure is logged and the item given back
   for a later try; it never stops the round.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from cumulo.ha import fencing, migration, restart, strays, work
from cumulo.ha.models import WorkType
from cumulo.ha.settings import HaSettings
from cumulo.ha.work import WorkItem
from cumulo.jobs import lease
from cumulo.jobs.clock import db_now
from cumulo.runtime import Runtime

log = logging.getLogger(__name__)

LEASE = "ha"
LEASE_TTL = dt.timedelta(minutes=2)
"""Held across rounds (each renews it), so a server that dies hands fencing on soon."""

Handler = Callable[[Runtime, WorkItem, HaSettings], str]

HANDLERS: dict[str, Handler] = {
    WorkType.HA.value: restart.restart,
    WorkType.STOP.value: strays.stop_stray,
    WorkType.MIGRATION.value: migration.migrate_away,
}


@dataclass
class RoundResult:
    """What one round did: the fence (``None`` without the lease) and each item's
    outcome by item id."""

    fenced: fencing.FenceResult | None = None
    outcomes: dict[int, str] = field(default_factory=dict)


def run_ha_round(runtime: Runtime) -> RoundResult:
    """One HA round (see the module doc)."""
    result = RoundResult()
    with runtime.sessions.begin() as session:
        settings = HaSettings.read(runtime, session)
        held = lease.acquire(session, LEASE, runtime.msid, LEASE_TTL)
    if held:
        try:
            with runtime.sessions.begin() as session:
                result.fenced = fencing.fence_down_hosts(session, db_now(session))
        except fencing.FenceConflict as conflict:
            log.info("HA: fencing deferred to the next round: %s", conflict)
    with runtime.sessions.begin() as session:
        items = work.take(session, runtime.msid, db_now(session), settings.workers)
    for item in items:
        result.outcomes[item.id] = _run(runtime, item, settings)
    return result


def _run(runtime: Runtime, item: WorkItem, settings: HaSettings) -> str:
    handler = HANDLERS.get(item.type)
    try:
        if handler is None:
            raise ValueError(f"unknown HA work type {item.type!r}")
        return handler(runtime, item, settings)
    except Exception as exc:
        log.exception("HA work item %s (%s of VM %s) failed", item.id, item.type, item.instance_id)
        try:
            with runtime.sessions.begin() as session:
                work.abandon(
                    session,
                    item,
                    runtime.msid,
                    db_now(session) + settings.restart_retry,
                    f"internal error: {exc}",
                )
        except Exception:
            log.exception("HA work item %s could not be given back", item.id)
        return "error"
