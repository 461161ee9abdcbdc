"""The ``network_offerings`` and ``ntwk_offering_service_map`` tables (4.1's names).

A network offering is the template of a guest network: its guest type (``Isolated`` or
``Shared``), whether the VLAN and IP ranges are given at creation, whether it is
persistent, and which **service** (``Dhcp``, ``SourceNat``, ``Lb`` ...) is delivered
by which **provider** (``VirtualRouter``, ``Netscaler`` ...): one
``ntwk_offering_service_map`` row per pair.

The capability choices a creator may make (4.1's ``servicecapabilitylist``) are
columns, as 4.1 keeps them: ``dedicated_lb_service`` (``SupportedLBIsolation``
dedicated/shared), ``elastic_lb_service`` (``ElasticLb``), ``inline`` (``InlineMode``),
``shared_source_nat_service`` (``SupportedSourceNatTypes`` perzone/peraccount),
``redundant_router_service`` (``RedundantRouter``), ``elastic_ip_service``
(``ElasticIp``) and ``eip_associate_public_ip`` (``AssociatePublicIP``).

``system_only`` marks the offerings of the management server's own networks (public,
management, control, storage, VPC private gateways): never listed, never used by a
tenant. ``is_default`` marks the offerings seeded with the cloud: they cannot be
deleted. ``unique_name`` is the stable key of a seeded offering (4.1's), ``NULL`` for
the ones administrators create. Offerings are soft-deleted (``removed``): networks keep
pointing at the offering they were created from.

``egress_default_policy`` is the egress firewall's default for networks of the offering:
true allows egress until an egress rule exists (4.1's behaviour), false denies it.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    false,
    func,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from cumulo.db.base import Base, IdentityMixin, IdType, UtcDateTime, utcnow


class GuestType(enum.StrEnum):
    """``guest_type``: 4.1's ``Network.GuestType``."""

    ISOLATED = "Isolated"
    SHARED = "Shared"


class OfferingState(enum.StrEnum):
    """``state``: 4.1's ``NetworkOffering.State``."""

    ENABLED = "Enabled"
    DISABLED = "Disabled"


class Availability(enum.StrEnum):
    """``availability``: 4.1's ``NetworkOffering.Availability``. At most one offering
    is ``Required``: the one an account's default isolated network is created from."""

    REQUIRED = "Required"
    OPTIONAL = "Optional"


class NetworkTrafficType(enum.StrEnum):
    """``traffic_type``: 4.1's ``Networks.TrafficType`` (tenant offerings are ``Guest``)."""

    PUBLIC = "Public"
    GUEST = "Guest"
    STORAGE = "Storage"
    MANAGEMENT = "Management"
    CONTROL = "Control"
    VLAN = "Vlan"


class NetworkOffering(IdentityMixin, Base):
    """One network offering (see the module doc)."""

    __tablename__ = "network_offerings"
    __table_args__ = (
        UniqueConstraint("unique_name"),
        Index(None, "system_only", "removed", "sort_key"),
        Index(None, "state"),
    )

    name: Mapped[str] = mapped_column(String(255))
    unique_name: Mapped[str | None] = mapped_column(String(64))
    display_text: Mapped[str] = mapped_column(String(255))
    traffic_type: Mapped[str] = mapped_column(String(32))
    guest_type: Mapped[str | None] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(
        String(32), default=OfferingState.DISABLED.value, server_default="Disabled"
    )
    availability: Mapped[str] = mapped_column(
        String(255), default=Availability.OPTIONAL.value, server_default="Optional"
    )
    specify_vlan: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    specify_ip_ranges: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    conserve_mode: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    is_persistent: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    is_default: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    system_only: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    tags: Mapped[str | None] = mapped_column(String(4096))
    # Mbps; NULL means the global ``network.throttling.rate``.
    nw_rate: Mapped[int | None] = mapped_column(Integer)
    mc_rate: Mapped[int | None] = mapped_column(Integer)
    egress_default_policy: Mapped[bool] = mapped_column(
        Boolean, default=True, server_default=true()
    )
    # The system offering of the offering's virtual routers (NULL: the default one).
    # No foreign key: service offerings are soft-deleted.
    service_offering_id: Mapped[int | None] = mapped_column(IdType)
    dedicated_lb_service: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    shared_source_nat_service: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    redundant_router_service: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    elastic_ip_service: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    elastic_lb_service: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    eip_associate_public_ip: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    inline: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    sort_key: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class NetworkOfferingService(Base):
    """One service of an offering and the provider delivering it
    (``ntwk_offering_service_map``)."""

    __tablename__ = "ntwk_offering_service_map"
    __table_args__ = (
        UniqueConstraint("network_offering_id", "service", "provider"),
        Index(None, "provider"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    network_offering_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("network_offerings.id", ondelete="CASCADE")
    )
    service: Mapped[str] = mapped_column(String(255))
    provider: Mapped[str | None] = mapped_column(String(255))
    created: Mapped[dt.datetime] = mapped_column(
        UtcDateTime(), default=utcnow, server_default=func.current_timestamp()
    )
