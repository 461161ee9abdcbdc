"""Firewall rules: ingress rules opening ports of a public IP (REQ-FW-01, REQ-FW-03:
everything is refused until a rule opens it) and egress rules letting a guest network
out (REQ-FW-06, REQ-FW-07), as 4.1's ``FirewallManagerImpl``.

- **Ingress** (``createFirewallRule``): TCP/UDP ports (none: every port) or ICMP type
  and code, from source CIDRs (default ``0.0.0.0/0``), on an address associated with
  a network whose offering has the Firewall service; never on an elastic IP, whose
  inbound access security groups control (REQ-FW-04, REQ-SG-11).
- **Egress** (``createEgressFirewallRule``): TCP/UDP/ICMP/all traffic from source CIDRs
  inside the guest network's CIDR (A-24: the seed's scenario list; default: the whole
  guest CIDR), only on an isolated network of an advanced zone whose Firewall
  provider is the virtual router (REQ-FW-06).
- **Opened for another rule** (``openfirewall=true`` of port forwarding, load
  balancing and VPN): an ingress rule on the same IP and public ports, ``related`` to
  that rule, so deleting it deletes the opening too.

The functions here write the rule ``Add`` in the caller's transaction; the job applies
it (:mod:`cumulo.network.rules.applying`).
"""

from __future__ import annotations

from sqlalchemy import insert
from sqlalchemy.orm import Session

from cumulo.infra.models import NetworkType
from cumulo.network.networks.lookup import FoundNetwork
from cumulo.network.networks.models import GuestType
from cumulo.network.rules import conflicts
from cumulo.network.rules import validation as check
from cumulo.network.rules.lookup import (
    GuestNetwork,
    PublicIp,
    network_of,
    require_service,
    services_of,
)
from cumulo.network.rules.models import (
    NetworkRule,
    Purpose,
    RuleCidr,
    RuleState,
    RuleType,
    TrafficType,
)
from cumulo.sdk.errors import InvalidParameterValue
from cumulo.sdk.network import Service

INGRESS_PROTOCOLS = (check.TCP, check.UDP, check.ICMP)
EGRESS_PROTOCOLS = (check.TCP, check.UDP, check.ICMP, check.ALL)
ANYWHERE = "0.0.0.0/0"
VIRTUAL_ROUTER = "VirtualRouter"


def refuse_elastic_ip(network: GuestNetwork, what: str, param: str = "ipaddressid") -> None:
    """Firewall and port-forwarding rules cannot open an elastic IP (REQ-FW-04,
    REQ-PF-02): its inbound access is the security groups' (REQ-SG-11).

    :raises InvalidParameterValue: 431 naming ``param``.
    """
    if network.elastic_ip:
        raise InvalidParameterValue(
            f"{param}: {what} cannot open ports on an elastic IP; inbound access to it"
            " is controlled by security groups"
        )


def add_rule(
    session: Session,
    *,
    purpose: Purpose,
    protocol: str,
    start_port: int | None,
    end_port: int | None,
    network_id: int,
    account_id: int,
    domain_id: int,
    ip_address_id: int | None,
    cidrs: tuple[str, ...] = (),
    icmp_type: int | None = None,
    icmp_code: int | None = None,
    related: int | None = None,
    traffic_type: TrafficType = TrafficType.INGRESS,
    rule_type: RuleType = RuleType.USER,
) -> NetworkRule:
    """Insert one rule ``Add`` with its CIDRs (two statements at most)."""
    rule = NetworkRule(
        purpose=purpose.value,
        protocol=protocol,
        start_port=start_port,
        end_port=end_port,
        network_id=network_id,
        account_id=account_id,
        domain_id=domain_id,
        ip_address_id=ip_address_id,
        icmp_type=icmp_type,
        icmp_code=icmp_code,
        related=related,
        traffic_type=traffic_type.value,
        type=rule_type.value,
        state=RuleState.ADD.value,
    )
    session.add(rule)
    session.flush()
    if cidrs:
        session.execute(
            insert(RuleCidr), [{"firewall_rule_id": rule.id, "source_cidr": c} for c in cidrs]
        )
    return rule


def _ingress_fields(
    protocol: str | None,
    start_port: int | None,
    end_port: int | None,
    icmp_type: int | None,
    icmp_code: int | None,
    allowed: tuple[str, ...],
) -> tuple[str, int | None, int | None, int | None, int | None]:
    """Validated ``(protocol, start, end, icmp type, icmp code)`` (4.1's rules)."""
    proto = check.protocol(protocol, allowed)
    if proto == check.ICMP:
        check.no_ports_for(proto, start_port, end_port)
        icmp = check.icmp(icmp_type, icmp_code)
        return proto, None, None, icmp.type, icmp.code
    check.no_icmp_for(proto, icmp_type, icmp_code)
    if proto == check.ALL:
        check.no_ports_for(proto, start_port, end_port)
        return proto, None, None, None, None
    start, end = check.port_range(start_port, end_port, "startport", "endport")
    return proto, start, end, None, None


def create_ingress(
    session: Session,
    ip: PublicIp,
    *,
    protocol: str | None,
    start_port: int | None,
    end_port: int | None,
    cidrlist: list[str] | None,
    icmp_type: int | None,
    icmp_code: int | None,
    rule_type: RuleType = RuleType.USER,
) -> NetworkRule:
    """``createFirewallRule``'s create step: validate, check conflicts, write ``Add``.

    :raises InvalidParameterValue: bad parameters, an address without a network, a
        network without the Firewall service, an elastic IP (431).
    :raises NetworkRuleConflict: the same opening exists already (537).
    """
    proto, start, end, kind, code = _ingress_fields(
        protocol, start_port, end_port, icmp_type, icmp_code, INGRESS_PROTOCOLS
    )
    cidrs = check.cidrs(cidrlist) or (ANYWHERE,)
    network = network_of(ip)
    require_service(session, network, Service.FIREWALL, "ipaddressid")
    refuse_elastic_ip(network, "firewall rules")
    candidate = conflicts.Candidate(
        Purpose.FIREWALL, proto, start, end, network.id, kind, code, cidrs
    )
    conflicts.check(session, ip.id, candidate, ip.address)
    return add_rule(
        session,
        purpose=Purpose.FIREWALL,
        protocol=proto,
        start_port=start,
        end_port=end,
        network_id=network.id,
        account_id=ip.account_id,
        domain_id=ip.domain_id,
        ip_address_id=ip.id,
        cidrs=cidrs,
        icmp_type=kind,
        icmp_code=code,
        rule_type=rule_type,
    )


def open_for(
    session: Session,
    ip: PublicIp,
    network: GuestNetwork,
    *,
    protocol: str,
    start_port: int,
    end_port: int,
    related: int,
) -> NetworkRule | None:
    """The opening ``openfirewall=true`` adds for a forwarding rule (module doc), or
    ``None`` when the network has no Firewall service (nothing to open then: its
    provider forwards without filtering, as 4.1) or a firewall rule already opens those
    ports to every source.

    :raises NetworkRuleConflict: a firewall rule opens part of the range only (537).
    """
    if Service.FIREWALL.value not in services_of(session, network.id):
        return None
    if conflicts.opened_already(session, ip.id, protocol, start_port, end_port):
        return None
    candidate = conflicts.Candidate(
        Purpose.FIREWALL, protocol, start_port, end_port, network.id, cidrs=(ANYWHERE,)
    )
    conflicts.check(session, ip.id, candidate, ip.address)
    return add_rule(
        session,
        purpose=Purpose.FIREWALL,
        protocol=protocol,
        start_port=start_port,
        end_port=end_port,
        network_id=network.id,
        account_id=ip.account_id,
        domain_id=ip.domain_id,
        ip_address_id=ip.id,
        cidrs=(ANYWHERE,),
        related=related,
        rule_type=RuleType.SYSTEM,
    )


def create_egress(
    session: Session,
    found: FoundNetwork,
    *,
    protocol: str | None,
    start_port: int | None,
    end_port: int | None,
    cidrlist: list[str] | None,
    icmp_type: int | None,
    icmp_code: int | None,
    zone_networktype: str,
    rule_type: RuleType = RuleType.USER,
) -> NetworkRule:
    """``createEgressFirewallRule``'s create step (module doc).

    :raises InvalidParameterValue: bad parameters, a source CIDR outside the guest
        CIDR, a network that is not an isolated advanced-zone network whose Firewall
        provider is the virtual router (431 naming the parameter).
    :raises NetworkRuleConflict: a live egress rule allows the same already (537).
    """
    network = found.network
    proto, start, end, kind, code = _ingress_fields(
        protocol, start_port, end_port, icmp_type, icmp_code, EGRESS_PROTOCOLS
    )
    if zone_networktype != NetworkType.ADVANCED.value:
        raise InvalidParameterValue(
            "networkid: egress firewall rules are supported only in advanced zones"
        )
    if network.guest_type != GuestType.ISOLATED.value:
        raise InvalidParameterValue(
            f"networkid: egress firewall rules are supported only on isolated networks;"
            f" network {network.uuid} is {network.guest_type}"
        )
    provider = services_of(session, network.id).get(Service.FIREWALL.value, "")
    if provider != VIRTUAL_ROUTER:
        raise InvalidParameterValue(
            f"networkid: egress firewall rules are supported only on virtual routers;"
            f" the Firewall service of network {network.uuid} is"
            f" {provider or 'not offered'}"
        )
    guest_cidr = network.cidr or ""
    cidrs = check.cidrs(cidrlist) or ((guest_cidr,) if guest_cidr else ())
    for item in cidrs:
        if not guest_cidr or not check.within(item, guest_cidr):
            raise InvalidParameterValue(
                f"cidrlist: the source CIDR {item} is not part of the guest network CIDR"
                f" {guest_cidr}"
            )
    candidate = conflicts.Candidate(
        Purpose.FIREWALL, proto, start, end, network.id, kind, code, cidrs
    )
    conflicts.check_egress(session, network.id, candidate)
    return add_rule(
        session,
        purpose=Purpose.FIREWALL,
        protocol=proto,
        start_port=start,
        end_port=end,
        network_id=network.id,
        account_id=network.account_id,
        domain_id=network.domain_id,
        ip_address_id=None,
        cidrs=cidrs,
        icmp_type=kind,
        icmp_code=code,
        traffic_type=TrafficType.EGRESS,
        rule_type=rule_type,
    )
