"""Guest VLANs for networks: taken from and given back to the physical network's
``op_dc_vnet_alloc`` rows (:mod:`cumulo.infra.vnets` keeps one row per VLAN id).

A VLAN is taken with a conditional ``UPDATE ... WHERE id = ? AND taken IS NULL``: of
two implementations reading the same free row, one updates it and the other finds it
gone and tries the next candidate, so a VLAN never serves two networks. Which
candidate is tried first is random among a few, so concurrent implementations rarely
collide at all.

``guest.vlan.bits`` (REQ-NU-05, Seed §12.9) splits the zone's guest address space
between VLAN ids and VMs: with ``b`` bits only VLAN ids below ``2**b`` can be given to
a network (12 bits: every id up to 4094; 9 bits: 1 to 511).
"""

from __future__ import annotations

import secrets

from sqlalchemy import Integer, cast, select, update
from sqlalchemy.orm import Session

from cumulo.db.base import utcnow
from cumulo.infra.models import VnetAllocation
from cumulo.sdk.errors import InsufficientCapacity

CANDIDATES = 8
ATTEMPTS = 5
MAX_VLAN_BITS = 12


def vlan_ceiling(bits: int) -> int:
    """The highest VLAN id ``guest.vlan.bits`` = ``bits`` lets a network have."""
    bits = max(1, min(MAX_VLAN_BITS, bits))
    return int(min(4094, 2**bits - 1))


def take_vlan(
    session: Session,
    *,
    physical_network_id: int,
    account_id: int,
    reservation_id: str,
    vlan_bits: int = MAX_VLAN_BITS,
) -> str:
    """Take a free guest VLAN of the physical network for a network of ``account_id``
    (in the caller's transaction) and return its id as text.

    :param reservation_id: the network's uuid, recorded on the row (4.1 keeps the
        reservation there; :func:`release_vlan` matches it).
    :raises InsufficientCapacity: every VLAN of the physical network's ranges that
        ``guest.vlan.bits`` allows is taken (533).
    """
    ceiling = vlan_ceiling(vlan_bits)
    for _ in range(ATTEMPTS):
        rows = session.execute(
            select(VnetAllocation.id, VnetAllocation.vnet)
            .where(
                VnetAllocation.physical_network_id == physical_network_id,
                VnetAllocation.taken.is_(None),
                cast(VnetAllocation.vnet, Integer) <= ceiling,
            )
            .order_by(VnetAllocation.id)
            .limit(CANDIDATES)
        ).all()
        rows = [tuple(row) for row in rows]  # type: ignore[misc]
        if not rows:
            break
        start = secrets.randbelow(len(rows))
        for row_id, vnet in rows[start:] + rows[:start]:
            claimed = session.execute(
                update(VnetAllocation)
                .where(VnetAllocation.id == row_id, VnetAllocation.taken.is_(None))
                .values(taken=utcnow(), account_id=account_id, reservation_id=reservation_id)
                .execution_options(synchronize_session=False)
            )
            if claimed.rowcount == 1:  # type: ignore[attr-defined]
                return str(vnet)
    raise InsufficientCapacity(
        "Unable to allocate a guest VLAN: every VLAN of the physical network's guest ranges"
        f" (up to {ceiling}, guest.vlan.bits) is in use"
    )


def release_vlan(session: Session, *, physical_network_id: int, vlan: str) -> None:
    """Give the VLAN back to the physical network's free ones (one statement; nothing
    when the VLAN is not one of its ranges, e.g. one an admin specified)."""
    session.execute(
        update(VnetAllocation)
        .where(
            VnetAllocation.physical_network_id == physical_network_id,
            VnetAllocation.vnet == vlan,
        )
        .values(taken=None, account_id=None, reservation_id=None)
        .execution_options(synchronize_session=False)
    )


def reserve_specified_vlan(
    session: Session, *, physical_network_id: int, vlan: str, account_id: int, reservation_id: str
) -> bool:
    """Mark an admin-specified VLAN taken if it is one of the physical network's guest
    VLANs (so automatic allocation skips it); ``False`` when it was already taken."""
    row = session.execute(
        select(VnetAllocation.id, VnetAllocation.taken).where(
            VnetAllocation.physical_network_id == physical_network_id,
            VnetAllocation.vnet == vlan,
        )
    ).first()
    if row is None:
        return True
    claimed = session.execute(
        update(VnetAllocation)
        .where(VnetAllocation.id == row.id, VnetAllocation.taken.is_(None))
        .values(taken=utcnow(), account_id=account_id, reservation_id=reservation_id)
        .execution_options(synchronize_session=False)
    )
    return bool(claimed.rowcount == 1)  # type: ignore[attr-defined]
