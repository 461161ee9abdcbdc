"""``associateIpAddress`` and ``disassociateIpAddress`` (REQ-IP-01 … REQ-IP-03) with 4.1's
rules (``NetworkManagerImpl.allocateIp``/``associateIPToGuestNetwork``/
``disassociatePublicIpAddress``):

- an address is acquired for a guest network of an advanced zone — the one given
  (``networkid``), or the owner's only isolated network in the zone (``zoneid``); a
  shared network only when it offers NAT, firewall or load balancing; the owner must be
  allowed to use the network;
- it counts against the owner's ``public_ip`` limit (532 when reached); root admins'
  accounts are unlimited;
- acquiring is 4.1's two steps: the API request takes the address (``Allocating``, so
  the answer carries its id) and the job tells the network's source-NAT provider, then
  marks it ``Allocated``; a job that cannot tell the network gives the address back;
- releasing (a job) is refused for the source-NAT address and for system addresses;
  the address's rules are removed first, as 4.1 does (``releasePublicIpAddress``
  revokes every rule of the address and disables its static NAT): every rule area
  registered with :func:`register_release` removes its rules; should a rule still point
  at the address (no area removed it), the release is refused with a 431 rather than
  leaving rules on a free address. Then the network is told and the address goes back
  to the zone's free ones.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from cumulo.accounts.access import check_owner_access
from cumulo.accounts.lookup import invalid_id
from cumulo.accounts.models import Account, Domain
from cumulo.infra.models import IpState, NetworkType, UserIpAddress, Zone
from cumulo.limits.service import release as release_limit
from cumulo.limits.service import reserve
from cumulo.limits.types import ResourceType
from cumulo.network.ipam.addresses import (
    TakenIp,
    mark_allocated,
    release_public_ips,
    take_public_ip,
)
from cumulo.network.networks.creation import account_networks_in_zone
from cumulo.network.networks.lifecycle import services
from cumulo.network.networks.lookup import FoundNetwork, OwnerDomain, check_network_use
from cumulo.network.networks.models import GuestType, Network, NetworkState
from cumulo.network.rules.models import NetworkRule
from cumulo.sdk.api import CallContext
from cumulo.sdk.errors import InvalidParameterValue
from cumulo.sdk.network import Service

log = logging.getLogger(__name__)

Release = Callable[[Session, int], None]
"""``fn(session, ip_id)``: remove what another area keeps on a public address being
released (its rules), in the caller's transaction."""

_RELEASES: list[Release] = []

_NEEDS_PUBLIC_IP = (
    Service.SOURCE_NAT.value,
    Service.STATIC_NAT.value,
    Service.FIREWALL.value,
    Service.PORT_FORWARDING.value,
    Service.LB.value,
)


def register_release(fn: Release) -> None:
    """Have ``fn`` called when a public address is released, before it is freed (the
    rules area registers the removal of the address's rules)."""
    if fn not in _RELEASES:
        _RELEASES.append(fn)


@dataclass(frozen=True)
class OwnerFacts:
    """The account an address is acquired for."""

    id: int
    name: str
    domain_id: int
    domain_path: str


def release_rules(session: Session, ip_id: int) -> None:
    """Every area registered with :func:`register_release` removes what it keeps on the
    address (its rules), in the caller's transaction."""
    for fn in list(_RELEASES):
        fn(session, ip_id)


def owner_facts(session: Session, account_id: int) -> OwnerFacts:
    """The account with its domain's path (one statement)."""
    row = session.execute(
        select(Account.id, Account.account_name, Domain.id, Domain.path)
        .join(Domain, Domain.id == Account.domain_id)
        .where(Account.id == account_id)
    ).one()
    return OwnerFacts(int(row[0]), str(row[1]), int(row[2]), str(row[3]))


def network_for(
    session: Session, owner: OwnerFacts, zone: Zone, found: FoundNetwork | None
) -> Network:
    """The guest network the address goes to (module doc).

    :raises InvalidParameterValue: a basic zone, no or several isolated networks of
        the owner in the zone, a shared network without NAT/firewall/LB (431).
    :raises PermissionDenied: the owner may not use the network (531).
    """
    if zone.networktype == NetworkType.BASIC.value:
        raise InvalidParameterValue(
            f"zoneid: public IP addresses are associated with guest networks of advanced zones;"
            f" zone {zone.name} is a basic zone"
        )
    if found is None:
        networks = account_networks_in_zone(session, owner.id, zone.id, GuestType.ISOLATED.value)
        if not networks:
            raise InvalidParameterValue(
                f"networkid: Account name={owner.name} doesn't have virtual networks in"
                f" zone={zone.name}"
            )
        if len(networks) > 1:
            raise InvalidParameterValue(
                "networkid: Account has more than one Isolated network in the zone; give networkid"
            )
        return networks[0]
    network = found.network
    if network.data_center_id != zone.id:
        raise InvalidParameterValue(f"networkid: network {network.uuid} is not in zone {zone.name}")
    check_network_use(
        found,
        account_id=owner.id,
        account_name=owner.name,
        account_domain_id=owner.domain_id,
        account_domain_path=owner.domain_path,
        param="networkid",
    )
    if network.guest_type == GuestType.SHARED.value and not any(
        s in services(session, network.id) for s in _NEEDS_PUBLIC_IP
    ):
        raise InvalidParameterValue(
            "networkid: IP can be associated with guest network of 'shared' type only if"
            " network services Source Nat, Static Nat, Port Forwarding, Load balancing,"
            " firewall are enabled in the network"
        )
    return network


def acquire(session: Session, owner: OwnerFacts, network: Network) -> TakenIp:
    """The request's step: count the address and take it ``Allocating`` (flushed).

    :raises AccountLimitExceeded: the owner's ``public_ip`` limit is reached (532).
    :raises InsufficientCapacity: no free public address is left (533).
    """
    reserve(session, owner.id, ResourceType.PUBLIC_IP, 1)
    return take_public_ip(
        session,
        zone_id=network.data_center_id,
        account_id=owner.id,
        domain_id=owner.domain_id,
        network_id=network.id,
        state=IpState.ALLOCATING,
    )


def _tell_network(session: Session, network_id: int) -> None:
    """Give the network's source-NAT provider its addresses (no-op unless the network
    is implemented and has SourceNat); commits before the provider call."""
    from cumulo.network import orchestrator

    orchestrator.apply(session, network_id, Service.SOURCE_NAT)


@dataclass(frozen=True)
class HeldIp:
    """An address as the job reads it."""

    id: int
    uuid: str
    address: str
    state: str
    account_id: int
    network_id: int | None
    source_nat: bool
    is_system: bool
    one_to_one_nat: bool


def load_ip(session: Session, value: object, param: str = "id") -> tuple[HeldIp, str, OwnerDomain]:
    """The allocated address ``value`` names, with its owner's public id and domain
    (one statement); 431 naming ``param`` if it is not an allocated address."""
    text = str(value).strip()
    where = (
        UserIpAddress.id == int(text)
        if text.isdecimal() and 0 < int(text) < 2**63
        else UserIpAddress.uuid == text
    )
    row = session.execute(
        select(
            UserIpAddress.id,
            UserIpAddress.uuid,
            UserIpAddress.public_ip_address,
            UserIpAddress.state,
            UserIpAddress.account_id,
            UserIpAddress.associated_with_network_id,
            UserIpAddress.source_nat,
            UserIpAddress.is_system,
            UserIpAddress.one_to_one_nat,
            Account.uuid,
            Domain.id,
            Domain.uuid,
            Domain.path,
            Domain.removed,
        )
        .join(Account, Account.id == UserIpAddress.account_id)
        .join(Domain, Domain.id == Account.domain_id)
        .where(where, UserIpAddress.state != IpState.FREE.value)
    ).first()
    if row is None:
        raise invalid_id(param, value)
    held = HeldIp(
        int(row[0]),
        str(row[1]),
        str(row[2]),
        str(row[3]),
        int(row[4] or 0),
        None if row[5] is None else int(row[5]),
        bool(row[6]),
        bool(row[7]),
        bool(row[8]),
    )
    return held, str(row[9]), OwnerDomain(int(row[10]), str(row[11]), str(row[12]), row[13])


def find_ip(session: Session, ctx: CallContext, value: object, param: str = "id") -> HeldIp:
    """:func:`load_ip`, if the caller may act on the address's account (531 if not)."""
    held, account_uuid, domain = load_ip(session, value, param)
    check_owner_access(ctx, held.account_id, account_uuid, domain)
    return held


def finish_acquire(session: Session, ip: HeldIp) -> None:
    """The job's step: tell the network, then ``Allocated``; if the network cannot be
    told, the address is given back (in a transaction of its own) and the error raised.
    """
    try:
        if ip.network_id is not None:
            _tell_network(session, ip.network_id)
    except Exception:
        session.rollback()
        release_public_ips(session, [ip.id])
        release_limit(session, ip.account_id, ResourceType.PUBLIC_IP, 1)
        session.commit()
        raise
    mark_allocated(session, ip.id)


def disassociate(session: Session, ip: HeldIp) -> None:
    """Release the address (module doc), in the caller's transaction except for the
    network's provider call (the orchestrator commits before it).

    :raises InvalidParameterValue: the source-NAT or a system address (431).
    """
    if ip.source_nat:
        raise InvalidParameterValue(
            f"id: IP address {ip.address} is used for source nat purposes and can not be"
            " disassociated."
        )
    if ip.is_system:
        raise InvalidParameterValue(f"id: IP address {ip.address} is a system address")
    release_rules(session, ip.id)
    left = session.scalar(
        select(func.count()).select_from(NetworkRule).where(NetworkRule.ip_address_id == ip.id)
    )
    if left:
        # No rules area removed them: the address cannot go while rules point at it.
        raise InvalidParameterValue(
            f"id: IP address {ip.address} still has {left} rule(s) (firewall, port"
            " forwarding, load balancing, static NAT); delete them first"
        )
    session.execute(
        update(UserIpAddress)
        .where(UserIpAddress.id == ip.id)
        .values(state=IpState.RELEASING.value, one_to_one_nat=False, vm_id=None, vm_ip_address=None)
        .execution_options(synchronize_session=False)
    )
    session.flush()
    network_id = ip.network_id
    if network_id is not None:
        state = session.scalar(select(Network.state).where(Network.id == network_id))
        if state in (NetworkState.IMPLEMENTED.value, NetworkState.SETUP.value):
            try:
                _tell_network(session, network_id)
            except Exception:
                session.rollback()
                session.execute(
                    update(UserIpAddress)
                    .where(
                        UserIpAddress.id == ip.id, UserIpAddress.state == IpState.RELEASING.value
                    )
                    .values(state=IpState.ALLOCATED.value)
                    .execution_options(synchronize_session=False)
                )
                session.commit()
                raise
    release_public_ips(session, [ip.id])
    release_limit(session, ip.account_id, ResourceType.PUBLIC_IP, 1)
