"""The network-provider compliance kit (:mod:`cumulo.testing.compliance.network`) run
against test doubles: a provider that records what it is given passes it, and each
way of breaking the contract (deltas instead of whole sets, a non-idempotent
lifecycle call, an exception that is not a NetworkProviderError, a capability name 4.1
does not have) is caught by the kit's checks.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, ClassVar

import pytest

from cumulo.sdk.network import (
    Capabilities,
    GuestNic,
    NetworkContext,
    NetworkProvider,
    NetworkRef,
    ProviderRefused,
    PublicIp,
    Service,
)
from cumulo.testing.compliance.network import (
    APPLY_METHODS,
    NetworkProviderComplianceKit,
    Snapshot,
    check_apply_is_whole_set,
    check_bad_rules_raise_only_provider_errors,
    check_capabilities,
    check_lifecycle_is_idempotent,
    check_undeclared_services_refused,
    sample_guest_nics,
    sample_network,
    sample_public_ips,
    sample_rule_sets,
)


class RecordingProviderDouble(NetworkProvider):
    """A test double: per network, the last set it was given for each service and the
    NICs it serves; nothing else. It follows the contract exactly."""

    name: ClassVar[str] = "RecordingDouble"
    SERVICES: ClassVar[tuple[Service, ...]] = (
        Service.DHCP,
        Service.FIREWALL,
        Service.PORT_FORWARDING,
        Service.STATIC_NAT,
        Service.LB,
        Service.SOURCE_NAT,
        Service.VPN,
        Service.SECURITY_GROUP,
    )

    def __init__(self) -> None:
        self.state: dict[str, dict[str, Any]] = {}

    def capabilities(self) -> Capabilities:
        caps: dict[Service, Mapping[str, str]] = {service: {} for service in self.SERVICES}
        caps[Service.LB] = {"SupportedLBAlgorithms": "roundrobin,leastconn,source"}
        return caps

    def _of(self, network: NetworkRef) -> dict[str, Any]:
        return self.state.setdefault(network.uuid, {"nics": {}})

    def implement(
        self, ctx: NetworkContext, network: NetworkRef, public_ips: tuple[PublicIp, ...]
    ) -> None:
        self._of(network)["implemented"] = public_ips

    def prepare(self, ctx: NetworkContext, network: NetworkRef, nic: GuestNic) -> None:
        self._of(network)["nics"][nic.mac_address] = nic

    def release(self, ctx: NetworkContext, network: NetworkRef, nic: GuestNic) -> None:
        self._of(network)["nics"].pop(nic.mac_address, None)

    def shutdown(self, ctx: NetworkContext, network: NetworkRef) -> None:
        self._of(network)["implemented"] = None

    def destroy(self, ctx: NetworkContext, network: NetworkRef) -> None:
        self.state.pop(network.uuid, None)

    def _set(self, network: NetworkRef, service: Service, rules: Any) -> None:
        self._of(network)[service.value] = rules

    def apply_firewall_rules(self, ctx: NetworkContext, network: NetworkRef, rules: Any) -> None:
        self._set(network, Service.FIREWALL, rules)

    def apply_port_forwarding(self, ctx: NetworkContext, network: NetworkRef, rules: Any) -> None:
        self._set(network, Service.PORT_FORWARDING, rules)

    def apply_static_nat(self, ctx: NetworkContext, network: NetworkRef, rules: Any) -> None:
        self._set(network, Service.STATIC_NAT, rules)

    def apply_load_balancers(self, ctx: NetworkContext, network: NetworkRef, rules: Any) -> None:
        self._set(network, Service.LB, rules)

    def apply_source_nat(self, ctx: NetworkContext, network: NetworkRef, public_ips: Any) -> None:
        self._set(network, Service.SOURCE_NAT, public_ips)

    def apply_vpn(self, ctx: NetworkContext, network: NetworkRef, vpn: Any) -> None:
        self._set(network, Service.VPN, vpn)

    def apply_security_groups(self, ctx: NetworkContext, network: NetworkRef, vms: Any) -> None:
        self._set(network, Service.SECURITY_GROUP, vms)

    def snapshot(self, network: NetworkRef) -> Any:
        return copy.deepcopy(self.state.get(network.uuid))


class DeltaProviderDouble(RecordingProviderDouble):
    """Breaks the contract: treats each set as rules to add."""

    def _set(self, network: NetworkRef, service: Service, rules: Any) -> None:
        if not isinstance(rules, tuple):
            super()._set(network, service, rules)
            return
        held = self._of(network).get(service.value, ())
        self._of(network)[service.value] = held + tuple(r for r in rules if r not in held)


class CountingPrepareDouble(RecordingProviderDouble):
    """Breaks the contract: every prepare of the same NIC adds a DHCP entry."""

    def prepare(self, ctx: NetworkContext, network: NetworkRef, nic: GuestNic) -> None:
        entries = self._of(network)["nics"]
        entries[f"{nic.mac_address}#{len(entries)}"] = nic


class LeakyDouble(RecordingProviderDouble):
    """Breaks the contract: ranges of different lengths escape as ValueError."""

    def apply_port_forwarding(self, ctx: NetworkContext, network: NetworkRef, rules: Any) -> None:
        for rule in rules:
            public, private = rule.public_ports, rule.private_ports
            if public.end - public.start != private.end - private.start:
                raise ValueError("port ranges of different lengths")
        super().apply_port_forwarding(ctx, network, rules)


class StrangeCapabilityDouble(RecordingProviderDouble):
    """Breaks the contract: a capability 4.1 does not have."""

    def capabilities(self) -> Capabilities:
        return {Service.LB: {"Teleportation": "yes"}}


class DhcpOnlyDouble(NetworkProvider):
    """Follows the contract: offers DHCP only and keeps the default apply methods,
    which refuse."""

    name: ClassVar[str] = "DhcpOnlyDouble"

    def capabilities(self) -> Capabilities:
        return {Service.DHCP: {}}


class AcceptsEverythingDouble(RecordingProviderDouble):
    """Breaks the contract: accepts rules of services it does not declare."""

    def capabilities(self) -> Capabilities:
        return {Service.DHCP: {}}


class TestRecordingDoublePassesTheKit(NetworkProviderComplianceKit):
    """The kit, run by a provider that follows the contract."""

    @pytest.fixture
    def provider(self) -> NetworkProvider:
        return RecordingProviderDouble()

    @pytest.fixture
    def context(self) -> NetworkContext:
        return NetworkContext()

    @pytest.fixture
    def snapshot(self, provider: RecordingProviderDouble) -> Snapshot:
        return provider.snapshot


# ---- the kit catches each breach -----------------------------------------------------

CTX = NetworkContext()
NETWORK = sample_network()
IPS = sample_public_ips()
NICS = sample_guest_nics()
SETS = sample_rule_sets(IPS, NICS)


def _implemented(provider: RecordingProviderDouble) -> RecordingProviderDouble:
    provider.implement(CTX, NETWORK, IPS)
    return provider


@pytest.mark.parametrize(
    "service",
    [s for s in APPLY_METHODS if s in RecordingProviderDouble.SERVICES and s != Service.VPN],
    ids=lambda s: s.value,
)
def test_the_kit_catches_a_provider_applying_deltas(service: Service) -> None:
    provider = _implemented(DeltaProviderDouble())
    with pytest.raises(AssertionError, match="not whole-set"):
        check_apply_is_whole_set(provider, CTX, NETWORK, service, SETS[service], provider.snapshot)


def test_the_same_check_passes_a_whole_set_provider() -> None:
    provider = _implemented(RecordingProviderDouble())
    for service in RecordingProviderDouble.SERVICES:
        if service in APPLY_METHODS:
            check_apply_is_whole_set(
                provider, CTX, NETWORK, service, SETS[service], provider.snapshot
            )


def test_the_kit_catches_a_non_idempotent_prepare() -> None:
    provider = CountingPrepareDouble()
    with pytest.raises(AssertionError, match="prepare twice"):
        check_lifecycle_is_idempotent(provider, CTX, NETWORK, IPS, NICS, provider.snapshot)


def test_the_kit_catches_an_exception_that_is_not_a_provider_error() -> None:
    provider = _implemented(LeakyDouble())
    with pytest.raises(pytest.fail.Exception, match="raised ValueError"):
        check_bad_rules_raise_only_provider_errors(provider, CTX, NETWORK, IPS[1].address)


def test_the_kit_catches_a_capability_41_does_not_have() -> None:
    with pytest.raises(AssertionError, match="Teleportation"):
        check_capabilities(StrangeCapabilityDouble())


def test_the_kit_catches_a_provider_accepting_undeclared_services() -> None:
    with pytest.raises(pytest.fail.Exception, match="DID NOT RAISE"):
        check_undeclared_services_refused(AcceptsEverythingDouble(), CTX, NETWORK, SETS)
    check_undeclared_services_refused(DhcpOnlyDouble(), CTX, NETWORK, SETS)


def test_the_contract_default_refuses_undeclared_services() -> None:
    with pytest.raises(ProviderRefused, match="does not provide SecurityGroup"):
        DhcpOnlyDouble().apply_security_groups(CTX, NETWORK, ())
