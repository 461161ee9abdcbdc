"""``listNetworkOfferings``: one statement per page, every 4.1 filter in SQL.

The inner query pages the matching offering ids (with the total as a scalar subquery);
the outer one joins the page's ids to the offering columns, the router system
offering's public id and the offering's services, a row per service. 4.1 filtered
``supportedservices``, ``sourcenatsupported``, ``forvpc`` and ``zoneid`` in Java over
every offering and paged afterwards; here they are ``EXISTS`` clauses, so the page and
``count`` are right and the cost is one round trip.

What a caller sees: system-only offerings never (4.1 hides them from everyone); a root
admin sees the others in every state, anyone else only ``Enabled`` ones (the only ones
they can create networks from).

Filters as 4.1: ``name`` exact, ``displaytext`` and ``keyword`` substrings (keyword of
the name or the display text), ``zoneid`` the offerings whose providers are all enabled
on a physical network of the zone and whose tag matches one (nothing for a basic
zone, where tenants create no networks), ``networkid`` the offerings the network can be
changed to (same traffic and guest type and VLAN choice, security groups or not alike,
``Enabled``, not its current one), ``forvpc`` those with a service on the VPC virtual
router, ``tags`` exact (a shared default offering matches any tag), ``istagged``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, literal, not_, or_, select
from sqlalchemy.orm import Session, aliased

from cumulo.db.listing import DEFAULT_PAGE_SIZE, page_window
from cumulo.infra.models import (
    PhysicalNetwork,
    PhysicalNetworkServiceProvider,
    PhysicalNetworkTrafficType,
    ProviderState,
)
from cumulo.network.offerings.models import (
    GuestType,
    NetworkOffering,
    NetworkOfferingService,
    OfferingState,
)
from cumulo.network.offerings.rules import VPC_VIRTUAL_ROUTER
from cumulo.offerings.models import ServiceOffering
from cumulo.sdk.network import Service


@dataclass(frozen=True)
class UpgradeFrom:
    """The offering a network uses now, for ``networkid`` (offerings it can change to)."""

    offering_id: int
    traffic_type: str
    guest_type: str | None
    specify_vlan: bool
    security_groups: bool
    in_vpc: bool


@dataclass(frozen=True)
class NetworkOfferingFilter:
    """``listNetworkOfferings`` filters (``None``: not filtered).

    :param id: the ``id`` parameter as given (UUID or internal id).
    :param enabled_only: only ``Enabled`` offerings (callers other than root admins).
    :param zone_id: internal id of ``zoneid``'s zone (not a basic zone: the caller
        answers those with an empty list).
    :param supported_services: 4.1 service names the offerings must all offer.
    """

    id: str | None = None
    name: str | None = None
    display_text: str | None = None
    keyword: str | None = None
    traffic_type: str | None = None
    guest_type: str | None = None
    is_default: bool | None = None
    specify_vlan: bool | None = None
    specify_ip_ranges: bool | None = None
    availability: str | None = None
    state: str | None = None
    tags: str | None = None
    is_tagged: bool | None = None
    for_vpc: bool | None = None
    source_nat_supported: bool | None = None
    supported_services: tuple[str, ...] = ()
    zone_id: int | None = None
    upgrade_from: UpgradeFrom | None = None
    enabled_only: bool = False


@dataclass
class OfferingRow:
    """One listed offering: its row, the router offering's public id, its services
    (service → providers, in map order)."""

    offering: Any  # a Row of the network_offerings columns
    service_offering_uuid: str | None
    services: dict[str, list[str]] = field(default_factory=dict)


def _offers(service: str) -> ColumnElement[bool]:
    return exists().where(
        NetworkOfferingService.network_offering_id == NetworkOffering.id,
        NetworkOfferingService.service == service,
    )


def _for_vpc() -> ColumnElement[bool]:
    return exists().where(
        NetworkOfferingService.network_offering_id == NetworkOffering.id,
        NetworkOfferingService.provider == VPC_VIRTUAL_ROUTER,
    )


def _by_id(value: str) -> ColumnElement[bool]:
    text = value.strip()
    if text.isdecimal():
        number = int(text)
        return NetworkOffering.id == (number if number < 2**63 else -1)
    return NetworkOffering.uuid == text


def _providers_enabled_in(zone_id: int, services: Sequence[str]) -> ColumnElement[bool]:
    """No service of the offering whose provider is not enabled in the zone."""
    service = aliased(NetworkOfferingService)
    enabled = exists().where(
        PhysicalNetworkServiceProvider.physical_network_id == PhysicalNetwork.id,
        PhysicalNetwork.data_center_id == zone_id,
        PhysicalNetworkServiceProvider.provider_name == service.provider,
        PhysicalNetworkServiceProvider.state == ProviderState.ENABLED.value,
    )
    missing = [service.network_offering_id == NetworkOffering.id, not_(enabled)]
    if services:
        missing.append(service.service.in_(services))
    return not_(exists().where(*missing))


def _tag_fits(zone_id: int) -> ColumnElement[bool]:
    """4.1's tag check against the zone's guest physical networks: an untagged offering
    needs an untagged one, a tagged offering one carrying its tag; a zone without guest
    physical networks constrains nothing."""
    guest = exists().where(
        PhysicalNetworkTrafficType.physical_network_id == PhysicalNetwork.id,
        PhysicalNetworkTrafficType.traffic_type == "Guest",
    )
    in_zone = and_(PhysicalNetwork.data_center_id == zone_id, guest)
    untagged = or_(PhysicalNetwork.tags.is_(None), PhysicalNetwork.tags == "")
    wrapped = literal(",") + PhysicalNetwork.tags + literal(",")
    carrying = wrapped.like(literal("%,") + NetworkOffering.tags + literal(",%"))
    return or_(
        not_(exists().where(in_zone)),
        and_(NetworkOffering.tags.is_(None), exists().where(in_zone, untagged)),
        and_(NetworkOffering.tags.is_not(None), exists().where(in_zone, carrying)),
    )


def _conditions(where: NetworkOfferingFilter) -> list[ColumnElement[bool]]:
    offering = NetworkOffering
    conditions: list[ColumnElement[bool]] = [
        offering.removed.is_(None),
        offering.system_only.is_(False),
    ]
    if where.enabled_only:
        conditions.append(offering.state == OfferingState.ENABLED.value)
    if where.id is not None:
        conditions.append(_by_id(where.id))
    for column, value in (
        (offering.name, where.name),
        (offering.traffic_type, where.traffic_type),
        (offering.guest_type, where.guest_type),
        (offering.is_default, where.is_default),
        (offering.specify_vlan, where.specify_vlan),
        (offering.specify_ip_ranges, where.specify_ip_ranges),
        (offering.availability, where.availability),
        (offering.state, where.state),
    ):
        if value is not None:
            conditions.append(column == value)
    if where.display_text:
        conditions.append(offering.display_text.contains(where.display_text, autoescape=True))
    if where.keyword:
        conditions.append(
            or_(
                offering.name.contains(where.keyword, autoescape=True),
                offering.display_text.contains(where.keyword, autoescape=True),
            )
        )
    if where.is_tagged is not None:
        conditions.append(
            offering.tags.is_not(None) if where.is_tagged else offering.tags.is_(None)
        )
    if where.tags is not None:
        if (where.guest_type or "").lower() == GuestType.SHARED.value.lower():
            conditions.append(or_(offering.tags == where.tags, offering.is_default.is_(True)))
        else:
            conditions.append(offering.tags == where.tags)
    conditions += [_offers(service) for service in where.supported_services]
    if where.source_nat_supported is not None:
        offers = _offers(Service.SOURCE_NAT.value)
        conditions.append(offers if where.source_nat_supported else not_(offers))
    if where.zone_id is not None:
        conditions.append(_providers_enabled_in(where.zone_id, where.supported_services))
        conditions.append(_tag_fits(where.zone_id))
    for_vpc = where.for_vpc
    if where.upgrade_from is not None:
        conditions += _upgrade_conditions(where.upgrade_from)
        if for_vpc is None:
            for_vpc = where.upgrade_from.in_vpc
    if for_vpc is not None:
        conditions.append(_for_vpc() if for_vpc else not_(_for_vpc()))
    return conditions


def _upgrade_conditions(origin: UpgradeFrom) -> list[ColumnElement[bool]]:
    offering = NetworkOffering
    sg = _offers(Service.SECURITY_GROUP.value)
    guest = (
        offering.guest_type.is_(None)
        if origin.guest_type is None
        else offering.guest_type == origin.guest_type
    )
    return [
        offering.id != origin.offering_id,
        offering.state == OfferingState.ENABLED.value,
        offering.traffic_type == origin.traffic_type,
        guest,
        offering.specify_vlan == origin.specify_vlan,
        sg if origin.security_groups else not_(sg),
    ]


def list_network_offerings(
    session: Session,
    where: NetworkOfferingFilter,
    *,
    ascending: bool = False,
    page: int | None = None,
    pagesize: int | None = None,
    max_page_size: int = DEFAULT_PAGE_SIZE,
) -> tuple[list[OfferingRow], int]:
    """A page of offerings with their services, and the total (one statement; two for
    a page past the end).

    :param ascending: ``sortkey.algorithm`` (sort keys ascending; 4.1's default is
        descending), then by id.
    """
    offset, limit = page_window(page, pagesize, max_page_size)
    offering = NetworkOffering
    matching = select(offering.id, offering.sort_key).where(*_conditions(where))
    total_of = select(func.count()).select_from(matching.subquery("counted")).scalar_subquery()
    order = offering.sort_key.asc() if ascending else offering.sort_key.desc()
    paged = matching.add_columns(total_of.label("total")).order_by(order, offering.id)
    paged = paged.offset(offset)
    if limit is not None:
        paged = paged.limit(limit)
    page_ids = paged.subquery("page_ids")
    page_order = page_ids.c.sort_key.asc() if ascending else page_ids.c.sort_key.desc()
    table = NetworkOffering.__table__
    stmt = (
        select(
            *table.columns,
            ServiceOffering.uuid.label("router_offering_uuid"),
            NetworkOfferingService.service.label("map_service"),
            NetworkOfferingService.provider.label("map_provider"),
            page_ids.c.total,
        )
        .select_from(page_ids)
        .join(offering, offering.id == page_ids.c.id)
        .outerjoin(ServiceOffering, ServiceOffering.id == offering.service_offering_id)
        .outerjoin(
            NetworkOfferingService, NetworkOfferingService.network_offering_id == offering.id
        )
        .order_by(page_order, page_ids.c.id, NetworkOfferingService.id)
    )
    found: dict[int, OfferingRow] = {}
    total = 0
    for row in session.connection().execute(stmt):
        total = int(row.total)
        listed = found.get(row.id)
        if listed is None:
            listed = found[row.id] = OfferingRow(row, row.router_offering_uuid)
        if row.map_service is not None:
            providers = listed.services.setdefault(row.map_service, [])
            if row.map_provider:
                providers.append(row.map_provider)
    if not found and offset > 0:
        total = int(session.execute(select(total_of)).scalar_one())
    return list(found.values()), total
