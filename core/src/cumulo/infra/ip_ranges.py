"""VLAN IP ranges: public ranges and basic-zone per-pod guest ranges
(REQ-ZONE-07, REQ-ZONE-08, REQ-OM-15).

- ``forvirtualnetwork`` true (the default): a public range of the zone, on the physical
  network carrying Public traffic (advanced zones, or basic zones set up for EIP).
  Public addresses of different zones never overlap (REQ-ZONE-08).
- ``forvirtualnetwork`` false in a basic zone: a pod's guest range, inside the pod's
  subnet (REQ-ZONE-07) unless Guest traffic has its own NIC (its labels differ from
  Management's).

Every address of a range becomes a ``user_ip_address`` row, all inserted by one
``executemany`` so that allocation later is a query over free rows.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Select, delete, exists, insert, or_, select
from sqlalchemy.orm import Session

from cumulo import events
from cumulo.accounts.models import Account, Domain
from cumulo.db.base import new_uuid
from cumulo.db.listing import fetch_page
from cumulo.infra import ipv4
from cumulo.infra.models import (
    IpState,
    NetworkType,
    PhysicalNetwork,
    PhysicalNetworkTrafficType,
    Pod,
    TrafficType,
    UserIpAddress,
    VlanIpRange,
    VlanType,
    Zone,
)
from cumulo.infra.physical_networks import vlan_ranges
from cumulo.sdk.api import Call
from cumulo.sdk.errors import InvalidParameterValue

UNTAGGED = "untagged"


def _carrier(session: Session, zone: Zone, traffic: str) -> PhysicalNetwork | None:
    return session.scalars(
        select(PhysicalNetwork)
        .join(
            PhysicalNetworkTrafficType,
            PhysicalNetworkTrafficType.physical_network_id == PhysicalNetwork.id,
        )
        .where(
            PhysicalNetwork.data_center_id == zone.id,
            PhysicalNetwork.removed.is_(None),
            PhysicalNetworkTrafficType.traffic_type == traffic,
        )
    ).first()


def _separate_guest_nic(session: Session, network: PhysicalNetwork) -> bool:
    """Guest traffic has a NIC of its own: some hypervisor label differs from
    Management's (then the guest range may be in another subnet, Seed §6.3.1 step 7)."""
    rows = {
        row.traffic_type: row
        for row in session.scalars(
            select(PhysicalNetworkTrafficType).where(
                PhysicalNetworkTrafficType.physical_network_id == network.id
            )
        )
    }
    guest, management = rows.get(TrafficType.GUEST), rows.get(TrafficType.MANAGEMENT)
    if guest is None or management is None:
        return False
    columns = ("xen_network_label", "kvm_network_label", "vmware_network_label")
    return any(getattr(guest, c) and getattr(guest, c) != getattr(management, c) for c in columns)


def _vlan_tag(value: str | None, network: PhysicalNetwork | None) -> str:
    if not value or value.lower() == UNTAGGED:
        return UNTAGGED
    try:
        tag = int(value.removeprefix("vlan://"))
    except ValueError:
        raise InvalidParameterValue(f"Please specify a valid vlan tag for vlan: {value}") from None
    if not 1 <= tag <= 4094:
        raise InvalidParameterValue(f"The vlan tag {tag} (vlan) must lie in 1-4094")
    if network is not None and network.vnet:
        for first, last in vlan_ranges(network.vnet):
            if first <= tag <= last:
                raise InvalidParameterValue(
                    f"The vlan tag {tag} (vlan) is in the guest VLAN range {network.vnet} of"
                    f" physical network {network.name}"
                )
    return str(tag)


def _check_overlaps(session: Session, zone: Zone, public: bool, first: int, last: int) -> None:
    scope = VlanIpRange.data_center_id == zone.id
    if public:
        # REQ-ZONE-08: public addresses are unique across zones too.
        scope = or_(scope, VlanIpRange.vlan_type == VlanType.VIRTUAL_NETWORK.value)
    clash = session.scalars(
        select(VlanIpRange)
        .where(VlanIpRange.start_num <= last, VlanIpRange.end_num >= first, scope)
        .limit(1)
    ).first()
    if clash is not None:
        raise InvalidParameterValue(
            f"The IP range startip-endip overlaps the range {clash.description}"
            + ("" if clash.data_center_id == zone.id else " of another zone")
        )
    pod = session.scalars(
        select(Pod)
        .where(Pod.removed.is_(None), Pod.reserved_start_num <= last, Pod.reserved_end_num >= first)
        .limit(1)
    ).first()
    if pod is not None:
        raise InvalidParameterValue(
            f"The IP range startip-endip overlaps the reserved system range of pod {pod.name}"
        )


def create_vlan_ip_range(
    call: Call,
    zone: Zone,
    *,
    pod: Pod | None,
    gateway: str | None,
    netmask: str | None,
    startip: str | None,
    endip: str | None,
    vlan: str | None,
    forvirtualnetwork: bool,
    account: Account | None = None,
    domain: Domain | None = None,
) -> VlanIpRange:
    """Create a range and one ``user_ip_address`` row per address."""
    session = call.session
    for value, param in ((startip, "startip"), (gateway, "gateway"), (netmask, "netmask")):
        if not value:
            raise InvalidParameterValue(f"Please specify {param} for the IP range")
    assert startip and gateway and netmask
    first, last = ipv4.ip_range(startip, endip)
    subnet = ipv4.network_of(ipv4.address(gateway, "gateway"), ipv4.prefix_of(netmask))
    ipv4.check_in_subnet(subnet, first, last, "IP range startip-endip (gateway, netmask)")
    if forvirtualnetwork:
        network = _carrier(session, zone, TrafficType.PUBLIC)
        if network is None:
            raise InvalidParameterValue(
                f"zoneid: zone {zone.name} has no physical network carrying Public traffic"
            )
        if pod is not None:
            raise InvalidParameterValue("podid applies to guest (direct) ranges only")
        kind = VlanType.VIRTUAL_NETWORK
    else:
        if zone.networktype != NetworkType.BASIC:
            raise InvalidParameterValue(
                "networkid: a direct IP range of an advanced zone belongs to a guest network"
            )
        if pod is None:
            raise InvalidParameterValue("podid is required for a guest IP range in a basic zone")
        if pod.data_center_id != zone.id:
            raise InvalidParameterValue("podid: the pod is not in zone zoneid")
        network = _carrier(session, zone, TrafficType.GUEST)
        if network is None:
            raise InvalidParameterValue(
                f"zoneid: zone {zone.name} has no physical network carrying Guest traffic"
            )
        pod_subnet = ipv4.network_of(ipv4.address(pod.cidr_address, "cidr"), pod.cidr_size)
        if not _separate_guest_nic(session, network):
            # REQ-ZONE-07: with one NIC, guests share the pod's subnet.
            ipv4.check_in_subnet(pod_subnet, first, last, "guest IP range startip-endip")
        kind = VlanType.DIRECT_ATTACHED
    tag = _vlan_tag(vlan, network)
    _check_overlaps(session, zone, kind == VlanType.VIRTUAL_NETWORK, first, last)
    row = VlanIpRange(
        vlan_id=tag,
        vlan_gateway=gateway.strip(),
        vlan_netmask=netmask.strip(),
        description=f"{ipv4.dotted(first)}-{ipv4.dotted(last)}",
        vlan_type=kind.value,
        data_center_id=zone.id,
        physical_network_id=network.id,
        pod_id=pod.id if pod is not None else None,
        account_id=account.id if account is not None else None,
        domain_id=domain.id if domain is not None else None,
        start_num=first,
        end_num=last,
    )
    session.add(row)
    session.flush()
    if kind == VlanType.DIRECT_ATTACHED:
        # REQ-GN-17: the basic zone's one guest network (created with its first range),
        # which listNetworks shows and the VMs' NICs belong to.
        from cumulo.network.networks.basic import ensure_basic_network

        row.network_id = ensure_basic_network(session, zone)
    # Set-based: one executemany for every address of the range.
    session.execute(
        insert(UserIpAddress),
        [
            {
                "uuid": new_uuid(),
                "public_ip_address": ipv4.dotted(number),
                "ip_num": number,
                "data_center_id": zone.id,
                "vlan_db_id": row.id,
                "physical_network_id": network.id,
                "state": IpState.FREE.value,
            }
            for number in range(first, last + 1)
        ],
    )
    events.record(
        call,
        "VLAN.IP.RANGE.CREATE",
        f"Created IP range {row.description} in zone {zone.name}",
        resource_type="VlanIpRange",
        resource_uuid=row.uuid,
    )
    return row


def delete_vlan_ip_range(call: Call, row: VlanIpRange) -> None:
    """Delete a range none of whose addresses is in use."""
    session = call.session
    used = select(UserIpAddress.id).where(
        UserIpAddress.vlan_db_id == row.id, UserIpAddress.state != IpState.FREE.value
    )
    if session.scalar(select(exists(used))):
        raise InvalidParameterValue(
            "The IP range (id) can't be deleted because it has allocated IP addresses"
        )
    session.execute(delete(UserIpAddress).where(UserIpAddress.vlan_db_id == row.id))
    session.delete(row)
    session.flush()
    events.record(
        call,
        "VLAN.IP.RANGE.DELETE",
        f"Deleted IP range {row.description}",
        resource_type="VlanIpRange",
        resource_uuid=row.uuid,
    )


RangeRow = tuple[
    VlanIpRange, Zone, Pod | None, PhysicalNetwork | None, Account | None, Domain | None
]


def list_vlan_ip_ranges(
    session: Session,
    *,
    filters: dict[str, Any],
    keyword: str | None = None,
    page: int | None = None,
    pagesize: int | None = None,
    max_page_size: int = 500,
) -> tuple[list[RangeRow], int]:
    """One page of ranges with zone, pod, physical network, account and domain: one
    statement. ``filters``: column name of :class:`VlanIpRange` → value."""
    stmt = (
        select(VlanIpRange, Zone, Pod, PhysicalNetwork, Account, Domain)
        .join(Zone, Zone.id == VlanIpRange.data_center_id)
        .outerjoin(Pod, Pod.id == VlanIpRange.pod_id)
        .outerjoin(PhysicalNetwork, PhysicalNetwork.id == VlanIpRange.physical_network_id)
        .outerjoin(Account, Account.id == VlanIpRange.account_id)
        .outerjoin(Domain, Domain.id == VlanIpRange.domain_id)
    )
    for column, value in filters.items():
        stmt = stmt.where(getattr(VlanIpRange, column) == value)
    if keyword:
        stmt = stmt.where(VlanIpRange.description.like(f"%{keyword}%"))
    rows, total = fetch_page(
        session,
        cast("Select[Any]", stmt.order_by(VlanIpRange.id)),
        page=page,
        pagesize=pagesize,
        max_page_size=max_page_size,
    )
    return [(r[0], r[1], r[2], r[3], r[4], r[5]) for r in rows], total
