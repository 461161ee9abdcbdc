"""What happens to a public address's rules when the address is released
(``disassociateIpAddress``), as 4.1's ``disassociatePublicIpAddress``: its static NAT is
disabled, and every rule on it — firewall, port forwarding, IP forwarding, load
balancing with members and policies, and its remote-access VPN — is revoked, the
network's providers are given the sets without them, and they are deleted.

The IPAM calls :func:`release_ip` (registered with
:func:`cumulo.network.ipam.service.register_release` when the rules' plugin module is
imported) before it frees the address. It follows :mod:`cumulo.network.rules.applying`:
the revocation is committed, the providers are called, then the rows go; if a provider
refuses, the rules stay ``Revoke`` and releasing the address again retries.
"""

from __future__ import annotations

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from cumulo.infra.models import UserIpAddress
from cumulo.network.rules.applying import apply_services
from cumulo.network.rules.models import NetworkRule, Purpose, RuleState
from cumulo.network.vpn.models import RemoteAccessVpn, VpnState
from cumulo.sdk.network import Service

_SERVICE_OF = {
    Purpose.PORT_FORWARDING.value: Service.PORT_FORWARDING,
    Purpose.LOAD_BALANCING.value: Service.LB,
    Purpose.STATIC_NAT.value: Service.FIREWALL,
    Purpose.FIREWALL.value: Service.FIREWALL,
}
_ORDER = (Service.STATIC_NAT, Service.PORT_FORWARDING, Service.LB, Service.VPN, Service.FIREWALL)


def release_ip(session: Session, ip_id: int) -> None:
    """Remove everything the rules area keeps on the address (module doc).

    :raises cumulo.sdk.errors.CloudError: a provider refused; nothing is deleted.
    """
    address = session.execute(
        select(UserIpAddress.associated_with_network_id, UserIpAddress.one_to_one_nat).where(
            UserIpAddress.id == ip_id
        )
    ).first()
    if address is None:
        return
    network_id, nat = address
    rules = session.execute(
        select(NetworkRule.id, NetworkRule.purpose, NetworkRule.network_id).where(
            NetworkRule.ip_address_id == ip_id
        )
    ).all()
    vpn = session.scalar(
        select(RemoteAccessVpn.network_id).where(RemoteAccessVpn.vpn_server_addr_id == ip_id)
    )
    if not rules and vpn is None and not nat:
        return
    services = {_SERVICE_OF[r.purpose] for r in rules if r.purpose in _SERVICE_OF}
    if nat:
        services.add(Service.STATIC_NAT)
    if vpn is not None:
        services |= {Service.VPN, Service.FIREWALL}
    ids = [r.id for r in rules]
    if ids:
        session.execute(
            update(NetworkRule).where(NetworkRule.id.in_(ids)).values(state=RuleState.REVOKE.value)
        )
    if vpn is not None:
        session.execute(
            update(RemoteAccessVpn)
            .where(RemoteAccessVpn.vpn_server_addr_id == ip_id)
            .values(state=VpnState.REMOVED.value)
        )
    if nat:
        session.execute(
            update(UserIpAddress)
            .where(UserIpAddress.id == ip_id)
            .values(one_to_one_nat=False, vm_id=None, vm_ip_address=None)
        )
    session.commit()
    target = (
        network_id if network_id is not None else (vpn or (rules[0].network_id if rules else None))
    )
    if target is not None:
        apply_services(session, target, [s for s in _ORDER if s in services])
    if ids:
        session.execute(delete(NetworkRule).where(NetworkRule.id.in_(ids)))
    if vpn is not None:
        session.execute(delete(RemoteAccessVpn).where(RemoteAccessVpn.vpn_server_addr_id == ip_id))
