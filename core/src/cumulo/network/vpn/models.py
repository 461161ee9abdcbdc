"""Remote-access VPN in CloudStack 4.1's shape: ``remote_access_vpn`` (one per network,
on its source-NAT address, keyed by that address as in 4.1) and ``vpn_users`` (an
account's VPN users, shared by all of the account's VPNs, REQ-RAVPN-04).

Secrets are stored as ``ENC(...)`` under the database key (:func:`cumulo.infra.hosts.
connection.conceal`): the IPsec pre-shared key and every user's password. They are
decrypted only to build what the provider receives, and the key is shown only to the
VPN's owner.

States: a VPN is ``Added`` until its provider applied it, then ``Running``, and
``Removed`` while its removal is being applied (4.1 ``RemoteAccessVpn.State``); a user
is ``Add``, ``Active`` and ``Revoke`` likewise (4.1 ``VpnUser.State``).
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cumulo.db.base import Base, IdType, UtcDateTime, new_uuid, utcnow


class VpnState(enum.StrEnum):
    """``remote_access_vpn.state``."""

    ADDED = "Added"
    RUNNING = "Running"
    REMOVED = "Removed"


class VpnUserState(enum.StrEnum):
    """``vpn_users.state``."""

    ADD = "Add"
    ACTIVE = "Active"
    REVOKE = "Revoke"


class RemoteAccessVpn(Base):
    """The VPN of a network, served on its source-NAT address ``vpn_server_addr_id``.

    ``local_ip`` is the server's own address (the first of the configured range,
    REQ-RAVPN-06) and ``ip_range`` the clients' (``start-end``, the rest of it).
    """

    __tablename__ = "remote_access_vpn"
    __table_args__ = (UniqueConstraint("network_id"),)

    vpn_server_addr_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("user_ip_address.id"), primary_key=True, autoincrement=False
    )
    account_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("account.id", ondelete="CASCADE"), index=True
    )
    network_id: Mapped[int] = mapped_column(IdType, ForeignKey("networks.id", ondelete="CASCADE"))
    domain_id: Mapped[int] = mapped_column(IdType, ForeignKey("domain.id"))
    local_ip: Mapped[str] = mapped_column(String(40))
    ip_range: Mapped[str] = mapped_column(String(255))
    ipsec_psk: Mapped[str] = mapped_column(String(255))
    state: Mapped[str] = mapped_column(String(32), default=VpnState.ADDED.value)
    created: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)


class VpnUser(Base):
    """A VPN user of an account (4.1 ``vpn_users``); ``password`` is ``ENC(...)``."""

    __tablename__ = "vpn_users"
    __table_args__ = (UniqueConstraint("owner_id", "username"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(40), unique=True, default=new_uuid)
    owner_id: Mapped[int] = mapped_column(IdType, ForeignKey("account.id", ondelete="CASCADE"))
    domain_id: Mapped[int] = mapped_column(IdType, ForeignKey("domain.id"), index=True)
    username: Mapped[str] = mapped_column(String(255))
    password: Mapped[str] = mapped_column(String(255))
    state: Mapped[str] = mapped_column(String(32), default=VpnUserState.ADD.value)
    created: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
