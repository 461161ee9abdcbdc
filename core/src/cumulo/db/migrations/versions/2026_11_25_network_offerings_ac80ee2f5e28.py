"""network offerings and the services and providers each offers

Revision ID: ac80ee2f5e28
Revises: 47f2d6e915c5
Create Date: 2026-11-25 15:10:00

The ``network_offerings`` and ``ntwk_offering_service_map`` tables, seeded with what a
fresh 4.1 management server holds (``ConfigurationServerImpl.
createDefaultNetworkOfferings``): the system offerings of its own networks (public,
management, control, storage, VPC private gateways) and the seven default guest
offerings with their services and providers. And ``domain_router``, the virtual
router system VMs' extension of ``vm_instance``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "ac80ee2f5e28"
down_revision: str | Sequence[str] | None = "47f2d6e915c5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# (unique name, traffic type, guest type, specify vlan, specify ip ranges, availability)
SYSTEM_OFFERINGS_41 = (
    ("System-Public-Network", "Public", None, False, True, "Required"),
    ("System-Management-Network", "Management", None, False, False, "Required"),
    ("System-Control-Network", "Control", None, False, False, "Required"),
    ("System-Storage-Network", "Storage", None, False, True, "Required"),
    ("System-Private-Gateway-Network-Offering", "Guest", "Isolated", True, False, "Optional"),
)

_BASIC = ("Dhcp", "Dns", "UserData")
_ROUTED: tuple[str, ...] = ("Dhcp", "Dns", "UserData", "Firewall", "Gateway", "Lb")
_ROUTED += ("SourceNat", "StaticNat", "PortForwarding", "Vpn")
_VPC: tuple[str, ...] = ("Dhcp", "Dns", "UserData", "NetworkACL", "Gateway", "Lb")
_VPC += ("SourceNat", "StaticNat", "PortForwarding", "Vpn")

# (unique name, display text, guest type, specify vlan, specify ip ranges, availability,
#  conserve mode, elastic IP + elastic LB, {service: provider})
GUEST_OFFERINGS_41 = (
    (
        "DefaultSharedNetworkOfferingWithSGService",
        "Offering for Shared Security group enabled networks",
        "Shared", True, True, "Optional", True, False,
        {**dict.fromkeys(_BASIC, "VirtualRouter"), "SecurityGroup": "SecurityGroupProvider"},
    ),
    (
        "DefaultSharedNetworkOffering",
        "Offering for Shared networks",
        "Shared", True, True, "Optional", True, False,
        dict.fromkeys(_BASIC, "VirtualRouter"),
    ),
    (
        "DefaultIsolatedNetworkOfferingWithSourceNatService",
        "Offering for Isolated networks with Source Nat service enabled",
        "Isolated", False, False, "Required", True, False,
        dict.fromkeys(_ROUTED, "VirtualRouter"),
    ),
    (
        "DefaultIsolatedNetworkOffering",
        "Offering for Isolated networks with no Source Nat service",
        "Isolated", True, True, "Optional", True, False,
        dict.fromkeys(_BASIC, "VirtualRouter"),
    ),
    (
        "DefaultSharedNetscalerEIPandELBNetworkOffering",
        "Offering for Shared networks with Elastic IP and Elastic LB capabilities",
        "Shared", True, True, "Optional", True, True,
        {
            **dict.fromkeys(_BASIC, "VirtualRouter"),
            "SecurityGroup": "SecurityGroupProvider",
            "StaticNat": "Netscaler",
            "Lb": "Netscaler",
        },
    ),
    (
        "DefaultIsolatedNetworkOfferingForVpcNetworks",
        "Offering for Isolated VPC networks with Source Nat service enabled",
        "Isolated", False, False, "Optional", False, False,
        dict.fromkeys(_VPC, "VpcVirtualRouter"),
    ),
    (
        "DefaultIsolatedNetworkOfferingForVpcNetworksNoLB",
        "Offering for Isolated VPC networks with Source Nat service enabled and LB service"
        " Disabled",
        "Isolated", False, False, "Optional", False, False,
        {service: "VpcVirtualRouter" for service in _VPC if service != "Lb"},
    ),
)  # fmt: skip


def _created() -> sa.Column[object]:
    return sa.Column(
        "created", sa.DateTime(), server_default=sa.func.current_timestamp(), nullable=False
    )


def upgrade() -> None:
    """Apply this revision."""
    offerings = op.create_table(
        "network_offerings",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("uuid", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("unique_name", sa.String(length=64), nullable=True),
        sa.Column("display_text", sa.String(length=255), nullable=False),
        sa.Column("traffic_type", sa.String(length=32), nullable=False),
        sa.Column("guest_type", sa.String(length=32), nullable=True),
        sa.Column("state", sa.String(length=32), server_default="Disabled", nullable=False),
        sa.Column("availability", sa.String(length=255), server_default="Optional", nullable=False),
        sa.Column("specify_vlan", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("specify_ip_ranges", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("conserve_mode", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("is_persistent", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("is_default", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("system_only", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("tags", sa.String(length=4096), nullable=True),
        sa.Column("nw_rate", sa.Integer(), nullable=True),
        sa.Column("mc_rate", sa.Integer(), nullable=True),
        sa.Column("egress_default_policy", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("service_offering_id", _ID, nullable=True),
        sa.Column("dedicated_lb_service", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column(
            "shared_source_nat_service", sa.Boolean(), server_default=sa.false(), nullable=False
        ),
        sa.Column(
            "redundant_router_service", sa.Boolean(), server_default=sa.false(), nullable=False
        ),
        sa.Column("elastic_ip_service", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("elastic_lb_service", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column(
            "eip_associate_public_ip", sa.Boolean(), server_default=sa.false(), nullable=False
        ),
        sa.Column("inline", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("sort_key", sa.Integer(), server_default="0", nullable=False),
        _created(),
        sa.Column("removed", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_network_offerings")),
        sa.UniqueConstraint("unique_name", name=op.f("uq_network_offerings_unique_name")),
        sa.UniqueConstraint("uuid", name=op.f("uq_network_offerings_uuid")),
    )
    with op.batch_alter_table("network_offerings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_network_offerings_state"), ["state"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_network_offerings_system_only_removed_sort_key"),
            ["system_only", "removed", "sort_key"],
            unique=False,
        )

    service_map = op.create_table(
        "ntwk_offering_service_map",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("network_offering_id", _ID, nullable=False),
        sa.Column("service", sa.String(length=255), nullable=False),
        sa.Column("provider", sa.String(length=255), nullable=True),
        _created(),
        sa.ForeignKeyConstraint(
            ["network_offering_id"],
            ["network_offerings.id"],
            name=op.f("fk_ntwk_offering_service_map_network_offering_id_network_offerings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ntwk_offering_service_map")),
        sa.UniqueConstraint(
            "network_offering_id",
            "service",
            "provider",
            name=op.f("uq_ntwk_offering_service_map_network_offering_id_service_provider"),
        ),
    )
    with op.batch_alter_table("ntwk_offering_service_map", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ntwk_offering_service_map_provider"), ["provider"], unique=False
        )

    op.create_table(
        "domain_router",
        sa.Column("id", _ID, autoincrement=False, nullable=False),
        sa.Column("network_id", _ID, nullable=False),
        sa.Column("live_network_id", _ID, nullable=True),
        sa.Column("data_center_id", _ID, nullable=False),
        sa.Column("vpc_id", _ID, nullable=True),
        sa.Column("public_ip_address", sa.String(length=40), nullable=True),
        sa.Column("guest_ip_address", sa.String(length=40), nullable=True),
        sa.Column("control_ip_address", sa.String(length=40), nullable=True),
        sa.Column("control_key", sa.String(length=40), nullable=True),
        sa.Column("access_uri", sa.String(length=1024), nullable=True),
        sa.Column("is_redundant_router", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column(
            "redundant_state", sa.String(length=64), server_default="UNKNOWN", nullable=False
        ),
        sa.Column("template_version", sa.String(length=100), nullable=True),
        sa.Column("scripts_version", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(
            ["data_center_id"],
            ["data_center.id"],
            name=op.f("fk_domain_router_data_center_id_data_center"),
        ),
        sa.ForeignKeyConstraint(
            ["id"], ["vm_instance.id"], name=op.f("fk_domain_router_id_vm_instance")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_domain_router")),
        sa.UniqueConstraint(
            "data_center_id",
            "control_key",
            name=op.f("uq_domain_router_data_center_id_control_key"),
        ),
        sa.UniqueConstraint("live_network_id", name=op.f("uq_domain_router_live_network_id")),
    )
    with op.batch_alter_table("domain_router", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_domain_router_network_id"), ["network_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_domain_router_vpc_id"), ["vpc_id"], unique=False)

    _seed(offerings, service_map)


def _seed(offerings: sa.Table, service_map: sa.Table) -> None:
    """The 4.1 offerings: system ones first, then the guest ones, in 4.1's order."""
    rows = [
        _offering(name, f"System Offering for {name}", traffic, guest, vlan, ranges, avail)
        | {"system_only": True, "nw_rate": 0, "mc_rate": 0}
        for name, traffic, guest, vlan, ranges, avail in SYSTEM_OFFERINGS_41
    ]
    for name, text, guest, vlan, ranges, avail, conserve, elastic, _ in GUEST_OFFERINGS_41:
        row = _offering(name, text, "Guest", guest, vlan, ranges, avail)
        row |= {"conserve_mode": conserve, "elastic_ip_service": elastic}
        row |= {"elastic_lb_service": elastic, "dedicated_lb_service": not elastic}
        rows.append(row)
    op.bulk_insert(offerings, rows)
    found = op.get_bind().execute(
        sa.select(offerings.c.unique_name, offerings.c.id).where(
            offerings.c.unique_name.in_([offering[0] for offering in GUEST_OFFERINGS_41])
        )
    )
    ids = {row.unique_name: row.id for row in found}
    op.bulk_insert(
        service_map,
        [
            {"network_offering_id": ids[offering[0]], "service": service, "provider": provider}
            for offering in GUEST_OFFERINGS_41
            for service, provider in offering[8].items()
        ],
    )


def _offering(
    name: str,
    text: str,
    traffic: str,
    guest: str | None,
    specify_vlan: bool,
    specify_ip_ranges: bool,
    availability: str,
) -> dict[str, object]:
    return {
        "uuid": str(uuid.uuid4()),
        "name": name,
        "unique_name": name,
        "display_text": text,
        "traffic_type": traffic,
        "guest_type": guest,
        "state": "Enabled",
        "availability": availability,
        "specify_vlan": specify_vlan,
        "specify_ip_ranges": specify_ip_ranges,
        "conserve_mode": True,
        "is_persistent": False,
        "is_default": True,
        "system_only": False,
        "tags": None,
        "nw_rate": None,
        "mc_rate": None,
        "egress_default_policy": True,
        "dedicated_lb_service": True,
        "shared_source_nat_service": False,
        "redundant_router_service": False,
        "elastic_ip_service": False,
        "elastic_lb_service": False,
        "eip_associate_public_ip": False,
        "inline": False,
        "sort_key": 0,
    }


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("domain_router")
    op.drop_table("ntwk_offering_service_map")
    op.drop_table("network_offerings")
