"""storage pool allocated capacity and deploy hot-path indexes

``storage_pool.allocated_bytes``: what volumes reserve on a pool (placement's and volume
allocation's claims), kept apart from ``used_bytes``, which the storage driver reports
and a refresh overwrites. Existing pools start with their claims at the sum of the
sizes of the live volumes on them (before this column the claims were mixed into
``used_bytes``, which cannot be taken apart).

Revision ID: 3b00a8398413
Revises: 1fed479a4b9e
Create Date: 2026-11-25 12:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3b00a8398413"
down_revision: str | Sequence[str] | None = "1fed479a4b9e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("storage_pool") as batch_op:
        batch_op.add_column(
            sa.Column("allocated_bytes", sa.BigInteger(), server_default="0", nullable=False)
        )
    op.execute(
        "UPDATE storage_pool SET allocated_bytes = COALESCE((SELECT SUM(v.size) FROM volumes v"
        " WHERE v.pool_id = storage_pool.id AND v.removed IS NULL), 0)"
    )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("storage_pool") as batch_op:
        batch_op.drop_column("allocated_bytes")
