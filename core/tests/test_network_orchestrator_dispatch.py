"""The network orchestrator (:mod:`cumulo.network.orchestrator`) on a real database, with
two providers installed as plugins install them (a distribution declaring entry points
in ``cumulo.network_providers``): each service goes to the provider the network's
offering names and to no other, lifecycle calls reach every provider once, provider
errors become CloudStack errors, providers are called only after the transaction is
committed, and the statements a call needs do not grow with the number of rules,
addresses or providers' NICs (REQUIREMENTS CAP-21, DESIGN.md §6).
"""

from __future__ import annotations

import ipaddress
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from cumulo.accounts.models import Account
from cumulo.compute.models import Nic, VirtualMachine
from cumulo.infra.models import IpState, UserIpAddress, VlanIpRange, Zone
from cumulo.network import orchestrator
from cumulo.network.networks.models import Network, NetworkServiceMap
from cumulo.network.offerings.service import create_network_offering
from cumulo.network.providers import provider
from cumulo.offerings.models import ServiceOffering
from cumulo.runtime import Runtime
from cumulo.sdk.errors import InternalError, ResourceUnavailable
from cumulo.sdk.network import FirewallRule, LoadBalancerRule, NetworkContext, PortRange, Service
from cumulo.testing.plugins import MakeDistribution

PROVIDERS_SOURCE = textwrap.dedent(
    '''
    """Test doubles of two network providers: they record every call they get."""
    from cumulo.sdk.network import (
        NetworkProvider, ProviderRefused, ProviderUnreachable, Service,
    )


    class _RecordingDouble(NetworkProvider):
        SERVICES = ()
        on_call = None  # a test's hook, called with each recorded call

        def __init__(self):
            self.calls = []

        def _record(self, *call):
            self.calls.append(call)
            if type(self).on_call is not None:
                type(self).on_call(call)

        def capabilities(self):
            return {service: {} for service in self.SERVICES}

        def implement(self, ctx, network, public_ips):
            self._record("implement", network.uuid, public_ips)

        def prepare(self, ctx, network, nic):
            self._record("prepare", network.uuid, nic)

        def release(self, ctx, network, nic):
            self._record("release", network.uuid, nic)

        def shutdown(self, ctx, network):
            self._record("shutdown", network.uuid)

        def destroy(self, ctx, network):
            self._record("destroy", network.uuid)


    class SrxDouble(_RecordingDouble):
        name = "JuniperSRX"
        SERVICES = (Service.FIREWALL, Service.PORT_FORWARDING, Service.SOURCE_NAT,
                    Service.STATIC_NAT, Service.GATEWAY)

        def apply_firewall_rules(self, ctx, network, rules):
            self._record("Firewall", network.uuid, rules)

        def apply_port_forwarding(self, ctx, network, rules):
            self._record("PortForwarding", network.uuid, rules)

        def apply_static_nat(self, ctx, network, rules):
            self._record("StaticNat", network.uuid, rules)

        def apply_source_nat(self, ctx, network, public_ips):
            self._record("SourceNat", network.uuid, public_ips)


    class NetscalerDouble(_RecordingDouble):
        name = "Netscaler"
        SERVICES = (Service.LB,)

        def apply_load_balancers(self, ctx, network, rules):
            for rule in rules:
                if rule.algorithm == "refused":
                    raise ProviderRefused("algorithm refused is not supported")
                if rule.algorithm == "unreachable":
                    raise ProviderUnreachable("NITRO API did not answer")
            self._record("Lb", network.uuid, rules)
    '''
)

RULES: dict[str, int] = {}
"""How many rules each test builder returns (set by the tests)."""


def _firewall_builder(session: Session, network_id: int) -> tuple[FirewallRule, ...]:
    # Set-based, as real builders: one statement whatever the number of rules.
    ip = session.scalar(
        select(UserIpAddress.public_ip_address)
        .where(UserIpAddress.associated_with_network_id == network_id)
        .limit(1)
    )
    return tuple(
        FirewallRule(f"fw-{n}", "tcp", PortRange(1000 + n, 1000 + n), public_ip=ip or "")
        for n in range(RULES.get("Firewall", 1))
    )


def _lb_builder(session: Session, network_id: int) -> tuple[LoadBalancerRule, ...]:
    session.execute(select(func.count()).select_from(UserIpAddress)).scalar()
    algorithm = RULES.get("algorithm", "roundrobin")
    return tuple(
        LoadBalancerRule(f"lb-{n}", f"lb-{n}", "203.0.113.11", 80 + n, 80, str(algorithm))
        for n in range(RULES.get("Lb", 1))
    )


@dataclass
class World:
    """A zone, an Implemented network of the test offering, its public addresses."""

    runtime: Runtime
    zone_id: int
    network_id: int
    network_uuid: str
    srx: Any
    netscaler: Any


@pytest.fixture
def providers(make_distribution: MakeDistribution) -> Iterator[tuple[Any, Any]]:
    make_distribution(
        "cumulo-test-edge",
        modules={"cumulo_test_edge": PROVIDERS_SOURCE},
        entry_points={
            "cumulo.network_providers": {
                "JuniperSRX": "cumulo_test_edge:SrxDouble",
                "Netscaler": "cumulo_test_edge:NetscalerDouble",
            }
        },
    )
    srx, netscaler = provider("JuniperSRX"), provider("Netscaler")
    yield srx, netscaler
    type(srx).on_call = type(netscaler).on_call = None


def _public_range(
    session: Session, zone_id: int, network_id: int, count: int, first: str = "203.0.113.10"
) -> None:
    vlan = VlanIpRange(
        vlan_id="100",
        vlan_gateway="203.0.113.1",
        vlan_netmask="255.255.255.0",
        description="203.0.113.10-203.0.113.250",
        vlan_type="VirtualNetwork",
        data_center_id=zone_id,
    )
    session.add(vlan)
    session.flush()
    for index in range(count):
        address = ipaddress.IPv4Address(first) + index
        session.add(
            UserIpAddress(
                public_ip_address=str(address),
                ip_num=int(address),
                data_center_id=zone_id,
                vlan_db_id=vlan.id,
                state=IpState.ALLOCATED.value,
                associated_with_network_id=network_id,
                source_nat=index == 0 and first == "203.0.113.10",
            )
        )
    session.flush()


@pytest.fixture
def world(runtime: Runtime, providers: tuple[Any, Any]) -> Iterator[World]:
    RULES.clear()
    with runtime.sessions.begin() as session:
        admin = session.scalars(select(Account).where(Account.account_name == "admin")).one()
        zone = Zone(
            name="edge", dns1="192.0.2.53", dns2="192.0.2.54", internal_dns1="10.0.0.2",
            networktype="Advanced",
        )  # fmt: skip
        session.add(zone)
        session.flush()
        offering = create_network_offering(
            session,
            name="edge",
            display_text="edge devices",
            traffic_type="Guest",
            guest_type="Isolated",
            supported_services=["Firewall", "PortForwarding", "SourceNat", "StaticNat", "Lb"],
            service_providers=[
                {"service": name, "provider": "JuniperSRX"}
                for name in ("Firewall", "PortForwarding", "SourceNat", "StaticNat")
            ]
            + [{"service": "Lb", "provider": "Netscaler"}],
        )
        network = Network(
            name="edge-net",
            display_text="edge-net",
            network_offering_id=offering.id,
            data_center_id=zone.id,
            guru_name="ExternalGuestNetworkGuru",
            state="Implemented",
            domain_id=admin.domain_id,
            account_id=admin.id,
            guest_type="Isolated",
            cidr="10.1.1.0/24",
            gateway="10.1.1.1",
            broadcast_uri="vlan://321",
            network_domain="edge.internal",
        )
        session.add(network)
        session.flush()
        services = {"Firewall": "JuniperSRX", "PortForwarding": "JuniperSRX"}
        services |= {"SourceNat": "JuniperSRX", "StaticNat": "JuniperSRX"}
        services |= {"Gateway": "JuniperSRX", "Lb": "Netscaler"}
        session.add_all(
            NetworkServiceMap(network_id=network.id, service=service, provider=name)
            for service, name in services.items()
        )
        _public_range(session, zone.id, network.id, 3)
        ids = (zone.id, network.id, network.uuid)
    builders = {Service.FIREWALL: _firewall_builder, Service.LB: _lb_builder}
    srx, netscaler = providers
    with orchestrator.rule_sets(builders):
        yield World(runtime, ids[0], ids[1], ids[2], srx, netscaler)


def _kinds(double: Any) -> list[str]:
    return [call[0] for call in double.calls]


# ---- dispatch ---------------------------------------------------------------------------


def test_apply_sends_the_whole_set_to_the_provider_of_the_service_only(world: World) -> None:
    RULES["Firewall"] = 3
    with world.runtime.sessions() as session:
        orchestrator.apply(session, world.network_id, Service.FIREWALL)
    assert _kinds(world.srx) == ["Firewall"] and world.netscaler.calls == []
    (_, uuid, rules) = world.srx.calls[0]
    assert uuid == world.network_uuid
    assert [rule.uuid for rule in rules] == ["fw-0", "fw-1", "fw-2"]
    with world.runtime.sessions() as session:
        orchestrator.apply(session, world.network_id, Service.LB)
    assert _kinds(world.netscaler) == ["Lb"] and _kinds(world.srx) == ["Firewall"]


def test_source_nat_set_is_the_networks_public_addresses(world: World) -> None:
    with world.runtime.sessions() as session:
        orchestrator.apply(session, world.network_id, Service.SOURCE_NAT)
    ((kind, _, addresses),) = world.srx.calls
    assert kind == "SourceNat"
    assert [(ip.address, ip.source_nat) for ip in addresses] == [
        ("203.0.113.10", True),
        ("203.0.113.11", False),
        ("203.0.113.12", False),
    ]
    assert {(ip.netmask, ip.gateway, ip.broadcast_uri) for ip in addresses} == {
        ("255.255.255.0", "203.0.113.1", "vlan://100")
    }


def test_apply_waits_for_the_network_to_be_implemented(world: World) -> None:
    with world.runtime.sessions.begin() as session:
        session.get(Network, world.network_id).state = "Allocated"  # type: ignore[union-attr]
    with world.runtime.sessions() as session:
        orchestrator.apply(session, world.network_id, Service.FIREWALL)
        orchestrator.apply(session, world.network_id, Service.VPN)  # not offered: nothing
    assert world.srx.calls == [] and world.netscaler.calls == []


def test_implement_reaches_each_provider_once_then_reapplies_every_set(world: World) -> None:
    with world.runtime.sessions() as session:
        orchestrator.implement(session, world.network_id)
    assert _kinds(world.srx) == ["implement", "SourceNat", "Firewall"]
    assert _kinds(world.netscaler) == ["implement", "Lb"]
    addresses = world.srx.calls[0][2]
    assert addresses[0].source_nat and len(addresses) == 3


def test_lifecycle_calls_reach_every_provider(world: World) -> None:
    with world.runtime.sessions() as session:
        orchestrator.shutdown(session, world.network_id)
        orchestrator.destroy(session, world.network_id)
    for double in (world.srx, world.netscaler):
        assert _kinds(double) == ["shutdown", "destroy"]


def test_prepare_and_release_give_the_nic_with_what_the_router_serves(world: World) -> None:
    with world.runtime.sessions.begin() as session:
        small = session.scalars(
            select(ServiceOffering).where(ServiceOffering.name == "Small Instance")
        ).one()
        admin = session.scalars(select(Account).where(Account.account_name == "admin")).one()
        vm = VirtualMachine(
            name="web-1", instance_name="i-2-99-VM", display_name="web", account_id=admin.id,
            domain_id=admin.domain_id, service_offering_id=small.id,
            data_center_id=world.zone_id, vnc_password="x", user_data="aGk=",
            ssh_public_key="ssh-rsa AAAA test",
        )  # fmt: skip
        session.add(vm)
        session.flush()
        nic = Nic(
            instance_id=vm.id, data_center_id=world.zone_id, network_id=world.network_id,
            ip4_address="10.1.1.20", mac_address="06:00:00:00:00:20", is_default=True,
        )  # fmt: skip
        session.add(nic)
        session.flush()
        vm_uuid, nic_id = vm.uuid, nic.id
    with world.runtime.sessions() as session:
        orchestrator.prepare_nic(session, world.network_id, nic_id, password="s3cret")
        orchestrator.release_nic(session, world.network_id, nic_id)
    for double in (world.srx, world.netscaler):
        assert _kinds(double) == ["prepare", "release"]
    guest = world.srx.calls[0][2]
    assert (guest.vm_uuid, guest.instance_name, guest.hostname) == (vm_uuid, "i-2-99-VM", "web-1")
    assert (guest.mac_address, guest.ip_address, guest.is_default) == (
        "06:00:00:00:00:20",
        "10.1.1.20",
        True,
    )
    assert guest.user_data == "aGk=" and guest.password == "s3cret"
    assert guest.metadata == {
        "service-offering": "Small Instance",
        "availability-zone": "edge",
        "local-ipv4": "10.1.1.20",
        "local-hostname": "web-1",
        "public-ipv4": "203.0.113.10",
        "public-hostname": "203.0.113.10",
        "instance-id": "i-2-99-VM",
        "vm-id": str(guest.metadata["vm-id"]),
        "public-keys": "ssh-rsa AAAA test",
    }
    assert world.srx.calls[1][2].password == ""  # a release serves nothing


def test_the_network_as_providers_see_it(world: World) -> None:
    with world.runtime.sessions() as session:
        ref = orchestrator.network_ref(session, world.network_id)
    assert (ref.uuid, ref.name, ref.guest_type) == (world.network_uuid, "edge-net", "Isolated")
    assert (ref.cidr, ref.gateway, ref.netmask) == ("10.1.1.0/24", "10.1.1.1", "255.255.255.0")
    assert ref.broadcast_uri == "vlan://321" and ref.network_domain == "edge.internal"
    assert ref.dns == ("192.0.2.53", "192.0.2.54") and ref.egress_default_allow is True


# ---- errors and transactions ------------------------------------------------------------


def test_provider_errors_become_cloudstack_errors(world: World) -> None:
    RULES["algorithm"] = "refused"
    with world.runtime.sessions() as session, pytest.raises(InternalError) as refused:
        orchestrator.apply(session, world.network_id, Service.LB)
    assert refused.value.errorcode == 530 and refused.value.internal is False
    assert "algorithm refused is not supported" in refused.value.errortext
    RULES["algorithm"] = "unreachable"
    with world.runtime.sessions() as session, pytest.raises(ResourceUnavailable) as down:
        orchestrator.apply(session, world.network_id, Service.LB)
    assert down.value.errorcode == 534 and "NITRO API did not answer" in down.value.errortext


def test_a_provider_nobody_installed_is_534_and_commits_nothing(world: World) -> None:
    with world.runtime.sessions.begin() as session:
        session.execute(
            NetworkServiceMap.__table__.update()  # type: ignore[attr-defined]
            .where(NetworkServiceMap.network_id == world.network_id)
            .where(NetworkServiceMap.service == "Lb")
            .values(provider="F5BigIp")
        )
    with world.runtime.sessions() as session:
        session.get(Network, world.network_id).name = "pending"  # type: ignore[union-attr]
        session.flush()
        with pytest.raises(ResourceUnavailable, match="F5BigIp"):
            orchestrator.apply(session, world.network_id, Service.LB)
        session.rollback()
    with world.runtime.sessions() as session:
        assert session.get(Network, world.network_id).name == "edge-net"  # type: ignore[union-attr]


def test_providers_are_called_after_the_callers_changes_are_committed(world: World) -> None:
    seen: list[str | None] = []

    def look(call: tuple[Any, ...]) -> None:
        # Another connection, as another process would: it sees only committed rows.
        with world.runtime.sessions() as other:
            seen.append(other.scalar(select(Network.name).where(Network.id == world.network_id)))

    type(world.srx).on_call = staticmethod(look)
    with world.runtime.sessions() as session:
        session.get(Network, world.network_id).name = "renamed"  # type: ignore[union-attr]
        orchestrator.apply(session, world.network_id, Service.FIREWALL)
    assert seen == ["renamed"]


def test_rule_sets_only_for_rule_services() -> None:
    with pytest.raises(ValueError, match="has no rule set"):
        orchestrator.register_rule_set(Service.DHCP, _lb_builder)


def test_one_instance_per_provider_class(world: World) -> None:
    assert provider("JuniperSRX") is world.srx
    with pytest.raises(ResourceUnavailable, match="NiciraNvp"):
        provider("NiciraNvp")


def test_the_context_is_the_callers_when_given(world: World) -> None:
    given = NetworkContext()
    received: list[Any] = []
    type(world.srx).on_call = staticmethod(received.append)
    with world.runtime.sessions() as session:
        orchestrator.shutdown(session, world.network_id, context=given)
    assert received == [("shutdown", world.network_uuid)]


# ---- statements ------------------------------------------------------------------------


class _Counter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        control = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")
        if not statement.lstrip().upper().startswith(control):
            self.count += 1


def _statements(runtime: Runtime, action: Any) -> int:
    counter = _Counter()
    event.listen(runtime.engine, "before_cursor_execute", counter)
    try:
        with runtime.sessions() as session:
            action(session)
    finally:
        event.remove(runtime.engine, "before_cursor_execute", counter)
    return counter.count


def test_statements_do_not_grow_with_rules_or_addresses(world: World) -> None:
    def apply(session: Session) -> None:
        orchestrator.apply(session, world.network_id, Service.FIREWALL)

    def implement(session: Session) -> None:
        orchestrator.implement(session, world.network_id)

    RULES.update(Firewall=1, Lb=1)
    few_apply = _statements(world.runtime, apply)
    few_implement = _statements(world.runtime, implement)
    RULES.update(Firewall=200, Lb=100)
    with world.runtime.sessions.begin() as session:
        _public_range(session, world.zone_id, world.network_id, 40, first="198.51.100.10")
    assert _statements(world.runtime, apply) == few_apply == 2  # facts, the builder's one
    # facts, addresses, the two builders' one each
    assert _statements(world.runtime, implement) == few_implement == 4
    assert len(world.srx.calls[-1][2]) == 200
