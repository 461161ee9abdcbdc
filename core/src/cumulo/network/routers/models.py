"""The ``domain_router`` table: what a virtual router system VM is besides its
``vm_instance`` row (type ``DomainRouter``, same id).

The router's NICs are ``nics`` rows like any VM's (device 0 on the guest network with
the network's gateway address, 1 on the link-local control network, 2 on the public
network with the source-NAT address); the addresses are repeated here because
``listRouters`` and the providers ask for them by name.

``live_network_id`` is the guest network's id while the router exists and ``NULL``
once it is destroyed: its unique key makes a second router for the same network
impossible even when two jobs implement the network at once (the second insert
fails), while destroyed routers keep their history in ``network_id``. ``control_key``
does the same for the link-local control address within a zone.
"""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, Index, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from cumulo.db.base import Base, IdType

ROUTER_SSH_PORT = 3922
"""The port a 4.1 system VM's SSH daemon listens on (its control address)."""


class DomainRouter(Base):
    """A virtual router (see the module doc).

    :ivar access_uri: how its configuration is pushed, as the hypervisor driver said
        when it started (``ssh://169.254.3.7:3922``, ``file:///...`` on simulated hosts).
    :ivar redundant_state: 4.1's ``RedundantState`` (``UNKNOWN`` for a single router).
    """

    __tablename__ = "domain_router"
    __table_args__ = (
        UniqueConstraint("live_network_id"),
        UniqueConstraint("data_center_id", "control_key"),
        Index(None, "network_id"),
        Index(None, "vpc_id"),
    )

    id: Mapped[int] = mapped_column(
        IdType, ForeignKey("vm_instance.id"), primary_key=True, autoincrement=False
    )
    # No foreign key to ``networks``: that table comes with a later migration.
    network_id: Mapped[int] = mapped_column(IdType)
    live_network_id: Mapped[int | None] = mapped_column(IdType)
    data_center_id: Mapped[int] = mapped_column(IdType, ForeignKey("data_center.id"))
    vpc_id: Mapped[int | None] = mapped_column(IdType)
    public_ip_address: Mapped[str | None] = mapped_column(String(40))
    guest_ip_address: Mapped[str | None] = mapped_column(String(40))
    control_ip_address: Mapped[str | None] = mapped_column(String(40))
    control_key: Mapped[str | None] = mapped_column(String(40))
    access_uri: Mapped[str | None] = mapped_column(String(1024))
    is_redundant_router: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    redundant_state: Mapped[str] = mapped_column(
        String(64), default="UNKNOWN", server_default="UNKNOWN"
    )
    template_version: Mapped[str | None] = mapped_column(String(100))
    scripts_version: Mapped[str | None] = mapped_column(String(100))
