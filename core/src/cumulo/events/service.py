"""Searching, archiving and deleting events: the rules behind the event commands.

Searching is 4.1's ``QueryManagerImpl.searchForEventsInternal`` (CS41:
server/src/com/cloud/api/query/QueryManagerImpl.java): newest first, ``type`` and
``level`` matched whole, ``keyword`` anywhere in type, description or level, a date
range over ``created``; case is ignored throughout, as 4.1's MySQL collation ignored
it. Archived events are hidden, as 4.2 hides them. One statement per page, the total
count included.

Archiving and deleting are 4.2's (CS42: ``ManagementServerImpl.archiveEvents`` and
``deleteEvents``): the events selected by ids, type and date range among those the
caller may manage — a user its own account's, an admin its domain subtree's, the root
admin all — in one statement; naming an id that is not among them changes nothing and
answers 431.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Delete, Update, delete, false, or_, select, update
from sqlalchemy.orm import Session

from cumulo.accounts.access import caller_scope
from cumulo.accounts.models import Account
from cumulo.db.listing import DEFAULT_PAGE_SIZE, fetch_page
from cumulo.events.models import Event
from cumulo.events.views import event_fields, event_rows
from cumulo.sdk.api import CallContext, Fields
from cumulo.sdk.errors import InvalidParameterValue


@dataclass(frozen=True)
class EventSearch:
    """The filters of ``listEvents``, parsed.

    :param event_id: internal id of the one event asked for (``id``).
    :param type: event type (any case).
    :param level: level (``INFO``, ``WARN``, ``ERROR``, any case).
    :param keyword: a substring of the type, description or level (any case).
    :param start: created at or after (naive UTC).
    :param end: created at or before (naive UTC).
    """

    event_id: int | None = None
    type: str | None = None
    level: str | None = None
    keyword: str | None = None
    start: dt.datetime | None = None
    end: dt.datetime | None = None


def search_events(
    session: Session,
    scope: ColumnElement[bool],
    search: EventSearch,
    *,
    page: int | None = None,
    pagesize: int | None = None,
    max_page_size: int = DEFAULT_PAGE_SIZE,
) -> tuple[list[Fields], int]:
    """One page of the events whose owner account satisfies ``scope``, newest first.

    :param scope: a WHERE clause over ``account`` (``cumulo.accounts.access``).
    :return: the page as ``EventResponse`` fields, and the total number of matches.
    :raises InvalidParameterValue: 4.1's ``page``/``pagesize`` rules are broken.
    """
    conditions: list[ColumnElement[bool]] = [scope, Event.archived == false()]
    if search.event_id is not None:
        conditions.append(Event.id == search.event_id)
    # Types and levels are stored upper-case; 4.1's MySQL collation ignored case.
    if search.type is not None:
        conditions.append(Event.type == search.type.upper())
    if search.level is not None:
        conditions.append(Event.level == search.level.upper())
    if search.keyword is not None:
        conditions.append(
            or_(
                Event.type.icontains(search.keyword, autoescape=True),
                Event.description.icontains(search.keyword, autoescape=True),
                Event.level.icontains(search.keyword, autoescape=True),
            )
        )
    conditions.extend(_created_between(search.start, search.end))
    # created may repeat (MariaDB keeps whole seconds): the id keeps pages stable.
    stmt = event_rows().where(*conditions).order_by(Event.created.desc(), Event.id.desc())
    rows, total = fetch_page(
        session, stmt, page=page, pagesize=pagesize, max_page_size=max_page_size
    )
    return [event_fields(row) for row in rows], total


def find_event_id(session: Session, value: str, param: str = "id") -> int:
    """The internal id of the event ``value`` (a UUID, or 4.1's numeric id) names.

    Like every 4.1 id lookup this ignores who may see the event; the listing's scope
    decides that, so a foreign event lists as nothing rather than as an error.

    :raises InvalidParameterValue: no event has that id (431 naming ``param``).
    """
    text = value.strip()
    column = Event.id if text.isdecimal() else Event.uuid
    key: Any = int(text) if text.isdecimal() else text
    found = session.scalar(select(Event.id).where(column == key))
    if found is None:
        raise InvalidParameterValue(
            f"Invalid parameter {param} value={value} due to incorrect long value format, or"
            " entity does not exist or due to incorrect parameter annotation for the field in"
            " api cmd class."
        )
    return found


@dataclass(frozen=True)
class EventSelection:
    """Which events ``archiveEvents``/``deleteEvents`` act on (at least one criterion).

    :param uuids: the events' public ids.
    :param type: exact event type.
    :param start: created at or after (naive UTC).
    :param end: created at or before (naive UTC).
    """

    uuids: frozenset[str] | None = None
    type: str | None = None
    start: dt.datetime | None = None
    end: dt.datetime | None = None


def archive_events(
    session: Session, ctx: CallContext, selection: EventSelection, command: str
) -> int:
    """Archive the selected events the caller may manage (one ``UPDATE``).

    :param command: the command's name, for the error text.
    :return: how many events were archived.
    :raises InvalidParameterValue: no criterion given, a bad date range, or an id that
        names no unarchived event of the caller's (then nothing is archived: the
        caller's transaction is rolled back).
    """
    statement: Update = (
        update(Event)
        .where(*_selected(ctx, selection, command))
        .values(archived=True)
        .execution_options(synchronize_session=False)
    )
    return _apply(session, statement, selection, "archive")


def delete_events(
    session: Session, ctx: CallContext, selection: EventSelection, command: str
) -> int:
    """Delete the selected, unarchived events the caller may manage (one ``DELETE``).

    As in 4.2, archived events are out of reach: they were set aside to be kept.

    :return: how many events were deleted.
    :raises InvalidParameterValue: as :func:`archive_events`.
    """
    statement: Delete = (
        delete(Event)
        .where(*_selected(ctx, selection, command))
        .execution_options(synchronize_session=False)
    )
    return _apply(session, statement, selection, "delete")


def _selected(
    ctx: CallContext, selection: EventSelection, command: str
) -> list[ColumnElement[bool]]:
    if not selection.uuids and selection.type is None and selection.end is None:
        raise InvalidParameterValue(
            f"Unable to execute API command {command.lower()}: either ids, type or enddate"
            " must be specified"
        )
    if selection.start and selection.end and selection.start > selection.end:
        raise InvalidParameterValue(
            f"Unable to execute API command {command.lower()}: startdate is after enddate"
        )
    conditions: list[ColumnElement[bool]] = [Event.archived == false()]
    if not ctx.is_root_admin:
        conditions.append(Event.account_id.in_(select(Account.id).where(caller_scope(ctx))))
    if selection.uuids:
        conditions.append(Event.uuid.in_(sorted(selection.uuids)))
    if selection.type is not None:
        conditions.append(Event.type == selection.type.upper())
    conditions.extend(_created_between(selection.start, selection.end))
    return conditions


def _apply(
    session: Session, statement: Update | Delete, selection: EventSelection, verb: str
) -> int:
    result: Any = session.execute(statement)
    changed = int(result.rowcount)
    if selection.uuids and changed < len(selection.uuids):
        # Some id is unknown, archived already or someone else's: refuse the whole
        # request (the dispatcher rolls back what this statement did).
        raise InvalidParameterValue(
            f"Unable to {verb} events: parameter ids names events that do not exist, are"
            " archived, or that you may not manage"
        )
    return changed


def _created_between(
    start: dt.datetime | None, end: dt.datetime | None
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if start is not None:
        conditions.append(Event.created >= start)
    if end is not None:
        conditions.append(Event.created <= end)
    return conditions


def naive_utc(value: dt.date | dt.datetime | None) -> dt.datetime | None:
    """A ``DATE``/``TZDATE`` parameter as the naive UTC timestamps the table stores.

    A date is its midnight; an aware time is converted to UTC; a naive time (4.1's
    server-local ``Date``) is taken as UTC, the management server's zone.
    """
    if value is None:
        return None
    if not isinstance(value, dt.datetime):
        return dt.datetime(value.year, value.month, value.day)
    if value.tzinfo is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    return value
