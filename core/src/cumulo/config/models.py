"""Tables of configuration values an operator has set.

``configuration`` keeps CloudStack's shape (category, instance, component, name, value,
description), so an operator's SQL against CloudStack's table still reads; it holds one
row per *overridden* key only: a key without a row has its declared default, so a new
release can change a default without a data migration. ``scoped_configuration`` holds
overrides for one zone, cluster, storage pool or account (CloudStack 4.2+ keeps these in
per-entity ``*_details`` tables; one table keeps a scoped lookup to one statement).

Secret values are stored as ``ENC(...)`` encrypted with the database key.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cumulo.db.base import Base, IdType, UtcDateTime, utcnow

# CloudStack's configuration.value is VARCHAR(4095); validation enforces the same bound.
VALUE_LENGTH = 4095


class Configuration(Base):
    """A global value that overrides a key's declared default."""

    __tablename__ = "configuration"

    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str | None] = mapped_column(String(VALUE_LENGTH))
    # Copied from the declaration when the row is written, as CloudStack keeps them.
    category: Mapped[str] = mapped_column(String(255), default="Advanced")
    instance: Mapped[str] = mapped_column(String(255), default="DEFAULT")
    component: Mapped[str] = mapped_column(String(255), default="management-server")
    description: Mapped[str | None] = mapped_column(String(1024))
    updated: Mapped[dt.datetime | None] = mapped_column(UtcDateTime(), default=utcnow)


class ScopedConfiguration(Base):
    """A value for one zone, cluster, storage pool or account.

    ``scope`` is a :class:`cumulo.sdk.Scope` value other than ``global``; ``scope_id`` is
    the internal id of that zone/cluster/pool/account (the API resolves UUIDs first).
    The unique constraint's index also serves every lookup, which filters on all three.
    """

    __tablename__ = "scoped_configuration"
    __table_args__ = (UniqueConstraint("scope", "scope_id", "name"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    scope: Mapped[str] = mapped_column(String(16))
    scope_id: Mapped[int] = mapped_column(IdType)
    name: Mapped[str] = mapped_column(String(255))
    value: Mapped[str | None] = mapped_column(String(VALUE_LENGTH))
    updated: Mapped[dt.datetime | None] = mapped_column(UtcDateTime(), default=utcnow)
