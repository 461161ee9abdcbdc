"""Load balancing (CAP-26, 4.1's ``LoadBalancingRulesManagerImpl``): TCP traffic to a
public IP's port is spread over the VMs assigned to the rule, by round robin, least
connections or source address (REQ-LB-03), on their private port.

What is refused, each a 431 naming the parameter unless said otherwise:

- no ``publicipid``: the elastic load balancing of basic zones (REQ-LB-04, an address
  allocated with the rule by an ``ElasticLoadBalancerVm``) has no provider here;
- an algorithm the network's Lb provider does not list in ``SupportedLBAlgorithms``;
- ports outside 1-65535; ``cidrlist`` (deprecated in 4.1, as for port forwarding);
- an address of another account than the rule's owner, without a network with the Lb
  service, or with static NAT (REQ-NAT-02);
- a public port some other forwarding rule of the address uses (537, :mod:`.conflicts`);
- members: VMs of another account (531), destroyed ones, ones without a NIC on the
  rule's network, ones already assigned.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import insert, or_, select
from sqlalchemy.orm import Session

from cumulo.compute.models import Nic, VirtualMachine
from cumulo.network import providers
from cumulo.network.rules import conflicts, firewall
from cumulo.network.rules import validation as check
from cumulo.network.rules.lookup import (
    UNUSABLE_VM_STATES,
    PublicIp,
    network_of,
    require_service,
    services_of,
)
from cumulo.network.rules.models import LbRule, LbVmMap, Purpose
from cumulo.network.rules.port_forwarding import (
    DEPRECATED_CIDRS,
    Created,
    check_network_param,
    refuse_static_nat,
)
from cumulo.sdk.errors import InvalidParameterValue, PermissionDenied
from cumulo.sdk.network import Service

DEFAULT_ALGORITHMS = ("roundrobin", "leastconn", "source")
"""What an Lb provider is assumed to support when it declares no algorithms."""
LB_PROTOCOL = check.TCP


def lb_provider(session: Session, network_id: int) -> str:
    """The network's Lb provider ('' when the network has no Lb service)."""
    return services_of(session, network_id).get(Service.LB.value) or ""


def lb_capabilities(provider_name: str) -> dict[str, str]:
    """The provider's Lb capabilities (``SupportedLBAlgorithms``,
    ``SupportedStickinessMethods`` ...), as it declares them.

    :raises cumulo.sdk.errors.ResourceUnavailable: the provider is not installed (534).
    """
    declared = providers.provider(provider_name).capabilities()
    return dict(declared.get(Service.LB, {}))


def check_algorithm(session: Session, network_id: int, value: str | None) -> str:
    """``value`` (lower case) if the network's Lb provider supports it.

    :raises InvalidParameterValue: naming ``algorithm``.
    """
    text = (value or "").strip().lower()
    provider_name = lb_provider(session, network_id)
    declared = lb_capabilities(provider_name).get("SupportedLBAlgorithms", "")
    supported = tuple(a.strip().lower() for a in declared.split(",") if a.strip())
    supported = supported or DEFAULT_ALGORITHMS
    if text not in supported:
        raise InvalidParameterValue(
            f"algorithm: {value!r} is not supported by the network's load balancer"
            f" ({provider_name}); supported: {', '.join(supported)}"
        )
    return text


def create(
    session: Session,
    ip: PublicIp | None,
    *,
    owner_account_id: int,
    name: str,
    description: str | None,
    algorithm: str | None,
    public_port: int,
    private_port: int,
    open_firewall: bool | None,
    network_value: object | None = None,
    cidrlist: list[str] | None = None,
) -> Created:
    """``createLoadBalancerRule``'s create step (module doc)."""
    if ip is None:
        raise InvalidParameterValue(
            "publicipid: give the public IP address of the rule; elastic load balancing"
            " (an address allocated with the rule) is not supported"
        )
    if cidrlist:
        raise InvalidParameterValue(DEPRECATED_CIDRS)
    check.port(public_port, "publicport")
    check.port(private_port, "privateport")
    if ip.account_id != owner_account_id:
        raise InvalidParameterValue(
            f"publicipid: the IP address {ip.address} does not belong to the rule's account"
        )
    network = network_of(ip, "publicipid")
    check_network_param(ip, network_value, network.uuid)
    require_service(session, network, Service.LB, "publicipid")
    refuse_static_nat(ip, "a load balancing rule", "publicipid")
    chosen = check_algorithm(session, network.id, algorithm)
    candidate = conflicts.Candidate(
        Purpose.LOAD_BALANCING, LB_PROTOCOL, public_port, public_port, network.id
    )
    conflicts.check(session, ip.id, candidate, ip.address)
    rule = firewall.add_rule(
        session,
        purpose=Purpose.LOAD_BALANCING,
        protocol=LB_PROTOCOL,
        start_port=public_port,
        end_port=public_port,
        network_id=network.id,
        account_id=ip.account_id,
        domain_id=ip.domain_id,
        ip_address_id=ip.id,
    )
    session.add(
        LbRule(
            id=rule.id,
            name=name,
            description=description,
            default_port_start=private_port,
            default_port_end=private_port,
            algorithm=chosen,
        )
    )
    opened = None
    if open_firewall is None or open_firewall:
        opened = firewall.open_for(
            session,
            ip,
            network,
            protocol=LB_PROTOCOL,
            start_port=public_port,
            end_port=public_port,
            related=rule.id,
        )
    session.flush()
    return Created(rule.id, rule.uuid, network.id, opened.id if opened is not None else None)


@dataclass(frozen=True)
class Member:
    """A VM named by ``virtualmachineids``, with what assignment checks need."""

    id: int
    uuid: str
    account_id: int
    state: str
    nic_address: str | None
    assigned: bool


def members(
    session: Session, lb_id: int, network_id: int, values: Sequence[object]
) -> list[Member]:
    """The VMs ``values`` name (UUIDs or internal ids), each with its NIC on the
    network and whether it is assigned already, in one statement.

    :raises InvalidParameterValue: a value names no live VM (431 naming
        ``virtualmachineids``).
    """
    texts = [str(v).strip() for v in values]
    numbers = [int(t) for t in texts if t.isdecimal() and 0 < int(t) < 2**63]
    vm = VirtualMachine
    rows = session.execute(
        select(
            vm.id,
            vm.uuid,
            vm.account_id,
            vm.state,
            Nic.ip4_address,
            LbVmMap.id.label("map_id"),
        )
        .outerjoin(
            Nic,
            (Nic.instance_id == vm.id) & (Nic.network_id == network_id) & Nic.removed.is_(None),
        )
        .outerjoin(LbVmMap, (LbVmMap.instance_id == vm.id) & (LbVmMap.load_balancer_id == lb_id))
        .where(or_(vm.uuid.in_(texts), vm.id.in_(numbers)), vm.removed.is_(None))
    ).all()
    found = {row.uuid: row for row in rows} | {str(row.id): row for row in rows}
    result: list[Member] = []
    for text in dict.fromkeys(texts):
        row = found.get(text)
        if row is None:
            raise InvalidParameterValue(f"virtualmachineids: unable to find a VM with id {text}")
        result.append(
            Member(
                row.id, row.uuid, row.account_id, row.state, row.ip4_address, row.map_id is not None
            )
        )
    return result


def check_assignable(found: list[Member], account_id: int, network_uuid: str) -> None:
    """REQ-LB-03's members: the rule owner's live VMs on its network, not yet assigned.

    :raises PermissionDenied: a VM of another account (531).
    :raises InvalidParameterValue: any other reason (431 naming ``virtualmachineids``).
    """
    for member in found:
        if member.account_id != account_id:
            raise PermissionDenied(
                f"virtualmachineids: the VM {member.uuid} and the load balancer belong to"
                " different accounts"
            )
        if member.state in UNUSABLE_VM_STATES:
            raise InvalidParameterValue(
                f"virtualmachineids: the VM {member.uuid} is {member.state}"
            )
        if member.nic_address is None:
            raise InvalidParameterValue(
                f"virtualmachineids: the VM {member.uuid} has no NIC on network {network_uuid},"
                " the network of the load balancer"
            )
        if member.assigned:
            raise InvalidParameterValue(
                f"virtualmachineids: the VM {member.uuid} is already assigned to the load balancer"
            )


def assign(session: Session, lb_id: int, found: list[Member]) -> list[int]:
    """Insert the members (one statement); their VM ids."""
    vm_ids = [m.id for m in found]
    session.execute(
        insert(LbVmMap), [{"load_balancer_id": lb_id, "instance_id": i} for i in vm_ids]
    )
    return vm_ids


def check_removable(found: list[Member]) -> None:
    """Every VM named must be assigned (431 naming ``virtualmachineids``)."""
    for member in found:
        if not member.assigned:
            raise InvalidParameterValue(
                f"virtualmachineids: the VM {member.uuid} is not assigned to the load balancer"
            )
