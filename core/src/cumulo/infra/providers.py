"""Network service providers on physical networks: add, update, delete, list.

Names and the services each may offer come from
:mod:`cumulo.infra.network_services`; a provider appears once per physical network.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Select, exists, select
from sqlalchemy.orm import Session

from cumulo import events
from cumulo.accounts.lookup import invalid_id
from cumulo.db.listing import fetch_page
from cumulo.infra.models import PhysicalNetwork, PhysicalNetworkServiceProvider, ProviderState
from cumulo.infra.network_services import PROVIDERS, SERVICES
from cumulo.infra.rules import choice
from cumulo.sdk.api import Call
from cumulo.sdk.errors import InvalidParameterValue


def _services(provider: str, wanted: list[str] | None) -> str:
    offered = PROVIDERS[provider]
    if not wanted:
        return ",".join(offered)
    chosen = [choice(name, tuple(SERVICES), "servicelist") for name in wanted]
    for name in chosen:
        if name not in offered:
            raise InvalidParameterValue(
                f"Provider {provider} does not support service {name} (servicelist)"
            )
    return ",".join(chosen)


def add_provider(
    call: Call,
    network: PhysicalNetwork,
    *,
    name: str,
    servicelist: list[str] | None = None,
    destination: PhysicalNetwork | None = None,
) -> PhysicalNetworkServiceProvider:
    """Add provider ``name`` (``Disabled``) to ``network``."""
    session = call.session
    provider = choice(name, tuple(PROVIDERS), "name")
    taken = select(PhysicalNetworkServiceProvider.id).where(
        PhysicalNetworkServiceProvider.physical_network_id == network.id,
        PhysicalNetworkServiceProvider.provider_name == provider,
    )
    if session.scalar(select(exists(taken))):
        raise InvalidParameterValue(
            f"The provider {provider} (name) already exists on physical network {network.name}"
        )
    row = PhysicalNetworkServiceProvider(
        physical_network_id=network.id,
        provider_name=provider,
        state=ProviderState.DISABLED.value,
        destination_physical_network_id=destination.id if destination is not None else None,
        services=_services(provider, servicelist),
    )
    session.add(row)
    session.flush()
    events.record(
        call,
        "SERVICE.PROVIDER.CREATE",
        f"Added provider {provider} to physical network {network.name}",
        resource_type="PhysicalNetworkServiceProvider",
        resource_uuid=row.uuid,
    )
    return row


def update_provider(
    call: Call,
    row: PhysicalNetworkServiceProvider,
    *,
    state: str | None = None,
    servicelist: list[str] | None = None,
) -> PhysicalNetworkServiceProvider:
    """Change a provider's state (Enabled/Disabled/Shutdown) or services."""
    if state is not None:
        row.state = choice(state, tuple(s.value for s in ProviderState), "state")
    if servicelist is not None:
        row.services = _services(row.provider_name, servicelist)
    call.session.flush()
    events.record(
        call,
        "SERVICE.PROVIDER.UPDATE",
        f"Updated provider {row.provider_name}",
        resource_type="PhysicalNetworkServiceProvider",
        resource_uuid=row.uuid,
    )
    return row


def delete_provider(call: Call, row: PhysicalNetworkServiceProvider) -> None:
    """Remove a provider from its physical network."""
    call.session.delete(row)
    call.session.flush()
    events.record(
        call,
        "SERVICE.PROVIDER.DELETE",
        f"Deleted provider {row.provider_name}",
        resource_type="PhysicalNetworkServiceProvider",
        resource_uuid=row.uuid,
    )


def find_provider(
    session: Session, value: object, param: str = "id"
) -> PhysicalNetworkServiceProvider:
    """The provider ``value`` (UUID) names; 431 naming ``param`` if none."""
    found = session.scalars(
        select(PhysicalNetworkServiceProvider).where(
            PhysicalNetworkServiceProvider.uuid == str(value)
        )
    ).first()
    if found is None:
        raise invalid_id(param, value)
    return found


def list_providers(
    session: Session,
    *,
    network: PhysicalNetwork | None = None,
    name: str | None = None,
    state: str | None = None,
    keyword: str | None = None,
    page: int | None = None,
    pagesize: int | None = None,
    max_page_size: int = 500,
) -> tuple[list[tuple[PhysicalNetworkServiceProvider, PhysicalNetwork]], int]:
    """One page of providers with their physical networks, in one statement."""
    stmt = select(PhysicalNetworkServiceProvider, PhysicalNetwork).join(
        PhysicalNetwork,
        PhysicalNetwork.id == PhysicalNetworkServiceProvider.physical_network_id,
    )
    if network is not None:
        stmt = stmt.where(PhysicalNetworkServiceProvider.physical_network_id == network.id)
    if name is not None:
        stmt = stmt.where(PhysicalNetworkServiceProvider.provider_name == name)
    if state is not None:
        stmt = stmt.where(PhysicalNetworkServiceProvider.state == state)
    if keyword:
        stmt = stmt.where(PhysicalNetworkServiceProvider.provider_name.like(f"%{keyword}%"))
    rows, total = fetch_page(
        session,
        cast("Select[Any]", stmt.order_by(PhysicalNetworkServiceProvider.id)),
        page=page,
        pagesize=pagesize,
        max_page_size=max_page_size,
    )
    return [(row[0], row[1]) for row in rows], total
