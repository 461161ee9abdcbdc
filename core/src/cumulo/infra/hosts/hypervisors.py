"""Hypervisor types, ``listHypervisors`` and the ``hypervisor_capabilities`` rows.

4.1 names hypervisors with ``Hypervisor.HypervisorType`` and resolves a parameter
case-insensitively (``HypervisorType.getType``): ``kvm`` is ``KVM``. ``listHypervisors``
without a zone answers the ``hypervisor.list`` setting; with a zone, the hypervisors of
that zone's clusters (``ManagementServerImpl.getHypervisors``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from cumulo.db.listing import DEFAULT_PAGE_SIZE, fetch_page
from cumulo.infra.hosts.models import Cluster, HypervisorCapabilities
from cumulo.sdk.errors import InvalidParameterValue

HYPERVISOR_TYPES: tuple[str, ...] = (
    "XenServer",
    "KVM",
    "VMware",
    "Hyperv",
    "BareMetal",
    "Simulator",
    "Ovm",
)
"""4.1's ``HypervisorType`` values that name a real hypervisor (not ``None``/``Any``)."""

HYPERVISOR_LIST_KEY = "hypervisor.list"

_BY_LOWER = {name.lower(): name for name in HYPERVISOR_TYPES}


def parse_hypervisor(value: str, param: str = "hypervisor") -> str:
    """The canonical spelling of hypervisor ``value`` (``kvm`` → ``KVM``).

    :raises InvalidParameterValue: not a 4.1 hypervisor type (431 naming ``param``).
    """
    found = _BY_LOWER.get(value.strip().lower())
    if found is None:
        raise InvalidParameterValue(
            f"Invalid parameter {param} value={value}: unable to resolve hypervisor type;"
            f" expected one of {', '.join(HYPERVISOR_TYPES)}"
        )
    return found


def list_hypervisors(session: Session, zone_id: int | None, configured: str | None) -> list[str]:
    """The hypervisors ``listHypervisors`` shows.

    :param zone_id: a zone: the distinct hypervisors of its live clusters (one query).
    :param configured: the ``hypervisor.list`` value, used without a zone.
    """
    if zone_id is None:
        names = [part.strip() for part in (configured or "").split(",") if part.strip()]
        return list(dict.fromkeys(_BY_LOWER.get(name.lower(), name) for name in names))
    rows = session.scalars(
        select(Cluster.hypervisor_type)
        .where(Cluster.data_center_id == zone_id, Cluster.removed.is_(None))
        .distinct()
        .order_by(Cluster.hypervisor_type)
    )
    return list(rows)


def list_capabilities(
    session: Session,
    *,
    capability: HypervisorCapabilities | None = None,
    hypervisor: str | None = None,
    keyword: str | None = None,
    page: int | None = None,
    pagesize: int | None = None,
    max_page_size: int = DEFAULT_PAGE_SIZE,
) -> tuple[list[HypervisorCapabilities], int]:
    """One page of capability rows and the total, in one query."""
    stmt: Select[*tuple[Any, ...]] = select(HypervisorCapabilities).order_by(
        HypervisorCapabilities.id
    )
    if capability is not None:
        stmt = stmt.where(HypervisorCapabilities.id == capability.id)
    if hypervisor is not None:
        stmt = stmt.where(HypervisorCapabilities.hypervisor_type == parse_hypervisor(hypervisor))
    if keyword:
        stmt = stmt.where(HypervisorCapabilities.hypervisor_type.contains(keyword))
    rows, total = fetch_page(
        session, stmt, page=page, pagesize=pagesize, max_page_size=max_page_size
    )
    return [row[0] for row in rows], total


def update_capabilities(
    capability: HypervisorCapabilities,
    *,
    security_group_enabled: bool | None,
    max_guests_limit: int | None,
) -> HypervisorCapabilities:
    """Change what a hypervisor version supports (``updateHypervisorCapabilities``).

    :raises InvalidParameterValue: a negative ``maxguestslimit`` (431 naming it).
    """
    if max_guests_limit is not None:
        if max_guests_limit < 0:
            raise InvalidParameterValue(
                f"Invalid parameter maxguestslimit value={max_guests_limit}: it must not be"
                " negative"
            )
        capability.max_guests_limit = max_guests_limit
    if security_group_enabled is not None:
        capability.security_group_enabled = security_group_enabled
    return capability
