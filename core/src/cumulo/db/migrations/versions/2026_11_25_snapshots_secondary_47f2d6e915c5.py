"""snapshots backed up to secondary storage (REQ-SS-01), volumes made from snapshots

A snapshot records its backup on the zone's secondary storage (the store, the path on
it, the bytes it takes there); a volume records the snapshot it was made from (4.1's
``VolumeResponse.snapshotid``). Templates are indexed by the volume or snapshot they
are made from: a copy in progress locks its source (``cumulo.volumes.busy``), and every
operation on a volume asks.

Revision ID: 47f2d6e915c5
Revises: 477190de9a2c
Create Date: 2026-11-25 15:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "47f2d6e915c5"
down_revision: str | Sequence[str] | None = "477190de9a2c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("snapshots") as batch_op:
        batch_op.add_column(sa.Column("store_id", ID, nullable=True))
        batch_op.add_column(sa.Column("install_path", sa.String(length=255), nullable=True))
        batch_op.add_column(
            sa.Column("physical_size", sa.BigInteger(), server_default="0", nullable=False)
        )
    with op.batch_alter_table("volumes") as batch_op:
        batch_op.add_column(sa.Column("snapshot_id", ID, nullable=True))
    with op.batch_alter_table("vm_template") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_vm_template_source_volume_id"), ["source_volume_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_vm_template_source_snapshot_id"), ["source_snapshot_id"], unique=False
        )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("vm_template") as batch_op:
        batch_op.drop_index(batch_op.f("ix_vm_template_source_snapshot_id"))
        batch_op.drop_index(batch_op.f("ix_vm_template_source_volume_id"))
    with op.batch_alter_table("volumes") as batch_op:
        batch_op.drop_column("snapshot_id")
    with op.batch_alter_table("snapshots") as batch_op:
        batch_op.drop_column("physical_size")
        batch_op.drop_column("install_path")
        batch_op.drop_column("store_id")
