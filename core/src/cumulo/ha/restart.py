"""Restarting one HA-enabled VM elsewhere (an ``HA`` work item), in short transactions
around the driver calls, as :mod:`cumulo.compute.starting` does for a user's start.

1. **Check** (own transaction): the VM must still be as the fence left it (``Stopped``,
   the ``update_count`` the item expects, HA still enabled, not destroyed); otherwise
   someone acted on it meanwhile and the item is ``Cancelled``. An item found
   ``Restarting`` was abandoned by a server that died mid-restart: the VM is looked
   for on the host it was being started on; running there, the restart is recorded as
   done, else the half-done start is undone (the claim given back, ``Starting →
   Stopped``) and the restart begins again.
2. **Fence** (no transaction): the VM is force-stopped on the failed host, best
   effort — a host that is really down does not answer, and its VMs died with it; one
   that only lost its management network must not keep a second copy running.
3. **Reserve** (own transaction): placement with ``for_ha_restart`` — ``ha.tag`` hosts
   are allowed (and only HA restarts may use them) and preferred — claims the new
   host's capacity; ``Stopped → Starting``; the item moves to ``Restarting``.
4. **Start** (no transaction): the hypervisor driver starts the VM on the new host.
5. **Record** (own transaction): ``Starting → Running``, a ``VM.START`` event saying
   it was an HA restart, the item ``Done``.

A failure in 3 or 4 gives the claim back and puts the item back for another try after
``restart.retry.interval`` (4.1's ``restart.retry.interval``), with an alert each time
(4.1's "Unable to restart ..."); after ``ha.max.retries`` tries the item ends in
``Error`` with a final alert and the VM stays ``Stopped``. Every transaction first
renews the item with a conditional ``UPDATE`` ("still mine"), so a server whose item
was taken over writes nothing more.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from sqlalchemy.orm import Session

from cumulo import events
from cumulo.alerts.models import AlertType
from cumulo.alerts.service import NewAlert, raise_alerts
from cumulo.compute import passwords, states
from cumulo.compute.disks import (
    DiskTarget,
    assign_pools,
    create_on_storage,
    disk_targets,
    mark_ready,
)
from cumulo.compute.hypervisors import HostTarget, drive, host_target
from cumulo.compute.listing import nics_of
from cumulo.compute.models import VirtualMachine, VmState
from cumulo.compute.starting import placement_request, volume_facts
from cumulo.compute.states import VmEvent
from cumulo.ha import work
from cumulo.ha.models import Step
from cumulo.ha.settings import HaSettings
from cumulo.ha.work import WorkItem
from cumulo.infra.hosts.models import Host
from cumulo.jobs.clock import db_now
from cumulo.offerings.models import ServiceOffering
from cumulo.placement import service as placement
from cumulo.placement.request import Placement
from cumulo.runtime import Runtime
from cumulo.sdk.errors import CloudError, InternalError
from cumulo.sdk.hypervisor import HypervisorError, NicSpec, VmSpec
from cumulo.sdk.hypervisor import VmState as HostVmState

log = logging.getLogger(__name__)

MB = 1024 * 1024
RESOURCE = "VirtualMachine"


@dataclass(frozen=True)
class _Reserved:
    """Step 3's outcome, as plain values for the driver phase."""

    placement: Placement
    target: HostTarget
    disks: list[DiskTarget]
    spec: VmSpec


def _host_label(session: Session, host_id: int) -> str:
    host = session.get(Host, host_id)
    return f"{host.name} ({host.uuid})" if host is not None else f"id={host_id}"


def _obsolete(vm: VirtualMachine | None, item: WorkItem) -> str | None:
    """Why the restart is no longer wanted, or ``None`` if it still is."""
    if vm is None or vm.removed is not None:
        return "the VM no longer exists"
    if vm.state != VmState.STOPPED.value or vm.update_count != item.updated:
        return f"the VM was changed by another operation meanwhile (now {vm.state})"
    if not vm.ha_enabled:
        return "HA was disabled on the VM meanwhile"
    return None


def _event(session: Session, vm: VirtualMachine, text: str, level: str = "INFO") -> None:
    events.record(
        session,
        "VM.START",
        text,
        level=level,
        resource_type=RESOURCE,
        resource_uuid=vm.uuid,
        account_id=vm.account_id,
        domain_id=vm.domain_id,
    )


def target_of(session: Session, runtime: Runtime, host_id: int | None) -> HostTarget | None:
    """The driver's view of host ``host_id`` (one statement), ``None`` when it is gone."""
    if host_id is None:
        return None
    try:
        return host_target(session, host_id, runtime.database_key, runtime.algorithm)
    except CloudError:
        return None


def force_stop(target: HostTarget | None, instance_name: str) -> bool:
    """Best effort: stop ``instance_name`` on ``target``; whether the host said so."""
    if target is None:
        return False
    try:
        target.driver.stop_vm(target.ref, instance_name, True)
    except (HypervisorError, CloudError) as exc:
        log.info("HA: could not stop %s on %s: %s", instance_name, target.name, exc)
        return False
    except Exception:  # a driver's bug must not stop the restart of the others
        log.exception("HA: the driver failed to stop %s on %s", instance_name, target.name)
        return False
    return True


def _running_on(target: HostTarget | None, instance_name: str) -> bool:
    if target is None:
        return False
    try:
        found = target.driver.vm_states(target.ref).get(instance_name)
    except Exception as exc:  # unreachable, or a driver's bug: presume not running
        log.info("HA: could not ask %s about %s: %s", target.name, instance_name, exc)
        return False
    return found == HostVmState.RUNNING


def _reserve(session: Session, runtime: Runtime, vm: VirtualMachine, item: WorkItem) -> _Reserved:
    """Step 3 in ``session``'s transaction (the caller commits)."""
    offering = session.get(ServiceOffering, vm.service_offering_id)
    if offering is None:
        raise InternalError(f"the service offering of VM {vm.uuid} is gone")
    nics = nics_of(session, [vm.id]).get(vm.id, [])
    request = replace(
        placement_request(
            vm,
            offering,
            volume_facts(session, vm.id),
            host_id=None,
            keep_pod=bool(nics) and vm.pod_id is not None,
        ),
        for_ha_restart=True,
        avoid_host_ids=frozenset({item.host_id}),
    )
    chosen = placement.place(session, request, config=runtime.config_store(session))
    states.transition(
        session,
        vm,
        VmEvent.START_REQUESTED,
        "restart",
        {
            "host_id": chosen.host_id,
            "last_host_id": chosen.host_id,
            "pod_id": chosen.pod_id,
            "cluster_id": chosen.cluster_id,
            "hypervisor_type": chosen.hypervisor_type,
            "reserved_cpu_mhz": chosen.cpu_mhz,
            "reserved_memory": chosen.memory_bytes,
            "last_error": None,
        },
    )
    assign_pools(session, vm.id, chosen.pod_id, chosen.root_pool_id, chosen.data_pool_id)
    spec = VmSpec(
        name=vm.instance_name,
        uuid=vm.uuid,
        cpus=offering.cpu,
        cpu_speed_mhz=offering.speed,
        memory_bytes=offering.ram_size * MB,
        nics=tuple(
            NicSpec(
                mac_address=nic.mac_address,
                ip_address=nic.ip4_address or "",
                netmask=nic.netmask or "",
                gateway=nic.gateway or "",
                broadcast_uri=nic.broadcast_uri or "",
                device_id=index,
                is_default=nic.is_default,
            )
            for index, nic in enumerate(nics)
        ),
        vnc_password=passwords.vnc_password(
            vm.vnc_password, runtime.database_key, runtime.algorithm
        ),
        details={"user_data": vm.user_data} if vm.user_data else {},
    )
    target = host_target(session, chosen.host_id, runtime.database_key, runtime.algorithm)
    return _Reserved(chosen, target, disk_targets(session, vm.id), spec)


def _give_back(session: Session, vm: VirtualMachine, error: str) -> None:
    """Undo step 3 for a VM ``Starting`` on the host it reserved (caller's transaction)."""
    if vm.host_id is not None and (vm.reserved_cpu_mhz or vm.reserved_memory):
        placement.release(session, vm.host_id, vm.reserved_cpu_mhz, vm.reserved_memory)
    states.transition(
        session,
        vm,
        VmEvent.OPERATION_FAILED,
        "restart",
        {
            "host_id": None,
            "reserved_cpu_mhz": 0,
            "reserved_memory": 0,
            "last_error": error[:1024],
        },
    )


def _failed(
    session: Session,
    runtime: Runtime,
    settings: HaSettings,
    item: WorkItem,
    vm: VirtualMachine,
    error: str,
) -> str:
    """Another try later, or give up after the last one: alert and event either way (the
    caller commits). :return: ``"retry"`` or ``"gave up"``."""
    now = db_now(session)
    tries = item.tried + 1
    was_on = _host_label(session, item.host_id)
    if tries >= settings.max_retries:
        work.close(session, item, runtime.msid, Step.ERROR, error)
        outcome, level = "gave up", "ERROR"
        tail = f"HA gave up after {tries} tries; the VM stays Stopped"
    else:
        work.retry_later(
            session,
            item,
            runtime.msid,
            now + settings.restart_retry,
            updated=vm.update_count,
            error=error,
        )
        outcome, level = "retry", "WARN"
        tail = f"try {tries} of {settings.max_retries}; retrying in {settings.restart_retry}"
    subject = (
        f"Unable to restart VM (name: {vm.name}, id: {vm.uuid}) which was running on host"
        f" {was_on}: {error}; {tail}"
    )
    raise_alerts(
        session,
        [
            NewAlert(
                type=AlertType.USERVM,
                data_center_id=vm.data_center_id,
                pod_id=vm.pod_id,
                cluster_id=vm.cluster_id,
                subject=subject,
            )
        ],
        now=now,
    )
    _event(session, vm, f"HA: {subject}", level)
    return outcome


def _resume(
    session: Session, runtime: Runtime, item: WorkItem, vm: VirtualMachine
) -> WorkItem | str:
    """Settle an item a dead server left ``Restarting``; the item to go on with, or the
    outcome when nothing more is to be done. Commits."""
    if vm.removed is None and vm.state == VmState.RUNNING.value and vm.host_id != item.host_id:
        work.close(session, item, runtime.msid, Step.DONE)  # it finished; only the close was lost
        session.commit()
        return "restarted"
    if vm.state != VmState.STARTING.value or vm.update_count != item.updated:
        work.close(session, item, runtime.msid, Step.CANCELLED, "changed meanwhile")
        session.commit()
        return "cancelled"
    target = target_of(session, runtime, vm.host_id)
    session.commit()
    if _running_on(target, vm.instance_name):
        if not work.advance(session, item, runtime.msid, db_now(session)):
            session.rollback()
            return "lost"
        states.transition(session, vm, VmEvent.AGENT_REPORT_RUNNING, "restart")
        _event(
            session,
            vm,
            f"HA: restarted VM {vm.display_name or vm.name} ({vm.uuid}) on host"
            f" {target.name if target else '?'} (a restart resumed after its management"
            " server stopped)",
        )
        work.close(session, item, runtime.msid, Step.DONE)
        session.commit()
        return "restarted"
    if not work.advance(session, item, runtime.msid, db_now(session)):
        session.rollback()
        return "lost"
    _give_back(session, vm, "the management server restarting it stopped")
    work.advance(
        session, item, runtime.msid, db_now(session), step=Step.SCHEDULED.value,
        updated=vm.update_count,
    )  # fmt: skip
    session.commit()
    return replace(item, step=Step.SCHEDULED.value, updated=vm.update_count)


def restart(runtime: Runtime, item: WorkItem, settings: HaSettings) -> str:
    """Run one ``HA`` item held by this server (steps 1-5 of the module doc).

    :return: ``"restarted"``, ``"retry"``, ``"gave up"``, ``"cancelled"``, or ``"lost"``
        (the item was taken over by another server meanwhile; nothing was written).
    """
    msid = runtime.msid
    with runtime.sessions() as session:
        vm = session.get(VirtualMachine, item.instance_id)
        if vm is not None and item.step == Step.RESTARTING.value:
            resumed = _resume(session, runtime, item, vm)
            if isinstance(resumed, str):
                return resumed
            item = resumed
        reason = _obsolete(vm, item)
        if reason is not None or vm is None:
            work.close(session, item, msid, Step.CANCELLED, reason)
            session.commit()
            return "cancelled"
        failed_host = target_of(session, runtime, item.host_id)
        session.commit()
        # Step 2, outside any transaction.
        fenced = force_stop(failed_host, vm.instance_name)
        # Step 3.
        now = db_now(session)
        if not work.advance(session, item, msid, now):
            session.rollback()
            return "lost"
        session.refresh(vm)
        reason = _obsolete(vm, item)
        if reason is not None:
            work.close(session, item, msid, Step.CANCELLED, reason)
            session.commit()
            return "cancelled"
        try:
            reserved = _reserve(session, runtime, vm, item)
        except CloudError as error:
            session.rollback()
            if not work.advance(session, item, msid, db_now(session)):
                session.rollback()
                return "lost"
            outcome = _failed(session, runtime, settings, item, vm, error.errortext)
            session.commit()
            return outcome
        work.advance(session, item, msid, now, step=Step.RESTARTING.value, updated=vm.update_count)
        session.commit()
        # Step 4.
        hypervisor = reserved.target.hypervisor_type
        try:
            disks = create_on_storage(hypervisor, reserved.disks, None)
            spec = replace(reserved.spec, volumes=tuple(d.spec() for d in disks))
            target = reserved.target
            drive(
                f"Unable to start VM {vm.uuid} on host {target.name}",
                lambda: target.driver.start_vm(target.ref, spec),
            )
        except Exception as error:  # a driver's bug too: the claim must not leak
            text = error.errortext if isinstance(error, CloudError) else str(error)
            if not work.advance(session, item, msid, db_now(session)):
                session.rollback()
                return "lost"
            _give_back(session, vm, text)
            outcome = _failed(session, runtime, settings, item, vm, text)
            session.commit()
            return outcome
        # Step 5.
        if not work.advance(session, item, msid, db_now(session)):
            session.rollback()
            return "lost"
        mark_ready(session, [d for d in disks if d not in reserved.disks])
        states.transition(session, vm, VmEvent.OPERATION_SUCCEEDED, "restart")
        note = "" if fenced else "; the failed host did not answer the stop of its copy"
        _event(
            session,
            vm,
            f"HA: restarted VM {vm.display_name or vm.name} ({vm.uuid}) on host"
            f" {reserved.target.name} after its host {_host_label(session, item.host_id)}"
            f" went Down{note}",
        )
        work.close(session, item, msid, Step.DONE)
        session.commit()
        return "restarted"
