"""Remote-access VPNs (CAP-30, 4.1's ``RemoteAccessVpnManagerImpl``): an L2TP/IPsec
server on a network's source-NAT address, run by the network's Vpn provider.

What is refused (431 naming the parameter unless said otherwise):

- a network without the Vpn service, one of a basic zone (REQ-NET-01) or of a VPC
  (REQ-RAVPN-10), an address that is not the network's source-NAT one (REQ-RAVPN-08);
- a second VPN on the network (REQ-RAVPN-02: a VPN is never shared), or on the address
  (an ``Added`` one is returned again, as 4.1 does);
- a client range (``iprange``, else ``remote.access.vpn.client.iprange`` of the
  owner's account, REQ-RAVPN-06) that is not ``start-end`` of IPv4 addresses with
  room for the server and one client, or that overlaps the guest network's CIDR;
- UDP ports 500, 1701 or 4500 of the address forwarded by another rule (537).

The server takes the range's first address, clients the rest (REQ-RAVPN-06). The
pre-shared key is generated, ``remote.access.vpn.psk.length`` characters
(REQ-RAVPN-07), stored encrypted; the VPN's ports are held by ``Vpn`` rules of the
address (so port forwarding cannot take them) and, with ``openfirewall`` (default),
opened by firewall rules tied to them.
"""

from __future__ import annotations

import ipaddress
import secrets
import string
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from cumulo.config import ConfigStore
from cumulo.infra.hosts.connection import conceal
from cumulo.network.rules import conflicts, firewall
from cumulo.network.rules.lookup import GuestNetwork, PublicIp, network_of, require_service
from cumulo.network.rules.models import Purpose
from cumulo.network.vpn.models import RemoteAccessVpn, VpnState
from cumulo.sdk.config import Scope
from cumulo.sdk.errors import InvalidParameterValue
from cumulo.sdk.network import Service

IP_RANGE_KEY = "remote.access.vpn.client.iprange"
PSK_LENGTH_KEY = "remote.access.vpn.psk.length"
VPN_PORTS = (500, 1701, 4500)
"""IKE, L2TP and IPsec NAT traversal: what an L2TP/IPsec server listens on (UDP)."""
_PSK_ALPHABET = string.ascii_letters + string.digits


@dataclass(frozen=True)
class Created:
    """The VPN written ``Added``, and the rules holding and opening its ports."""

    ip_id: int
    network_id: int
    rule_ids: list[int]
    existing: bool = False


def client_range(text: str, guest_cidr: str | None, param: str = "iprange") -> tuple[str, str]:
    """``(server address, client range)`` of a ``start-end`` range (module doc).

    :raises InvalidParameterValue: naming ``param``.
    """
    parts = [p.strip() for p in text.split("-")]
    try:
        if len(parts) != 2:
            raise ValueError(text)
        start, end = (ipaddress.IPv4Address(p) for p in parts)
    except ValueError:
        raise InvalidParameterValue(
            f"{param}: invalid IP range {text!r}; give start-end, e.g. 10.1.2.1-10.1.2.8"
        ) from None
    if int(end) <= int(start):
        raise InvalidParameterValue(
            f"{param}: the range {text} must hold the VPN server's address and at least one"
            " client's"
        )
    if guest_cidr:
        guest = ipaddress.ip_network(guest_cidr, strict=False)
        if int(start) <= int(guest.broadcast_address) and int(guest.network_address) <= int(end):
            raise InvalidParameterValue(
                f"{param}: the range {text} overlaps with the guest network CIDR {guest_cidr}"
            )
    return str(start), f"{start + 1}-{end}"


def new_psk(length: int) -> str:
    """A fresh IPsec pre-shared key of ``length`` letters and digits."""
    return "".join(secrets.choice(_PSK_ALPHABET) for _ in range(max(8, length)))


def create(
    session: Session,
    ip: PublicIp,
    *,
    owner_account_id: int,
    iprange: str | None,
    open_firewall: bool | None,
    config: ConfigStore,
    database_key: str,
    algorithm: str,
) -> Created:
    """``createRemoteAccessVpn``'s create step (module doc)."""
    if ip.account_id != owner_account_id:
        raise InvalidParameterValue(
            f"publicipid: the IP address {ip.address} does not belong to the VPN's account"
        )
    network = network_of(ip, "publicipid")
    if network.basic_zone:
        raise InvalidParameterValue("publicipid: remote access VPN is not available in basic zones")
    if network.vpc_id is not None:
        raise InvalidParameterValue("publicipid: remote access VPN is not supported in a VPC")
    require_service(session, network, Service.VPN, "publicipid")
    existing = session.execute(
        select(
            RemoteAccessVpn.vpn_server_addr_id, RemoteAccessVpn.network_id, RemoteAccessVpn.state
        ).where(
            (RemoteAccessVpn.vpn_server_addr_id == ip.id)
            | (RemoteAccessVpn.network_id == network.id)
        )
    ).first()
    if existing is not None:
        if existing.vpn_server_addr_id == ip.id and existing.state == VpnState.ADDED.value:
            return Created(ip.id, network.id, [], existing=True)
        if existing.state == VpnState.REMOVED.value:
            raise InvalidParameterValue(
                f"publicipid: the remote access VPN of network {network.uuid} is being removed"
            )
        raise InvalidParameterValue(
            f"publicipid: a remote access VPN already exists for network {network.uuid}"
        )
    if not ip.source_nat:
        raise InvalidParameterValue(
            f"publicipid: remote access VPN is enabled on the source NAT address of a network;"
            f" {ip.address} is not one"
        )
    text = iprange or config.value(IP_RANGE_KEY, Scope.ACCOUNT, owner_account_id) or ""
    local_ip, clients = client_range(text, network.cidr)
    rule_ids = _hold_ports(session, ip, network, open_firewall)
    psk = new_psk(config.integer(PSK_LENGTH_KEY) or 24)
    session.add(
        RemoteAccessVpn(
            vpn_server_addr_id=ip.id,
            account_id=ip.account_id,
            network_id=network.id,
            domain_id=ip.domain_id,
            local_ip=local_ip,
            ip_range=clients,
            ipsec_psk=conceal(psk, database_key, algorithm),
            state=VpnState.ADDED.value,
        )
    )
    session.flush()
    return Created(ip.id, network.id, rule_ids)


def _hold_ports(
    session: Session, ip: PublicIp, network: GuestNetwork, open_firewall: bool | None
) -> list[int]:
    """``Vpn`` rules on the VPN's UDP ports, and their openings (ids, in order)."""
    ids: list[int] = []
    for port in VPN_PORTS:
        candidate = conflicts.Candidate(Purpose.VPN, "udp", port, port, network.id)
        conflicts.check(session, ip.id, candidate, ip.address)
        rule = firewall.add_rule(
            session,
            purpose=Purpose.VPN,
            protocol="udp",
            start_port=port,
            end_port=port,
            network_id=network.id,
            account_id=ip.account_id,
            domain_id=ip.domain_id,
            ip_address_id=ip.id,
        )
        ids.append(rule.id)
        if open_firewall is None or open_firewall:
            opened = firewall.open_for(
                session,
                ip,
                network,
                protocol="udp",
                start_port=port,
                end_port=port,
                related=rule.id,
            )
            if opened is not None:
                ids.append(opened.id)
    return ids
