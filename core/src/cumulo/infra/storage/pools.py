"""Primary storage pools: add, re-tag, maintenance, delete (REQUIREMENTS CAP-14).

Services work in the caller's transaction and never commit; they return what the
command needs to answer and to record (warnings for events). The driver is asked for
the pool's capacity when it is added, and the answer is materialised on the row.

Rules (each a 431 naming the parameter at fault):

- the pod must be in the zone and the cluster in the pod (REQ-OM-01);
- the URL must be valid for its protocol, and the protocol usable by the cluster's
  hypervisor (:mod:`.urls`, seed table §17.1);
- the cluster must already have hosts (REQ-PS-02);
- one export is one pool, cloud-wide;
- the zone's clusters keep the same storage tags (REQ-PS-03, :mod:`.tags`).

REQ-PS-04 (adding storage destroys the data on it) cannot be a question in an API: the
command's description says it, and every pool added records a ``WARN`` event saying
the target had to be empty, so the warning reaches the operator's event list.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from cumulo.crypto import DEFAULT_ALGORITHM, encrypt, wrap_enc
from cumulo.db.base import utcnow
from cumulo.infra.hosts.models import Cluster, Host, HostType
from cumulo.infra.models import Pod, Zone
from cumulo.infra.storage import drivers, urls
from cumulo.infra.storage.models import (
    PoolScope,
    StoragePool,
    StoragePoolDetail,
    StoragePoolStatus,
    StoragePoolTag,
)
from cumulo.infra.storage.tags import check_zone_tags, normalise_tags
from cumulo.sdk.errors import InvalidParameterValue, ResourceUnavailable
from cumulo.sdk.hypervisor import HostConnection
from cumulo.sdk.storage import PoolRef, StorageCapacity, StorageError

DATA_LOSS_WARNING = (
    "Adding primary storage destroys any data already on it: the target must be empty (REQ-PS-04)."
)

# From these states an operator may put a pool into maintenance (4.1 also retries a
# failed attempt) and cancel it.
_CAN_ENTER = (StoragePoolStatus.UP.value, StoragePoolStatus.ERROR_IN_MAINTENANCE.value)
_CAN_CANCEL = (
    StoragePoolStatus.MAINTENANCE.value,
    StoragePoolStatus.PREPARE_FOR_MAINTENANCE.value,
    StoragePoolStatus.ERROR_IN_MAINTENANCE.value,
)


@dataclass
class PoolChange:
    """A pool after a service acted on it, and what the operator should be told.

    :param pool: the row (flushed).
    :param warnings: differences left between clusters' tag sets (REQ-PS-03).
    """

    pool: StoragePool
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Secrets:
    """The database key and algorithm that encrypt RBD credentials on the row."""

    key: str
    algorithm: str = DEFAULT_ALGORITHM

    def seal(self, value: str) -> str:
        """``value`` as stored: ``ENC(...)``, or plain under encryption type ``none``."""
        return wrap_enc(encrypt(value, self.key, self.algorithm)) if self.key else value


def _check_placement(zone: Zone, pod: Pod, cluster: Cluster) -> None:
    if pod.data_center_id != zone.id:
        raise InvalidParameterValue(f"podid: pod '{pod.name}' is not in zone '{zone.name}'")
    if cluster.pod_id != pod.id:
        raise InvalidParameterValue(
            f"clusterid: cluster '{cluster.name}' is not in pod '{pod.name}'"
        )


def _check_has_hosts(session: Session, cluster: Cluster) -> None:
    """REQ-PS-02: "primary storage cannot be added without adding hosts to the cluster"."""
    has_host = session.scalar(
        select(Host.id)
        .where(
            Host.cluster_id == cluster.id,
            Host.type == HostType.ROUTING.value,
            Host.removed.is_(None),
        )
        .limit(1)
    )
    if has_host is None:
        raise InvalidParameterValue(
            f"clusterid: cluster '{cluster.name}' has no hosts; primary storage can be added"
            " only to a cluster that already has hosts (REQ-PS-02)"
        )


def _check_unused(session: Session, location: urls.PoolLocation, url: str) -> None:
    taken = session.scalar(
        select(StoragePool.name).where(
            StoragePool.host_address == location.host_address,
            StoragePool.path == location.path,
            StoragePool.port == location.port,
            StoragePool.removed.is_(None),
        )
    )
    if taken is not None:
        raise InvalidParameterValue(
            f"url: '{urls.masked(url)}' is already used by storage pool '{taken}'"
        )


def create_pool(
    session: Session,
    *,
    zone: Zone,
    pod: Pod,
    cluster: Cluster,
    name: str,
    url: str,
    tags: str | None,
    details: Mapping[str, str],
    secrets: Secrets,
) -> PoolChange:
    """``createStoragePool``: validate (module docstring), ask the driver to attach the
    pool, and store it with the capacity the driver reported.

    :raises InvalidParameterValue: a rule is broken (431 naming the parameter).
    :raises ResourceUnavailable: no driver, or the storage did not answer (534).
    """
    if not name.strip():
        raise InvalidParameterValue("name: the storage pool name must not be empty")
    location = urls.parse_pool_url(url)
    _check_placement(zone, pod, cluster)
    urls.check_hypervisor(location, cluster.hypervisor_type)
    _check_has_hosts(session, cluster)
    _check_unused(session, location, url)
    tag_list = normalise_tags(tags)
    warnings = check_zone_tags(
        session,
        zone_id=zone.id,
        cluster_id=cluster.id,
        tags=tag_list,
        cluster_names={cluster.id: cluster.name},
    )
    driver = drivers.primary_driver(cluster.hypervisor_type)
    pool = StoragePool(
        name=name.strip(),
        pool_type=location.pool_type.value,
        port=location.port,
        data_center_id=zone.id,
        pod_id=pod.id,
        cluster_id=cluster.id,
        host_address=location.host_address,
        path=location.path,
        user_info=secrets.seal(location.user_info) if location.user_info else None,
        status=StoragePoolStatus.UP.value,
    )
    session.add(pool)
    session.flush()  # the uuid the driver is told about
    reference = PoolRef(pool.uuid, url.strip(), dict(details), hosts=_pool_hosts(session, pool))

    def attach() -> StorageCapacity:
        driver.validate_url(reference.url, reference.details)
        return driver.attach_pool(reference)

    capacity = drivers.reach(attach, f"storage pool '{pool.name}'")
    pool.capacity_bytes = capacity.total_bytes
    pool.used_bytes = capacity.used_bytes
    pool.update_time = utcnow()
    session.add_all(StoragePoolTag(pool_id=pool.id, tag=tag) for tag in tag_list)
    session.add_all(
        StoragePoolDetail(pool_id=pool.id, name=key, value=value) for key, value in details.items()
    )
    session.flush()
    return PoolChange(pool, warnings)


def update_pool_tags(session: Session, pool: StoragePool, tags: list[str] | None) -> PoolChange:
    """``updateStoragePool``: replace the pool's tags (absent ``tags``: no change).

    :raises InvalidParameterValue: REQ-PS-03 (431 naming ``tags``).
    """
    if tags is None:
        return PoolChange(pool)
    tag_list = normalise_tags(tags)
    warnings: list[str] = []
    if pool.cluster_id is not None:
        warnings = check_zone_tags(
            session,
            zone_id=pool.data_center_id,
            cluster_id=pool.cluster_id,
            tags=tag_list,
            pool_id=pool.id,
        )
    session.execute(delete(StoragePoolTag).where(StoragePoolTag.pool_id == pool.id))
    session.add_all(StoragePoolTag(pool_id=pool.id, tag=tag) for tag in tag_list)
    pool.update_time = utcnow()
    session.flush()
    return PoolChange(pool, warnings)


def enable_maintenance(session: Session, pool: StoragePool) -> StoragePool:
    """``enableStorageMaintenance``: Up → PrepareForMaintenance → Maintenance.

    No volume lives on a pool yet, so nothing has to move and the pool reaches
    Maintenance at once; when volumes exist, their VMs are stopped or migrated between
    the two states.

    :raises InvalidParameterValue: the pool is not Up (or ErrorInMaintenance) (431).
    """
    if pool.status not in _CAN_ENTER:
        raise InvalidParameterValue(
            f"id: storage pool '{pool.name}' is {pool.status}; only an Up pool can be put"
            " into maintenance"
        )
    pool.status = StoragePoolStatus.PREPARE_FOR_MAINTENANCE.value
    session.flush()
    pool.status = StoragePoolStatus.MAINTENANCE.value
    pool.update_time = utcnow()
    session.flush()
    return pool


def cancel_maintenance(session: Session, pool: StoragePool) -> StoragePool:
    """``cancelStorageMaintenance``: back to Up.

    :raises InvalidParameterValue: the pool is not in (or entering) maintenance (431).
    """
    if pool.status not in _CAN_CANCEL:
        raise InvalidParameterValue(
            f"id: storage pool '{pool.name}' is {pool.status}, not in maintenance"
        )
    pool.status = StoragePoolStatus.UP.value
    pool.update_time = utcnow()
    session.flush()
    return pool


def delete_pool(session: Session, pool: StoragePool, *, forced: bool = False) -> None:
    """``deleteStoragePool``: remove a pool that is in maintenance, as 4.1 requires.

    The driver detaches the pool first. ``forced`` deletes it even when the storage
    cannot be reached (4.1's ``forced`` also expunges destroyed volumes left on the
    pool; no volumes exist yet). The row is soft-deleted (its tags and details go) and
    its export may be added again.

    :raises InvalidParameterValue: the pool is not in Maintenance (431 naming ``id``).
    :raises ResourceUnavailable: the driver could not detach it and ``forced`` is not
        set (534).
    """
    if pool.status != StoragePoolStatus.MAINTENANCE.value:
        raise InvalidParameterValue(
            f"id: storage pool '{pool.name}' is {pool.status}; put it into maintenance"
            " (enableStorageMaintenance) before deleting it"
        )
    cluster = session.get(Cluster, pool.cluster_id) if pool.cluster_id is not None else None
    if cluster is not None:
        _detach(pool, cluster.hypervisor_type, forced=forced, hosts=_pool_hosts(session, pool))
    session.execute(delete(StoragePoolTag).where(StoragePoolTag.pool_id == pool.id))
    session.execute(delete(StoragePoolDetail).where(StoragePoolDetail.pool_id == pool.id))
    pool.status = StoragePoolStatus.REMOVED.value
    pool.removed = utcnow()
    pool.removed_key = pool.id
    session.flush()


def _pool_hosts(session: Session, pool: StoragePool) -> tuple[HostConnection, ...]:
    """The hosts that reach ``pool``, for :attr:`PoolRef.hosts`."""
    # Imported here: cumulo.volumes.pools imports this module.
    from cumulo.volumes.pools import pool_hosts

    return pool_hosts(session, [pool])[pool.id]


def _detach(
    pool: StoragePool, hypervisor_type: str, *, forced: bool, hosts: tuple[HostConnection, ...]
) -> None:
    reference = PoolRef(pool.uuid, pool_url(pool), hosts=hosts)
    try:
        driver = drivers.primary_driver(hypervisor_type)
        driver.detach_pool(reference)
    except (StorageError, ResourceUnavailable) as exc:
        if not forced:
            raise ResourceUnavailable(
                f"storage pool '{pool.name}' could not be detached ({exc}); delete it with"
                " forced=true to remove it anyway"
            ) from exc


def pool_url(pool: StoragePool) -> str:
    """The pool's URL rebuilt from its columns, without credentials."""
    scheme = {
        urls.PoolType.NETWORK_FILESYSTEM.value: "nfs",
        urls.PoolType.ISCSI_LUN.value: "iscsi",
        urls.PoolType.PRE_SETUP.value: "presetup",
        urls.PoolType.SHARED_MOUNT_POINT.value: "SharedMountPoint",
        urls.PoolType.CLVM.value: "clvm",
        urls.PoolType.RBD.value: "rbd",
        urls.PoolType.VMFS.value: "vmfs",
    }.get(pool.pool_type, "filesystem")
    path = pool.path if pool.path.startswith("/") else "/" + pool.path
    return f"{scheme}://{pool.host_address}{path}"


def live_pool_count(session: Session, cluster_id: int) -> int:
    """Live shared pools of a cluster (REQ-PS-01: a cluster needs at least one); its
    hosts' local pools do not count."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(StoragePool)
            .where(
                StoragePool.cluster_id == cluster_id,
                StoragePool.scope == PoolScope.CLUSTER.value,
                StoragePool.removed.is_(None),
            )
        )
        or 0
    )
