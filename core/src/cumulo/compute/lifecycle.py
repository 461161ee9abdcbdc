"""Stopping, rebooting, destroying and recovering a VM.

Like a start (:mod:`cumulo.compute.starting`), every operation that calls a driver
commits the state change that announces it (``Running → Stopping``) before the call,
and records the outcome after it; no transaction is open while the hypervisor works.

Resource counts follow 4.1: destroying a VM gives back its ``user_vm`` count and its
ROOT volume's ``volume`` count (the volume goes to ``Destroy``; data disks stay the
account's and are detached when the VM is expunged); recovering takes them again.
A VM whose deploy failed (``Error``) gave its counts back already.
"""

from __future__ import annotations

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from cumulo import events
from cumulo.compute import states
from cumulo.compute.hypervisors import drive, host_target
from cumulo.compute.models import VirtualMachine, VmState
from cumulo.compute.owners import runtime_of
from cumulo.compute.states import VmEvent
from cumulo.db.base import utcnow
from cumulo.limits.service import release as release_limit
from cumulo.limits.service import reserve
from cumulo.limits.types import ResourceType
from cumulo.placement import service as placement
from cumulo.sdk.api import Call
from cumulo.sdk.errors import CloudError
from cumulo.volumes.models import Volume, VolumeState, VolumeType

RESOURCE = "VirtualMachine"


def _event(call: Call, vm: VirtualMachine, type: str, text: str, level: str = "INFO") -> None:
    events.record(
        call,
        type,
        text,
        level=level,
        resource_type=RESOURCE,
        resource_uuid=vm.uuid,
        account_id=vm.account_id,
        domain_id=vm.domain_id,
    )


def release_host(session: Session, vm: VirtualMachine) -> dict[str, object]:
    """Give the VM's host back what it reserved; the columns that say so."""
    if vm.host_id is not None and (vm.reserved_cpu_mhz or vm.reserved_memory):
        placement.release(session, vm.host_id, vm.reserved_cpu_mhz, vm.reserved_memory)
    return {"host_id": None, "reserved_cpu_mhz": 0, "reserved_memory": 0}


def stop(call: Call, vm: VirtualMachine, *, forced: bool = False) -> None:
    """Stop a running VM (``stopVirtualMachine``); a stopped VM stays as it is.

    :param forced: mark it ``Stopped`` even if the hypervisor fails to stop it (4.1:
        "the caller knows the VM is stopped").
    :raises InvalidParameterValue: not running (431, naming its state).
    :raises ResourceUnavailable: the hypervisor failed and ``forced`` is false (534);
        the VM is ``Running`` again.
    """
    session = call.session
    if vm.state == VmState.STOPPED.value:
        return
    runtime = runtime_of(call)
    target = (
        host_target(session, vm.host_id, runtime.database_key, runtime.algorithm)
        if vm.host_id is not None
        else None
    )
    states.transition(session, vm, VmEvent.STOP_REQUESTED, "stop")
    session.commit()
    if target is not None:
        try:
            drive(
                f"Unable to stop VM {vm.uuid}",
                lambda: target.driver.stop_vm(target.ref, vm.instance_name, forced),
            )
        except CloudError as error:
            if not forced:
                session.rollback()
                states.transition(session, vm, VmEvent.OPERATION_FAILED, "stop")
                _event(call, vm, "VM.STOP", f"Unable to stop VM {vm.uuid}: {error}", "ERROR")
                session.commit()
                raise
    changes = release_host(session, vm)
    states.transition(session, vm, VmEvent.OPERATION_SUCCEEDED, "stop", changes)
    _event(call, vm, "VM.STOP", f"Stopped VM {vm.display_name or vm.name} ({vm.uuid})")


def reboot(call: Call, vm: VirtualMachine) -> None:
    """Reboot a running VM (``rebootVirtualMachine``).

    :raises InvalidParameterValue: not running (431, naming its state).
    :raises ResourceUnavailable: the hypervisor failed (534).
    """
    session = call.session
    states.check(vm, VmEvent.REBOOT_REQUESTED, "reboot")
    runtime = runtime_of(call)
    assert vm.host_id is not None  # a running VM has a host
    target = host_target(session, vm.host_id, runtime.database_key, runtime.algorithm)
    session.commit()
    drive(
        f"Unable to reboot VM {vm.uuid}",
        lambda: target.driver.reboot_vm(target.ref, vm.instance_name),
    )
    _event(call, vm, "VM.REBOOT", f"Rebooted VM {vm.display_name or vm.name} ({vm.uuid})")


def destroy(call: Call, vm: VirtualMachine) -> None:
    """Destroy a VM (``destroyVirtualMachine``): stop it if it runs, then
    ``Destroyed``; the expunge task removes it after ``expunge.delay`` seconds.

    :raises InvalidParameterValue: it is starting, stopping or migrating (431).
    :raises ResourceUnavailable: it runs and the hypervisor failed to stop it (534).
    """
    session = call.session
    if vm.state == VmState.DESTROYED.value:
        return
    if vm.state == VmState.RUNNING.value:
        stop(call, vm)
    else:
        states.check(vm, VmEvent.DESTROY_REQUESTED, "destroy")
    was_error = vm.state == VmState.ERROR.value
    states.transition(session, vm, VmEvent.DESTROY_REQUESTED, "destroy", release_host(session, vm))
    if not was_error:
        root = session.execute(
            update(Volume)
            .where(
                Volume.instance_id == vm.id,
                Volume.volume_type == VolumeType.ROOT.value,
                Volume.removed.is_(None),
            )
            .values(state=VolumeState.DESTROY.value, update_time=utcnow())
            .execution_options(synchronize_session=False)
        )
        release_limit(session, vm.account_id, ResourceType.USER_VM, 1)
        release_limit(session, vm.account_id, ResourceType.VOLUME, root.rowcount)  # type: ignore[attr-defined]
    _event(call, vm, "VM.DESTROY", f"Destroyed VM {vm.display_name or vm.name} ({vm.uuid})")


def recover(call: Call, vm: VirtualMachine) -> None:
    """Bring a destroyed VM back, ``Stopped`` (``recoverVirtualMachine``), taking its
    ``user_vm`` count and its destroyed volumes' ``volume`` counts again.

    :raises InvalidParameterValue: it is not destroyed (431).
    :raises AccountLimitExceeded: the owner is at a limit (532); nothing changes.
    """
    session = call.session
    states.check(vm, VmEvent.RECOVERY_REQUESTED, "recover")
    destroyed = int(
        session.scalar(
            select(func.count()).where(
                Volume.instance_id == vm.id,
                Volume.removed.is_(None),
                Volume.state == VolumeState.DESTROY.value,
            )
        )
        or 0
    )
    reserve(session, vm.account_id, ResourceType.USER_VM, 1)
    reserve(session, vm.account_id, ResourceType.VOLUME, destroyed)
    _restore_volume_states(session, vm.id)
    states.transition(session, vm, VmEvent.RECOVERY_REQUESTED, "recover")
    _event(call, vm, "VM.CREATE", f"Recovered VM {vm.display_name or vm.name} ({vm.uuid})")


def _restore_volume_states(session: Session, vm_id: int) -> None:
    """Destroyed volumes back to ``Ready`` (created) or ``Allocated`` (never created)."""
    session.execute(
        update(Volume)
        .where(
            Volume.instance_id == vm_id,
            Volume.removed.is_(None),
            Volume.state == VolumeState.DESTROY.value,
        )
        .values(
            state=case(
                (Volume.path.is_(None), VolumeState.ALLOCATED.value),
                else_=VolumeState.READY.value,
            ),
            update_time=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )
