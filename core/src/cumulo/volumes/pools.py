"""Where a volume goes on primary storage, and reaching it through the storage driver.

:func:`claim_pool` is a first-fit allocation for one disk outside a VM deployment
(attaching an unplaced volume, a volume made from a snapshot, a migration): the live
``Up`` pools of a cluster (or of a zone) whose tags include the disk offering's, in id
order, each tried with one conditional ``UPDATE``::

    UPDATE storage_pool SET allocated_bytes = allocated_bytes + :size
     WHERE id = :id AND allocated_bytes + :size <= capacity_bytes * :factor

the same claim placement makes for a deployment (``allocated_bytes`` counts what volumes
reserve, apart from the driver-reported ``used_bytes``;
``storage.overprovisioning.factor`` applies to NFS and VMFS pools), so two
concurrent allocations never over-commit a pool. :func:`release_pool` gives it back.
Placement (:mod:`cumulo.placement`) exposes no single-disk allocation, hence this one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from cumulo.infra.hosts.models import Cluster, Host, HostDetail, HostStatus, HostType
from cumulo.infra.storage.drivers import primary_driver
from cumulo.infra.storage.listing import tag_list
from cumulo.infra.storage.models import (
    PoolScope,
    StoragePool,
    StoragePoolStatus,
    StoragePoolTag,
)
from cumulo.infra.storage.pools import pool_url
from cumulo.placement.service import release_pool as _release
from cumulo.sdk.errors import InsufficientCapacity, ResourceUnavailable
from cumulo.sdk.hypervisor import HostConnection
from cumulo.sdk.storage import PoolRef, PrimaryStorageDriver, StorageError

OVERPROVISIONING_KEY = "storage.overprovisioning.factor"
DEFAULT_OVERPROVISIONING = 2.0
OVERPROVISIONED_TYPES = frozenset({"NetworkFilesystem", "VMFS"})
"""Pool types whose capacity may be over-committed (thin provisioned), as placement."""

_T = TypeVar("_T")


@dataclass(frozen=True)
class PoolTarget:
    """A pool as a driver call needs it: the row's id, its reference and driver."""

    pool_id: int
    pod_id: int | None
    cluster_id: int | None
    hypervisor_type: str
    ref: PoolRef

    @property
    def driver(self) -> PrimaryStorageDriver:
        """The primary storage driver of the pool's cluster's hypervisor."""
        return primary_driver(self.hypervisor_type)


def pool_hosts(
    session: Session, pools: Sequence[StoragePool], first_host_id: int | None = None
) -> dict[int, tuple[HostConnection, ...]]:
    """The ``Up`` hosts that reach each pool (its cluster's, or a local pool's own
    host), by pool id, for :attr:`PoolRef.hosts`: host ``first_host_id`` first, then
    in id order. One statement (``host.cluster_id`` is indexed), whatever the number
    of pools; no password is read (the contract's connections carry none).
    """
    clusters = {p.cluster_id for p in pools if p.scope != PoolScope.HOST.value}
    owners = {p.host_id for p in pools if p.scope == PoolScope.HOST.value}
    clusters.discard(None)
    owners.discard(None)
    if not clusters and not owners:
        return {p.id: () for p in pools}
    found_rows = session.execute(
        select(
            Host.id,
            Host.cluster_id,
            Host.url,
            Host.data_center_id,
            Host.pod_id,
            HostDetail.value,
        )
        .outerjoin(HostDetail, and_(HostDetail.host_id == Host.id, HostDetail.name == "username"))
        .where(
            or_(Host.cluster_id.in_(list(clusters)), Host.id.in_(list(owners))),
            Host.status == HostStatus.UP.value,
            Host.type == HostType.ROUTING.value,
            Host.removed.is_(None),
        )
        .order_by(Host.id)
    ).all()
    rows = sorted(found_rows, key=lambda row: row[0] != first_host_id)  # stable: id order
    found: dict[int, tuple[HostConnection, ...]] = {}
    for pool in pools:
        local = pool.scope == PoolScope.HOST.value
        found[pool.id] = tuple(
            HostConnection(
                url=url or "",
                username=username or "",
                zone_id=zone_id,
                pod_id=pod_id,
                cluster_id=cluster_id,
            )
            for host_id, cluster_id, url, zone_id, pod_id, username in rows
            if (host_id == pool.host_id if local else cluster_id == pool.cluster_id)
        )
    return found


def pool_ref(session: Session, pool: StoragePool, *, first_host_id: int | None = None) -> PoolRef:
    """The driver's reference to ``pool`` with the hosts that reach it
    (:func:`pool_hosts`: one statement)."""
    hosts = pool_hosts(session, [pool], first_host_id)[pool.id]
    return PoolRef(pool.uuid, pool_url(pool), hosts=hosts)


def target_of(
    session: Session, pool: StoragePool, *, first_host_id: int | None = None
) -> PoolTarget:
    """The driver's view of ``pool`` (two statements: its cluster's hypervisor, and
    the hosts that reach it)."""
    hypervisor = (
        session.scalar(select(Cluster.hypervisor_type).where(Cluster.id == pool.cluster_id))
        if pool.cluster_id is not None
        else None
    )
    ref = pool_ref(session, pool, first_host_id=first_host_id)
    return PoolTarget(pool.id, pool.pod_id, pool.cluster_id, hypervisor or "", ref)


def target_by_id(session: Session, pool_id: int) -> PoolTarget:
    """:func:`target_of` the pool with internal id ``pool_id``.

    :raises ResourceUnavailable: the pool is gone (534).
    """
    pool = session.get(StoragePool, pool_id)
    if pool is None or pool.removed is not None:
        raise ResourceUnavailable(f"storage pool id={pool_id} no longer exists")
    return target_of(session, pool)


def overprovisioning(services: Any, session: Session) -> float:
    """``storage.overprovisioning.factor`` as this transaction reads it (2 when unset
    or when no runtime is at hand)."""
    runtime = services.get("runtime") if services else None
    if runtime is None:
        return DEFAULT_OVERPROVISIONING
    value = runtime.config_store(session).value(OVERPROVISIONING_KEY)
    try:
        return float(value) if value else DEFAULT_OVERPROVISIONING
    except ValueError:
        return DEFAULT_OVERPROVISIONING


def split_tags(tags: str | None) -> frozenset[str]:
    """A comma-separated tag list as a set (blank items dropped)."""
    return frozenset(t.strip() for t in (tags or "").split(",") if t.strip())


def claim_pool(
    session: Session,
    *,
    zone_id: int,
    size: int,
    tags: frozenset[str] = frozenset(),
    local: bool = False,
    cluster_id: int | None = None,
    factor: float = DEFAULT_OVERPROVISIONING,
    avoid: Sequence[int] = (),
) -> StoragePool:
    """Reserve ``size`` bytes on the first pool that fits (module doc), in the caller's
    transaction; the candidates cost one statement, each claim one more.

    :param cluster_id: only pools of this cluster (the VM's); else any in the zone.
    :param local: host-local pools (``use_local_storage`` offerings) instead of shared.
    :param avoid: pool ids not to use (the source of a migration).
    :raises InsufficientCapacity: no pool matches or none has room (533), saying why.
    """
    pool_tags = (
        select(tag_list(StoragePoolTag.tag))
        .where(StoragePoolTag.pool_id == StoragePool.id)
        .correlate(StoragePool)
        .scalar_subquery()
    )
    stmt = (
        select(StoragePool, pool_tags)
        .where(
            StoragePool.data_center_id == zone_id,
            StoragePool.removed.is_(None),
            StoragePool.status == StoragePoolStatus.UP.value,
            StoragePool.scope == (PoolScope.HOST if local else PoolScope.CLUSTER).value,
        )
        .order_by(StoragePool.id)
    )
    if cluster_id is not None:
        stmt = stmt.where(StoragePool.cluster_id == cluster_id)
    if avoid:
        stmt = stmt.where(StoragePool.id.not_in(list(avoid)))
    candidates = [pool for pool, found in session.execute(stmt) if tags <= split_tags(found)]
    for pool in candidates:
        scale = factor if pool.pool_type in OVERPROVISIONED_TYPES else 1.0
        won = session.execute(
            update(StoragePool)
            .where(
                StoragePool.id == pool.id,
                StoragePool.allocated_bytes + size <= StoragePool.capacity_bytes * scale,
            )
            .values(allocated_bytes=StoragePool.allocated_bytes + size)
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
        if won:
            session.expire(pool, ["allocated_bytes"])
            chosen: StoragePool = pool
            return chosen
    where = "the VM's cluster" if cluster_id is not None else "the zone"
    tagged = f" with storage tags {','.join(sorted(tags))}" if tags else ""
    kind = "host-local" if local else "shared"
    if not candidates:
        raise InsufficientCapacity(
            f"Unable to find a {kind} primary storage pool{tagged} that is Up in {where}"
        )
    raise InsufficientCapacity(
        f"No {kind} primary storage pool{tagged} in {where} has {size} bytes free"
        f" ({len(candidates)} pools examined)"
    )


def claim_on(session: Session, pool: StoragePool, size: int, factor: float) -> bool:
    """Reserve ``size`` more bytes on ``pool`` (a grown volume); ``False``: no room."""
    scale = factor if pool.pool_type in OVERPROVISIONED_TYPES else 1.0
    return bool(
        session.execute(
            update(StoragePool)
            .where(
                StoragePool.id == pool.id,
                StoragePool.allocated_bytes + size <= StoragePool.capacity_bytes * scale,
            )
            .values(allocated_bytes=StoragePool.allocated_bytes + size)
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
    )


def release_pool(session: Session, pool_id: int | None, size: int) -> None:
    """Give ``size`` bytes back to a pool (never below zero); nothing without a pool."""
    if pool_id is not None and size > 0:
        _release(session, pool_id, size)


def on_storage(what: str, operation: Callable[[], _T]) -> _T:
    """Run a storage driver call; its errors become 534 naming ``what``."""
    try:
        return operation()
    except StorageError as exc:
        raise ResourceUnavailable(f"{what}: {exc}") from exc
