"""Fencing: the VMs of hosts that went ``Down`` are marked ``Stopped`` and their HA work
scheduled, set-based, in ONE transaction per batch.

The host heartbeat (:mod:`cumulo.infra.hosts.lifecycle`) moves a silent host ``Up →
Alert → Down``; ``Down`` means it missed its pings for two ping timeouts, so its VMs are
presumed dead (4.1's investigators reach the same verdict for a host that neither
answers nor is seen by its neighbours). Each HA round (:mod:`cumulo.ha.task`) then:

1. reads a batch of the VMs still recorded on ``Down`` hosts — ``Running`` ones, and
   those left ``Starting``/``Stopping``/``Migrating`` for longer than
   :data:`STALE_TRANSITION` (the operation's own failure path settles the others) — in
   one statement (the ``host (status, ...)`` and ``vm_instance (host_id, state)``
   indexes);
2. marks them ``Stopped`` with no host and no reservation in one conditional
   ``UPDATE`` keyed by ``(id, update_count)``: a VM that anyone changed since step 1
   makes the row count fall short and the whole batch is rolled back and retried at the
   next round, so a fence never overwrites a concurrent transition;
3. gives each failed host back what those VMs reserved on it (one ``UPDATE`` per host);
4. closes any other open work of those VMs (a migration under way) and inserts, in one
   multi-row ``INSERT``, an ``HA`` work item per HA-enabled VM (restart elsewhere) and a
   ``Stop`` item per other VM (stop the stray copy once the host answers again); the
   unique ``open_instance_id`` refuses a second open item for the same VM;
5. records a ``VM.STOP`` event per VM (one ``INSERT`` per owning account) and, for the
   VMs without HA, 4.1's "stopped unexpectedly" alert (one ``INSERT``).

Why a scan rather than a call from the heartbeat: the scan also finds VMs that a
heartbeat round could not see (a server that crashed between marking the host ``Down``
and scheduling the work, a VM whose start raced the failure), it keeps the heartbeat
round's statement count independent of the number of VMs, and both tasks stay
independent singletons under their own leases.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, insert, or_, select, tuple_, update
from sqlalchemy.orm import Session

from cumulo.alerts.models import AlertType
from cumulo.alerts.service import NewAlert, raise_alerts
from cumulo.compute.models import VirtualMachine, VmState
from cumulo.events.recorder import NewEvent, record_many
from cumulo.ha.models import OPEN_STEPS, HaWork, Step, WorkType
from cumulo.infra.hosts.models import Host, HostStatus, HostType
from cumulo.placement import service as placement

BATCH = 500
"""VMs fenced per round at most: a host of 2,000 VMs takes four rounds, each a few
statements, instead of one huge transaction."""

STALE_TRANSITION = dt.timedelta(hours=1)
"""A VM in a transitional state for this long on a ``Down`` host is fenced too: the
operation that put it there is presumed lost with its management server."""

TRANSITIONAL = (VmState.STARTING.value, VmState.STOPPING.value, VmState.MIGRATING.value)
CHUNK = 1_000


class FenceConflict(Exception):
    """A VM of the batch changed between reading and fencing: roll back, retry later."""


@dataclass(frozen=True)
class StrandedVm:
    """A VM on a ``Down`` host, as read in step 1."""

    id: int
    uuid: str
    name: str
    display_name: str | None
    account_id: int
    domain_id: int
    state: str
    update_count: int
    ha_enabled: bool
    host_id: int
    reserved_cpu_mhz: int
    reserved_memory: int
    data_center_id: int
    pod_id: int | None
    host_name: str
    host_uuid: str
    cluster_id: int | None


@dataclass
class FenceResult:
    """What one fence pass did: VM uuids by outcome."""

    restarts: list[str] = field(default_factory=list)
    stopped: list[str] = field(default_factory=list)


def stranded_vms(session: Session, now: dt.datetime, limit: int = BATCH) -> list[StrandedVm]:
    """Step 1: up to ``limit`` VMs still recorded on ``Down`` hosts (one statement)."""
    vm = VirtualMachine
    rows = session.execute(
        select(
            vm.id,
            vm.uuid,
            vm.name,
            vm.display_name,
            vm.account_id,
            vm.domain_id,
            vm.state,
            vm.update_count,
            vm.ha_enabled,
            Host.id,
            vm.reserved_cpu_mhz,
            vm.reserved_memory,
            vm.data_center_id,
            Host.pod_id,
            Host.name,
            Host.uuid,
            Host.cluster_id,
        )
        .join(Host, Host.id == vm.host_id)
        .where(
            Host.status == HostStatus.DOWN.value,
            Host.type == HostType.ROUTING.value,
            vm.removed.is_(None),
            or_(
                vm.state == VmState.RUNNING.value,
                and_(vm.state.in_(TRANSITIONAL), vm.update_time < now - STALE_TRANSITION),
            ),
        )
        .order_by(vm.id)
        .limit(limit)
    ).all()
    return [StrandedVm(*row) for row in rows]  # type: ignore[call-arg]


def _chunks(items: Sequence[Any]) -> list[Sequence[Any]]:
    return [items[start : start + CHUNK] for start in range(0, len(items), CHUNK)]


def _mark_stopped(session: Session, vms: Sequence[StrandedVm], now: dt.datetime) -> None:
    """Step 2; raises :class:`FenceConflict` when a VM changed since it was read."""
    changed = 0
    for chunk in _chunks(vms):
        result = session.execute(
            update(VirtualMachine)
            .where(
                tuple_(VirtualMachine.id, VirtualMachine.update_count).in_(
                    [(vm.id, vm.update_count) for vm in chunk]
                ),
                VirtualMachine.host_id.is_not(None),
            )
            .values(
                state=VmState.STOPPED.value,
                host_id=None,
                reserved_cpu_mhz=0,
                reserved_memory=0,
                update_count=VirtualMachine.update_count + 1,
                update_time=now,
            )
            .execution_options(synchronize_session=False)
        )
        changed += int(result.rowcount)  # type: ignore[attr-defined]
    if changed != len(vms):
        raise FenceConflict(f"{len(vms) - changed} of {len(vms)} VMs changed while fenced")


def _release_hosts(session: Session, vms: Sequence[StrandedVm]) -> None:
    """Step 3: one ``UPDATE`` per failed host, with the sum of its VMs' reservations."""
    totals: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for vm in vms:
        totals[vm.host_id][0] += vm.reserved_cpu_mhz
        totals[vm.host_id][1] += vm.reserved_memory
    for host_id, (cpu, memory) in sorted(totals.items()):
        if cpu or memory:
            placement.release(session, host_id, cpu, memory)


def _schedule(session: Session, vms: Sequence[StrandedVm], now: dt.datetime) -> None:
    """Step 4: close the VMs' other open work, then one item each."""
    ids = [vm.id for vm in vms]
    for chunk in _chunks(ids):
        session.execute(
            update(HaWork)
            .where(HaWork.open_instance_id.in_(chunk), HaWork.step.in_(OPEN_STEPS))
            .values(
                step=Step.CANCELLED.value,
                open_instance_id=None,
                mgmt_server_id=None,
                lease_expires=None,
                last_error="the VM's host went Down",
            )
            .execution_options(synchronize_session=False)
        )
    rows = [
        {
            "instance_id": vm.id,
            "open_instance_id": vm.id,
            "type": (WorkType.HA if vm.ha_enabled else WorkType.STOP).value,
            "vm_type": "User",
            "previous_state": vm.state,
            "host_id": vm.host_id,
            "step": Step.SCHEDULED.value,
            "tried": 0,
            "time_to_try": now,
            # The fence itself bumped update_count: the work expects the VM as fenced.
            "updated": vm.update_count + 1,
            "created": now,
        }
        for vm in vms
    ]
    for chunk in _chunks(rows):
        session.execute(insert(HaWork), list(chunk))


def _record(session: Session, vms: Sequence[StrandedVm], now: dt.datetime) -> None:
    """Step 5: events per owning account (one ``INSERT`` each), alerts in one."""
    by_account: dict[int, list[NewEvent]] = defaultdict(list)
    for vm in vms:
        what = "an HA restart elsewhere is scheduled" if vm.ha_enabled else "HA is not enabled"
        by_account[vm.account_id].append(
            NewEvent(
                type="VM.STOP",
                level="WARN",
                description=(
                    f"VM {vm.display_name or vm.name} ({vm.uuid}) marked Stopped: its host"
                    f" {vm.host_name} ({vm.host_uuid}) is Down; {what}"
                ),
                resource_type="VirtualMachine",
                resource_uuid=vm.uuid,
                details={"host": vm.host_uuid, "was": vm.state, "ha": vm.ha_enabled},
            )
        )
    for account_id, new_events in sorted(by_account.items()):
        record_many(session, new_events, account_id=account_id, created=now)
    raise_alerts(
        session,
        [
            NewAlert(
                type=AlertType.USERVM,
                data_center_id=vm.data_center_id,
                pod_id=vm.pod_id,
                cluster_id=vm.cluster_id,
                subject=(
                    f"VM (name: {vm.name}, id: {vm.uuid}) stopped unexpectedly on host"
                    f" {vm.host_name} ({vm.host_uuid}): the host is Down and the VM is"
                    " not HA enabled"
                ),
            )
            for vm in vms
            if not vm.ha_enabled
        ],
        now=now,
    )


def fence_down_hosts(session: Session, now: dt.datetime, limit: int = BATCH) -> FenceResult:
    """Steps 1-5 for one batch, in ``session``'s transaction (the caller commits).

    :param now: the database clock.
    :raises FenceConflict: a VM changed meanwhile; the caller rolls back and the next
        round tries again (nothing of this batch may be kept).
    """
    vms = stranded_vms(session, now, limit)
    result = FenceResult()
    if not vms:
        return result
    _mark_stopped(session, vms, now)
    _release_hosts(session, vms)
    _schedule(session, vms, now)
    _record(session, vms, now)
    for vm in vms:
        (result.restarts if vm.ha_enabled else result.stopped).append(vm.uuid)
    return result
