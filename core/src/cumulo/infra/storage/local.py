"""Host-local primary storage (REQ-PS-06): the pools a host brings with it.

A hypervisor driver reports the host's own storage for VM volumes when it connects
(:attr:`cumulo.sdk.hypervisor.HostInfo.local_storage`: KVM's local directory pool,
XenServer's local SR, VMware's local datastores). ``addHost`` (and the hosts
``addCluster`` imports) and ``reconnectHost`` turn each into a primary storage pool of
scope ``HOST`` in the host's zone, pod and cluster, named ``<host name> Local
Storage`` and ``Up``, its size and use materialised on the row like any pool's, as 4.1's
``LocalStoragePoolListener`` does. The pool's uuid is the storage's own uuid on the
host, as in 4.1: it is the key that makes every later connect find the pool again
(idempotent), and it is what a storage driver is given to address the pool.

As in 4.1 the pools are made whatever the zone's ``localstorageenabled`` says; only
deployment looks at it (a ``storagetype=local`` offering is refused in a zone without
local storage). A storage the host no longer reports is left as it is: a disk that
vanished for one reconnect must not take its volumes' pool away.

``deleteHost`` removes the host's local pools with it (:func:`remove_local_pools`).
4.1 destroys the VMs whose volumes are on them (``forcedestroylocalstorage``, true by
default); cumulo refuses instead, with a 431 saying which pool still holds how many
volumes, so deleting a host never destroys user data as a side effect.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from cumulo.db.base import Base, utcnow
from cumulo.infra.hosts.models import Host
from cumulo.infra.storage.models import (
    PoolScope,
    StoragePool,
    StoragePoolDetail,
    StoragePoolStatus,
    StoragePoolTag,
)
from cumulo.sdk.errors import InternalError, InvalidParameterValue
from cumulo.sdk.hypervisor import LocalStorage

NAME_SUFFIX = " Local Storage"
"""4.1 names a host's local pool ``<host name> Local Storage``."""
MAX_UUID = 40
"""The pool's uuid column holds 40 characters."""
_GONE_VOLUME_STATES = ("Expunged",)
"""Volume states whose bits are gone from their pool."""


def local_pool_name(host_name: str) -> str:
    """The name 4.1 gives a host's local pool (cut to the column's 255 characters)."""
    return host_name[: 255 - len(NAME_SUFFIX)] + NAME_SUFFIX


def _check_report(host: Host, storages: Sequence[LocalStorage]) -> None:
    """What the driver reported must be usable as pools: a driver bug is a 530."""
    seen: set[str] = set()
    for storage in storages:
        uuid = storage.uuid.strip()
        if not uuid or len(uuid) > MAX_UUID or uuid in seen:
            raise InternalError(
                f"the {host.hypervisor_type} driver reported local storage of host {host.name}"
                f" with an unusable uuid {storage.uuid!r} (empty, longer than {MAX_UUID}"
                " characters, or reported twice)"
            )
        if storage.total_bytes < 0 or not storage.path.strip():
            raise InternalError(
                f"the {host.hypervisor_type} driver reported local storage {uuid} of host"
                f" {host.name} without a path or with a negative size"
            )
        seen.add(uuid)


def _check_conflicts(
    session: Session, host: Host, storages: Sequence[LocalStorage], pools: dict[str, StoragePool]
) -> None:
    """Refuse what would make two pools of one storage (431 naming ``url``)."""
    for storage in storages:
        pool = pools.get(storage.uuid.strip())
        if pool is None or pool.removed is not None:
            continue
        if pool.scope != PoolScope.HOST.value or pool.host_id != host.id:
            owner = session.get(Host, pool.host_id) if pool.host_id is not None else None
            whose = f"host {owner.name}" if owner is not None else "a shared pool"
            raise InvalidParameterValue(
                f"Invalid parameter url value={host.url}: the host's local storage"
                f" {storage.uuid} is already storage pool '{pool.name}' of {whose}; hosts"
                " cloned from one image report the same storage uuid: give this host's"
                " storage an identity of its own (e.g. redefine its libvirt pool)"
            )
    paths = {storage.path.strip() for storage in storages}
    taken = session.execute(
        select(StoragePool.name, StoragePool.path).where(
            StoragePool.removed.is_(None),
            StoragePool.host_address == host.private_ip_address,
            StoragePool.path.in_(paths),
            StoragePool.port == 0,
            StoragePool.uuid.not_in([storage.uuid.strip() for storage in storages]),
        )
    ).first()
    if taken is not None:
        raise InvalidParameterValue(
            f"Invalid parameter url value={host.url}: local storage path {taken.path} of"
            f" {host.private_ip_address} is already storage pool '{taken.name}'"
        )


def _place(pool: StoragePool, host: Host, storage: LocalStorage) -> None:
    """Copy where the host is and what it reported onto ``pool``."""
    total = max(0, storage.total_bytes)
    pool.data_center_id = host.data_center_id
    pool.pod_id = host.pod_id
    pool.cluster_id = host.cluster_id
    pool.host_id = host.id
    pool.host_address = host.private_ip_address or ""
    pool.path = storage.path.strip()
    pool.pool_type = storage.pool_type or "Filesystem"
    pool.capacity_bytes = total
    pool.used_bytes = min(max(0, storage.used_bytes), total)
    pool.update_time = utcnow()


def sync_local_pools(
    session: Session, host: Host, storages: Sequence[LocalStorage]
) -> list[StoragePool]:
    """Create or refresh the local pools of ``host`` from what its driver reported
    (module docstring); two statements, plus the writes, however many it reports.

    A pool seen before is refreshed (size, use, path, type; its state is kept, so a pool
    in maintenance stays in it); one removed with its host before comes back ``Up``
    under its old id; a new one is created ``Up``.

    :raises InvalidParameterValue: the storage is another host's (or shared) pool, or
        its path is already a pool of this address (431 naming ``url``).
    :raises InternalError: the driver's report is unusable (530).
    """
    if not storages:
        return []
    _check_report(host, storages)
    uuids = [storage.uuid.strip() for storage in storages]
    pools = {
        pool.uuid: pool
        for pool in session.scalars(select(StoragePool).where(StoragePool.uuid.in_(uuids)))
    }
    _check_conflicts(session, host, storages, pools)
    result = []
    for storage in storages:
        pool = pools.get(storage.uuid.strip())
        if pool is None:
            pool = StoragePool(
                uuid=storage.uuid.strip(),
                name=local_pool_name(host.name),
                port=0,
                scope=PoolScope.HOST.value,
                status=StoragePoolStatus.UP.value,
                allocated_bytes=0,
            )
            session.add(pool)
        elif pool.removed is not None:
            # The same disk, back with its host: its old id again, nothing claimed on it.
            pool.removed = None
            pool.removed_key = 0
            pool.name = local_pool_name(host.name)
            pool.status = StoragePoolStatus.UP.value
            pool.allocated_bytes = 0
        _place(pool, host, storage)
        result.append(pool)
    session.flush()
    return result


def live_volume_counts(session: Session, pool_ids: Sequence[int]) -> dict[int, int]:
    """Volumes still holding bits on each pool (not expunged), in one statement; empty
    when the volumes package is not installed."""
    volumes = Base.metadata.tables.get("volumes")
    if volumes is None or not pool_ids:
        return {}
    rows = session.execute(
        select(volumes.c.pool_id, func.count())
        .where(
            volumes.c.pool_id.in_(list(pool_ids)),
            volumes.c.removed.is_(None),
            volumes.c.state.not_in(_GONE_VOLUME_STATES),
        )
        .group_by(volumes.c.pool_id)
    )
    return {int(pool_id): int(count) for pool_id, count in rows}


def remove_local_pools(session: Session, host: Host) -> list[StoragePool]:
    """Remove the local pools of ``host`` (``deleteHost``): soft-deleted, their tags and
    details gone, their uuid kept so that the same disk added again gets them back.

    :raises InvalidParameterValue: a pool still holds volumes (431 naming ``id``).
    """
    pools = list(
        session.scalars(
            select(StoragePool).where(
                StoragePool.host_id == host.id,
                StoragePool.scope == PoolScope.HOST.value,
                StoragePool.removed.is_(None),
            )
        )
    )
    if not pools:
        return []
    counts = live_volume_counts(session, [pool.id for pool in pools])
    busy = [(pool, counts[pool.id]) for pool in pools if counts.get(pool.id)]
    if busy:
        shown = ", ".join(f"'{pool.name}' holds {count}" for pool, count in busy)
        raise InvalidParameterValue(
            f"Invalid parameter id value={host.uuid}: the local storage of host {host.name}"
            f" still holds volumes ({shown}); destroy and expunge the VMs and volumes on"
            " it first: deleting a host never destroys user data (4.1 would, with"
            " forcedestroylocalstorage)"
        )
    ids = [pool.id for pool in pools]
    session.execute(delete(StoragePoolTag).where(StoragePoolTag.pool_id.in_(ids)))
    session.execute(delete(StoragePoolDetail).where(StoragePoolDetail.pool_id.in_(ids)))
    now = utcnow()
    for pool in pools:
        pool.status = StoragePoolStatus.REMOVED.value
        pool.removed = now
        pool.removed_key = pool.id
    session.flush()
    return pools
