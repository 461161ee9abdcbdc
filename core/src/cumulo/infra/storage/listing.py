"""``listStoragePools``: one statement per page, whatever the page holds.

The pool row, its zone, pod and cluster names and ids, and its tags (aggregated in the
same statement) come back together through :func:`cumulo.db.listing.fetch_page`, which
adds the total count as a window column.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.functions import GenericFunction

from cumulo.db.listing import DEFAULT_PAGE_SIZE, fetch_page
from cumulo.infra.hosts.models import Cluster
from cumulo.infra.models import Pod, Zone
from cumulo.infra.storage.models import StoragePool, StoragePoolTag


class tag_list(GenericFunction[str]):
    """Comma-joined values of a group: ``group_concat`` (SQLite, MariaDB) or
    ``string_agg`` (PostgreSQL)."""

    type = String()
    inherit_cache = True


@compiles(tag_list)
def _group_concat(element: tag_list, compiler: Any, **kw: Any) -> str:
    return f"group_concat({compiler.process(element.clauses, **kw)})"


@compiles(tag_list, "postgresql")
def _string_agg(element: tag_list, compiler: Any, **kw: Any) -> str:
    return f"string_agg({compiler.process(element.clauses, **kw)}, ',')"


@dataclass(frozen=True)
class PoolRow:
    """One pool with what its response shows of its parents."""

    pool: StoragePool
    zone: Zone
    pod: Pod | None
    cluster: Cluster | None
    tags: list[str]


@dataclass(frozen=True)
class PoolFilter:
    """``listStoragePools`` filters (internal ids; ``None``: not filtered)."""

    id: int | None = None
    zone_id: int | None = None
    pod_id: int | None = None
    cluster_id: int | None = None
    name: str | None = None
    ip_address: str | None = None
    path: str | None = None
    keyword: str | None = None


def list_pools(
    session: Session,
    where: PoolFilter,
    *,
    page: int | None = None,
    pagesize: int | None = None,
    max_page_size: int = DEFAULT_PAGE_SIZE,
) -> tuple[list[PoolRow], int]:
    """A page of live pools, ordered by id, and the total (one statement)."""
    pod, cluster = aliased(Pod), aliased(Cluster)
    tags = (
        select(tag_list(StoragePoolTag.tag))
        .where(StoragePoolTag.pool_id == StoragePool.id)
        .correlate(StoragePool)
        .scalar_subquery()
    )
    stmt = (
        select(StoragePool, Zone, pod, cluster, tags)
        .join(Zone, Zone.id == StoragePool.data_center_id)
        .outerjoin(pod, pod.id == StoragePool.pod_id)
        .outerjoin(cluster, cluster.id == StoragePool.cluster_id)
        .where(StoragePool.removed.is_(None))
        .order_by(StoragePool.id)
    )
    for column, value in (
        (StoragePool.id, where.id),
        (StoragePool.data_center_id, where.zone_id),
        (StoragePool.pod_id, where.pod_id),
        (StoragePool.cluster_id, where.cluster_id),
        (StoragePool.host_address, where.ip_address),
        (StoragePool.path, where.path),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    # 4.1 matches name and keyword as substrings (SearchCriteria.Op.LIKE "%x%").
    for text in (where.name, where.keyword):
        if text:
            stmt = stmt.where(StoragePool.name.contains(text, autoescape=True))
    rows, total = fetch_page(
        session, stmt, page=page, pagesize=pagesize, max_page_size=max_page_size
    )
    return [
        PoolRow(row[0], row[1], row[2], row[3], sorted(row[4].split(",")) if row[4] else [])
        for row in rows
    ], total
