"""Traffic types on physical networks, with per-hypervisor labels (REQ-ZONE-05/06,
REQ-OM-13/14).

Valid combinations (REQ-ZONE-05, REQ-OM-14): a physical network carries a traffic type
at most once, and within a zone Management, Public and Storage traffic are each carried
by one physical network only; Guest traffic may be spread over several physical
networks of an advanced zone. Labels are kept per traffic type, per physical network,
per hypervisor (REQ-ZONE-06): setting the KVM label leaves the XenServer one alone.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Select, exists, select
from sqlalchemy.orm import Session

from cumulo import events
from cumulo.db.listing import fetch_page
from cumulo.infra.models import PhysicalNetwork, PhysicalNetworkTrafficType, TrafficType
from cumulo.infra.rules import choice
from cumulo.sdk.api import Call
from cumulo.sdk.errors import InvalidParameterValue

LABELS = {
    "xennetworklabel": "xen_network_label",
    "kvmnetworklabel": "kvm_network_label",
    "vmwarenetworklabel": "vmware_network_label",
}
"""Parameter → column of each hypervisor's label (4.1 has no simulator parameter; the
simulator's column is set by plugins directly)."""


def add_traffic_type(
    call: Call,
    network: PhysicalNetwork,
    *,
    traffictype: str,
    labels: dict[str, str | None],
    vlan: str | None = None,
) -> PhysicalNetworkTrafficType:
    """Let ``network`` carry ``traffictype`` with the given labels (param → label)."""
    session = call.session
    kind = choice(traffictype, tuple(t.value for t in TrafficType), "traffictype")
    same_network = select(PhysicalNetworkTrafficType.id).where(
        PhysicalNetworkTrafficType.physical_network_id == network.id,
        PhysicalNetworkTrafficType.traffic_type == kind,
    )
    if session.scalar(select(exists(same_network))):
        raise InvalidParameterValue(
            f"This physical network already carries the traffic type {kind} (traffictype)"
        )
    if kind != TrafficType.GUEST:
        in_zone = (
            select(PhysicalNetworkTrafficType.id)
            .join(
                PhysicalNetwork,
                PhysicalNetwork.id == PhysicalNetworkTrafficType.physical_network_id,
            )
            .where(
                PhysicalNetwork.data_center_id == network.data_center_id,
                PhysicalNetwork.removed.is_(None),
                PhysicalNetworkTrafficType.traffic_type == kind,
            )
        )
        if session.scalar(select(exists(in_zone))):
            raise InvalidParameterValue(
                f"Cannot add traffic type {kind} (traffictype): another physical network of"
                " the zone already carries it"
            )
    row = PhysicalNetworkTrafficType(physical_network_id=network.id, traffic_type=kind, vlan=vlan)
    _set_labels(row, labels)
    session.add(row)
    session.flush()
    events.record(
        call,
        "TRAFFIC.TYPE.CREATE",
        f"Added traffic type {kind} to physical network {network.name}",
        resource_type="TrafficType",
        resource_uuid=row.uuid,
    )
    return row


def _set_labels(row: PhysicalNetworkTrafficType, labels: dict[str, str | None]) -> None:
    for param, value in labels.items():
        if value is not None:
            # An empty value clears that hypervisor's label only (REQ-ZONE-06).
            setattr(row, LABELS[param], value or None)


def update_traffic_type(
    call: Call, row: PhysicalNetworkTrafficType, labels: dict[str, str | None]
) -> PhysicalNetworkTrafficType:
    """Set the labels given; the other hypervisors' labels stay (REQ-ZONE-06)."""
    _set_labels(row, labels)
    call.session.flush()
    events.record(
        call,
        "TRAFFIC.TYPE.UPDATE",
        f"Updated traffic type {row.traffic_type}",
        resource_type="TrafficType",
        resource_uuid=row.uuid,
    )
    return row


def delete_traffic_type(call: Call, row: PhysicalNetworkTrafficType) -> None:
    """Stop carrying a traffic type on its physical network."""
    call.session.delete(row)
    call.session.flush()
    events.record(
        call,
        "TRAFFIC.TYPE.DELETE",
        f"Deleted traffic type {row.traffic_type}",
        resource_type="TrafficType",
        resource_uuid=row.uuid,
    )


def find_traffic_type(
    session: Session, value: object, param: str = "id"
) -> PhysicalNetworkTrafficType:
    """The traffic type ``value`` (UUID) names; 431 naming ``param`` if none."""
    from cumulo.accounts.lookup import invalid_id

    found = session.scalars(
        select(PhysicalNetworkTrafficType).where(PhysicalNetworkTrafficType.uuid == str(value))
    ).first()
    if found is None:
        raise invalid_id(param, value)
    return found


def list_traffic_types(
    session: Session,
    network: PhysicalNetwork,
    *,
    keyword: str | None = None,
    page: int | None = None,
    pagesize: int | None = None,
    max_page_size: int = 500,
) -> tuple[list[PhysicalNetworkTrafficType], int]:
    """One page of ``network``'s traffic types, in one statement."""
    stmt = select(PhysicalNetworkTrafficType).where(
        PhysicalNetworkTrafficType.physical_network_id == network.id
    )
    if keyword:
        stmt = stmt.where(PhysicalNetworkTrafficType.traffic_type.like(f"%{keyword}%"))
    rows, total = fetch_page(
        session,
        cast("Select[Any]", stmt.order_by(PhysicalNetworkTrafficType.id)),
        page=page,
        pagesize=pagesize,
        max_page_size=max_page_size,
    )
    return [row[0] for row in rows], total
