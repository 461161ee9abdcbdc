"""Guest networks (4.1 ``networks``), the providers each network uses per service
(``ntwk_service_map``) and the garbage collector's bookkeeping (``op_networks``).

A network's ``state`` moves only by conditional ``UPDATE ... WHERE id = ? AND state IN
(...)`` (:mod:`cumulo.network.networks.lifecycle`), so two jobs implementing or shutting
down the same network cannot both win:

``Allocated`` → ``Implementing`` → ``Implemented`` → ``Shutdown`` → ``Implementing`` …,
and ``Destroy`` once deleted (with ``removed`` set). A basic zone's shared network is
created ``Setup`` (4.1: a network whose addresses and VLAN come from the
configuration and which needs no implementation step) and stays so.

``broadcast_uri`` is ``vlan://<tag>`` once a VLAN is held (taken from the physical
network's ``op_dc_vnet_alloc`` rows when the network is implemented, unless the
offering has the admin specify it), ``vlan://untagged`` for untagged shared networks.
The guest CIDR of an isolated network is chosen at creation (the zone's guest CIDR
unless the caller gives gateway and netmask) and never changes while VMs use it.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Boolean, ForeignKey, Index, String, UniqueConstraint, false, true
from sqlalchemy.orm import Mapped, mapped_column

from cumulo.db.base import Base, IdentityMixin, IdType, UtcDateTime


class NetworkState(enum.StrEnum):
    """``networks.state`` (4.1 ``Network.State``)."""

    ALLOCATED = "Allocated"
    SETUP = "Setup"
    IMPLEMENTING = "Implementing"
    IMPLEMENTED = "Implemented"
    SHUTDOWN = "Shutdown"
    DESTROY = "Destroy"


IMPLEMENTED_STATES = (NetworkState.IMPLEMENTED.value, NetworkState.SETUP.value)
"""States in which a network serves its VMs (4.1 ``isNetworkImplemented``: a ``Setup``
network needs no implementation)."""


class GuestType(enum.StrEnum):
    """``networks.guest_type`` (4.1 ``Network.GuestType``)."""

    ISOLATED = "Isolated"
    SHARED = "Shared"


class AclType(enum.StrEnum):
    """``networks.acl_type`` (4.1 ``ControlledEntity.ACLType``): who may use the network."""

    ACCOUNT = "Account"
    DOMAIN = "Domain"


class BroadcastDomainType(enum.StrEnum):
    """``networks.broadcast_domain_type`` (4.1 ``Networks.BroadcastDomainType``)."""

    NATIVE = "Native"
    VLAN = "Vlan"


class Network(IdentityMixin, Base):
    """A guest network (4.1 ``networks``).

    ``account_id``/``domain_id`` are the owner: for ``acl_type`` ``Account`` the account
    that uses it, for ``Domain`` the system account and the domain whose accounts (and,
    with ``subdomain_access``, sub-domains' accounts) may use it. A zone-wide shared
    network is a ``Domain`` network of the ROOT domain with sub-domain access.
    """

    __tablename__ = "networks"
    __table_args__ = (
        Index(None, "account_id", "data_center_id"),
        Index(None, "data_center_id", "state"),
        Index(None, "domain_id"),
        Index(None, "network_offering_id"),
        Index(None, "physical_network_id"),
        Index(None, "removed"),
    )

    name: Mapped[str | None] = mapped_column(String(255))
    display_text: Mapped[str | None] = mapped_column(String(255))
    traffic_type: Mapped[str] = mapped_column(String(32), default="Guest")
    broadcast_domain_type: Mapped[str] = mapped_column(
        String(32), default=BroadcastDomainType.VLAN.value
    )
    broadcast_uri: Mapped[str | None] = mapped_column(String(255))
    gateway: Mapped[str | None] = mapped_column(String(15))
    cidr: Mapped[str | None] = mapped_column(String(18))
    mode: Mapped[str | None] = mapped_column(String(32))
    network_offering_id: Mapped[int] = mapped_column(IdType, ForeignKey("network_offerings.id"))
    physical_network_id: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("physical_network.id")
    )
    data_center_id: Mapped[int] = mapped_column(IdType, ForeignKey("data_center.id"))
    guru_name: Mapped[str] = mapped_column(String(255))
    state: Mapped[str] = mapped_column(String(32), default=NetworkState.ALLOCATED.value)
    # 4.1 keeps the network's own id here (a network is "related" to itself).
    related: Mapped[int | None] = mapped_column(IdType)
    domain_id: Mapped[int] = mapped_column(IdType, ForeignKey("domain.id"))
    account_id: Mapped[int] = mapped_column(IdType, ForeignKey("account.id"))
    dns1: Mapped[str | None] = mapped_column(String(255))
    dns2: Mapped[str | None] = mapped_column(String(255))
    acl_type: Mapped[str] = mapped_column(String(15), default=AclType.ACCOUNT.value)
    subdomain_access: Mapped[bool | None] = mapped_column(Boolean)
    guest_type: Mapped[str | None] = mapped_column(String(32))
    network_domain: Mapped[str | None] = mapped_column(String(255))
    restart_required: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    specify_ip_ranges: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # VPCs come later; the column keeps 4.1's shape (listNetworks vpcid, forvpc).
    vpc_id: Mapped[int | None] = mapped_column(IdType)


class NetworkServiceMap(Base):
    """A service a network offers and the provider giving it (4.1 ``ntwk_service_map``),
    copied from the offering when the network is created or changes offering."""

    __tablename__ = "ntwk_service_map"
    __table_args__ = (UniqueConstraint("network_id", "service", "provider"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    network_id: Mapped[int] = mapped_column(IdType, ForeignKey("networks.id", ondelete="CASCADE"))
    service: Mapped[str] = mapped_column(String(255))
    provider: Mapped[str | None] = mapped_column(String(255))


class OpNetwork(Base):
    """The garbage collector's view of a network (4.1 ``op_networks``).

    ``gc``: the network may be shut down when idle (its offering is not persistent and
    it is not a basic zone's network). ``idle_since``: when a collector round first
    found it implemented with no VM running on it; cleared when a VM runs again. A
    round shuts down networks idle for ``network.gc.wait`` seconds.
    """

    __tablename__ = "op_networks"
    __table_args__ = (Index(None, "gc", "idle_since"),)

    id: Mapped[int] = mapped_column(
        IdType, ForeignKey("networks.id", ondelete="CASCADE"), primary_key=True
    )
    gc: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    idle_since: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
