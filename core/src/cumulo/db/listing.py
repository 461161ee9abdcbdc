"""One query per page: the rows of a list command and the total count together.

4.1 list answers carry ``count``, the total number of matching rows regardless of
paging. Counting with a window function (``COUNT(*) OVER ()``) returns it with the
page's rows in the same statement, so a list page costs one round trip however many
rows there are; only a page past the end needs a second, plain ``COUNT``.

Paging follows ``BaseListCmd``/``ApiDispatcher`` (api-reference.md §e): ``page`` is
1-based and needs ``pagesize``; ``pagesize`` (except -1) needs ``page``; ``pagesize``
may not exceed ``default.page.size``; ``-1`` lists everything and is allowed only
without ``page``; neither gives the first ``default.page.size`` rows.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Row, Select, bindparam, func, select
from sqlalchemy.orm import Session

from cumulo.sdk.errors import InvalidParameterValue

DEFAULT_PAGE_SIZE = 500


class Prepared(dict[str, Any]):
    """Fields a view built ready to render (``cumulo_api.render.prepare`` passes them
    through untouched): every value a ``str``, ``int``, ``bool``, ``float``, or a list
    or dict of those (nested dicts prepared too), no ``None`` anywhere (a field without
    a value is left out), dates already formatted 4.1's way. A page of 500 VMs is some
    20,000 values; walking them all again only to find nothing to change costs as much
    as building them (bench/vms_listing.py). A view that cannot promise all of this
    returns a plain ``dict``.
    """

    __slots__ = ()


def page_window(
    page: int | None, pagesize: int | None, max_page_size: int = DEFAULT_PAGE_SIZE
) -> tuple[int, int | None]:
    """``(offset, limit)`` for 4.1's ``page``/``pagesize`` (``limit`` ``None``: all).

    :raises InvalidParameterValue: the 4.1 rules above are broken (431).
    """
    if pagesize is not None and pagesize != -1 and page is None:
        raise InvalidParameterValue('"page" parameter is required when "pagesize" is specified')
    if page is not None and pagesize is None:
        raise InvalidParameterValue('"pagesize" parameter is required when "page" is specified')
    if pagesize == -1:
        if page is not None:
            raise InvalidParameterValue(
                "Can't specify page parameter when pagesize is -1 (Unlimited)"
            )
        return 0, None
    if pagesize is not None and pagesize > max_page_size:
        raise InvalidParameterValue(
            f"Page size can't exceed max allowed page size value: {max_page_size}"
        )
    if pagesize is not None and pagesize < 1:
        raise InvalidParameterValue("Page size must be a positive number (or -1 for all)")
    if page is not None and page < 1:
        raise InvalidParameterValue("Page must be a positive number")
    size = pagesize if pagesize is not None else max_page_size
    return ((page or 1) - 1) * size, size


def fetch_page(
    session: Session,
    stmt: Select[Any],
    *,
    page: int | None = None,
    pagesize: int | None = None,
    max_page_size: int = DEFAULT_PAGE_SIZE,
) -> tuple[list[tuple[Any, ...]], int]:
    """Run ``stmt`` for one page and return ``(rows, total)``.

    ``stmt`` must be fully filtered and ordered (order by a unique key, so pages are
    stable). Each row is a tuple of ``stmt``'s columns (entities or values); the count
    column is stripped. One
    statement, unless the page lies past the last row (then a second ``COUNT``).

    :raises InvalidParameterValue: see :func:`page_window`.
    """
    rows, total = fetch_rows(
        session, stmt, page=page, pagesize=pagesize, max_page_size=max_page_size
    )
    return [tuple(row)[:-1] for row in rows], total


def fetch_rows(
    session: Session,
    stmt: Select[Any],
    *,
    params: Mapping[str, Any] | None = None,
    page: int | None = None,
    pagesize: int | None = None,
    max_page_size: int = DEFAULT_PAGE_SIZE,
) -> tuple[list[Row[Any]], int]:
    """:func:`fetch_page`, keeping the result's rows as they are: columns by name
    (``row.uuid``), plus the count column ``_total`` last. For Core selects of table
    columns, whose rows views read directly, without copying them.

    :param params: values of ``stmt``'s bound parameters. A hot list builds its
        statement once per shape with :func:`~sqlalchemy.bindparam` placeholders and
        passes the values here: the paged form of a statement object is then built once
        too (see :func:`_paged`), and SQLAlchemy's compiled cache is found without
        recomputing a cache key for a freshly composed statement on every request.
    """
    offset, limit = page_window(page, pagesize, max_page_size)
    values = {**(params or {}), "_offset": offset}
    if limit is not None:
        values["_limit"] = limit
    result = list(_execute(session, _paged(stmt, limit is not None), values).all())
    if result:
        return result, int(result[0][-1])
    if offset == 0:
        return [], 0
    counting = select(func.count()).select_from(stmt.order_by(None).subquery())
    return [], int(_execute(session, counting, params or {}).scalar_one())


# The paged forms of statements, built once per statement object (and limited or not).
_PAGED: weakref.WeakKeyDictionary[Select[Any], dict[bool, Select[Any]]] = (
    weakref.WeakKeyDictionary()
)


def _paged(stmt: Select[Any], limited: bool) -> Select[Any]:
    forms = _PAGED.get(stmt)
    if forms is None:
        forms = _PAGED[stmt] = {}
    paged = forms.get(limited)
    if paged is None:
        paged = stmt.add_columns(func.count().over().label("_total")).offset(bindparam("_offset"))
        if limited:
            paged = paged.limit(bindparam("_limit"))
        forms[limited] = paged
    return paged


def _execute(session: Session, stmt: Select[Any], params: Mapping[str, Any]) -> Any:
    # A Core select (table columns, no ORM entities) runs on the session's connection,
    # in its transaction, without the ORM's per-statement bookkeeping; one that selects
    # entities must go through the session.
    if stmt._propagate_attrs.get("compile_state_plugin") == "orm":
        return session.execute(stmt, params)
    return session.connection().execute(stmt, params)


def like_prefix(value: str) -> str:
    """``value`` as a ``LIKE`` prefix pattern (``value%``) with ``\\``, ``%`` and ``_``
    escaped, for a bound parameter compared with ``.like(param, escape="\\")`` (what
    ``startswith(..., autoescape=True)`` does for literal values only)."""
    return escape_like(value) + "%"


def escape_like(value: str) -> str:
    """``value`` with the ``LIKE`` wildcards and the escape character ``\\`` escaped."""
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
