"""``listHosts``: one Core query per page, names and tags included.

The zone, pod and cluster names come from outer joins (secondary storage hosts have no
cluster, some no pod); the tags from a correlated ``GROUP_CONCAT`` (SQLite and MariaDB
both join with ``,`` by default); whether a host is an HA host (REQ-HOST-07) from an
``EXISTS`` on the ``ha.tag`` tag. Rows are plain mappings, not ORM objects: the page
is rendered straight into response fields (DESIGN.md §3, hot list paths).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, exists, false, func, select
from sqlalchemy.orm import Session, aliased

from cumulo.db.listing import DEFAULT_PAGE_SIZE, fetch_page
from cumulo.infra.hosts.models import Cluster, Host, HostTag
from cumulo.infra.models import Pod, Zone
from cumulo.sdk.errors import InvalidParameterValue

DETAILS = ("min", "all", "capacity", "events", "stats")
"""The values 4.1 accepts in ``listHosts details=``."""


@dataclass(frozen=True)
class HostFilter:
    """``listHosts`` filters; ``None`` means "any"."""

    host_id: int | None = None
    name: str | None = None
    zone_id: int | None = None
    pod_id: int | None = None
    cluster_id: int | None = None
    type: str | None = None
    state: str | None = None
    resource_state: str | None = None
    ha_host: bool | None = None
    keyword: str | None = None


def check_details(values: list[str] | None) -> None:
    """431 naming ``details`` for a value 4.1 does not know."""
    for value in values or ():
        if value.strip().lower() not in DETAILS:
            raise InvalidParameterValue(
                f"Invalid parameter details value={value}: expected one of {', '.join(DETAILS)}"
            )


def _ha_clause(ha_tag: str | None) -> Any:
    if not ha_tag:
        return false()
    tag = aliased(HostTag)
    return exists().where(tag.host_id == Host.id, tag.tag == ha_tag)


def host_query(filters: HostFilter, ha_tag: str | None) -> Select[*tuple[Any, ...]]:
    """The ordered statement of live hosts matching ``filters``, with the extra columns
    :func:`cumulo.infra.hosts.views.host_fields` reads."""
    tags = (
        select(func.group_concat(HostTag.tag))
        .where(HostTag.host_id == Host.id)
        .correlate(Host)
        .scalar_subquery()
    )
    ha = _ha_clause(ha_tag)
    stmt = (
        select(
            *Host.__table__.c,
            Zone.uuid.label("zone_uuid"),
            Zone.name.label("zone_name"),
            Pod.uuid.label("pod_uuid"),
            Pod.name.label("pod_name"),
            Cluster.uuid.label("cluster_uuid"),
            Cluster.name.label("cluster_name"),
            Cluster.cluster_type.label("cluster_type"),
            tags.label("host_tags"),
            ha.label("ha_host"),
        )
        .join(Zone, Host.data_center_id == Zone.id)
        .outerjoin(Pod, Host.pod_id == Pod.id)
        .outerjoin(Cluster, Host.cluster_id == Cluster.id)
        .where(Host.removed.is_(None))
        .order_by(Host.id)
    )
    equal = {
        Host.id: filters.host_id,
        Host.name: filters.name,
        Host.data_center_id: filters.zone_id,
        Host.pod_id: filters.pod_id,
        Host.cluster_id: filters.cluster_id,
        Host.type: filters.type,
        Host.status: filters.state,
        Host.resource_state: filters.resource_state,
    }
    for column, value in equal.items():
        if value is not None:
            stmt = stmt.where(column == value)
    if filters.keyword:
        stmt = stmt.where(Host.name.contains(filters.keyword, autoescape=True))
    if filters.ha_host is not None:
        stmt = stmt.where(ha if filters.ha_host else ~ha)
    return stmt


def host_rows(
    session: Session,
    filters: HostFilter,
    *,
    ha_tag: str | None = None,
    page: int | None = None,
    pagesize: int | None = None,
    max_page_size: int = DEFAULT_PAGE_SIZE,
) -> tuple[list[Mapping[str, Any]], int]:
    """One page of hosts as mappings, and the total: one statement (two past the end)."""
    stmt = host_query(filters, ha_tag)
    names = [column.name for column in stmt.selected_columns]
    rows, total = fetch_page(
        session, stmt, page=page, pagesize=pagesize, max_page_size=max_page_size
    )
    return [dict(zip(names, row, strict=True)) for row in rows], total
