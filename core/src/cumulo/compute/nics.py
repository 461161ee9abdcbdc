"""A VM's NIC on the basic-zone shared guest network: an address from the pod's guest
range and a MAC unique in the zone.

Addresses are ``user_ip_address`` rows of the pod's ``DirectAttached`` ``vlan`` ranges
(:mod:`cumulo.infra.ip_ranges`). One is taken with a conditional ``UPDATE ... WHERE id
= ? AND state = 'Free'``: of two deploys reading the same free candidate, one updates
the row and the other finds it gone and tries the next, so two VMs never share an
address. Which candidate a deploy tries first is picked at random among a few, so
concurrent deploys rarely collide at all.

MACs are random in the locally administered ``06:`` range (4.1's guest prefix) over
40 bits; ``nics`` has a unique key on (zone, live MAC), so a duplicate is impossible
even in the astronomically rare case of a collision (the insert then fails).

Advanced-zone networks (``networkids``, isolated networks, VPCs) belong to the guest
networking issue; this module only serves the basic zone's shared network.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session

from cumulo.compute.models import Nic, NicState, VirtualMachine
from cumulo.db.base import utcnow
from cumulo.infra import ipv4
from cumulo.infra.models import IpState, UserIpAddress, VlanIpRange, VlanType
from cumulo.sdk.errors import InsufficientCapacity, InvalidParameterValue

CANDIDATES = 8
"""Free addresses read per try; one is chosen at random among them."""
ATTEMPTS = 5


@dataclass(frozen=True)
class GuestAddress:
    """An address taken for a NIC, with its range's network facts."""

    ip_address_id: int
    address: str
    vlan_id: int
    vlan_tag: str | None
    gateway: str | None
    netmask: str | None


def random_mac() -> str:
    """A locally administered unicast MAC with the ``06`` prefix (4.1's guest MACs)."""
    tail = secrets.token_bytes(5)
    return "06:" + ":".join(f"{b:02x}" for b in tail)


# Every deploy runs these: built once, run as Core on the session's connection
# (building them and the ORM's execution cost more than running them: bench/deploy.py).
_FREE = (
    select(
        UserIpAddress.id,
        UserIpAddress.public_ip_address,
        VlanIpRange.id,
        VlanIpRange.vlan_id,
        VlanIpRange.vlan_gateway,
        VlanIpRange.vlan_netmask,
    )
    .join(VlanIpRange, VlanIpRange.id == UserIpAddress.vlan_db_id)
    .where(
        VlanIpRange.pod_id == bindparam("pod"),
        VlanIpRange.vlan_type == VlanType.DIRECT_ATTACHED.value,
        UserIpAddress.state == IpState.FREE.value,
    )
)
_FIRST_FREE = _FREE.order_by(UserIpAddress.ip_num).limit(CANDIDATES)
_REQUESTED = _FREE.where(UserIpAddress.ip_num == bindparam("ip_num"))
_IP = cast(Table, UserIpAddress.__table__)
_TAKE = (
    update(_IP)
    .where(_IP.c.id == bindparam("ip"), _IP.c.state == IpState.FREE.value)
    .values(
        state=IpState.ALLOCATED.value,
        account_id=bindparam("account"),
        domain_id=bindparam("domain"),
        allocated=bindparam("at"),
    )
)


def _candidates(
    session: Session, pod_id: int, requested: str | None
) -> list[tuple[int, str, int, str | None, str | None, str | None]]:
    connection = session.connection()
    if requested is not None:
        number = ipv4.address(requested, "ipaddress")
        rows = connection.execute(_REQUESTED, {"pod": pod_id, "ip_num": number})
    else:
        rows = connection.execute(_FIRST_FREE, {"pod": pod_id})
    return [tuple(row) for row in rows]  # type: ignore[misc]


def take_guest_address(
    session: Session,
    *,
    pod_id: int,
    account_id: int,
    domain_id: int,
    requested: str | None = None,
) -> GuestAddress:
    """Take a free address of the pod's guest ranges for ``account_id`` (in the
    caller's transaction).

    :param requested: the ``ipaddress`` the caller asked for, if any.
    :raises InvalidParameterValue: ``requested`` is not a free address of the pod (431).
    :raises InsufficientCapacity: the pod's guest ranges are full (533).
    """
    for _ in range(ATTEMPTS):
        rows = _candidates(session, pod_id, requested)
        if not rows:
            break
        # Start at a random candidate so concurrent deploys spread over the free rows.
        start = secrets.randbelow(len(rows))
        for row in rows[start:] + rows[:start]:
            ip_id, address, vlan_db_id, tag, gateway, netmask = row
            taken = session.connection().execute(
                _TAKE,
                {
                    "ip": ip_id,
                    "account": account_id,
                    "domain": domain_id,
                    "at": int(utcnow().timestamp()),
                },
            )
            if taken.rowcount == 1:
                return GuestAddress(ip_id, address, vlan_db_id, tag, gateway, netmask)
    if requested is not None:
        raise InvalidParameterValue(
            f"ipaddress: {requested} is not a free address of the guest IP ranges of the pod"
            " the VM is placed in"
        )
    raise InsufficientCapacity("Insufficient address capacity: the pod's guest IP ranges are full")


def add_guest_nic(session: Session, vm: VirtualMachine, address: GuestAddress) -> Nic:
    """The VM's default NIC on the address taken (flushed)."""
    tag = address.vlan_tag or "untagged"
    nic = Nic(
        instance_id=vm.id,
        data_center_id=vm.data_center_id,
        network_id=None,
        vlan_id=address.vlan_id,
        ip_address_id=address.ip_address_id,
        ip4_address=address.address,
        netmask=address.netmask,
        gateway=address.gateway,
        broadcast_uri=f"vlan://{tag}",
        isolation_uri=f"ec2://{tag}",
        mode="Dhcp",
        traffic_type="Guest",
        is_default=True,
        device_id=0,
        state=NicState.RESERVED.value,
    )
    nic.mac_address = nic.mac_key = random_mac()
    session.add(nic)
    return nic


def release_nics(session: Session, vm_ids: list[int]) -> None:
    """Give back the addresses of the VMs' NICs and remove the NICs (their MACs become
    free again). Set-based: two statements whatever the number of VMs."""
    if not vm_ids:
        return
    held = select(Nic.ip_address_id).where(
        Nic.instance_id.in_(vm_ids), Nic.removed.is_(None), Nic.ip_address_id.is_not(None)
    )
    session.execute(
        update(UserIpAddress)
        .where(UserIpAddress.id.in_(held))
        .values(state=IpState.FREE.value, account_id=None, domain_id=None, allocated=None)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(Nic)
        .where(Nic.instance_id.in_(vm_ids), Nic.removed.is_(None))
        .values(removed=utcnow(), mac_key=None, state=NicState.DEALLOCATING.value)
        .execution_options(synchronize_session=False)
    )
