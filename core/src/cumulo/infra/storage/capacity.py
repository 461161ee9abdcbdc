"""Primary storage capacity totals for ``listCapacity``, set-based (DESIGN.md §3).

One ``GROUP BY`` over the materialised ``capacity_bytes``, ``used_bytes`` (what the
drivers report) and ``allocated_bytes`` (what volumes reserve) columns of
``storage_pool`` gives every zone's (pod's, cluster's) totals at once, however many
pools there are; nothing asks a driver. ``listCapacity`` shows them as 4.1's capacity
types 2 (``CAPACITY_TYPE_STORAGE``: used of total) and 3
(``CAPACITY_TYPE_STORAGE_ALLOCATED``: allocated to volumes of total).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import func, null, select
from sqlalchemy.orm import Session

from cumulo.infra.storage.models import PoolScope, StoragePool, StoragePoolStatus

CAPACITY_TYPE_STORAGE = 2
CAPACITY_TYPE_STORAGE_ALLOCATED = 3

GroupBy = Literal["zone", "pod", "cluster"]


@dataclass(frozen=True)
class PoolCapacity:
    """Totals of the live shared pools of one zone (pod, cluster), in bytes.

    :param zone_id: internal zone id.
    :param pod_id: internal pod id (``None`` when grouped by zone).
    :param cluster_id: internal cluster id (``None`` unless grouped by cluster).
    :param total_bytes: the pools' capacity.
    :param used_bytes: what the storage reports as used (type 2).
    :param allocated_bytes: what volumes reserve, the pools' claims (type 3).
    """

    zone_id: int
    pod_id: int | None
    cluster_id: int | None
    total_bytes: int
    used_bytes: int
    allocated_bytes: int


def pool_capacity_totals(
    session: Session,
    *,
    zone_id: int | None = None,
    pod_id: int | None = None,
    cluster_id: int | None = None,
    by: GroupBy = "zone",
) -> list[PoolCapacity]:
    """Primary storage totals per zone, pod or cluster, in one statement.

    Pools being removed do not count; pools in maintenance still do (their capacity
    comes back when maintenance ends), as in 4.1. Host-local pools are left out: they
    are 4.1's separate type 9 (local storage).

    :param zone_id: only this zone (internal id); likewise ``pod_id``, ``cluster_id``.
    :param by: the grouping; rows are ordered by zone, pod, cluster.
    """
    grouped: list[Any] = {
        "zone": [],
        "pod": [StoragePool.pod_id],
        "cluster": [StoragePool.pod_id, StoragePool.cluster_id],
    }[by]
    shown = [*grouped, *[null()] * (2 - len(grouped))]
    stmt = (
        select(
            StoragePool.data_center_id,
            *shown,
            func.coalesce(func.sum(StoragePool.capacity_bytes), 0),
            func.coalesce(func.sum(StoragePool.used_bytes), 0),
            func.coalesce(func.sum(StoragePool.allocated_bytes), 0),
        )
        .where(
            StoragePool.removed.is_(None),
            StoragePool.status != StoragePoolStatus.REMOVED.value,
            StoragePool.scope == PoolScope.CLUSTER.value,
        )
        .group_by(StoragePool.data_center_id, *grouped)
        .order_by(StoragePool.data_center_id, *grouped)
    )
    if zone_id is not None:
        stmt = stmt.where(StoragePool.data_center_id == zone_id)
    if pod_id is not None:
        stmt = stmt.where(StoragePool.pod_id == pod_id)
    if cluster_id is not None:
        stmt = stmt.where(StoragePool.cluster_id == cluster_id)
    return [
        PoolCapacity(int(zone), pod, cluster, int(total), int(used), int(allocated))
        for zone, pod, cluster, total, used, allocated in session.execute(stmt)
    ]
