"""Storage network IP ranges: the addresses a pod's secondary storage VM takes on its
storage NIC when Storage traffic has a network of its own (REQUIREMENTS §2.3, A-04,
A-32; 4.1's ``StorageNetworkManagerImpl``).

A range belongs to one pod and, through it, to the pod's zone. Rules, each a 431:

- the pod's zone has a physical network carrying Storage traffic (4.1: "Cannot find
  storage network in zone");
- ``startip``..``endip`` (``endip`` defaults to ``startip``, as 4.1) lies in the subnet
  of ``gateway``/``netmask`` and does not contain the gateway;
- the range overlaps no pod's reserved system range and no other storage range, in any
  zone (REQ-OM-18: reserved addresses are unique across the cloud; 4.1 checked only the
  range's own pod, which let two pods hand out one address);
- ``vlan``, when given, is a tag 1..4094 outside the carrying physical network's guest
  VLAN range (guest VLANs are handed to accounts; a storage VLAN among them would be
  given away).

The overlap checks are range queries on the integer ends (``start_num``/``end_num``).
4.1 also keeps one row per address (``op_dc_storage_network_ip_address``) for the
secondary storage VM to take; that table comes with the system VMs, and until then no
address of a range can be in use, so update and delete need no in-use check yet.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from cumulo import events
from cumulo.db.listing import fetch_page
from cumulo.infra import ipv4
from cumulo.infra.models import (
    PhysicalNetwork,
    PhysicalNetworkTrafficType,
    Pod,
    StorageNetworkIpRange,
    TrafficType,
    Zone,
)
from cumulo.infra.physical_networks import MAX_VLAN, vlan_ranges
from cumulo.sdk.api import Call
from cumulo.sdk.errors import InvalidParameterValue


def storage_carrier(session: Session, zone: Zone) -> PhysicalNetwork:
    """The physical network of ``zone`` carrying Storage traffic (one at most per zone,
    REQ-OM-14).

    :raises InvalidParameterValue: the zone has none.
    """
    found = session.scalars(
        select(PhysicalNetwork)
        .join(
            PhysicalNetworkTrafficType,
            PhysicalNetworkTrafficType.physical_network_id == PhysicalNetwork.id,
        )
        .where(
            PhysicalNetwork.data_center_id == zone.id,
            PhysicalNetwork.removed.is_(None),
            PhysicalNetworkTrafficType.traffic_type == TrafficType.STORAGE.value,
        )
    ).first()
    if found is None:
        raise InvalidParameterValue(
            f"podid: zone {zone.name} of the pod has no physical network carrying Storage"
            " traffic; add the Storage traffic type first"
        )
    return found


def _check_vlan(vlan: int | None, carrier: PhysicalNetwork) -> None:
    if vlan is None:
        return
    if not 1 <= vlan <= MAX_VLAN:
        raise InvalidParameterValue(f"The vlan tag {vlan} (vlan) must lie in 1-{MAX_VLAN}")
    for first, last in vlan_ranges(carrier.vnet) if carrier.vnet else []:
        if first <= vlan <= last:
            raise InvalidParameterValue(
                f"The vlan tag {vlan} (vlan) is in the guest VLAN range {carrier.vnet} of"
                f" physical network {carrier.name}"
            )


def _check_overlaps(session: Session, first: int, last: int, range_id: int | None) -> None:
    """REQ-OM-18: no pod's reserved range and no other storage range, cloud-wide."""
    pod = session.scalars(
        select(Pod)
        .where(Pod.removed.is_(None), Pod.reserved_start_num <= last, Pod.reserved_end_num >= first)
        .limit(1)
    ).first()
    if pod is not None:
        raise InvalidParameterValue(
            f"The storage network range startip-endip overlaps the reserved system range"
            f" {pod.description} of pod {pod.name}; reserved IP addresses must be unique"
            " across the cloud"
        )
    others = select(StorageNetworkIpRange).where(
        StorageNetworkIpRange.start_num <= last, StorageNetworkIpRange.end_num >= first
    )
    if range_id is not None:
        others = others.where(StorageNetworkIpRange.id != range_id)
    clash = session.scalars(others.limit(1)).first()
    if clash is not None:
        raise InvalidParameterValue(
            f"The storage network range startip-endip overlaps the storage network range"
            f" {clash.start_ip}-{clash.end_ip}; reserved IP addresses must be unique across"
            " the cloud"
        )


def _validate(
    session: Session,
    *,
    startip: str,
    endip: str | None,
    gateway: str,
    netmask: str,
    vlan: int | None,
    carrier: PhysicalNetwork,
    range_id: int | None = None,
) -> tuple[int, int]:
    """``(first, last)`` address numbers of a valid range, or a 431."""
    first, last = ipv4.ip_range(startip, endip)
    gateway_num = ipv4.address(gateway, "gateway")
    subnet = ipv4.network_of(gateway_num, ipv4.prefix_of(netmask))
    ipv4.check_in_subnet(subnet, first, last, "storage network range startip-endip")
    if first <= gateway_num <= last:
        raise InvalidParameterValue("The gateway must not be part of the range startip-endip")
    _check_vlan(vlan, carrier)
    _check_overlaps(session, first, last, range_id)
    return first, last


def create_range(
    call: Call,
    pod: Pod,
    *,
    startip: str,
    endip: str | None,
    gateway: str,
    netmask: str,
    vlan: int | None = None,
) -> StorageNetworkIpRange:
    """Create a storage network range for ``pod`` in the pod's zone.

    :raises InvalidParameterValue: any rule of the module docstring.
    """
    session = call.session
    zone = session.get_one(Zone, pod.data_center_id)
    carrier = storage_carrier(session, zone)
    first, last = _validate(
        session,
        startip=startip,
        endip=endip,
        gateway=gateway,
        netmask=netmask,
        vlan=vlan,
        carrier=carrier,
    )
    row = StorageNetworkIpRange(
        start_ip=ipv4.dotted(first),
        end_ip=ipv4.dotted(last),
        start_num=first,
        end_num=last,
        vlan=vlan,
        netmask=netmask.strip(),
        gateway=gateway.strip(),
        data_center_id=zone.id,
        pod_id=pod.id,
        # 4.1 points at the zone's Storage system network (a ``networks`` row); guest and
        # system networks come with a later issue, so there is none to point at yet.
        network_id=None,
    )
    session.add(row)
    session.flush()
    events.record(
        call,
        "STORAGE.IP.RANGE.CREATE",
        f"Created storage network IP range {row.start_ip}-{row.end_ip} in pod {pod.name}",
        resource_type="StorageNetworkIpRange",
        resource_uuid=row.uuid,
    )
    return row


def update_range(
    call: Call,
    row: StorageNetworkIpRange,
    *,
    startip: str | None = None,
    endip: str | None = None,
    netmask: str | None = None,
    vlan: int | None = None,
) -> StorageNetworkIpRange:
    """Change a range's ends, netmask or VLAN (absent values stay); the result is
    validated exactly as a new range, against every range but itself."""
    session = call.session
    zone = session.get_one(Zone, row.data_center_id)
    new_vlan = vlan if vlan is not None else row.vlan
    new_netmask = netmask if netmask is not None else row.netmask
    first, last = _validate(
        session,
        startip=startip or row.start_ip,
        endip=endip or row.end_ip,
        gateway=row.gateway,
        netmask=new_netmask,
        vlan=new_vlan,
        carrier=storage_carrier(session, zone),
        range_id=row.id,
    )
    row.start_ip, row.end_ip = ipv4.dotted(first), ipv4.dotted(last)
    row.start_num, row.end_num = first, last
    row.netmask, row.vlan = new_netmask.strip(), new_vlan
    session.flush()
    events.record(
        call,
        "STORAGE.IP.RANGE.UPDATE",
        f"Updated storage network IP range to {row.start_ip}-{row.end_ip}",
        resource_type="StorageNetworkIpRange",
        resource_uuid=row.uuid,
    )
    return row


def delete_range(call: Call, row: StorageNetworkIpRange) -> None:
    """Delete a range. The row goes (4.1 removes it too), so its pod becomes deletable."""
    call.session.delete(row)
    call.session.flush()
    events.record(
        call,
        "STORAGE.IP.RANGE.DELETE",
        f"Deleted storage network IP range {row.start_ip}-{row.end_ip}",
        resource_type="StorageNetworkIpRange",
        resource_uuid=row.uuid,
    )


RangeRow = tuple[StorageNetworkIpRange, Pod, Zone]


def list_ranges(
    session: Session,
    *,
    range_id: int | None = None,
    pod_id: int | None = None,
    zone_id: int | None = None,
    keyword: str | None = None,
    page: int | None = None,
    pagesize: int | None = None,
    max_page_size: int = 500,
) -> tuple[list[RangeRow], int]:
    """One page of ranges with their pods and zones, and the total, in one statement.

    As 4.1, the most specific filter given wins: the range id, else the pod, else the
    zone. ``keyword`` matches either end address.
    """
    stmt = (
        select(StorageNetworkIpRange, Pod, Zone)
        .join(Pod, Pod.id == StorageNetworkIpRange.pod_id)
        .join(Zone, Zone.id == StorageNetworkIpRange.data_center_id)
    )
    if range_id is not None:
        stmt = stmt.where(StorageNetworkIpRange.id == range_id)
    elif pod_id is not None:
        stmt = stmt.where(StorageNetworkIpRange.pod_id == pod_id)
    elif zone_id is not None:
        stmt = stmt.where(StorageNetworkIpRange.data_center_id == zone_id)
    if keyword:
        pattern = f"%{keyword}%"
        stmt = stmt.where(
            StorageNetworkIpRange.start_ip.like(pattern)
            | StorageNetworkIpRange.end_ip.like(pattern)
        )
    rows, total = fetch_page(
        session,
        cast("Select[Any]", stmt.order_by(StorageNetworkIpRange.id)),
        page=page,
        pagesize=pagesize,
        max_page_size=max_page_size,
    )
    return [(r[0], r[1], r[2]) for r in rows], total
