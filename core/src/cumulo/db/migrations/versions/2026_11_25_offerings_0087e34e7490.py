"""service and disk offerings

Revision ID: 0087e34e7490
Revises: ae71b2bc20ba
Create Date: 2026-11-25 12:00:00

The ``service_offering`` and ``disk_offering`` tables, seeded with what a fresh 4.1
management server holds: the "Small Instance" and "Medium Instance" compute offerings
and the Small, Medium, Large and Custom disk offerings (``ConfigurationServerImpl``),
and the system offerings the router, console proxy and secondary storage VM managers
create at their first start, with 4.1's default sizes (``router.ram.size`` 128 MB,
``console.ram.size`` 1024 MB, ``ssvm.ram.size`` 256 MB, 500 MHz each).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0087e34e7490"
down_revision: str | Sequence[str] | None = "ae71b2bc20ba"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GIB = 1024**3

# (name, display text, vCPUs, MHz, MB)
USER_SERVICE_OFFERINGS_41 = (
    ("Small Instance", "Small Instance", 1, 500, 512),
    ("Medium Instance", "Medium Instance", 1, 1000, 1024),
)
# (name, unique name, vm_type, vCPUs, MHz, MB, offer HA, network rate, multicast rate)
SYSTEM_SERVICE_OFFERINGS_41 = (
    (
        "System Offering For Software Router",
        "Cloud.Com-SoftwareRouter",
        "domainrouter",
        1,
        500,
        128,
        True,
        None,
        None,
    ),
    (
        "System Offering For Console Proxy",
        "Cloud.com-ConsoleProxy",
        "consoleproxy",
        1,
        500,
        1024,
        False,
        0,
        0,
    ),
    (
        "System Offering For Secondary Storage VM",
        "Cloud.com-SecondaryStorage",
        "secondarystoragevm",
        1,
        500,
        256,
        False,
        None,
        None,
    ),
)
# (name, display text, GB, customized)
DISK_OFFERINGS_41 = (
    ("Small", "Small Disk, 5 GB", 5, False),
    ("Medium", "Medium Disk, 20 GB", 20, False),
    ("Large", "Large Disk, 100 GB", 100, False),
    ("Custom", "Custom Disk", 0, True),
)

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Apply this revision."""
    service = op.create_table(
        "service_offering",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("uuid", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("unique_name", sa.String(length=32), nullable=True),
        sa.Column("display_text", sa.String(length=4096), nullable=False),
        sa.Column("cpu", sa.Integer(), nullable=False),
        sa.Column("speed", sa.Integer(), nullable=False),
        sa.Column("ram_size", sa.Integer(), nullable=False),
        sa.Column("use_local_storage", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("tags", sa.String(length=4096), nullable=True),
        sa.Column("host_tag", sa.String(length=255), nullable=True),
        sa.Column("ha_enabled", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("limit_cpu_use", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("nw_rate", sa.Integer(), nullable=True),
        sa.Column("mc_rate", sa.Integer(), nullable=True),
        sa.Column("deployment_planner", sa.String(length=255), nullable=True),
        sa.Column("system_use", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("vm_type", sa.String(length=32), nullable=True),
        sa.Column("default_use", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("domain_id", _ID, nullable=True),
        sa.Column("sort_key", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "created", sa.DateTime(), server_default=sa.func.current_timestamp(), nullable=False
        ),
        sa.Column("removed", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["domain_id"], ["domain.id"], name=op.f("fk_service_offering_domain_id_domain")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_offering")),
        sa.UniqueConstraint("unique_name", name=op.f("uq_service_offering_unique_name")),
        sa.UniqueConstraint("uuid", name=op.f("uq_service_offering_uuid")),
    )
    with op.batch_alter_table("service_offering", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_service_offering_domain_id"), ["domain_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_service_offering_system_use_removed_sort_key"),
            ["system_use", "removed", "sort_key"],
            unique=False,
        )

    disk = op.create_table(
        "disk_offering",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("uuid", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("display_text", sa.String(length=4096), nullable=False),
        sa.Column("disk_size", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("customized", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("tags", sa.String(length=4096), nullable=True),
        sa.Column("use_local_storage", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("domain_id", _ID, nullable=True),
        sa.Column("system_use", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("sort_key", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "created", sa.DateTime(), server_default=sa.func.current_timestamp(), nullable=False
        ),
        sa.Column("removed", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["domain_id"], ["domain.id"], name=op.f("fk_disk_offering_domain_id_domain")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disk_offering")),
        sa.UniqueConstraint("uuid", name=op.f("uq_disk_offering_uuid")),
    )
    with op.batch_alter_table("disk_offering", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_disk_offering_domain_id"), ["domain_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_disk_offering_system_use_removed_sort_key"),
            ["system_use", "removed", "sort_key"],
            unique=False,
        )

    op.bulk_insert(
        service,
        [
            {
                "uuid": str(uuid.uuid4()),
                "name": name,
                "unique_name": None,
                "display_text": text,
                "cpu": cpu,
                "speed": speed,
                "ram_size": ram,
                "use_local_storage": False,
                "ha_enabled": False,
                "limit_cpu_use": False,
                "nw_rate": None,
                "mc_rate": None,
                "system_use": False,
                "vm_type": None,
                "default_use": False,
                "sort_key": 0,
            }
            for name, text, cpu, speed, ram in USER_SERVICE_OFFERINGS_41
        ]
        + [
            {
                "uuid": str(uuid.uuid4()),
                "name": name,
                "unique_name": unique_name,
                "display_text": name,
                "cpu": cpu,
                "speed": speed,
                "ram_size": ram,
                "use_local_storage": False,
                "ha_enabled": offer_ha,
                "limit_cpu_use": False,
                "nw_rate": nw_rate,
                "mc_rate": mc_rate,
                "system_use": True,
                "vm_type": vm_type,
                "default_use": True,
                "sort_key": 0,
            }
            for (
                name,
                unique_name,
                vm_type,
                cpu,
                speed,
                ram,
                offer_ha,
                nw_rate,
                mc_rate,
            ) in SYSTEM_SERVICE_OFFERINGS_41
        ],
    )
    op.bulk_insert(
        disk,
        [
            {
                "uuid": str(uuid.uuid4()),
                "name": name,
                "display_text": text,
                "disk_size": size_gb * GIB,
                "customized": customized,
                "use_local_storage": False,
                "system_use": False,
                "sort_key": 0,
            }
            for name, text, size_gb, customized in DISK_OFFERINGS_41
        ],
    )


def downgrade() -> None:
    """Revert this revision."""
    # Dropping a table drops its indexes. Dropping the domain_id index first would fail
    # on MariaDB, where that index backs the foreign key to ``domain``.
    op.drop_table("disk_offering")
    op.drop_table("service_offering")
