"""dnsmasq: DHCP reservations and DNS for the guests (REQ-GN-03, REQ-GN-06, CAP-29).

Three files. ``dnsmasq.conf`` holds what changes only with the network (interface,
domain, upstream servers, options); the reservations (``dhcp-hosts``) and the names
(``names``) change with every VM and are files dnsmasq re-reads on ``SIGHUP``, so a VM
starting costs a reload, not a restart.

- DHCP is ``static``: only reserved MACs get an address, and exactly the address the
  core allocated (4.1's router does the same), leased for ever.
- Only a VM's default NIC gets the gateway (the network's) and DNS server (the
  router) options (REQ-GN-09, REQ-DNS-05): a non-default NIC's reservation carries
  the ``nondefault`` tag, for which both options are sent empty, i.e. not at all.
- Names: every NIC's ``<hostname>.<network_domain>`` resolves to its address; the
  domain is answered locally, everything else is forwarded to the zone's DNS servers
  (REQ-DNS-02). The domain is handed out by DHCP (REQ-DNS-04).
"""

from __future__ import annotations

import ipaddress
import re

from cumulo.sdk.network import GuestNic, ProviderRefused
from cumulo_vr.layout import (
    DNSMASQ_DHCP_HOSTS,
    DNSMASQ_NAMES,
    GUEST_IF,
    RUN_DIR,
)
from cumulo_vr.render.checks import check_ip, check_token, prefix_length
from cumulo_vr.state import RouterState

_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
_HOST_LABEL = re.compile(r"[^a-z0-9-]+")


def host_label(nic: GuestNic) -> str:
    """The DNS label of a NIC's VM: its host name made a valid label (lower case,
    letters, digits and hyphens), else its instance name."""
    label = _HOST_LABEL.sub("-", nic.hostname.lower()).strip("-")[:63]
    return label or _HOST_LABEL.sub("-", nic.instance_name.lower()).strip("-")[:63]


def _mac(nic: GuestNic) -> str:
    mac = nic.mac_address.lower()
    if not _MAC.match(mac):
        raise ProviderRefused(f"invalid MAC address {nic.mac_address!r}")
    return mac


def render_dnsmasq_conf(state: RouterState, base: str) -> str:
    """``dnsmasq.conf`` for the network (empty network: DHCP and DNS off)."""
    network = state.network
    lines = [
        f"# cumulo virtual router of network {network.uuid if network else '-'}: "
        "rendered from the network's state, do not edit",
        "user=root",
        f"pid-file={base}/{RUN_DIR}/dnsmasq.pid",
        f"log-facility={base}/{RUN_DIR}/dnsmasq.log",
        f"interface={GUEST_IF}",
        "bind-interfaces",
        "except-interface=lo",
        "no-resolv",
        "no-hosts",
        "no-negcache",
        f"addn-hosts={base}/{DNSMASQ_NAMES}",
    ]
    if network is None:
        return "\n".join(lines) + "\n"
    lines += [f"server={check_ip(server)}" for server in network.dns if server]
    domain = network.network_domain
    if domain:
        check_token(domain, "network domain")
        lines += [f"domain={domain}", f"local=/{domain}/", "expand-hosts"]
    subnet = ipaddress.IPv4Network(f"{network.cidr}", strict=False)
    gateway = check_ip(network.gateway)
    router = check_ip(state.router_address)
    netmask = str(ipaddress.IPv4Network(f"0.0.0.0/{prefix_length(network.netmask)}").netmask)
    lines += [
        f"dhcp-range=set:guest,{subnet.network_address},static,{netmask},infinite",
        f"dhcp-hostsfile={base}/{DNSMASQ_DHCP_HOSTS}",
        f"dhcp-leasefile={base}/{RUN_DIR}/dnsmasq.leases",
        "dhcp-authoritative",
        f"dhcp-option=tag:!nondefault,option:router,{gateway}",
        f"dhcp-option=tag:!nondefault,option:dns-server,{router}",
        "dhcp-option=tag:nondefault,option:router",
        "dhcp-option=tag:nondefault,option:dns-server",
    ]
    if domain:
        lines.append(f"dhcp-option=option:domain-name,{domain}")
    return "\n".join(lines) + "\n"


def render_dhcp_hosts(state: RouterState) -> str:
    """The reservations: ``mac[,set:nondefault],ip,hostname,infinite`` per NIC."""
    lines = []
    for nic in state.nics:
        tag = "" if nic.is_default else "set:nondefault,"
        lines.append(f"{_mac(nic)},{tag}{check_ip(nic.ip_address)},{host_label(nic)},infinite")
    return "".join(line + "\n" for line in lines)


def render_names(state: RouterState) -> str:
    """``addn-hosts``: ``ip fqdn label`` per NIC, so names resolve before a lease."""
    domain = state.network.network_domain if state.network else ""
    lines = []
    for nic in state.nics:
        label = host_label(nic)
        fqdn = f"{label}.{domain}" if domain else label
        lines.append(f"{check_ip(nic.ip_address)} {fqdn} {label}")
    return "".join(line + "\n" for line in lines)
