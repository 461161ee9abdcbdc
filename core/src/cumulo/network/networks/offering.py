"""What a guest network needs to know of network offerings (net6a's tables,
:mod:`cumulo.network.offerings.models`): the offering a parameter names, the one 4.1
creates an account's default isolated network from, and an offering's services.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from cumulo.accounts.lookup import invalid_id
from cumulo.network.offerings.models import (
    Availability,
    NetworkOffering,
    NetworkOfferingService,
    OfferingState,
)
from cumulo.sdk.errors import InvalidParameterValue
from cumulo.sdk.network import Service

DEFAULT_SHARED_SG = "DefaultSharedNetworkOfferingWithSGService"
DEFAULT_SHARED = "DefaultSharedNetworkOffering"


def find_offering(
    session: Session, value: object, param: str = "networkofferingid"
) -> NetworkOffering:
    """The live offering ``value`` names (UUID or internal id); 431 naming ``param``."""
    text = str(value).strip()
    where = (
        NetworkOffering.id == int(text)
        if text.isdecimal() and 0 < int(text) < 2**63
        else NetworkOffering.uuid == text
    )
    offering = session.scalars(
        select(NetworkOffering).where(where, NetworkOffering.removed.is_(None))
    ).first()
    if offering is None:
        raise invalid_id(param, value)
    return offering


def services_of(session: Session, offering_id: int) -> dict[str, str | None]:
    """Service name → provider name of the offering (one statement)."""
    rows = session.execute(
        select(NetworkOfferingService.service, NetworkOfferingService.provider).where(
            NetworkOfferingService.network_offering_id == offering_id
        )
    )
    return {service: provider for service, provider in rows}


def required_offering(session: Session) -> NetworkOffering:
    """The offering with availability ``Required``: what an account's default isolated
    network is created from when a VM is deployed without networks (4.1
    ``createAdvancedVirtualMachine``).

    :raises InvalidParameterValue: there is none, or it is not enabled (431, as 4.1).
    """
    offering = session.scalars(
        select(NetworkOffering)
        .where(
            NetworkOffering.availability == Availability.REQUIRED.value,
            NetworkOffering.removed.is_(None),
            NetworkOffering.system_only.is_(False),
        )
        .order_by(NetworkOffering.id)
        .limit(1)
    ).first()
    if offering is None:
        raise InvalidParameterValue(
            "networkids: Unable to find network offering with availability=Required to"
            " automatically create the network as a part of vm creation"
        )
    if offering.state != OfferingState.ENABLED.value:
        raise InvalidParameterValue(
            f"networkids: Required network offering id={offering.uuid} is not in Enabled"
        )
    return offering


def by_unique_name(session: Session, unique_name: str) -> NetworkOffering | None:
    """A seeded offering by its 4.1 unique name, if it exists."""
    return session.scalars(
        select(NetworkOffering).where(
            NetworkOffering.unique_name == unique_name, NetworkOffering.removed.is_(None)
        )
    ).first()


def has(services: dict[str, str | None], service: Service) -> bool:
    """Whether ``services`` (:func:`services_of`) include ``service``."""
    return service.value in services
