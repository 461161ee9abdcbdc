"""Public IP addresses for guest networks: taking one of the zone's public
(``VirtualNetwork``) ranges, giving it back.

An address is a ``user_ip_address`` row of a public range (:mod:`cumulo.infra.
ip_ranges`). It is taken with a conditional ``UPDATE ... WHERE id = ? AND state =
'Free'``: of two calls reading the same free candidate, one updates the row and the
other finds it gone and tries the next, so an address is never given twice. The
candidate tried first is random among a few, so concurrent calls rarely collide; a
call keeps trying while free candidates remain (each lost race means another call got
an address), and only when none is left does it fail with 533.

As 4.1's ``fetchNewPublicIp``, an account with public ranges dedicated to it
(``createVlanIpRange account=``) takes from those first and from the zone's
non-dedicated ranges only when its own are full; ranges dedicated to other accounts
are never used.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.orm import Session

from cumulo.db.base import utcnow
from cumulo.infra import ipv4
from cumulo.infra.models import IpState, UserIpAddress, VlanIpRange, VlanType
from cumulo.sdk.errors import InsufficientCapacity, InvalidParameterValue

CANDIDATES = 8
"""Free addresses read per round; one is chosen at random among them."""


@dataclass(frozen=True)
class TakenIp:
    """An address taken, with its range's network facts."""

    id: int
    uuid: str
    address: str
    vlan_db_id: int
    vlan_tag: str | None
    gateway: str | None
    netmask: str | None


def _candidates(
    session: Session, zone_id: int, scope: ColumnElement[bool], requested: int | None
) -> list[tuple[int, str, str, int, str | None, str | None, str | None]]:
    stmt = (
        select(
            UserIpAddress.id,
            UserIpAddress.uuid,
            UserIpAddress.public_ip_address,
            VlanIpRange.id,
            VlanIpRange.vlan_id,
            VlanIpRange.vlan_gateway,
            VlanIpRange.vlan_netmask,
        )
        .join(VlanIpRange, VlanIpRange.id == UserIpAddress.vlan_db_id)
        .where(
            VlanIpRange.data_center_id == zone_id,
            VlanIpRange.vlan_type == VlanType.VIRTUAL_NETWORK.value,
            UserIpAddress.state == IpState.FREE.value,
            scope,
        )
    )
    if requested is not None:
        stmt = stmt.where(UserIpAddress.ip_num == requested)
    else:
        stmt = stmt.order_by(UserIpAddress.ip_num).limit(CANDIDATES)
    return [tuple(row) for row in session.execute(stmt)]  # type: ignore[misc]


def _claim(session: Session, ip_id: int, values: dict[str, object]) -> bool:
    done = session.execute(
        update(UserIpAddress)
        .where(UserIpAddress.id == ip_id, UserIpAddress.state == IpState.FREE.value)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(done.rowcount == 1)  # type: ignore[attr-defined]


def take_public_ip(
    session: Session,
    *,
    zone_id: int,
    account_id: int,
    domain_id: int,
    network_id: int | None,
    source_nat: bool = False,
    state: IpState = IpState.ALLOCATED,
    requested: str | None = None,
) -> TakenIp:
    """Take a free public address of the zone for ``account_id`` (module doc), in the
    caller's transaction, associated with ``network_id``.

    :param state: ``Allocated``, or ``Allocating`` while the network is yet to be told.
    :param requested: a particular address (431 unless it is a free public address the
        account may have).
    :raises InsufficientCapacity: no free public address is left for the account (533).
    """
    values: dict[str, object] = {
        "state": state.value,
        "account_id": account_id,
        "domain_id": domain_id,
        "allocated": int(utcnow().timestamp()),
        "associated_with_network_id": network_id,
        "source_nat": source_nat,
        "one_to_one_nat": False,
        "vm_id": None,
        "vm_ip_address": None,
    }
    wanted = None if requested is None else ipv4.address(requested, "ipaddress")
    scopes: Sequence[ColumnElement[bool]] = (
        VlanIpRange.account_id == account_id,
        VlanIpRange.account_id.is_(None),
    )
    if wanted is not None:
        scopes = (or_(VlanIpRange.account_id == account_id, VlanIpRange.account_id.is_(None)),)
    for scope in scopes:
        while True:
            rows = _candidates(session, zone_id, scope, wanted)
            if not rows:
                break
            start = secrets.randbelow(len(rows))
            for ip_id, uuid, address, vlan_db_id, tag, gateway, netmask in (
                rows[start:] + rows[:start]
            ):
                if _claim(session, ip_id, values):
                    return TakenIp(ip_id, uuid, address, vlan_db_id, tag, gateway, netmask)
    if requested is not None:
        raise InvalidParameterValue(
            f"ipaddress: {requested} is not a free public address of the zone"
        )
    raise InsufficientCapacity(
        "Insufficient address capacity: no free public IP address is left in the zone's"
        " public IP ranges"
    )


def mark_allocated(session: Session, ip_id: int) -> None:
    """``Allocating`` → ``Allocated`` once the network has it (one statement)."""
    session.execute(
        update(UserIpAddress)
        .where(UserIpAddress.id == ip_id, UserIpAddress.state == IpState.ALLOCATING.value)
        .values(state=IpState.ALLOCATED.value)
        .execution_options(synchronize_session=False)
    )


def release_public_ips(session: Session, ip_ids: Sequence[int]) -> None:
    """Give the addresses back to their ranges' free ones (one statement)."""
    if not ip_ids:
        return
    session.execute(
        update(UserIpAddress)
        .where(UserIpAddress.id.in_(list(ip_ids)))
        .values(
            state=IpState.FREE.value,
            account_id=None,
            domain_id=None,
            allocated=None,
            associated_with_network_id=None,
            source_nat=False,
            one_to_one_nat=False,
            vm_id=None,
            vm_ip_address=None,
        )
        .execution_options(synchronize_session=False)
    )


def source_nat_ip(session: Session, network_id: int) -> tuple[int, str] | None:
    """``(id, address)`` of the network's source-NAT address, if it has one."""
    row = session.execute(
        select(UserIpAddress.id, UserIpAddress.public_ip_address).where(
            UserIpAddress.associated_with_network_id == network_id,
            UserIpAddress.source_nat.is_(True),
            UserIpAddress.state != IpState.FREE.value,
        )
    ).first()
    return None if row is None else (int(row[0]), str(row[1]))
