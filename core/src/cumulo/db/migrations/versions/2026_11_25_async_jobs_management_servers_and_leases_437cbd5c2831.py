"""async jobs, management servers and leases: async_job, mshost, op_lease

The tables of ``cumulo.jobs``: the async job queue (claimed by a conditional UPDATE on
``owner``; indexes for the claim, the takeover, listAsyncJobs and the purge), the
management servers sharing the database with their heartbeats, and the leases of the
singleton background tasks. No foreign keys: a job is history that outlives its user
or account, as in CloudStack's schema. The JSON columns are MEDIUMTEXT on MariaDB
(TEXT holds only 64 KiB). Generated with ``cumulo db revision --autogenerate`` on a
SQLite database at the other heads, then reduced to these three tables.

Revision ID: 437cbd5c2831
Revises: 996528d35a77
Create Date: 2026-11-25 09:11:28.840564
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "437cbd5c2831"
down_revision: str | Sequence[str] | None = "996528d35a77"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_JSON = (
    sa.Text().with_variant(mysql.MEDIUMTEXT(), "mariadb").with_variant(mysql.MEDIUMTEXT(), "mysql")
)


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "async_job",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("uuid", sa.String(length=40), nullable=False),
        sa.Column("user_id", _ID, nullable=False),
        sa.Column("account_id", _ID, nullable=False),
        sa.Column("cmd", sa.String(length=255), nullable=False),
        sa.Column("command", sa.String(length=255), nullable=False),
        sa.Column("params", _JSON, nullable=False),
        sa.Column("status", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column("process_status", sa.Integer(), server_default="0", nullable=False),
        sa.Column("result_code", sa.Integer(), server_default="0", nullable=False),
        sa.Column("result_type", sa.String(length=16), nullable=True),
        sa.Column("result", _JSON, nullable=True),
        sa.Column("instance_type", sa.String(length=64), nullable=True),
        sa.Column("instance_uuid", sa.String(length=40), nullable=True),
        sa.Column("owner", sa.BigInteger(), nullable=True),
        sa.Column(
            "created", sa.DateTime(), server_default=sa.func.current_timestamp(), nullable=False
        ),
        sa.Column("last_updated", sa.DateTime(), nullable=False),
        sa.Column("completed", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_async_job")),
        sa.UniqueConstraint("uuid", name=op.f("uq_async_job_uuid")),
    )
    op.create_index(op.f("ix_async_job_status_id"), "async_job", ["status", "id"])
    op.create_index(op.f("ix_async_job_owner_status"), "async_job", ["owner", "status"])
    op.create_index(op.f("ix_async_job_account_id_id"), "async_job", ["account_id", "id"])
    op.create_index(op.f("ix_async_job_completed"), "async_job", ["completed"])
    op.create_table(
        "mshost",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("msid", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("ip", sa.String(length=255), nullable=True),
        sa.Column("version", sa.String(length=64), nullable=True),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("last_heartbeat", sa.DateTime(), nullable=False),
        sa.Column(
            "created", sa.DateTime(), server_default=sa.func.current_timestamp(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mshost")),
        sa.UniqueConstraint("msid", name=op.f("uq_mshost_msid")),
    )
    op.create_index(op.f("ix_mshost_state_last_heartbeat"), "mshost", ["state", "last_heartbeat"])
    op.create_table(
        "op_lease",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("owner", sa.BigInteger(), nullable=False),
        sa.Column("expires", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_op_lease")),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("op_lease")
    op.drop_index(op.f("ix_mshost_state_last_heartbeat"), table_name="mshost")
    op.drop_table("mshost")
    for index in ("completed", "account_id_id", "owner_status", "status_id"):
        op.drop_index(op.f(f"ix_async_job_{index}"), table_name="async_job")
    op.drop_table("async_job")
