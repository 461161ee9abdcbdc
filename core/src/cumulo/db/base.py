"""The one declarative base every table (core and plugin) is declared on.

The naming convention gives every constraint and index a deterministic name, so Alembic
migrations written on SQLite apply unchanged on MariaDB and PostgreSQL and ``cumulo db
check`` compares like with like.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import BigInteger, DateTime, Integer, MetaData, String, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments INTEGER PRIMARY KEY; everywhere else ids are 64-bit.
IdType = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    """Declarative base of every cumulo table."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def new_uuid() -> str:
    """A fresh public identifier: lower-case, hyphenated, as CloudStack shows them."""
    return str(uuid.uuid4())


class UtcDateTime(DateTime):
    """Timestamps are stored as naive UTC (MySQL DATETIME has no zone)."""

    cache_ok = True

    def __init__(self) -> None:
        super().__init__(timezone=False)


def utcnow() -> dt.datetime:
    """Now, in naive UTC, the form every timestamp column stores."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class IdentityMixin:
    """Internal integer id, public UUID and ``created``/``removed`` timestamps.

    The API only ever shows ``uuid``; ``id`` is for joins. ``removed`` set means soft
    deleted, as CloudStack keeps history of VMs, volumes, networks and accounts.
    """

    # Negative sort_order puts id and uuid first in CREATE TABLE (and in a dump), as in
    # CloudStack's schema; a mixin's columns would otherwise come after the table's own.
    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True, sort_order=-2)
    uuid: Mapped[str] = mapped_column(String(40), unique=True, default=new_uuid, sort_order=-1)
    created: Mapped[dt.datetime] = mapped_column(
        UtcDateTime(), default=utcnow, server_default=func.current_timestamp()
    )
    removed: Mapped[dt.datetime | None] = mapped_column(UtcDateTime(), default=None)
