"""Finding the topology object an API parameter names (UUID or internal id).

As in :mod:`cumulo.accounts.lookup`, a value that names nothing is 4.1's 431 naming
the parameter; removed (soft-deleted) rows name nothing here, because no command may
act on a deleted zone or pod.
"""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from cumulo.accounts.lookup import invalid_id
from cumulo.infra.models import (
    PhysicalNetwork,
    PhysicalNetworkServiceProvider,
    PhysicalNetworkTrafficType,
    Pod,
    StorageNetworkIpRange,
    VlanIpRange,
    Zone,
)

Entity = TypeVar(
    "Entity",
    Zone,
    Pod,
    PhysicalNetwork,
    PhysicalNetworkTrafficType,
    PhysicalNetworkServiceProvider,
    VlanIpRange,
    StorageNetworkIpRange,
)


def find_live(session: Session, model: type[Entity], value: object, param: str) -> Entity:
    """The non-removed row of ``model`` that ``value`` names.

    :raises InvalidParameterValue: nothing matches (431 naming ``param``).
    """
    text = str(value).strip()
    if isinstance(value, int) or text.isdecimal():
        number = int(text)
        found = session.get(model, number) if 0 < number < 2**63 else None
    else:
        found = session.scalars(select(model).where(model.uuid == text)).first()
    if found is None or found.removed is not None:
        raise invalid_id(param, value)
    return found


def find_zone(session: Session, value: object, param: str = "zoneid") -> Zone:
    """The zone ``value`` names; 431 naming ``param`` if none."""
    return find_live(session, Zone, value, param)


def find_pod(session: Session, value: object, param: str = "podid") -> Pod:
    """The pod ``value`` names; 431 naming ``param`` if none."""
    return find_live(session, Pod, value, param)


def find_physical_network(
    session: Session, value: object, param: str = "physicalnetworkid"
) -> PhysicalNetwork:
    """The physical network ``value`` names; 431 naming ``param`` if none."""
    return find_live(session, PhysicalNetwork, value, param)
