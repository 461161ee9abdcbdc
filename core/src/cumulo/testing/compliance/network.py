"""The network-provider compliance kit: what every :class:`cumulo.sdk.network.
NetworkProvider` must do (the contract in :mod:`cumulo.sdk.network`).

Subclass :class:`NetworkProviderComplianceKit` in a class named ``Test...`` and
override:

- ``provider``: the provider under test (a factory: a fresh instance per test);
- ``context``: the :class:`~cumulo.sdk.network.NetworkContext` it is given (the
  virtual router's tests give one whose routers live in network namespaces);
- ``snapshot``: a callable returning, for a network, what the provider has configured
  for it (rendered files, ``iptables-save`` output, a device's configuration ...), as a
  value compared with ``==``: the kit's only way of seeing the provider's effect;
- optionally ``network``, ``public_ips``, ``guest_nics`` and ``rule_sets`` (the sample
  data, when the provider needs addresses or rules of its own).

What the kit checks:

- ``capabilities()`` is constant and well formed: every key a 4.1 service, every
  capability name one 4.1 has for that service, every value a string;
- the lifecycle is idempotent: ``implement``, ``prepare`` and ``release`` twice leave
  the same configuration as once; ``shutdown`` and ``destroy`` may be repeated, and
  ``release`` of a NIC never prepared succeeds;
- every apply method of a service the provider declares is idempotent (the same set
  twice, the same configuration) and takes **whole sets**: applying ``A + B`` and then
  ``A`` leaves exactly what applying ``A`` alone left (the rules of ``B`` are gone), and
  the empty set removes everything the service had;
- apply methods of services it does not declare refuse with
  :class:`~cumulo.sdk.network.ProviderRefused`;
- whatever it is given, a provider raises nothing but
  :class:`~cumulo.sdk.network.NetworkProviderError` (the kit also feeds it rules a
  device would refuse: an inverted port range, an unknown protocol).

The checks are plain functions (``check_*``), so a kit's own tests can prove they catch
a provider that breaks the contract.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import pytest

from cumulo.infra.network_services import SERVICES
from cumulo.sdk.network import (
    FirewallRule,
    GuestNic,
    LoadBalancerBackend,
    LoadBalancerRule,
    NetworkContext,
    NetworkProvider,
    NetworkProviderError,
    NetworkRef,
    PortForwardingRule,
    PortRange,
    ProviderRefused,
    PublicIp,
    RemoteAccessVpn,
    SecurityGroupRule,
    Service,
    StaticNatRule,
    StickinessPolicy,
    VmSecurityRules,
    VpnUser,
)

Snapshot = Callable[[NetworkRef], Any]
"""What the provider configured for a network, compared with ``==``."""

APPLY_METHODS: dict[Service, str] = {
    Service.FIREWALL: "apply_firewall_rules",
    Service.PORT_FORWARDING: "apply_port_forwarding",
    Service.STATIC_NAT: "apply_static_nat",
    Service.LB: "apply_load_balancers",
    Service.SOURCE_NAT: "apply_source_nat",
    Service.VPN: "apply_vpn",
    Service.SECURITY_GROUP: "apply_security_groups",
}
"""The service of each apply method."""

RuleSets = Mapping[Service, tuple[Any, Any]]
"""Per service, two sets ``(A, A + B)``: ``B`` non-empty and disjoint from ``A``."""


# ---- sample data ----------------------------------------------------------------------


def sample_network() -> NetworkRef:
    """An isolated network 10.1.1.0/24 behind gateway 10.1.1.1."""
    return NetworkRef(
        uuid="6a7e0c1e-0000-4000-8000-00000000c0de",
        name="compliance",
        zone_uuid="6a7e0c1e-0000-4000-8000-0000000020e5",
        guest_type="Isolated",
        cidr="10.1.1.0/24",
        gateway="10.1.1.1",
        netmask="255.255.255.0",
        broadcast_uri="vlan://untagged",
        network_domain="compliance.internal",
        dns=("192.0.2.53",),
    )


def sample_public_ips() -> tuple[PublicIp, ...]:
    """A source-NAT address and three more of 203.0.113.0/24 (documentation range)."""
    return tuple(
        PublicIp(
            address=f"203.0.113.{host}",
            netmask="255.255.255.0",
            gateway="203.0.113.1",
            source_nat=host == 10,
        )
        for host in (10, 11, 12, 13)
    )


def sample_guest_nics() -> tuple[GuestNic, ...]:
    """Two VMs' default NICs on :func:`sample_network`."""
    return tuple(
        GuestNic(
            vm_uuid=f"6a7e0c1e-0000-4000-8000-0000000000{index:02d}",
            instance_name=f"i-2-{index}-VM",
            hostname=f"vm-{index}",
            mac_address=f"06:00:00:00:00:{index:02x}",
            ip_address=f"10.1.1.{10 + index}",
            user_data="aGVsbG8=",
            metadata={"instance-id": f"i-2-{index}-VM", "local-hostname": f"vm-{index}"},
        )
        for index in (1, 2)
    )


def sample_rule_sets(public_ips: tuple[PublicIp, ...], nics: tuple[GuestNic, ...]) -> RuleSets:
    """``(A, A + B)`` for every rule service, on the sample addresses."""
    ip = public_ips[1].address
    first, second = nics[0], nics[1]
    ssh = FirewallRule(uuid="fw-ssh", protocol="tcp", ports=PortRange(22, 22), public_ip=ip)
    dns = FirewallRule(
        uuid="fw-dns", protocol="udp", ports=PortRange(53, 53), cidrs=("198.51.100.0/24",),
        public_ip=ip,
    )  # fmt: skip
    egress = FirewallRule(uuid="fw-egress", protocol="tcp", ports=PortRange(80, 80))
    forward = PortForwardingRule(
        "pf-ssh", ip, "tcp", PortRange(2222, 2222), first.ip_address, PortRange(22, 22)
    )
    web = PortForwardingRule(
        "pf-web", ip, "tcp", PortRange(8080, 8081), second.ip_address, PortRange(80, 81)
    )
    nat_a = StaticNatRule(public_ips[2].address, first.ip_address, first.vm_uuid)
    nat_b = StaticNatRule(public_ips[3].address, second.ip_address, second.vm_uuid)
    backends = tuple(LoadBalancerBackend(nic.vm_uuid, nic.ip_address) for nic in nics)
    http = LoadBalancerRule("lb-http", "http", ip, 80, 80, "roundrobin", backends=backends)
    https = LoadBalancerRule(
        "lb-https", "https", ip, 443, 443, "source", backends=backends,
        stickiness=StickinessPolicy("sticky", "SourceBased", {"tablesize": "200k"}),
    )  # fmt: skip
    alice = VpnUser("alice", "alice-secret")
    vpn_a = RemoteAccessVpn(ip, "10.1.2.2-10.1.2.8", "10.1.2.1", "psk-compliance", (alice,))
    vpn_b = RemoteAccessVpn(
        ip, "10.1.2.2-10.1.2.8", "10.1.2.1", "psk-compliance", (alice, VpnUser("bob", "b0b"))
    )
    sg_rule = SecurityGroupRule("sg-ssh", "ingress", "tcp", PortRange(22, 22), cidrs=("0.0.0.0/0",))
    vm_a = VmSecurityRules(first.vm_uuid, first.instance_name, first.mac_address,
                           first.ip_address, (sg_rule,))  # fmt: skip
    vm_b = VmSecurityRules(second.vm_uuid, second.instance_name, second.mac_address,
                           second.ip_address, (sg_rule,))  # fmt: skip
    return {
        Service.FIREWALL: ((ssh,), (ssh, dns, egress)),
        Service.PORT_FORWARDING: ((forward,), (forward, web)),
        Service.STATIC_NAT: ((nat_a,), (nat_a, nat_b)),
        Service.LB: ((http,), (http, https)),
        Service.SOURCE_NAT: (public_ips[:2], public_ips),
        Service.VPN: (vpn_a, vpn_b),
        Service.SECURITY_GROUP: ((vm_a,), (vm_a, vm_b)),
    }


def empty_set(service: Service) -> Any:
    """What removes every rule of ``service`` (``None`` for the VPN)."""
    return None if service == Service.VPN else ()


# ---- the checks -----------------------------------------------------------------------


@contextmanager
def only_provider_errors(what: str) -> Iterator[None]:
    """Fail unless what the block raises (if anything) is a NetworkProviderError."""
    try:
        yield
    except NetworkProviderError:
        raise
    except Exception as exc:  # the contract: nothing else escapes a provider
        pytest.fail(
            f"{what} raised {type(exc).__name__} ({exc}); providers raise only"
            " NetworkProviderError subclasses"
        )


def _apply(
    provider: NetworkProvider,
    context: NetworkContext,
    network: NetworkRef,
    service: Service,
    rules: Any,
) -> None:
    with only_provider_errors(f"{APPLY_METHODS[service]}"):
        getattr(provider, APPLY_METHODS[service])(context, network, rules)


def check_capabilities(provider: NetworkProvider) -> None:
    """``capabilities()`` is constant, keyed by 4.1 services with 4.1 capability names
    and string values."""
    with only_provider_errors("capabilities"):
        first = provider.capabilities()
        again = provider.capabilities()
    assert first == again, "capabilities() must be constant"
    assert first, "a provider offers at least one service"
    for service, capabilities in first.items():
        assert isinstance(service, Service), f"{service!r} is not a cumulo.sdk.network.Service"
        known = SERVICES[service.value]
        for name, value in capabilities.items():
            assert name in known, (
                f"{name!r} is not a 4.1 capability of {service.value} (known: {known})"
            )
            assert isinstance(value, str), f"{service.value}/{name} value must be a str"


def check_apply_is_whole_set(
    provider: NetworkProvider,
    context: NetworkContext,
    network: NetworkRef,
    service: Service,
    sets: tuple[Any, Any],
    snapshot: Snapshot,
) -> None:
    """Applying a set twice changes nothing; ``A + B`` then ``A`` leaves what ``A``
    alone left; the empty set leaves what nothing left."""
    name = APPLY_METHODS[service]
    only_a, with_b = sets
    _apply(provider, context, network, service, empty_set(service))
    empty = snapshot(network)
    _apply(provider, context, network, service, only_a)
    after_a = snapshot(network)
    _apply(provider, context, network, service, only_a)
    assert snapshot(network) == after_a, f"{name}: applying the same set twice changed it"
    _apply(provider, context, network, service, with_b)
    after_b = snapshot(network)
    assert after_b != after_a, f"{name}: the larger set left the configuration unchanged"
    _apply(provider, context, network, service, with_b)
    assert snapshot(network) == after_b, f"{name}: applying the same set twice changed it"
    _apply(provider, context, network, service, only_a)
    assert snapshot(network) == after_a, (
        f"{name} is not whole-set: after A + B then A, the rules of B are still there"
    )
    _apply(provider, context, network, service, empty_set(service))
    assert snapshot(network) == empty, f"{name}: the empty set did not remove everything"


def check_lifecycle_is_idempotent(
    provider: NetworkProvider,
    context: NetworkContext,
    network: NetworkRef,
    public_ips: tuple[PublicIp, ...],
    nics: tuple[GuestNic, ...],
    snapshot: Snapshot,
) -> None:
    """implement/prepare/release twice equal once; shutdown and destroy repeatable."""
    with only_provider_errors("implement"):
        provider.implement(context, network, public_ips)
        implemented = snapshot(network)
        provider.implement(context, network, public_ips)
    assert snapshot(network) == implemented, "implement twice changed the configuration"
    with only_provider_errors("prepare"):
        provider.prepare(context, network, nics[0])
        prepared = snapshot(network)
        provider.prepare(context, network, nics[0])
    assert snapshot(network) == prepared, "prepare twice changed the configuration"
    with only_provider_errors("release"):
        provider.release(context, network, nics[0])
        released = snapshot(network)
        provider.release(context, network, nics[0])
        provider.release(context, network, nics[1])  # never prepared
    assert snapshot(network) == released, "release twice changed the configuration"
    with only_provider_errors("shutdown"):
        provider.shutdown(context, network)
        provider.shutdown(context, network)
    with only_provider_errors("destroy"):
        provider.destroy(context, network)
        provider.destroy(context, network)


def check_undeclared_services_refused(
    provider: NetworkProvider,
    context: NetworkContext,
    network: NetworkRef,
    rule_sets: RuleSets,
) -> None:
    """Apply methods of services the provider does not declare raise ProviderRefused."""
    declared = set(provider.capabilities())
    for service, method in APPLY_METHODS.items():
        if service in declared:
            continue
        with pytest.raises(ProviderRefused):
            getattr(provider, method)(context, network, rule_sets[service][0])


def check_bad_rules_raise_only_provider_errors(
    provider: NetworkProvider, context: NetworkContext, network: NetworkRef, ip: str
) -> None:
    """Rules a device would refuse end in success or a NetworkProviderError, never in
    another exception."""
    declared = set(provider.capabilities())
    bad: dict[Service, Any] = {
        Service.FIREWALL: (
            FirewallRule("bad-range", "tcp", PortRange(90, 80), public_ip=ip),
            FirewallRule("bad-proto", "teleport", PortRange(1, 1), public_ip=ip),
        ),
        Service.PORT_FORWARDING: (
            PortForwardingRule(
                "bad-pf", ip, "tcp", PortRange(10, 20), "10.1.1.10", PortRange(1, 2)
            ),
        ),
        Service.LB: (LoadBalancerRule("bad-lb", "bad", ip, 80, 80, "fastest"),),
    }
    for service, rules in bad.items():
        if service not in declared:
            continue
        with contextlib.suppress(NetworkProviderError):
            _apply(provider, context, network, service, rules)
        _apply(provider, context, network, service, empty_set(service))


# ---- the kit ----------------------------------------------------------------------------


class NetworkProviderComplianceKit:
    """Tests every network provider passes; see the module doc for the fixtures."""

    @pytest.fixture
    def provider(self) -> NetworkProvider:
        """The provider under test (override)."""
        raise NotImplementedError("override the provider fixture")

    @pytest.fixture
    def context(self) -> NetworkContext:
        """The context the provider is given (override)."""
        raise NotImplementedError("override the context fixture")

    @pytest.fixture
    def snapshot(self) -> Snapshot:
        """What the provider configured for a network (override)."""
        raise NotImplementedError("override the snapshot fixture")

    @pytest.fixture
    def network(self) -> NetworkRef:
        """The network the kit configures."""
        return sample_network()

    @pytest.fixture
    def public_ips(self) -> tuple[PublicIp, ...]:
        """The network's public addresses (the first is the source-NAT one)."""
        return sample_public_ips()

    @pytest.fixture
    def guest_nics(self) -> tuple[GuestNic, ...]:
        """Two VMs' NICs on the network."""
        return sample_guest_nics()

    @pytest.fixture
    def rule_sets(
        self, public_ips: tuple[PublicIp, ...], guest_nics: tuple[GuestNic, ...]
    ) -> RuleSets:
        """``(A, A + B)`` per service."""
        return sample_rule_sets(public_ips, guest_nics)

    @pytest.fixture
    def implemented(
        self,
        provider: NetworkProvider,
        context: NetworkContext,
        network: NetworkRef,
        public_ips: tuple[PublicIp, ...],
        guest_nics: tuple[GuestNic, ...],
    ) -> Iterator[NetworkRef]:
        """The network implemented with both NICs prepared; destroyed afterwards."""
        with only_provider_errors("implement"):
            provider.implement(context, network, public_ips)
            for nic in guest_nics:
                provider.prepare(context, network, nic)
        yield network
        with only_provider_errors("destroy"):
            provider.destroy(context, network)

    def test_capabilities_are_constant_and_41_names(self, provider: NetworkProvider) -> None:
        check_capabilities(provider)

    def test_lifecycle_is_idempotent(
        self,
        provider: NetworkProvider,
        context: NetworkContext,
        network: NetworkRef,
        public_ips: tuple[PublicIp, ...],
        guest_nics: tuple[GuestNic, ...],
        snapshot: Snapshot,
    ) -> None:
        check_lifecycle_is_idempotent(provider, context, network, public_ips, guest_nics, snapshot)

    @pytest.mark.parametrize("service", list(APPLY_METHODS), ids=lambda s: s.value)
    def test_apply_takes_whole_sets_idempotently(
        self,
        provider: NetworkProvider,
        context: NetworkContext,
        implemented: NetworkRef,
        rule_sets: RuleSets,
        snapshot: Snapshot,
        service: Service,
    ) -> None:
        if service not in provider.capabilities():
            pytest.skip(f"{provider.name or type(provider).__name__} does not offer {service}")
        check_apply_is_whole_set(
            provider, context, implemented, service, rule_sets[service], snapshot
        )

    def test_undeclared_services_are_refused(
        self,
        provider: NetworkProvider,
        context: NetworkContext,
        implemented: NetworkRef,
        rule_sets: RuleSets,
    ) -> None:
        check_undeclared_services_refused(provider, context, implemented, rule_sets)

    def test_bad_rules_raise_only_provider_errors(
        self,
        provider: NetworkProvider,
        context: NetworkContext,
        implemented: NetworkRef,
        public_ips: tuple[PublicIp, ...],
    ) -> None:
        check_bad_rules_raise_only_provider_errors(
            provider, context, implemented, public_ips[1].address
        )
