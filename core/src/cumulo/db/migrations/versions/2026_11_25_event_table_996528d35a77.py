"""event table: what happened, as CloudStack 4.1 records it (listEvents, the event hook)

4.1's columns (``create-schema.sql``) plus 4.2's ``archived`` flag for
``archiveEvents``; no foreign keys, as in CloudStack, because an event outlives the
user or account it names. Generated with ``cumulo db revision --autogenerate`` on a
SQLite database at the other heads, then reduced to the ``event`` table only.

Revision ID: 996528d35a77
Revises: 2c55b628f5e9
Create Date: 2026-11-25 09:10:35.949922
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "996528d35a77"
down_revision: str | Sequence[str] | None = "2c55b628f5e9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "event",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("uuid", sa.String(length=40), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=32), server_default="Completed", nullable=False),
        sa.Column("description", sa.String(length=1024), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "domain_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column(
            "start_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            server_default="0",
            nullable=False,
        ),
        sa.Column("parameters", sa.String(length=1024), nullable=True),
        sa.Column("archived", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event")),
        sa.UniqueConstraint("uuid", name=op.f("uq_event_uuid")),
    )
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_event_account_id_created"), ["account_id", "created"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_event_created"), ["created"], unique=False)
        batch_op.create_index(batch_op.f("ix_event_type"), ["type"], unique=False)
        batch_op.create_index(batch_op.f("ix_event_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_event_user_id"))
        batch_op.drop_index(batch_op.f("ix_event_type"))
        batch_op.drop_index(batch_op.f("ix_event_created"))
        batch_op.drop_index(batch_op.f("ix_event_account_id_created"))

    op.drop_table("event")
