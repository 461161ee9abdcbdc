"""guest OS types, templates and ISOs

Revision ID: 6bdd38d4776f
Revises: 0087e34e7490
Create Date: 2026-11-25 12:00:00

Creates ``guest_os_category``, ``guest_os``, ``vm_template``, ``template_zone_ref``,
``launch_permission`` and ``vm_template_details`` (generated from the models, then
checked by hand) and seeds 4.1's OS categories and a subset of its OS types with their
4.1 ids and names, so ``ostypeid`` values scripted against 4.1 ids still resolve. The
public ids are derived from the 4.1 ids (UUID v5), identical on every installation.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "6bdd38d4776f"
down_revision: str | Sequence[str] | None = "0087e34e7490"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NAMESPACE = uuid.UUID("6bdd38d4-776f-4c1e-9a4b-5e0f2f0c7d11")

# 4.1's guest_os_category rows (setup/db/templates.sql): (id, name).
CATEGORIES = (
    (1, "CentOS"),
    (2, "Debian"),
    (3, "Oracle"),
    (4, "RedHat"),
    (5, "SUSE"),
    (6, "Windows"),
    (7, "Other"),
    (8, "Novel"),
    (9, "Unix"),
    (10, "Ubuntu"),
    (11, "None"),
)

# A subset of 4.1's guest_os rows: (id, category id, display name).
GUEST_OS = (
    (1, 1, "CentOS 4.5 (32-bit)"),
    (2, 1, "CentOS 4.6 (32-bit)"),
    (3, 1, "CentOS 4.7 (32-bit)"),
    (4, 1, "CentOS 4.8 (32-bit)"),
    (5, 1, "CentOS 5.0 (32-bit)"),
    (6, 1, "CentOS 5.0 (64-bit)"),
    (7, 1, "CentOS 5.1 (32-bit)"),
    (8, 1, "CentOS 5.1 (64-bit)"),
    (9, 1, "CentOS 5.2 (32-bit)"),
    (10, 1, "CentOS 5.2 (64-bit)"),
    (11, 1, "CentOS 5.3 (32-bit)"),
    (12, 1, "CentOS 5.3 (64-bit)"),
    (13, 1, "CentOS 5.4 (32-bit)"),
    (14, 1, "CentOS 5.4 (64-bit)"),
    (15, 2, "Debian GNU/Linux 5.0 (32-bit)"),
    (16, 3, "Oracle Enterprise Linux 5.0 (32-bit)"),
    (17, 3, "Oracle Enterprise Linux 5.0 (64-bit)"),
    (30, 4, "Red Hat Enterprise Linux 5.0 (32-bit)"),
    (31, 4, "Red Hat Enterprise Linux 5.0 (64-bit)"),
    (38, 4, "Red Hat Enterprise Linux 5.4 (32-bit)"),
    (39, 4, "Red Hat Enterprise Linux 5.4 (64-bit)"),
    (46, 5, "SUSE Linux Enterprise Server 11 (32-bit)"),
    (47, 5, "SUSE Linux Enterprise Server 11 (64-bit)"),
    (48, 6, "Windows 7 (32-bit)"),
    (49, 6, "Windows 7 (64-bit)"),
    (50, 6, "Windows Server 2003 Enterprise Edition(32-bit)"),
    (51, 6, "Windows Server 2003 Enterprise Edition(64-bit)"),
    (52, 6, "Windows Server 2008 (32-bit)"),
    (53, 6, "Windows Server 2008 (64-bit)"),
    (54, 6, "Windows Server 2008 R2 (64-bit)"),
    (55, 6, "Windows 2000 Server SP4 (32-bit)"),
    (56, 6, "Windows Vista (32-bit)"),
    (57, 6, "Windows XP SP2 (32-bit)"),
    (58, 6, "Windows XP SP3 (32-bit)"),
    (59, 10, "Other Ubuntu (32-bit)"),
    (60, 7, "Other (32-bit)"),
    (61, 6, "Windows 2000 Server"),
    (72, 2, "Debian GNU/Linux 5(64-bit)"),
    (73, 2, "Debian GNU/Linux 4(32-bit)"),
    (74, 2, "Debian GNU/Linux 4(64-bit)"),
    (75, 7, "Other 2.6x Linux (32-bit)"),
    (76, 7, "Other 2.6x Linux (64-bit)"),
    (77, 8, "Novell Netware 6.x"),
    (79, 9, "Sun Solaris 10(32-bit)"),
    (80, 9, "Sun Solaris 10(64-bit)"),
    (83, 9, "FreeBSD (32-bit)"),
    (84, 9, "FreeBSD (64-bit)"),
    (87, 6, "Windows Server 2003 DataCenter Edition(32-bit)"),
    (88, 6, "Windows Server 2003 DataCenter Edition(64-bit)"),
    (89, 6, "Windows Server 2003 Standard Edition(32-bit)"),
    (90, 6, "Windows Server 2003 Standard Edition(64-bit)"),
    (93, 6, "Windows XP (32-bit)"),
    (94, 6, "Windows XP (64-bit)"),
    (98, 7, "Other Linux (32-bit)"),
    (99, 7, "Other Linux (64-bit)"),
    (100, 10, "Other Ubuntu (64-bit)"),
    (101, 6, "Windows Vista (64-bit)"),
    (102, 6, "DOS"),
    (103, 7, "Other (64-bit)"),
    (111, 1, "CentOS 5.5 (32-bit)"),
    (112, 1, "CentOS 5.5 (64-bit)"),
    (113, 4, "Red Hat Enterprise Linux 5.5 (32-bit)"),
    (114, 4, "Red Hat Enterprise Linux 5.5 (64-bit)"),
    (115, 4, "Fedora 13"),
    (121, 10, "Ubuntu 10.04 (32-bit)"),
    (122, 10, "Ubuntu 9.10 (32-bit)"),
    (123, 10, "Ubuntu 9.04 (32-bit)"),
    (124, 10, "Ubuntu 8.10 (32-bit)"),
    (125, 10, "Ubuntu 8.04 (32-bit)"),
    (126, 10, "Ubuntu 10.04 (64-bit)"),
    (127, 10, "Ubuntu 9.10 (64-bit)"),
    (128, 10, "Ubuntu 9.04 (64-bit)"),
    (129, 10, "Ubuntu 8.10 (64-bit)"),
    (130, 10, "Ubuntu 8.04 (64-bit)"),
    (132, 2, "Debian GNU/Linux 6(32-bit)"),
    (133, 2, "Debian GNU/Linux 6(64-bit)"),
    (136, 4, "Red Hat Enterprise Linux 6.0 (32-bit)"),
    (137, 4, "Red Hat Enterprise Linux 6.0 (64-bit)"),
    (138, 7, "None"),
    (139, 7, "Other PV (32-bit)"),
    (140, 7, "Other PV (64-bit)"),
    (141, 1, "CentOS 5.6 (32-bit)"),
    (142, 1, "CentOS 5.6 (64-bit)"),
    (143, 1, "CentOS 6.0 (32-bit)"),
    (144, 1, "CentOS 6.0 (64-bit)"),
    (156, 10, "Ubuntu 10.10 (32-bit)"),
    (157, 10, "Ubuntu 10.10 (64-bit)"),
    (160, 6, "Windows PV"),
    (161, 1, "CentOS 5.7 (32-bit)"),
    (162, 1, "CentOS 5.7 (64-bit)"),
    (200, 1, "Other CentOS (32-bit)"),
    (201, 1, "Other CentOS (64-bit)"),
)


def _uuid(kind: str, row_id: int) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{kind}:{row_id}"))


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "guest_os_category",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("uuid", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_guest_os_category")),
        sa.UniqueConstraint("uuid", name=op.f("uq_guest_os_category_uuid")),
    )
    op.create_table(
        "guest_os",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("uuid", sa.String(length=40), nullable=False),
        sa.Column(
            "category_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("display_name", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["guest_os_category.id"],
            name=op.f("fk_guest_os_category_id_guest_os_category"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_guest_os")),
        sa.UniqueConstraint("uuid", name=op.f("uq_guest_os_uuid")),
    )
    with op.batch_alter_table("guest_os", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_guest_os_category_id"), ["category_id"], unique=False)

    op.create_table(
        "vm_template",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("uuid", sa.String(length=40), nullable=False),
        sa.Column("unique_name", sa.String(length=255), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("display_text", sa.String(length=4096), nullable=True),
        sa.Column("format", sa.String(length=32), nullable=False),
        sa.Column("hypervisor_type", sa.String(length=32), nullable=True),
        sa.Column(
            "guest_os_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column(
            "account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "domain_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("featured", sa.Boolean(), nullable=False),
        sa.Column("password_enabled", sa.Boolean(), nullable=False),
        sa.Column("sshkey_enabled", sa.Boolean(), nullable=False),
        sa.Column("bootable", sa.Boolean(), nullable=False),
        sa.Column("extractable", sa.Boolean(), nullable=False),
        sa.Column("requires_hvm", sa.Boolean(), nullable=False),
        sa.Column("bits", sa.Integer(), nullable=False),
        sa.Column("cross_zones", sa.Boolean(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("physical_size", sa.BigInteger(), nullable=True),
        sa.Column("template_type", sa.String(length=32), nullable=False),
        sa.Column("url", sa.String(length=1024), nullable=True),
        sa.Column("checksum", sa.String(length=255), nullable=True),
        sa.Column("template_tag", sa.String(length=255), nullable=True),
        sa.Column(
            "source_template_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column("sort_key", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column(
            "created", sa.DateTime(), server_default=sa.func.current_timestamp(), nullable=False
        ),
        sa.Column("removed", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["account.id"], name=op.f("fk_vm_template_account_id_account")
        ),
        sa.ForeignKeyConstraint(
            ["domain_id"], ["domain.id"], name=op.f("fk_vm_template_domain_id_domain")
        ),
        sa.ForeignKeyConstraint(
            ["guest_os_id"], ["guest_os.id"], name=op.f("fk_vm_template_guest_os_id_guest_os")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vm_template")),
        sa.UniqueConstraint("uuid", name=op.f("uq_vm_template_uuid")),
    )
    with op.batch_alter_table("vm_template", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_vm_template_account_id_removed"), ["account_id", "removed"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_vm_template_domain_id"), ["domain_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_vm_template_public_featured"), ["public", "featured"], unique=False
        )

    op.create_table(
        "launch_permission",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "template_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["account.id"], name=op.f("fk_launch_permission_account_id_account")
        ),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["vm_template.id"],
            name=op.f("fk_launch_permission_template_id_vm_template"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_launch_permission")),
        sa.UniqueConstraint(
            "template_id", "account_id", name=op.f("uq_launch_permission_template_id_account_id")
        ),
    )
    with op.batch_alter_table("launch_permission", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_launch_permission_account_id"), ["account_id"], unique=False
        )

    op.create_table(
        "vm_template_details",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "template_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["vm_template.id"],
            name=op.f("fk_vm_template_details_template_id_vm_template"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vm_template_details")),
        sa.UniqueConstraint(
            "template_id", "name", name=op.f("uq_vm_template_details_template_id_name")
        ),
    )
    op.create_table(
        "template_zone_ref",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "template_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("zone_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("store_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("download_state", sa.String(length=32), nullable=False),
        sa.Column("download_pct", sa.Integer(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("physical_size", sa.BigInteger(), nullable=True),
        sa.Column("install_path", sa.String(length=1024), nullable=True),
        sa.Column("error_str", sa.String(length=1024), nullable=True),
        sa.Column("job_uuid", sa.String(length=40), nullable=True),
        sa.Column("extract_token", sa.String(length=64), nullable=True),
        sa.Column("created", sa.DateTime(), nullable=True),
        sa.Column("last_updated", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["store_id"], ["host.id"], name=op.f("fk_template_zone_ref_store_id_host")
        ),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["vm_template.id"],
            name=op.f("fk_template_zone_ref_template_id_vm_template"),
        ),
        sa.ForeignKeyConstraint(
            ["zone_id"], ["data_center.id"], name=op.f("fk_template_zone_ref_zone_id_data_center")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_template_zone_ref")),
        sa.UniqueConstraint("extract_token", name=op.f("uq_template_zone_ref_extract_token")),
        sa.UniqueConstraint(
            "template_id", "zone_id", name=op.f("uq_template_zone_ref_template_id_zone_id")
        ),
    )
    with op.batch_alter_table("template_zone_ref", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_template_zone_ref_store_id"), ["store_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_template_zone_ref_zone_id_download_state"),
            ["zone_id", "download_state"],
            unique=False,
        )

    categories = sa.table(
        "guest_os_category",
        sa.column("id", sa.Integer),
        sa.column("uuid", sa.String),
        sa.column("name", sa.String),
    )
    guest_os = sa.table(
        "guest_os",
        sa.column("id", sa.Integer),
        sa.column("uuid", sa.String),
        sa.column("category_id", sa.Integer),
        sa.column("display_name", sa.String),
    )
    op.bulk_insert(
        categories,
        [{"id": i, "uuid": _uuid("category", i), "name": name} for i, name in CATEGORIES],
    )
    op.bulk_insert(
        guest_os,
        [
            {"id": i, "uuid": _uuid("guest_os", i), "category_id": c, "display_name": name}
            for i, c, name in GUEST_OS
        ],
    )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("template_zone_ref", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_template_zone_ref_zone_id_download_state"))
        batch_op.drop_index(batch_op.f("ix_template_zone_ref_store_id"))

    op.drop_table("template_zone_ref")
    op.drop_table("vm_template_details")
    with op.batch_alter_table("launch_permission", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_launch_permission_account_id"))

    op.drop_table("launch_permission")
    with op.batch_alter_table("vm_template", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vm_template_public_featured"))
        batch_op.drop_index(batch_op.f("ix_vm_template_domain_id"))
        batch_op.drop_index(batch_op.f("ix_vm_template_account_id_removed"))

    op.drop_table("vm_template")
    with op.batch_alter_table("guest_os", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_guest_os_category_id"))

    op.drop_table("guest_os")
    op.drop_table("guest_os_category")
