"""Guest OS types and categories: finding the one a parameter names, and listing them
(``listOsTypes``, ``listOsCategories``) one statement per page."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from cumulo.accounts.lookup import invalid_id
from cumulo.db.listing import DEFAULT_PAGE_SIZE, fetch_page
from cumulo.templates.models import GuestOs, GuestOsCategory


def _by_id(stmt: Select[Any], model: Any, value: object) -> Select[Any] | None:
    text = str(value).strip()
    if isinstance(value, int) or text.isdecimal():
        number = int(text)
        return stmt.where(model.id == number) if 0 < number < 2**63 else None
    return stmt.where(model.uuid == text)


def find_guest_os(session: Session, value: object, param: str = "ostypeid") -> GuestOs:
    """The OS type ``value`` (UUID or internal id) names; 431 naming ``param`` if none."""
    stmt = _by_id(select(GuestOs), GuestOs, value)
    found: GuestOs | None = session.scalars(stmt).first() if stmt is not None else None
    if found is None:
        raise invalid_id(param, value)
    return found


def find_category(session: Session, value: object, param: str = "oscategoryid") -> GuestOsCategory:
    """The OS category ``value`` names; 431 naming ``param`` if none."""
    stmt = _by_id(select(GuestOsCategory), GuestOsCategory, value)
    found: GuestOsCategory | None = session.scalars(stmt).first() if stmt is not None else None
    if found is None:
        raise invalid_id(param, value)
    return found


def list_os_types(
    session: Session,
    *,
    os_id: object = None,
    category: object = None,
    description: str | None = None,
    keyword: str | None = None,
    page: int | None = None,
    pagesize: int | None = None,
    max_page_size: int = DEFAULT_PAGE_SIZE,
) -> tuple[list[tuple[str, str, str]], int]:
    """``(uuid, category uuid, display name)`` of a page of OS types, by id, and the
    total (one statement; the filters are ANDed, names matched as substrings)."""
    columns: tuple[Any, ...] = (GuestOs.uuid, GuestOsCategory.uuid, GuestOs.display_name)
    stmt: Select[Any] = (
        select(*columns)
        .join(GuestOsCategory, GuestOsCategory.id == GuestOs.category_id)
        .order_by(GuestOs.id)
    )
    if os_id is not None:
        narrowed = _by_id(stmt, GuestOs, os_id)
        if narrowed is None:
            raise invalid_id("id", os_id)
        stmt = narrowed
    if category is not None:
        narrowed = _by_id(stmt, GuestOsCategory, category)
        if narrowed is None:
            raise invalid_id("oscategoryid", category)
        stmt = narrowed
    for text in (description, keyword):
        if text:
            stmt = stmt.where(GuestOs.display_name.contains(text, autoescape=True))
    rows, total = fetch_page(
        session, stmt, page=page, pagesize=pagesize, max_page_size=max_page_size
    )
    return [(str(a), str(b), str(c)) for a, b, c in rows], total


def list_os_categories(
    session: Session,
    *,
    category_id: object = None,
    name: str | None = None,
    keyword: str | None = None,
    page: int | None = None,
    pagesize: int | None = None,
    max_page_size: int = DEFAULT_PAGE_SIZE,
) -> tuple[list[tuple[str, str]], int]:
    """``(uuid, name)`` of a page of OS categories, by id, and the total."""
    stmt: Select[Any] = select(  # type: ignore[assignment]
        GuestOsCategory.uuid, GuestOsCategory.name
    ).order_by(GuestOsCategory.id)
    if category_id is not None:
        narrowed = _by_id(stmt, GuestOsCategory, category_id)
        if narrowed is None:
            raise invalid_id("id", category_id)
        stmt = narrowed
    for text in (name, keyword):
        if text:
            stmt = stmt.where(GuestOsCategory.name.contains(text, autoescape=True))
    rows, total = fetch_page(
        session, stmt, page=page, pagesize=pagesize, max_page_size=max_page_size
    )
    return [(str(a), str(b)) for a, b in rows], total
