"""Sample network states for the virtual router's rendering tests."""

from __future__ import annotations

import base64

from cumulo_vr.state import RouterState

from cumulo.sdk.network import (
    FirewallRule,
    GuestNic,
    LoadBalancerBackend,
    LoadBalancerRule,
    NetworkRef,
    PortForwardingRule,
    PortRange,
    PublicIp,
    RemoteAccessVpn,
    RouterRef,
    StaticNatRule,
    StickinessPolicy,
    VpnUser,
)

NETWORK = NetworkRef(
    uuid="net-1",
    name="tenant",
    zone_uuid="zone-1",
    guest_type="Isolated",
    cidr="10.1.1.0/24",
    gateway="10.1.1.1",
    netmask="255.255.255.0",
    network_domain="cs2cloud.internal",
    dns=("192.0.2.53", "192.0.2.54"),
)
SNAT = PublicIp("203.0.113.5", "255.255.255.0", "203.0.113.1", source_nat=True)
EXTRA = PublicIp("203.0.113.6", "255.255.255.0", "203.0.113.1")
ROUTER = RouterRef("router-1", "r-4-VM", "10.1.1.1", "203.0.113.5", "169.254.3.4", "file:///x")


def nic(index: int, *, default: bool = True, user_data: bytes | None = None) -> GuestNic:
    return GuestNic(
        vm_uuid=f"vm-{index}",
        instance_name=f"i-2-{index}-VM",
        hostname=f"Web {index}",
        mac_address=f"02:00:00:00:00:{index:02x}",
        ip_address=f"10.1.1.{10 + index}",
        is_default=default,
        user_data=base64.b64encode(user_data).decode() if user_data is not None else None,
        metadata={"instance-id": f"i-2-{index}-VM", "local-hostname": f"web-{index}"},
    )


def full_state() -> RouterState:
    """A network using every service."""
    nics = (nic(1, user_data=b"#!/bin/sh\necho hi\n"), nic(2), nic(3, default=False))
    return RouterState(
        network=NETWORK,
        router=ROUTER,
        public_ips=(SNAT, EXTRA),
        nics=nics,
        firewall=(
            FirewallRule(
                "fw-ssh", "tcp", PortRange(22, 22), cidrs=("192.0.2.0/24",), public_ip=SNAT.address
            ),
            FirewallRule("fw-web", "tcp", PortRange(80, 81), public_ip=SNAT.address),
            FirewallRule("fw-ping", "icmp", icmp_type=8, icmp_code=-1, public_ip=EXTRA.address),
            FirewallRule("eg-dns", "udp", PortRange(53, 53), cidrs=("10.1.1.0/24",)),
        ),
        port_forwarding=(
            PortForwardingRule(
                "pf-ssh", SNAT.address, "tcp", PortRange(2222, 2222), "10.1.1.11", PortRange(22, 22)
            ),
            PortForwardingRule(
                "pf-range",
                SNAT.address,
                "udp",
                PortRange(5000, 5009),
                "10.1.1.12",
                PortRange(6000, 6009),
            ),
        ),
        static_nat=(StaticNatRule(EXTRA.address, "10.1.1.13", "vm-3"),),
        load_balancers=(
            LoadBalancerRule(
                "lb-web",
                "web",
                SNAT.address,
                80,
                8080,
                "leastconn",
                backends=(
                    LoadBalancerBackend("vm-1", "10.1.1.11"),
                    LoadBalancerBackend("vm-2", "10.1.1.12"),
                ),
                stickiness=StickinessPolicy(
                    "s", "AppCookie", {"cookie-name": "JSESSIONID", "holdtime": "30m"}
                ),
            ),
        ),
        vpn=RemoteAccessVpn(
            SNAT.address,
            "10.1.2.1-10.1.2.20",
            "10.1.2.1",
            "Pre-Shared-Key-1",
            (VpnUser("alice", "alice-pw"), VpnUser("bob", "bob-pw")),
        ),
    )
