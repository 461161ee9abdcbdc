"""A VM's disks: the ROOT volume (from the template, or blank for an ISO) and an
optional DATADISK, from allocation to the storage driver and back.

The life of a deploy's volumes:

1. :func:`allocate_volumes` — rows in state ``Allocated``, no pool yet (the deploy's
   first transaction, with the VM row);
2. :func:`assign_pools` — the pools placement chose, one ``UPDATE`` (the start's
   reservation transaction);
3. :func:`create_on_storage` — the storage driver creates what does not exist yet,
   outside any transaction;
4. :func:`mark_ready` — paths and ``Ready``, one ``executemany`` (the start's last
   transaction).

Volumes are named on their pool by their UUID, so a retried creation finds (and the
simulator replaces) the same volume instead of leaking one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, cast

from sqlalchemy import Table, and_, bindparam, case, insert, or_, select, update
from sqlalchemy.orm import Session

from cumulo.compute.hypervisors import HostTarget
from cumulo.compute.models import VirtualMachine
from cumulo.db.base import new_uuid, utcnow
from cumulo.infra.hosts.connection import reveal
from cumulo.infra.hosts.models import Host, HostDetail
from cumulo.infra.storage.drivers import primary_driver
from cumulo.infra.storage.models import StoragePool
from cumulo.infra.storage.pools import pool_url
from cumulo.sdk.errors import ResourceUnavailable
from cumulo.sdk.hypervisor import HostConnection, HostRef, VolumeSpec
from cumulo.sdk.storage import PoolRef, StorageError, StoredObject
from cumulo.volumes.models import Volume, VolumeState, VolumeType
from cumulo.volumes.pools import pool_hosts


@dataclass(frozen=True)
class DiskRequest:
    """One disk to allocate."""

    volume_type: VolumeType
    size: int
    disk_offering_id: int | None = None
    template_id: int | None = None
    format: str | None = None


def allocate_volumes(
    session: Session, vm: VirtualMachine, disks: Sequence[DiskRequest]
) -> list[Volume]:
    """The VM's volume rows, ROOT first (device 0), data disks from device 1; added
    to the session, written at the next flush."""
    volumes = []
    data_device = 1
    for disk in disks:
        if disk.volume_type is VolumeType.ROOT:
            name, device = f"ROOT-{vm.id}", 0
        else:
            name, device = f"DATA-{vm.id}", data_device
            data_device += 1
        volume = Volume(
            name=name,
            account_id=vm.account_id,
            domain_id=vm.domain_id,
            data_center_id=vm.data_center_id,
            instance_id=vm.id,
            device_id=device,
            volume_type=disk.volume_type.value,
            state=VolumeState.ALLOCATED.value,
            size=disk.size,
            disk_offering_id=disk.disk_offering_id,
            template_id=disk.template_id,
            format=disk.format,
            attached=utcnow(),
        )
        session.add(volume)
        volumes.append(volume)
    return volumes


_VOLUMES = cast(Table, Volume.__table__)
_INSERT_VOLUMES = insert(_VOLUMES)


def insert_volumes(
    session: Session,
    vm_id: int,
    account_id: int,
    domain_id: int,
    zone_id: int,
    disks: Sequence[DiskRequest],
) -> None:
    """:func:`allocate_volumes` for a deploy that wrote its VM row with Core: the same
    rows, in ONE statement (a multi-row ``INSERT``)."""
    now = utcnow()
    rows = []
    data_device = 1
    for disk in disks:
        if disk.volume_type is VolumeType.ROOT:
            name, device = f"ROOT-{vm_id}", 0
        else:
            name, device = f"DATA-{vm_id}", data_device
            data_device += 1
        rows.append(
            {
                "uuid": new_uuid(),
                "name": name,
                "account_id": account_id,
                "domain_id": domain_id,
                "data_center_id": zone_id,
                "instance_id": vm_id,
                "device_id": device,
                "volume_type": disk.volume_type.value,
                "state": VolumeState.ALLOCATED.value,
                "size": disk.size,
                "disk_offering_id": disk.disk_offering_id,
                "template_id": disk.template_id,
                "format": disk.format,
                "attached": now,
                "created": now,
            }
        )
    connection = session.connection()
    if len(rows) == 1:
        connection.execute(_INSERT_VOLUMES, rows[0])
    else:  # one multi-row statement, not one per volume
        connection.execute(insert(_VOLUMES).values(rows))


_ASSIGN_POOLS = (
    update(_VOLUMES)
    .where(
        _VOLUMES.c.instance_id == bindparam("vm_id"),
        _VOLUMES.c.pool_id.is_(None),
        _VOLUMES.c.removed.is_(None),
    )
    .values(
        pool_id=case(
            (_VOLUMES.c.volume_type == VolumeType.ROOT.value, bindparam("root_pool")),
            else_=bindparam("data_pool"),
        ),
        pod_id=bindparam("pod"),
    )
)


def assign_pools(
    session: Session, vm_id: int, pod_id: int, root_pool_id: int | None, data_pool_id: int | None
) -> None:
    """Put the VM's volumes that have no pool yet on the pools placement chose (one
    statement; volumes already created keep theirs)."""
    if root_pool_id is None and data_pool_id is None:
        return
    session.connection().execute(
        _ASSIGN_POOLS,
        {
            "vm_id": vm_id,
            "root_pool": root_pool_id,
            "data_pool": data_pool_id if data_pool_id is not None else root_pool_id,
            "pod": pod_id,
        },
    )


@dataclass(frozen=True)
class DiskTarget:
    """A volume as the storage and hypervisor drivers see it (detached from the ORM).

    :param path: its handle on the pool; ``None`` until the storage driver created it.
    """

    volume_id: int
    uuid: str
    volume_type: str
    device_id: int
    size: int
    path: str | None
    pool_id: int
    pool: PoolRef
    template_id: int | None

    def spec(self) -> VolumeSpec:
        """The hypervisor's view of the volume (it must exist)."""
        return VolumeSpec(
            uuid=self.uuid,
            path=self.path or "",
            size_bytes=self.size,
            pool_uuid=self.pool.uuid,
            volume_type=self.volume_type,
            device_id=self.device_id,
        )


def disk_targets(session: Session, vm_id: int) -> list[DiskTarget]:
    """The VM's live volumes with their pools, ROOT first (two statements: the volumes
    and pools, then the hosts that reach the pools)."""
    rows = session.execute(
        select(Volume, StoragePool)
        .join(StoragePool, StoragePool.id == Volume.pool_id)
        .where(Volume.instance_id == vm_id, Volume.removed.is_(None))
        .order_by(Volume.device_id)
    ).all()
    hosts = pool_hosts(session, [pool for _, pool in rows]) if rows else {}
    return [
        DiskTarget(
            volume.id,
            volume.uuid,
            volume.volume_type,
            volume.device_id or 0,
            volume.size,
            volume.path,
            pool.id,
            PoolRef(pool.uuid, pool_url(pool), hosts=hosts[pool.id]),
            volume.template_id,
        )
        for volume, pool in rows
    ]


def start_targets(
    session: Session, host_id: int, vm_id: int, database_key: str, algorithm: str
) -> tuple[HostTarget, list[DiskTarget]]:
    """What a start's driver calls need, in ONE statement: the host as
    :func:`cumulo.compute.hypervisors.host_target` reads it (with its details) and the
    VM's live volumes with their pools as :func:`disk_targets` (a row per detail and
    volume, a handful).

    :raises ResourceUnavailable: the host is gone (534).
    """
    volume = and_(
        Volume.instance_id == vm_id,
        Volume.removed.is_(None),
        # Always true (a row per detail and volume): ties the volumes to the host's row
        # for SQLAlchemy's cartesian-product check, which on MySQL reads ON clauses only.
        or_(Volume.id == Host.id, Volume.id != Host.id),
    )
    rows = session.execute(
        select(Host, HostDetail.name, HostDetail.value, Volume, StoragePool)
        .select_from(Host)
        .outerjoin(HostDetail, HostDetail.host_id == Host.id)
        .outerjoin(Volume, volume)
        .outerjoin(StoragePool, StoragePool.id == Volume.pool_id)
        .where(Host.id == host_id)
    ).all()
    if not rows:
        raise ResourceUnavailable(f"host id={host_id} no longer exists")
    host: Host = rows[0][0]
    details = {name: value for _, name, value, _, _ in rows if name is not None}
    connection = HostConnection(
        url=host.url or "",
        username=details.get("username", ""),
        password=reveal(details.get("password"), database_key, algorithm),
        zone_id=host.data_center_id,
        pod_id=host.pod_id,
        cluster_id=host.cluster_id,
    )
    target = HostTarget(
        host.id,
        host.name,
        host.hypervisor_type or "",
        HostRef(guid=host.guid or "", connection=connection, host_id=host.id),
    )
    volumes: dict[int, tuple[Volume, StoragePool]] = {}
    for _, _, _, found, pool in rows:
        if found is not None and pool is not None:
            volumes[found.id] = (found, pool)
    disks = [
        DiskTarget(
            found.id,
            found.uuid,
            found.volume_type,
            found.device_id or 0,
            found.size,
            found.path,
            pool.id,
            pool_ref_for_start(pool.uuid, pool_url(pool), connection),
            found.template_id,
        )
        for found, pool in sorted(volumes.values(), key=lambda pair: pair[0].device_id or 0)
    ]
    return target, disks


def pool_ref_for_start(uuid: str, url: str, connection: HostConnection) -> PoolRef:
    """A pool as the storage driver sees it during a start: reached through the host
    the VM starts on, with that host's credentials (already decrypted for the start):
    a driver that reaches storage through the host's manager (VMware: vCenter, from a
    job worker that may not have logged in yet) needs them to create the volumes."""
    return PoolRef(uuid, url, hosts=(connection,))


class _PoolColumns(Protocol):
    @property
    def pool_type(self) -> str: ...
    @property
    def host_address(self) -> str: ...
    @property
    def path(self) -> str: ...


def pool_url_of(pool: _PoolColumns) -> str:
    """:func:`cumulo.infra.storage.pools.pool_url` of a pool read as plain values."""
    return pool_url(cast(StoragePool, pool))


def create_on_storage(
    hypervisor_type: str, disks: Sequence[DiskTarget], template: StoredObject | None
) -> list[DiskTarget]:
    """Create the volumes that do not exist yet (no path) through the pool's storage
    driver; the ROOT one from ``template`` when given. Outside any transaction.

    :return: every disk, with its path.
    :raises ResourceUnavailable: the storage refused or did not answer (534).
    """
    done = []
    for disk in disks:
        if disk.path is not None:
            done.append(disk)
            continue
        source = template if disk.volume_type == VolumeType.ROOT.value else None
        try:
            driver = primary_driver(hypervisor_type)
            stored = driver.create_volume(disk.pool, disk.uuid, disk.size, source)
        except StorageError as exc:
            raise ResourceUnavailable(
                f"Unable to create volume {disk.uuid} on primary storage {disk.pool.uuid}: {exc}"
            ) from exc
        done.append(
            DiskTarget(
                disk.volume_id,
                disk.uuid,
                disk.volume_type,
                disk.device_id,
                stored.size_bytes,
                stored.path,
                disk.pool_id,
                disk.pool,
                disk.template_id,
            )
        )
    return done


_MARK_READY = (
    update(_VOLUMES)
    .where(_VOLUMES.c.id == bindparam("_id"))
    .values(
        path=bindparam("_path"),
        size=bindparam("_size"),
        state=VolumeState.READY.value,
        update_time=bindparam("_now"),
    )
)


def mark_ready(session: Session, disks: Sequence[DiskTarget]) -> None:
    """Record the created volumes' paths and sizes, ``Ready`` (one ``executemany``)."""
    if not disks:
        return
    now = utcnow()
    # A Core executemany: the ORM's bulk UPDATE would want primary keys by name.
    session.connection().execute(
        _MARK_READY,
        [{"_id": d.volume_id, "_path": d.path, "_size": d.size, "_now": now} for d in disks],
    )


def delete_from_storage(hypervisor_type: str, disks: Sequence[DiskTarget]) -> list[str]:
    """Delete the volumes from their pools (outside any transaction); deleting a
    missing one succeeds. :return: one line per volume that could not be deleted."""
    failures = []
    for disk in disks:
        if disk.path is None:
            continue
        try:
            primary_driver(hypervisor_type).delete_volume(disk.pool, disk.path)
        except (StorageError, ResourceUnavailable) as exc:
            failures.append(f"volume {disk.uuid}: {exc}")
    return failures
