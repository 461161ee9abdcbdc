"""Network offerings: create, update, delete (REQUIREMENTS CAP-21, REQ-PN-04/05/09).

Services work in the caller's transaction and never commit. The rules of a new
offering are in :mod:`.rules`; here are the ones that need the database:

- one offering at most is ``Required`` (4.1: the one an account's default isolated
  network is made from);
- the router system offering (``serviceofferingid``) is a live system offering of
  type ``domainrouter``;
- the behaviour of an offering never changes once created (REQ-PN-05): update takes
  only the name, the display text, the sort key, the state and the availability,
  as 4.1's ``updateNetworkOffering``;
- an offering networks still use cannot be deleted (disable it instead), nor can a
  seeded default one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from cumulo.db.base import utcnow
from cumulo.network.networks.models import Network
from cumulo.network.offerings import rules
from cumulo.network.offerings.models import (
    Availability,
    GuestType,
    NetworkOffering,
    NetworkOfferingService,
    OfferingState,
)
from cumulo.offerings import validation
from cumulo.offerings.models import ServiceOffering, SystemVmType
from cumulo.sdk.errors import InvalidParameterValue
from cumulo.sdk.network import Service


def _check_required_free(session: Session, keep_id: int | None = None) -> None:
    taken = select(NetworkOffering.uuid).where(
        NetworkOffering.availability == Availability.REQUIRED.value,
        NetworkOffering.system_only.is_(False),
        NetworkOffering.removed.is_(None),
    )
    if keep_id is not None:
        taken = taken.where(NetworkOffering.id != keep_id)
    holder = session.scalars(taken.limit(1)).first()
    if holder is not None:
        raise InvalidParameterValue(
            f"availability: network offering {holder} is already Required; only one"
            " network offering can have availability Required"
        )


def _router_offering(offering: ServiceOffering | None) -> int | None:
    if offering is None:
        return None
    if not offering.system_use or offering.vm_type != SystemVmType.DOMAIN_ROUTER:
        raise InvalidParameterValue(
            f"serviceofferingid: service offering {offering.uuid} is not a system offering"
            " of system VM type domainrouter"
        )
    return offering.id


def create_network_offering(
    session: Session,
    *,
    name: str,
    display_text: str,
    traffic_type: str,
    guest_type: str,
    supported_services: Iterable[str],
    service_providers: Iterable[Mapping[str, str]] = (),
    service_capabilities: Iterable[Mapping[str, str]] = (),
    specify_vlan: bool = False,
    specify_ip_ranges: bool = False,
    conserve_mode: bool = True,
    is_persistent: bool = False,
    availability: str | None = None,
    tags: str | None = None,
    network_rate: int | None = None,
    router_offering: ServiceOffering | None = None,
) -> NetworkOffering:
    """``createNetworkOffering``: validate (module doc and :mod:`.rules`) and store a new
    offering, ``Disabled`` as 4.1 creates them, with its services (two statements).

    :param service_providers: ``serviceproviderlist`` entries (``service``, ``provider``).
    :param service_capabilities: ``servicecapabilitylist`` entries (``service``,
        ``capabilitytype``, ``capabilityvalue``).
    :param router_offering: ``serviceofferingid``'s offering.
    :raises InvalidParameterValue: a rule is broken (431 naming the parameter).
    """
    kind = rules.guest_type(guest_type)
    traffic = rules.traffic_type(traffic_type)
    wanted = rules.availability(availability)
    services = rules.service_providers(kind, supported_services, service_providers)
    capabilities = rules.capabilities(services, service_capabilities)
    rules.check_flags(
        kind,
        services,
        specify_vlan=specify_vlan,
        specify_ip_ranges=specify_ip_ranges,
        is_persistent=is_persistent,
        wanted_availability=wanted,
    )
    if network_rate is not None:
        validation.in_range(network_rate, "networkrate", 0, unit="Mbps")
    if wanted == Availability.REQUIRED:
        _check_required_free(session)
    offering = NetworkOffering(
        name=validation.name(name),
        unique_name=None,
        display_text=_display_text(display_text),
        traffic_type=traffic,
        guest_type=kind,
        state=OfferingState.DISABLED.value,
        availability=wanted,
        specify_vlan=specify_vlan,
        specify_ip_ranges=specify_ip_ranges,
        conserve_mode=conserve_mode,
        is_persistent=is_persistent,
        is_default=False,
        system_only=False,
        tags=validation.tags(tags),
        nw_rate=network_rate,
        mc_rate=None,
        egress_default_policy=True,
        service_offering_id=_router_offering(router_offering),
        sort_key=0,
        **capabilities.columns(),
    )
    session.add(offering)
    session.flush()
    session.add_all(
        NetworkOfferingService(network_offering_id=offering.id, service=svc, provider=prov)
        for svc, prov in services.items()
    )
    session.flush()
    return offering


def _display_text(value: str) -> str:
    text = value.strip()
    if not text:
        raise InvalidParameterValue("displaytext: the display text must not be empty")
    if len(text) > 255:
        raise InvalidParameterValue("displaytext: longer than 255 characters")
    return text


def update_network_offering(
    session: Session,
    offering: NetworkOffering,
    *,
    name: str | None = None,
    display_text: str | None = None,
    sort_key: int | None = None,
    state: str | None = None,
    availability: str | None = None,
) -> bool:
    """``updateNetworkOffering``: what 4.1 lets change (module doc).

    :return: whether anything was given to change.
    :raises InvalidParameterValue: a bad state or availability, or ``Required`` for an
        offering that cannot be or while another one is (431 naming the parameter).
    """
    if all(v is None for v in (name, display_text, sort_key, state, availability)):
        return False
    if name is not None:
        offering.name = validation.name(name)
    if display_text is not None:
        offering.display_text = _display_text(display_text)
    if sort_key is not None:
        offering.sort_key = sort_key
    if state is not None:
        states = {s.value.lower(): s.value for s in OfferingState}
        found = states.get(state.strip().lower())
        if found is None:
            raise InvalidParameterValue(
                f"state: incorrect state '{state}'; it can be Enabled or Disabled"
            )
        offering.state = found
    if availability is not None:
        wanted = rules.availability(availability)
        if wanted == Availability.REQUIRED:
            has_source_nat = session.scalar(
                select(
                    exists().where(
                        NetworkOfferingService.network_offering_id == offering.id,
                        NetworkOfferingService.service == Service.SOURCE_NAT.value,
                    )
                )
            )
            if offering.guest_type != GuestType.ISOLATED or not has_source_nat:
                raise InvalidParameterValue(
                    "availability: can be Required only for Isolated network offerings with"
                    " the SourceNat service"
                )
            _check_required_free(session, keep_id=offering.id)
        offering.availability = wanted
    session.flush()
    return True


def networks_using(session: Session, offering_id: int) -> int:
    """How many live networks were created from the offering (one statement)."""
    return int(
        session.scalar(
            select(func.count()).where(
                Network.network_offering_id == offering_id, Network.removed.is_(None)
            )
        )
        or 0
    )


def delete_network_offering(session: Session, offering: NetworkOffering) -> None:
    """``deleteNetworkOffering``: soft-delete an offering no network uses.

    :raises InvalidParameterValue: a seeded default offering, or one live networks were
        created from (431 naming ``id``; disabling it is the way to retire it).
    """
    if offering.is_default:
        raise InvalidParameterValue(
            f"id: '{offering.name}' is a default network offering and cannot be deleted"
        )
    used = networks_using(session, offering.id)
    if used:
        raise InvalidParameterValue(
            f"id: network offering '{offering.name}' is used by {used} network(s) and cannot"
            " be deleted; disable it (updateNetworkOffering state=Disabled) to make it"
            " unavailable"
        )
    offering.removed = utcnow()
    session.flush()
