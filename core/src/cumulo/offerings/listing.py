"""``listServiceOfferings`` and ``listDiskOfferings``: one statement per page.

The offering row and its domain's public id and name come back together, with the
total as a window column (:func:`cumulo.db.listing.fetch_page`); the caller's
visibility (:mod:`cumulo.offerings.visibility`) is part of the WHERE clause, so paging
and ``count`` only ever cover what the caller may see.

Order as 4.1: by ``sort_key`` (descending unless ``sortkey.algorithm`` is true), then
by id. Filters as 4.1: ``name`` matches exactly, ``keyword`` is a substring of the name
or the display text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import false, or_, select
from sqlalchemy.orm import Session

from cumulo.accounts.models import Domain
from cumulo.db.listing import DEFAULT_PAGE_SIZE, fetch_page
from cumulo.offerings.models import DiskOffering, ServiceOffering
from cumulo.offerings.visibility import visible_clause
from cumulo.sdk.api import CallContext


@dataclass(frozen=True)
class OfferingRow:
    """One listed offering with what its response shows of its domain."""

    offering: Any  # ServiceOffering or DiskOffering
    domain_uuid: str | None
    domain_name: str | None


@dataclass(frozen=True)
class ServiceOfferingFilter:
    """``listServiceOfferings`` filters (``None``: not filtered).

    :param id: the ``id`` parameter as given (UUID or internal id).
    :param domain_id: internal id of ``domainid``'s domain.
    :param is_system: system offerings instead of user ones (4.1 always filters).
    :param exclude_id: leave this offering out (``virtualmachineid``: its current one).
    :param use_local_storage: only offerings of this storage type (``virtualmachineid``).
    """

    id: str | None = None
    name: str | None = None
    keyword: str | None = None
    domain_id: int | None = None
    is_system: bool = False
    system_vm_type: str | None = None
    exclude_id: int | None = None
    use_local_storage: bool | None = None


@dataclass(frozen=True)
class DiskOfferingFilter:
    """``listDiskOfferings`` filters (``None``: not filtered)."""

    id: str | None = None
    name: str | None = None
    keyword: str | None = None
    domain_id: int | None = None


def _by_id(model: Any, value: str) -> Any:
    text = value.strip()
    if text.isdecimal():
        number = int(text)
        return model.id == (number if number < 2**63 else -1)
    return model.uuid == text


def _page(
    session: Session,
    ctx: CallContext,
    model: Any,
    stmt: Any,
    *,
    ascending: bool,
    page: int | None,
    pagesize: int | None,
    max_page_size: int,
) -> tuple[list[OfferingRow], int]:
    order = model.sort_key.asc() if ascending else model.sort_key.desc()
    stmt = stmt.where(model.removed.is_(None), visible_clause(ctx, model.domain_id)).order_by(
        order, model.id
    )
    rows, total = fetch_page(
        session, stmt, page=page, pagesize=pagesize, max_page_size=max_page_size
    )
    return [OfferingRow(row[0], row[1], row[2]) for row in rows], total


def _common(model: Any, where: ServiceOfferingFilter | DiskOfferingFilter) -> Any:
    stmt: Any = select(model, Domain.uuid, Domain.name).outerjoin(
        Domain, Domain.id == model.domain_id
    )
    if where.id is not None:
        stmt = stmt.where(_by_id(model, where.id))
    if where.name is not None:
        stmt = stmt.where(model.name == where.name)
    if where.keyword:
        stmt = stmt.where(
            or_(
                model.name.contains(where.keyword, autoescape=True),
                model.display_text.contains(where.keyword, autoescape=True),
            )
        )
    if where.domain_id is not None:
        stmt = stmt.where(model.domain_id == where.domain_id)
    return stmt


def list_service_offerings(
    session: Session,
    ctx: CallContext,
    where: ServiceOfferingFilter,
    *,
    ascending: bool = False,
    page: int | None = None,
    pagesize: int | None = None,
    max_page_size: int = DEFAULT_PAGE_SIZE,
) -> tuple[list[OfferingRow], int]:
    """A page of the live service offerings ``ctx`` may see, and their total (one
    statement).

    :param ascending: ``sortkey.algorithm``.
    """
    stmt = _common(ServiceOffering, where).where(ServiceOffering.system_use == where.is_system)
    if where.system_vm_type is not None:
        stmt = stmt.where(ServiceOffering.vm_type == where.system_vm_type)
    if where.exclude_id is not None:
        stmt = stmt.where(ServiceOffering.id != where.exclude_id)
    if where.use_local_storage is not None:
        stmt = stmt.where(ServiceOffering.use_local_storage == where.use_local_storage)
    return _page(
        session,
        ctx,
        ServiceOffering,
        stmt,
        ascending=ascending,
        page=page,
        pagesize=pagesize,
        max_page_size=max_page_size,
    )


def list_disk_offerings(
    session: Session,
    ctx: CallContext,
    where: DiskOfferingFilter,
    *,
    ascending: bool = False,
    page: int | None = None,
    pagesize: int | None = None,
    max_page_size: int = DEFAULT_PAGE_SIZE,
) -> tuple[list[OfferingRow], int]:
    """A page of the live, non-system disk offerings ``ctx`` may see, and their total
    (one statement)."""
    stmt = _common(DiskOffering, where).where(DiskOffering.system_use == false())
    return _page(
        session,
        ctx,
        DiskOffering,
        stmt,
        ascending=ascending,
        page=page,
        pagesize=pagesize,
        max_page_size=max_page_size,
    )
