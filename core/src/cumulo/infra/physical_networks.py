"""Physical networks of a zone (Seed §2.8, REQ-OM-13): create, update, delete, list.

A basic zone has exactly one physical network (REQ-OM-13); an advanced zone may have
several. Guest VLAN ranges (``vlan``: ``"start-end[,start-end]"``) are validated as
4.1 does (1..4094, start ≤ end, no two ranges overlapping). A new network gets 4.1's
default providers (:data:`~cumulo.infra.network_services.DEFAULT_PROVIDERS`).
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any, cast

from sqlalchemy import Select, delete, exists, select
from sqlalchemy.orm import Session

from cumulo import events
from cumulo.accounts.models import Domain
from cumulo.db.base import utcnow
from cumulo.db.listing import fetch_page
from cumulo.infra.models import (
    NetworkType,
    PhysicalNetwork,
    PhysicalNetworkServiceProvider,
    PhysicalNetworkState,
    PhysicalNetworkTrafficType,
    VlanIpRange,
    Zone,
)
from cumulo.infra.network_services import DEFAULT_PROVIDERS, PROVIDERS
from cumulo.infra.rules import choice
from cumulo.infra.vnets import drop_vnets, sync_vnets
from cumulo.sdk.api import Call
from cumulo.sdk.errors import InternalError, InvalidParameterValue

ISOLATION_METHODS = ("VLAN", "L3", "GRE", "STT")
BROADCAST_DOMAIN_RANGES = ("POD", "ZONE")
MAX_VLAN = 4094


def vlan_ranges(text: str, param: str = "vlan") -> list[tuple[int, int]]:
    """``"100-199,300"`` → ``[(100, 199), (300, 300)]``; 431 naming ``param`` when a
    tag is not 1..4094, a range is reversed, or two ranges overlap."""
    ranges: list[tuple[int, int]] = []
    for part in text.split(","):
        low, _, high = part.strip().partition("-")
        try:
            first, last = int(low), int(high or low)
        except ValueError:
            raise InvalidParameterValue(
                f"Please specify a valid vlan range for {param}: {part!r} (start-end)"
            ) from None
        if not (1 <= first <= last <= MAX_VLAN):
            raise InvalidParameterValue(
                f"Please specify a valid vlan range for {param}: {part!r} must lie in"
                f" 1-{MAX_VLAN} with start <= end"
            )
        ranges.append((first, last))
    ranges.sort()
    for (_, end), (start, _) in pairwise(ranges):
        if start <= end:
            raise InvalidParameterValue(f"The vlan ranges of {param} overlap")
    return ranges


def _one_of(values: list[str] | None, allowed: tuple[str, ...], param: str) -> str | None:
    if not values:
        return None
    if len(values) > 1:
        # 4.1 (NetworkServiceImpl.createPhysicalNetwork) takes one tag and one method.
        raise InvalidParameterValue(f"Only one {param} value can be given for a physical network")
    return choice(values[0], allowed, param) if allowed else values[0]


def create_physical_network(
    call: Call,
    zone: Zone,
    *,
    name: str,
    vlan: str | None = None,
    networkspeed: str | None = None,
    domain: Domain | None = None,
    broadcastdomainrange: str | None = None,
    tags: list[str] | None = None,
    isolationmethods: list[str] | None = None,
) -> PhysicalNetwork:
    """Create a physical network (``Disabled``) with 4.1's default providers."""
    session = call.session
    if zone.networktype == NetworkType.BASIC and session.scalar(
        select(
            exists(
                select(PhysicalNetwork.id).where(
                    PhysicalNetwork.data_center_id == zone.id, PhysicalNetwork.removed.is_(None)
                )
            )
        )
    ):
        raise InvalidParameterValue(
            f"Cannot add a physical network to basic zone {zone.name} (zoneid): a basic zone"
            " has exactly one physical network"
        )
    if vlan:
        vlan_ranges(vlan)  # refused before anything is written
    default_range = "POD" if zone.networktype == NetworkType.BASIC else "ZONE"
    domain_range = (
        choice(broadcastdomainrange, BROADCAST_DOMAIN_RANGES, "broadcastdomainrange")
        if broadcastdomainrange
        else default_range
    )
    if zone.networktype == NetworkType.ADVANCED and domain_range != "ZONE":
        raise InvalidParameterValue("broadcastdomainrange must be ZONE in an advanced zone")
    network = PhysicalNetwork(
        name=name,
        data_center_id=zone.id,
        vnet=vlan or None,
        speed=networkspeed,
        domain_id=domain.id if domain is not None else None,
        broadcast_domain_range=domain_range,
        state=PhysicalNetworkState.DISABLED.value,
        tags=_one_of(tags, (), "tags"),
        isolation_methods=_one_of(isolationmethods, ISOLATION_METHODS, "isolationmethods"),
    )
    session.add(network)
    session.flush()
    sync_vnets(session, network, vlan_ranges(vlan) if vlan else [])
    session.add_all(
        PhysicalNetworkServiceProvider(
            physical_network_id=network.id,
            provider_name=provider,
            services=",".join(PROVIDERS[provider]),
        )
        for provider in DEFAULT_PROVIDERS
    )
    session.flush()
    events.record(
        call,
        "PHYSICAL.NETWORK.CREATE",
        f"Created physical network {name} in zone {zone.name}",
        resource_type="PhysicalNetwork",
        resource_uuid=network.uuid,
    )
    return network


def update_physical_network(
    call: Call,
    network: PhysicalNetwork,
    *,
    networkspeed: str | None = None,
    tags: list[str] | None = None,
    state: str | None = None,
    vlan: str | None = None,
) -> PhysicalNetwork:
    """Change speed, tag, state (``Enabled``/``Disabled``) or the guest VLAN ranges."""
    if networkspeed is not None:
        network.speed = networkspeed
    if tags is not None:
        network.tags = _one_of(tags, (), "tags")
    if state is not None:
        network.state = choice(state, tuple(s.value for s in PhysicalNetworkState), "state")
    if vlan is not None:
        sync_vnets(call.session, network, vlan_ranges(vlan) if vlan else [])
        network.vnet = vlan or None
    call.session.flush()
    events.record(
        call,
        "PHYSICAL.NETWORK.UPDATE",
        f"Updated physical network {network.name}",
        resource_type="PhysicalNetwork",
        resource_uuid=network.uuid,
    )
    return network


def delete_physical_network(call: Call, network: PhysicalNetwork) -> None:
    """Remove a physical network that no IP range uses, with its traffic types and
    providers."""
    session = call.session
    if session.scalar(
        select(exists(select(VlanIpRange.id).where(VlanIpRange.physical_network_id == network.id)))
    ):
        raise InternalError(
            "The physical network is not deletable because there are IP ranges using it"
        )
    session.execute(
        delete(PhysicalNetworkTrafficType).where(
            PhysicalNetworkTrafficType.physical_network_id == network.id
        )
    )
    session.execute(
        delete(PhysicalNetworkServiceProvider).where(
            PhysicalNetworkServiceProvider.physical_network_id == network.id
        )
    )
    drop_vnets(session, network)
    network.removed = utcnow()
    session.flush()
    events.record(
        call,
        "PHYSICAL.NETWORK.DELETE",
        f"Deleted physical network {network.name}",
        resource_type="PhysicalNetwork",
        resource_uuid=network.uuid,
    )


def list_physical_networks(
    session: Session,
    *,
    network: PhysicalNetwork | None = None,
    zone: Zone | None = None,
    name: str | None = None,
    keyword: str | None = None,
    page: int | None = None,
    pagesize: int | None = None,
    max_page_size: int = 500,
) -> tuple[list[tuple[PhysicalNetwork, Zone, Domain | None]], int]:
    """One page of live physical networks with zone and domain, in one statement."""
    stmt = (
        select(PhysicalNetwork, Zone, Domain)
        .join(Zone, Zone.id == PhysicalNetwork.data_center_id)
        .outerjoin(Domain, Domain.id == PhysicalNetwork.domain_id)
        .where(PhysicalNetwork.removed.is_(None))
    )
    if network is not None:
        stmt = stmt.where(PhysicalNetwork.id == network.id)
    if zone is not None:
        stmt = stmt.where(PhysicalNetwork.data_center_id == zone.id)
    if name is not None:
        stmt = stmt.where(PhysicalNetwork.name == name)
    if keyword:
        stmt = stmt.where(PhysicalNetwork.name.like(f"%{keyword}%"))
    rows, total = fetch_page(
        session,
        cast("Select[Any]", stmt.order_by(PhysicalNetwork.id)),
        page=page,
        pagesize=pagesize,
        max_page_size=max_page_size,
    )
    return [(row[0], row[1], row[2]) for row in rows], total
