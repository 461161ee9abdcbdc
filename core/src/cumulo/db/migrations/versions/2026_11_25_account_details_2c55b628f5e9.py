"""account_details: the name/value pairs of createAccount/updateAccount accountdetails

Revision ID: 2c55b628f5e9
Revises: aea60d6ddcc0
Create Date: 2026-11-25 09:09:01.256930
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "2c55b628f5e9"
down_revision: str | Sequence[str] | None = "aea60d6ddcc0"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "account_details",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
            name=op.f("fk_account_details_account_id_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_details")),
        sa.UniqueConstraint("account_id", "name", name=op.f("uq_account_details_account_id_name")),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("account_details")
