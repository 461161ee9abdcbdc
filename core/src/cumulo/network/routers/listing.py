"""``listRouters``: one statement per page.

The inner query pages the matching router ids on ``domain_router``, ``vm_instance`` and
``account`` (the caller's scope) with the total as a scalar subquery; the outer one
joins the page's ids to the names the response shows (zone, pod, host, owner, offering,
template, guest network) and the routers' live NICs, a row per NIC (three per router).
Destroyed routers are gone from the list (4.1 expunges them at once).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Row, and_, false, func, or_, select
from sqlalchemy.orm import Session, aliased

from cumulo.accounts.models import Account, Domain
from cumulo.compute.models import Nic, VirtualMachine
from cumulo.db.listing import DEFAULT_PAGE_SIZE, page_window
from cumulo.infra.hosts.models import Host
from cumulo.infra.models import Pod, Zone
from cumulo.network.networks.models import Network
from cumulo.network.routers.models import DomainRouter
from cumulo.offerings.models import ServiceOffering
from cumulo.templates.models import VMTemplate


@dataclass(frozen=True)
class RouterFilter:
    """``listRouters`` filters (``None``: not filtered); internal ids.

    :param scope: the accounts the caller lists, as a WHERE clause over ``account``.
    :param nothing: a filter no router can match (``projectid``).
    """

    scope: ColumnElement[bool]
    id: str | None = None
    name: str | None = None
    state: str | None = None
    zone_id: int | None = None
    pod_id: int | None = None
    host_id: int | None = None
    network_id: int | None = None
    vpc_id: int | None = None
    for_vpc: bool | None = None
    keyword: str | None = None
    nothing: bool = False


@dataclass
class RouterRow:
    """One listed router and its NICs (device order)."""

    router: Row[Any]
    nics: list[Row[Any]] = field(default_factory=list)


def _conditions(where: RouterFilter) -> list[ColumnElement[bool]]:
    vm = VirtualMachine
    conditions: list[ColumnElement[bool]] = [vm.removed.is_(None), where.scope]
    if where.nothing:
        conditions.append(false())
    if where.id is not None:
        text = where.id.strip()
        conditions.append(vm.id == int(text) if text.isdecimal() else vm.uuid == text)
    for column, value in (
        (vm.data_center_id, where.zone_id),
        (vm.pod_id, where.pod_id),
        (vm.host_id, where.host_id),
        (DomainRouter.network_id, where.network_id),
        (DomainRouter.vpc_id, where.vpc_id),
    ):
        if value is not None:
            conditions.append(column == value)
    if where.name is not None:
        conditions.append(vm.name == where.name)
    if where.state is not None:
        conditions.append(func.lower(vm.state) == where.state.lower())
    if where.for_vpc is not None:
        conditions.append(
            DomainRouter.vpc_id.is_not(None) if where.for_vpc else DomainRouter.vpc_id.is_(None)
        )
    if where.keyword:
        conditions.append(
            or_(
                vm.name.contains(where.keyword, autoescape=True),
                vm.state.contains(where.keyword, autoescape=True),
            )
        )
    return conditions


_NIC = aliased(Nic, name="nic")


def list_routers(
    session: Session,
    where: RouterFilter,
    *,
    page: int | None = None,
    pagesize: int | None = None,
    max_page_size: int = DEFAULT_PAGE_SIZE,
) -> tuple[list[RouterRow], int]:
    """A page of routers by id with their NICs, and the total (one statement; two for a
    page past the end)."""
    offset, limit = page_window(page, pagesize, max_page_size)
    vm = VirtualMachine
    matching = (
        select(vm.id)
        .join(DomainRouter, DomainRouter.id == vm.id)
        .join(Account, Account.id == vm.account_id)
        .where(*_conditions(where))
    )
    total_of = select(func.count()).select_from(matching.subquery("counted")).scalar_subquery()
    paged = matching.add_columns(total_of.label("total")).order_by(vm.id).offset(offset)
    if limit is not None:
        paged = paged.limit(limit)
    ids = paged.subquery("page_ids")
    stmt = (
        select(
            ids.c.id,
            ids.c.total,
            vm.uuid,
            vm.name,
            vm.state,
            vm.created,
            DomainRouter.public_ip_address,
            DomainRouter.guest_ip_address,
            DomainRouter.control_ip_address,
            DomainRouter.is_redundant_router,
            DomainRouter.redundant_state,
            DomainRouter.template_version,
            DomainRouter.scripts_version,
            Zone.uuid.label("zone_uuid"),
            Zone.name.label("zone_name"),
            Zone.dns1.label("zone_dns1"),
            Zone.dns2.label("zone_dns2"),
            Pod.uuid.label("pod_uuid"),
            Host.uuid.label("host_uuid"),
            Host.name.label("host_name"),
            Account.account_name,
            Domain.uuid.label("domain_uuid"),
            Domain.name.label("domain_name"),
            ServiceOffering.uuid.label("offering_uuid"),
            ServiceOffering.name.label("offering_name"),
            VMTemplate.uuid.label("template_uuid"),
            Network.uuid.label("network_uuid"),
            Network.network_domain,
            Network.dns1.label("network_dns1"),
            Network.dns2.label("network_dns2"),
            _NIC.uuid.label("nic_uuid"),
            _NIC.traffic_type.label("nic_traffic_type"),
            _NIC.ip4_address.label("nic_ip"),
            _NIC.netmask.label("nic_netmask"),
            _NIC.gateway.label("nic_gateway"),
            _NIC.mac_address.label("nic_mac"),
            _NIC.broadcast_uri.label("nic_broadcast_uri"),
            _NIC.isolation_uri.label("nic_isolation_uri"),
            _NIC.is_default.label("nic_is_default"),
        )
        .select_from(ids)
        .join(vm, vm.id == ids.c.id)
        .join(DomainRouter, DomainRouter.id == vm.id)
        .join(Account, Account.id == vm.account_id)
        .join(Domain, Domain.id == vm.domain_id)
        .join(Zone, Zone.id == vm.data_center_id)
        .outerjoin(Pod, Pod.id == vm.pod_id)
        .outerjoin(Host, Host.id == vm.host_id)
        .outerjoin(ServiceOffering, ServiceOffering.id == vm.service_offering_id)
        .outerjoin(VMTemplate, VMTemplate.id == vm.template_id)
        .outerjoin(Network, Network.id == DomainRouter.network_id)
        .outerjoin(_NIC, and_(_NIC.instance_id == vm.id, _NIC.removed.is_(None)))
        .order_by(ids.c.id, _NIC.device_id)
    )
    found: dict[int, RouterRow] = {}
    total = 0
    for row in session.connection().execute(stmt):
        total = int(row.total)
        listed = found.setdefault(row.id, RouterRow(row))
        if row.nic_uuid is not None:
            listed.nics.append(row)
    if not found and offset > 0:
        total = int(session.execute(select(total_of)).scalar_one())
    return list(found.values()), total


def router_rows(
    session: Session, ids: Sequence[int], scope: ColumnElement[bool]
) -> list[RouterRow]:
    """The routers ``ids`` as listed (for the answer of a router command)."""
    rows, _ = list_routers(
        session, RouterFilter(scope=and_(scope, VirtualMachine.id.in_(ids))), pagesize=-1
    )
    return rows
