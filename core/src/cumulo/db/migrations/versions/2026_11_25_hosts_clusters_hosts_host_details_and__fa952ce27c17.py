"""hosts: clusters, hosts, host details and tags, hypervisor capabilities

The "what things run on" tables of CloudStack 4.1 (``cluster``, ``cluster_details``,
``host``, ``host_details``, ``host_tags``, ``hypervisor_capabilities``), with the
hypervisor capability rows 4.1's schema scripts insert (plus the simulator's default
row). Generated with ``cumulo db revision --autogenerate`` on SQLite at ``756ba2216954``
and checked to create only these tables; storage pools follow in the next revision.

Revision ID: fa952ce27c17
Revises: 756ba2216954
Create Date: 2026-11-25 09:48:51.327343
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "fa952ce27c17"
down_revision: str | Sequence[str] | None = "756ba2216954"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (hypervisor, version, max guests per host, security groups supported): the rows of
# 4.1's schema-2212to30.sql and later upgrade scripts up to 4.1, and Simulator's default.
CAPABILITIES_41 = (
    ("XenServer", "default", 50, True),
    ("XenServer", "XCP 1.0", 50, True),
    ("XenServer", "5.6", 50, True),
    ("XenServer", "5.6 FP1", 50, True),
    ("XenServer", "5.6 SP2", 50, True),
    ("XenServer", "6.0", 50, True),
    ("XenServer", "6.0.2", 50, True),
    ("XenServer", "6.1.0", 50, True),
    ("VMware", "default", 128, False),
    ("VMware", "4.0", 128, False),
    ("VMware", "4.1", 128, False),
    ("VMware", "5.0", 128, False),
    ("VMware", "5.1", 128, False),
    ("KVM", "default", 50, True),
    ("Ovm", "default", 25, True),
    ("Ovm", "2.3", 25, True),
    ("Simulator", "default", 50, True),
)


def upgrade() -> None:
    """Apply this revision."""
    capabilities = op.create_table(
        "hypervisor_capabilities",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("uuid", sa.String(length=40), nullable=False),
        sa.Column("hypervisor_type", sa.String(length=32), nullable=False),
        sa.Column("hypervisor_version", sa.String(length=32), nullable=True),
        sa.Column("max_guests_limit", sa.BigInteger(), nullable=True),
        sa.Column("security_group_enabled", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hypervisor_capabilities")),
        sa.UniqueConstraint(
            "hypervisor_type",
            "hypervisor_version",
            name=op.f("uq_hypervisor_capabilities_hypervisor_type_hypervisor_version"),
        ),
        sa.UniqueConstraint("uuid", name=op.f("uq_hypervisor_capabilities_uuid")),
    )
    op.create_table(
        "cluster",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("uuid", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("guid", sa.String(length=255), nullable=True),
        sa.Column("pod_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "data_center_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("hypervisor_type", sa.String(length=32), nullable=False),
        sa.Column("cluster_type", sa.String(length=64), nullable=False),
        sa.Column("allocation_state", sa.String(length=32), nullable=False),
        sa.Column("managed_state", sa.String(length=32), server_default="Managed", nullable=False),
        sa.Column(
            "created", sa.DateTime(), server_default=sa.func.current_timestamp(), nullable=False
        ),
        sa.Column("removed", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["data_center_id"],
            ["data_center.id"],
            name=op.f("fk_cluster_data_center_id_data_center"),
        ),
        sa.ForeignKeyConstraint(
            ["pod_id"], ["host_pod_ref.id"], name=op.f("fk_cluster_pod_id_host_pod_ref")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cluster")),
        sa.UniqueConstraint("guid", name=op.f("uq_cluster_guid")),
        sa.UniqueConstraint("uuid", name=op.f("uq_cluster_uuid")),
    )
    with op.batch_alter_table("cluster", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_cluster_data_center_id"), ["data_center_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_cluster_pod_id"), ["pod_id"], unique=False)

    op.create_table(
        "cluster_details",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "cluster_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["cluster_id"],
            ["cluster.id"],
            name=op.f("fk_cluster_details_cluster_id_cluster"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cluster_details")),
        sa.UniqueConstraint("cluster_id", "name", name=op.f("uq_cluster_details_cluster_id_name")),
    )
    op.create_table(
        "host",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("uuid", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("resource_state", sa.String(length=32), server_default="Enabled", nullable=False),
        sa.Column(
            "data_center_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("pod_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column(
            "cluster_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("private_ip_address", sa.String(length=40), nullable=True),
        sa.Column("url", sa.String(length=255), nullable=True),
        sa.Column("guid", sa.String(length=255), nullable=True),
        sa.Column("hypervisor_type", sa.String(length=32), nullable=True),
        sa.Column("hypervisor_version", sa.String(length=32), nullable=True),
        sa.Column("version", sa.String(length=40), nullable=True),
        sa.Column("capabilities", sa.String(length=255), nullable=True),
        sa.Column("cpu_sockets", sa.Integer(), nullable=True),
        sa.Column("cpus", sa.Integer(), nullable=True),
        sa.Column("speed", sa.Integer(), nullable=True),
        sa.Column("total_memory", sa.BigInteger(), nullable=True),
        sa.Column("free_cpu", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("free_memory", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column(
            "os_category_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("last_ping", sa.DateTime(), nullable=True),
        sa.Column("disconnected", sa.DateTime(), nullable=True),
        sa.Column("mgmt_server_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "created", sa.DateTime(), server_default=sa.func.current_timestamp(), nullable=False
        ),
        sa.Column("removed", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["cluster_id"], ["cluster.id"], name=op.f("fk_host_cluster_id_cluster")
        ),
        sa.ForeignKeyConstraint(
            ["data_center_id"], ["data_center.id"], name=op.f("fk_host_data_center_id_data_center")
        ),
        sa.ForeignKeyConstraint(
            ["pod_id"], ["host_pod_ref.id"], name=op.f("fk_host_pod_id_host_pod_ref")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_host")),
        sa.UniqueConstraint("guid", name=op.f("uq_host_guid")),
        sa.UniqueConstraint("uuid", name=op.f("uq_host_uuid")),
    )
    with op.batch_alter_table("host", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_host_cluster_id_free_cpu"), ["cluster_id", "free_cpu"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_host_cluster_id_free_memory"),
            ["cluster_id", "free_memory"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_host_data_center_id"), ["data_center_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_host_pod_id"), ["pod_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_host_status_last_ping"), ["status", "last_ping"], unique=False
        )

    op.create_table(
        "host_details",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("host_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["host_id"], ["host.id"], name=op.f("fk_host_details_host_id_host"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_host_details")),
        sa.UniqueConstraint("host_id", "name", name=op.f("uq_host_details_host_id_name")),
    )
    op.create_table(
        "host_tags",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("host_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("tag", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["host_id"], ["host.id"], name=op.f("fk_host_tags_host_id_host"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_host_tags")),
        sa.UniqueConstraint("host_id", "tag", name=op.f("uq_host_tags_host_id_tag")),
    )
    with op.batch_alter_table("host_tags", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_host_tags_tag"), ["tag"], unique=False)

    op.bulk_insert(
        capabilities,
        [
            {
                "uuid": str(uuid.uuid4()),
                "hypervisor_type": hypervisor,
                "hypervisor_version": version,
                "max_guests_limit": limit,
                "security_group_enabled": security_groups,
            }
            for hypervisor, version, limit, security_groups in CAPABILITIES_41
        ],
    )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("host_tags", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_host_tags_tag"))

    op.drop_table("host_tags")
    op.drop_table("host_details")
    with op.batch_alter_table("host", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_host_status_last_ping"))
        batch_op.drop_index(batch_op.f("ix_host_pod_id"))
        batch_op.drop_index(batch_op.f("ix_host_data_center_id"))
        batch_op.drop_index(batch_op.f("ix_host_cluster_id_free_memory"))
        batch_op.drop_index(batch_op.f("ix_host_cluster_id_free_cpu"))

    op.drop_table("host")
    op.drop_table("cluster_details")
    with op.batch_alter_table("cluster", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cluster_pod_id"))
        batch_op.drop_index(batch_op.f("ix_cluster_data_center_id"))

    op.drop_table("cluster")
    op.drop_table("hypervisor_capabilities")
