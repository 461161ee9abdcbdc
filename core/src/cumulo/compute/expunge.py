"""The expunge task: VMs ``Destroyed`` (or ``Error``) for ``expunge.delay`` seconds are
removed for good, under the ``expunge`` lease so one server does it at a time.

For each VM (a batch per round, oldest first):

1. ``→ Expunging`` (the conditional state update: a VM recovered meanwhile is left
   alone), committed with what the drivers need;
2. the hypervisor forgets the VM (``destroy_vm``; a missing VM is fine) and the
   storage driver deletes its volumes in ``Destroy`` state (its ROOT disk; all of them
   for a failed deploy) — no transaction open;
3. those volumes are marked ``Expunged`` and removed and their pools' space given back,
   data disks are detached (they stay the account's), the NICs' addresses are freed,
   the VM leaves its group and gets its ``removed`` timestamp.

:func:`expunge_due` runs one round; the job worker's background tasks run one every
``expunge.interval`` seconds (:data:`cumulo.jobs.scheduler.PERIODIC_TASKS`), in the
thread of the periodic tasks: driver calls may block, and a server's heartbeat must not
wait for them.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from cumulo import events
from cumulo.compute import states
from cumulo.compute.disks import DiskTarget, delete_from_storage, disk_targets
from cumulo.compute.hypervisors import HostTarget, host_target
from cumulo.compute.models import InstanceGroupVmMap, VirtualMachine, VmState
from cumulo.compute.nics import release_nics
from cumulo.compute.settings import EXPUNGE_DELAY
from cumulo.compute.states import VmEvent
from cumulo.db.base import utcnow
from cumulo.jobs import lease
from cumulo.network.nics import release_from_providers
from cumulo.placement import service as placement
from cumulo.runtime import Runtime
from cumulo.sdk.errors import CloudError
from cumulo.sdk.hypervisor import HypervisorError
from cumulo.volumes.models import Volume, VolumeState

log = logging.getLogger(__name__)

LEASE = "expunge"
BATCH = 100


def _due(session: Session, delay: int, limit: int) -> list[VirtualMachine]:
    cutoff = utcnow() - dt.timedelta(seconds=delay)
    return list(
        session.scalars(
            select(VirtualMachine)
            .where(
                VirtualMachine.state.in_((VmState.DESTROYED.value, VmState.ERROR.value)),
                VirtualMachine.removed.is_(None),
                VirtualMachine.update_time <= cutoff,
            )
            .order_by(VirtualMachine.update_time)
            .limit(limit)
        )
    )


def _claim(
    runtime: Runtime, vm: VirtualMachine
) -> tuple[HostTarget | None, list[DiskTarget]] | None:
    """Step 1 for one VM (own transaction); ``None`` if it changed meanwhile."""
    with runtime.sessions() as session:
        session.add(vm)
        try:
            states.transition(session, vm, VmEvent.EXPUNGE_OPERATION, "expunge")
        except CloudError:
            session.rollback()
            return None
        host_id = vm.host_id or vm.last_host_id
        target = None
        if host_id is not None:
            try:
                target = host_target(session, host_id, runtime.database_key, runtime.algorithm)
            except CloudError:
                target = None
        destroyed = _destroyed_volume_ids(session, vm.id)
        doomed = [d for d in disk_targets(session, vm.id) if d.volume_id in destroyed]
        session.commit()
        session.expunge(vm)
    return target, doomed


def _destroyed_volume_ids(session: Session, vm_id: int) -> set[int]:
    return set(
        session.scalars(
            select(Volume.id).where(
                Volume.instance_id == vm_id,
                Volume.removed.is_(None),
                Volume.state == VolumeState.DESTROY.value,
            )
        )
    )


def _finish(runtime: Runtime, vm: VirtualMachine, doomed: list[DiskTarget]) -> None:
    """Step 3 for one VM (own transaction)."""
    now = utcnow()
    with runtime.sessions.begin() as session:
        if vm.host_id is not None and (vm.reserved_cpu_mhz or vm.reserved_memory):
            placement.release(session, vm.host_id, vm.reserved_cpu_mhz, vm.reserved_memory)
        pooled = session.execute(
            select(Volume.pool_id, Volume.size).where(
                Volume.instance_id == vm.id,
                Volume.removed.is_(None),
                Volume.state == VolumeState.DESTROY.value,
                Volume.pool_id.is_not(None),
            )
        ).all()
        for pool_id, size in pooled:
            placement.release_pool(session, int(pool_id or 0), int(size))
        session.execute(
            update(Volume)
            .where(
                Volume.instance_id == vm.id,
                Volume.removed.is_(None),
                Volume.state == VolumeState.DESTROY.value,
            )
            .values(state=VolumeState.EXPUNGED.value, removed=now)
            .execution_options(synchronize_session=False)
        )
        session.execute(
            update(Volume)
            .where(Volume.instance_id == vm.id, Volume.removed.is_(None))
            .values(instance_id=None, device_id=None, attached=None)
            .execution_options(synchronize_session=False)
        )
        release_nics(session, [vm.id])
        session.execute(delete(InstanceGroupVmMap).where(InstanceGroupVmMap.instance_id == vm.id))
        session.execute(
            update(VirtualMachine)
            .where(VirtualMachine.id == vm.id)
            .values(removed=now, host_id=None, reserved_cpu_mhz=0, reserved_memory=0)
            .execution_options(synchronize_session=False)
        )
        events.record(
            session,
            "VM.DESTROY",
            f"Expunged VM {vm.uuid}" + (f" ({len(doomed)} volume(s) deleted)" if doomed else ""),
            resource_type="VirtualMachine",
            resource_uuid=vm.uuid,
            account_id=vm.account_id,
            domain_id=vm.domain_id,
        )


def expunge_vm(runtime: Runtime, vm: VirtualMachine) -> bool:
    """Expunge one VM (steps 1-3); ``False`` if it changed before it could be."""
    claimed = _claim(runtime, vm)
    if claimed is None:
        return False
    target, doomed = claimed
    if target is not None:
        try:
            target.driver.destroy_vm(target.ref, vm.instance_name)
        except (HypervisorError, CloudError) as exc:
            # The host may be gone for good; its VM with it. Storage is cleaned anyway.
            log.warning("expunge of %s: the hypervisor did not destroy it: %s", vm.uuid, exc)
    hypervisor = vm.hypervisor_type or (target.hypervisor_type if target else "")
    for failure in delete_from_storage(hypervisor, doomed):
        log.warning("expunge of %s: %s", vm.uuid, failure)
    # The network providers stop serving its NICs (best effort; commits on its own).
    with runtime.sessions() as session:
        release_from_providers(session, vm.id)
    _finish(runtime, vm, doomed)
    # Rules naming its groups no longer cover its address (no-op for a VM in no group).
    from cumulo.network.security_groups.membership import refresh

    with runtime.sessions() as session:
        refresh(session, runtime, vm.id)
        session.commit()
    return True


def expunge_due(runtime: Runtime, *, limit: int = BATCH) -> int:
    """One round (under the lease): expunge up to ``limit`` VMs destroyed more than
    ``expunge.delay`` seconds ago; how many were expunged."""
    with runtime.sessions.begin() as session:
        delay = runtime.config_store(session).integer(EXPUNGE_DELAY) or 0
        held = lease.acquire(session, LEASE, runtime.msid, dt.timedelta(minutes=10))
        due = _due(session, delay, limit) if held else []
        for vm in due:
            session.expunge(vm)
    if not held:
        return 0
    done = 0
    try:
        for vm in due:
            try:
                done += expunge_vm(runtime, vm)
            except Exception:  # one VM's trouble must not stop the others
                log.exception("could not expunge VM %s", vm.uuid)
    finally:
        with runtime.sessions.begin() as session:
            lease.release(session, LEASE, runtime.msid)
    return done
