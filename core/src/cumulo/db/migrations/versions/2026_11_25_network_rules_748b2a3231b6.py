"""firewall, port forwarding, static NAT, load balancing, security groups, remote-access VPN

The rule tables in 4.1's shape (:mod:`cumulo.network.rules.models`): ``firewall_rules``
(every rule's base row) with ``firewall_rules_cidrs``, ``port_forwarding_rules``,
``load_balancing_rules``, ``load_balancer_vm_map``, ``load_balancer_stickiness_policies``;
security groups (:mod:`cumulo.network.security_groups.models`): ``security_group``,
``security_group_rule``, ``security_group_vm_map``; remote-access VPN
(:mod:`cumulo.network.vpn.models`): ``remote_access_vpn``, ``vpn_users``. No data: an
account's ``default`` security group is created when the account first needs it.

Revision ID: 748b2a3231b6
Revises: e9a3856fd8c4
Create Date: 2026-11-25 15:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "748b2a3231b6"
down_revision: str | Sequence[str] | None = "e9a3856fd8c4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _id() -> sa.Column[int]:
    return sa.Column("id", _ID, autoincrement=True, nullable=False)


def _uuid() -> sa.Column[str]:
    return sa.Column("uuid", sa.String(length=40), nullable=False)


def _created() -> sa.Column[object]:
    return sa.Column("created", sa.DateTime(), nullable=False)


def _fk(
    table: str, column: str, target: str, ondelete: str | None = None
) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"), ondelete=ondelete
    )


def _pk(table: str, column: str = "id") -> sa.PrimaryKeyConstraint:
    return sa.PrimaryKeyConstraint(column, name=op.f(f"pk_{table}"))


def _unique(table: str, *columns: str) -> sa.UniqueConstraint:
    return sa.UniqueConstraint(*columns, name=op.f(f"uq_{table}_{'_'.join(columns)}"))


def _index(table: str, *columns: str) -> None:
    op.create_index(op.f(f"ix_{table}_{'_'.join(columns)}"), table, list(columns), unique=False)


def upgrade() -> None:
    """Apply this revision."""
    _security_groups()
    _vpn_users()
    _firewall_rules()
    _remote_access_vpn()
    _rule_details()


def _security_groups() -> None:
    op.create_table(
        "security_group",
        _id(),
        _uuid(),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.String(length=4096), nullable=True),
        sa.Column("domain_id", _ID, nullable=False),
        sa.Column("account_id", _ID, nullable=False),
        _created(),
        _fk("security_group", "account_id", "account", ondelete="CASCADE"),
        _fk("security_group", "domain_id", "domain"),
        _pk("security_group"),
        _unique("security_group", "account_id", "name"),
        _unique("security_group", "uuid"),
    )
    _index("security_group", "domain_id")
    op.create_table(
        "security_group_rule",
        _id(),
        _uuid(),
        sa.Column("security_group_id", _ID, nullable=False),
        sa.Column("type", sa.String(length=10), nullable=False),
        sa.Column("start_port", sa.Integer(), nullable=True),
        sa.Column("end_port", sa.Integer(), nullable=True),
        sa.Column("protocol", sa.String(length=16), nullable=False),
        sa.Column("allowed_network_id", _ID, nullable=True),
        sa.Column("allowed_ip_cidr", sa.String(length=44), nullable=True),
        sa.Column("revoke", sa.Boolean(), server_default=sa.false(), nullable=False),
        _created(),
        _fk("security_group_rule", "allowed_network_id", "security_group", ondelete="CASCADE"),
        _fk("security_group_rule", "security_group_id", "security_group", ondelete="CASCADE"),
        _pk("security_group_rule"),
        _unique("security_group_rule", "uuid"),
    )
    _index("security_group_rule", "allowed_network_id")
    _index("security_group_rule", "security_group_id", "type")
    op.create_table(
        "security_group_vm_map",
        _id(),
        sa.Column("security_group_id", _ID, nullable=False),
        sa.Column("instance_id", _ID, nullable=False),
        _fk("security_group_vm_map", "instance_id", "vm_instance", ondelete="CASCADE"),
        _fk("security_group_vm_map", "security_group_id", "security_group"),
        _pk("security_group_vm_map"),
        _unique("security_group_vm_map", "security_group_id", "instance_id"),
    )
    _index("security_group_vm_map", "instance_id")


def _vpn_users() -> None:
    op.create_table(
        "vpn_users",
        _id(),
        _uuid(),
        sa.Column("owner_id", _ID, nullable=False),
        sa.Column("domain_id", _ID, nullable=False),
        sa.Column("username", sa.String(length=255), nullable=False),
        sa.Column("password", sa.String(length=255), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        _created(),
        _fk("vpn_users", "domain_id", "domain"),
        _fk("vpn_users", "owner_id", "account", ondelete="CASCADE"),
        _pk("vpn_users"),
        _unique("vpn_users", "owner_id", "username"),
        _unique("vpn_users", "uuid"),
    )
    _index("vpn_users", "domain_id")


def _firewall_rules() -> None:
    op.create_table(
        "firewall_rules",
        _id(),
        _uuid(),
        sa.Column("ip_address_id", _ID, nullable=True),
        sa.Column("start_port", sa.Integer(), nullable=True),
        sa.Column("end_port", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("protocol", sa.String(length=16), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("account_id", _ID, nullable=False),
        sa.Column("domain_id", _ID, nullable=False),
        sa.Column("network_id", _ID, nullable=False),
        _created(),
        sa.Column("icmp_code", sa.Integer(), nullable=True),
        sa.Column("icmp_type", sa.Integer(), nullable=True),
        sa.Column("related", _ID, nullable=True),
        sa.Column("type", sa.String(length=10), nullable=False),
        sa.Column("traffic_type", sa.String(length=16), nullable=False),
        _fk("firewall_rules", "account_id", "account"),
        _fk("firewall_rules", "domain_id", "domain"),
        _fk("firewall_rules", "ip_address_id", "user_ip_address", ondelete="CASCADE"),
        _fk("firewall_rules", "network_id", "networks", ondelete="CASCADE"),
        _fk("firewall_rules", "related", "firewall_rules", ondelete="CASCADE"),
        _pk("firewall_rules"),
        _unique("firewall_rules", "uuid"),
    )
    _index("firewall_rules", "account_id", "purpose")
    _index("firewall_rules", "ip_address_id", "purpose")
    _index("firewall_rules", "network_id", "purpose", "state")
    _index("firewall_rules", "related")
    op.create_table(
        "firewall_rules_cidrs",
        _id(),
        sa.Column("firewall_rule_id", _ID, nullable=False),
        sa.Column("source_cidr", sa.String(length=43), nullable=False),
        _fk("firewall_rules_cidrs", "firewall_rule_id", "firewall_rules", ondelete="CASCADE"),
        _pk("firewall_rules_cidrs"),
        _unique("firewall_rules_cidrs", "firewall_rule_id", "source_cidr"),
    )


def _remote_access_vpn() -> None:
    op.create_table(
        "remote_access_vpn",
        sa.Column("vpn_server_addr_id", _ID, autoincrement=False, nullable=False),
        sa.Column("account_id", _ID, nullable=False),
        sa.Column("network_id", _ID, nullable=False),
        sa.Column("domain_id", _ID, nullable=False),
        sa.Column("local_ip", sa.String(length=40), nullable=False),
        sa.Column("ip_range", sa.String(length=255), nullable=False),
        sa.Column("ipsec_psk", sa.String(length=255), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        _created(),
        _fk("remote_access_vpn", "account_id", "account", ondelete="CASCADE"),
        _fk("remote_access_vpn", "domain_id", "domain"),
        _fk("remote_access_vpn", "network_id", "networks", ondelete="CASCADE"),
        _fk("remote_access_vpn", "vpn_server_addr_id", "user_ip_address"),
        _pk("remote_access_vpn", "vpn_server_addr_id"),
        _unique("remote_access_vpn", "network_id"),
    )
    _index("remote_access_vpn", "account_id")


def _rule_details() -> None:
    op.create_table(
        "load_balancing_rules",
        sa.Column("id", _ID, nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.String(length=4096), nullable=True),
        sa.Column("default_port_start", sa.Integer(), nullable=False),
        sa.Column("default_port_end", sa.Integer(), nullable=False),
        sa.Column("algorithm", sa.String(length=255), nullable=False),
        _fk("load_balancing_rules", "id", "firewall_rules", ondelete="CASCADE"),
        _pk("load_balancing_rules"),
    )
    op.create_table(
        "port_forwarding_rules",
        sa.Column("id", _ID, nullable=False),
        sa.Column("instance_id", _ID, nullable=False),
        sa.Column("dest_ip_address", sa.String(length=40), nullable=False),
        sa.Column("dest_port_start", sa.Integer(), nullable=False),
        sa.Column("dest_port_end", sa.Integer(), nullable=False),
        _fk("port_forwarding_rules", "id", "firewall_rules", ondelete="CASCADE"),
        _fk("port_forwarding_rules", "instance_id", "vm_instance"),
        _pk("port_forwarding_rules"),
    )
    _index("port_forwarding_rules", "instance_id")
    op.create_table(
        "load_balancer_stickiness_policies",
        _id(),
        _uuid(),
        sa.Column("load_balancer_id", _ID, nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.String(length=4096), nullable=True),
        sa.Column("method_name", sa.String(length=255), nullable=False),
        sa.Column("params", sa.String(length=4096), nullable=False),
        sa.Column("revoke", sa.Boolean(), server_default=sa.false(), nullable=False),
        _created(),
        _fk(
            "load_balancer_stickiness_policies",
            "load_balancer_id",
            "load_balancing_rules",
            ondelete="CASCADE",
        ),
        _pk("load_balancer_stickiness_policies"),
        _unique("load_balancer_stickiness_policies", "uuid"),
    )
    _index("load_balancer_stickiness_policies", "load_balancer_id")
    op.create_table(
        "load_balancer_vm_map",
        _id(),
        sa.Column("load_balancer_id", _ID, nullable=False),
        sa.Column("instance_id", _ID, nullable=False),
        sa.Column("revoke", sa.Boolean(), server_default=sa.false(), nullable=False),
        _fk("load_balancer_vm_map", "instance_id", "vm_instance", ondelete="CASCADE"),
        _fk("load_balancer_vm_map", "load_balancer_id", "load_balancing_rules", ondelete="CASCADE"),
        _pk("load_balancer_vm_map"),
        _unique("load_balancer_vm_map", "load_balancer_id", "instance_id"),
    )
    _index("load_balancer_vm_map", "instance_id")


def downgrade() -> None:
    """Revert this revision."""
    for table in (
        "load_balancer_vm_map",
        "load_balancer_stickiness_policies",
        "port_forwarding_rules",
        "load_balancing_rules",
        "remote_access_vpn",
        "firewall_rules_cidrs",
        "firewall_rules",
        "vpn_users",
        "security_group_vm_map",
        "security_group_rule",
        "security_group",
    ):
        op.drop_table(table)
