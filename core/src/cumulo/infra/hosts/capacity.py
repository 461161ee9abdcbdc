"""``listCapacity``: capacity totals computed set-based, in one statement.

4.1 keeps an ``op_host_capacity`` table refreshed by a periodic task, host by host. Here
the per-host numbers are materialised on the host row itself (``cpus * speed``,
``total_memory``, ``free_cpu``, ``free_memory``), so a listing is one ``GROUP BY`` over
the sources below, grouped per zone, per pod (``podid``) or per cluster (``clusterid``),
as 4.1's ``ListCapacityCmd`` groups. Other packages add their capacity types with
:func:`register_source`; a source is a ``SELECT`` of ``type, data_center_id, pod_id,
cluster_id, used, total`` rows.

Registered here: memory (0) and CPU (1) from the hosts; primary storage (2, used of
total, and 3, allocated to volumes of total) from the pools' materialised columns, with
the rules of :func:`cumulo.infra.storage.capacity.pool_capacity_totals`; public IPs (4)
and direct-attached IPs (8) counted from ``user_ip_address`` by range type; a pod's
reserved system IPs (5) from its range ends; secondary storage (6) from the sizes
measured into each store's ``host_details``; guest VLANs (7) counted from
``op_dc_vnet_alloc`` (taken of all); host-local primary storage (9) from the local
pools' columns. Every source is one ``SELECT`` folded into
the listing's single statement, whatever the number of hosts, pools and addresses.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import BigInteger, Select, case, cast, desc, func, literal, null, select, union_all
from sqlalchemy.orm import Session, aliased

from cumulo.db.listing import DEFAULT_PAGE_SIZE, fetch_page
from cumulo.infra.hosts.models import Cluster, Host, HostDetail, HostType
from cumulo.infra.models import (
    IpState,
    Pod,
    UserIpAddress,
    VlanIpRange,
    VlanType,
    VnetAllocation,
    Zone,
)
from cumulo.infra.storage.models import PoolScope, StoragePool, StoragePoolStatus
from cumulo.sdk.errors import InvalidParameterValue


class CapacityType(enum.IntEnum):
    """4.1's ``Capacity.CAPACITY_TYPE_*`` numbers."""

    MEMORY = 0
    CPU = 1
    STORAGE = 2
    STORAGE_ALLOCATED = 3
    VIRTUAL_NETWORK_PUBLIC_IP = 4
    PRIVATE_IP = 5
    SECONDARY_STORAGE = 6
    VLAN = 7
    DIRECT_ATTACHED_PUBLIC_IP = 8
    LOCAL_STORAGE = 9


Source = Callable[[], Select[*tuple[Any, ...]]]
_SOURCES: dict[int, Source] = {}


def register_source(capacity_type: int, source: Source) -> None:
    """Make ``listCapacity`` include ``capacity_type``, computed by ``source``.

    :param source: builds a ``SELECT`` of ``type``, ``data_center_id``, ``pod_id``,
        ``cluster_id``, ``used``, ``total`` (one row per resource or already summed);
        it must not run anything itself.
    """
    _SOURCES[int(capacity_type)] = source


def _routing_hosts() -> Any:
    return (Host.removed.is_(None), Host.type == HostType.ROUTING.value)


def _memory() -> Select[*tuple[Any, ...]]:
    return select(
        literal(int(CapacityType.MEMORY)).label("type"),
        Host.data_center_id,
        Host.pod_id,
        Host.cluster_id,
        (func.coalesce(Host.total_memory, 0) - Host.free_memory).label("used"),
        func.coalesce(Host.total_memory, 0).label("total"),
    ).where(*_routing_hosts())


def _cpu() -> Select[*tuple[Any, ...]]:
    total = func.coalesce(Host.cpus, 0) * func.coalesce(Host.speed, 0)
    return select(
        literal(int(CapacityType.CPU)).label("type"),
        Host.data_center_id,
        Host.pod_id,
        Host.cluster_id,
        (total - Host.free_cpu).label("used"),
        total.label("total"),
    ).where(*_routing_hosts())


def _live_shared_pools() -> Any:
    # As pool_capacity_totals: pools being removed do not count, pools in maintenance
    # do (their capacity comes back), host-local pools are type 9, not 2/3.
    return (
        StoragePool.removed.is_(None),
        StoragePool.status != StoragePoolStatus.REMOVED.value,
        StoragePool.scope == PoolScope.CLUSTER.value,
    )


def _storage() -> Select[*tuple[Any, ...]]:
    return select(
        literal(int(CapacityType.STORAGE)).label("type"),
        StoragePool.data_center_id,
        StoragePool.pod_id,
        StoragePool.cluster_id,
        func.coalesce(StoragePool.used_bytes, 0).label("used"),
        func.coalesce(StoragePool.capacity_bytes, 0).label("total"),
    ).where(*_live_shared_pools())


def _storage_allocated() -> Select[*tuple[Any, ...]]:
    # What volumes reserve: the pools' allocated_bytes, which placement and volume
    # claims keep (used_bytes is the driver's own figure, type 2).
    return select(
        literal(int(CapacityType.STORAGE_ALLOCATED)).label("type"),
        StoragePool.data_center_id,
        StoragePool.pod_id,
        StoragePool.cluster_id,
        func.coalesce(StoragePool.allocated_bytes, 0).label("used"),
        func.coalesce(StoragePool.capacity_bytes, 0).label("total"),
    ).where(*_live_shared_pools())


def _addresses(capacity_type: CapacityType, vlan_type: VlanType) -> Source:
    """Addresses of one range type: one row per range (a ``GROUP BY`` over the range's
    indexed ``vlan_db_id``), used being the addresses not ``Free``."""

    def source() -> Select[*tuple[Any, ...]]:
        taken = case((UserIpAddress.state == IpState.FREE.value, 0), else_=1)
        return (
            select(
                literal(int(capacity_type)).label("type"),
                VlanIpRange.data_center_id,
                VlanIpRange.pod_id,
                null().label("cluster_id"),
                func.sum(taken).label("used"),
                func.count(UserIpAddress.id).label("total"),
            )
            .join(UserIpAddress, UserIpAddress.vlan_db_id == VlanIpRange.id)
            .where(VlanIpRange.vlan_type == vlan_type.value)
            .group_by(VlanIpRange.id, VlanIpRange.data_center_id, VlanIpRange.pod_id)
        )

    return source


def _private_ips() -> Select[*tuple[Any, ...]]:
    # A pod's reserved system range (start-end, both included). Nothing takes one of
    # its addresses before system VMs exist, so none is used yet.
    return select(
        literal(int(CapacityType.PRIVATE_IP)).label("type"),
        Pod.data_center_id,
        Pod.id.label("pod_id"),
        null().label("cluster_id"),
        literal(0).label("used"),
        (Pod.reserved_end_num - Pod.reserved_start_num + 1).label("total"),
    )


def _secondary_storage() -> Select[*tuple[Any, ...]]:
    # A secondary store is a SecondaryStorage host row whose size addSecondaryStorage
    # measured into host_details (total_size, used_size): two outer joins per store.
    total = aliased(HostDetail)
    used = aliased(HostDetail)
    return (
        select(
            literal(int(CapacityType.SECONDARY_STORAGE)).label("type"),
            Host.data_center_id,
            null().label("pod_id"),
            null().label("cluster_id"),
            func.coalesce(cast(used.value, BigInteger), 0).label("used"),
            func.coalesce(cast(total.value, BigInteger), 0).label("total"),
        )
        .outerjoin(total, (total.host_id == Host.id) & (total.name == "total_size"))
        .outerjoin(used, (used.host_id == Host.id) & (used.name == "used_size"))
        .where(Host.removed.is_(None), Host.type == HostType.SECONDARY_STORAGE.value)
    )


def _vlans() -> Select[*tuple[Any, ...]]:
    # Guest VLANs of the zone's physical networks, one op_dc_vnet_alloc row each; used
    # are those a guest network holds (taken). One GROUP BY over the indexed zone.
    return select(
        literal(int(CapacityType.VLAN)).label("type"),
        VnetAllocation.data_center_id,
        null().label("pod_id"),
        null().label("cluster_id"),
        func.count(VnetAllocation.taken).label("used"),
        func.count(VnetAllocation.id).label("total"),
    ).group_by(VnetAllocation.data_center_id)


def _local_storage() -> Select[*tuple[Any, ...]]:
    # Host-local pools (scope HOST), the same materialised columns as shared ones.
    return select(
        literal(int(CapacityType.LOCAL_STORAGE)).label("type"),
        StoragePool.data_center_id,
        StoragePool.pod_id,
        StoragePool.cluster_id,
        func.coalesce(StoragePool.used_bytes, 0).label("used"),
        func.coalesce(StoragePool.capacity_bytes, 0).label("total"),
    ).where(
        StoragePool.removed.is_(None),
        StoragePool.status != StoragePoolStatus.REMOVED.value,
        StoragePool.scope == PoolScope.HOST.value,
    )


register_source(CapacityType.MEMORY, _memory)
register_source(CapacityType.CPU, _cpu)
register_source(CapacityType.STORAGE, _storage)
register_source(CapacityType.STORAGE_ALLOCATED, _storage_allocated)
register_source(
    CapacityType.VIRTUAL_NETWORK_PUBLIC_IP,
    _addresses(CapacityType.VIRTUAL_NETWORK_PUBLIC_IP, VlanType.VIRTUAL_NETWORK),
)
register_source(CapacityType.PRIVATE_IP, _private_ips)
register_source(
    CapacityType.DIRECT_ATTACHED_PUBLIC_IP,
    _addresses(CapacityType.DIRECT_ATTACHED_PUBLIC_IP, VlanType.DIRECT_ATTACHED),
)
register_source(CapacityType.SECONDARY_STORAGE, _secondary_storage)
register_source(CapacityType.VLAN, _vlans)
register_source(CapacityType.LOCAL_STORAGE, _local_storage)


def capacity_query(
    *,
    capacity_type: int | None = None,
    zone_id: int | None = None,
    pod_id: int | None = None,
    cluster_id: int | None = None,
    sort_by_usage: bool = False,
    zone_ids: Sequence[int] | None = None,
    pod_ids: Sequence[int] | None = None,
) -> Select[*tuple[Any, ...]]:
    """The grouped statement: one row per type and zone (pod, cluster when filtered).

    :param zone_ids: only these zones (``listZones showcapacities``: a page's zones).
    :param pod_ids: only these pods, one row per type and pod (``listPods``).
    """
    sources = [
        build()
        for kind, build in sorted(_SOURCES.items())
        if capacity_type is None or kind == capacity_type
    ]
    rows = union_all(*sources).subquery() if len(sources) > 1 else sources[0].subquery()
    keys: list[Any] = [rows.c.type, rows.c.data_center_id]
    per_pod = pod_id is not None or cluster_id is not None or pod_ids is not None
    if per_pod:
        keys.append(rows.c.pod_id)
    if cluster_id is not None:
        keys.append(rows.c.cluster_id)
    used, total = func.sum(rows.c.used).label("used"), func.sum(rows.c.total).label("total")
    zone = aliased(Zone)
    columns: list[Any] = [*keys, used, total, zone.uuid.label("zone_uuid"),
                          zone.name.label("zone_name")]  # fmt: skip
    stmt = select(*columns).join(zone, zone.id == rows.c.data_center_id)
    group: list[Any] = [*keys, zone.uuid, zone.name]
    if per_pod:
        pod = aliased(Pod)
        stmt = stmt.add_columns(pod.uuid.label("pod_uuid"), pod.name.label("pod_name"))
        stmt = stmt.join(pod, pod.id == rows.c.pod_id)
        group += [pod.uuid, pod.name]
    if cluster_id is not None:
        cluster = aliased(Cluster)
        stmt = stmt.add_columns(
            cluster.uuid.label("cluster_uuid"), cluster.name.label("cluster_name")
        )
        stmt = stmt.join(cluster, cluster.id == rows.c.cluster_id)
        group += [cluster.uuid, cluster.name]
    for column, value in (
        (rows.c.data_center_id, zone_id),
        (rows.c.pod_id, pod_id),
        (rows.c.cluster_id, cluster_id),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    if zone_ids is not None:
        stmt = stmt.where(rows.c.data_center_id.in_(zone_ids))
    if pod_ids is not None:
        stmt = stmt.where(rows.c.pod_id.in_(pod_ids))
    stmt = stmt.group_by(*group)
    if sort_by_usage:
        ratio = func.sum(rows.c.used) * 1.0 / func.nullif(func.sum(rows.c.total), 0)
        return stmt.order_by(desc(func.coalesce(ratio, 0)), *keys)
    return stmt.order_by(rows.c.data_center_id, *keys[2:], rows.c.type)


CLUSTER_LEVEL = (
    CapacityType.MEMORY,
    CapacityType.CPU,
    CapacityType.STORAGE,
    CapacityType.STORAGE_ALLOCATED,
    CapacityType.LOCAL_STORAGE,
)
POD_LEVEL = (CapacityType.PRIVATE_IP,)
ZONE_LEVEL = (
    CapacityType.VIRTUAL_NETWORK_PUBLIC_IP,
    CapacityType.SECONDARY_STORAGE,
    CapacityType.VLAN,
    CapacityType.DIRECT_ATTACHED_PUBLIC_IP,
)
"""The level at which 4.1's capacity checker (``AlertManagerImpl.checkForAlerts``)
compares each type with its threshold: per cluster, per pod, per zone."""


def capacity_by_level() -> Select[*tuple[Any, ...]]:
    """Every registered capacity type summed at its :data:`CLUSTER_LEVEL`,
    :data:`POD_LEVEL` or :data:`ZONE_LEVEL`, with the names of its zone, pod and
    cluster: ONE statement for the whole cloud, whatever the number of hosts, pools,
    clusters and zones (the capacity alerts of :mod:`cumulo.alerts.capacity_check`).

    Rows: ``type, data_center_id, pod_id, cluster_id, used, total, zone_name,
    pod_name, cluster_name`` (``pod_id``/``cluster_id`` NULL above their level).
    """
    sources = [build() for _, build in sorted(_SOURCES.items())]
    rows = (union_all(*sources) if len(sources) > 1 else sources[0]).cte("capacity_rows")
    used, total = func.sum(rows.c.used).label("used"), func.sum(rows.c.total).label("total")
    per_cluster = (
        select(rows.c.type, rows.c.data_center_id, rows.c.pod_id, rows.c.cluster_id, used, total)
        .where(rows.c.type.in_([int(t) for t in CLUSTER_LEVEL]), rows.c.cluster_id.is_not(None))
        .group_by(rows.c.type, rows.c.data_center_id, rows.c.pod_id, rows.c.cluster_id)
    )
    per_pod = (
        select(rows.c.type, rows.c.data_center_id, rows.c.pod_id, null(), used, total)
        .where(rows.c.type.in_([int(t) for t in POD_LEVEL]), rows.c.pod_id.is_not(None))
        .group_by(rows.c.type, rows.c.data_center_id, rows.c.pod_id)
    )
    per_zone = (
        select(rows.c.type, rows.c.data_center_id, null(), null(), used, total)
        .where(rows.c.type.in_([int(t) for t in ZONE_LEVEL]))
        .group_by(rows.c.type, rows.c.data_center_id)
    )
    # The union's columns are named after its first member's.
    levels = union_all(per_cluster, per_pod, per_zone).subquery("levels")
    zone, pod, cluster = aliased(Zone), aliased(Pod), aliased(Cluster)
    return (
        select(
            *levels.c,
            zone.name.label("zone_name"),
            pod.name.label("pod_name"),
            cluster.name.label("cluster_name"),
        )
        .join(zone, zone.id == levels.c.data_center_id)
        .outerjoin(pod, pod.id == levels.c.pod_id)
        .outerjoin(cluster, cluster.id == levels.c.cluster_id)
    )


def list_capacity(
    session: Session,
    *,
    capacity_type: int | None = None,
    zone_id: int | None = None,
    pod_id: int | None = None,
    cluster_id: int | None = None,
    sort_by: str | None = None,
    page: int | None = None,
    pagesize: int | None = None,
    max_page_size: int = DEFAULT_PAGE_SIZE,
) -> tuple[list[Mapping[str, Any]], int]:
    """One page of capacity rows (mappings for :func:`views.capacity_fields`) and the
    total, in one statement.

    :raises InvalidParameterValue: an unknown ``type`` or ``sortby`` (431 naming it).
    """
    if capacity_type is not None and capacity_type not in {int(t) for t in CapacityType}:
        raise InvalidParameterValue(
            f"Invalid parameter type value={capacity_type}: expected 0 to 9"
        )
    if sort_by is not None and sort_by.strip().lower() != "usage":
        raise InvalidParameterValue(
            f"Invalid parameter sortby value={sort_by}: the only sort is Usage"
        )
    if capacity_type is not None and capacity_type not in _SOURCES:
        return [], 0  # nothing in this cloud measures that type yet
    stmt = capacity_query(
        capacity_type=capacity_type,
        zone_id=zone_id,
        pod_id=pod_id,
        cluster_id=cluster_id,
        sort_by_usage=sort_by is not None,
    )
    names = [column.name for column in stmt.selected_columns]
    rows, total = fetch_page(
        session, stmt, page=page, pagesize=pagesize, max_page_size=max_page_size
    )
    return [dict(zip(names, row, strict=True)) for row in rows], total


def capacities_of(
    session: Session, *, zone_ids: Sequence[int] = (), pod_ids: Sequence[int] = ()
) -> dict[int, list[Mapping[str, Any]]]:
    """``showcapacities``: the capacity rows of a page of zones (by zone id) or of pods
    (by pod id), every type, in ONE statement whatever the page size."""
    if not zone_ids and not pod_ids:
        return {}
    if pod_ids:
        stmt = capacity_query(pod_ids=list(pod_ids))
        key = "pod_id"
    else:
        stmt = capacity_query(zone_ids=list(zone_ids))
        key = "data_center_id"
    names = [column.name for column in stmt.selected_columns]
    found: dict[int, list[Mapping[str, Any]]] = {}
    for row in session.execute(stmt):
        values = dict(zip(names, row, strict=True))
        found.setdefault(int(values[key]), []).append(values)
    return found
