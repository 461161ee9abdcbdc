"""Finding network offerings and what they offer, for the offering commands and for the
other network areas (guest networks are created from an offering and copy its
services).

- :func:`find_network_offering`: a live offering an admin command names (any, system
  ones excepted: 4.1 hides them from every command);
- :func:`usable_offering`: an offering a caller may create a network from: live,
  ``Enabled``, not system-only (431 naming the parameter otherwise, the same answer
  whatever the reason);
- :func:`offering_services`: service → provider of an offering;
- :func:`default_offering`: a seeded offering by its 4.1 unique name.

Values are a UUID or, as 4.1's ``findByUuid`` fallbacks allowed, an internal id.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from cumulo.accounts.lookup import invalid_id
from cumulo.network.offerings.models import NetworkOffering, NetworkOfferingService, OfferingState
from cumulo.sdk.errors import InternalError, InvalidParameterValue
from cumulo.sdk.network import Service


def _key(value: object, param: str) -> ColumnElement[bool]:
    text = str(value).strip()
    if isinstance(value, int) or text.isdecimal():
        number = int(text)
        if not 0 < number < 2**63:
            raise invalid_id(param, value)
        return NetworkOffering.id == number
    return NetworkOffering.uuid == text


def find_network_offering(session: Session, value: object, param: str = "id") -> NetworkOffering:
    """The live, non-system offering ``value`` names (one statement).

    :raises InvalidParameterValue: none (431 naming ``param``).
    """
    found = session.scalars(
        select(NetworkOffering).where(
            _key(value, param),
            NetworkOffering.removed.is_(None),
            NetworkOffering.system_only.is_(False),
        )
    ).first()
    if found is None:
        raise invalid_id(param, value)
    return found


def usable_offering(
    session: Session, value: object, param: str = "networkofferingid"
) -> NetworkOffering:
    """The offering a network may be created from (or changed to): live, ``Enabled``
    and not system-only (one statement).

    :raises InvalidParameterValue: unknown, removed, disabled or a system offering (431
        naming ``param``; a disabled offering is named as such).
    """
    offering = find_network_offering(session, value, param)
    if offering.state != OfferingState.ENABLED:
        raise InvalidParameterValue(
            f"{param}: network offering {offering.uuid} is {offering.state}; only Enabled"
            " offerings can be used"
        )
    return offering


def offering_services(session: Session, offering_id: int) -> dict[Service, str]:
    """Service → provider name of an offering (``Gateway`` included), one statement."""
    rows = session.execute(
        select(NetworkOfferingService.service, NetworkOfferingService.provider).where(
            NetworkOfferingService.network_offering_id == offering_id
        )
    ).all()
    return {Service(service): provider or "" for service, provider in rows}


def default_offering(session: Session, unique_name: str) -> NetworkOffering:
    """The seeded offering of that 4.1 unique name
    (``DefaultIsolatedNetworkOfferingWithSourceNatService`` ...), live or not: networks
    created automatically need it even when an admin disabled it.

    :raises InternalError: it is missing (the database was not migrated by cumulo; 530).
    """
    found = session.scalars(
        select(NetworkOffering).where(NetworkOffering.unique_name == unique_name)
    ).first()
    if found is None:
        raise InternalError(f"the default network offering {unique_name} is missing")
    return found
