"""Finding the cluster, host or hypervisor capability an API parameter names.

Like every 4.1 lookup (``ApiDispatcher.translateUuidToInternalId``): a lower-case UUID
or, for parameters older than 3.0, the internal numeric id. Removed rows are not found:
a deleted host or cluster cannot be acted on. An id that matches nothing is a 431
naming the parameter.
"""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from cumulo.accounts.lookup import invalid_id
from cumulo.infra.hosts.models import Cluster, Host, HypervisorCapabilities

_Row = TypeVar("_Row", Cluster, Host)


def _find_live(session: Session, model: type[_Row], value: object, param: str) -> _Row:
    text = str(value).strip()
    stmt = select(model).where(model.removed.is_(None))
    if isinstance(value, int) or text.isdecimal():
        number = int(text)
        if not 0 < number < 2**63:
            raise invalid_id(param, value)
        stmt = stmt.where(model.id == number)
    else:
        stmt = stmt.where(model.uuid == text)
    found = session.scalars(stmt).first()
    if found is None:
        raise invalid_id(param, value)
    return found


def find_cluster(session: Session, value: object, param: str = "clusterid") -> Cluster:
    """The live cluster ``value`` names; 431 naming ``param`` if none."""
    return _find_live(session, Cluster, value, param)


def find_host(session: Session, value: object, param: str = "id") -> Host:
    """The live host ``value`` names; 431 naming ``param`` if none."""
    return _find_live(session, Host, value, param)


def find_capability(session: Session, value: object, param: str = "id") -> HypervisorCapabilities:
    """The hypervisor capability row ``value`` names; 431 naming ``param`` if none."""
    found = session.scalars(
        select(HypervisorCapabilities).where(HypervisorCapabilities.uuid == str(value))
    ).first()
    if found is None:
        raise invalid_id(param, value)
    return found
