"""``listNetworks``: one statement for the page (networks with zone, offering, owner,
domain, physical network and what ``canusefordeploy`` needs), one for the page's
services; never one per network.

Who sees what (4.1 ``searchForNetworks``): ``Account`` networks by the accounts the
caller may list (:func:`cumulo.accounts.access.visible_accounts`); ``Domain``
networks (shared with a domain) by every account of that domain, and of its
sub-domains when ``subdomainaccess`` is set; an admin listing with ``listall`` or a
``domainid`` also sees the domain networks of its sub-domains.

``canusefordeploy`` is 4.1's: a guest network with a free address (a shared network's
free range addresses; an isolated network's CIDR hosts not taken by a NIC nor its
gateway). Filtering on it is done on the rows the statement returned, as 4.1 does, so
the page is cut in Python then.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import ColumnElement, Select, and_, exists, false, func, or_, select, true
from sqlalchemy.orm import Session, aliased

from cumulo.accounts.access import domain_subtree, visible_accounts
from cumulo.accounts.models import Account, Domain
from cumulo.compute.models import Nic
from cumulo.db.listing import fetch_rows, page_window
from cumulo.infra.models import IpState, PhysicalNetwork, UserIpAddress, VlanIpRange, Zone
from cumulo.limits.service import ancestor_paths
from cumulo.network.networks.models import AclType, GuestType, Network, NetworkServiceMap
from cumulo.network.offerings.models import NetworkOffering
from cumulo.sdk.api import CallContext, Role


@dataclass(frozen=True)
class NetworkFilter:
    """What ``listNetworks`` narrows by (``None``: no filter)."""

    listall: bool = False
    isrecursive: bool = False
    domain_id: int | None = None
    domain_path: str | None = None
    account_name: str | None = None
    account_domain_path: str | None = None
    network_id: int | None = None
    zone_id: int | None = None
    guest_type: str | None = None
    acl_type: str | None = None
    traffic_type: str | None = None
    physical_network_id: int | None = None
    restart_required: bool | None = None
    specify_ip_ranges: bool | None = None
    supported_services: tuple[str, ...] = ()
    keyword: str | None = None
    can_use_for_deploy: bool | None = None
    nothing: bool = False
    unscoped: bool = False
    """No visibility filter: the answer of a command that already checked access."""


def _shared_with(path: str) -> ColumnElement[bool]:
    """Domain networks an account of the domain at ``path`` may use: its own domain's,
    and its ancestors' with sub-domain access."""
    own = select(Domain.id).where(Domain.path == path).scalar_subquery()
    ancestors = select(Domain.id).where(Domain.path.in_(ancestor_paths(path)))
    return or_(
        Network.domain_id == own,
        and_(Network.subdomain_access.is_(True), Network.domain_id.in_(ancestors)),
    )


def _domain_clause(ctx: CallContext, where: NetworkFilter) -> ColumnElement[bool]:
    if where.account_name is not None:
        return _shared_with(where.account_domain_path or ctx.domain_path)
    usable = _shared_with(ctx.domain_path)
    if ctx.role == Role.USER or not ctx.role:
        return usable
    if where.domain_id is not None and where.domain_path is not None:
        below: ColumnElement[bool]
        if where.isrecursive:
            below = Network.domain_id.in_(
                select(Domain.id).where(domain_subtree(where.domain_path))
            )
        else:
            below = Network.domain_id == where.domain_id
        return or_(below, _shared_with(where.domain_path))
    if where.listall:
        if ctx.is_root_admin:
            return true()
        subtree = Network.domain_id.in_(select(Domain.id).where(domain_subtree(ctx.domain_path)))
        return or_(subtree, usable)
    return usable


def _scope(ctx: CallContext, where: NetworkFilter) -> ColumnElement[bool]:
    accounts = visible_accounts(
        ctx,
        listall=where.listall,
        isrecursive=where.isrecursive,
        domain_id=where.domain_id,
        account_name=where.account_name,
    )
    return or_(
        and_(Network.acl_type == AclType.ACCOUNT.value, accounts),
        and_(Network.acl_type == AclType.DOMAIN.value, _domain_clause(ctx, where)),
    )


def _free_shared() -> Any:
    return (
        select(func.count(UserIpAddress.id))
        .join(VlanIpRange, VlanIpRange.id == UserIpAddress.vlan_db_id)
        .where(VlanIpRange.network_id == Network.id, UserIpAddress.state == IpState.FREE.value)
        .correlate(Network)
        .scalar_subquery()
    )


def _used_nics() -> Any:
    return (
        select(func.count(Nic.id))
        .where(Nic.network_id == Network.id, Nic.removed.is_(None))
        .correlate(Network)
        .scalar_subquery()
    )


def statement(ctx: CallContext, where: NetworkFilter) -> Select[Any]:
    """The filtered, ordered statement of a page (module doc)."""
    owner_domain = aliased(Domain)
    stmt = (
        select(
            Network.id,
            Network.uuid,
            Network.name,
            Network.display_text,
            Network.broadcast_domain_type,
            Network.broadcast_uri,
            Network.traffic_type,
            Network.gateway,
            Network.cidr,
            Network.state,
            Network.dns1,
            Network.dns2,
            Network.guest_type,
            Network.acl_type,
            Network.subdomain_access,
            Network.network_domain,
            Network.restart_required,
            Network.specify_ip_ranges,
            Zone.uuid.label("zone_uuid"),
            Zone.name.label("zone_name"),
            NetworkOffering.uuid.label("offering_uuid"),
            NetworkOffering.name.label("offering_name"),
            NetworkOffering.display_text.label("offering_display_text"),
            NetworkOffering.availability.label("offering_availability"),
            NetworkOffering.system_only,
            NetworkOffering.is_persistent,
            NetworkOffering.shared_source_nat_service,
            NetworkOffering.dedicated_lb_service,
            NetworkOffering.redundant_router_service,
            Account.account_name,
            owner_domain.uuid.label("domain_uuid"),
            owner_domain.name.label("domain_name"),
            PhysicalNetwork.uuid.label("physical_network_uuid"),
            _free_shared().label("free_shared"),
            _used_nics().label("used_nics"),
        )
        .join(Zone, Zone.id == Network.data_center_id)
        .join(NetworkOffering, NetworkOffering.id == Network.network_offering_id)
        .join(Account, Account.id == Network.account_id)
        .join(owner_domain, owner_domain.id == Network.domain_id)
        .outerjoin(PhysicalNetwork, PhysicalNetwork.id == Network.physical_network_id)
        .where(Network.removed.is_(None))
    )
    if not where.unscoped:
        stmt = stmt.where(_scope(ctx, where))
    if where.nothing:
        stmt = stmt.where(false())
    for column, value in (
        (Network.id, where.network_id),
        (Network.data_center_id, where.zone_id),
        (Network.acl_type, where.acl_type),
        (Network.traffic_type, where.traffic_type),
        (Network.physical_network_id, where.physical_network_id),
        (Network.restart_required, where.restart_required),
        (Network.specify_ip_ranges, where.specify_ip_ranges),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    if where.guest_type is not None:
        stmt = stmt.where(func.lower(Network.guest_type) == where.guest_type.lower())
    for service in where.supported_services:
        stmt = stmt.where(
            exists().where(
                NetworkServiceMap.network_id == Network.id,
                func.lower(NetworkServiceMap.service) == service.lower(),
            )
        )
    if where.keyword:
        stmt = stmt.where(Network.name.like(f"%{where.keyword}%"))
    return cast("Select[Any]", stmt.order_by(Network.id))


def can_use_for_deploy(row: Any) -> bool:
    """4.1's ``canUseForDeploy`` from a listing row (module doc)."""
    if row.traffic_type != "Guest":
        return False
    if row.guest_type == GuestType.SHARED.value:
        return bool(row.free_shared)
    if not row.cidr:
        return False
    subnet = ipaddress.IPv4Network(row.cidr, strict=False)
    hosts = max(subnet.num_addresses - 2, 0) - (1 if row.gateway else 0)
    return hosts - int(row.used_nics or 0) > 0


def list_networks(
    session: Session,
    ctx: CallContext,
    where: NetworkFilter,
    *,
    page: int | None,
    pagesize: int | None,
    max_page_size: int,
) -> tuple[list[Any], dict[int, list[tuple[str, str | None]]], int]:
    """One page of networks, their services by network id, and the total."""
    stmt = statement(ctx, where)
    if where.can_use_for_deploy is None:
        rows, total = fetch_rows(
            session, stmt, page=page, pagesize=pagesize, max_page_size=max_page_size
        )
    else:
        offset, limit = page_window(page, pagesize, max_page_size)
        matching = [
            row
            for row in session.execute(stmt).all()
            if can_use_for_deploy(row) == where.can_use_for_deploy
        ]
        total = len(matching)
        rows = cast("list[Any]", matching[offset : None if limit is None else offset + limit])
    services: dict[int, list[tuple[str, str | None]]] = {}
    ids = [row.id for row in rows]
    if ids:
        for network_id, service, provider in session.execute(
            select(
                NetworkServiceMap.network_id, NetworkServiceMap.service, NetworkServiceMap.provider
            ).where(NetworkServiceMap.network_id.in_(ids))
        ):
            services.setdefault(network_id, []).append((service, provider))
    return rows, services, total
