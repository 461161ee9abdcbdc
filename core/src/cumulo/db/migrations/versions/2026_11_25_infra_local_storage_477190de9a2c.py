"""host-local primary storage discovered from hosts (REQ-PS-06), capacity threshold alerts

``storage_pool.host_id``: the host a host-local pool (scope ``HOST``) belongs to, as 4.1
links them in ``storage_pool_host_ref``; ``addHost``/``reconnectHost`` create and
refresh these pools from what the hypervisor reports, ``deleteHost`` removes them.
Capacity threshold alerts need no schema: they are rows of the existing ``alert`` table.

Revision ID: 477190de9a2c
Revises: ab8ceb55a6da
Create Date: 2026-11-25 15:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "477190de9a2c"
down_revision: str | Sequence[str] | None = "ab8ceb55a6da"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("storage_pool") as batch_op:
        batch_op.add_column(sa.Column("host_id", ID, nullable=True))
        batch_op.create_index(batch_op.f("ix_storage_pool_host_id"), ["host_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_storage_pool_host_id_host"), "host", ["host_id"], ["id"]
        )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("storage_pool") as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_storage_pool_host_id_host"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_storage_pool_host_id"))
        batch_op.drop_column("host_id")
