"""topology: regions, zones, physical networks, pods, ip ranges

The "where" tables of CloudStack 4.1 (``region``, ``data_center``,
``physical_network`` and its traffic types and service providers, ``host_pod_ref``,
``vlan``, ``user_ip_address``, ``dc_storage_network_ip_range``), plus the default
region row (id 1, REQ-REG-01) that 4.1's ``create-schema.sql`` inserts. Generated with
``cumulo db revision --autogenerate`` on SQLite at ``437cbd5c2831`` and checked to
create only these tables; clusters, hosts and storage follow in later revisions.

Revision ID: 756ba2216954
Revises: 437cbd5c2831
Create Date: 2026-11-25 09:47:15.066135
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "756ba2216954"
down_revision: str | Sequence[str] | None = "437cbd5c2831"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "region",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("end_point", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_region")),
        sa.UniqueConstraint("name", name=op.f("uq_region_name")),
    )
    region = sa.table(
        "region", sa.column("id", sa.Integer), sa.column("name"), sa.column("end_point")
    )
    op.bulk_insert(
        region, [{"id": 1, "name": "Local", "end_point": "http://localhost:8080/client/"}]
    )
    op.create_table(
        "data_center",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("uuid", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=True),
        sa.Column("dns1", sa.String(length=255), nullable=False),
        sa.Column("dns2", sa.String(length=255), nullable=True),
        sa.Column("ip6_dns1", sa.String(length=255), nullable=True),
        sa.Column("ip6_dns2", sa.String(length=255), nullable=True),
        sa.Column("internal_dns1", sa.String(length=255), nullable=False),
        sa.Column("internal_dns2", sa.String(length=255), nullable=True),
        sa.Column("guest_network_cidr", sa.String(length=18), nullable=True),
        sa.Column("domain", sa.String(length=100), nullable=True),
        sa.Column("domain_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("networktype", sa.String(length=255), nullable=False),
        sa.Column(
            "allocation_state", sa.String(length=32), server_default="Enabled", nullable=False
        ),
        sa.Column(
            "is_security_group_enabled", sa.Boolean(), server_default=sa.false(), nullable=False
        ),
        sa.Column(
            "is_local_storage_enabled", sa.Boolean(), server_default=sa.false(), nullable=False
        ),
        sa.Column("zone_token", sa.String(length=255), nullable=False),
        sa.Column("dhcp_provider", sa.String(length=255), nullable=True),
        sa.Column("dns_provider", sa.String(length=255), nullable=True),
        sa.Column("gateway_provider", sa.String(length=255), nullable=True),
        sa.Column("firewall_provider", sa.String(length=255), nullable=True),
        sa.Column("userdata_provider", sa.String(length=255), nullable=True),
        sa.Column("lb_provider", sa.String(length=255), nullable=True),
        sa.Column("vpn_provider", sa.String(length=255), nullable=True),
        sa.Column("region_id", sa.Integer(), server_default="1", nullable=False),
        sa.Column(
            "created", sa.DateTime(), server_default=sa.func.current_timestamp(), nullable=False
        ),
        sa.Column("removed", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["domain_id"], ["domain.id"], name=op.f("fk_data_center_domain_id_domain")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_center")),
        sa.UniqueConstraint("uuid", name=op.f("uq_data_center_uuid")),
    )
    with op.batch_alter_table("data_center", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_data_center_domain_id"), ["domain_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_data_center_name"), ["name"], unique=False)

    op.create_table(
        "host_pod_ref",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("uuid", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column(
            "data_center_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("gateway", sa.String(length=255), nullable=False),
        sa.Column("cidr_address", sa.String(length=15), nullable=False),
        sa.Column("cidr_size", sa.Integer(), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=True),
        sa.Column(
            "allocation_state", sa.String(length=32), server_default="Enabled", nullable=False
        ),
        sa.Column("reserved_start_num", sa.BigInteger(), nullable=False),
        sa.Column("reserved_end_num", sa.BigInteger(), nullable=False),
        sa.Column(
            "created", sa.DateTime(), server_default=sa.func.current_timestamp(), nullable=False
        ),
        sa.Column("removed", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["data_center_id"],
            ["data_center.id"],
            name=op.f("fk_host_pod_ref_data_center_id_data_center"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_host_pod_ref")),
        sa.UniqueConstraint("uuid", name=op.f("uq_host_pod_ref_uuid")),
    )
    with op.batch_alter_table("host_pod_ref", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_host_pod_ref_data_center_id"), ["data_center_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_host_pod_ref_reserved_start_num_reserved_end_num"),
            ["reserved_start_num", "reserved_end_num"],
            unique=False,
        )

    op.create_table(
        "physical_network",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("uuid", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column(
            "data_center_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("vnet", sa.String(length=255), nullable=True),
        sa.Column("speed", sa.String(length=32), nullable=True),
        sa.Column("domain_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("broadcast_domain_range", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=32), server_default="Disabled", nullable=False),
        sa.Column("tags", sa.String(length=255), nullable=True),
        sa.Column("isolation_methods", sa.String(length=255), nullable=True),
        sa.Column(
            "created", sa.DateTime(), server_default=sa.func.current_timestamp(), nullable=False
        ),
        sa.Column("removed", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["data_center_id"],
            ["data_center.id"],
            name=op.f("fk_physical_network_data_center_id_data_center"),
        ),
        sa.ForeignKeyConstraint(
            ["domain_id"], ["domain.id"], name=op.f("fk_physical_network_domain_id_domain")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_physical_network")),
        sa.UniqueConstraint("uuid", name=op.f("uq_physical_network_uuid")),
    )
    with op.batch_alter_table("physical_network", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_physical_network_data_center_id"), ["data_center_id"], unique=False
        )

    op.create_table(
        "dc_storage_network_ip_range",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("uuid", sa.String(length=40), nullable=False),
        sa.Column("start_ip", sa.String(length=40), nullable=False),
        sa.Column("end_ip", sa.String(length=40), nullable=False),
        sa.Column("start_num", sa.BigInteger(), nullable=False),
        sa.Column("end_num", sa.BigInteger(), nullable=False),
        sa.Column("vlan", sa.Integer(), nullable=True),
        sa.Column("netmask", sa.String(length=15), nullable=False),
        sa.Column("gateway", sa.String(length=15), nullable=False),
        sa.Column(
            "data_center_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("pod_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "network_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column(
            "created", sa.DateTime(), server_default=sa.func.current_timestamp(), nullable=False
        ),
        sa.Column("removed", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["data_center_id"],
            ["data_center.id"],
            name=op.f("fk_dc_storage_network_ip_range_data_center_id_data_center"),
        ),
        sa.ForeignKeyConstraint(
            ["pod_id"],
            ["host_pod_ref.id"],
            name=op.f("fk_dc_storage_network_ip_range_pod_id_host_pod_ref"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dc_storage_network_ip_range")),
        sa.UniqueConstraint("uuid", name=op.f("uq_dc_storage_network_ip_range_uuid")),
    )
    with op.batch_alter_table("dc_storage_network_ip_range", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_dc_storage_network_ip_range_pod_id"), ["pod_id"], unique=False
        )

    op.create_table(
        "physical_network_service_providers",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("uuid", sa.String(length=40), nullable=False),
        sa.Column(
            "physical_network_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column("provider_name", sa.String(length=255), nullable=False),
        sa.Column("state", sa.String(length=32), server_default="Disabled", nullable=False),
        sa.Column(
            "destination_physical_network_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column("services", sa.String(length=1024), server_default="", nullable=False),
        sa.Column(
            "created", sa.DateTime(), server_default=sa.func.current_timestamp(), nullable=False
        ),
        sa.Column("removed", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["physical_network_id"],
            ["physical_network.id"],
            name=op.f("fk_physical_network_service_providers_physical_network_id_physical_network"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_physical_network_service_providers")),
        sa.UniqueConstraint("uuid", name=op.f("uq_physical_network_service_providers_uuid")),
    )
    with op.batch_alter_table("physical_network_service_providers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_physical_network_service_providers_physical_network_id_provider_name"),
            ["physical_network_id", "provider_name"],
            unique=False,
        )

    op.create_table(
        "physical_network_traffic_types",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("uuid", sa.String(length=40), nullable=False),
        sa.Column(
            "physical_network_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column("traffic_type", sa.String(length=32), nullable=False),
        sa.Column("xen_network_label", sa.String(length=255), nullable=True),
        sa.Column("kvm_network_label", sa.String(length=255), nullable=True),
        sa.Column("vmware_network_label", sa.String(length=255), nullable=True),
        sa.Column("simulator_network_label", sa.String(length=255), nullable=True),
        sa.Column("vlan", sa.String(length=255), nullable=True),
        sa.Column(
            "created", sa.DateTime(), server_default=sa.func.current_timestamp(), nullable=False
        ),
        sa.Column("removed", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["physical_network_id"],
            ["physical_network.id"],
            name=op.f("fk_physical_network_traffic_types_physical_network_id_physical_network"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_physical_network_traffic_types")),
        sa.UniqueConstraint(
            "physical_network_id",
            "traffic_type",
            name=op.f("uq_physical_network_traffic_types_physical_network_id_traffic_type"),
        ),
        sa.UniqueConstraint("uuid", name=op.f("uq_physical_network_traffic_types_uuid")),
    )
    op.create_table(
        "vlan",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("uuid", sa.String(length=40), nullable=False),
        sa.Column("vlan_id", sa.String(length=255), nullable=True),
        sa.Column("vlan_gateway", sa.String(length=255), nullable=True),
        sa.Column("vlan_netmask", sa.String(length=255), nullable=True),
        sa.Column("description", sa.String(length=255), nullable=True),
        sa.Column("vlan_type", sa.String(length=255), nullable=False),
        sa.Column(
            "data_center_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "network_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column(
            "physical_network_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column("pod_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column(
            "account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("domain_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("ip6_gateway", sa.String(length=255), nullable=True),
        sa.Column("ip6_cidr", sa.String(length=255), nullable=True),
        sa.Column("ip6_range", sa.String(length=255), nullable=True),
        sa.Column("start_num", sa.BigInteger(), nullable=True),
        sa.Column("end_num", sa.BigInteger(), nullable=True),
        sa.Column(
            "created", sa.DateTime(), server_default=sa.func.current_timestamp(), nullable=False
        ),
        sa.Column("removed", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["account.id"], name=op.f("fk_vlan_account_id_account")
        ),
        sa.ForeignKeyConstraint(
            ["data_center_id"], ["data_center.id"], name=op.f("fk_vlan_data_center_id_data_center")
        ),
        sa.ForeignKeyConstraint(
            ["domain_id"], ["domain.id"], name=op.f("fk_vlan_domain_id_domain")
        ),
        sa.ForeignKeyConstraint(
            ["physical_network_id"],
            ["physical_network.id"],
            name=op.f("fk_vlan_physical_network_id_physical_network"),
        ),
        sa.ForeignKeyConstraint(
            ["pod_id"], ["host_pod_ref.id"], name=op.f("fk_vlan_pod_id_host_pod_ref")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vlan")),
        sa.UniqueConstraint("uuid", name=op.f("uq_vlan_uuid")),
    )
    with op.batch_alter_table("vlan", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_vlan_data_center_id"), ["data_center_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_vlan_start_num_end_num"), ["start_num", "end_num"], unique=False
        )

    op.create_table(
        "user_ip_address",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("uuid", sa.String(length=40), nullable=False),
        sa.Column("public_ip_address", sa.String(length=40), nullable=False),
        sa.Column("ip_num", sa.BigInteger(), nullable=False),
        sa.Column(
            "data_center_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "vlan_db_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "physical_network_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column(
            "source_network_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column(
            "account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("domain_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("allocated", sa.BigInteger(), nullable=True),
        sa.Column("source_nat", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("is_system", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.ForeignKeyConstraint(
            ["data_center_id"],
            ["data_center.id"],
            name=op.f("fk_user_ip_address_data_center_id_data_center"),
        ),
        sa.ForeignKeyConstraint(
            ["vlan_db_id"],
            ["vlan.id"],
            name=op.f("fk_user_ip_address_vlan_db_id_vlan"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_ip_address")),
        sa.UniqueConstraint(
            "data_center_id",
            "public_ip_address",
            name=op.f("uq_user_ip_address_data_center_id_public_ip_address"),
        ),
        sa.UniqueConstraint("uuid", name=op.f("uq_user_ip_address_uuid")),
    )
    with op.batch_alter_table("user_ip_address", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_user_ip_address_vlan_db_id_state"), ["vlan_db_id", "state"], unique=False
        )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("user_ip_address", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_ip_address_vlan_db_id_state"))

    op.drop_table("user_ip_address")
    with op.batch_alter_table("vlan", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vlan_start_num_end_num"))
        batch_op.drop_index(batch_op.f("ix_vlan_data_center_id"))

    op.drop_table("vlan")
    op.drop_table("physical_network_traffic_types")
    with op.batch_alter_table("physical_network_service_providers", schema=None) as batch_op:
        batch_op.drop_index(
            batch_op.f("ix_physical_network_service_providers_physical_network_id_provider_name")
        )

    op.drop_table("physical_network_service_providers")
    with op.batch_alter_table("dc_storage_network_ip_range", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dc_storage_network_ip_range_pod_id"))

    op.drop_table("dc_storage_network_ip_range")
    with op.batch_alter_table("physical_network", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_physical_network_data_center_id"))

    op.drop_table("physical_network")
    with op.batch_alter_table("host_pod_ref", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_host_pod_ref_reserved_start_num_reserved_end_num"))
        batch_op.drop_index(batch_op.f("ix_host_pod_ref_data_center_id"))

    op.drop_table("host_pod_ref")
    with op.batch_alter_table("data_center", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_data_center_name"))
        batch_op.drop_index(batch_op.f("ix_data_center_domain_id"))

    op.drop_table("data_center")
    op.drop_table("region")
