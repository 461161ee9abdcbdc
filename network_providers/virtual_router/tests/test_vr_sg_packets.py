"""Security groups with real packets: the ``SecurityGroupProvider``'s chains applied on
a bridge (the "host" namespace), as 4.1 applies them on a hypervisor host's bridge.

Topology::

    g1 (10.2.0.11) ─┐
    g2 (10.2.0.12) ─┼── host:br0 ── client (10.2.0.100 and 10.2.0.200)
                    (the chains live here)

g1 and g2 serve HTTP on ports 8000 and 8001, the client on 9000 and 9001.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from cumulo_vr.sg_provider import SecurityGroupProvider
from vr_testbed import NamespaceContext, NetnsBed, require_netns

from cumulo.sdk.network import (
    GuestNic,
    NetworkRef,
    PortRange,
    RouterRef,
    SecurityGroupRule,
    VmSecurityRules,
)

NETWORK = NetworkRef(
    uuid="5e0c0000-0000-4000-8000-000000000002",
    name="basic-zone-guest-network",
    zone_uuid="zone-basic",
    guest_type="Shared",
    cidr="10.2.0.0/24",
    gateway="10.2.0.1",
    netmask="255.255.255.0",
)
ALLOWED, OTHER = "10.2.0.100", "10.2.0.200"
VMS = {
    "g1": VmSecurityRules("vm-sg-1", "i-3-21-VM", "02:00:0b:00:00:11", "10.2.0.11"),
    "g2": VmSecurityRules("vm-sg-2", "i-3-22-VM", "02:00:0b:00:00:12", "10.2.0.12"),
}


@dataclass
class Host:
    bed: NetnsBed
    provider: SecurityGroupProvider
    ctx: NamespaceContext
    host: str
    ns: dict[str, str]
    released: set[str] = dataclasses.field(default_factory=set)

    def rules(self, **rules: tuple[SecurityGroupRule, ...]) -> None:
        """The network's whole set: every VM, with the rules given (none: the default
        group, which allows nothing in)."""
        self.provider.apply_security_groups(
            self.ctx,
            NETWORK,
            tuple(
                dataclasses.replace(entry, rules=rules.get(name, ()))
                for name, entry in VMS.items()
                if name not in self.released
            ),
        )

    def get(self, source: str, address: str, port: int, interface: str = "") -> str | None:
        options = ("--interface", interface) if interface else ()
        return self.bed.curl(self.ns[source], f"http://{address}:{port}/", *options, timeout=1)


def tcp(uuid: str, direction: str, port: int, *cidrs: str) -> SecurityGroupRule:
    return SecurityGroupRule(uuid, direction, "tcp", PortRange(port, port), cidrs=cidrs)


@pytest.fixture(scope="module")
def host() -> Iterator[Host]:
    require_netns()
    bed = NetnsBed()
    try:
        host_ns = bed.namespace("host")
        bed.bridge(host_ns)
        names = {}
        for name, address, mac in (
            ("g1", "10.2.0.11/24", VMS["g1"].mac_address),
            ("g2", "10.2.0.12/24", VMS["g2"].mac_address),
            ("client", f"{ALLOWED}/24", None),
        ):
            ns = bed.namespace(name)
            bed.veth(ns, "eth0", host_ns, f"p-{name}", mac=mac)
            bed.plug(host_ns, f"p-{name}")
            bed.address(ns, "eth0", address)
            names[name] = ns
        bed.address(names["client"], "eth0", f"{OTHER}/24")
        for name in ("g1", "g2"):
            for port in (8000, 8001):
                bed.http_server(names[name], VMS[name].ip_address, port, f"{name}-{port}")
        for port in (9000, 9001):
            bed.http_server(names["client"], ALLOWED, port, f"client-{port}")
        ref = RouterRef(
            uuid="host-1",
            instance_name="host-1",
            guest_ip="",
            access_uri=f"netns://{host_ns}?dir={bed.work / 'host'}",
        )
        ctx = NamespaceContext(ref)
        provider = SecurityGroupProvider()
        provider.implement(ctx, NETWORK, ())
        yield Host(bed, provider, ctx, host_ns, names)
        provider.destroy(ctx, NETWORK)
        assert "sg-" not in bed.run(host_ns, "iptables-save", "-t", "filter").stdout
    finally:
        bed.close()


def test_the_default_group_refuses_ingress_and_allows_egress(host: Host) -> None:
    """REQ-SG-01, REQ-SG-05: no ingress rule, nothing in (but replies to what went out)."""
    host.rules()
    assert host.get("client", "10.2.0.11", 8000) is None
    assert host.get("g2", "10.2.0.11", 8000) is None
    assert host.get("g1", ALLOWED, 9000) == "client-9000"
    assert host.get("g1", ALLOWED, 9001) == "client-9001"


def test_an_authorised_cidr_gets_through_and_no_other(host: Host) -> None:
    """REQ-SG-07: TCP 8000 from one CIDR opens that port to that CIDR only."""
    host.rules(g1=(tcp("in-1", "ingress", 8000, f"{ALLOWED}/32"),))
    assert host.get("client", "10.2.0.11", 8000, ALLOWED) == "g1-8000"
    assert host.get("client", "10.2.0.11", 8000, OTHER) is None
    assert host.get("client", "10.2.0.11", 8001, ALLOWED) is None


def test_egress_rules_restrict_what_leaves(host: Host) -> None:
    """REQ-SG-06: once an egress rule exists only what it allows goes out."""
    host.rules(g1=(tcp("out-1", "egress", 9000, f"{ALLOWED}/32"),))
    assert host.get("g1", ALLOWED, 9000) == "client-9000"
    assert host.get("g1", ALLOWED, 9001) is None
    assert host.get("g2", ALLOWED, 9001) == "client-9001"  # g2's groups have no egress rule
    host.rules()
    assert host.get("g1", ALLOWED, 9001) == "client-9001"


def test_vm_to_vm_traffic_passes_the_receivers_ingress_rules(host: Host) -> None:
    """REQ-SG-07: a group's members as a source (resolved to their addresses)."""
    host.rules()
    assert host.get("g2", "10.2.0.11", 8000) is None
    host.rules(g1=(tcp("in-vm", "ingress", 8000, "10.2.0.12/32"),))
    assert host.get("g2", "10.2.0.11", 8000) == "g1-8000"


def test_a_vm_cannot_send_from_an_address_that_is_not_its_own(host: Host) -> None:
    host.rules()
    host.bed.address(host.ns["g2"], "eth0", "10.2.0.50/24")
    try:
        assert host.get("g2", ALLOWED, 9000, "10.2.0.12") == "client-9000"
        assert host.get("g2", ALLOWED, 9000, "10.2.0.50") is None
    finally:
        host.bed.run(host.ns["g2"], "ip", "addr", "del", "10.2.0.50/24", "dev", "eth0")


def test_a_released_vm_loses_its_chains(host: Host) -> None:
    host.rules()
    assert host.get("client", "10.2.0.11", 8001) is None
    nic = GuestNic("vm-sg-1", "i-3-21-VM", "g1", VMS["g1"].mac_address, "10.2.0.11")
    host.provider.release(host.ctx, NETWORK, nic)
    host.released.add("g1")
    # Nothing of cumulo's filters g1 any more: the host's own policy (accept) applies.
    assert host.get("client", "10.2.0.11", 8001) == "g1-8001"
    saved = host.bed.run(host.host, "iptables-save", "-t", "filter").stdout
    assert "i-3-21-VM" not in saved and "i-3-22-VM" in saved
    host.released.clear()
    host.rules()
    assert host.get("client", "10.2.0.11", 8001) is None
