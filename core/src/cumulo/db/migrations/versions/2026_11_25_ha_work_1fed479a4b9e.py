"""HA work items

``op_ha_work`` (4.1's table of the same name, see :mod:`cumulo.ha.models`): restarts of
VMs whose host went down, migrations away from hosts entering maintenance, stops of
stray copies; with the server working on each (``mgmt_server_id``, ``lease_expires``)
and a unique ``open_instance_id`` so that a VM has at most one open item.

Revision ID: 1fed479a4b9e
Revises: b7e3c5a91d42
Create Date: 2026-11-25 12:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "1fed479a4b9e"
down_revision: str | Sequence[str] | None = "b7e3c5a91d42"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "op_ha_work",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("instance_id", ID, nullable=False),
        sa.Column("open_instance_id", ID, nullable=True),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("vm_type", sa.String(length=32), nullable=False),
        sa.Column("previous_state", sa.String(length=32), nullable=False),
        sa.Column("host_id", ID, nullable=False),
        sa.Column("step", sa.String(length=16), nullable=False),
        sa.Column("tried", sa.Integer(), server_default="0", nullable=False),
        sa.Column("time_to_try", sa.DateTime(), nullable=False),
        sa.Column("updated", sa.Integer(), server_default="0", nullable=False),
        sa.Column("mgmt_server_id", sa.BigInteger(), nullable=True),
        sa.Column("taken", sa.DateTime(), nullable=True),
        sa.Column("lease_expires", sa.DateTime(), nullable=True),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.Column("last_error", sa.String(length=1024), nullable=True),
        sa.ForeignKeyConstraint(["host_id"], ["host.id"], name=op.f("fk_op_ha_work_host_id_host")),
        sa.ForeignKeyConstraint(
            ["instance_id"], ["vm_instance.id"], name=op.f("fk_op_ha_work_instance_id_vm_instance")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_op_ha_work")),
        sa.UniqueConstraint("open_instance_id", name=op.f("uq_op_ha_work_open_instance_id")),
    )
    op.create_index(op.f("ix_op_ha_work_step_time_to_try"), "op_ha_work", ["step", "time_to_try"])
    op.create_index(op.f("ix_op_ha_work_instance_id"), "op_ha_work", ["instance_id"])
    op.create_index(
        op.f("ix_op_ha_work_host_id_type_step"), "op_ha_work", ["host_id", "type", "step"]
    )
    op.create_index(op.f("ix_op_ha_work_mgmt_server_id"), "op_ha_work", ["mgmt_server_id"])


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index(op.f("ix_op_ha_work_mgmt_server_id"), table_name="op_ha_work")
    op.drop_index(op.f("ix_op_ha_work_host_id_type_step"), table_name="op_ha_work")
    op.drop_index(op.f("ix_op_ha_work_instance_id"), table_name="op_ha_work")
    op.drop_index(op.f("ix_op_ha_work_step_time_to_try"), table_name="op_ha_work")
    op.drop_table("op_ha_work")
