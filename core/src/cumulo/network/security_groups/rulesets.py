"""The SecurityGroup set of a network, registered with the orchestrator at import: for
every live VM with a NIC on the network that is in at least one group (running or
stopped, REQ-SG-04), everything its groups allow, with the group peers of rules
resolved to the current addresses of those groups' VMs (their default NIC, /32).

Three statements whatever the number of VMs and rules: the VMs, their groups' rules,
the addresses of the peer groups. What the provider does with a VM's rules is 4.1's
model (:class:`cumulo.sdk.network.VmSecurityRules`): ingress denied unless allowed
(REQ-SG-05), egress allowed until the VM's groups have an egress rule (REQ-SG-06).
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from cumulo.compute.models import Nic, VirtualMachine
from cumulo.network import orchestrator
from cumulo.network.rules import validation as check
from cumulo.network.security_groups.models import SecurityGroupRule, SecurityGroupVmMap
from cumulo.sdk import network as sdk
from cumulo.sdk.network import Service

GONE_STATES = ("Destroyed", "Expunging")


def security_rules(session: Session, network_id: int) -> tuple[sdk.VmSecurityRules, ...]:
    """The SecurityGroup set (module doc)."""
    vm, sg_map, rule = VirtualMachine, SecurityGroupVmMap, SecurityGroupRule
    on_network = (
        (Nic.network_id == network_id)
        & Nic.removed.is_(None)
        & vm.removed.is_(None)
        & vm.state.not_in(GONE_STATES)
    )
    vms = session.execute(
        select(vm.id, vm.uuid, vm.instance_name, Nic.mac_address, Nic.ip4_address)
        .join(Nic, Nic.instance_id == vm.id)
        .where(on_network, exists().where(sg_map.instance_id == vm.id))
        .order_by(vm.id)
    ).all()
    if not vms:
        return ()
    rules_by_vm: dict[int, dict[str, tuple[object, ...]]] = defaultdict(dict)
    peer_ids: set[int] = set()
    for row in session.execute(
        select(
            sg_map.instance_id,
            rule.uuid,
            rule.type,
            rule.protocol,
            rule.start_port,
            rule.end_port,
            rule.allowed_ip_cidr,
            rule.allowed_network_id,
        )
        .join(rule, rule.security_group_id == sg_map.security_group_id)
        .join(Nic, Nic.instance_id == sg_map.instance_id)
        .join(vm, vm.id == sg_map.instance_id)
        .where(on_network, rule.revoke.is_(False))
        .order_by(rule.id)
    ):
        rules_by_vm[row.instance_id][row.uuid] = tuple(row)[2:]
        if row.allowed_network_id is not None:
            peer_ids.add(row.allowed_network_id)
    members: dict[int, list[str]] = defaultdict(list)
    if peer_ids:
        for group_id, address in session.execute(
            select(sg_map.security_group_id, Nic.ip4_address)
            .join(Nic, Nic.instance_id == sg_map.instance_id)
            .join(vm, vm.id == sg_map.instance_id)
            .where(
                sg_map.security_group_id.in_(sorted(peer_ids)),
                Nic.is_default.is_(True),
                Nic.removed.is_(None),
                Nic.ip4_address.is_not(None),
                vm.removed.is_(None),
                vm.state.not_in(GONE_STATES),
            )
            .order_by(Nic.ip4_address)
        ):
            members[group_id].append(f"{address}/32")
    return tuple(
        sdk.VmSecurityRules(
            vm_uuid=row.uuid,
            instance_name=row.instance_name,
            mac_address=row.mac_address,
            ip_address=row.ip4_address or "",
            rules=tuple(
                _rule(uuid, values, members) for uuid, values in rules_by_vm[row.id].items()
            ),
        )
        for row in vms
    )


def _rule(
    uuid: str, values: tuple[object, ...], members: dict[int, list[str]]
) -> sdk.SecurityGroupRule:
    direction, protocol, start, end, cidr, peer = values
    peers = tuple(dict.fromkeys(members.get(peer, ()))) if isinstance(peer, int) else ()
    is_icmp = protocol == check.ICMP
    return sdk.SecurityGroupRule(
        uuid=uuid,
        direction=str(direction),
        protocol=str(protocol),
        ports=sdk.PortRange() if is_icmp else sdk.PortRange(start, end),  # type: ignore[arg-type]
        icmp_type=start if is_icmp else None,  # type: ignore[arg-type]
        icmp_code=end if is_icmp else None,  # type: ignore[arg-type]
        cidrs=(str(cidr),) if cidr else peers,
    )


orchestrator.register_rule_set(Service.SECURITY_GROUP, security_rules)
