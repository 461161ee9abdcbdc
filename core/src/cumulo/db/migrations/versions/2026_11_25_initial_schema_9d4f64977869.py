"""initial schema: configuration overrides, domain, account, user

The first revision of the core's branch ``cumulo``. Generated with
``cumulo db revision -m "initial schema" --autogenerate --url sqlite:////tmp/gen.db``
on an empty database, then reviewed for SQLite, MariaDB 10.11 and PostgreSQL 15:
BIGINT ids (INTEGER on SQLite, which only auto-increments INTEGER PRIMARY KEY),
``sa.false()`` boolean defaults (PostgreSQL refuses ``DEFAULT 0`` for a boolean),
``CURRENT_TIMESTAMP`` rendered by each back end, constraint and index names from
the naming convention of ``cumulo.db.base``.

Revision ID: 9d4f64977869
Revises:
Create Date: 2026-11-25 08:41:24.685331
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "9d4f64977869"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("cumulo",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "configuration",
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("value", sa.String(length=4095), nullable=True),
        sa.Column("category", sa.String(length=255), nullable=False),
        sa.Column("instance", sa.String(length=255), nullable=False),
        sa.Column("component", sa.String(length=255), nullable=False),
        sa.Column("description", sa.String(length=1024), nullable=True),
        sa.Column("updated", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_configuration")),
    )
    op.create_table(
        "domain",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("uuid", sa.String(length=40), nullable=False),
        sa.Column("parent", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("owner", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("path", sa.String(length=255), nullable=False),
        sa.Column("level", sa.Integer(), server_default="0", nullable=False),
        sa.Column("child_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_child_seq", sa.BigInteger(), server_default="1", nullable=False),
        sa.Column("state", sa.String(length=32), server_default="Active", nullable=False),
        sa.Column("network_domain", sa.String(length=255), nullable=True),
        sa.Column(
            "created", sa.DateTime(), server_default=sa.func.current_timestamp(), nullable=False
        ),
        sa.Column("removed", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["parent"], ["domain.id"], name=op.f("fk_domain_parent_domain")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_domain")),
        sa.UniqueConstraint("uuid", name=op.f("uq_domain_uuid")),
    )
    with op.batch_alter_table("domain", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_domain_parent_name"), ["parent", "name"], unique=False)
        batch_op.create_index(batch_op.f("ix_domain_path"), ["path"], unique=False)

    op.create_table(
        "scoped_configuration",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("scope_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("value", sa.String(length=4095), nullable=True),
        sa.Column("updated", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scoped_configuration")),
        sa.UniqueConstraint(
            "scope", "scope_id", "name", name=op.f("uq_scoped_configuration_scope_scope_id_name")
        ),
    )
    op.create_table(
        "account",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("uuid", sa.String(length=40), nullable=False),
        sa.Column("account_name", sa.String(length=100), nullable=False),
        sa.Column("type", sa.SmallInteger(), nullable=False),
        sa.Column(
            "domain_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("state", sa.String(length=10), server_default="enabled", nullable=False),
        sa.Column("cleanup_needed", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("network_domain", sa.String(length=255), nullable=True),
        sa.Column(
            "default_zone_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column(
            "created", sa.DateTime(), server_default=sa.func.current_timestamp(), nullable=False
        ),
        sa.Column("removed", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["domain_id"], ["domain.id"], name=op.f("fk_account_domain_id_domain")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account")),
        sa.UniqueConstraint("uuid", name=op.f("uq_account_uuid")),
    )
    with op.batch_alter_table("account", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_account_domain_id_account_name"),
            ["domain_id", "account_name"],
            unique=False,
        )

    op.create_table(
        "user",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("uuid", sa.String(length=40), nullable=False),
        sa.Column("username", sa.String(length=255), nullable=False),
        sa.Column("password", sa.String(length=255), nullable=False),
        sa.Column(
            "account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("firstname", sa.String(length=255), nullable=True),
        sa.Column("lastname", sa.String(length=255), nullable=True),
        sa.Column("email", sa.String(length=255), nullable=True),
        sa.Column("state", sa.String(length=10), server_default="enabled", nullable=False),
        sa.Column("api_key", sa.String(length=255), nullable=True),
        sa.Column("secret_key", sa.String(length=255), nullable=True),
        sa.Column("timezone", sa.String(length=30), nullable=True),
        sa.Column("registration_token", sa.String(length=255), nullable=True),
        sa.Column("is_registered", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("incorrect_login_attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "created", sa.DateTime(), server_default=sa.func.current_timestamp(), nullable=False
        ),
        sa.Column("removed", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
            name=op.f("fk_user_account_id_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user")),
        sa.UniqueConstraint("api_key", name=op.f("uq_user_api_key")),
        sa.UniqueConstraint("uuid", name=op.f("uq_user_uuid")),
    )
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_user_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_user_username"), ["username"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_username"))
        batch_op.drop_index(batch_op.f("ix_user_account_id"))

    op.drop_table("user")
    with op.batch_alter_table("account", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_account_domain_id_account_name"))

    op.drop_table("account")
    op.drop_table("scoped_configuration")
    with op.batch_alter_table("domain", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_domain_path"))
        batch_op.drop_index(batch_op.f("ix_domain_parent_name"))

    op.drop_table("domain")
    op.drop_table("configuration")
