"""``listTemplates`` and ``listIsos``: one entry per template and zone, one statement
per page, with 4.1's ``templatefilter`` semantics.

- ``featured``: public and featured; ``community``: public and not featured (public
  meaning within the caller's domain tree, see :mod:`.access`);
- ``self``: owned by the accounts the caller lists (``account``/``domainid``/
  ``listall`` as every list command); ``selfexecutable``: those, ready;
- ``sharedexecutable``: granted to the caller's account by launch permission, ready;
- ``executable``: public, own or granted, ready;
- ``all``: every template for a root admin (system templates included); for anyone
  else what ``executable`` shows, ready or not.

As in 4.1 (``VMTemplateDaoImpl.searchTemplates``' ``onlyReady``) every filter but
``self`` and ``all`` shows only templates downloaded in the zone, so a registration's
progress shows under ``self``. Rows are Core rows read straight by the view.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, and_, or_, select, true
from sqlalchemy.orm import Session

from cumulo.accounts.access import visible_account_ids
from cumulo.accounts.models import Account, Domain
from cumulo.db.listing import DEFAULT_PAGE_SIZE, fetch_rows
from cumulo.infra.models import Zone
from cumulo.sdk.api import CallContext
from cumulo.sdk.errors import InvalidParameterValue
from cumulo.templates.access import public_to, shared_with
from cumulo.templates.models import (
    DownloadState,
    GuestOs,
    TemplateFormat,
    TemplateType,
    TemplateZoneRef,
    VMTemplate,
)


class TemplateFilter(enum.StrEnum):
    """4.1's ``templatefilter``/``isofilter`` values."""

    FEATURED = "featured"
    SELF = "self"
    SELFEXECUTABLE = "selfexecutable"
    SHAREDEXECUTABLE = "sharedexecutable"
    EXECUTABLE = "executable"
    COMMUNITY = "community"
    ALL = "all"

    @classmethod
    def parse(cls, value: str, param: str) -> TemplateFilter:
        """The filter named ``value`` (case-insensitive); 431 naming ``param``."""
        try:
            return cls(value.strip().lower())
        except ValueError:
            raise InvalidParameterValue(
                f"{param}: {value} is not one of {', '.join(f.value for f in cls)}"
            ) from None


_READY_ONLY = {
    TemplateFilter.FEATURED,
    TemplateFilter.COMMUNITY,
    TemplateFilter.EXECUTABLE,
    TemplateFilter.SELFEXECUTABLE,
    TemplateFilter.SHAREDEXECUTABLE,
}


@dataclass(frozen=True)
class TemplateQuery:
    """A list request (internal ids; ``None``: not filtered).

    :param owners: the ``account``/``domainid``/``listall``/``isrecursive`` scope as
        keyword arguments of :func:`cumulo.accounts.access.visible_account_ids`.
    """

    filter: TemplateFilter
    is_iso: bool
    template_id: int | None = None
    zone_id: int | None = None
    name: str | None = None
    keyword: str | None = None
    hypervisor: str | None = None
    bootable: bool | None = None
    public: bool | None = None
    ready: bool | None = None
    listall: bool = False
    isrecursive: bool = False
    domain_id: int | None = None
    account_name: str | None = None


T, R = VMTemplate.__table__, TemplateZoneRef.__table__


def _base() -> Select[Any]:
    return (
        select(
            T.c.id,
            T.c.uuid,
            T.c.name,
            T.c.display_text,
            T.c.public,
            T.c.created,
            T.c.removed,
            T.c.password_enabled,
            T.c.sshkey_enabled,
            T.c.format,
            T.c.bootable,
            T.c.featured,
            T.c.cross_zones,
            T.c.template_type,
            T.c.hypervisor_type,
            T.c.extractable,
            T.c.checksum,
            T.c.template_tag,
            T.c.size.label("template_size"),
            R.c.id.label("ref_id"),
            R.c.download_state,
            R.c.download_pct,
            R.c.error_str,
            R.c.size.label("zone_size"),
            Zone.uuid.label("zone_uuid"),
            Zone.name.label("zone_name"),
            Account.uuid.label("account_uuid"),
            Account.account_name,
            Domain.uuid.label("domain_uuid"),
            Domain.name.label("domain_name"),
            GuestOs.uuid.label("os_uuid"),
            GuestOs.display_name.label("os_name"),
        )
        .select_from(T)
        .join(R, R.c.template_id == T.c.id)
        .join(Zone, Zone.id == R.c.zone_id)
        .join(Account, Account.id == T.c.account_id)
        .join(Domain, Domain.id == T.c.domain_id)
        .outerjoin(GuestOs, GuestOs.id == T.c.guest_os_id)
    )


def _scope(ctx: CallContext, query: TemplateQuery) -> ColumnElement[bool] | None:
    own = VMTemplate.account_id.in_(
        visible_account_ids(
            ctx,
            listall=query.listall,
            isrecursive=query.isrecursive,
            domain_id=query.domain_id,
            account_name=query.account_name,
        )
    )
    public, shared = public_to(ctx), shared_with(ctx)
    match query.filter:
        case TemplateFilter.FEATURED:
            return and_(public, VMTemplate.featured.is_(True))
        case TemplateFilter.COMMUNITY:
            return and_(public, VMTemplate.featured.is_(False))
        case TemplateFilter.SELF | TemplateFilter.SELFEXECUTABLE:
            return own
        case TemplateFilter.SHAREDEXECUTABLE:
            return shared
        case TemplateFilter.ALL if ctx.is_root_admin:
            return true()
        case _:  # executable, and ``all`` for anyone but a root admin
            return or_(public, own, shared)


def list_templates(
    session: Session,
    ctx: CallContext,
    query: TemplateQuery,
    *,
    page: int | None = None,
    pagesize: int | None = None,
    max_page_size: int = DEFAULT_PAGE_SIZE,
) -> tuple[list[Row[Any]], int]:
    """A page of (template, zone) entries and the total, in one statement."""
    scope = _scope(ctx, query)
    iso = T.c.format == TemplateFormat.ISO.value
    stmt = _base().where(
        T.c.removed.is_(None), iso if query.is_iso else ~iso, scope if scope is not None else true()
    )
    if query.filter is not TemplateFilter.ALL:
        stmt = stmt.where(T.c.template_type != TemplateType.SYSTEM.value)
    if query.filter in _READY_ONLY or query.ready:
        stmt = stmt.where(R.c.download_state == DownloadState.DOWNLOADED.value)
    elif query.ready is False:
        stmt = stmt.where(R.c.download_state != DownloadState.DOWNLOADED.value)
    for column, value in (
        (T.c.id, query.template_id),
        (R.c.zone_id, query.zone_id),
        (T.c.bootable, query.bootable),
        (T.c.public, query.public),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    if query.hypervisor:
        stmt = stmt.where(T.c.hypervisor_type == query.hypervisor)
    for text in (query.name, query.keyword):
        if text:
            stmt = stmt.where(T.c.name.contains(text, autoescape=True))
    stmt = stmt.order_by(T.c.sort_key, T.c.id, R.c.zone_id)
    return fetch_rows(session, stmt, page=page, pagesize=pagesize, max_page_size=max_page_size)


def entry(session: Session, ref_id: int) -> Row[Any]:
    """The entry of one template in one zone (for single-object answers)."""
    return session.execute(_base().where(R.c.id == ref_id)).one()


def entries(session: Session, template_id: int, zone_id: int | None = None) -> list[Row[Any]]:
    """Every zone entry of a template (one zone with ``zone_id``), by zone."""
    stmt = _base().where(T.c.id == template_id).order_by(R.c.zone_id)
    if zone_id is not None:
        stmt = stmt.where(R.c.zone_id == zone_id)
    return list(session.execute(stmt).all())
