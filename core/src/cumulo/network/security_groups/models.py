"""Security groups in CloudStack 4.1's shape: ``security_group`` (named per account;
every account has one named ``default``), ``security_group_rule`` (one row per CIDR or
per source group, ingress or egress) and ``security_group_vm_map`` (a VM's groups,
fixed for its lifetime, REQ-SG-03).

As in 4.1, an ICMP rule keeps its ICMP type in ``start_port`` and its code in
``end_port``; a rule allowing a group (``allowed_network_id``: 4.1's name for the
source group) stands for the addresses of that group's VMs, resolved whenever the rules
are applied. ``revoke`` (not in 4.1) marks a rule whose removal is being applied.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from cumulo.db.base import Base, IdType, UtcDateTime, new_uuid, utcnow

DEFAULT_GROUP = "default"
"""The name of the group every account has (REQ-SG-01)."""


class Direction(enum.StrEnum):
    """``security_group_rule.type`` (4.1 ``SecurityRuleType``: ``ingress``/``egress``)."""

    INGRESS = "ingress"
    EGRESS = "egress"


class SecurityGroup(Base):
    """A security group of an account (4.1 ``security_group``); deleted outright."""

    __tablename__ = "security_group"
    __table_args__ = (UniqueConstraint("account_id", "name"), Index(None, "domain_id"))

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(40), unique=True, default=new_uuid)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(String(4096))
    domain_id: Mapped[int] = mapped_column(IdType, ForeignKey("domain.id"))
    account_id: Mapped[int] = mapped_column(IdType, ForeignKey("account.id", ondelete="CASCADE"))
    created: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)


class SecurityGroupRule(Base):
    """One ingress or egress rule: a protocol, ports (or ICMP type/code) and ONE peer,
    a CIDR or a group (4.1 ``security_group_rule``)."""

    __tablename__ = "security_group_rule"
    __table_args__ = (Index(None, "security_group_id", "type"), Index(None, "allowed_network_id"))

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(40), unique=True, default=new_uuid)
    security_group_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("security_group.id", ondelete="CASCADE")
    )
    type: Mapped[str] = mapped_column(String(10))
    start_port: Mapped[int | None] = mapped_column(Integer)
    end_port: Mapped[int | None] = mapped_column(Integer)
    protocol: Mapped[str] = mapped_column(String(16))
    # The peer group (4.1 keeps it under this name); removing that group removes the rule.
    allowed_network_id: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("security_group.id", ondelete="CASCADE")
    )
    allowed_ip_cidr: Mapped[str | None] = mapped_column(String(44))
    revoke: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)


class SecurityGroupVmMap(Base):
    """A VM's membership of a group (4.1 ``security_group_vm_map``). A group with
    members cannot be deleted (no cascade from the group); an expunged VM's rows go
    with it."""

    __tablename__ = "security_group_vm_map"
    __table_args__ = (
        UniqueConstraint("security_group_id", "instance_id"),
        Index(None, "instance_id"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    security_group_id: Mapped[int] = mapped_column(IdType, ForeignKey("security_group.id"))
    instance_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("vm_instance.id", ondelete="CASCADE")
    )
