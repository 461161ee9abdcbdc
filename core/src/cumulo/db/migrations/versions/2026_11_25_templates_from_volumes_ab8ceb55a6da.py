"""templates from volumes and snapshots, ISO attachments

Templates made by ``createTemplate`` remember the volume or snapshot they were made
from (no foreign key: volumes and snapshots are expunged while their templates live
on); a template's download to a zone counts its attempts, so a download whose
transfer died is retried a bounded number of times before it is marked failed.

Revision ID: ab8ceb55a6da
Revises: 3b00a8398413
Create Date: 2026-11-25 12:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "ab8ceb55a6da"
down_revision: str | Sequence[str] | None = "3b00a8398413"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("vm_template") as batch_op:
        batch_op.add_column(sa.Column("source_volume_id", ID, nullable=True))
        batch_op.add_column(sa.Column("source_snapshot_id", ID, nullable=True))
    with op.batch_alter_table("template_zone_ref") as batch_op:
        batch_op.add_column(
            sa.Column("download_attempts", sa.Integer(), server_default="0", nullable=False)
        )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("template_zone_ref") as batch_op:
        batch_op.drop_column("download_attempts")
    with op.batch_alter_table("vm_template") as batch_op:
        batch_op.drop_column("source_snapshot_id")
        batch_op.drop_column("source_volume_id")
