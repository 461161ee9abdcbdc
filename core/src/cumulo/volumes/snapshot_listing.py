"""``listSnapshots``: one statement per page (the snapshot with its volume's and owner's
names, and the total count as a window column).

Filters as 4.1's ``SnapshotManagerImpl.listSnapshots``: ``snapshottype`` MANUAL or
RECURRING (any interval); ``intervaltype`` (with a volume, and no ``snapshottype``) one
interval; neither: every type but TEMPLATE. Destroyed snapshots are not listed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Row, and_, false, or_, select
from sqlalchemy.orm import Session

from cumulo.accounts.models import Account, Domain
from cumulo.db.listing import DEFAULT_PAGE_SIZE, fetch_rows
from cumulo.sdk.errors import InvalidParameterValue
from cumulo.volumes.models import Volume
from cumulo.volumes.snapshot_models import IntervalType, Snapshot, SnapshotState, SnapshotType

RECURRING = tuple(interval.name for interval in IntervalType)


@dataclass(frozen=True)
class SnapshotFilter:
    """``listSnapshots`` filters resolved to internal ids (``None``: any)."""

    scope: ColumnElement[bool]
    id: int | None = None
    volume_id: int | None = None
    name: str | None = None
    snapshot_type: str | None = None
    interval_type: str | None = None
    keyword: str | None = None
    nothing: bool = False


def _type_condition(where: SnapshotFilter) -> ColumnElement[bool]:
    if where.snapshot_type is not None:
        kind = where.snapshot_type.strip().upper()
        if kind == SnapshotType.RECURRING.value:
            return Snapshot.snapshot_type.in_(RECURRING)
        if kind not in SnapshotType.__members__:
            raise InvalidParameterValue(
                f"snapshottype: unsupported snapshot type {where.snapshot_type}"
            )
        return Snapshot.snapshot_type == kind
    if where.interval_type is not None and where.volume_id is not None:
        interval = where.interval_type.strip().upper()
        if interval not in RECURRING:
            raise InvalidParameterValue(
                f"intervaltype: unsupported snapshot interval type {where.interval_type}"
            )
        return Snapshot.snapshot_type == interval
    return Snapshot.snapshot_type != SnapshotType.TEMPLATE.value


def list_snapshots(
    session: Session,
    where: SnapshotFilter,
    *,
    page: int | None = None,
    pagesize: int | None = None,
    max_page_size: int = DEFAULT_PAGE_SIZE,
) -> tuple[list[Row[Any]], int]:
    """A page of snapshots, newest first (4.1's order), and the total (one statement)."""
    conditions: list[ColumnElement[bool]] = [
        where.scope,
        Snapshot.removed.is_(None),
        Snapshot.status != SnapshotState.DESTROYED.value,
        _type_condition(where),
    ]
    if where.nothing:
        conditions.append(false())
    if where.id is not None:
        conditions.append(Snapshot.id == where.id)
    if where.volume_id is not None:
        conditions.append(Snapshot.volume_id == where.volume_id)
    if where.name:
        conditions.append(Snapshot.name.contains(where.name, autoescape=True))
    if where.keyword:
        conditions.append(
            or_(
                Snapshot.name.contains(where.keyword, autoescape=True),
                Snapshot.status.contains(where.keyword, autoescape=True),
            )
        )
    stmt = (
        select(
            Snapshot,
            Account.account_name.label("account_name"),
            Domain.uuid.label("domain_uuid"),
            Domain.name.label("domain_name"),
            Volume.uuid.label("volume_uuid"),
            Volume.name.label("volume_name"),
            Volume.volume_type.label("volume_type"),
        )
        .join(Account, Account.id == Snapshot.account_id)
        .join(Domain, Domain.id == Snapshot.domain_id)
        .join(Volume, Volume.id == Snapshot.volume_id)
        .where(and_(*conditions))
        .order_by(Snapshot.created.desc(), Snapshot.id.desc())
    )
    return fetch_rows(
        session,
        stmt,  # type: ignore[arg-type]
        page=page,
        pagesize=pagesize,
        max_page_size=max_page_size,
    )
