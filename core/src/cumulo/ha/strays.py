"""Stopping the stray copy of a VM on a host that failed (a ``Stop`` work item).

A host is ``Down`` when it stopped answering pings, which does not prove that its VMs
stopped: a host that lost only its management network keeps running them. The fence
(:mod:`cumulo.ha.fencing`) marks a VM without HA ``Stopped`` at once and schedules this
item, which force-stops the VM on the failed host through its driver — at once if the
host answers that call, else every ``stop.retry.interval`` until it does or
``ha.max.retries`` tries are spent. A VM that meanwhile runs on that host again (its
owner started it there after the host came back) is left alone.
"""

from __future__ import annotations

import logging

from cumulo.compute.models import VirtualMachine, VmState
from cumulo.ha import work
from cumulo.ha.models import Step
from cumulo.ha.restart import force_stop, target_of
from cumulo.ha.settings import HaSettings
from cumulo.ha.work import WorkItem
from cumulo.jobs.clock import db_now
from cumulo.runtime import Runtime

log = logging.getLogger(__name__)

ACTIVE = (
    VmState.STARTING.value,
    VmState.RUNNING.value,
    VmState.STOPPING.value,
    VmState.MIGRATING.value,
)


def stop_stray(runtime: Runtime, item: WorkItem, settings: HaSettings) -> str:
    """Run one ``Stop`` item held by this server.

    :return: ``"stopped"``, ``"retry"``, ``"gave up"``, ``"cancelled"`` or ``"lost"``.
    """
    msid = runtime.msid
    with runtime.sessions() as session:
        vm = session.get(VirtualMachine, item.instance_id)
        if vm is None or (vm.host_id == item.host_id and vm.state in ACTIVE):
            work.close(session, item, msid, Step.CANCELLED, "the VM runs on that host again")
            session.commit()
            return "cancelled"
        target = target_of(session, runtime, item.host_id)
        if target is None:
            work.close(session, item, msid, Step.CANCELLED, "the host no longer exists")
            session.commit()
            return "cancelled"
        name = vm.instance_name
        session.commit()
        stopped = force_stop(target, name)
        if not work.advance(session, item, msid, db_now(session)):
            session.rollback()
            return "lost"
        if stopped:
            work.close(session, item, msid, Step.DONE)
            outcome = "stopped"
        elif item.tried + 1 >= settings.max_retries:
            log.warning("HA: gave up stopping %s on host %s: it never answered", name, target.name)
            work.close(session, item, msid, Step.ERROR, "the host never answered the stop")
            outcome = "gave up"
        else:
            work.retry_later(
                session,
                item,
                msid,
                db_now(session) + settings.stop_retry,
                updated=vm.update_count,
                error="the host did not answer the stop",
            )
            outcome = "retry"
        session.commit()
        return outcome
