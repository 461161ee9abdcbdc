"""``attachIso`` and ``detachIso``: an ISO in a VM's CD-ROM drive (``vm_instance.iso_id``).

4.1's rules: the VM is ``Running`` or ``Stopped``; the ISO is one the caller may use,
downloaded in the VM's zone (:func:`cumulo.templates.lookup.template_for_deploy`, the
same 431 naming ``id`` for a missing, foreign or not-ready ISO); a VM holds one ISO at a
time (detach the one it has first); detaching from a VM without an ISO is refused.

A running VM's hypervisor inserts or ejects the ISO
(:meth:`~cumulo.sdk.hypervisor.HypervisorDriver.attach_iso`/``detach_iso``) with no
transaction open; a stopped VM only records it, and its next start presents it
(:func:`cumulo.templates.lookup.iso_spec_for` gives the start the
:class:`~cumulo.sdk.hypervisor.IsoSpec`).
The column changes by conditional ``UPDATE`` (``iso_id IS NULL`` to attach, the same
ISO to detach), so two concurrent attaches cannot both win.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from cumulo.compute.handlers import vm_answer
from cumulo.compute.hypervisors import drive, host_target
from cumulo.compute.lookup import find_vm
from cumulo.compute.models import VirtualMachine, VmState
from cumulo.compute.owners import runtime_of
from cumulo.events import record
from cumulo.sdk.api import Call, ObjectResult
from cumulo.sdk.errors import InvalidParameterValue
from cumulo.sdk.hypervisor import IsoSpec
from cumulo.templates.lookup import DeployableTemplate, template_for_deploy
from cumulo.templates.models import VMTemplate

ATTACHABLE = (VmState.RUNNING.value, VmState.STOPPED.value)


def _spec(iso: DeployableTemplate) -> IsoSpec:
    return IsoSpec(uuid=iso.uuid, url=iso.install_url, size_bytes=iso.size, bootable=iso.bootable)


def _set_iso(session: Session, vm_id: int, expected: int | None, iso_id: int | None) -> bool:
    """``vm_instance.iso_id`` from ``expected`` to ``iso_id`` while the VM is Running or
    Stopped; ``False`` when the row changed meanwhile."""
    current = (
        VirtualMachine.iso_id.is_(None) if expected is None else VirtualMachine.iso_id == expected
    )
    changed = session.execute(
        update(VirtualMachine)
        .where(VirtualMachine.id == vm_id, current, VirtualMachine.state.in_(ATTACHABLE))
        .values(iso_id=iso_id)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    return int(changed) == 1


def attach_iso(call: Call) -> ObjectResult:
    """``attachIso`` (async; module doc)."""
    session, ctx = call.session, call.ctx
    runtime = runtime_of(call)
    vm = find_vm(session, ctx, call.params["virtualmachineid"], "virtualmachineid")
    iso = template_for_deploy(session, ctx, call.params["id"], vm.data_center_id, param="id")
    if not iso.is_iso:
        raise InvalidParameterValue(f"id: {iso.uuid} is a template, not an ISO")
    if vm.state not in ATTACHABLE:
        raise InvalidParameterValue(
            f"virtualmachineid: VM {vm.uuid} is {vm.state}; an ISO is attached to a VM"
            " that is Running or Stopped"
        )
    if vm.iso_id is not None:
        raise InvalidParameterValue(
            f"virtualmachineid: VM {vm.uuid} already has an ISO attached; detach it first"
        )
    if not _set_iso(session, vm.id, None, iso.id):
        raise InvalidParameterValue(
            f"virtualmachineid: VM {vm.uuid} changed meanwhile (an ISO was attached, or its"
            " state changed); try again"
        )
    running_on = vm.host_id if vm.state == VmState.RUNNING.value else None
    target = (
        host_target(session, running_on, runtime.database_key, runtime.algorithm)
        if running_on is not None
        else None
    )
    vm_id, uuid, name = vm.id, vm.uuid, vm.instance_name
    session.commit()  # the drive call runs with no transaction open
    if target is not None:
        try:
            drive(
                f"Unable to attach ISO {iso.uuid} to VM {uuid}",
                lambda: target.driver.attach_iso(target.ref, name, _spec(iso)),
            )
        except Exception:
            _set_iso(session, vm_id, iso.id, None)
            session.commit()
            raise
    vm = session.get_one(VirtualMachine, vm_id)
    session.refresh(vm)
    record(
        call,
        "ISO.ATTACH",
        f"Attached ISO {iso.name} to VM {vm.display_name or vm.name} ({uuid})",
        resource_type="VirtualMachine",
        resource_uuid=uuid,
        account_id=vm.account_id,
        domain_id=vm.domain_id,
    )
    return vm_answer(call, vm)


def detach_iso(call: Call) -> ObjectResult:
    """``detachIso`` (async; module doc)."""
    session, ctx = call.session, call.ctx
    runtime = runtime_of(call)
    vm = find_vm(session, ctx, call.params["virtualmachineid"], "virtualmachineid")
    if vm.iso_id is None:
        raise InvalidParameterValue(f"virtualmachineid: VM {vm.uuid} has no ISO attached")
    if vm.state not in ATTACHABLE:
        raise InvalidParameterValue(
            f"virtualmachineid: VM {vm.uuid} is {vm.state}; an ISO is detached from a VM"
            " that is Running or Stopped"
        )
    iso_id, vm_id, uuid, name = vm.iso_id, vm.id, vm.uuid, vm.instance_name
    iso_name = session.scalar(select(VMTemplate.name).where(VMTemplate.id == iso_id))
    if vm.state == VmState.RUNNING.value and vm.host_id is not None:
        target = host_target(session, vm.host_id, runtime.database_key, runtime.algorithm)
        session.commit()
        drive(
            f"Unable to detach the ISO from VM {uuid}",
            lambda: target.driver.detach_iso(target.ref, name),
        )
    if not _set_iso(session, vm_id, iso_id, None):
        raise InvalidParameterValue(
            f"virtualmachineid: VM {uuid} changed meanwhile (its ISO or state); try again"
        )
    vm = session.get_one(VirtualMachine, vm_id)
    session.refresh(vm)
    record(
        call,
        "ISO.DETACH",
        f"Detached ISO {iso_name} from VM {vm.display_name or vm.name} ({uuid})",
        resource_type="VirtualMachine",
        resource_uuid=uuid,
        account_id=vm.account_id,
        domain_id=vm.domain_id,
    )
    return vm_answer(call, vm)
