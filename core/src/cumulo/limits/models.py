"""The ``resource_limit`` and ``resource_count`` tables, with CloudStack 4.1's shapes.

A row belongs to exactly one owner: an account (``account_id`` set) or a domain
(``domain_id`` set). ``type`` holds 4.1's resource type name (``user_vm``, ``volume``,
see :class:`cumulo.limits.types.ResourceType`), so a dump reads like CloudStack's.

``resource_limit`` holds only limits an admin set (``updateResourceLimit``); an owner
without a row has the default (``max.account.*`` settings for accounts, ``max.domain.*``
for domains; -1 means unlimited). ``resource_count`` holds the running count per owner
and type, kept by :func:`cumulo.limits.service.reserve` / ``release`` in the same
transaction as the resource they count; rows are created on first use, and the unique
constraints make that creation idempotent under concurrency (insert-or-ignore).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cumulo.db.base import Base, IdType

TYPE_LENGTH = 255

# Exactly one owner per row.
_ONE_OWNER = "(account_id IS NULL) <> (domain_id IS NULL)"


class ResourceLimit(Base):
    """The most resources of ``type`` an account or a domain may own (-1: unlimited)."""

    __tablename__ = "resource_limit"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    type: Mapped[str] = mapped_column(String(TYPE_LENGTH))
    account_id: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("account.id", ondelete="CASCADE")
    )
    domain_id: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("domain.id", ondelete="CASCADE")
    )
    max: Mapped[int] = mapped_column(BigInteger, default=-1, server_default="-1")

    # Several NULLs never collide in a unique index, so each constraint only binds the
    # rows of its owner kind; their indexes serve every lookup by owner and type.
    __table_args__ = (
        UniqueConstraint("account_id", "type"),
        UniqueConstraint("domain_id", "type"),
        CheckConstraint(_ONE_OWNER, name="one_owner"),
    )


class ResourceCount(Base):
    """How many resources of ``type`` an account owns, or all accounts of a domain's
    subtree own together.

    No foreign keys, unlike ``resource_limit``: on MariaDB the rows are created on first
    use by a short transaction of their own (:func:`cumulo.limits.service
    .ensure_count_rows` says why), which must never wait for the caller's lock on an
    account or domain row it may have just inserted. A row whose owner never committed
    holds 0 and names an id that no live owner has; nothing reads it.
    """

    __tablename__ = "resource_count"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    type: Mapped[str] = mapped_column(String(TYPE_LENGTH))
    account_id: Mapped[int | None] = mapped_column(IdType)
    domain_id: Mapped[int | None] = mapped_column(IdType)
    count: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")

    __table_args__ = (
        UniqueConstraint("account_id", "type"),
        UniqueConstraint("domain_id", "type"),
        CheckConstraint(_ONE_OWNER, name="one_owner"),
    )
