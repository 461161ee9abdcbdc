"""Starting, stopping, rebooting and destroying a virtual router system VM.

As for a guest VM (:mod:`cumulo.compute.starting`), a driver call never runs inside a
transaction: each operation commits the state change that announces it (``Stopped →
Starting`` with the host's capacity claimed through the placement service, the system
VM flag set so ``system.vm.*`` settings apply), calls the hypervisor driver of the host,
then records the outcome and commits again. A start that fails gives the capacity back
and leaves the router ``Stopped`` (an event says why); it is retried by the next
``ensure_router`` or ``startRouter``.

A router's access URI (where its configuration is pushed) is what the host's driver
answers for it once it runs (:meth:`cumulo.sdk.HypervisorDriver.system_vm_access_uri`).

Destroying a router removes it for good at once, as 4.1's ``destroyRouter`` does: the
hypervisor forgets it, its ROOT volume is deleted from storage and expunged, its NICs
and addresses are released and ``live_network_id`` is cleared, so the network may get
a new router.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from cumulo import events
from cumulo.compute import states
from cumulo.compute.disks import (
    DiskTarget,
    assign_pools,
    create_on_storage,
    delete_from_storage,
    disk_targets,
    mark_ready,
    start_targets,
)
from cumulo.compute.hypervisors import HostTarget, drive, host_target
from cumulo.compute.models import Nic, VirtualMachine, VmState
from cumulo.compute.nics import release_nics
from cumulo.compute.passwords import vnc_password
from cumulo.compute.starting import placement_request, volume_facts
from cumulo.compute.states import VmEvent
from cumulo.db.base import utcnow
from cumulo.infra.hosts.models import Host
from cumulo.network.routers.models import DomainRouter
from cumulo.offerings.models import ServiceOffering
from cumulo.placement import service as placement
from cumulo.runtime import Runtime
from cumulo.sdk.errors import CloudError, InternalError
from cumulo.sdk.hypervisor import HypervisorError, NicSpec, VmSpec
from cumulo.sdk.network import RouterRef
from cumulo.sdk.storage import StoredObject
from cumulo.templates.models import TemplateZoneRef, VMTemplate
from cumulo.volumes.models import Volume, VolumeState

log = logging.getLogger(__name__)
MB = 1024 * 1024
RESOURCE = "DomainRouter"


def _event(session: Session, vm: VirtualMachine, kind: str, text: str, level: str = "INFO") -> None:
    events.record(
        session,
        kind,
        text,
        level=level,
        resource_type=RESOURCE,
        resource_uuid=vm.uuid,
        account_id=vm.account_id,
        domain_id=vm.domain_id,
    )


def router_ref(router: DomainRouter, vm: VirtualMachine) -> RouterRef:
    """The router as providers see it."""
    return RouterRef(
        uuid=vm.uuid,
        instance_name=vm.instance_name,
        guest_ip=router.guest_ip_address or "",
        public_ip=router.public_ip_address or "",
        control_ip=router.control_ip_address or "",
        access_uri=router.access_uri or "",
    )


def live_router(session: Session, network_id: int) -> tuple[DomainRouter, VirtualMachine] | None:
    """The network's router that is not destroyed, with its VM (one statement)."""
    row = session.execute(
        select(DomainRouter, VirtualMachine)
        .join(VirtualMachine, VirtualMachine.id == DomainRouter.id)
        .where(DomainRouter.live_network_id == network_id, VirtualMachine.removed.is_(None))
    ).first()
    return None if row is None else (row[0], row[1])


@dataclass(frozen=True)
class _Start:
    """What the driver phase of a start needs, detached from the session."""

    host_id: int
    cpu_mhz: int
    memory_bytes: int
    target: HostTarget
    disks: list[DiskTarget]
    spec: VmSpec
    template: StoredObject | None
    control_ip: str


def _nic_specs(session: Session, vm_id: int) -> tuple[NicSpec, ...]:
    rows = session.execute(
        select(Nic).where(Nic.instance_id == vm_id, Nic.removed.is_(None)).order_by(Nic.device_id)
    ).scalars()
    return tuple(
        NicSpec(
            mac_address=nic.mac_address,
            ip_address=nic.ip4_address or "",
            netmask=nic.netmask or "",
            gateway=nic.gateway or "",
            broadcast_uri=nic.broadcast_uri or "",
            device_id=nic.device_id,
            is_default=nic.is_default,
        )
        for nic in rows
    )


def _boot_args(vm: VirtualMachine, router: DomainRouter, nics: tuple[NicSpec, ...]) -> str:
    """4.1's system VM boot arguments (``type=router``, ``ethNip``/``ethNmask`` per NIC,
    the default gateway), for drivers that pass them to the VM's kernel."""
    parts = [f"name={vm.instance_name}", "type=router"]
    for nic in nics:
        parts += [f"eth{nic.device_id}ip={nic.ip_address}", f"eth{nic.device_id}mask={nic.netmask}"]
        if nic.is_default and nic.gateway:
            parts.append(f"gateway={nic.gateway}")
    parts.append(f"controlip={router.control_ip_address or ''}")
    return " ".join(parts)


def _template(session: Session, vm: VirtualMachine) -> StoredObject | None:
    """Where the router's template is in its zone, for its ROOT volume (one statement)."""
    row = session.execute(
        select(TemplateZoneRef.install_path, TemplateZoneRef.size, VMTemplate.size, Host.url)
        .join(VMTemplate, VMTemplate.id == TemplateZoneRef.template_id)
        .outerjoin(Host, Host.id == TemplateZoneRef.store_id)
        .where(
            TemplateZoneRef.template_id == vm.template_id,
            TemplateZoneRef.zone_id == vm.data_center_id,
        )
        .limit(1)
    ).first()
    if row is None:
        return None
    path, zone_size, template_size, store_url = row
    size = int(zone_size or template_size or 0)
    return StoredObject(f"{(store_url or '').rstrip('/')}/{path or ''}", size, size)


def _reserve(
    session: Session, runtime: Runtime, router: DomainRouter, vm: VirtualMachine
) -> _Start:
    """The start's first phase, in the caller's transaction (committed by the caller)."""
    offering = session.get(ServiceOffering, vm.service_offering_id)
    if offering is None:  # pragma: no cover - offerings are soft-deleted, never removed
        raise InternalError(f"router {vm.uuid} has no service offering")
    states.check(vm, VmEvent.START_REQUESTED, "start")
    volumes = volume_facts(session, vm.id)
    request = replace(
        placement_request(vm, offering, volumes, host_id=None, keep_pod=False), system_vm=True
    )
    config = runtime.config_store(session)
    chosen = None
    if vm.last_host_id is not None:
        try:
            chosen = placement.place(
                session, replace(request, host_id=vm.last_host_id), config=config
            )
        except CloudError:
            chosen = None
    if chosen is None:
        chosen = placement.place(session, request, config=config)
    states.transition(
        session,
        vm,
        VmEvent.START_REQUESTED,
        "start",
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
    target, disks = start_targets(
        session, chosen.host_id, vm.id, runtime.database_key, runtime.algorithm
    )
    nics = _nic_specs(session, vm.id)
    spec = VmSpec(
        name=vm.instance_name,
        uuid=vm.uuid,
        cpus=offering.cpu,
        cpu_speed_mhz=offering.speed,
        memory_bytes=offering.ram_size * MB,
        nics=nics,
        vnc_password=vnc_password(vm.vnc_password, runtime.database_key, runtime.algorithm),
        details={"system_vm_type": "domainrouter", "boot_args": _boot_args(vm, router, nics)},
    )
    return _Start(
        chosen.host_id,
        chosen.cpu_mhz,
        chosen.memory_bytes,
        target,
        disks,
        spec,
        _template(session, vm),
        router.control_ip_address or "",
    )


def start_router(
    session: Session, runtime: Runtime, router: DomainRouter, vm: VirtualMachine
) -> None:
    """Place and start a stopped router (module doc); commits. On return it runs and its
    ``access_uri`` is set.

    :raises InsufficientCapacity: no host can run it (533); nothing changed.
    :raises ResourceUnavailable: storage or the hypervisor failed (534); the router is
        ``Stopped`` again and the host's capacity given back.
    """
    prepared = _reserve(session, runtime, router, vm)
    session.commit()
    created: list[DiskTarget] = []
    target = prepared.target
    try:
        disks = create_on_storage(target.hypervisor_type, prepared.disks, prepared.template)
        created = [disk for disk in disks if disk not in prepared.disks]
        spec = replace(prepared.spec, volumes=tuple(disk.spec() for disk in disks))
        drive(f"Unable to start router {vm.uuid}", lambda: target.driver.start_vm(target.ref, spec))
        access = target.driver.system_vm_access_uri(
            target.ref, vm.instance_name, prepared.control_ip
        )
    except Exception as error:
        _undo_start(session, vm, prepared, created, error)
        raise
    mark_ready(session, created)
    states.transition(session, vm, VmEvent.OPERATION_SUCCEEDED, "start")
    session.execute(
        update(DomainRouter)
        .where(DomainRouter.id == router.id)
        .values(access_uri=access)
        .execution_options(synchronize_session=False)
    )
    set_committed_value(router, "access_uri", access)
    _event(session, vm, "ROUTER.START", f"Started router {vm.instance_name} on {target.name}")
    session.commit()


def _undo_start(
    session: Session,
    vm: VirtualMachine,
    prepared: _Start,
    created: list[DiskTarget],
    error: Exception,
) -> None:
    session.rollback()
    mark_ready(session, created)
    placement.release(session, prepared.host_id, prepared.cpu_mhz, prepared.memory_bytes)
    changes = {"host_id": None, "reserved_cpu_mhz": 0, "reserved_memory": 0}
    try:
        states.transition(
            session,
            vm,
            VmEvent.OPERATION_FAILED,
            "start",
            {**changes, "last_error": str(error)[:1024]},
        )
    except CloudError:  # changed meanwhile (a forced stop): its capacity is ours anyway
        log.warning("router %s changed while its failed start was undone", vm.uuid)
    _event(session, vm, "ROUTER.START", f"Unable to start router {vm.uuid}: {error}", "ERROR")
    session.commit()


def _release_host(session: Session, vm: VirtualMachine) -> dict[str, object]:
    if vm.host_id is not None and (vm.reserved_cpu_mhz or vm.reserved_memory):
        placement.release(session, vm.host_id, vm.reserved_cpu_mhz, vm.reserved_memory)
    return {"host_id": None, "reserved_cpu_mhz": 0, "reserved_memory": 0}


def stop_router(
    session: Session, runtime: Runtime, vm: VirtualMachine, *, forced: bool = False
) -> None:
    """Stop a running router (``stopRouter``); a stopped one stays as it is. Commits
    around the driver call; the final state change is left to the caller's commit.

    :param forced: mark it ``Stopped`` even if the hypervisor fails to stop it.
    :raises InvalidParameterValue: it is starting or migrating (431).
    :raises ResourceUnavailable: the hypervisor failed and ``forced`` is false (534);
        the router runs again.
    """
    if vm.state == VmState.STOPPED.value:
        return
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
                f"Unable to stop router {vm.uuid}",
                lambda: target.driver.stop_vm(target.ref, vm.instance_name, forced),
            )
        except CloudError as error:
            if not forced:
                session.rollback()
                states.transition(session, vm, VmEvent.OPERATION_FAILED, "stop")
                _event(session, vm, "ROUTER.STOP", f"Unable to stop {vm.uuid}: {error}", "ERROR")
                session.commit()
                raise
    states.transition(session, vm, VmEvent.OPERATION_SUCCEEDED, "stop", _release_host(session, vm))
    _event(session, vm, "ROUTER.STOP", f"Stopped router {vm.instance_name}")


def reboot_router(session: Session, runtime: Runtime, vm: VirtualMachine) -> None:
    """Reboot a running router (``rebootRouter``).

    :raises InvalidParameterValue: it is not running (431).
    :raises ResourceUnavailable: the hypervisor failed (534).
    """
    states.check(vm, VmEvent.REBOOT_REQUESTED, "reboot")
    assert vm.host_id is not None  # a running VM has a host
    target = host_target(session, vm.host_id, runtime.database_key, runtime.algorithm)
    session.commit()
    drive(
        f"Unable to reboot router {vm.uuid}",
        lambda: target.driver.reboot_vm(target.ref, vm.instance_name),
    )
    _event(session, vm, "ROUTER.REBOOT", f"Rebooted router {vm.instance_name}")


def destroy_router(
    session: Session, runtime: Runtime, router: DomainRouter, vm: VirtualMachine
) -> None:
    """Stop (forcibly) and expunge the router (module doc); idempotent for a router
    already gone. Commits; the final record is left to the caller's commit.

    :raises InvalidParameterValue: it is starting or migrating (431).
    """
    if vm.removed is not None:
        return
    if vm.state in (VmState.RUNNING.value, VmState.STOPPING.value):
        stop_router(session, runtime, vm, forced=True)
    if vm.state != VmState.EXPUNGING.value:  # a destroy cut short is finished, not refused
        if vm.state != VmState.DESTROYED.value:
            states.transition(
                session, vm, VmEvent.DESTROY_REQUESTED, "destroy", _release_host(session, vm)
            )
        states.transition(session, vm, VmEvent.EXPUNGE_OPERATION, "destroy")
    target = None
    if vm.last_host_id is not None:
        try:
            target = host_target(session, vm.last_host_id, runtime.database_key, runtime.algorithm)
        except CloudError:  # the host was deleted: nothing to tell it
            target = None
    doomed = disk_targets(session, vm.id)
    session.commit()
    if target is not None:
        try:
            target.driver.destroy_vm(target.ref, vm.instance_name)
        except HypervisorError as exc:  # the host may be gone for good, the router with it
            log.warning("router %s: the hypervisor did not destroy it: %s", vm.uuid, exc)
    for failure in delete_from_storage(vm.hypervisor_type or "", doomed):
        log.warning("router %s: %s", vm.uuid, failure)
    _forget(session, router, vm, doomed)


def _forget(
    session: Session, router: DomainRouter, vm: VirtualMachine, doomed: list[DiskTarget]
) -> None:
    now = utcnow()
    for disk in doomed:
        placement.release_pool(session, disk.pool_id, disk.size)
    session.execute(
        update(Volume)
        .where(Volume.instance_id == vm.id, Volume.removed.is_(None))
        .values(state=VolumeState.EXPUNGED.value, removed=now)
        .execution_options(synchronize_session=False)
    )
    release_nics(session, [vm.id])
    session.execute(
        update(DomainRouter)
        .where(DomainRouter.id == router.id)
        .values(live_network_id=None, control_key=None, access_uri=None)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(VirtualMachine)
        .where(VirtualMachine.id == vm.id)
        .values(removed=now, host_id=None)
        .execution_options(synchronize_session=False)
    )
    for name in ("live_network_id", "control_key", "access_uri"):
        set_committed_value(router, name, None)
    set_committed_value(vm, "removed", now)
    set_committed_value(vm, "host_id", None)
    _event(session, vm, "ROUTER.DESTROY", f"Destroyed router {vm.instance_name}")
