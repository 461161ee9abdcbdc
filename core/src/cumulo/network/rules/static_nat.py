"""Static NAT (CAP-27 §30.2): a public IP mapped one to one, both ways, to a VM's guest
address (``enableStaticNat``), and the IP forwarding rules 4.1 lets a tenant put on such
an address (``createIpForwardingRule``), as 4.1's ``RulesManagerImpl``.

Static NAT is a state of the address (``user_ip_address.one_to_one_nat``, ``vm_id``,
``vm_ip_address``). What is refused (431 naming the parameter):

- the network's source-NAT address, an address of a network without the StaticNat
  service, an address that has forwarding rules (REQ-NAT-02: port forwarding, load
  balancing, VPN), an address already NATed;
- a VM of another account, one being destroyed, one already NATed from another
  address, and a NIC that is not the VM's default one (REQ-NAT-03: static NAT works
  only on the VM's default network).

``enableStaticNat`` is synchronous in 4.1: the handler applies the network's static NAT
set in the request, and a refusal by the provider rolls the change back with the
request. ``disableStaticNat`` is a job: it removes the address's IP forwarding rules
first, then the mapping.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from cumulo.infra.models import UserIpAddress
from cumulo.network.rules import conflicts, firewall
from cumulo.network.rules import validation as check
from cumulo.network.rules.lookup import (
    GuestNetwork,
    PublicIp,
    network_of,
    require_service,
    target_vm,
)
from cumulo.network.rules.models import LIVE_STATES, NetworkRule, Purpose
from cumulo.network.rules.port_forwarding import DEPRECATED_CIDRS, Created, check_network_param
from cumulo.sdk.api import CallContext
from cumulo.sdk.errors import InvalidParameterValue
from cumulo.sdk.network import Service

PROTOCOLS = (check.TCP, check.UDP)


def enable(
    session: Session,
    ctx: CallContext,
    ip: PublicIp,
    *,
    vm_value: object,
    network_value: object | None = None,
) -> GuestNetwork:
    """Map the address to the VM in the caller's transaction (module doc); the caller
    applies the network's StaticNat set before it commits."""
    network = network_of(ip)
    check_network_param(ip, network_value, network.uuid)
    if ip.source_nat:
        raise InvalidParameterValue(
            f"ipaddressid: can't enable static NAT on {ip.address}: it is the source NAT"
            " address of its network"
        )
    require_service(session, network, Service.STATIC_NAT, "ipaddressid")
    if ip.one_to_one_nat:
        raise InvalidParameterValue(
            f"ipaddressid: static NAT is already enabled on {ip.address}; disable it first"
        )
    forwarding = session.scalar(
        select(NetworkRule.purpose)
        .where(
            NetworkRule.ip_address_id == ip.id,
            NetworkRule.state.in_(LIVE_STATES),
            NetworkRule.purpose != Purpose.FIREWALL.value,
        )
        .limit(1)
    )
    if forwarding is not None:
        raise InvalidParameterValue(
            f"ipaddressid: static NAT can't be enabled on {ip.address}: it has {forwarding} rules"
        )
    vm, nic = target_vm(session, ctx, vm_value, ip, network)
    if not nic.is_default:
        raise InvalidParameterValue(
            f"virtualmachineid: static NAT works only on the VM's default network, and"
            f" network {network.uuid} is not the default network of VM {vm.uuid}"
        )
    other = session.scalar(
        select(UserIpAddress.public_ip_address).where(
            UserIpAddress.vm_id == vm.id,
            UserIpAddress.one_to_one_nat.is_(True),
            UserIpAddress.id != ip.id,
        )
    )
    if other is not None:
        raise InvalidParameterValue(
            f"virtualmachineid: the VM {vm.uuid} already has static NAT from {other}"
        )
    session.execute(
        update(UserIpAddress)
        .where(UserIpAddress.id == ip.id)
        .values(one_to_one_nat=True, vm_id=vm.id, vm_ip_address=nic.ip_address)
    )
    return network


def clear(session: Session, ip_id: int) -> None:
    """Unmap the address (the job's last phase, before the StaticNat set is applied)."""
    session.execute(
        update(UserIpAddress)
        .where(UserIpAddress.id == ip_id)
        .values(one_to_one_nat=False, vm_id=None, vm_ip_address=None)
    )


def restore(session: Session, ip_id: int, vm_id: int | None, vm_ip: str | None) -> None:
    """Map the address again (a refused ``disableStaticNat``)."""
    session.execute(
        update(UserIpAddress)
        .where(UserIpAddress.id == ip_id)
        .values(one_to_one_nat=True, vm_id=vm_id, vm_ip_address=vm_ip)
    )


def forwarding_rule_ids(session: Session, ip_id: int) -> list[int]:
    """The address's IP forwarding rules and the openings made for them."""
    own = select(NetworkRule.id).where(
        NetworkRule.ip_address_id == ip_id, NetworkRule.purpose == Purpose.STATIC_NAT.value
    )
    return list(
        session.scalars(
            select(NetworkRule.id).where(NetworkRule.id.in_(own) | NetworkRule.related.in_(own))
        )
    )


def create_forwarding(
    session: Session,
    ip: PublicIp,
    *,
    protocol: str | None,
    start_port: int,
    end_port: int | None,
    open_firewall: bool | None,
    cidrlist: list[str] | None,
) -> Created:
    """``createIpForwardingRule``'s create step: ports forwarded to the NATed VM."""
    if cidrlist:
        raise InvalidParameterValue(DEPRECATED_CIDRS)
    proto = check.protocol(protocol, PROTOCOLS)
    start, end = check.port_range(start_port, end_port, "startport", "endport")
    assert start is not None and end is not None
    network = network_of(ip)
    require_service(session, network, Service.STATIC_NAT, "ipaddressid")
    if not ip.one_to_one_nat:
        raise InvalidParameterValue(
            f"ipaddressid: can't create an IP forwarding rule on {ip.address}: static NAT"
            " is not enabled on it (enableStaticNat)"
        )
    candidate = conflicts.Candidate(Purpose.STATIC_NAT, proto, start, end, network.id)
    conflicts.check(session, ip.id, candidate, ip.address)
    rule = firewall.add_rule(
        session,
        purpose=Purpose.STATIC_NAT,
        protocol=proto,
        start_port=start,
        end_port=end,
        network_id=network.id,
        account_id=ip.account_id,
        domain_id=ip.domain_id,
        ip_address_id=ip.id,
    )
    opened = None
    if open_firewall is None or open_firewall:
        opened = firewall.open_for(
            session, ip, network, protocol=proto, start_port=start, end_port=end, related=rule.id
        )
    return Created(rule.id, rule.uuid, network.id, opened.id if opened is not None else None)
