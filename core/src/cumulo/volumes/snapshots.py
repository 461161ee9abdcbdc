"""Snapshots of volumes: take one, back it up, delete one (4.1's ``SnapshotManagerImpl``).

``createSnapshot`` is 4.1's ``BaseAsyncCreateCmd``: :func:`allocate` writes the
``Allocated`` row in the request (checking the volume and counting the snapshot against
the owner's limit, resource type 3); :func:`take` runs in the job worker through 4.1's
states, each step committed so that ``listSnapshots`` shows the progress, and no
transaction is open while a driver works:

1. ``Allocated`` → ``Creating``, volume ``Ready`` → ``Snapshotting`` (both conditional:
   a concurrent resize, migration, delete or template copy of the volume is refused);
2. the hypervisor driver's :meth:`~cumulo.sdk.hypervisor.HypervisorDriver.snapshot_volume`
   on the VM's host if the VM runs, else on an ``Up`` host of the cluster of the
   volume's pool; then ``CreatedOnPrimary`` with the path and size it gave;
3. ``BackingUp``, recording the zone's secondary store and the backup's path there
   (4.1's layout, ``snapshots/<account id>/<volume id>/<snapshot uuid>``);
4. the pool's storage driver copies the snapshot to that store
   (:meth:`~cumulo.sdk.storage.PrimaryStorageDriver.copy_to_store`; REQ-SS-01);
5. ``BackedUp`` with the bytes the backup takes, the volume ``Ready`` again,
   ``SNAPSHOT.CREATE``.

A failure at any step leaves the snapshot in ``Error`` (a half-written backup is
deleted from the store), the volume ``Ready`` and the count given back, and the job
fails with the driver's reason. :func:`take` resumes from whatever step the snapshot
reached, and does nothing for one already ``BackedUp``: running the job again never
takes a second snapshot or copies twice (the backup's path is fixed, and copying over
a half-written one is part of the storage contract).

The snapshot keeps both copies, as 4.1 does: the primary one (the hypervisor's, for
quick restores on the hypervisors that use it) and the backup, which volumes and
templates made from the snapshot read. :func:`delete` removes both.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from cumulo.compute.hypervisors import HostTarget, drive, host_target
from cumulo.compute.models import VirtualMachine, VmState
from cumulo.db.base import utcnow
from cumulo.events import record
from cumulo.infra.hosts.models import Host, HostStatus, HostType, ResourceState
from cumulo.infra.storage.models import StoragePool
from cumulo.limits import service as limits
from cumulo.limits.types import ResourceType
from cumulo.sdk.errors import CloudError, InvalidParameterValue, ResourceUnavailable
from cumulo.sdk.hypervisor import SnapshotInfo, VolumeSpec
from cumulo.sdk.storage import PoolRef, PrimaryStorageDriver, StorageError, StoredObject
from cumulo.templates.download import Store, object_url, store_by_id, zone_store
from cumulo.volumes import busy, pools
from cumulo.volumes.models import Volume, VolumeState
from cumulo.volumes.snapshot_models import (
    IntervalType,
    Snapshot,
    SnapshotPolicy,
    SnapshotState,
    SnapshotType,
)
from cumulo.volumes.states import (
    SnapshotEvent,
    VolumeEvent,
    snapshot_transition,
    volume_transition,
)

RESOURCE = "Snapshot"


@dataclass(frozen=True)
class Secrets:
    """The database key and algorithm that reveal a host's stored password."""

    key: str
    algorithm: str


def snapshot_name(volume: Volume, vm_name: str | None, when: str) -> str:
    """4.1's name: ``<vm>_<volume>_<yyyyMMddHHmmss>`` (``<volume>_<time>`` detached)."""
    return f"{vm_name}_{volume.name}_{when}" if vm_name else f"{volume.name}_{when}"


def allocate(session: Session, volume: Volume, *, policy: SnapshotPolicy | None = None) -> Snapshot:
    """The ``Allocated`` snapshot row of ``volume`` (not committed).

    :raises InvalidParameterValue: the volume is not Ready on primary storage, is
        being copied to a template, or its VM is being destroyed (431 naming
        ``volumeid``).
    :raises AccountLimitExceeded: the owner may not have another snapshot (532).
    """
    if volume.state != VolumeState.READY.value or volume.pool_id is None or not volume.path:
        raise InvalidParameterValue(
            f"volumeid: volume {volume.uuid} is {volume.state}, not Ready; a volume can be"
            " snapshotted once it is created on primary storage (attach it to a VM)"
        )
    busy.check_volume(session, volume, "snapshot", "volumeid")
    vm_name = None
    if volume.instance_id is not None:
        vm = session.get(VirtualMachine, volume.instance_id)
        if vm is not None and vm.state in (VmState.DESTROYED.value, VmState.EXPUNGING.value):
            raise InvalidParameterValue(f"volumeid: the VM of volume {volume.uuid} is {vm.state}")
        vm_name = vm.instance_name if vm is not None else None
    limits.reserve(session, volume.account_id, ResourceType.SNAPSHOT)
    kind = SnapshotType.MANUAL.value
    if policy is not None:
        kind = IntervalType(policy.interval).name
    snapshot = Snapshot(
        data_center_id=volume.data_center_id,
        account_id=volume.account_id,
        domain_id=volume.domain_id,
        volume_id=volume.id,
        disk_offering_id=volume.disk_offering_id,
        policy_id=policy.id if policy is not None else None,
        name=snapshot_name(volume, vm_name, utcnow().strftime("%Y%m%d%H%M%S")),
        status=SnapshotState.ALLOCATED.value,
        snapshot_type=kind,
    )
    session.add(snapshot)
    session.flush()
    return snapshot


def _host_for(session: Session, volume: Volume, secrets: Secrets) -> HostTarget:
    """The host whose hypervisor takes the snapshot (module doc, step 1).

    :raises ResourceUnavailable: no host can reach the volume's pool (534).
    """
    if volume.instance_id is not None:
        vm = session.get(VirtualMachine, volume.instance_id)
        if vm is not None and vm.state == VmState.RUNNING.value and vm.host_id is not None:
            return host_target(session, vm.host_id, secrets.key, secrets.algorithm)
    pool = session.get(StoragePool, volume.pool_id) if volume.pool_id is not None else None
    scope = (
        Host.cluster_id == pool.cluster_id
        if pool is not None and pool.cluster_id is not None
        else Host.data_center_id == volume.data_center_id
    )
    host_id = session.scalar(
        select(Host.id)
        .where(
            scope,
            Host.type == HostType.ROUTING.value,
            Host.status == HostStatus.UP.value,
            Host.resource_state == ResourceState.ENABLED.value,
            Host.removed.is_(None),
        )
        .order_by(Host.id)
        .limit(1)
    )
    if host_id is None:
        raise ResourceUnavailable(
            f"no host that is Up can reach the primary storage of volume {volume.uuid}"
        )
    return host_target(session, host_id, secrets.key, secrets.algorithm)


def _spec(session: Session, volume: Volume) -> VolumeSpec:
    pool = session.get(StoragePool, volume.pool_id) if volume.pool_id is not None else None
    return VolumeSpec(
        uuid=volume.uuid,
        path=volume.path or "",
        size_bytes=volume.size,
        pool_uuid=pool.uuid if pool is not None else "",
        volume_type=volume.volume_type,
        device_id=volume.device_id,
    )


def backup_path(snapshot: Snapshot) -> str:
    """Where a snapshot's backup lives on secondary storage (4.1's layout)."""
    return f"snapshots/{snapshot.account_id}/{snapshot.volume_id}/{snapshot.uuid}"


def take(
    session: Session,
    snapshot_id: int,
    secrets: Secrets,
    *,
    record_on: Callable[[Session], object] | None = None,
) -> Snapshot:
    """Take the allocated snapshot ``snapshot_id`` and back it up (module doc), from
    whatever step it reached; commits ``session`` after each step.

    :param record_on: what records ``SNAPSHOT.CREATE`` (a ``Call`` for the API, so the
        caller is the actor; default: the session, as the ``system`` account).
    :raises InvalidParameterValue: the snapshot is in ``Error`` or deleted, or its
        volume is being copied to a template (431).
    :raises ResourceUnavailable: no host or store can be reached, or a driver refused
        (534); the snapshot is left in ``Error``.
    """
    snapshot = _snapshot(session, snapshot_id)
    if snapshot.status == SnapshotState.BACKED_UP.value:
        session.commit()
        return snapshot  # taken by an earlier run of the job
    if snapshot.status in (SnapshotState.ERROR.value, SnapshotState.DESTROYED.value):
        raise InvalidParameterValue(
            f"volumeid: snapshot {snapshot.uuid} is {snapshot.status}; take a new snapshot"
        )
    if snapshot.status == SnapshotState.ALLOCATED.value:
        _start(session, snapshot)
    if snapshot.status == SnapshotState.CREATING.value:
        snapshot = _on_primary(session, snapshot_id, secrets)
    if snapshot.status == SnapshotState.CREATED_ON_PRIMARY.value:
        _start_backup(session, snapshot)
    return _back_up(session, snapshot_id, record_on)


def _snapshot(session: Session, snapshot_id: int) -> Snapshot:
    snapshot = session.get(Snapshot, snapshot_id)
    assert snapshot is not None
    session.refresh(snapshot)
    return snapshot


def _start(session: Session, snapshot: Snapshot) -> None:
    """Step 1: ``Creating``, the volume ``Snapshotting``; committed."""
    volume = session.get(Volume, snapshot.volume_id)
    assert volume is not None
    try:
        busy.check_volume(session, volume, "snapshot", "volumeid")
        snapshot_transition(session, snapshot, SnapshotEvent.CREATE_REQUESTED, "create")
        volume_transition(session, volume, VolumeEvent.SNAPSHOT_REQUESTED, "snapshot")
    except CloudError as exc:
        session.rollback()
        _fail(session, snapshot.id, str(exc))
        raise
    session.commit()


def _on_primary(session: Session, snapshot_id: int, secrets: Secrets) -> Snapshot:
    """Step 2: the hypervisor takes it; ``CreatedOnPrimary``; committed."""
    snapshot = _snapshot(session, snapshot_id)
    volume = session.get(Volume, snapshot.volume_id)
    assert volume is not None
    try:
        host = _host_for(session, volume, secrets)
    except CloudError:
        session.rollback()
        _fail(session, snapshot_id, "no host can reach the volume's storage")
        raise
    spec = _spec(session, volume)
    name = snapshot.uuid
    session.commit()
    try:
        taken = drive(
            f"Unable to snapshot volume {spec.uuid}",
            lambda: host.driver.snapshot_volume(host.ref, spec, name),
        )
    except CloudError as exc:
        _fail(session, snapshot_id, str(exc))
        raise
    except Exception as exc:  # a driver's bug: still no snapshot stuck in Creating
        _fail(session, snapshot_id, repr(exc))
        raise
    snapshot = _snapshot(session, snapshot_id)
    snapshot_transition(
        session,
        snapshot,
        SnapshotEvent.OPERATION_SUCCEEDED,
        "create",
        {"path": taken.path, "size": taken.size_bytes, "hypervisor_type": host.hypervisor_type},
    )
    session.commit()
    return snapshot


def _start_backup(session: Session, snapshot: Snapshot) -> None:
    """Step 3: ``BackingUp`` on the zone's secondary store; committed.

    :raises ResourceUnavailable: the zone has no secondary storage that is Up (534).
    """
    try:
        store = zone_store(session, snapshot.data_center_id)
        snapshot_transition(
            session,
            snapshot,
            SnapshotEvent.BACKUP_TO_SECONDARY,
            "back up",
            {"store_id": store.host_id, "install_path": backup_path(snapshot)},
        )
    except CloudError as exc:
        session.rollback()
        _fail(session, snapshot.id, f"Unable to back up snapshot {snapshot.uuid}: {exc}")
        raise
    session.commit()


@dataclass(frozen=True)
class _Backup:
    source_path: str
    target_path: str
    pool: PoolRef
    driver: PrimaryStorageDriver
    store: Store


def _backup_plan(session: Session, snapshot: Snapshot) -> _Backup:
    volume = session.get(Volume, snapshot.volume_id)
    if volume is None or volume.pool_id is None or not snapshot.path:
        raise ResourceUnavailable(f"the volume of snapshot {snapshot.uuid} left primary storage")
    assert snapshot.store_id is not None and snapshot.install_path is not None
    pool = pools.target_by_id(session, volume.pool_id)
    return _Backup(
        snapshot.path,
        snapshot.install_path,
        pool.ref,
        pool.driver,
        store_by_id(session, snapshot.store_id),
    )


def _back_up(
    session: Session, snapshot_id: int, record_on: Callable[[Session], object] | None
) -> Snapshot:
    """Steps 4 and 5: the copy to secondary storage, then ``BackedUp``; committed."""
    snapshot = _snapshot(session, snapshot_id)
    failure = f"Unable to back up snapshot {snapshot.uuid} to secondary storage"
    try:
        plan = _backup_plan(session, snapshot)
    except CloudError as exc:
        session.rollback()
        _fail(session, snapshot_id, f"{failure}: {exc}")
        raise
    session.commit()
    try:
        stored = plan.driver.copy_to_store(
            plan.pool, plan.source_path, plan.store.ref, plan.target_path
        )
    except StorageError as exc:
        _fail(session, snapshot_id, f"{failure}: {exc}", plan.store)
        raise ResourceUnavailable(f"{failure}: {exc}") from exc
    except Exception as exc:  # a driver's bug: still no snapshot stuck in BackingUp
        _fail(session, snapshot_id, f"{failure}: {exc!r}", plan.store)
        raise
    snapshot = _snapshot(session, snapshot_id)
    volume = session.get(Volume, snapshot.volume_id)
    assert volume is not None
    snapshot_transition(
        session,
        snapshot,
        SnapshotEvent.OPERATION_SUCCEEDED,
        "back up",
        # The backup's virtual size (what a volume made from it needs) and its bytes
        # on the store, as the storage contract reports them.
        {"size": stored.size_bytes or snapshot.size, "physical_size": stored.physical_size_bytes},
    )
    session.refresh(volume)
    if volume.state == VolumeState.SNAPSHOTTING.value:
        volume_transition(session, volume, VolumeEvent.OPERATION_SUCCEEDED, "snapshot")
    description = f"Successfully created snapshot {snapshot.name} of volume {volume.name}"
    target = record_on(session) if record_on is not None else session
    record(
        target,  # type: ignore[arg-type]
        "SNAPSHOT.CREATE",
        description,
        resource_type=RESOURCE,
        resource_uuid=snapshot.uuid,
        account_id=snapshot.account_id,
    )
    session.commit()
    return snapshot


def _fail(session: Session, snapshot_id: int, error: str, store: Store | None = None) -> None:
    """Leave the snapshot in ``Error`` and its volume ``Ready``, give the count back,
    and commit (the job then fails with the driver's reason). A backup the copy may
    have half-written on ``store`` is deleted first; if even that fails, the row keeps
    its place so that ``deleteSnapshot`` tries again."""
    snapshot = session.get(Snapshot, snapshot_id)
    if snapshot is None:
        return
    session.refresh(snapshot)
    changes: dict[str, object] = {}
    if (
        store is not None
        and snapshot.install_path
        and _delete_quietly(store, snapshot.install_path)
    ):
        changes = {"store_id": None, "install_path": None}
    volume = session.get(Volume, snapshot.volume_id)
    if snapshot.status in _FAILABLE:
        snapshot_transition(session, snapshot, SnapshotEvent.OPERATION_FAILED, "create", changes)
    if volume is not None:
        session.refresh(volume)
        if volume.state == VolumeState.SNAPSHOTTING.value:
            volume_transition(session, volume, VolumeEvent.OPERATION_FAILED, "snapshot")
    limits.release(session, snapshot.account_id, ResourceType.SNAPSHOT)
    record(
        session,
        "SNAPSHOT.CREATE",
        f"Failed to create snapshot {snapshot.name}: {error}",
        level="ERROR",
        resource_type=RESOURCE,
        resource_uuid=snapshot.uuid,
        account_id=snapshot.account_id,
    )
    session.commit()


_FAILABLE = (
    SnapshotState.ALLOCATED.value,
    SnapshotState.CREATING.value,
    SnapshotState.CREATED_ON_PRIMARY.value,
    SnapshotState.BACKING_UP.value,
)


def _delete_quietly(store: Store, path: str) -> bool:
    """Delete an object from ``store``; whether that worked."""
    try:
        store.driver.delete_object(store.ref, path)
    except StorageError:
        return False
    return True


def delete(session: Session, snapshot: Snapshot, secrets: Secrets) -> None:
    """``deleteSnapshot``: both copies go — the hypervisor deletes the primary one
    (through an ``Up`` host of its hypervisor type in its zone), the store's driver the
    backup — then the row is ``Destroyed`` and removed and the owner's snapshot count
    given back. In the caller's transaction; both deletions succeed for a copy already
    gone, so a delete that failed half-way can simply be repeated.

    :raises InvalidParameterValue: the snapshot is being taken or copied to a
        template (431).
    :raises ResourceUnavailable: no host or store can reach it, or a driver refused
        (534); nothing changed in the database.
    """
    counted = snapshot.status != SnapshotState.ERROR.value
    busy.check_snapshot(session, snapshot, "delete")
    snapshot_transition(session, snapshot, SnapshotEvent.DESTROY_REQUESTED, "delete")
    if snapshot.path:
        _delete_on_primary(session, snapshot, secrets)
    if snapshot.install_path and snapshot.store_id is not None:
        _delete_backup(session, snapshot)
    snapshot.removed = utcnow()
    session.flush()
    if counted:
        limits.release(session, snapshot.account_id, ResourceType.SNAPSHOT)


def _delete_on_primary(session: Session, snapshot: Snapshot, secrets: Secrets) -> None:
    host_id = session.scalar(
        select(Host.id)
        .where(
            Host.data_center_id == snapshot.data_center_id,
            Host.hypervisor_type == snapshot.hypervisor_type,
            Host.type == HostType.ROUTING.value,
            Host.status == HostStatus.UP.value,
            Host.removed.is_(None),
        )
        .order_by(Host.id)
        .limit(1)
    )
    if host_id is None:
        raise ResourceUnavailable(
            f"no {snapshot.hypervisor_type} host that is Up can delete snapshot {snapshot.uuid}"
        )
    host = host_target(session, host_id, secrets.key, secrets.algorithm)
    info = SnapshotInfo(snapshot.path or "", snapshot.size)
    drive(
        f"Unable to delete snapshot {snapshot.uuid}",
        lambda: host.driver.delete_snapshot(host.ref, info),
    )


def _delete_backup(session: Session, snapshot: Snapshot) -> None:
    assert snapshot.store_id is not None and snapshot.install_path is not None
    store_row = session.get(Host, snapshot.store_id)
    if store_row is None or store_row.removed is not None:
        return  # the store itself was removed, and the backup with it
    store = store_by_id(session, snapshot.store_id)
    path = snapshot.install_path
    pools.on_storage(
        f"Unable to delete the backup of snapshot {snapshot.uuid} from secondary storage",
        lambda: store.driver.delete_object(store.ref, path),
    )


def backup_image(session: Session, snapshot: Snapshot, param: str) -> StoredObject:
    """A snapshot's backup as primary storage drivers read it (the store's URL joined
    with its path, as deploys name a template): the source of ``createVolume
    snapshotid=``.

    :raises InvalidParameterValue: the snapshot is not BackedUp (431 naming ``param``).
    :raises ResourceUnavailable: its store is gone or not Up (534).
    """
    if snapshot.status != SnapshotState.BACKED_UP.value or snapshot.store_id is None:
        raise InvalidParameterValue(
            f"{param}: snapshot {snapshot.uuid} is {snapshot.status}, not BackedUp; only a"
            " snapshot backed up to secondary storage can be used"
        )
    store = store_by_id(session, snapshot.store_id)
    return StoredObject(
        object_url(store, snapshot.install_path or ""),
        snapshot.size,
        snapshot.physical_size or snapshot.size,
    )
