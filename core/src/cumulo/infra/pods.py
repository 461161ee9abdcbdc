"""Pods: create, update, delete and list (CAP-11, REQ-POD-02, REQ-OM-17/18).

A pod is one subnet (``gateway`` + ``netmask``) with a reserved system range
(``startip``-``endip``) for system VMs. The reserved range must lie in the pod's
subnet and be unique across the whole cloud (REQ-OM-18): two pods, in any zones, never
share a reserved address. The check is one indexed range query on the integer ends.
"""

from __future__ import annotations

import importlib
from typing import Any, cast

from sqlalchemy import Select, exists, or_, select
from sqlalchemy.orm import Session

from cumulo import events
from cumulo.db.base import utcnow
from cumulo.db.listing import fetch_page
from cumulo.infra import ipv4
from cumulo.infra.models import AllocationState, Pod, StorageNetworkIpRange, VlanIpRange, Zone
from cumulo.infra.rules import allocation_state
from cumulo.sdk.api import Call
from cumulo.sdk.errors import InternalError, InvalidParameterValue


def _validate(
    session: Session,
    zone: Zone,
    *,
    name: str,
    gateway: str,
    netmask: str,
    startip: str,
    endip: str | None,
    pod_id: int | None = None,
) -> tuple[int, int, int, int]:
    """``(cidr start, prefix, reserved start, reserved end)`` or a 431."""
    clash = select(Pod.id).where(
        Pod.data_center_id == zone.id, Pod.name == name, Pod.removed.is_(None)
    )
    if pod_id is not None:
        clash = clash.where(Pod.id != pod_id)
    if session.scalar(clash) is not None:
        raise InvalidParameterValue(f"A pod with name {name} already exists in zone {zone.name}")
    gateway_num = ipv4.address(gateway, "gateway")
    prefix = ipv4.prefix_of(netmask)
    subnet = ipv4.network_of(gateway_num, prefix)
    first = ipv4.address(startip, "startip")
    # 4.1: without endip the range runs to the last host address of the subnet.
    last = ipv4.address(endip, "endip") if endip else int(subnet.broadcast_address) - 1
    if last < first:
        raise InvalidParameterValue("endip must not be lower than startip")
    ipv4.check_in_subnet(subnet, first, last, "reserved system range startip-endip")
    if first <= gateway_num <= last:
        raise InvalidParameterValue("The gateway must not be part of the range startip-endip")
    if zone.guest_network_cidr:
        guest = ipv4.cidr(zone.guest_network_cidr, "guestcidraddress")
        if guest.overlaps(subnet):
            raise InvalidParameterValue(
                f"The pod subnet {subnet} (gateway, netmask) overlaps the zone's guest CIDR {guest}"
            )
    others = select(Pod).where(Pod.removed.is_(None))
    if pod_id is not None:
        others = others.where(Pod.id != pod_id)
    # REQ-OM-18: reserved addresses are unique across the cloud, whatever the zone.
    overlap = session.scalars(
        others.where(Pod.reserved_start_num <= last, Pod.reserved_end_num >= first).limit(1)
    ).first()
    if overlap is not None:
        raise InvalidParameterValue(
            f"The reserved system range startip-endip overlaps the range {overlap.description}"
            f" of pod {overlap.name}; reserved IP addresses must be unique across the cloud"
        )
    # REQ-OM-18, the other way round from storage_network._check_overlaps: the reserved
    # range may not take addresses a storage network range (any pod, any zone) has.
    storage = session.scalars(
        select(StorageNetworkIpRange)
        .where(StorageNetworkIpRange.start_num <= last, StorageNetworkIpRange.end_num >= first)
        .limit(1)
    ).first()
    if storage is not None:
        raise InvalidParameterValue(
            f"The reserved system range startip-endip overlaps the storage network range"
            f" {storage.start_ip}-{storage.end_ip}; reserved IP addresses must be unique across"
            " the cloud (REQ-OM-18)"
        )
    # Pods of a zone are separate subnets (separate broadcast domains).
    for other in session.scalars(others.where(Pod.data_center_id == zone.id)):
        if ipv4.network_of(ipv4.address(other.cidr_address, "cidr"), other.cidr_size).overlaps(
            subnet
        ):
            raise InvalidParameterValue(
                f"The pod subnet {subnet} (gateway, netmask) overlaps pod {other.name}'s subnet"
            )
    return int(subnet.network_address), prefix, first, last


def create_pod(
    call: Call,
    zone: Zone,
    *,
    name: str,
    gateway: str,
    netmask: str,
    startip: str,
    endip: str | None = None,
    allocationstate: str | None = None,
) -> Pod:
    """Create a pod in ``zone`` (enabled unless ``allocationstate`` says otherwise)."""
    session = call.session
    network, prefix, first, last = _validate(
        session, zone, name=name, gateway=gateway, netmask=netmask, startip=startip, endip=endip
    )
    pod = Pod(
        name=name,
        data_center_id=zone.id,
        gateway=gateway.strip(),
        cidr_address=ipv4.dotted(network),
        cidr_size=prefix,
        description=f"{ipv4.dotted(first)}-{ipv4.dotted(last)}",
        reserved_start_num=first,
        reserved_end_num=last,
        allocation_state=allocation_state(allocationstate, AllocationState.ENABLED.value),
    )
    session.add(pod)
    session.flush()
    events.record(
        call, "POD.CREATE", f"Created pod {name}", resource_type="Pod", resource_uuid=pod.uuid
    )
    return pod


def update_pod(call: Call, pod: Pod, zone: Zone, changes: dict[str, Any]) -> Pod:
    """Change a pod's name, subnet, reserved range or allocation state; the result is
    validated exactly as a new pod."""
    start, _, end = (pod.description or "-").partition("-")
    name = changes.get("name") or pod.name
    gateway = changes.get("gateway") or pod.gateway
    netmask = changes.get("netmask") or ipv4.netmask_of(pod.cidr_size)
    startip = changes.get("startip") or start
    endip = changes.get("endip") or end
    network, prefix, first, last = _validate(
        call.session,
        zone,
        name=name,
        gateway=gateway,
        netmask=netmask,
        startip=startip,
        endip=endip,
        pod_id=pod.id,
    )
    pod.name, pod.gateway = name, gateway.strip()
    pod.cidr_address, pod.cidr_size = ipv4.dotted(network), prefix
    pod.description = f"{ipv4.dotted(first)}-{ipv4.dotted(last)}"
    pod.reserved_start_num, pod.reserved_end_num = first, last
    state = allocation_state(changes.get("allocationstate"))
    if state is not None:
        pod.allocation_state = state
    call.session.flush()
    events.record(
        call, "POD.EDIT", f"Updated pod {pod.name}", resource_type="Pod", resource_uuid=pod.uuid
    )
    return pod


def _has_hosts_or_clusters(session: Session, pod: Pod) -> str | None:
    # Clusters and hosts are the hosts engineer's tables, in a module that may not be
    # there yet; their presence is checked only when it is.
    try:
        models = importlib.import_module("cumulo.infra.hosts.models")
    except ImportError:
        return None
    for what in ("Host", "Cluster"):
        model = getattr(models, what, None)
        if model is None:
            continue
        query = select(model.id).where(model.pod_id == pod.id)
        if hasattr(model, "removed"):
            query = query.where(model.removed.is_(None))
        if session.scalar(select(exists(query))):
            return what.lower() + "s"
    return None


def delete_pod(call: Call, pod: Pod) -> None:
    """Soft-delete a pod that holds no clusters, hosts, IP ranges or storage ranges."""
    session = call.session
    blocker = _has_hosts_or_clusters(session, pod)
    if blocker is None and session.scalar(
        select(exists(select(VlanIpRange.id).where(VlanIpRange.pod_id == pod.id)))
    ):
        blocker = "guest IP ranges"
    if blocker is None and session.scalar(
        select(
            exists(select(StorageNetworkIpRange.id).where(StorageNetworkIpRange.pod_id == pod.id))
        )
    ):
        blocker = "storage network IP ranges"
    if blocker is not None:
        raise InternalError(f"The pod is not deletable because there are {blocker} in this pod")
    pod.removed = utcnow()
    session.flush()
    events.record(
        call, "POD.DELETE", f"Deleted pod {pod.name}", resource_type="Pod", resource_uuid=pod.uuid
    )


def list_pods(
    session: Session,
    *,
    pod: Pod | None = None,
    zone: Zone | None = None,
    name: str | None = None,
    allocationstate: str | None = None,
    keyword: str | None = None,
    page: int | None = None,
    pagesize: int | None = None,
    max_page_size: int = 500,
) -> tuple[list[tuple[Pod, Zone]], int]:
    """One page of live pods with their zones, and the total, in one statement."""
    stmt = select(Pod, Zone).join(Zone, Zone.id == Pod.data_center_id).where(Pod.removed.is_(None))
    if pod is not None:
        stmt = stmt.where(Pod.id == pod.id)
    if zone is not None:
        stmt = stmt.where(Pod.data_center_id == zone.id)
    if name is not None:
        stmt = stmt.where(Pod.name == name)
    state = allocation_state(allocationstate)
    if state is not None:
        stmt = stmt.where(Pod.allocation_state == state)
    if keyword:
        stmt = stmt.where(or_(Pod.name.like(f"%{keyword}%")))
    rows, total = fetch_page(
        session,
        cast("Select[Any]", stmt.order_by(Pod.id)),
        page=page,
        pagesize=pagesize,
        max_page_size=max_page_size,
    )
    return [(row[0], row[1]) for row in rows], total
