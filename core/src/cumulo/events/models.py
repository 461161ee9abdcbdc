"""The ``event`` table: what happened in the cloud, with CloudStack 4.1's columns.

Columns and sizes follow 4.1's ``create-schema.sql`` (``type`` VARCHAR(32),
``description`` VARCHAR(1024), ``level`` VARCHAR(16), ``start_id`` 0 for "no parent"),
so an operator's SQL and a dump read the same; ``archived`` is 4.2's addition that
``archiveEvents`` sets. User, account and domain are plain ids without foreign keys, as
in CloudStack: the history of a user or account outlives the row it points at.

Events are written in the transaction of the action they describe (see
:mod:`cumulo.events.recorder`), so a rolled-back action leaves no event.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Boolean, Index, String, false
from sqlalchemy.orm import Mapped, mapped_column

from cumulo.db.base import Base, IdType, UtcDateTime, new_uuid, utcnow


class EventLevel(enum.StrEnum):
    """``event.level``: how serious the event is."""

    INFO = "INFO"
    WARN = "WARN"
    ERROR = "ERROR"


class EventState(enum.StrEnum):
    """``event.state`` (CS41: api/src/com/cloud/event/Event.java ``State``): a long action
    records ``Scheduled``/``Started`` first and ``Completed`` when done; a short one only
    ``Completed``, the default."""

    CREATED = "Created"
    SCHEDULED = "Scheduled"
    STARTED = "Started"
    COMPLETED = "Completed"


class Event(Base):
    """One recorded event.

    :ivar user_id: the user who acted (the caller), internal id.
    :ivar account_id: the account that owns what was acted on; listings are scoped by it.
    :ivar domain_id: that account's domain.
    :ivar start_id: the id of the ``Started`` event this one completes, else 0.
    :ivar parameters: 4.1's free-form column, kept for dumps; cumulo leaves it empty.
    :ivar archived: hidden from ``listEvents`` (``archiveEvents``) but kept.
    """

    __tablename__ = "event"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(40), unique=True, default=new_uuid)
    type: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(
        String(32), default=EventState.COMPLETED.value, server_default=EventState.COMPLETED.value
    )
    description: Mapped[str] = mapped_column(String(1024))
    user_id: Mapped[int] = mapped_column(IdType)
    account_id: Mapped[int] = mapped_column(IdType)
    domain_id: Mapped[int] = mapped_column(IdType)
    created: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    level: Mapped[str] = mapped_column(String(16), default=EventLevel.INFO.value)
    start_id: Mapped[int] = mapped_column(IdType, default=0, server_default="0")
    parameters: Mapped[str | None] = mapped_column(String(1024))
    archived: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    __table_args__ = (
        # listEvents: the caller's accounts, newest first; also archive/delete by owner.
        Index(None, "account_id", "created"),
        # Purging old events, and date ranges over every account (root admin).
        Index(None, "created"),
        Index(None, "type"),
        Index(None, "user_id"),
    )
