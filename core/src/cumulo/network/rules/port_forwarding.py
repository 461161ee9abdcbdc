"""Port forwarding (CAP-28 §31.4, 4.1's ``RulesManagerImpl``): traffic to a public IP's
port range goes to a VM's guest address, to a private range of the same length.

What 4.1 checks, each a 431 naming the parameter unless said otherwise:

- TCP or UDP; ports 1-65535; the public and private ranges equally long;
- ``cidrlist`` refused: deprecated in 4.1 for port forwarding (the opening firewall rule
  carries the CIDRs);
- the address is associated with a network whose offering has PortForwarding, it is
  not an elastic IP (REQ-PF-02), and it has no static NAT (REQ-NAT-02, REQ-PF-04);
- the VM is the address owner's, alive, with a NIC on that network; its address there
  is where traffic goes (4.1 has no ``vmguestip`` parameter: that came with 4.2's
  secondary addresses);
- the public range conflicts with no rule on the address (537, :mod:`.conflicts`).

``openfirewall`` (default true) opens the public range for every source with a
firewall rule tied to this one (:func:`cumulo.network.rules.firewall.open_for`).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from cumulo.network.rules import conflicts, firewall
from cumulo.network.rules import validation as check
from cumulo.network.rules.lookup import (
    PublicIp,
    network_of,
    require_service,
    target_vm,
)
from cumulo.network.rules.models import PortForwardingTarget, Purpose
from cumulo.sdk.api import CallContext
from cumulo.sdk.errors import InvalidParameterValue
from cumulo.sdk.network import Service

PROTOCOLS = (check.TCP, check.UDP)
DEPRECATED_CIDRS = (
    "cidrlist: Parameter cidrList is deprecated; if you need to open firewall rule for the"
    " specific cidr, please refer to createFirewallRule command"
)


@dataclass(frozen=True)
class Created:
    """The rule written ``Add``, and the firewall rule opened for it (if any)."""

    rule_id: int
    rule_uuid: str
    network_id: int
    opened_id: int | None

    @property
    def rule_ids(self) -> list[int]:
        """Every rule the job settles."""
        return [self.rule_id] + ([self.opened_id] if self.opened_id is not None else [])


def refuse_static_nat(ip: PublicIp, what: str, param: str = "ipaddressid") -> None:
    """REQ-NAT-02 seen from the other side: an address with static NAT takes no
    forwarding rules but IP forwarding ones.

    :raises InvalidParameterValue: 431 naming ``param``.
    """
    if ip.one_to_one_nat:
        raise InvalidParameterValue(
            f"{param}: can't create {what} on the IP address {ip.address}: static NAT is"
            " enabled on it"
        )


def check_network_param(ip: PublicIp, network_value: object | None, network_uuid: str) -> None:
    """``networkid`` (4.1: for VPC addresses not associated yet) must name the
    address's network when given."""
    if network_value is not None and str(network_value) != network_uuid:
        raise InvalidParameterValue(
            f"networkid: the IP address {ip.address} is associated with network"
            f" {network_uuid}, not {network_value}"
        )


def create(
    session: Session,
    ctx: CallContext,
    ip: PublicIp,
    *,
    vm_value: object,
    protocol: str | None,
    public_port: int,
    public_end_port: int | None,
    private_port: int,
    private_end_port: int | None,
    open_firewall: bool | None,
    network_value: object | None = None,
    cidrlist: list[str] | None = None,
) -> Created:
    """``createPortForwardingRule``'s create step (module doc)."""
    if cidrlist:
        raise InvalidParameterValue(DEPRECATED_CIDRS)
    proto = check.protocol(protocol, PROTOCOLS)
    public = check.port_range(public_port, public_end_port, "publicport", "publicendport")
    private = check.port_range(private_port, private_end_port, "privateport", "privateendport")
    assert public[0] is not None and public[1] is not None
    assert private[0] is not None and private[1] is not None
    if public[1] - public[0] != private[1] - private[0]:
        raise InvalidParameterValue(
            f"privateendport: the private port range {private[0]}-{private[1]} and the public"
            f" port range {public[0]}-{public[1]} must be of equal length"
        )
    network = network_of(ip)
    check_network_param(ip, network_value, network.uuid)
    require_service(session, network, Service.PORT_FORWARDING, "ipaddressid")
    firewall.refuse_elastic_ip(network, "port forwarding rules")
    refuse_static_nat(ip, "a port forwarding rule")
    vm, nic = target_vm(session, ctx, vm_value, ip, network)
    candidate = conflicts.Candidate(
        Purpose.PORT_FORWARDING, proto, public[0], public[1], network.id
    )
    conflicts.check(session, ip.id, candidate, ip.address)
    rule = firewall.add_rule(
        session,
        purpose=Purpose.PORT_FORWARDING,
        protocol=proto,
        start_port=public[0],
        end_port=public[1],
        network_id=network.id,
        account_id=ip.account_id,
        domain_id=ip.domain_id,
        ip_address_id=ip.id,
    )
    session.add(
        PortForwardingTarget(
            id=rule.id,
            instance_id=vm.id,
            dest_ip_address=nic.ip_address,
            dest_port_start=private[0],
            dest_port_end=private[1],
        )
    )
    opened = None
    if open_firewall is None or open_firewall:
        opened = firewall.open_for(
            session,
            ip,
            network,
            protocol=proto,
            start_port=public[0],
            end_port=public[1],
            related=rule.id,
        )
    session.flush()
    return Created(rule.id, rule.uuid, network.id, opened.id if opened is not None else None)
