"""snapshots and snapshot policies

Revision ID: b7e3c5a91d42
Revises: 10055f62c883
Create Date: 2026-11-25 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b7e3c5a91d42"
down_revision: str | Sequence[str] | None = "10055f62c883"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "snapshots",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("uuid", sa.String(length=40), nullable=False),
        sa.Column("data_center_id", ID, nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("domain_id", ID, nullable=False),
        sa.Column("volume_id", ID, nullable=False),
        sa.Column("disk_offering_id", ID, nullable=True),
        sa.Column("policy_id", ID, nullable=True),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("snapshot_type", sa.String(length=32), nullable=False),
        sa.Column("path", sa.String(length=255), nullable=True),
        sa.Column("size", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("hypervisor_type", sa.String(length=32), nullable=True),
        sa.Column("update_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "created", sa.DateTime(), server_default=sa.func.current_timestamp(), nullable=False
        ),
        sa.Column("removed", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["account.id"], name=op.f("fk_snapshots_account_id_account")
        ),
        sa.ForeignKeyConstraint(
            ["data_center_id"],
            ["data_center.id"],
            name=op.f("fk_snapshots_data_center_id_data_center"),
        ),
        sa.ForeignKeyConstraint(
            ["domain_id"], ["domain.id"], name=op.f("fk_snapshots_domain_id_domain")
        ),
        sa.ForeignKeyConstraint(
            ["volume_id"], ["volumes.id"], name=op.f("fk_snapshots_volume_id_volumes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_snapshots")),
        sa.UniqueConstraint("uuid", name=op.f("uq_snapshots_uuid")),
    )
    with op.batch_alter_table("snapshots", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_snapshots_account_id_status"), ["account_id", "status"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_snapshots_volume_id_status"), ["volume_id", "status"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_snapshots_policy_id_status"), ["policy_id", "status"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_snapshots_removed"), ["removed"], unique=False)

    op.create_table(
        "snapshot_policy",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("uuid", sa.String(length=40), nullable=False),
        sa.Column("volume_id", ID, nullable=False),
        sa.Column("schedule", sa.String(length=100), nullable=False),
        sa.Column("timezone", sa.String(length=100), nullable=False),
        sa.Column("interval", sa.Integer(), nullable=False),
        sa.Column("max_snaps", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("next_run", sa.DateTime(), nullable=True),
        sa.Column("last_run", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["volume_id"], ["volumes.id"], name=op.f("fk_snapshot_policy_volume_id_volumes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_snapshot_policy")),
        sa.UniqueConstraint("uuid", name=op.f("uq_snapshot_policy_uuid")),
        sa.UniqueConstraint(
            "volume_id", "interval", name=op.f("uq_snapshot_policy_volume_id_interval")
        ),
    )
    with op.batch_alter_table("snapshot_policy", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_snapshot_policy_active_next_run"), ["active", "next_run"], unique=False
        )

    op.create_table(
        "volume_host_ref",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("volume_id", ID, nullable=False),
        sa.Column("zone_id", ID, nullable=False),
        sa.Column("host_id", ID, nullable=True),
        sa.Column("download_state", sa.String(length=32), nullable=False),
        sa.Column("download_pct", sa.Integer(), server_default="0", nullable=False),
        sa.Column("error_str", sa.String(length=1024), nullable=True),
        sa.Column("install_path", sa.String(length=255), nullable=True),
        sa.Column("url", sa.String(length=2048), nullable=True),
        sa.Column("checksum", sa.String(length=255), nullable=True),
        sa.Column("format", sa.String(length=32), nullable=False),
        sa.Column("size", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("physical_size", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.Column("last_updated", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["volume_id"], ["volumes.id"], name=op.f("fk_volume_host_ref_volume_id_volumes")
        ),
        sa.ForeignKeyConstraint(
            ["zone_id"], ["data_center.id"], name=op.f("fk_volume_host_ref_zone_id_data_center")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_volume_host_ref")),
        sa.UniqueConstraint(
            "volume_id", "zone_id", name=op.f("uq_volume_host_ref_volume_id_zone_id")
        ),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("volume_host_ref")
    with op.batch_alter_table("snapshot_policy", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_snapshot_policy_active_next_run"))
    op.drop_table("snapshot_policy")
    with op.batch_alter_table("snapshots", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_snapshots_removed"))
        batch_op.drop_index(batch_op.f("ix_snapshots_policy_id_status"))
        batch_op.drop_index(batch_op.f("ix_snapshots_volume_id_status"))
        batch_op.drop_index(batch_op.f("ix_snapshots_account_id_status"))
    op.drop_table("snapshots")
