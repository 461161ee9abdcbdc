"""``listPublicIpAddresses``: one statement per page — the addresses with their range,
zone, owner, domain, associated network, static-NAT VM and physical network.

As 4.1 (``ManagementServerImpl.searchForIPAddresses``): only allocated addresses
unless a root admin asks ``allocatedonly=false`` (then the zone's free ones too, owned
by nobody); allocated ones are scoped to the accounts the caller may list
(:func:`cumulo.accounts.access.visible_accounts`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import ColumnElement, Select, and_, exists, false, or_, select
from sqlalchemy.orm import Session, aliased

from cumulo.accounts.access import visible_accounts
from cumulo.accounts.models import Account, Domain
from cumulo.compute.models import VirtualMachine
from cumulo.db.listing import fetch_rows
from cumulo.infra.models import IpState, PhysicalNetwork, UserIpAddress, VlanIpRange, VlanType, Zone
from cumulo.network.networks.models import Network
from cumulo.network.rules.models import NetworkRule, Purpose
from cumulo.sdk.api import CallContext


@dataclass(frozen=True)
class IpFilter:
    """What ``listPublicIpAddresses`` narrows by (``None``: no filter)."""

    listall: bool = False
    isrecursive: bool = False
    domain_id: int | None = None
    account_name: str | None = None
    allocated_only: bool = True
    ip_id: int | None = None
    address: str | None = None
    zone_id: int | None = None
    vlan_db_id: int | None = None
    physical_network_id: int | None = None
    network_id: int | None = None
    for_virtual_network: bool | None = None
    source_nat: bool | None = None
    static_nat: bool | None = None
    for_load_balancing: bool | None = None
    keyword: str | None = None
    nothing: bool = False
    unscoped: bool = False


def _scope(ctx: CallContext, where: IpFilter) -> ColumnElement[bool]:
    owned = and_(
        UserIpAddress.state != IpState.FREE.value,
        visible_accounts(
            ctx,
            listall=where.listall,
            isrecursive=where.isrecursive,
            domain_id=where.domain_id,
            account_name=where.account_name,
        ),
    )
    if where.allocated_only or not ctx.is_root_admin or where.account_name is not None:
        return owned
    return or_(owned, UserIpAddress.state == IpState.FREE.value)


def statement(ctx: CallContext, where: IpFilter) -> Select[Any]:
    """The filtered, ordered statement of a page (module doc)."""
    associated = aliased(Network)
    range_network = aliased(Network)
    stmt = (
        select(
            UserIpAddress.id,
            UserIpAddress.uuid,
            UserIpAddress.public_ip_address,
            UserIpAddress.allocated,
            UserIpAddress.source_nat,
            UserIpAddress.is_system,
            UserIpAddress.one_to_one_nat,
            UserIpAddress.state,
            VlanIpRange.uuid.label("vlan_uuid"),
            VlanIpRange.vlan_id.label("vlan_tag"),
            VlanIpRange.vlan_type,
            Zone.uuid.label("zone_uuid"),
            Zone.name.label("zone_name"),
            Account.account_name,
            Domain.uuid.label("domain_uuid"),
            Domain.name.label("domain_name"),
            associated.uuid.label("network_uuid"),
            associated.name.label("network_name"),
            range_network.uuid.label("range_network_uuid"),
            VirtualMachine.uuid.label("vm_uuid"),
            VirtualMachine.name.label("vm_name"),
            VirtualMachine.display_name.label("vm_display_name"),
            PhysicalNetwork.uuid.label("physical_network_uuid"),
        )
        .join(VlanIpRange, VlanIpRange.id == UserIpAddress.vlan_db_id)
        .join(Zone, Zone.id == UserIpAddress.data_center_id)
        .outerjoin(Account, Account.id == UserIpAddress.account_id)
        .outerjoin(Domain, Domain.id == UserIpAddress.domain_id)
        .outerjoin(associated, associated.id == UserIpAddress.associated_with_network_id)
        .outerjoin(range_network, range_network.id == VlanIpRange.network_id)
        .outerjoin(VirtualMachine, VirtualMachine.id == UserIpAddress.vm_id)
        .outerjoin(PhysicalNetwork, PhysicalNetwork.id == UserIpAddress.physical_network_id)
    )
    if not where.unscoped:
        stmt = stmt.where(_scope(ctx, where))
    if where.nothing:
        stmt = stmt.where(false())
    for column, value in (
        (UserIpAddress.id, where.ip_id),
        (UserIpAddress.data_center_id, where.zone_id),
        (UserIpAddress.vlan_db_id, where.vlan_db_id),
        (UserIpAddress.physical_network_id, where.physical_network_id),
        (UserIpAddress.associated_with_network_id, where.network_id),
        (UserIpAddress.source_nat, where.source_nat),
        (UserIpAddress.one_to_one_nat, where.static_nat),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    if where.address is not None:
        stmt = stmt.where(UserIpAddress.public_ip_address == where.address.strip())
    if where.keyword:
        stmt = stmt.where(UserIpAddress.public_ip_address.like(f"%{where.keyword}%"))
    if where.for_virtual_network is not None:
        kind = VlanType.VIRTUAL_NETWORK if where.for_virtual_network else VlanType.DIRECT_ATTACHED
        stmt = stmt.where(VlanIpRange.vlan_type == kind.value)
    if where.for_load_balancing is not None:
        balanced = exists().where(
            NetworkRule.ip_address_id == UserIpAddress.id,
            NetworkRule.purpose == Purpose.LOAD_BALANCING.value,
        )
        stmt = stmt.where(balanced if where.for_load_balancing else ~balanced)
    return cast("Select[Any]", stmt.order_by(UserIpAddress.ip_num, UserIpAddress.id))


def list_ips(
    session: Session,
    ctx: CallContext,
    where: IpFilter,
    *,
    page: int | None,
    pagesize: int | None,
    max_page_size: int,
) -> tuple[list[Any], int]:
    """One page of addresses and the total (one statement)."""
    rows, total = fetch_rows(
        session,
        statement(ctx, where),
        page=page,
        pagesize=pagesize,
        max_page_size=max_page_size,
    )
    return list(rows), total
