"""SSH key pairs, resource limits and counts

``ssh_keypairs``, ``resource_limit`` and ``resource_count`` with CloudStack 4.1's
columns. No data: count rows are created on first use by
:func:`cumulo.limits.service.reserve` (accounts and domains that exist before this
revision own nothing countable yet, since the resource tables come with later
revisions), and ``updateResourceCount`` recounts whenever an operator wants.

Revision ID: 6de10d1f0b3d
Revises: 6bdd38d4776f
Create Date: 2026-11-25 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "6de10d1f0b3d"
down_revision: str | Sequence[str] | None = "6bdd38d4776f"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_ONE_OWNER = "(account_id IS NULL) <> (domain_id IS NULL)"


def _owned_table(table: str, value: sa.Column[int], *, foreign_keys: bool) -> None:
    # resource_limit and resource_count share their shape: one owner, a type, a number;
    # resource_count has no foreign keys (see cumulo.limits.models.ResourceCount).
    keys = (
        [
            sa.ForeignKeyConstraint(
                ["account_id"],
                ["account.id"],
                name=op.f(f"fk_{table}_account_id_account"),
                ondelete="CASCADE",
            ),
            sa.ForeignKeyConstraint(
                ["domain_id"],
                ["domain.id"],
                name=op.f(f"fk_{table}_domain_id_domain"),
                ondelete="CASCADE",
            ),
        ]
        if foreign_keys
        else []
    )
    op.create_table(
        table,
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("type", sa.String(length=255), nullable=False),
        sa.Column("account_id", _ID, nullable=True),
        sa.Column("domain_id", _ID, nullable=True),
        value,
        sa.CheckConstraint(_ONE_OWNER, name=op.f(f"ck_{table}_one_owner")),
        *keys,
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
        sa.UniqueConstraint("account_id", "type", name=op.f(f"uq_{table}_account_id_type")),
        sa.UniqueConstraint("domain_id", "type", name=op.f(f"uq_{table}_domain_id_type")),
    )


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "ssh_keypairs",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("account_id", _ID, nullable=False),
        sa.Column("domain_id", _ID, nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=128), nullable=False),
        sa.Column("public_key", sa.String(length=5120), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
            name=op.f("fk_ssh_keypairs_account_id_account"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["domain_id"], ["domain.id"], name=op.f("fk_ssh_keypairs_domain_id_domain")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ssh_keypairs")),
        sa.UniqueConstraint("account_id", "name", name=op.f("uq_ssh_keypairs_account_id_name")),
    )
    with op.batch_alter_table("ssh_keypairs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ssh_keypairs_domain_id"), ["domain_id"], unique=False)
    _owned_table(
        "resource_limit",
        sa.Column("max", sa.BigInteger(), server_default="-1", nullable=False),
        foreign_keys=True,
    )
    _owned_table(
        "resource_count",
        sa.Column("count", sa.BigInteger(), server_default="0", nullable=False),
        foreign_keys=False,
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("resource_count")
    op.drop_table("resource_limit")
    with op.batch_alter_table("ssh_keypairs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ssh_keypairs_domain_id"))
    op.drop_table("ssh_keypairs")
