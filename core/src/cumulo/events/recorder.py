"""Recording events in the action's transaction, publishing them once it has committed.

:func:`record` inserts the ``event`` row through the caller's session, so it commits or
rolls back with the action it describes, and queues a :class:`cumulo.sdk.Event` in
``session.info``; :func:`record_many` does the same for a batch of events in one
``INSERT`` (background tasks reporting on thousands of resources). :func:`install`
attaches listeners to a session factory: when a session's outermost transaction
commits, its queued events go to every ``cumulo_event`` observer
(:func:`cumulo.plugins.emit_event`); when a transaction or savepoint rolls back, the
events recorded inside it are dropped. Observers therefore only ever hear of events
whose rows other connections can already read.
"""

from __future__ import annotations

import datetime as dt
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pluggy
from sqlalchemy import event as orm_events
from sqlalchemy import insert, select
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

from cumulo.accounts.models import Account
from cumulo.db.base import new_uuid, utcnow
from cumulo.events import types
from cumulo.events.models import Event, EventLevel, EventState
from cumulo.plugins import emit_event
from cumulo.sdk.api import Call, CallContext
from cumulo.sdk.events import Event as PublishedEvent

# session.info key of the events waiting for the outermost commit.
_PENDING = "cumulo.events.pending"

# The ``system`` account and user (seeded with id 1) own what no caller did.
SYSTEM_ACCOUNT_ID = 1
SYSTEM_USER_ID = 1

MAX_DESCRIPTION = 1024
_LEVELS = tuple(level.value for level in EventLevel)
_STATES = tuple(state.value for state in EventState)


@dataclass(frozen=True)
class _Pending:
    """An event waiting for commit, with the (sub)transaction that wrote its row."""

    transaction: SessionTransaction | None
    event: PublishedEvent


def record(
    call_or_session: Call | Session,
    type: str,
    description: str,
    *,
    level: str = "INFO",
    resource_type: str | None = None,
    resource_uuid: str | None = None,
    account_id: int | None = None,
    user_id: int | None = None,
    domain_id: int | None = None,
    state: str = "Completed",
    start_uuid: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> str:
    """Write an event row in the current transaction and queue it for publication.

    Nothing is committed here. The row commits or rolls back with the caller's
    transaction; the :class:`cumulo.sdk.Event` reaches ``cumulo_event`` observers only
    after the outermost commit of a session made by a factory given to :func:`install`.

    :param call_or_session: the handler's :class:`Call` (the caller becomes the acting
        user and, by default, the owner), or a bare session (login, background tasks):
        then the owner defaults to the ``system`` account.
    :param type: a 4.1 event type (:data:`cumulo.events.types.CATALOGUE`) or a plugin's
        own of the same shape (``PLUGIN.THING.DONE``).
    :param description: what happened, for people; never a secret. Cut at 1024 chars.
    :param level: ``INFO``, ``WARN`` or ``ERROR``.
    :param resource_type: the kind of resource acted on (``Account``, ``VirtualMachine``).
    :param resource_uuid: its public id.
    :param account_id: internal id of the account that owns what was acted on (default:
        the caller's, or ``system``); listings are scoped by it.
    :param user_id: internal id of the acting user (default: the caller, or ``system``).
    :param domain_id: the owner's domain (default: the caller's when the caller owns the
        event, else read from the account).
    :param state: ``Created``, ``Scheduled``, ``Started`` or ``Completed``.
    :param start_uuid: the ``Started`` event this one finishes (shown as ``parentid``).
    :param details: further JSON-compatible facts for observers (not stored). The
        published event's ``details`` always hold ``id`` (the event's public id) and
        ``state``, and ``user_uuid`` when the caller acted.
    :return: the new event's public id (pass it as ``start_uuid`` to complete it).
    :raises ValueError: a malformed type, unknown level or state, or an unknown
        ``start_uuid`` — all programming errors, not the API caller's.
    """
    _check(type, level, state)
    if isinstance(call_or_session, Call):
        session, ctx = call_or_session.session, call_or_session.ctx
    else:
        session, ctx = call_or_session, None
    owner = _owner(session, ctx, account_id, domain_id)
    actor = user_id if user_id is not None else (ctx.user_id if ctx else SYSTEM_USER_ID)
    row = Event(
        uuid=new_uuid(),
        type=type,
        state=state,
        description=description[:MAX_DESCRIPTION],
        user_id=actor,
        account_id=owner.account_id,
        domain_id=owner.domain_id,
        created=utcnow(),
        level=level,
        start_id=_start_id(session, start_uuid),
        archived=False,
    )
    session.add(row)
    facts: dict[str, Any] = {**(details or {}), "id": row.uuid, "state": state}
    if ctx is not None and actor == ctx.user_id and ctx.user_uuid:
        facts.setdefault("user_uuid", ctx.user_uuid)
    published = PublishedEvent(
        type=type,
        level=level,
        description=row.description,
        account_uuid=owner.account_uuid,
        resource_type=resource_type,
        resource_uuid=resource_uuid,
        details=facts,
        created=row.created.replace(tzinfo=dt.UTC),
    )
    # The innermost open transaction: rolling back a savepoint drops what it recorded.
    transaction = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault(_PENDING, []).append(_Pending(transaction, published))
    return row.uuid


@dataclass(frozen=True)
class NewEvent:
    """One event of a :func:`record_many` batch (the fields :func:`record` takes per
    event; owner, actor and time are shared by the batch).

    :param type: as :func:`record`'s ``type``.
    :param description: what happened, for people; cut at 1024 characters.
    :param level: ``INFO``, ``WARN`` or ``ERROR``.
    :param resource_type: the kind of resource concerned (``Host``).
    :param resource_uuid: its public id.
    :param details: further JSON-compatible facts for observers (not stored).
    """

    type: str
    description: str
    level: str = "INFO"
    resource_type: str | None = None
    resource_uuid: str | None = None
    details: Mapping[str, Any] | None = None


BATCH_CHUNK = 2_000
"""Most rows in one multi-row ``INSERT``: 12 parameters a row stay under SQLite's
32,766-parameter limit; MariaDB and PostgreSQL allow far more."""


def record_many(
    session: Session,
    new_events: Sequence[NewEvent],
    *,
    account_id: int | None = None,
    user_id: int | None = None,
    created: dt.datetime | None = None,
) -> list[str]:
    """Write ``new_events`` as ``Completed`` events in ONE multi-row ``INSERT`` (one per
    :data:`BATCH_CHUNK` rows) in the current transaction, and queue each for publication.

    :func:`record` adds ORM rows, which SQLite and MariaDB flush one ``INSERT`` per row:
    a mass failure (a switch dying under 5,000 hosts) must not cost 5,000 statements.
    The rows are exactly those :func:`record` writes; every event reaches the
    ``cumulo_event`` observers after the outermost commit, and none of them when the
    transaction (or the savepoint it was recorded in) rolls back — as with
    :func:`record`.

    :param session: the background task's session (there is no API caller).
    :param account_id: internal id of the owning account (default ``system``); costs
        one statement unless the session has already loaded it.
    :param user_id: internal id of the acting user (default ``system``).
    :param created: when it happened, naive UTC (default now); a task deciding on the
        database clock passes that clock's reading so that rows and decisions agree.
    :return: the new events' public ids, in order; nothing is executed for an empty
        batch.
    :raises ValueError: a malformed type or unknown level, before anything is written.
    """
    for item in new_events:
        _check(item.type, item.level, "Completed")
    if not new_events:
        return []
    owner = _owner(session, None, account_id, None)
    actor = user_id if user_id is not None else SYSTEM_USER_ID
    when = created or utcnow()
    rows: list[dict[str, Any]] = [
        {
            "uuid": new_uuid(),
            "type": item.type,
            "state": "Completed",
            "description": item.description[:MAX_DESCRIPTION],
            "user_id": actor,
            "account_id": owner.account_id,
            "domain_id": owner.domain_id,
            "created": when,
            "level": item.level,
            "start_id": 0,
            "archived": False,
        }
        for item in new_events
    ]
    for start in range(0, len(rows), BATCH_CHUNK):
        session.execute(insert(Event).values(rows[start : start + BATCH_CHUNK]))
    transaction = session.get_nested_transaction() or session.get_transaction()
    queue = session.info.setdefault(_PENDING, [])
    for item, row in zip(new_events, rows, strict=True):
        published = PublishedEvent(
            type=item.type,
            level=item.level,
            description=str(row["description"]),
            account_uuid=owner.account_uuid,
            resource_type=item.resource_type,
            resource_uuid=item.resource_uuid,
            details={**(item.details or {}), "id": row["uuid"], "state": "Completed"},
            created=when.replace(tzinfo=dt.UTC),
        )
        queue.append(_Pending(transaction, published))
    return [str(row["uuid"]) for row in rows]


def _check(type: str, level: str, state: str) -> None:
    """Reject what no event may carry (programming errors, not the API caller's)."""
    if not types.is_well_formed(type):
        raise ValueError(f"event type {type!r} is neither a CloudStack type nor UPPER.DOTTED")
    if level not in _LEVELS:
        raise ValueError(f"event level {level!r} is not one of {', '.join(_LEVELS)}")
    if state not in _STATES:
        raise ValueError(f"event state {state!r} is not one of {', '.join(_STATES)}")


@dataclass(frozen=True)
class _Owner:
    account_id: int
    domain_id: int
    account_uuid: str | None


def _owner(
    session: Session, ctx: CallContext | None, account_id: int | None, domain_id: int | None
) -> _Owner:
    """The owning account with its domain and uuid. The caller's comes from the call
    context; another account from the session, which costs no statement when the
    service already loaded it (as it usually has, having acted on it)."""
    if ctx is not None and account_id in (None, ctx.account_id):
        return _Owner(
            ctx.account_id,
            domain_id if domain_id is not None else ctx.domain_id,
            ctx.account_uuid or None,
        )
    wanted = account_id if account_id is not None else SYSTEM_ACCOUNT_ID
    account = session.get(Account, wanted)
    if account is None:
        raise ValueError(f"cannot record an event for account id {wanted}: no such account")
    return _Owner(wanted, domain_id if domain_id is not None else account.domain_id, account.uuid)


def _start_id(session: Session, start_uuid: str | None) -> int:
    if start_uuid is None:
        return 0
    found = session.scalar(select(Event.id).where(Event.uuid == start_uuid))
    if found is None:
        raise ValueError(f"no event {start_uuid!r} to complete")
    return found


# ---- publication after commit ----------------------------------------------------------


class _Publisher:
    """The listeners of one session factory, publishing through one plugin manager."""

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self.pm = pm

    def after_commit(self, session: Session) -> None:
        # Also called when a savepoint is released; only the outermost commit publishes.
        if session.get_nested_transaction() is not None:
            return
        pending: list[_Pending] = session.info.pop(_PENDING, [])
        for item in pending:
            emit_event(self.pm, item.event)

    def after_soft_rollback(self, session: Session, previous: SessionTransaction) -> None:
        pending: list[_Pending] | None = session.info.get(_PENDING)
        if pending:
            pending[:] = [p for p in pending if not _within(p.transaction, previous)]

    def after_transaction_end(self, session: Session, transaction: SessionTransaction) -> None:
        # The outermost transaction ended without a commit (closed or rolled back): what
        # it recorded never happened.
        if transaction.parent is None:
            session.info.pop(_PENDING, None)


def _within(transaction: SessionTransaction | None, ended: SessionTransaction) -> bool:
    """Whether ``transaction`` is ``ended`` or was opened inside it; ``None`` (recorded
    before the session began) belongs to the outermost transaction."""
    if transaction is None:
        return ended.parent is None
    current: SessionTransaction | None = transaction
    while current is not None:
        if current is ended:
            return True
        current = current.parent
    return False


_INSTALLED: weakref.WeakKeyDictionary[sessionmaker[Session], _Publisher] = (
    weakref.WeakKeyDictionary()
)


def install(sessions: sessionmaker[Session], pm: pluggy.PluginManager) -> None:
    """Publish the events of every session ``sessions`` makes, through ``pm``.

    Idempotent: installing again on the same factory only changes the plugin manager.
    Sessions from factories never given to :func:`install` still record event rows, but
    their events reach no observer.
    """
    publisher = _INSTALLED.get(sessions)
    if publisher is not None:
        publisher.pm = pm
        return
    publisher = _Publisher(pm)
    _INSTALLED[sessions] = publisher
    orm_events.listen(sessions, "after_commit", publisher.after_commit)
    orm_events.listen(sessions, "after_soft_rollback", publisher.after_soft_rollback)
    orm_events.listen(sessions, "after_transaction_end", publisher.after_transaction_end)
