"""The router's ``iptables-restore`` ruleset: mangle, nat and filter, rendered whole.

How a packet from the public side is judged, table by table:

- **mangle** (classification, before any address is translated): a new connection
  arriving on the public interface goes through ``FW_INGRESS``, which sends it to the
  chain of the public address it is for (``FW_<ip>``); each firewall rule of that
  address that matches sets mark bit ``0x1``. Matching here, on the original
  destination, is why firewall rules name the public IP and port even when the
  connection is then forwarded to a guest.
- **nat**: static NAT (DNAT in, SNAT out, both ways), port forwarding (DNAT), then the
  network's source NAT (SNAT through the source-NAT address).
- **filter** (decisions, default DROP): a public connection passes only if it carries
  the firewall mark *and* something serves it — a port-forwarding or static-NAT target
  (``FORWARD``, connection in state ``DNAT``) or a load balancer on the router
  (``INPUT``). So an IP denies everything until a firewall rule opens a port
  (REQ-FW-01, REQ-FW-03), and an open port leads nowhere without a rule behind it.
  Guests' outbound connections go through ``FW_EGRESS`` (the egress rules, and the
  network's default policy, REQ-FW-07).

The remote-access VPN (IKE, NAT-T, ESP, and L2TP inside IPsec only) is opened on its
address by the VPN service itself, as 4.1's router does, not by user firewall rules.
"""

from __future__ import annotations

from collections.abc import Iterable

from cumulo.sdk.network import FirewallRule, PortRange, ProviderRefused
from cumulo_vr.layout import (
    CONTROL_IF,
    CONTROL_SSH_PORT,
    GUEST_IF,
    METADATA_PORT,
    PASSWORD_PORT,
    PUBLIC_IF,
    ip_key,
    slug,
)
from cumulo_vr.render.checks import check_cidr, check_ip, check_protocol, check_token
from cumulo_vr.state import RouterState

FIREWALL_MARK = "0x1/0x1"
_PROTOCOLS = ("tcp", "udp", "icmp", "all")


def _ports(ports: PortRange, option: str = "--dport") -> str:
    if ports.start is None:
        return ""
    end = ports.end if ports.end is not None else ports.start
    if not (0 < ports.start <= end <= 65535):
        raise ProviderRefused(f"invalid port range {ports.start}-{end}")
    span = str(ports.start) if ports.start == end else f"{ports.start}:{end}"
    return f" {option} {span}"


def protocol_match(
    protocol: str, ports: PortRange, icmp_type: int | None, icmp_code: int | None
) -> str:
    """The protocol part of a rule: ``-p tcp -m tcp --dport 22`` and the like."""
    protocol = check_protocol(protocol, _PROTOCOLS)
    if protocol == "all":
        return ""
    if protocol == "icmp":
        if icmp_type is None or icmp_type == -1:
            return " -p icmp"
        if icmp_code is None or icmp_code == -1:
            return f" -p icmp -m icmp --icmp-type {icmp_type}"
        return f" -p icmp -m icmp --icmp-type {icmp_type}/{icmp_code}"
    return f" -p {protocol} -m {protocol}{_ports(ports)}"


def _firewall_lines(chain: str, rule: FirewallRule, target: str) -> Iterable[str]:
    match = protocol_match(rule.protocol, rule.ports, rule.icmp_type, rule.icmp_code)
    comment = f"-m comment --comment {check_token(rule.uuid, 'rule id')}"
    for cidr in sorted(set(rule.cidrs)) or ["0.0.0.0/0"]:
        source = "" if cidr == "0.0.0.0/0" else f" -s {check_cidr(cidr)}"
        yield f"-A {chain}{source}{match} {comment} -j {target}"


def _dnat_destination(guest_ip: str, public: PortRange, private: PortRange) -> str:
    """``guest[:port[-port/base]]``: a shifted range maps port to port (public
    ``base + n`` to private ``start + n``), which iptables does with a base port."""
    if private.start is None or public.start is None:
        return guest_ip
    public_end = public.end if public.end is not None else public.start
    private_end = private.end if private.end is not None else private.start
    if public_end - public.start != private_end - private.start:
        raise ProviderRefused(
            f"port ranges {public.start}-{public_end} and {private.start}-{private_end} "
            "differ in length"
        )
    if private.start == private_end:
        return f"{guest_ip}:{private.start}"
    if (private.start, private_end) == (public.start, public_end):
        return guest_ip
    return f"{guest_ip}:{private.start}-{private_end}/{public.start}"


def render_iptables(state: RouterState) -> str:
    """The whole ruleset of the router for ``state`` (input of ``iptables-restore``)."""
    network = state.network
    guest_cidr = check_cidr(network.cidr) if network else ""
    ingress = [rule for rule in state.firewall if rule.public_ip]
    egress = [rule for rule in state.firewall if not rule.public_ip]
    by_ip: dict[str, list[FirewallRule]] = {}
    for rule in ingress:
        by_ip.setdefault(check_ip(rule.public_ip), []).append(rule)
    firewalled = sorted(by_ip, key=ip_key)

    out: list[str] = [
        f"# cumulo virtual router of network {network.uuid if network else '-'}: "
        "rendered from the network's state, do not edit",
        "*mangle",
        ":PREROUTING ACCEPT [0:0]",
        ":INPUT ACCEPT [0:0]",
        ":FORWARD ACCEPT [0:0]",
        ":OUTPUT ACCEPT [0:0]",
        ":POSTROUTING ACCEPT [0:0]",
        ":FW_INGRESS - [0:0]",
    ]
    out += [f":FW_{slug(ip)} - [0:0]" for ip in firewalled]
    out.append(f"-A PREROUTING -i {PUBLIC_IF} -m conntrack --ctstate NEW -j FW_INGRESS")
    # Guests with virtio NICs drop DHCP replies whose checksum the kernel left to offload.
    out.append(f"-A POSTROUTING -o {GUEST_IF} -p udp -m udp --dport 68 -j CHECKSUM --checksum-fill")
    out += [f"-A FW_INGRESS -d {ip}/32 -j FW_{slug(ip)}" for ip in firewalled]
    for ip in firewalled:
        for rule in by_ip[ip]:
            out += _firewall_lines(f"FW_{slug(ip)}", rule, f"MARK --set-xmark {FIREWALL_MARK}")
    out.append("COMMIT")

    out += [
        "*nat",
        ":PREROUTING ACCEPT [0:0]",
        ":INPUT ACCEPT [0:0]",
        ":OUTPUT ACCEPT [0:0]",
        ":POSTROUTING ACCEPT [0:0]",
    ]
    for nat in state.static_nat:
        public, guest = check_ip(nat.public_ip), check_ip(nat.guest_ip)
        out.append(f"-A PREROUTING -i {PUBLIC_IF} -d {public}/32 -j DNAT --to-destination {guest}")
    for pf in state.port_forwarding:
        public, guest = check_ip(pf.public_ip), check_ip(pf.guest_ip)
        match = protocol_match(pf.protocol, pf.public_ports, None, None)
        destination = _dnat_destination(guest, pf.public_ports, pf.private_ports)
        out.append(
            f"-A PREROUTING -i {PUBLIC_IF} -d {public}/32{match} -m comment --comment "
            f"{check_token(pf.uuid, 'rule id')} -j DNAT --to-destination {destination}"
        )
    for nat in state.static_nat:
        out.append(
            f"-A POSTROUTING -o {PUBLIC_IF} -s {nat.guest_ip}/32 "
            f"-j SNAT --to-source {nat.public_ip}"
        )
    snat = state.source_nat_ip
    if snat is not None and guest_cidr:
        out.append(
            f"-A POSTROUTING -o {PUBLIC_IF} -s {guest_cidr} -j SNAT "
            f"--to-source {check_ip(snat.address)}"
        )
    out.append("COMMIT")

    marked = f"-m mark --mark {FIREWALL_MARK}"
    out += [
        "*filter",
        ":INPUT DROP [0:0]",
        ":FORWARD DROP [0:0]",
        ":OUTPUT ACCEPT [0:0]",
        ":FW_EGRESS - [0:0]",
        "-A INPUT -i lo -j ACCEPT",
        "-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
        # Guests: DHCP, DNS, the metadata and password servers, ping.
        f"-A INPUT -i {GUEST_IF} -p udp -m udp --dport 67 -j ACCEPT",
        f"-A INPUT -i {GUEST_IF} -p udp -m udp --dport 53 -j ACCEPT",
        f"-A INPUT -i {GUEST_IF} -p tcp -m tcp --dport 53 -j ACCEPT",
        f"-A INPUT -i {GUEST_IF} -p tcp -m tcp --dport {METADATA_PORT} -j ACCEPT",
        f"-A INPUT -i {GUEST_IF} -p tcp -m tcp --dport {PASSWORD_PORT} -j ACCEPT",
        f"-A INPUT -i {GUEST_IF} -p icmp -j ACCEPT",
        # The management server configures the router over its control interface.
        f"-A INPUT -i {CONTROL_IF} -p tcp -m tcp --dport {CONTROL_SSH_PORT} -j ACCEPT",
        f"-A INPUT -i {CONTROL_IF} -p icmp -j ACCEPT",
        # Pings to a public address the firewall opened ICMP on.
        f"-A INPUT -i {PUBLIC_IF} -p icmp {marked} -j ACCEPT",
    ]
    for lb in state.load_balancers:
        out.append(
            f"-A INPUT -i {PUBLIC_IF} -d {check_ip(lb.public_ip)}/32 -p tcp -m tcp "
            f"--dport {lb.public_port} {marked} "
            f"-m comment --comment {check_token(lb.uuid, 'rule id')} -j ACCEPT"
        )
    vpn = state.vpn
    if vpn is not None:
        address = check_ip(vpn.public_ip)
        out += [
            f"-A INPUT -i {PUBLIC_IF} -d {address}/32 -p udp -m multiport --dports 500,4500 "
            "-j ACCEPT",
            f"-A INPUT -i {PUBLIC_IF} -d {address}/32 -p esp -j ACCEPT",
            f"-A INPUT -i {PUBLIC_IF} -d {address}/32 -p udp -m udp --dport 1701 "
            "-m policy --dir in --pol ipsec -j ACCEPT",
            "-A INPUT -i ppp+ -p udp -m udp --dport 53 -j ACCEPT",
            "-A INPUT -i ppp+ -p tcp -m tcp --dport 53 -j ACCEPT",
            "-A INPUT -i ppp+ -p icmp -j ACCEPT",
        ]
    out.append("-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT")
    for pf in state.port_forwarding:
        match = protocol_match(pf.protocol, pf.private_ports, None, None)
        out.append(
            f"-A FORWARD -i {PUBLIC_IF} -o {GUEST_IF} -d {pf.guest_ip}/32{match} {marked} "
            f"-m conntrack --ctstate DNAT -m comment --comment {pf.uuid} -j ACCEPT"
        )
    for nat in state.static_nat:
        out.append(
            f"-A FORWARD -i {PUBLIC_IF} -o {GUEST_IF} -d {nat.guest_ip}/32 {marked} "
            "-m conntrack --ctstate DNAT -j ACCEPT"
        )
    if vpn is not None:
        # VPN clients reach the guest network only (REQ-RAVPN-09), and the guests them.
        out += [
            f"-A FORWARD -i ppp+ -o {GUEST_IF} -j ACCEPT",
            f"-A FORWARD -i {GUEST_IF} -o ppp+ -j ACCEPT",
        ]
    out.append(f"-A FORWARD -i {GUEST_IF} -o {PUBLIC_IF} -j FW_EGRESS")
    for rule in egress:
        out += _firewall_lines("FW_EGRESS", rule, "ACCEPT")
    allow_by_default = network.egress_default_allow if network else True
    # 4.1: with the default policy "allow", egress is open until the first egress rule;
    # from then on (and always with "deny") only what the rules allow goes out.
    out.append(f"-A FW_EGRESS -j {'ACCEPT' if allow_by_default and not egress else 'DROP'}")
    out.append("COMMIT")
    return "\n".join(out) + "\n"
