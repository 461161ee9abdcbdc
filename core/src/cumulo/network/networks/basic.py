"""A basic zone's one guest network: zone-wide, ``Shared``, of the offering
``DefaultSharedNetworkOfferingWithSGService`` (``DefaultSharedNetworkOffering`` when the
zone has no security groups), ``Domain`` ACL on ROOT with sub-domain access, untagged,
``Setup`` (nothing to implement). Its NICs keep taking addresses from the pods' guest
ranges (:mod:`cumulo.compute.nics`).

It is made when the zone first needs it — a pod guest range added, the zone's first
VM — by :func:`ensure_basic_network`, which holds the zone's row lock while it looks
and inserts, so two deploys never make two. Which network serves a zone never changes
once made (REQ-OM-19: a zone keeps its network type), so :func:`basic_network_id`
remembers it per database and process once it is committed: the deploy path pays no
statement for it.
"""

from __future__ import annotations

import threading

from sqlalchemy import event, insert, select
from sqlalchemy.orm import Session

from cumulo.accounts.models import Domain
from cumulo.db.base import new_uuid
from cumulo.infra.models import NetworkType, PhysicalNetwork, TrafficType, Zone
from cumulo.network.networks import settings
from cumulo.network.networks.creation import guest_physical_network
from cumulo.network.networks.models import (
    AclType,
    BroadcastDomainType,
    GuestType,
    Network,
    NetworkServiceMap,
    NetworkState,
    OpNetwork,
)
from cumulo.network.networks.offering import (
    DEFAULT_SHARED,
    DEFAULT_SHARED_SG,
    by_unique_name,
    services_of,
)
from cumulo.sdk.errors import InvalidParameterValue

NAME = "guestNetworkForBasicZone"
"""The name 4.1's zone wizard gives the basic zone's network."""
SYSTEM_ACCOUNT_ID = 1

_KNOWN: dict[tuple[str, int], int] = {}
_LOCK = threading.Lock()
_PENDING = "cumulo.network.basic.pending"
"""``session.info`` key of the networks made in the session's open transaction."""


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    made = session.info.pop(_PENDING, None)
    if made:
        with _LOCK:
            _KNOWN.update(made)


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    session.info.pop(_PENDING, None)


def _key(session: Session, zone_id: int) -> tuple[str, int]:
    return (str(session.get_bind().engine.url), zone_id)


def forget(session: Session, zone_id: int) -> None:
    """Forget what this process remembers of the zone (its network was deleted)."""
    with _LOCK:
        _KNOWN.pop(_key(session, zone_id), None)


def find_basic_network(session: Session, zone_id: int) -> int | None:
    """The live guest network of the zone, if any (one statement)."""
    return session.scalar(
        select(Network.id)
        .where(
            Network.data_center_id == zone_id,
            Network.traffic_type == TrafficType.GUEST.value,
            Network.removed.is_(None),
        )
        .order_by(Network.id)
        .limit(1)
    )


def ensure_basic_network(session: Session, zone: Zone) -> int | None:
    """The id of the basic zone's guest network, created now if it does not exist;
    ``None`` when the zone has no physical network carrying Guest traffic yet or the
    default shared offerings are missing (then NICs have no network, as before networks
    existed).

    :raises InvalidParameterValue: the zone is not a basic zone (431).
    """
    if zone.networktype != NetworkType.BASIC.value:
        raise InvalidParameterValue(f"zoneid: zone {zone.name} is not a basic zone")
    found = find_basic_network(session, zone.id)
    if found is not None:
        return found
    # Lock the zone's row while looking again and inserting (SQLite: the write lock).
    session.execute(select(Zone.id).where(Zone.id == zone.id).with_for_update())
    found = find_basic_network(session, zone.id)
    if found is not None:
        return found
    offering = by_unique_name(
        session, DEFAULT_SHARED_SG if zone.is_security_group_enabled else DEFAULT_SHARED
    )
    if offering is None:
        return None
    try:
        physical: PhysicalNetwork | None = guest_physical_network(session, zone, None)
    except InvalidParameterValue:
        return None
    root = session.scalar(select(Domain.id).where(Domain.path == "/"))
    if root is None or physical is None:
        return None
    network = Network(
        uuid=new_uuid(),
        name=NAME,
        display_text=NAME,
        traffic_type=TrafficType.GUEST.value,
        broadcast_domain_type=BroadcastDomainType.NATIVE.value,
        broadcast_uri="vlan://untagged",
        mode="Dhcp",
        network_offering_id=offering.id,
        physical_network_id=physical.id,
        data_center_id=zone.id,
        guru_name="DirectPodBasedNetworkGuru",
        state=NetworkState.SETUP.value,
        domain_id=root,
        account_id=SYSTEM_ACCOUNT_ID,
        dns1=zone.dns1,
        dns2=zone.dns2,
        acl_type=AclType.DOMAIN.value,
        subdomain_access=True,
        guest_type=GuestType.SHARED.value,
        network_domain=zone.domain
        or settings.read(session, [settings.GUEST_DOMAIN_SUFFIX])[settings.GUEST_DOMAIN_SUFFIX],
        specify_ip_ranges=offering.specify_ip_ranges,
    )
    session.add(network)
    session.flush()
    network.related = network.id
    offered = services_of(session, offering.id)
    if offered:
        session.execute(
            insert(NetworkServiceMap),
            [
                {"network_id": network.id, "service": service, "provider": provider}
                for service, provider in offered.items()
            ],
        )
    session.add(OpNetwork(id=network.id, gc=False))
    session.flush()
    # Remembered once the network exists for everyone: when this transaction commits.
    session.info.setdefault(_PENDING, {})[_key(session, zone.id)] = network.id
    return network.id


def basic_network_id(session: Session, zone_id: int) -> int | None:
    """:func:`ensure_basic_network` for the zone, remembered per database and process
    once it is known to be committed (no statement then). A network this very
    transaction made is not remembered: the transaction may still roll back."""
    key = _key(session, zone_id)
    with _LOCK:
        known = _KNOWN.get(key)
    if known is not None:
        return known
    found = find_basic_network(session, zone_id)
    if found is not None:
        with _LOCK:
            _KNOWN[key] = found
        return found
    zone = session.get(Zone, zone_id)
    return None if zone is None else ensure_basic_network(session, zone)
