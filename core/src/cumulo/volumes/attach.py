"""Attaching data volumes to VMs and detaching them (4.1's ``attachVolumeToVM`` and
``detachVolumeFromVM``).

Attach, in the caller's transaction:

1. the rules (431 naming the parameter): a DATADISK, not attached, Allocated, Ready or
   Uploaded; a VM that is Running or Stopped, of the volume's account and zone, with
   fewer than :data:`MAX_DATA_VOLUMES` data disks; a free device id (1-15 but 3, which
   4.1 keeps for the CD-ROM);
2. storage: a volume not yet on primary storage gets a pool in the cluster of the VM's
   ROOT volume (:func:`cumulo.volumes.pools.claim_pool`, matching the disk offering's
   tags) and is created there by the storage driver — an uploaded one from its copy on
   secondary storage. A VM never started has no ROOT volume on storage yet: the volume
   is attached unplaced and created when the VM starts, as 4.1 does;
3. the hypervisor: if the VM runs, its host's driver hot-plugs the disk;
4. one conditional ``UPDATE`` (``instance_id IS NULL``) records the attachment, so of
   two concurrent attaches of one volume exactly one wins.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from cumulo.compute.hypervisors import drive, host_target
from cumulo.compute.models import VirtualMachine, VmState
from cumulo.db.base import utcnow
from cumulo.infra.storage.models import StoragePool
from cumulo.offerings.models import DiskOffering
from cumulo.sdk.errors import InvalidParameterValue, PermissionDenied, ResourceUnavailable
from cumulo.sdk.hypervisor import VolumeSpec
from cumulo.sdk.storage import StoredObject
from cumulo.volumes import busy, pools
from cumulo.volumes.models import Volume, VolumeState, VolumeType
from cumulo.volumes.service import mark_created
from cumulo.volumes.snapshot_models import VolumeHostRef
from cumulo.volumes.states import VolumeEvent, volume_transition

MAX_DEVICE_ID = 15
CDROM_DEVICE_ID = 3
MAX_DATA_VOLUMES = 6
"""4.1's ``hypervisor_capabilities.max_data_volumes_limit`` default."""

_ATTACHABLE = (VolumeState.ALLOCATED.value, VolumeState.READY.value, VolumeState.UPLOADED.value)
_VM_STATES = (VmState.RUNNING.value, VmState.STOPPED.value)


@dataclass(frozen=True)
class Secrets:
    """The database key and algorithm that reveal a host's stored password."""

    key: str
    algorithm: str


def pick_device_id(used: Sequence[int], asked: int | None) -> int:
    """The device id a new data disk gets: ``asked`` if free and valid, else the
    lowest free one.

    :raises InvalidParameterValue: ``asked`` is outside 1-15, is 3, or is taken (431).
    """
    if asked is not None:
        if not 1 <= asked <= MAX_DEVICE_ID or asked == CDROM_DEVICE_ID:
            raise InvalidParameterValue(
                f"deviceid: {asked} is not valid; a data disk's device id is between 1 and"
                f" {MAX_DEVICE_ID}, but not {CDROM_DEVICE_ID}"
            )
        if asked in used:
            raise InvalidParameterValue(f"deviceid: device id {asked} is used in the VM")
        return asked
    for candidate in range(1, MAX_DEVICE_ID + 1):
        if candidate != CDROM_DEVICE_ID and candidate not in used:
            return candidate
    raise InvalidParameterValue("deviceid: the VM has no free device id")  # pragma: no cover


def _check(volume: Volume, vm: VirtualMachine) -> None:
    if volume.volume_type != VolumeType.DATADISK.value:
        raise InvalidParameterValue("id: please specify a volume with the valid type: DATADISK")
    if volume.instance_id is not None:
        raise InvalidParameterValue(
            f"id: volume {volume.uuid} is already attached to a VM; detach it first"
        )
    if volume.state not in _ATTACHABLE:
        raise InvalidParameterValue(
            f"id: volume {volume.uuid} is {volume.state}; only a volume that is"
            f" {', '.join(_ATTACHABLE)} can be attached"
        )
    if vm.state not in _VM_STATES:
        raise InvalidParameterValue(
            f"virtualmachineid: VM {vm.uuid} is {vm.state}; please specify a VM that is either"
            " running or stopped"
        )
    if vm.account_id != volume.account_id:
        raise PermissionDenied(
            f"volume {volume.uuid} and VM {vm.uuid} belong to different accounts"
        )
    if vm.data_center_id != volume.data_center_id:
        raise InvalidParameterValue(
            "virtualmachineid: please specify a VM that is in the same zone as volume"
            f" {volume.uuid}"
        )


def _root_pool(session: Session, vm: VirtualMachine) -> StoragePool | None:
    pool_id = session.scalar(
        select(Volume.pool_id).where(
            Volume.instance_id == vm.id,
            Volume.volume_type == VolumeType.ROOT.value,
            Volume.removed.is_(None),
        )
    )
    return session.get(StoragePool, pool_id) if pool_id is not None else None


def _place(session: Session, volume: Volume, root_pool: StoragePool, factor: float) -> None:
    """Create an unplaced or uploaded volume in the ROOT volume's cluster."""
    if volume.pool_id is not None and volume.path is not None:
        pool = session.get(StoragePool, volume.pool_id)
        if pool is not None and pool.cluster_id not in (None, root_pool.cluster_id):
            raise InvalidParameterValue(
                f"id: volume {volume.uuid} is on storage pool '{pool.name}', which the VM's"
                " cluster cannot reach; migrate the volume (migrateVolume) first"
            )
        return
    offering = (
        session.get(DiskOffering, volume.disk_offering_id) if volume.disk_offering_id else None
    )
    pool = pools.claim_pool(
        session,
        zone_id=volume.data_center_id,
        size=volume.size,
        tags=pools.split_tags(offering.tags if offering is not None else None),
        local=bool(offering.use_local_storage) if offering is not None else False,
        cluster_id=root_pool.cluster_id,
        factor=factor,
    )
    image: StoredObject | None = None
    if volume.state == VolumeState.UPLOADED.value:
        ref = session.scalars(
            select(VolumeHostRef).where(VolumeHostRef.volume_id == volume.id)
        ).first()
        if ref is None or ref.install_path is None:
            raise ResourceUnavailable(
                f"uploaded volume {volume.uuid} has no copy on secondary storage"
            )
        image = StoredObject(ref.install_path, ref.size or volume.size, ref.physical_size)
        volume_transition(session, volume, VolumeEvent.COPY_REQUESTED, "attach")
    else:
        volume_transition(session, volume, VolumeEvent.CREATE_REQUESTED, "attach")
    target = pools.target_of(session, pool)
    stored = pools.on_storage(
        f"Unable to create volume {volume.uuid} on primary storage '{pool.name}'",
        lambda: target.driver.create_volume(target.ref, volume.uuid, volume.size, image),
    )
    mark_created(session, volume, pool, stored)


def attach(
    session: Session,
    volume: Volume,
    vm: VirtualMachine,
    *,
    device_id: int | None,
    secrets: Secrets,
    factor: float,
) -> Volume:
    """``attachVolume`` (module doc).

    :raises InvalidParameterValue: a rule is broken (431).
    :raises PermissionDenied: the volume and the VM have different owners (531).
    :raises InsufficientCapacity: no pool in the VM's cluster has room (533).
    :raises ResourceUnavailable: the storage or the host refused, or a concurrent
        change won (534).
    """
    _check(volume, vm)
    busy.check_volume(session, volume, "attach")
    attached = session.execute(
        select(Volume.device_id, Volume.volume_type).where(
            Volume.instance_id == vm.id, Volume.removed.is_(None)
        )
    ).all()
    data_disks = [row for row in attached if row.volume_type == VolumeType.DATADISK.value]
    if len(data_disks) >= MAX_DATA_VOLUMES:
        raise InvalidParameterValue(
            f"virtualmachineid: VM {vm.uuid} already has the maximum number of data disks"
            f" ({MAX_DATA_VOLUMES}); please specify another VM"
        )
    device = pick_device_id(
        [row.device_id for row in attached if row.device_id is not None], device_id
    )
    root_pool = _root_pool(session, vm)
    if root_pool is not None:
        _place(session, volume, root_pool, factor)
    elif volume.state == VolumeState.UPLOADED.value or vm.state == VmState.RUNNING.value:
        raise InvalidParameterValue(
            f"virtualmachineid: VM {vm.uuid} has no root volume on primary storage yet; start"
            " it once before attaching this volume"
        )
    if vm.state == VmState.RUNNING.value and vm.host_id is not None:
        host = host_target(session, vm.host_id, secrets.key, secrets.algorithm)
        spec = spec_of(volume, device, root_pool)
        device = drive(
            f"Unable to attach volume {volume.uuid} to VM {vm.uuid}",
            lambda: host.driver.attach_volume(host.ref, vm.instance_name, spec),
        )
    _record(session, volume, vm.id, device)
    return volume


def spec_of(volume: Volume, device_id: int | None, pool: StoragePool | None) -> VolumeSpec:
    """The hypervisor's view of a created volume."""
    return VolumeSpec(
        uuid=volume.uuid,
        path=volume.path or "",
        size_bytes=volume.size,
        pool_uuid=pool.uuid if pool is not None else "",
        volume_type=volume.volume_type,
        device_id=device_id,
    )


def _record(session: Session, volume: Volume, vm_id: int, device_id: int) -> None:
    # ``update_count`` as read: a template copy that claimed the volume meanwhile
    # (cumulo.volumes.busy) makes this attach lose.
    won = session.execute(
        update(Volume)
        .where(
            Volume.id == volume.id,
            Volume.instance_id.is_(None),
            Volume.removed.is_(None),
            Volume.update_count == volume.update_count,
        )
        .values(
            instance_id=vm_id,
            device_id=device_id,
            attached=utcnow(),
            update_count=Volume.update_count + 1,
            update_time=utcnow(),
        )
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if won != 1:
        raise ResourceUnavailable(
            f"volume {volume.uuid} was attached, deleted or claimed by another operation"
            " meanwhile; try again"
        )
    session.refresh(volume)


def detach(session: Session, volume: Volume, vm: VirtualMachine, *, secrets: Secrets) -> Volume:
    """``detachVolume``: unplug a data disk (through the host's driver when the VM
    runs) and forget the attachment with one conditional ``UPDATE``.

    :raises InvalidParameterValue: a ROOT volume, a volume not attached to ``vm``, or a
        VM neither Running nor Stopped (431).
    :raises ResourceUnavailable: the host refused, or a concurrent change won (534).
    """
    if volume.volume_type != VolumeType.DATADISK.value:
        raise InvalidParameterValue(
            "id: please specify a data volume; a ROOT volume cannot be detached"
        )
    if volume.instance_id != vm.id:
        raise InvalidParameterValue(f"id: volume {volume.uuid} is not attached to VM {vm.uuid}")
    if vm.state not in _VM_STATES:
        raise InvalidParameterValue(
            f"virtualmachineid: VM {vm.uuid} is {vm.state}; please specify a VM that is either"
            " running or stopped"
        )
    busy.check_volume(session, volume, "detach")
    if vm.state == VmState.RUNNING.value and vm.host_id is not None and volume.path is not None:
        host = host_target(session, vm.host_id, secrets.key, secrets.algorithm)
        pool = session.get(StoragePool, volume.pool_id) if volume.pool_id is not None else None
        spec = spec_of(volume, volume.device_id, pool)
        drive(
            f"Unable to detach volume {volume.uuid} from VM {vm.uuid}",
            lambda: host.driver.detach_volume(host.ref, vm.instance_name, spec),
        )
    won = session.execute(
        update(Volume)
        .where(
            Volume.id == volume.id,
            Volume.instance_id == vm.id,
            Volume.update_count == volume.update_count,
        )
        .values(
            instance_id=None,
            device_id=None,
            attached=None,
            update_count=Volume.update_count + 1,
            update_time=utcnow(),
        )
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if won != 1:
        raise ResourceUnavailable(
            f"volume {volume.uuid} was detached or claimed by another operation meanwhile;"
            " try again"
        )
    session.refresh(volume)
    return volume


def attached_volume(session: Session, vm_id: int, device_id: int) -> Volume | None:
    """The live volume at ``device_id`` of VM ``vm_id`` (``detachVolume`` by device)."""
    return session.scalars(
        select(Volume).where(
            Volume.instance_id == vm_id, Volume.device_id == device_id, Volume.removed.is_(None)
        )
    ).first()
