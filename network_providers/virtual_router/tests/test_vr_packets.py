"""Real packets through the virtual router: what it renders, applied in a network
namespace through the ``netns://`` transport, checked with DHCP, DNS, HTTP and curl.

Topology (one per test module and worker)::

    g1 ─┐                         ┌── pub: 203.0.113.254 and .200 (the internet,
    g2 ─┼── sw:br0 ── vr:eth0 ... vr:eth2        and the zone's DNS server)
    g3 ─┘   (guest segment)    (router namespace)

The network is 10.1.1.0/24 (gateway 10.1.1.1, domain ``cs2cloud.internal``), its
public addresses 203.0.113.5 (source NAT) and 203.0.113.6. g1 and g2 run a web server
on port 8000 naming themselves; g3's NIC is not its VM's default one.

Each test states every rule set it relies on (the provider takes whole sets), so the
tests do not depend on each other's order.
"""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cumulo_vr.provider import VirtualRouter
from vr_testbed import NamespaceContext, NetnsBed, require_netns

from cumulo.sdk.network import (
    FirewallRule,
    GuestNic,
    LoadBalancerBackend,
    LoadBalancerRule,
    NetworkRef,
    PortForwardingRule,
    PortRange,
    ProviderRefused,
    PublicIp,
    RouterRef,
    StaticNatRule,
    StickinessPolicy,
)

SNAT_IP, NAT_IP = "203.0.113.5", "203.0.113.6"
INTERNET, OUTSIDER = "203.0.113.254", "203.0.113.200"
NETWORK = NetworkRef(
    uuid="0b1c1b6e-0000-4000-8000-000000000001",
    name="tenant-net",
    zone_uuid="zone-1",
    guest_type="Isolated",
    cidr="10.1.1.0/24",
    gateway="10.1.1.1",
    netmask="255.255.255.0",
    network_domain="cs2cloud.internal",
    dns=(INTERNET,),
    egress_default_allow=True,
)
PUBLIC_IPS = (
    PublicIp(SNAT_IP, "255.255.255.0", INTERNET, source_nat=True),
    PublicIp(NAT_IP, "255.255.255.0", INTERNET),
)
USER_DATA = b"#cloud-config\nhostname: web-1\n"
NICS = {
    "g1": GuestNic(
        vm_uuid="vm-1",
        instance_name="i-2-10-VM",
        hostname="web-1",
        mac_address="02:00:0a:01:01:0a",
        ip_address="10.1.1.10",
        user_data=base64.b64encode(USER_DATA).decode(),
        metadata={"instance-id": "i-2-10-VM", "local-hostname": "web-1"},
        password="s3cret-Pw",
    ),
    "g2": GuestNic(
        vm_uuid="vm-2",
        instance_name="i-2-11-VM",
        hostname="web-2",
        mac_address="02:00:0a:01:01:0b",
        ip_address="10.1.1.11",
    ),
    "g3": GuestNic(
        vm_uuid="vm-3",
        instance_name="i-2-12-VM",
        hostname="db-3",
        mac_address="02:00:0a:01:01:0c",
        ip_address="10.1.1.12",
        is_default=False,
    ),
}


@dataclass
class Router:
    bed: NetnsBed
    provider: VirtualRouter
    ctx: NamespaceContext
    vr: str
    pub: str
    guests: dict[str, str]
    leases: dict[str, str]
    internet_log: Path
    base: Path

    def firewall(self, *rules: FirewallRule) -> None:
        self.provider.apply_firewall_rules(self.ctx, NETWORK, rules)

    def forward(self, *rules: PortForwardingRule) -> None:
        self.provider.apply_port_forwarding(self.ctx, NETWORK, rules)

    def static_nat(self, *rules: StaticNatRule) -> None:
        self.provider.apply_static_nat(self.ctx, NETWORK, rules)

    def balance(self, *rules: LoadBalancerRule) -> None:
        self.provider.apply_load_balancers(self.ctx, NETWORK, rules)

    def from_public(self, url: str, source: str = INTERNET, *options: str) -> str | None:
        return self.bed.curl(self.pub, url, "--interface", source, *options)

    def from_guest(self, guest: str, url: str, *options: str) -> str | None:
        return self.bed.curl(self.guests[guest], url, *options)

    def generation(self) -> str:
        return (self.base / "generation").read_text().strip()


def allow(uuid: str, ip: str, port: int, *cidrs: str) -> FirewallRule:
    return FirewallRule(
        uuid, "tcp", PortRange(port, port), cidrs=cidrs or ("0.0.0.0/0",), public_ip=ip
    )


@pytest.fixture(scope="module")
def router() -> Iterator[Router]:
    require_netns()
    bed = NetnsBed()
    try:
        sw, vr, pub = bed.namespace("sw"), bed.namespace("vr"), bed.namespace("pub")
        bed.bridge(sw)
        bed.veth(vr, "eth0", sw, "p-vr")
        bed.plug(sw, "p-vr")
        bed.veth(vr, "eth2", pub, "eth0")
        bed.address(pub, "eth0", f"{INTERNET}/24")
        bed.address(pub, "eth0", f"{OUTSIDER}/24")
        guests = {}
        for name, nic in {**NICS, "g4": None}.items():
            ns = bed.namespace(name)
            mac = nic.mac_address if nic else "02:00:0a:01:01:99"
            bed.veth(ns, "eth0", sw, f"p-{name}", mac=mac)
            bed.plug(sw, f"p-{name}")
            guests[name] = ns
        # The zone's DNS server, which the router forwards other names to.
        bed.spawn(
            pub,
            [
                "dnsmasq",
                "--keep-in-foreground",
                "--conf-file=/dev/null",
                "--user=root",
                f"--listen-address={INTERNET}",
                "--bind-interfaces",
                "--no-resolv",
                "--no-hosts",
                "--address=/www.example.test/192.0.2.80",
                "--pid-file=",
            ],
            "zone-dns.log",
        )
        internet_log = bed.http_server(pub, INTERNET, 8080, "internet-8080")
        bed.http_server(pub, INTERNET, 9090, "internet-9090")

        base_dir = bed.work / "router"
        ref = RouterRef(
            uuid="router-1",
            instance_name="r-4-VM",
            guest_ip=NETWORK.gateway,
            public_ip=SNAT_IP,
            access_uri=f"netns://{vr}?dir={base_dir}",
        )
        ctx = NamespaceContext(ref)
        provider = VirtualRouter()
        provider.implement(ctx, NETWORK, PUBLIC_IPS)
        for nic in NICS.values():
            provider.prepare(ctx, NETWORK, nic)
        leases = {name: bed.dhcp(guests[name]) for name in NICS}
        for name in ("g1", "g2"):
            bed.http_server(guests[name], NICS[name].ip_address, 8000, f"backend-{name}")
        yield Router(bed, provider, ctx, vr, pub, guests, leases, internet_log, base_dir / "vr")
        provider.destroy(ctx, NETWORK)
    finally:
        bed.close()


def test_dhcp_gives_each_guest_exactly_its_allocated_address(router: Router) -> None:
    """REQ-GN-03, REQ-DNS-04, REQ-DNS-05: the reserved address, the gateway and DNS
    server for default NICs, the network domain."""
    assert router.leases["g1"] == (
        "lease ip=10.1.1.10 mask=24 router=10.1.1.1 dns=10.1.1.1 domain=cs2cloud.internal"
    )
    assert router.leases["g2"].startswith("lease ip=10.1.1.11 mask=24 router=10.1.1.1 ")


def test_a_non_default_nic_gets_no_gateway_nor_dns(router: Router) -> None:
    """REQ-GN-09: only the default network's DHCP reply sets the default gateway."""
    assert router.leases["g3"] == "lease ip=10.1.1.12 mask=24 router= dns= domain=cs2cloud.internal"


def test_an_unknown_mac_gets_no_address(router: Router) -> None:
    """DHCP is static: only NICs the core allocated get a lease."""
    assert router.bed.dhcp(router.guests["g4"]) == ""


def test_guests_resolve_each_other_and_the_zone_dns_answers_the_rest(router: Router) -> None:
    """REQ-GN-06, REQ-DNS-01, REQ-DNS-02."""
    answer = router.bed.resolve(router.guests["g1"], "web-2.cs2cloud.internal", "10.1.1.1")
    assert "10.1.1.11" in answer
    answer = router.bed.resolve(router.guests["g2"], "db-3.cs2cloud.internal", "10.1.1.1")
    assert "10.1.1.12" in answer
    forwarded = router.bed.resolve(router.guests["g1"], "www.example.test", "10.1.1.1")
    assert "192.0.2.80" in forwarded


def test_port_forwarding_admits_a_connection_and_its_removal_blocks_it(router: Router) -> None:
    """REQ-PF-01, REQ-FW-01: denied until a firewall rule and a forwarding rule exist."""
    router.static_nat()
    router.balance()
    url = f"http://{SNAT_IP}:2222/"
    router.firewall()
    router.forward(
        PortForwardingRule(
            "pf-1", SNAT_IP, "tcp", PortRange(2222, 2222), "10.1.1.10", PortRange(8000, 8000)
        )
    )
    assert router.from_public(url) is None  # no firewall rule: the port stays shut

    router.firewall(allow("fw-1", SNAT_IP, 2222))
    assert router.from_public(url) == "backend-g1"

    router.forward()
    assert router.from_public(url) is None


def test_a_forwarded_port_range_maps_port_to_port(router: Router) -> None:
    router.firewall(FirewallRule("fw-r", "tcp", PortRange(7000, 7001), public_ip=SNAT_IP))
    router.forward(
        PortForwardingRule(
            "pf-r", SNAT_IP, "tcp", PortRange(7000, 7001), "10.1.1.11", PortRange(7999, 8000)
        )
    )
    assert router.from_public(f"http://{SNAT_IP}:7001/") == "backend-g2"
    assert router.from_public(f"http://{SNAT_IP}:7000/") is None  # 7999: nothing listens
    router.forward()


def test_a_firewall_cidr_restriction_holds(router: Router) -> None:
    """REQ-FW-03: a rule opens its port to its source CIDRs only."""
    router.forward(
        PortForwardingRule(
            "pf-1", SNAT_IP, "tcp", PortRange(2222, 2222), "10.1.1.10", PortRange(8000, 8000)
        )
    )
    router.firewall(allow("fw-2", SNAT_IP, 2222, f"{INTERNET}/32"))
    url = f"http://{SNAT_IP}:2222/"
    assert router.from_public(url, INTERNET) == "backend-g1"
    assert router.from_public(url, OUTSIDER) is None
    router.forward()


def test_static_nat_maps_both_ways(router: Router) -> None:
    """REQ-NAT-01 (and REQ-GN-04: the other guests still leave through source NAT)."""
    router.forward()
    router.static_nat(StaticNatRule(NAT_IP, "10.1.1.11", "vm-2"))
    router.firewall(allow("fw-3", NAT_IP, 8000))
    assert router.from_public(f"http://{NAT_IP}:8000/") == "backend-g2"

    before = router.internet_log.read_text().count("\n")
    assert router.from_guest("g2", f"http://{INTERNET}:8080/") == "internet-8080"
    assert router.from_guest("g1", f"http://{INTERNET}:8080/") == "internet-8080"
    seen = [line.split()[0] for line in router.internet_log.read_text().splitlines()[before:]]
    assert seen == [NAT_IP, SNAT_IP]

    router.static_nat()
    assert router.from_public(f"http://{NAT_IP}:8000/") is None


def _backends(router: Router, count: int, *options: str) -> list[str | None]:
    return [router.from_public(f"http://{SNAT_IP}/", INTERNET, *options) for _ in range(count)]


def _lb(algorithm: str, stickiness: StickinessPolicy | None = None) -> LoadBalancerRule:
    return LoadBalancerRule(
        uuid="lb-1",
        name="web",
        public_ip=SNAT_IP,
        public_port=80,
        private_port=8000,
        algorithm=algorithm,
        backends=(
            LoadBalancerBackend("vm-1", "10.1.1.10"),
            LoadBalancerBackend("vm-2", "10.1.1.11"),
        ),
        stickiness=stickiness,
    )


def test_round_robin_spreads_over_two_backends(router: Router) -> None:
    """REQ-LB-03."""
    router.firewall(allow("fw-lb", SNAT_IP, 80))
    router.balance(_lb("roundrobin"))
    router.bed.wait_for(
        lambda: set(_backends(router, 2)) == {"backend-g1", "backend-g2"}, "both backends"
    )
    answers = _backends(router, 4)
    assert answers.count("backend-g1") == 2 and answers.count("backend-g2") == 2


def test_source_stickiness_sticks(router: Router) -> None:
    """REQ-LB-01: with SourceBased stickiness one client always reaches one backend."""
    router.firewall(allow("fw-lb", SNAT_IP, 80))
    router.balance(_lb("roundrobin", StickinessPolicy("sticky", "SourceBased", {"expire": "30m"})))
    router.bed.wait_for(lambda: _backends(router, 1)[0] is not None, "the balancer")
    answers = _backends(router, 6)
    assert len(set(answers)) == 1 and answers[0] in ("backend-g1", "backend-g2")


def test_lb_cookie_stickiness_sticks(router: Router) -> None:
    """REQ-LB-01: LbCookie — the balancer's cookie brings the client back."""
    router.firewall(allow("fw-lb", SNAT_IP, 80))
    router.balance(
        _lb(
            "roundrobin",
            StickinessPolicy("c", "LbCookie", {"cookie-name": "SRV", "nocache": "true"}),
        )
    )
    jar = router.bed.work / "cookies.txt"
    router.bed.wait_for(lambda: _backends(router, 1)[0] is not None, "the balancer")
    answers = _backends(router, 5, "-b", str(jar), "-c", str(jar))
    assert len(set(answers)) == 1 and answers[0] in ("backend-g1", "backend-g2")
    assert "SRV" in jar.read_text()


def test_an_egress_rule_blocks_and_allows(router: Router) -> None:
    """REQ-FW-07: with the default policy "allow", everything goes out until the first
    egress rule; then only what the rules allow; with "deny", nothing without a rule."""
    router.firewall()
    assert router.from_guest("g1", f"http://{INTERNET}:9090/") == "internet-9090"

    router.firewall(FirewallRule("eg-1", "tcp", PortRange(8080, 8080), cidrs=("10.1.1.0/24",)))
    assert router.from_guest("g1", f"http://{INTERNET}:8080/") == "internet-8080"
    assert router.from_guest("g1", f"http://{INTERNET}:9090/") is None

    closed = dataclasses.replace(NETWORK, egress_default_allow=False)
    router.provider.apply_firewall_rules(router.ctx, closed, ())
    assert router.from_guest("g1", f"http://{INTERNET}:8080/") is None
    router.provider.apply_firewall_rules(router.ctx, NETWORK, ())
    assert router.from_guest("g1", f"http://{INTERNET}:9090/") == "internet-9090"


def test_a_guest_reads_its_userdata_and_metadata_from_the_router(router: Router) -> None:
    base = "http://10.1.1.1/latest"
    assert router.from_guest("g1", f"{base}/user-data") == USER_DATA.decode().strip()
    assert (router.from_guest("g1", f"{base}/meta-data/") or "").split() == [
        "instance-id",
        "local-hostname",
    ]
    assert router.from_guest("g1", f"{base}/meta-data/local-hostname") == "web-1"
    assert router.from_guest("g1", f"{base}/instance-id") == "i-2-10-VM"  # 4.1's short form
    assert router.from_guest("g2", f"{base}/user-data") is None  # g2 has none


def test_the_password_is_served_until_the_guest_saved_it(router: Router) -> None:
    url = "http://10.1.1.1:8080/"
    ask = ("-H", "DomU_Request: send_my_password")
    assert router.from_guest("g1", url, *ask) == "s3cret-Pw"
    assert router.from_guest("g2", url, *ask) == "saved_password"
    assert router.from_guest("g1", url, "-H", "DomU_Request: saved_password") == "saved_password"
    assert router.from_guest("g1", url, *ask) == "saved_password"


def test_reapplying_the_same_sets_changes_nothing(router: Router) -> None:
    router.firewall(allow("fw-1", SNAT_IP, 2222))
    generation = router.generation()
    rules = router.bed.run(router.vr, "iptables-save", "-t", "nat").stdout
    router.firewall(allow("fw-1", SNAT_IP, 2222))
    router.provider.apply_source_nat(router.ctx, NETWORK, tuple(reversed(PUBLIC_IPS)))
    assert router.generation() == generation
    after = router.bed.run(router.vr, "iptables-save", "-t", "nat").stdout
    assert _rules_only(after) == _rules_only(rules)


def _rules_only(saved: str) -> list[str]:
    return [line for line in saved.splitlines() if not line.startswith("#")]


def test_a_ruleset_iptables_refuses_leaves_the_previous_one_in_force(router: Router) -> None:
    router.forward(
        PortForwardingRule(
            "pf-1", SNAT_IP, "tcp", PortRange(2222, 2222), "10.1.1.10", PortRange(8000, 8000)
        )
    )
    router.firewall(allow("fw-1", SNAT_IP, 2222))
    generation = router.generation()
    bogus = FirewallRule("fw-bad", "icmp", icmp_type=300, icmp_code=0, public_ip=SNAT_IP)
    with pytest.raises(ProviderRefused, match="iptables-restore"):
        router.firewall(allow("fw-1", SNAT_IP, 2222), bogus)
    assert router.generation() == generation
    assert router.from_public(f"http://{SNAT_IP}:2222/") == "backend-g1"
    router.forward()


def test_a_released_nic_is_no_longer_served(router: Router) -> None:
    nic = NICS["g2"]
    router.provider.release(router.ctx, NETWORK, nic)
    try:
        assert "10.1.1.11" not in router.bed.resolve(
            router.guests["g1"], "web-2.cs2cloud.internal", "10.1.1.1"
        )
    finally:
        router.provider.prepare(router.ctx, NETWORK, nic)
    assert "10.1.1.11" in router.bed.resolve(
        router.guests["g1"], "web-2.cs2cloud.internal", "10.1.1.1"
    )
