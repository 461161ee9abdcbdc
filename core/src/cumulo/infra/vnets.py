"""Guest VLANs of a physical network as rows (4.1 ``op_dc_vnet_alloc``).

A physical network's ``vnet`` text (``"100-199,300"``) is what the operator typed;
:func:`sync_vnets` keeps one :class:`~cumulo.infra.models.VnetAllocation` row per VLAN
id of those ranges, set-based (one multi-row ``INSERT`` for the VLANs added, one
``DELETE`` for those dropped), so that capacity (``listCapacity`` type 7) is a count and
allocation later a conditional ``UPDATE``. Shrinking the ranges under a VLAN a guest
network holds is refused, as 4.1's ``updatePhysicalNetwork`` refuses it.
"""

from __future__ import annotations

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from cumulo.infra.models import PhysicalNetwork, VnetAllocation
from cumulo.sdk.errors import InvalidParameterValue

CHUNK = 5_000
"""VLAN ids per statement (a network has at most 4094)."""


def sync_vnets(session: Session, network: PhysicalNetwork, ranges: list[tuple[int, int]]) -> None:
    """Make ``network``'s VLAN rows exactly the ids of ``ranges`` (already validated).

    :raises InvalidParameterValue: a VLAN being dropped is taken by a guest network (431
        naming ``vlan``).
    """
    wanted = {str(vlan) for first, last in ranges for vlan in range(first, last + 1)}
    rows = session.execute(
        select(VnetAllocation.vnet, VnetAllocation.taken).where(
            VnetAllocation.physical_network_id == network.id
        )
    ).all()
    present = {row.vnet for row in rows}
    dropped = present - wanted
    busy = sorted((row.vnet for row in rows if row.vnet in dropped and row.taken), key=int)
    if busy:
        raise InvalidParameterValue(
            f"Invalid parameter vlan: VLAN(s) {', '.join(busy[:10])} of physical network"
            f" {network.name} are in use by guest networks; keep them in the ranges"
        )
    added = sorted(wanted - present, key=int)
    for start in range(0, len(added), CHUNK):
        session.execute(
            insert(VnetAllocation),
            [
                {
                    "vnet": vlan,
                    "physical_network_id": network.id,
                    "data_center_id": network.data_center_id,
                }
                for vlan in added[start : start + CHUNK]
            ],
        )
    gone = sorted(dropped, key=int)
    for start in range(0, len(gone), CHUNK):
        session.execute(
            delete(VnetAllocation).where(
                VnetAllocation.physical_network_id == network.id,
                VnetAllocation.vnet.in_(gone[start : start + CHUNK]),
            )
        )


def drop_vnets(session: Session, network: PhysicalNetwork) -> None:
    """Forget every VLAN row of a physical network being deleted."""
    session.execute(delete(VnetAllocation).where(VnetAllocation.physical_network_id == network.id))
