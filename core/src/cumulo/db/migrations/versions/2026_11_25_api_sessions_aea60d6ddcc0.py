"""api sessions: api_session, the login sessions every management server shares

One row per ``login`` (``cumulo.auth.sessions``): the SHA-256 of the session cookie as
primary key and of the ``sessionkey`` (never the values themselves), the user, and the
sliding expiry, indexed for the purge. Generated with ``cumulo db revision
--autogenerate`` on a SQLite database at the other heads; it holds only this table.

Revision ID: aea60d6ddcc0
Revises: 9d4f64977869
Create Date: 2026-11-25 09:11:53.094445
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "aea60d6ddcc0"
down_revision: str | Sequence[str] | None = "9d4f64977869"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "api_session",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("session_key_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.Column("last_access", sa.DateTime(), nullable=False),
        sa.Column("expires", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_api_session_user_id_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_session")),
    )
    with op.batch_alter_table("api_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_session_expires"), ["expires"], unique=False)
        batch_op.create_index(batch_op.f("ix_api_session_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("api_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_session_user_id"))
        batch_op.drop_index(batch_op.f("ix_api_session_expires"))

    op.drop_table("api_session")
