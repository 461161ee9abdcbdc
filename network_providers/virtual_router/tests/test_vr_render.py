"""The virtual router's configuration is a pure, deterministic rendering of its state."""

from __future__ import annotations

import dataclasses
import json
import random

import pytest
from cumulo_vr.capabilities import VIRTUAL_ROUTER_CAPABILITIES
from cumulo_vr.render import VirtualRouterRenderer, render_router
from cumulo_vr.render.dnsmasq import render_dhcp_hosts, render_dnsmasq_conf, render_names
from cumulo_vr.render.guestdata import render_guest_data
from cumulo_vr.render.haproxy import render_haproxy
from cumulo_vr.render.iptables import render_iptables
from cumulo_vr.render.scripts import render_interfaces
from cumulo_vr.render.vpn import (
    render_chap_secrets,
    render_ipsec_conf,
    render_ipsec_secrets,
    render_xl2tpd_conf,
)
from cumulo_vr.state import RouterState, state_documents, state_from_documents
from vr_samples import EXTRA, NETWORK, SNAT, full_state, nic

from cumulo.sdk.network import (
    FirewallRule,
    LoadBalancerBackend,
    LoadBalancerRule,
    PortForwardingRule,
    PortRange,
    ProviderRefused,
    RemoteAccessVpn,
    RouterRef,
    Service,
    StickinessPolicy,
    VpnUser,
)

BASE = "/var/lib/cumulo/vr"


def _shuffled(state: RouterState, seed: int) -> RouterState:
    rng = random.Random(seed)

    def mix(items: tuple[object, ...]) -> tuple[object, ...]:
        listed = list(items)
        rng.shuffle(listed)
        return tuple(listed)

    return dataclasses.replace(
        state,
        public_ips=mix(state.public_ips),  # type: ignore[arg-type]
        nics=mix(state.nics),  # type: ignore[arg-type]
        firewall=mix(state.firewall),  # type: ignore[arg-type]
        port_forwarding=mix(state.port_forwarding),  # type: ignore[arg-type]
        load_balancers=tuple(
            dataclasses.replace(lb, backends=mix(lb.backends))  # type: ignore[arg-type]
            for lb in state.load_balancers
        ),
    )


def test_the_same_state_renders_byte_identical_files_whatever_the_order() -> None:
    state = full_state()
    reference = render_router(state, BASE)
    for seed in range(5):
        assert render_router(_shuffled(state, seed), BASE) == reference


def test_the_state_survives_its_documents() -> None:
    state = full_state()
    rebuilt = state_from_documents(state_documents(state.canonical()))
    assert rebuilt == state.canonical()
    assert render_router(rebuilt, BASE) == render_router(state, BASE)


def test_passwords_never_reach_the_state() -> None:
    state = dataclasses.replace(full_state(), nics=(dataclasses.replace(nic(1), password="pw-1"),))
    documents = render_router(state, BASE)
    assert all(b"pw-1" not in content for content in documents.values())


# ---- iptables -------------------------------------------------------------------------


def test_ingress_firewall_marks_allowed_connections_per_public_ip() -> None:
    """REQ-FW-01, REQ-FW-03: a chain per public IP, one mark rule per rule and CIDR."""
    rules = render_iptables(full_state().canonical())
    assert "-A PREROUTING -i eth2 -m conntrack --ctstate NEW -j FW_INGRESS" in rules
    assert "-A FW_INGRESS -d 203.0.113.5/32 -j FW_203_0_113_5" in rules
    assert (
        "-A FW_203_0_113_5 -s 192.0.2.0/24 -p tcp -m tcp --dport 22 -m comment --comment fw-ssh "
        "-j MARK --set-xmark 0x1/0x1" in rules
    )
    assert "-A FW_203_0_113_5 -p tcp -m tcp --dport 80:81 -m comment --comment fw-web" in rules
    assert "-A FW_203_0_113_6 -p icmp -m icmp --icmp-type 8 -m comment" in rules
    assert ":INPUT DROP [0:0]" in rules and ":FORWARD DROP [0:0]" in rules


def test_port_forwarding_is_dnat_plus_a_forward_accept_behind_the_firewall() -> None:
    rules = render_iptables(full_state().canonical())
    assert (
        "-A PREROUTING -i eth2 -d 203.0.113.5/32 -p tcp -m tcp --dport 2222 -m comment --comment "
        "pf-ssh -j DNAT --to-destination 10.1.1.11:22" in rules
    )
    assert (
        "-A FORWARD -i eth2 -o eth0 -d 10.1.1.11/32 -p tcp -m tcp --dport 22 -m mark --mark "
        "0x1/0x1 -m conntrack --ctstate DNAT -m comment --comment pf-ssh -j ACCEPT" in rules
    )
    # A shifted range maps port to port.
    assert (
        "--dport 5000:5009 -m comment --comment pf-range "
        "-j DNAT --to-destination 10.1.1.12:6000-6009/5000" in rules
    )


@pytest.mark.parametrize(
    ("public", "private", "destination"),
    [
        ((80, 80), (8080, 8080), "10.1.1.11:8080"),
        ((100, 110), (100, 110), "10.1.1.11"),
        ((100, 110), (200, 210), "10.1.1.11:200-210/100"),
    ],
)
def test_forwarded_ranges(
    public: tuple[int, int], private: tuple[int, int], destination: str
) -> None:
    rule = PortForwardingRule(
        "pf", SNAT.address, "tcp", PortRange(*public), "10.1.1.11", PortRange(*private)
    )
    rules = render_iptables(RouterState(network=NETWORK, port_forwarding=(rule,)))
    assert f"-j DNAT --to-destination {destination}\n" in rules


def test_static_nat_translates_both_ways_and_source_nat_the_rest() -> None:
    """REQ-NAT-01, REQ-GN-04."""
    rules = render_iptables(full_state().canonical())
    assert "-A PREROUTING -i eth2 -d 203.0.113.6/32 -j DNAT --to-destination 10.1.1.13" in rules
    snat_vm = "-A POSTROUTING -o eth2 -s 10.1.1.13/32 -j SNAT --to-source 203.0.113.6"
    snat_net = "-A POSTROUTING -o eth2 -s 10.1.1.0/24 -j SNAT --to-source 203.0.113.5"
    assert snat_vm in rules and snat_net in rules
    assert rules.index(snat_vm) < rules.index(snat_net)


@pytest.mark.parametrize(
    ("default_allow", "egress", "tail"),
    [
        (True, (), "-A FW_EGRESS -j ACCEPT"),
        (
            True,
            (FirewallRule("eg", "tcp", PortRange(80, 80), cidrs=("10.1.1.0/24",)),),
            "-A FW_EGRESS -j DROP",
        ),
        (False, (), "-A FW_EGRESS -j DROP"),
    ],
)
def test_egress_follows_the_default_policy(
    default_allow: bool, egress: tuple[FirewallRule, ...], tail: str
) -> None:
    """REQ-FW-07 (A-23: the default comes from the network's offering)."""
    network = dataclasses.replace(NETWORK, egress_default_allow=default_allow)
    rules = render_iptables(RouterState(network=network, firewall=egress))
    assert "-A FORWARD -i eth0 -o eth2 -j FW_EGRESS" in rules
    assert rules.splitlines()[-2] == tail
    if egress:
        assert (
            "-A FW_EGRESS -s 10.1.1.0/24 -p tcp -m tcp --dport 80 -m comment --comment eg -j ACCEPT"
            in rules
        )


@pytest.mark.parametrize(
    "rule",
    [
        FirewallRule("bad", "tcp", PortRange(90, 80), public_ip=SNAT.address),
        FirewallRule("bad", "gre", public_ip=SNAT.address),
        FirewallRule("bad", "tcp", PortRange(1, 70000), public_ip=SNAT.address),
        FirewallRule(
            "bad", "tcp", PortRange(22, 22), cidrs=("10.0.0.0/33",), public_ip=SNAT.address
        ),
        FirewallRule("bad -j ACCEPT", "tcp", PortRange(22, 22), public_ip=SNAT.address),
        FirewallRule("bad", "tcp", PortRange(22, 22), public_ip="203.0.113.5 -j ACCEPT"),
    ],
)
def test_rules_that_would_change_the_ruleset_s_meaning_are_refused(rule: FirewallRule) -> None:
    with pytest.raises(ProviderRefused):
        render_iptables(RouterState(network=NETWORK, firewall=(rule,)))


def test_forwarding_ranges_of_different_length_are_refused() -> None:
    rule = PortForwardingRule(
        "pf", SNAT.address, "tcp", PortRange(10, 20), "10.1.1.11", PortRange(1, 2)
    )
    with pytest.raises(ProviderRefused, match="differ in length"):
        render_iptables(RouterState(network=NETWORK, port_forwarding=(rule,)))


def test_the_public_interface_holds_exactly_the_network_s_addresses() -> None:
    script = render_interfaces(full_state().canonical())
    assert "ip addr replace 10.1.1.1/24 dev eth0" in script
    assert "ip addr replace 203.0.113.5/24 dev eth2" in script
    assert "ip addr replace 203.0.113.6/24 dev eth2" in script
    assert 'case "$a" in 203.0.113.5/24|203.0.113.6/24) ;;' in script
    assert "ip route replace default via 203.0.113.1 dev eth2" in script


# ---- dnsmasq --------------------------------------------------------------------------


def test_dhcp_reserves_each_nic_s_address_and_only_default_nics_get_the_gateway() -> None:
    """REQ-GN-03, REQ-GN-09, REQ-DNS-04, REQ-DNS-05."""
    state = full_state().canonical()
    conf = render_dnsmasq_conf(state, BASE)
    assert "dhcp-range=set:guest,10.1.1.0,static,255.255.255.0,infinite" in conf
    assert "dhcp-option=tag:!nondefault,option:router,10.1.1.1" in conf
    assert "dhcp-option=tag:nondefault,option:router\n" in conf
    assert "dhcp-option=option:domain-name,cs2cloud.internal" in conf
    assert "server=192.0.2.53\nserver=192.0.2.54\n" in conf  # REQ-DNS-02
    assert render_dhcp_hosts(state) == (
        "02:00:00:00:00:01,10.1.1.11,web-1,infinite\n"
        "02:00:00:00:00:02,10.1.1.12,web-2,infinite\n"
        "02:00:00:00:00:03,set:nondefault,10.1.1.13,web-3,infinite\n"
    )
    assert render_names(state).splitlines()[0] == "10.1.1.11 web-1.cs2cloud.internal web-1"


def test_on_a_shared_network_the_router_is_not_the_gateway() -> None:
    """A shared network's gateway is a physical router: guests get it as their gateway,
    and the virtual router's own address for DNS and the metadata server."""
    shared = dataclasses.replace(NETWORK, guest_type="Shared", gateway="10.1.1.254")
    router = RouterRef("router-2", "r-5-VM", guest_ip="10.1.1.2", access_uri="file:///x")
    state = RouterState(network=shared, router=router, nics=(nic(1),)).canonical()
    conf = render_dnsmasq_conf(state, BASE)
    assert "dhcp-option=tag:!nondefault,option:router,10.1.1.254" in conf
    assert "dhcp-option=tag:!nondefault,option:dns-server,10.1.1.2" in conf
    assert "ip addr replace 10.1.1.2/24 dev eth0" in render_interfaces(state)
    assert "GATEWAY=10.1.1.2\n" in render_router(state, BASE)["bin/vr-activate.sh"].decode()


def test_a_bad_mac_is_refused() -> None:
    state = RouterState(network=NETWORK, nics=(dataclasses.replace(nic(1), mac_address="02:00,x"),))
    with pytest.raises(ProviderRefused, match="MAC"):
        render_dhcp_hosts(state)


# ---- haproxy --------------------------------------------------------------------------


def _lb(
    algorithm: str = "roundrobin", stickiness: StickinessPolicy | None = None
) -> LoadBalancerRule:
    backends = (LoadBalancerBackend("vm-1", "10.1.1.11"), LoadBalancerBackend("vm-2", "10.1.1.12"))
    return LoadBalancerRule(
        "lb-1",
        "web",
        SNAT.address,
        80,
        8080,
        algorithm,
        backends=backends,
        stickiness=stickiness,
    )


def _haproxy(rule: LoadBalancerRule) -> str:
    return render_haproxy(RouterState(network=NETWORK, load_balancers=(rule,)), BASE)


@pytest.mark.parametrize("algorithm", ["roundrobin", "leastconn", "source"])
def test_each_algorithm_is_haproxy_s_own(algorithm: str) -> None:
    """REQ-LB-03."""
    config = _haproxy(_lb(algorithm))
    assert f"    balance {algorithm}\n" in config
    assert "    bind 203.0.113.5:80\n" in config
    assert "    server vm_10_1_1_11 10.1.1.11:8080 check\n" in config


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        (
            StickinessPolicy("c", "LbCookie", {}),
            ["mode http", "cookie lb_203_0_113_5_80 insert", "cookie vm_10_1_1_11"],
        ),
        (
            StickinessPolicy(
                "c",
                "LbCookie",
                {
                    "cookie-name": "SRV",
                    "mode": "prefix",
                    "nocache": "true",
                    "indirect": "",
                    "postonly": "false",
                    "domain": ".example.com",
                },
            ),
            ["cookie SRV prefix nocache indirect domain .example.com"],
        ),
        (
            StickinessPolicy(
                "a",
                "AppCookie",
                {
                    "cookie-name": "JSESSIONID",
                    "length": "64",
                    "holdtime": "30m",
                    "request-learn": "true",
                    "mode": "query-string",
                },
            ),
            [
                "stick-table type string len 64 size 200k expire 30m",
                "stick store-response res.cook(JSESSIONID)",
                "stick store-request req.cook(JSESSIONID)",
                "stick match req.cook(JSESSIONID)",
                "stick match urlp(JSESSIONID)",
            ],
        ),
        (
            StickinessPolicy("a", "AppCookie", {"cookie-name": "PHPSESSID"}),
            ["len 52 size 200k expire 3h", "urlp(PHPSESSID,;)"],
        ),
        (
            StickinessPolicy("s", "SourceBased", {"tablesize": "100k", "expire": "2h"}),
            ["mode tcp", "stick-table type ip size 100k expire 2h", "stick on src"],
        ),
    ],
)
def test_stickiness_methods_and_their_parameters(
    policy: StickinessPolicy, expected: list[str]
) -> None:
    """REQ-LB-01: 4.1's three methods with their parameters."""
    config = _haproxy(_lb(stickiness=policy))
    for line in expected:
        assert line in config
    if policy.params.get("postonly") == "false":
        assert "postonly" not in config


@pytest.mark.parametrize(
    "policy",
    [
        StickinessPolicy("x", "Magic", {}),
        StickinessPolicy("x", "LbCookie", {"mode": "steal"}),
        StickinessPolicy("x", "LbCookie", {"cookie-name": "a b"}),
        StickinessPolicy("x", "AppCookie", {"length": "-1"}),
        StickinessPolicy("x", "SourceBased", {"expire": "3 hours"}),
        StickinessPolicy("x", "SourceBased", {"tablesize": "lots"}),
    ],
)
def test_bad_stickiness_is_refused(policy: StickinessPolicy) -> None:
    with pytest.raises(ProviderRefused):
        _haproxy(_lb(stickiness=policy))


def test_an_unknown_algorithm_is_refused() -> None:
    with pytest.raises(ProviderRefused, match="algorithm"):
        _haproxy(_lb("fastest"))


def test_a_rule_without_backends_still_listens_and_cidrs_restrict_it() -> None:
    rule = dataclasses.replace(_lb(), backends=(), cidrs=("198.51.100.0/24", "192.0.2.0/24"))
    config = _haproxy(rule)
    assert "listen lb_203_0_113_5_80" in config and "    server " not in config
    assert "tcp-request connection reject unless { src 192.0.2.0/24 198.51.100.0/24 }" in config


def test_no_load_balancer_no_haproxy_configuration() -> None:
    assert render_haproxy(RouterState(network=NETWORK), BASE) == ""


# ---- VPN ------------------------------------------------------------------------------


def test_the_vpn_is_l2tp_over_ipsec_with_the_psk_and_its_users() -> None:
    """REQ-RAVPN-01, REQ-RAVPN-06: the range's first address is the router's."""
    state = full_state().canonical()
    assert "left=203.0.113.5" in render_ipsec_conf(state)
    assert "type=transport" in render_ipsec_conf(state)
    assert render_ipsec_secrets(state) == '203.0.113.5 %any : PSK "Pre-Shared-Key-1"\n'
    xl2tpd = render_xl2tpd_conf(state, BASE)
    assert "ip range = 10.1.2.2-10.1.2.20" in xl2tpd and "local ip = 10.1.2.1" in xl2tpd
    assert render_chap_secrets(state) == (
        '"alice" cumulo-vpn "alice-pw" *\n"bob" cumulo-vpn "bob-pw" *\n'
    )
    rules = render_iptables(state)
    assert (
        "-A INPUT -i eth2 -d 203.0.113.5/32 -p udp -m multiport --dports 500,4500 -j ACCEPT"
        in rules
    )
    assert "--dport 1701 -m policy --dir in --pol ipsec -j ACCEPT" in rules


def test_no_vpn_no_vpn_files() -> None:
    state = dataclasses.replace(full_state(), vpn=None).canonical()
    files = render_router(state, BASE)
    assert all(files[path] == b"" for path in files if path.startswith("vpn/"))
    assert "pol ipsec" not in render_iptables(state)


@pytest.mark.parametrize(
    "vpn",
    [
        RemoteAccessVpn(SNAT.address, "10.1.2.1-10.1.2.9", "10.1.2.1", 'bad"key'),
        RemoteAccessVpn(
            SNAT.address, "10.1.2.1-10.1.2.9", "10.1.2.1", "k", (VpnUser("eve\n", "x"),)
        ),
        RemoteAccessVpn(SNAT.address, "10.1.2.1-10.1.2.1", "10.1.2.1", "k"),
        RemoteAccessVpn(SNAT.address, "nonsense", "10.1.2.1", "k"),
    ],
)
def test_bad_vpn_settings_are_refused(vpn: RemoteAccessVpn) -> None:
    with pytest.raises(ProviderRefused):
        render_router(RouterState(network=NETWORK, vpn=vpn), BASE)


# ---- userdata and metadata ------------------------------------------------------------


def test_userdata_is_served_decoded_and_metadata_by_name() -> None:
    files = render_guest_data(full_state().canonical())
    assert files["www/10.1.1.11/user-data"] == b"#!/bin/sh\necho hi\n"
    assert files["www/10.1.1.12/meta-data/local-hostname"] == b"web-2"
    assert "www/10.1.1.12/user-data" not in files


@pytest.mark.parametrize(
    "change", [{"user_data": "not base64!"}, {"metadata": {"../etc/passwd": "x"}}]
)
def test_bad_userdata_or_metadata_names_are_refused(change: dict[str, object]) -> None:
    bad = dataclasses.replace(nic(1), **change)  # type: ignore[arg-type]
    with pytest.raises(ProviderRefused):
        render_guest_data(RouterState(network=NETWORK, nics=(bad,)))


# ---- what a push activates ------------------------------------------------------------


def _activation(old: RouterState, new: RouterState) -> str:
    renderer = VirtualRouterRenderer()
    before, after = render_router(old, BASE), render_router(new, BASE)
    changed = {p for p, data in after.items() if before.get(p) != data}
    return renderer.activate(old, new, changed, set(before) - set(after))


def test_a_push_activates_only_the_services_whose_files_changed() -> None:
    state = full_state()
    firewall = dataclasses.replace(state, firewall=state.firewall[:1])
    assert _activation(state, firewall) == 'sh "$BASE"/bin/vr-activate.sh iptables'
    more_nics = dataclasses.replace(state, nics=(*state.nics, nic(9)))
    assert _activation(state, more_nics) == 'sh "$BASE"/bin/vr-activate.sh dnsmasq-reload metadata'
    no_lb = dataclasses.replace(state, load_balancers=())
    assert _activation(state, no_lb) == 'sh "$BASE"/bin/vr-activate.sh iptables haproxy'
    assert _activation(state, state) == ""
    everything = VirtualRouterRenderer().activate(None, state, set(), set())
    assert everything.endswith("interfaces iptables dnsmasq haproxy metadata-restart vpn vpn-users")


# ---- capabilities ---------------------------------------------------------------------


def test_capabilities_name_the_stickiness_methods_as_4_1_does() -> None:
    """REQ-LB-02: SupportedStickinessMethods lists what the router renders."""
    lb = VIRTUAL_ROUTER_CAPABILITIES[Service.LB]
    assert lb["SupportedLBAlgorithms"] == "roundrobin,leastconn,source"
    methods = json.loads(lb["SupportedStickinessMethods"])
    assert [m["methodname"] for m in methods] == ["LbCookie", "AppCookie", "SourceBased"]
    names = {m["methodname"]: [p["paramname"] for p in m["paramlist"]] for m in methods}
    assert names["SourceBased"] == ["tablesize", "expire"]
    assert set(VIRTUAL_ROUTER_CAPABILITIES) >= {
        Service.DHCP,
        Service.DNS,
        Service.USER_DATA,
        Service.FIREWALL,
        Service.SOURCE_NAT,
        Service.STATIC_NAT,
        Service.PORT_FORWARDING,
        Service.VPN,
        Service.GATEWAY,
    }
    assert EXTRA.address  # the sample has a second public IP
