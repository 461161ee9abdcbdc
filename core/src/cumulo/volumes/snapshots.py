"""Snapshots of volumes: take one, delete one (4.1's ``SnapshotManagerImpl``).

``createSnapshot`` is 4.1's ``BaseAsyncCreateCmd``: :func:`allocate` writes the
``Allocated`` row in the request (checking the volume and counting the snapshot against
the owner's limit, resource type 3); :func:`take` runs in the job worker, in three
transactions of the session it is given, so that the snapshot's progress is visible
and no transaction is open while the hypervisor works:

1. snapshot ``Allocated`` → ``Creating``, volume ``Ready`` → ``Snapshotting`` (both
   conditional: a concurrent resize, migration or delete of the volume is refused),
   and the host to ask — the VM's host if the volume's VM runs, else an ``Up`` host of
   the cluster of the volume's pool; committed;
2. the hypervisor driver's :meth:`~cumulo.sdk.hypervisor.HypervisorDriver.snapshot_volume`;
3. ``Creating`` → ``BackingUp`` (with the path and size the driver gave) →
   ``BackedUp``, volume back to ``Ready``, ``SNAPSHOT.CREATE``; or, if the driver
   failed, ``Error``, the volume ``Ready`` again and the count given back.

The hypervisor's snapshot is the backup: the SDK has no separate copy to secondary
storage, so ``BackingUp`` is passed through in the same transaction.
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

    :raises InvalidParameterValue: the volume is not Ready on primary storage, or its
        VM is being destroyed (431 naming ``volumeid``).
    :raises AccountLimitExceeded: the owner may not have another snapshot (532).
    """
    if volume.state != VolumeState.READY.value or volume.pool_id is None or not volume.path:
        raise InvalidParameterValue(
            f"volumeid: volume {volume.uuid} is {volume.state}, not Ready; a volume can be"
            " snapshotted once it is created on primary storage (attach it to a VM)"
        )
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


def take(
    session: Session,
    snapshot_id: int,
    secrets: Secrets,
    *,
    record_on: Callable[[Session], object] | None = None,
) -> Snapshot:
    """Take the allocated snapshot ``snapshot_id`` (module doc); commits ``session``
    after steps 1 and 3.

    :param record_on: what records ``SNAPSHOT.CREATE`` (a ``Call`` for the API, so the
        caller is the actor; default: the session, as the ``system`` account).
    :raises ResourceUnavailable: the host or its hypervisor refused (534); the snapshot
        is left in ``Error``.
    """
    snapshot = session.get(Snapshot, snapshot_id)
    assert snapshot is not None
    volume = session.get(Volume, snapshot.volume_id)
    assert volume is not None
    snapshot_transition(session, snapshot, SnapshotEvent.CREATE_REQUESTED, "create")
    volume_transition(session, volume, VolumeEvent.SNAPSHOT_REQUESTED, "snapshot")
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
    snapshot = session.get(Snapshot, snapshot_id)
    assert snapshot is not None
    volume = session.get(Volume, snapshot.volume_id)
    assert volume is not None
    snapshot_transition(
        session,
        snapshot,
        SnapshotEvent.BACKUP_TO_SECONDARY,
        "back up",
        {"path": taken.path, "size": taken.size_bytes, "hypervisor_type": host.hypervisor_type},
    )
    snapshot_transition(session, snapshot, SnapshotEvent.OPERATION_SUCCEEDED, "back up")
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


def _fail(session: Session, snapshot_id: int, error: str) -> None:
    """Leave the snapshot in ``Error`` and its volume ``Ready``, give the count back,
    and commit (the job then fails with the driver's reason)."""
    snapshot = session.get(Snapshot, snapshot_id)
    if snapshot is None:
        return
    session.refresh(snapshot)
    volume = session.get(Volume, snapshot.volume_id)
    if snapshot.status in (SnapshotState.CREATING.value, SnapshotState.BACKING_UP.value):
        snapshot_transition(session, snapshot, SnapshotEvent.OPERATION_FAILED, "create")
    elif snapshot.status == SnapshotState.ALLOCATED.value:
        snapshot.status = SnapshotState.ERROR.value
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


def delete(session: Session, snapshot: Snapshot, secrets: Secrets) -> None:
    """``deleteSnapshot``: the hypervisor deletes it (through an ``Up`` host of its
    hypervisor type in its zone), then the row is ``Destroyed`` and removed and the
    owner's snapshot count given back. In the caller's transaction.

    :raises InvalidParameterValue: the snapshot is being taken (431).
    :raises ResourceUnavailable: no host can reach it, or the driver refused (534).
    """
    counted = snapshot.status != SnapshotState.ERROR.value
    snapshot_transition(session, snapshot, SnapshotEvent.DESTROY_REQUESTED, "delete")
    if snapshot.path:
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
        info = SnapshotInfo(snapshot.path, snapshot.size)
        drive(
            f"Unable to delete snapshot {snapshot.uuid}",
            lambda: host.driver.delete_snapshot(host.ref, info),
        )
    snapshot.removed = utcnow()
    session.flush()
    if counted:
        limits.release(session, snapshot.account_id, ResourceType.SNAPSHOT)
