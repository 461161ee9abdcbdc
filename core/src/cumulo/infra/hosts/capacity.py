"""``listCapacity``: capacity totals computed set-based, in one statement.

4.1 keeps an ``op_host_capacity`` table refreshed by a periodic task, host by host. Here
the per-host numbers are materialised on the host row itself (``cpus * speed``,
``total_memory``, ``free_cpu``, ``free_memory``), so a listing is one ``GROUP BY`` over
the sources below, grouped per zone, per pod (``podid``) or per cluster (``clusterid``),
as 4.1's ``ListCapacityCmd`` groups. Other packages add their capacity types
(storage, IP addresses) with :func:`register_source`; a source is a ``SELECT`` of
``type, data_center_id, pod_id, cluster_id, used, total`` rows.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import Select, desc, func, literal, select, union_all
from sqlalchemy.orm import Session, aliased

from cumulo.db.listing import DEFAULT_PAGE_SIZE, fetch_page
from cumulo.infra.hosts.models import Cluster, Host, HostType
from cumulo.infra.models import Pod, Zone
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


register_source(CapacityType.MEMORY, _memory)
register_source(CapacityType.CPU, _cpu)


def capacity_query(
    *,
    capacity_type: int | None = None,
    zone_id: int | None = None,
    pod_id: int | None = None,
    cluster_id: int | None = None,
    sort_by_usage: bool = False,
) -> Select[*tuple[Any, ...]]:
    """The grouped statement: one row per type and zone (pod, cluster when filtered)."""
    sources = [
        build()
        for kind, build in sorted(_SOURCES.items())
        if capacity_type is None or kind == capacity_type
    ]
    rows = union_all(*sources).subquery() if len(sources) > 1 else sources[0].subquery()
    keys: list[Any] = [rows.c.type, rows.c.data_center_id]
    if pod_id is not None or cluster_id is not None:
        keys.append(rows.c.pod_id)
    if cluster_id is not None:
        keys.append(rows.c.cluster_id)
    used, total = func.sum(rows.c.used).label("used"), func.sum(rows.c.total).label("total")
    zone = aliased(Zone)
    columns: list[Any] = [*keys, used, total, zone.uuid.label("zone_uuid"),
                          zone.name.label("zone_name")]  # fmt: skip
    stmt = select(*columns).join(zone, zone.id == rows.c.data_center_id)
    group: list[Any] = [*keys, zone.uuid, zone.name]
    if pod_id is not None or cluster_id is not None:
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
    stmt = stmt.group_by(*group)
    if sort_by_usage:
        ratio = func.sum(rows.c.used) * 1.0 / func.nullif(func.sum(rows.c.total), 0)
        return stmt.order_by(desc(func.coalesce(ratio, 0)), *keys)
    return stmt.order_by(rows.c.data_center_id, *keys[2:], rows.c.type)


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
