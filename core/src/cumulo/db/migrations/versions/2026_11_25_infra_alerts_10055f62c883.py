"""alerts and infrastructure leftovers

The ``alert`` table (4.1's shape plus later CloudStack's ``archived``), the zone
details of ``updateZone details[]``/``dnssearchorder`` (``data_center_details``) and
one row per guest VLAN of each physical network (``op_dc_vnet_alloc``), back-filled
from the ranges already stored in ``physical_network.vnet``.

Revision ID: 10055f62c883
Revises: 2f26c1f0c87a
Create Date: 2026-11-25 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "10055f62c883"
down_revision: str | Sequence[str] | None = "2f26c1f0c87a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _id(name: str, *, nullable: bool = False) -> sa.Column[int]:
    return sa.Column(name, ID, nullable=nullable)


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "alert",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("uuid", sa.String(length=40), nullable=False),
        sa.Column("type", sa.Integer(), nullable=False),
        _id("cluster_id", nullable=True),
        _id("pod_id", nullable=True),
        _id("data_center_id"),
        sa.Column("subject", sa.String(length=999), nullable=True),
        sa.Column("sent_count", sa.Integer(), nullable=False),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.Column("last_sent", sa.DateTime(), nullable=True),
        sa.Column("resolved", sa.DateTime(), nullable=True),
        sa.Column("archived", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.ForeignKeyConstraint(
            ["cluster_id"], ["cluster.id"], name=op.f("fk_alert_cluster_id_cluster")
        ),
        sa.ForeignKeyConstraint(
            ["data_center_id"], ["data_center.id"], name=op.f("fk_alert_data_center_id_data_center")
        ),
        sa.ForeignKeyConstraint(
            ["pod_id"], ["host_pod_ref.id"], name=op.f("fk_alert_pod_id_host_pod_ref")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert")),
        sa.UniqueConstraint("uuid", name=op.f("uq_alert_uuid")),
    )
    op.create_index(op.f("ix_alert_archived_type_id"), "alert", ["archived", "type", "id"])
    op.create_index(
        op.f("ix_alert_data_center_id_type_resolved"),
        "alert",
        ["data_center_id", "type", "resolved"],
    )
    op.create_table(
        "data_center_details",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        _id("dc_id"),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("value", sa.String(length=1024), nullable=False),
        sa.ForeignKeyConstraint(
            ["dc_id"],
            ["data_center.id"],
            name=op.f("fk_data_center_details_dc_id_data_center"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_center_details")),
        sa.UniqueConstraint("dc_id", "name", name=op.f("uq_data_center_details_dc_id_name")),
    )
    vnets = op.create_table(
        "op_dc_vnet_alloc",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("vnet", sa.String(length=18), nullable=False),
        _id("physical_network_id"),
        _id("data_center_id"),
        sa.Column("reservation_id", sa.String(length=40), nullable=True),
        _id("account_id", nullable=True),
        sa.Column("taken", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["data_center_id"],
            ["data_center.id"],
            name=op.f("fk_op_dc_vnet_alloc_data_center_id_data_center"),
        ),
        sa.ForeignKeyConstraint(
            ["physical_network_id"],
            ["physical_network.id"],
            name=op.f("fk_op_dc_vnet_alloc_physical_network_id_physical_network"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_op_dc_vnet_alloc")),
        sa.UniqueConstraint(
            "physical_network_id", "vnet", name=op.f("uq_op_dc_vnet_alloc_physical_network_id_vnet")
        ),
    )
    op.create_index(
        op.f("ix_op_dc_vnet_alloc_data_center_id"), "op_dc_vnet_alloc", ["data_center_id"]
    )
    _backfill_vnets(vnets)


def _backfill_vnets(vnets: sa.Table | None) -> None:
    """One row per VLAN of the ranges physical networks already have ("100-200,300")."""
    if vnets is None:
        return
    networks = sa.table(
        "physical_network",
        sa.column("id", sa.Integer),
        sa.column("data_center_id", sa.Integer),
        sa.column("vnet", sa.String),
        sa.column("removed", sa.DateTime),
    )
    rows = op.get_bind().execute(
        sa.select(networks.c.id, networks.c.data_center_id, networks.c.vnet).where(
            networks.c.vnet.is_not(None), networks.c.removed.is_(None)
        )
    )
    values = []
    for network_id, zone_id, text in rows:
        for part in str(text).replace(";", ",").split(","):
            ends = [piece.strip() for piece in part.split("-") if piece.strip()]
            if not ends or not all(end.isdigit() for end in ends):
                continue
            first, last = int(ends[0]), int(ends[-1])
            values += [
                {"vnet": str(vlan), "physical_network_id": network_id, "data_center_id": zone_id}
                for vlan in range(first, last + 1)
            ]
    if values:
        op.bulk_insert(vnets, values)


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index(op.f("ix_op_dc_vnet_alloc_data_center_id"), table_name="op_dc_vnet_alloc")
    op.drop_table("op_dc_vnet_alloc")
    op.drop_table("data_center_details")
    op.drop_index(op.f("ix_alert_data_center_id_type_resolved"), table_name="alert")
    op.drop_index(op.f("ix_alert_archived_type_id"), table_name="alert")
    op.drop_table("alert")
