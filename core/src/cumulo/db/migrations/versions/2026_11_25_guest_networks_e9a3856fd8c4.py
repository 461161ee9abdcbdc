"""guest networks, their services and providers, public IP ownership

``networks`` (4.1's columns), ``ntwk_service_map`` (the provider of each service of a
network), ``op_networks`` (the network garbage collector's bookkeeping), and on
``user_ip_address`` the columns of public IP management: the guest network an address
is associated with, static NAT to a VM and its guest address, plus indexes for listing
an account's addresses and reading a network's. No data: a basic zone's shared network
is created when its first VM needs it (:mod:`cumulo.network.networks.basic`).

Revision ID: e9a3856fd8c4
Revises: ac80ee2f5e28
Create Date: 2026-11-25 15:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e9a3856fd8c4"
down_revision: str | Sequence[str] | None = "ac80ee2f5e28"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _fk(
    table: str, column: str, target: str, ondelete: str | None = None
) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"), ondelete=ondelete
    )


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "networks",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("uuid", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("display_text", sa.String(length=255), nullable=True),
        sa.Column("traffic_type", sa.String(length=32), nullable=False),
        sa.Column("broadcast_domain_type", sa.String(length=32), nullable=False),
        sa.Column("broadcast_uri", sa.String(length=255), nullable=True),
        sa.Column("gateway", sa.String(length=15), nullable=True),
        sa.Column("cidr", sa.String(length=18), nullable=True),
        sa.Column("mode", sa.String(length=32), nullable=True),
        sa.Column("network_offering_id", _ID, nullable=False),
        sa.Column("physical_network_id", _ID, nullable=True),
        sa.Column("data_center_id", _ID, nullable=False),
        sa.Column("guru_name", sa.String(length=255), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("related", _ID, nullable=True),
        sa.Column("domain_id", _ID, nullable=False),
        sa.Column("account_id", _ID, nullable=False),
        sa.Column("dns1", sa.String(length=255), nullable=True),
        sa.Column("dns2", sa.String(length=255), nullable=True),
        sa.Column("acl_type", sa.String(length=15), nullable=False),
        sa.Column("subdomain_access", sa.Boolean(), nullable=True),
        sa.Column("guest_type", sa.String(length=32), nullable=True),
        sa.Column("network_domain", sa.String(length=255), nullable=True),
        sa.Column("restart_required", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("specify_ip_ranges", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("vpc_id", _ID, nullable=True),
        sa.Column(
            "created", sa.DateTime(), server_default=sa.func.current_timestamp(), nullable=False
        ),
        sa.Column("removed", sa.DateTime(), nullable=True),
        _fk("networks", "account_id", "account"),
        _fk("networks", "data_center_id", "data_center"),
        _fk("networks", "domain_id", "domain"),
        _fk("networks", "network_offering_id", "network_offerings"),
        _fk("networks", "physical_network_id", "physical_network"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_networks")),
        sa.UniqueConstraint("uuid", name=op.f("uq_networks_uuid")),
    )
    with op.batch_alter_table("networks", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_networks_account_id_data_center_id"),
            ["account_id", "data_center_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_networks_data_center_id_state"),
            ["data_center_id", "state"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_networks_domain_id"), ["domain_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_networks_network_offering_id"), ["network_offering_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_networks_physical_network_id"), ["physical_network_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_networks_removed"), ["removed"], unique=False)

    op.create_table(
        "ntwk_service_map",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("network_id", _ID, nullable=False),
        sa.Column("service", sa.String(length=255), nullable=False),
        sa.Column("provider", sa.String(length=255), nullable=True),
        _fk("ntwk_service_map", "network_id", "networks", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ntwk_service_map")),
        sa.UniqueConstraint(
            "network_id",
            "service",
            "provider",
            name=op.f("uq_ntwk_service_map_network_id_service_provider"),
        ),
    )

    op.create_table(
        "op_networks",
        sa.Column("id", _ID, nullable=False),
        sa.Column("gc", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("idle_since", sa.DateTime(), nullable=True),
        _fk("op_networks", "id", "networks", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_op_networks")),
    )
    with op.batch_alter_table("op_networks", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_op_networks_gc_idle_since"), ["gc", "idle_since"], unique=False
        )

    with op.batch_alter_table("user_ip_address", schema=None) as batch_op:
        batch_op.add_column(sa.Column("associated_with_network_id", _ID, nullable=True))
        batch_op.add_column(
            sa.Column("one_to_one_nat", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column("vm_id", _ID, nullable=True))
        batch_op.add_column(sa.Column("vm_ip_address", sa.String(length=40), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_user_ip_address_account_id_state"),
            ["account_id", "state"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_user_ip_address_associated_with_network_id"),
            ["associated_with_network_id"],
            unique=False,
        )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("user_ip_address", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_ip_address_associated_with_network_id"))
        batch_op.drop_index(batch_op.f("ix_user_ip_address_account_id_state"))
        batch_op.drop_column("vm_ip_address")
        batch_op.drop_column("vm_id")
        batch_op.drop_column("one_to_one_nat")
        batch_op.drop_column("associated_with_network_id")
    with op.batch_alter_table("op_networks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_op_networks_gc_idle_since"))
    op.drop_table("op_networks")
    op.drop_table("ntwk_service_map")
    with op.batch_alter_table("networks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_networks_removed"))
        batch_op.drop_index(batch_op.f("ix_networks_physical_network_id"))
        batch_op.drop_index(batch_op.f("ix_networks_network_offering_id"))
        batch_op.drop_index(batch_op.f("ix_networks_domain_id"))
        batch_op.drop_index(batch_op.f("ix_networks_data_center_id_state"))
        batch_op.drop_index(batch_op.f("ix_networks_account_id_data_center_id"))
    op.drop_table("networks")
