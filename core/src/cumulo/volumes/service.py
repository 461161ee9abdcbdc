"""Data volumes: create, delete, resize and migrate (4.1's ``VolumeManagerImpl``).

Services work in the caller's transaction and never commit; driver calls happen inside
it, after the volume's state moved by a conditional ``UPDATE``
(:mod:`cumulo.volumes.states`), so a concurrent operation on the same volume is refused
rather than interleaved. Rules, each a 431 naming the parameter unless said otherwise:

- a new volume is ``Allocated`` and has no pool: it is created on primary storage when
  first attached, in the VM's cluster (:mod:`cumulo.volumes.attach`), as in 4.1; a
  volume made from a snapshot is created at once, near the snapshot's volume;
- a customized disk offering needs ``size`` (GB, 1 to ``storage.max.volume.size``);
- only a detached volume is deleted; its pool space and its volume count (resource
  type 2) are given back, its snapshot policies go, its snapshots stay;
- resizing grows a data disk unless ``shrinkok``; a created volume is resized by its
  storage driver, an unplaced one only in the database;
- migrating (root admin) moves a volume that is detached or whose VM is stopped to
  another ``Up`` pool of the zone, through the storage driver;
- a volume being copied to a template is neither deleted, resized nor migrated
  (:mod:`cumulo.volumes.busy`).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from cumulo.accounts.models import Account
from cumulo.compute.models import VirtualMachine, VmState
from cumulo.db.base import utcnow
from cumulo.infra.models import AllocationState, Zone
from cumulo.infra.storage.models import StoragePool, StoragePoolStatus
from cumulo.infra.storage.tags import pool_tags
from cumulo.limits import service as limits
from cumulo.limits.types import ResourceType
from cumulo.offerings.models import DiskOffering
from cumulo.sdk.api import CallContext
from cumulo.sdk.errors import (
    InsufficientCapacity,
    InvalidParameterValue,
    PermissionDenied,
    ResourceUnavailable,
)
from cumulo.sdk.storage import StorageError, StoredVolume
from cumulo.volumes import busy, pools, snapshots
from cumulo.volumes.models import Volume, VolumeState, VolumeType
from cumulo.volumes.snapshot_models import Snapshot, SnapshotPolicy, SnapshotState, VolumeHostRef
from cumulo.volumes.states import VolumeEvent, volume_transition

GB = 1024**3
DELETABLE = (
    VolumeState.ALLOCATED.value,
    VolumeState.READY.value,
    VolumeState.UPLOADED.value,
    VolumeState.UPLOADING.value,
    VolumeState.DESTROY.value,
)


@dataclass(frozen=True)
class NewVolume:
    """What ``createVolume`` asks for, resolved to rows.

    :param size_gb: the ``size`` parameter (GB), for customized offerings.
    :param max_size_gb: ``storage.max.volume.size``.
    """

    owner: Account
    zone: Zone
    name: str
    offering: DiskOffering | None
    snapshot: Snapshot | None
    size_gb: int | None
    max_size_gb: int


def check_zone_usable(ctx: CallContext, zone: Zone) -> None:
    """A disabled zone is for root admins only (4.1).

    :raises PermissionDenied: the zone is disabled and the caller is no root admin.
    """
    if zone.allocation_state == AllocationState.DISABLED.value and not ctx.is_root_admin:
        raise PermissionDenied(
            f"Cannot perform this operation, Zone is currently disabled: {zone.uuid}"
        )


def volume_size(offering: DiskOffering, size_gb: int | None, max_size_gb: int) -> int:
    """The size in bytes a volume of ``offering`` gets (4.1's rules).

    :raises InvalidParameterValue: a customized offering without a valid ``size``.
    """
    if not offering.customized:
        return int(offering.disk_size)
    if size_gb is None:
        raise InvalidParameterValue(
            "size: this disk offering requires a custom size specified (in GB)"
        )
    if not 1 <= size_gb <= max_size_gb:
        raise InvalidParameterValue(
            f"size: invalid size for custom volume creation: {size_gb} GB; the size must"
            f" be between 1 and {max_size_gb} GB (storage.max.volume.size)"
        )
    return size_gb * GB


def allocate(session: Session, ctx: CallContext, request: NewVolume) -> Volume:
    """``createVolume``'s first step: the ``Allocated`` row, its volume counted
    against the owner's limits (resource type 2). A volume from a snapshot takes the
    snapshot's size and offering and its zone.

    :raises InvalidParameterValue: neither or both of offering and snapshot, a bad
        size, an unusable snapshot (431).
    :raises AccountLimitExceeded: the owner may not have another volume (532).
    """
    if request.offering is None and request.snapshot is None:
        raise InvalidParameterValue(
            "diskofferingid: either disk offering id or snapshot id must be passed whilst"
            " creating volume"
        )
    if request.offering is not None and request.snapshot is not None:
        raise InvalidParameterValue(
            "snapshotid: pass either a disk offering id or a snapshot id, not both"
        )
    check_zone_usable(ctx, request.zone)
    if request.snapshot is not None:
        snapshot = request.snapshot
        if snapshot.status != SnapshotState.BACKED_UP.value:
            raise InvalidParameterValue(
                f"snapshotid: snapshot {snapshot.uuid} is {snapshot.status}, not BackedUp;"
                " a volume can be made only from a backed-up snapshot"
            )
        source = session.get(Volume, snapshot.volume_id)
        size = source.size if source is not None else snapshot.size
        offering_id = snapshot.disk_offering_id
    else:
        assert request.offering is not None
        size = volume_size(request.offering, request.size_gb, request.max_size_gb)
        offering_id = request.offering.id
    limits.reserve(session, request.owner.id, ResourceType.VOLUME)
    volume = Volume(
        name=request.name,
        account_id=request.owner.id,
        domain_id=request.owner.domain_id,
        data_center_id=request.zone.id,
        volume_type=VolumeType.DATADISK.value,
        state=VolumeState.ALLOCATED.value,
        size=size,
        disk_offering_id=offering_id,
        snapshot_id=request.snapshot.id if request.snapshot is not None else None,
    )
    session.add(volume)
    session.flush()
    return volume


def create_from_snapshot(
    session: Session, volume: Volume, snapshot: Snapshot, factor: float
) -> Volume:
    """``createVolume`` from a snapshot, second step: a pool near the snapshot's volume
    (its cluster first, else the zone), and the volume made there by the storage
    driver from the snapshot's backup on secondary storage (REQ-SS-01: the backup, not
    the hypervisor's copy, is what outlives the volume and its pool);
    ``Allocated`` → ``Creating`` → ``Ready``.

    :raises InvalidParameterValue: the snapshot is no longer BackedUp (431).
    :raises InsufficientCapacity: no pool has room (533).
    :raises ResourceUnavailable: the storage refused, or the backup's store is not Up
        (534).
    """
    source = session.get(Volume, snapshot.volume_id)
    offering = (
        session.get(DiskOffering, snapshot.disk_offering_id) if snapshot.disk_offering_id else None
    )
    tags = pools.split_tags(offering.tags if offering is not None else None)
    local = bool(offering.use_local_storage) if offering is not None else False
    cluster_id = None
    if source is not None and source.pool_id is not None:
        source_pool = session.get(StoragePool, source.pool_id)
        cluster_id = source_pool.cluster_id if source_pool is not None else None
    try:
        pool = pools.claim_pool(
            session,
            zone_id=volume.data_center_id,
            size=volume.size,
            tags=tags,
            local=local,
            cluster_id=cluster_id,
            factor=factor,
        )
    except InsufficientCapacity:
        if cluster_id is None:
            raise
        pool = pools.claim_pool(
            session,
            zone_id=volume.data_center_id,
            size=volume.size,
            tags=tags,
            local=local,
            factor=factor,
        )
    image = snapshots.backup_image(session, snapshot, "snapshotid")
    volume_transition(session, volume, VolumeEvent.CREATE_REQUESTED, "create")
    target = pools.target_of(session, pool)
    stored = pools.on_storage(
        f"Unable to create volume {volume.uuid} from snapshot {snapshot.uuid}",
        lambda: target.driver.create_volume(target.ref, volume.uuid, volume.size, image),
    )
    return mark_created(session, volume, pool, stored)


def mark_created(
    session: Session, volume: Volume, pool: StoragePool, stored: StoredVolume
) -> Volume:
    """A volume the storage driver created on ``pool``: ``Creating`` → ``Ready``."""
    volume_transition(
        session,
        volume,
        VolumeEvent.OPERATION_SUCCEEDED,
        "create",
        {"pool_id": pool.id, "pod_id": pool.pod_id, "path": stored.path, "size": stored.size_bytes},
    )
    return volume


def delete_volume(session: Session, volume: Volume) -> None:
    """``deleteVolume``: remove a detached volume from its storage and expunge it.

    :raises InvalidParameterValue: attached, a ROOT volume, in a state that cannot be
        deleted, or being copied to a template (431).
    :raises ResourceUnavailable: the storage refused (534); nothing changed.
    """
    if volume.instance_id is not None:
        raise InvalidParameterValue(
            f"id: volume {volume.uuid} is attached to a VM; detach it before deleting it"
        )
    if volume.volume_type != VolumeType.DATADISK.value:
        raise InvalidParameterValue(f"id: volume {volume.uuid} is a {volume.volume_type} volume")
    if volume.state not in DELETABLE:
        raise InvalidParameterValue(
            f"id: volume {volume.uuid} is {volume.state}; only a volume that is"
            f" {', '.join(DELETABLE)} can be deleted"
        )
    busy.check_volume(session, volume, "delete")
    if volume.state != VolumeState.DESTROY.value:
        volume_transition(session, volume, VolumeEvent.DESTROY_REQUESTED, "delete")
    volume_transition(session, volume, VolumeEvent.EXPUNGING_REQUESTED, "delete")
    if volume.pool_id is not None and volume.path is not None:
        target = pools.target_by_id(session, volume.pool_id)
        path = volume.path
        pools.on_storage(
            f"Unable to delete volume {volume.uuid} from primary storage",
            lambda: target.driver.delete_volume(target.ref, path),
        )
    pools.release_pool(session, volume.pool_id, volume.size)
    _delete_uploaded_copy(session, volume)
    session.execute(delete(SnapshotPolicy).where(SnapshotPolicy.volume_id == volume.id))
    volume_transition(
        session, volume, VolumeEvent.OPERATION_SUCCEEDED, "delete", {"removed": utcnow()}
    )
    limits.release(session, volume.account_id, ResourceType.VOLUME)


def _delete_uploaded_copy(session: Session, volume: Volume) -> None:
    """Remove what ``uploadVolume`` put on secondary storage (best effort: a store that
    cannot be reached keeps an orphan, as 4.1's storage GC would retry)."""
    from cumulo.volumes.transfer import delete_secondary_copy

    delete_secondary_copy(session, volume)
    session.execute(delete(VolumeHostRef).where(VolumeHostRef.volume_id == volume.id))


def resize(
    session: Session,
    volume: Volume,
    *,
    offering: DiskOffering | None,
    size_gb: int | None,
    shrink_ok: bool,
    max_size_gb: int,
    factor: float,
) -> Volume:
    """``resizeVolume``: a new size from a new disk offering or ``size`` (GB).

    :raises InvalidParameterValue: a ROOT volume, no new size, a size a fixed offering
        does not allow, a shrink without ``shrinkok``, a state other than Allocated or
        Ready, a volume being copied to a template (431).
    :raises InsufficientCapacity: the pool has no room for the growth (533).
    :raises ResourceUnavailable: the storage refused or cannot resize (534).
    """
    if volume.volume_type != VolumeType.DATADISK.value:
        raise InvalidParameterValue(f"id: volume {volume.uuid}: only data volumes can be resized")
    current = (
        session.get(DiskOffering, volume.disk_offering_id) if volume.disk_offering_id else None
    )
    if offering is not None:
        new_size = volume_size(offering, size_gb, max_size_gb)
        if current is not None and pools.split_tags(offering.tags) != pools.split_tags(
            current.tags
        ):
            raise InvalidParameterValue(
                "diskofferingid: the new disk offering's storage tags must match the current"
                " offering's"
            )
    elif size_gb is not None:
        if current is not None and not current.customized:
            raise InvalidParameterValue(
                "size: the volume's disk offering has a fixed size; give a customized disk"
                " offering (diskofferingid) to choose a size"
            )
        if not 1 <= size_gb <= max_size_gb:
            raise InvalidParameterValue(f"size: {size_gb} GB is not between 1 and {max_size_gb} GB")
        new_size = size_gb * GB
    else:
        raise InvalidParameterValue("size: give a new size or a new disk offering (diskofferingid)")
    if new_size < volume.size and not shrink_ok:
        raise InvalidParameterValue(
            f"shrinkok: going from {volume.size} to {new_size} bytes would shrink the volume;"
            " confirm with shrinkok=true"
        )
    offering_id = offering.id if offering is not None else volume.disk_offering_id
    busy.check_volume(session, volume, "resize")
    if volume.state == VolumeState.ALLOCATED.value:
        _set_size(session, volume, new_size, offering_id)
        return volume
    volume_transition(session, volume, VolumeEvent.RESIZE_REQUESTED, "resize")
    assert volume.pool_id is not None and volume.path is not None  # Ready: created
    pool = session.get(StoragePool, volume.pool_id)
    assert pool is not None
    growth = new_size - volume.size
    if growth > 0 and not pools.claim_on(session, pool, growth, factor):
        raise InsufficientCapacity(
            f"storage pool '{pool.name}' has no room to grow volume {volume.uuid} by {growth} bytes"
        )
    if growth < 0:
        pools.release_pool(session, pool.id, -growth)
    target = pools.target_of(session, pool)
    path = volume.path
    stored = pools.on_storage(
        f"Unable to resize volume {volume.uuid}",
        lambda: resize_on_storage(target.driver, target.ref, path, new_size),
    )
    volume_transition(
        session,
        volume,
        VolumeEvent.OPERATION_SUCCEEDED,
        "resize",
        {"size": stored.size_bytes, "path": stored.path, "disk_offering_id": offering_id},
    )
    return volume


def _set_size(session: Session, volume: Volume, size: int, offering_id: int | None) -> None:
    """Change an unplaced volume's size (no storage involved), conditionally."""
    changed = session.execute(
        update(Volume)
        .where(
            Volume.id == volume.id,
            Volume.state == VolumeState.ALLOCATED.value,
            Volume.update_count == volume.update_count,
        )
        .values(size=size, disk_offering_id=offering_id, update_count=volume.update_count + 1)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if changed != 1:
        raise ResourceUnavailable(f"volume {volume.uuid} was changed meanwhile; try again")
    session.refresh(volume)


def resize_on_storage(driver: object, pool: object, path: str, size: int) -> StoredVolume:
    """The storage driver's ``resize_volume(pool, path, size_bytes)``.

    The 4.1 contract (:class:`cumulo.sdk.storage.PrimaryStorageDriver`) has no resize
    yet; a driver that offers it is used, any other refuses.

    :raises StorageError: the driver refused or cannot resize.
    """
    method = getattr(driver, "resize_volume", None)
    if method is None:
        raise StorageError(
            f"the {getattr(driver, 'name', '?')} storage driver cannot resize volumes"
        )
    result = method(pool, path, size)
    assert isinstance(result, StoredVolume)
    return result


def copy_on_storage(
    driver: object, source: object, path: str, target: object, name: str
) -> StoredVolume:
    """The storage driver's ``copy_volume(source_pool, path, target_pool, name)``
    (see :func:`resize_on_storage` for why it is looked up).

    :raises StorageError: the driver refused or cannot copy.
    """
    method = getattr(driver, "copy_volume", None)
    if method is None:
        raise StorageError(
            f"the {getattr(driver, 'name', '?')} storage driver cannot copy volumes between pools"
        )
    result = method(source, path, target, name)
    assert isinstance(result, StoredVolume)
    return result


def migrate(
    session: Session, ctx: CallContext, volume: Volume, pool: StoragePool, factor: float
) -> Volume:
    """``migrateVolume``: copy a created volume to ``pool``, then delete the source.

    :raises PermissionDenied: the caller is not a root admin (531).
    :raises InvalidParameterValue: the volume is not Ready or is being copied to a
        template, its VM runs, the pool is its own, not Up or in another zone, or lacks
        the offering's tags (431).
    :raises InsufficientCapacity: the pool has no room (533).
    :raises ResourceUnavailable: the storage refused (534).
    """
    if not ctx.is_root_admin:
        raise PermissionDenied("Only a root admin may migrate volumes between storage pools")
    if volume.state != VolumeState.READY.value or volume.pool_id is None or volume.path is None:
        raise InvalidParameterValue(
            f"volumeid: volume {volume.uuid} is {volume.state}; only a volume created on"
            " primary storage (Ready) can be migrated"
        )
    if volume.instance_id is not None:
        state = session.scalar(
            select(VirtualMachine.state).where(VirtualMachine.id == volume.instance_id)
        )
        if state != VmState.STOPPED.value:
            raise InvalidParameterValue(
                f"volumeid: volume {volume.uuid} is attached to a VM that is {state}; stop the"
                " VM or detach the volume first"
            )
    busy.check_volume(session, volume, "migrate", "volumeid")
    if pool.id == volume.pool_id:
        raise InvalidParameterValue(f"storageid: volume {volume.uuid} is already on that pool")
    if pool.data_center_id != volume.data_center_id or pool.status != StoragePoolStatus.UP.value:
        raise InvalidParameterValue(
            f"storageid: storage pool '{pool.name}' must be Up and in the volume's zone"
        )
    offering = (
        session.get(DiskOffering, volume.disk_offering_id) if volume.disk_offering_id else None
    )
    wanted = pools.split_tags(offering.tags if offering is not None else None)
    if not wanted <= set(pool_tags(session, [pool.id])[pool.id]):
        raise InvalidParameterValue(
            f"storageid: storage pool '{pool.name}' lacks the storage tags"
            f" {','.join(sorted(wanted))} of the volume's disk offering"
        )
    if not pools.claim_on(session, pool, volume.size, factor):
        raise InsufficientCapacity(
            f"storage pool '{pool.name}' has no room for volume {volume.uuid}"
        )
    volume_transition(session, volume, VolumeEvent.MIGRATION_REQUESTED, "migrate")
    source = pools.target_by_id(session, volume.pool_id)
    target = pools.target_of(session, pool)
    path = volume.path
    stored = pools.on_storage(
        f"Unable to migrate volume {volume.uuid}",
        lambda: copy_on_storage(source.driver, source.ref, path, target.ref, volume.uuid),
    )
    pools.on_storage(
        f"Volume {volume.uuid} was copied but its source could not be deleted",
        lambda: source.driver.delete_volume(source.ref, path),
    )
    pools.release_pool(session, source.pool_id, volume.size)
    volume_transition(
        session,
        volume,
        VolumeEvent.OPERATION_SUCCEEDED,
        "migrate",
        {
            "pool_id": pool.id,
            "pod_id": pool.pod_id,
            "last_pool_id": source.pool_id,
            "path": stored.path,
        },
    )
    return volume
