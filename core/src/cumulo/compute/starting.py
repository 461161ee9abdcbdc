"""Starting a VM: placement, reservation, the drivers, and ``Running`` — in three
short transactions around the driver calls, never one held open across them.

1. **Reserve** (the caller's open transaction, committed here): placement claims a
   host's CPU and memory and the pools' space (:func:`cumulo.placement.service.place`,
   conditional updates); the VM moves ``Stopped → Starting`` with its host; new
   volumes get their pools; a VM without a NIC gets one with an address of the
   placed pod's guest range. Everything the drivers need is read into plain values.
2. **Drive** (no transaction: on SQLite an open one holds the write lock, and a driver
   call may take minutes): the storage driver creates the volumes that do not exist
   yet, the hypervisor driver starts the VM.
3. **Record**: volumes ``Ready`` with their paths, ``Starting → Running``, ``VM.START``
   — left open for the caller (the job's completion commits it with the result).

A failure in step 2 is undone in a transaction of its own before the error is raised:
the host's capacity is given back; a VM that was being deployed goes to ``Error``
(its address, VM and volume counts are released; the expunge task removes it later),
a VM that was restarted goes back to ``Stopped``; an event records why.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from cumulo import events
from cumulo.compute import passwords, states
from cumulo.compute.deployment import Deployment, DeployVolume
from cumulo.compute.disks import (
    DiskTarget,
    assign_pools,
    create_on_storage,
    mark_ready,
    pool_ref_for_start,
    pool_url_of,
    start_targets,
)
from cumulo.compute.hypervisors import HostTarget, drive
from cumulo.compute.listing import NicRow, nics_of
from cumulo.compute.models import VirtualMachine
from cumulo.compute.nics import release_nics
from cumulo.compute.owners import runtime_of
from cumulo.compute.states import VmEvent
from cumulo.db.base import utcnow
from cumulo.infra.hosts.connection import reveal
from cumulo.infra.storage.models import StoragePool
from cumulo.limits.service import release as release_limit
from cumulo.limits.types import ResourceType
from cumulo.network.nics import prepare_for_start, provide_for_start
from cumulo.offerings.models import ServiceOffering
from cumulo.placement import service as placement
from cumulo.placement.request import Placement, PlacementRequest
from cumulo.runtime import Runtime
from cumulo.sdk.api import Call
from cumulo.sdk.errors import CloudError, InsufficientCapacity
from cumulo.sdk.hypervisor import HostConnection, HostRef, IsoSpec, VmSpec
from cumulo.sdk.storage import StoredObject
from cumulo.templates.lookup import DeployableTemplate, iso_spec_for
from cumulo.volumes.models import Volume, VolumeState, VolumeType

log = logging.getLogger(__name__)
MB = 1024 * 1024
RESOURCE = "VirtualMachine"


@dataclass(frozen=True)
class StartOutcome:
    """What a start did: the guest password it set (shown once), if any; for a
    deploy, the host's ``(uuid, name)`` and the NIC it made (its answer needs them)."""

    password: str | None = None
    host: tuple[str, str] | None = None
    nics: tuple[NicRow, ...] = ()


@dataclass(frozen=True)
class _Prepared:
    """The reservation, as plain values for the driver phase."""

    placement: Placement
    target: HostTarget
    disks: list[DiskTarget]
    spec: VmSpec
    template: StoredObject | None


VolumeFacts = tuple[str, int, int | None, int | None, str]
"""(type, size, pool id, the pool's cluster, the pool's scope) of a volume."""


def volume_facts(session: Session, vm_id: int) -> list[VolumeFacts]:
    """(type, size, pool id, pool's cluster, pool scope) of the VM's live volumes."""
    rows = session.execute(
        select(
            Volume.volume_type,
            Volume.size,
            Volume.pool_id,
            StoragePool.cluster_id,
            StoragePool.scope,
        )
        .outerjoin(StoragePool, StoragePool.id == Volume.pool_id)
        .where(Volume.instance_id == vm_id, Volume.removed.is_(None))
    ).all()
    return [tuple(row) for row in rows]  # type: ignore[misc]


def placement_request(
    vm: VirtualMachine,
    offering: ServiceOffering,
    volumes: list[VolumeFacts],
    *,
    host_id: int | None,
    keep_pod: bool,
    data_disk_tags: tuple[str, ...] = (),
    data_disk_local: bool = False,
) -> PlacementRequest:
    root = next((v for v in volumes if v[0] == VolumeType.ROOT.value), None)
    data = next((v for v in volumes if v[0] == VolumeType.DATADISK.value), None)
    # Volumes already on a pool tie the VM to that pool's cluster.
    placed = [v for v in volumes if v[2] is not None and v[3] is not None]
    cluster_id = placed[0][3] if placed else None
    tags = tuple(t.strip() for t in (offering.tags or "").split(",") if t.strip())
    return PlacementRequest(
        zone_id=vm.data_center_id,
        account_id=vm.account_id,
        domain_id=vm.domain_id,
        cpu=offering.cpu,
        speed=offering.speed,
        memory_mb=offering.ram_size,
        host_tag=offering.host_tag,
        storage_tags=tags,
        use_local_storage=offering.use_local_storage,
        ha_enabled=vm.ha_enabled,
        hypervisor=vm.hypervisor_type,
        planner=offering.deployment_planner,
        root_disk_bytes=root[1] if root is not None and root[2] is None else 0,
        data_disk_bytes=data[1] if data is not None and data[2] is None else 0,
        data_disk_tags=data_disk_tags,
        data_disk_local=data_disk_local,
        pod_id=vm.pod_id if keep_pod else None,
        cluster_id=cluster_id,
        host_id=host_id,
    )


def _place(
    session: Session,
    runtime: Runtime,
    request: PlacementRequest,
    last_host_id: int | None,
    *,
    access: bool = False,
) -> Placement:
    """Placement, trying the VM's last host first when the caller named none (4.1
    restarts a VM where it ran, if it still fits there)."""
    config = runtime.config_store(session)
    if request.host_id is None and last_host_id is not None:
        try:
            return placement.place(
                session, replace(request, host_id=last_host_id), config=config, access=access
            )
        except InsufficientCapacity:
            pass
    return placement.place(session, request, config=config, access=access)


def _deploy_targets(
    runtime: Runtime, chosen: Placement, volumes: tuple[DeployVolume, ...]
) -> tuple[HostTarget, list[DiskTarget]]:
    """What :func:`cumulo.compute.disks.start_targets` reads, for a deploy: made of
    what placement read with the candidates (the host's access, the claimed pools)
    and the volumes the job loaded; no statement."""
    access = chosen.host_access
    assert access is not None  # placed with access=True
    connection = HostConnection(
        url=access.url,
        username=access.username,
        password=reveal(access.password, runtime.database_key, runtime.algorithm),
        zone_id=chosen.zone_id,
        pod_id=chosen.pod_id,
        cluster_id=chosen.cluster_id,
    )
    target = HostTarget(
        chosen.host_id,
        chosen.host_name,
        chosen.hypervisor_type,
        HostRef(guid=access.guid, connection=connection, host_id=chosen.host_id),
    )
    disks = []
    for volume in sorted(volumes, key=lambda v: v.device_id):
        root = volume.volume_type == VolumeType.ROOT.value
        pool_id = chosen.root_pool_id if root else chosen.data_pool_id or chosen.root_pool_id
        if pool_id is None:
            continue
        pool = chosen.pool_access[pool_id]
        disks.append(
            DiskTarget(
                volume.id,
                volume.uuid,
                volume.volume_type,
                volume.device_id,
                volume.size,
                None,
                pool_id,
                pool_ref_for_start(pool.uuid, pool_url_of(pool), connection),
                volume.template_id,
            )
        )
    return target, disks


def prepare_start(
    call: Call,
    vm: VirtualMachine,
    offering: ServiceOffering,
    *,
    host_id: int | None = None,
    requested_ip: str | None = None,
    template: DeployableTemplate | None = None,
    deploying: bool = False,
    data_disk_tags: tuple[str, ...] = (),
    data_disk_local: bool = False,
    volumes: list[VolumeFacts] | None = None,
    deployment: Deployment | None = None,
) -> tuple[_Prepared, StartOutcome]:
    """Step 1 (module doc), in the caller's transaction, which the caller commits."""
    session = call.session
    runtime = runtime_of(call)
    states.check(vm, VmEvent.START_REQUESTED, "start")
    if volumes is None:
        volumes = volume_facts(session, vm.id)
    # A deploy's first start knows it has no NIC yet.
    existing_nics = [] if deploying else nics_of(session, [vm.id]).get(vm.id, [])
    request = placement_request(
        vm,
        offering,
        volumes,
        host_id=host_id,
        keep_pod=bool(existing_nics) and vm.pod_id is not None,
        data_disk_tags=data_disk_tags,
        data_disk_local=data_disk_local,
    )
    chosen = _place(
        session,
        runtime,
        request,
        None if deploying else vm.last_host_id,
        access=deployment is not None,
    )
    outcome = StartOutcome()
    changes: dict[str, object] = {
        "host_id": chosen.host_id,
        "last_host_id": chosen.host_id,
        "pod_id": chosen.pod_id,
        "cluster_id": chosen.cluster_id,
        "hypervisor_type": chosen.hypervisor_type,
        "reserved_cpu_mhz": chosen.cpu_mhz,
        "reserved_memory": chosen.memory_bytes,
        "last_error": None,
    }
    if deploying and template is not None and template.password_enabled:
        password = passwords.new_guest_password()
        outcome = StartOutcome(password=password)
        if vm.ssh_public_key:
            changes["password"] = passwords.encrypt_for_key(vm.ssh_public_key, password)
    states.transition(session, vm, VmEvent.START_REQUESTED, "start", changes)
    assign_pools(session, vm.id, chosen.pod_id, chosen.root_pool_id, chosen.data_pool_id)
    # The NICs: a basic zone's first start takes an address of the placed pod's guest
    # range; an advanced zone's VM gets its networks' VLANs and source-NAT addresses
    # (cumulo.network.nics: the one call for NICs). No network provider is called here.
    start_nics = prepare_for_start(
        session,
        vm.id,
        vm=vm,
        pod_id=chosen.pod_id,
        fresh=deploying,
        requested_ip=requested_ip,
    )
    nic_specs = tuple(start_nics)
    nic_rows: tuple[NicRow, ...] = ()
    if deploying:
        nic_rows = tuple(
            NicRow(
                nic.uuid,
                nic.network_id,
                nic.ip4_address,
                nic.netmask,
                nic.gateway,
                nic.isolation_uri,
                nic.broadcast_uri,
                nic.traffic_type,
                nic.is_default,
                nic.mac_address,
            )
            for nic in start_nics.rows
        )
    if deployment is not None:
        target, disks = _deploy_targets(runtime, chosen, deployment.volumes)
        outcome = replace(outcome, host=(chosen.host_uuid, chosen.host_name), nics=nic_rows)
    else:
        target, disks = start_targets(
            session, chosen.host_id, vm.id, runtime.database_key, runtime.algorithm
        )
    details = {"user_data": vm.user_data} if vm.user_data else {}
    spec = VmSpec(
        name=vm.instance_name,
        uuid=vm.uuid,
        cpus=offering.cpu,
        cpu_speed_mhz=offering.speed,
        memory_bytes=offering.ram_size * MB,
        os_type=template.guest_os_display_name or "" if template is not None else "",
        volumes=(),
        nics=nic_specs,
        vnc_password=passwords.vnc_password(
            vm.vnc_password, runtime.database_key, runtime.algorithm
        ),
        details=details,
        # An ISO deploy boots from it; an attached ISO stays in the drive across restarts.
        iso=_iso(session, vm, deployment),
    )
    stored = None
    if template is not None and not template.is_iso:
        stored = StoredObject(template.install_url, template.size, template.size)
    return _Prepared(chosen, target, disks, spec, stored), outcome


def _iso(session: Session, vm: VirtualMachine, deployment: Deployment | None) -> IsoSpec | None:
    """The VM's ISO as its drive shows it: a deploy from an ISO has it loaded (its
    download was checked by the load); otherwise read (one statement)."""
    if deployment is not None and deployment.template.is_iso and vm.iso_id is not None:
        template = deployment.template
        return IsoSpec(
            uuid=template.uuid,
            url=template.install_url,
            size_bytes=deployment.template_zone_size,
            bootable=bool(template.bootable),
        )
    return iso_spec_for(session, vm.iso_id, vm.data_center_id)


def _start_on_host(prepared: _Prepared, disks: list[DiskTarget], vm_uuid: str) -> None:
    """Step 2, second half: start the VM on its volumes (no transaction open)."""
    spec = replace(prepared.spec, volumes=tuple(d.spec() for d in disks))
    target = prepared.target
    drive(f"Unable to start VM {vm_uuid}", lambda: target.driver.start_vm(target.ref, spec))


def start(
    call: Call,
    vm: VirtualMachine,
    offering: ServiceOffering,
    *,
    host_id: int | None = None,
    requested_ip: str | None = None,
    template: DeployableTemplate | None = None,
    deploying: bool = False,
    data_disk_tags: tuple[str, ...] = (),
    data_disk_local: bool = False,
    volumes: list[VolumeFacts] | None = None,
    deployment: Deployment | None = None,
) -> StartOutcome:
    """Start ``vm`` (steps 1-3 of the module doc); on return the caller's session holds
    step 3 uncommitted.

    :param host_id: the host an admin asked for (``hostid``).
    :param requested_ip: the ``ipaddress`` asked for (first start only).
    :param template: the template or ISO the VM is deployed from (first start: the
        root volume is created from it).
    :param deploying: the deploy's first start: a failure leaves the VM in ``Error``.
    :param volumes: the VM's volumes as :data:`VolumeFacts`, when the caller knows
        them (a deploy: none placed yet); else they are read.
    :param deployment: a deploy's loaded rows: the drivers' targets are then made of
        them and of what placement read, without a statement of their own.
    :raises InsufficientCapacity: no host fits (533); nothing is changed.
    :raises InvalidParameterValue: the VM is not in a startable state (431).
    :raises ResourceUnavailable: a driver failed (534); the reservation is undone.
    """
    session = call.session
    prepared, outcome = prepare_start(
        call,
        vm,
        offering,
        host_id=host_id,
        requested_ip=requested_ip,
        template=template,
        deploying=deploying,
        data_disk_tags=data_disk_tags,
        data_disk_local=data_disk_local,
        volumes=volumes,
        deployment=deployment,
    )
    session.commit()
    hypervisor = prepared.target.hypervisor_type
    try:
        # The networks' providers implement what is not and prepare the NICs (DHCP,
        # DNS, userdata, the new password); nothing for a basic zone's VM.
        provide_for_start(session, vm.id, vm=vm, password=outcome.password or "")
        disks = create_on_storage(hypervisor, prepared.disks, prepared.template)
    except Exception as error:  # a driver's bug too: the reservation must not leak
        _undo_start(call, vm, prepared, deploying, error, [])
        raise
    created = [d for d in disks if d not in prepared.disks]
    try:
        _start_on_host(prepared, disks, vm.uuid)
    except Exception as error:
        _undo_start(call, vm, prepared, deploying, error, created)
        raise
    mark_ready(session, created)
    states.transition(session, vm, VmEvent.OPERATION_SUCCEEDED, "start")
    events.record(
        call,
        "VM.START",
        f"Started VM {vm.display_name or vm.name} ({vm.uuid}) on host {prepared.target.name}",
        resource_type=RESOURCE,
        resource_uuid=vm.uuid,
        account_id=vm.account_id,
        domain_id=vm.domain_id,
    )
    return outcome


def _undo_start(
    call: Call,
    vm: VirtualMachine,
    prepared: _Prepared,
    deploying: bool,
    error: Exception,
    created: list[DiskTarget],
) -> None:
    """Give back what step 1 reserved, in a transaction of its own (committed);
    volumes the storage driver created are recorded, so that they are deleted later."""
    session = call.session
    session.rollback()
    mark_ready(session, created)
    chosen = prepared.placement
    placement.release(session, chosen.host_id, chosen.cpu_mhz, chosen.memory_bytes)
    event = VmEvent.OPERATION_FAILED_TO_ERROR if deploying else VmEvent.OPERATION_FAILED
    changes: dict[str, object] = {
        "host_id": None,
        "reserved_cpu_mhz": 0,
        "reserved_memory": 0,
        "last_error": str(error)[:1024],
    }
    try:
        states.transition(session, vm, event, "start", changes)
    except CloudError:  # changed meanwhile (e.g. forced stop): its capacity is ours
        log.warning("VM %s changed while its failed start was undone", vm.uuid)
    if deploying:
        volumes = session.execute(
            select(Volume.id).where(Volume.instance_id == vm.id, Volume.removed.is_(None))
        ).all()
        _mark_destroy(session, vm.id)
        release_limit(session, vm.account_id, ResourceType.USER_VM, 1)
        release_limit(session, vm.account_id, ResourceType.VOLUME, len(volumes))
        release_nics(session, [vm.id])
    events.record(
        call,
        "VM.CREATE" if deploying else "VM.START",
        f"Unable to start VM {vm.uuid}: {error}",
        level="ERROR",
        resource_type=RESOURCE,
        resource_uuid=vm.uuid,
        account_id=vm.account_id,
        domain_id=vm.domain_id,
    )
    session.commit()


def _mark_destroy(session: Session, vm_id: int) -> None:
    """Every live volume of the VM to ``Destroy`` (the expunge task deletes them)."""
    session.execute(
        update(Volume)
        .where(Volume.instance_id == vm_id, Volume.removed.is_(None))
        .values(state=VolumeState.DESTROY.value, update_time=utcnow())
        .execution_options(synchronize_session=False)
    )
