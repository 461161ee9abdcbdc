"""Virtual routers (REQ-GN-01, REQ-GN-02) on the demo zone's simulated hosts: the core's
:class:`~cumulo.network.context.CoreNetworkContext` deploys a network's router system VM
through the placement service and the hypervisor driver, idempotently; the admin
commands listRouters, stopRouter, startRouter, rebootRouter and destroyRouter over the
real API, with tenant isolation and one statement per list page.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import falcon.testing
import pytest
from sqlalchemy import delete, event, select
from test_network_offerings_api import Cloud, make_caller

from cumulo.accounts.models import Account
from cumulo.compute.models import Nic, VirtualMachine
from cumulo.demo import ensure_demo_zone
from cumulo.events.models import Event
from cumulo.infra.hosts.models import Host
from cumulo.infra.models import IpState, UserIpAddress, VlanIpRange, Zone
from cumulo.network import orchestrator
from cumulo.network.context import CoreNetworkContext
from cumulo.network.networks.models import Network, NetworkServiceMap
from cumulo.network.offerings.models import NetworkOffering
from cumulo.network.providers import GROUP
from cumulo.network.routers.deploy import ROUTER_OFFERING
from cumulo.network.routers.models import DomainRouter
from cumulo.offerings.models import ServiceOffering
from cumulo.runtime import Runtime
from cumulo.sdk.hypervisor import HostConnection, HostRef
from cumulo.sdk.network import (
    Capabilities,
    NetworkContext,
    NetworkProvider,
    NetworkRef,
    ProviderUnreachable,
    PublicIp,
    RouterRef,
    Service,
)
from cumulo.testing.fakes import registered_drivers
from cumulo.volumes.models import Volume

pytest.importorskip("cumulo_simulator")

ROUTED = "DefaultIsolatedNetworkOfferingWithSourceNatService"
MB = 1024 * 1024


@pytest.fixture
def zone(runtime: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    """The demo zone of simulated hosts, with its simulator template downloaded."""
    monkeypatch.setenv("CUMULO_SIMULATOR_STATE", str(tmp_path / "simulator.sqlite"))
    uuid = ensure_demo_zone(runtime, tmp_path / "data").zone_uuid
    with runtime.sessions() as session:
        return int(session.scalars(select(Zone.id).where(Zone.uuid == uuid)).one())


def make_isolated_network(
    runtime: Runtime, zone_id: int, owner: str, name: str, public_start: str
) -> NetworkRef:
    """An implemented isolated network of ``owner`` with a source-NAT address."""
    with runtime.sessions.begin() as session:
        account = session.scalars(select(Account).where(Account.account_name == owner)).one()
        offering = session.scalars(
            select(NetworkOffering).where(NetworkOffering.unique_name == ROUTED)
        ).one()
        network = Network(
            name=name, display_text=name, network_offering_id=offering.id,
            data_center_id=zone_id, guru_name="ExternalGuestNetworkGuru", state="Implemented",
            domain_id=account.domain_id, account_id=account.id, guest_type="Isolated",
            cidr="10.1.1.0/24", gateway="10.1.1.1", broadcast_uri="vlan://500",
            network_domain="cs2cloud.internal",
        )  # fmt: skip
        session.add(network)
        session.flush()
        vlan = VlanIpRange(
            vlan_id="untagged", vlan_gateway="203.0.113.1", vlan_netmask="255.255.255.0",
            vlan_type="VirtualNetwork", data_center_id=zone_id,
        )  # fmt: skip
        session.add(vlan)
        session.flush()
        address = ipaddress.IPv4Address(public_start)
        session.add(
            UserIpAddress(
                public_ip_address=str(address), ip_num=int(address), data_center_id=zone_id,
                vlan_db_id=vlan.id, state=IpState.ALLOCATED.value, account_id=account.id,
                domain_id=account.domain_id, associated_with_network_id=network.id,
                source_nat=True,
            )
        )  # fmt: skip
        session.flush()
        zone_uuid = session.get(Zone, zone_id).uuid  # type: ignore[union-attr]
        return NetworkRef(
            uuid=network.uuid, name=name, zone_uuid=zone_uuid, guest_type="Isolated",
            cidr="10.1.1.0/24", gateway="10.1.1.1", netmask="255.255.255.0",
            broadcast_uri="vlan://500",
        )  # fmt: skip


@pytest.fixture
def cloud(api: falcon.testing.TestClient, runtime: Runtime, admin_keys: tuple[str, str]) -> Cloud:
    return Cloud(api, runtime, admin_keys)


@pytest.fixture
def network(runtime: Runtime, zone: int, cloud: Cloud) -> NetworkRef:
    """An isolated network of the user alice."""
    make_caller(runtime, "alice", 0)
    return make_isolated_network(runtime, zone, "alice", "alice-net", "203.0.113.10")


def _ensure(runtime: Runtime, network: NetworkRef) -> Any:
    with runtime.sessions() as session:
        return CoreNetworkContext(session, runtime).ensure_router(network)


def _free_memory(runtime: Runtime) -> dict[int, int]:
    with runtime.sessions() as session:
        return {host.id: host.free_memory for host in session.scalars(select(Host))}


# ---- the context --------------------------------------------------------------------------


def test_ensure_router_deploys_the_router_system_vm(runtime: Runtime, network: NetworkRef) -> None:
    """REQ-GN-01/02: eth0 the guest gateway, eth1 link-local control, eth2 public."""
    before = _free_memory(runtime)
    ref = _ensure(runtime, network)
    with runtime.sessions() as session:
        vm = session.scalars(select(VirtualMachine).where(VirtualMachine.uuid == ref.uuid)).one()
        router = session.get(DomainRouter, vm.id)
        nics = session.scalars(
            select(Nic).where(Nic.instance_id == vm.id).order_by(Nic.device_id)
        ).all()
        volume = session.scalars(select(Volume).where(Volume.instance_id == vm.id)).one()
        owner = session.get(Account, vm.account_id)
    assert vm.type == "DomainRouter" and vm.state == "Running" and vm.host_id is not None
    assert vm.instance_name == ref.instance_name == f"r-{vm.id}-VM"
    assert owner is not None and owner.account_name == "alice"
    assert [(n.traffic_type, n.ip4_address) for n in nics] == [
        ("Guest", "10.1.1.1"),
        ("Control", ref.control_ip),
        ("Public", "203.0.113.10"),
    ]
    assert ipaddress.IPv4Address(ref.control_ip) in ipaddress.IPv4Network("169.254.0.0/16")
    assert nics[0].broadcast_uri == "vlan://500" and nics[2].is_default
    assert (ref.guest_ip, ref.public_ip) == ("10.1.1.1", "203.0.113.10")
    assert router is not None and ref.access_uri == router.access_uri
    # what the host's driver says of a system VM it runs (the simulator's own answer)
    from cumulo_simulator.hypervisor import SimulatorHypervisor

    host = HostRef(guid="any", connection=HostConnection(url="http://sim/any"))
    expected = SimulatorHypervisor().system_vm_access_uri(host, vm.instance_name, ref.control_ip)
    assert ref.access_uri == expected
    assert volume.volume_type == "ROOT" and volume.state == "Ready"
    after = _free_memory(runtime)
    assert before[vm.host_id] - after[vm.host_id] == vm.reserved_memory >= 128 * MB


def test_ensure_router_is_idempotent(runtime: Runtime, network: NetworkRef) -> None:
    first = _ensure(runtime, network)
    memory = _free_memory(runtime)
    assert _ensure(runtime, network) == first
    assert _free_memory(runtime) == memory
    with runtime.sessions() as session:
        assert len(session.scalars(select(DomainRouter)).all()) == 1
        context = CoreNetworkContext(session, runtime)
        assert context.find_router(network) == first


def test_a_failed_start_gives_everything_back(runtime: Runtime, network: NetworkRef) -> None:
    from cumulo_simulator.rules import Behaviour, Scope
    from cumulo_simulator.state import SimulatorState

    before = _free_memory(runtime)
    SimulatorState().add_rule("start", Scope(), Behaviour(result="fail", message="no KVM here"))
    with pytest.raises(ProviderUnreachable, match="no KVM here"):
        _ensure(runtime, network)
    assert _free_memory(runtime) == before
    with runtime.sessions() as session:
        vm = session.scalars(select(VirtualMachine)).one()
        assert vm.state == "Stopped" and vm.host_id is None
        assert "no KVM here" in (vm.last_error or "")
        assert session.scalars(select(Event.level).where(Event.type == "ROUTER.START")).all() == [
            "ERROR"
        ]
        assert CoreNetworkContext(session, runtime).find_router(network) is None
    SimulatorState().add_rule("start", Scope(), Behaviour(result="clear"))
    # the next ensure_router starts the same router
    assert _ensure(runtime, network).uuid == vm.uuid


def test_without_a_runtime_routers_cannot_be_started(runtime: Runtime, network: NetworkRef) -> None:
    with runtime.sessions() as session:
        session.info.pop("runtime", None)
        with pytest.raises(ProviderUnreachable, match="runtime"):
            CoreNetworkContext(session).ensure_router(network)


def test_destroy_router_removes_it_and_a_new_one_can_come(
    runtime: Runtime, network: NetworkRef
) -> None:
    before = _free_memory(runtime)
    first = _ensure(runtime, network)
    with runtime.sessions() as session:
        CoreNetworkContext(session, runtime).destroy_router(network)
        CoreNetworkContext(session, runtime).destroy_router(network)  # nothing left: no-op
    assert _free_memory(runtime) == before
    with runtime.sessions() as session:
        vm = session.scalars(select(VirtualMachine).where(VirtualMachine.uuid == first.uuid)).one()
        router = session.get(DomainRouter, vm.id)
        assert vm.removed is not None and vm.state == "Expunging"
        assert router is not None and router.live_network_id is None
        assert (
            session.scalars(
                select(Nic.id).where(Nic.instance_id == vm.id, Nic.removed.is_(None))
            ).all()
            == []
        )
        assert {
            v.state for v in session.scalars(select(Volume).where(Volume.instance_id == vm.id))
        } == {"Expunged"}
    second = _ensure(runtime, network)
    assert second.uuid != first.uuid and second.guest_ip == "10.1.1.1"


# ---- the commands -------------------------------------------------------------------------


def _routers(cloud: Cloud, **params: Any) -> list[dict[str, Any]]:
    answer = cloud.call("listRouters", **params)
    routers: list[dict[str, Any]] = answer.get("router", [])
    assert answer.get("count", 0) == len(routers)
    return routers


def test_list_routers_shows_4_1_fields(cloud: Cloud, network: NetworkRef) -> None:
    ref = _ensure(cloud.runtime, network)
    (router,) = _routers(cloud, listall=True)
    assert router["id"] == ref.uuid and router["name"] == ref.instance_name
    assert router["state"] == "Running" and router["account"] == "alice"
    assert router["guestipaddress"] == "10.1.1.1" and router["guestnetworkid"] == network.uuid
    assert router["publicip"] == "203.0.113.10" and router["gateway"] == "203.0.113.1"
    assert router["linklocalip"] == ref.control_ip and router["linklocalnetmask"] == "255.255.0.0"
    assert router["zonename"] == "Demo" and router["dns1"] == "8.8.8.8"
    assert router["networkdomain"] == "cs2cloud.internal"
    assert router["serviceofferingname"] == "System Offering For Software Router"
    assert router["isredundantrouter"] is False and router["redundantstate"] == "UNKNOWN"
    assert router["hostid"] and router["podid"] and router["templateid"]
    assert [nic["traffictype"] for nic in router["nic"]] == ["Guest", "Control", "Public"]
    assert router["nic"][0]["networkid"] == network.uuid
    assert {r["id"] for r in _routers(cloud, networkid=network.uuid, listall=True)} == {ref.uuid}
    assert _routers(cloud, state="Stopped", listall=True) == []
    assert len(_routers(cloud, name=ref.instance_name, listall=True)) == 1
    assert _routers(cloud, forvpc=True, listall=True) == []
    # without listall an admin lists its own account's routers: none
    assert _routers(cloud) == []


def test_stop_start_reboot_and_destroy_router(cloud: Cloud, network: NetworkRef) -> None:
    ref = _ensure(cloud.runtime, network)
    stopped = cloud.call("stopRouter", id=ref.uuid)["router"]
    assert stopped["state"] == "Stopped" and "hostid" not in stopped
    started = cloud.call("startRouter", id=ref.uuid)["router"]
    assert started["state"] == "Running" and started["hostid"]
    assert cloud.call("rebootRouter", id=ref.uuid)["router"]["state"] == "Running"
    code, text = cloud.error("startRouter", id=ref.uuid)
    assert code == 431 and "Running" in text
    destroyed = cloud.call("destroyRouter", id=ref.uuid)["router"]
    assert destroyed["id"] == ref.uuid and destroyed["state"] == "Expunging"
    assert _routers(cloud, listall=True) == []
    code, _ = cloud.error("stopRouter", id=ref.uuid)
    assert code == 431
    with cloud.runtime.sessions() as session:
        kinds = session.scalars(
            select(Event.type).where(Event.type.like("ROUTER.%")).order_by(Event.id)
        ).all()
    assert kinds == [
        "ROUTER.START", "ROUTER.STOP", "ROUTER.START", "ROUTER.REBOOT", "ROUTER.STOP",
        "ROUTER.DESTROY",
    ]  # fmt: skip


def test_routers_are_for_admins_of_their_domain(
    cloud: Cloud, runtime: Runtime, network: NetworkRef
) -> None:
    ref = _ensure(runtime, network)
    alice = cloud.as_(runtime_keys(runtime, "alice"))
    code, _ = alice.error("listRouters")
    assert code == 432
    code, _ = alice.error("stopRouter", id=ref.uuid)
    assert code == 432
    outsider = cloud.as_(_domain_admin_elsewhere(runtime))
    assert _routers(outsider, listall=True) == []
    code, _ = outsider.error("stopRouter", id=ref.uuid)
    assert code == 531
    assert _routers(cloud, listall=True)[0]["state"] == "Running"


def runtime_keys(runtime: Runtime, name: str) -> tuple[str, str]:
    """Fresh API keys of the existing user ``name``."""
    from cumulo.accounts.models import User
    from cumulo.auth.keys import register_user_keys

    with runtime.sessions.begin() as session:
        user = session.scalars(select(User).where(User.username == name)).one()
        return register_user_keys(session, user, runtime.database_key, runtime.algorithm)


def _domain_admin_elsewhere(runtime: Runtime) -> tuple[str, str]:
    """A domain admin of a sub-domain alice is not in."""
    from cumulo.accounts.models import Domain, User
    from cumulo.auth.keys import register_user_keys

    with runtime.sessions.begin() as session:
        root = session.scalars(select(Domain).where(Domain.path == "/")).one()
        sub = Domain(name="Other", parent=root.id, path="/Other/", level=1, owner=0, state="Active")
        session.add(sub)
        session.flush()
        account = Account(account_name="oscar", type=2, domain_id=sub.id)
        session.add(account)
        session.flush()
        user = User(
            username="oscar", password="!", account_id=account.id, firstname="o",
            lastname="t", email="o@example.com",
        )  # fmt: skip
        session.add(user)
        session.flush()
        return register_user_keys(session, user, runtime.database_key, runtime.algorithm)


class _Counter:
    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.statements.append(statement)


@pytest.fixture
def counter(runtime: Runtime) -> Iterator[_Counter]:
    found = _Counter()
    event.listen(runtime.engine, "before_cursor_execute", found)
    yield found
    event.remove(runtime.engine, "before_cursor_execute", found)


def _list_statements(cloud: Cloud, counter: _Counter) -> list[str]:
    _routers(cloud, listall=True)
    counter.statements.clear()
    _routers(cloud, listall=True)
    return [s for s in counter.statements if "domain_router" in s]


def test_one_statement_per_page_whatever_the_number_of_routers(
    cloud: Cloud, runtime: Runtime, zone: int, network: NetworkRef, counter: _Counter
) -> None:
    _ensure(runtime, network)
    one = _list_statements(cloud, counter)
    for index in range(3):
        other = make_isolated_network(
            runtime, zone, "alice", f"net-{index}", f"203.0.113.{20 + index}"
        )
        _ensure(runtime, other)
    many = _list_statements(cloud, counter)
    assert len(one) == len(many) == 1
    assert len(_routers(cloud, listall=True)) == 4
    page = cloud.call("listRouters", listall=True, page=2, pagesize=3)
    assert page["count"] == 4 and len(page["router"]) == 1


def test_a_shared_networks_router_takes_an_address_of_its_range(
    runtime: Runtime, zone: int, cloud: Cloud
) -> None:
    """A shared network's gateway is the physical router's: its virtual router (DHCP,
    DNS, userdata only) takes a free address of the network's range and has no public
    NIC; destroying it gives the address back."""
    with runtime.sessions.begin() as session:
        admin = session.scalars(select(Account).where(Account.account_name == "admin")).one()
        offering = session.scalars(
            select(NetworkOffering).where(
                NetworkOffering.unique_name == "DefaultSharedNetworkOfferingWithSGService"
            )
        ).one()
        # Adding the pod's guest range made the zone's shared network (and gave the
        # range to it); a zone without one gets it here.
        network = session.scalars(
            select(Network).where(Network.data_center_id == zone, Network.guest_type == "Shared")
        ).first()
        if network is None:
            network = Network(
                name="basic", display_text="basic", network_offering_id=offering.id,
                data_center_id=zone, guru_name="DirectPodBasedNetworkGuru", state="Setup",
                domain_id=admin.domain_id, account_id=admin.id, guest_type="Shared",
                cidr="192.168.100.0/24", gateway="192.168.100.1",
                broadcast_uri="vlan://untagged",
            )  # fmt: skip
            session.add(network)
            session.flush()
        ref = NetworkRef(
            uuid=network.uuid, name="basic", zone_uuid="", guest_type="Shared",
            cidr="192.168.100.0/24", gateway="192.168.100.1", netmask="255.255.255.0",
        )  # fmt: skip
    router = _ensure(runtime, ref)
    assert router.public_ip == "" and router.guest_ip != "192.168.100.1"
    assert ipaddress.IPv4Address(router.guest_ip) in ipaddress.IPv4Network("192.168.100.0/24")
    with runtime.sessions() as session:
        held = session.scalars(
            select(UserIpAddress.state).where(UserIpAddress.public_ip_address == router.guest_ip)
        ).one()
        vm = session.scalars(select(VirtualMachine).where(VirtualMachine.uuid == router.uuid)).one()
        nics = session.scalars(
            select(Nic).where(Nic.instance_id == vm.id).order_by(Nic.device_id)
        ).all()
        assert held == "Allocated"
        assert [(n.traffic_type, n.is_default) for n in nics] == [
            ("Guest", True),
            ("Control", False),
        ]
        CoreNetworkContext(session, runtime).destroy_router(ref)
    with runtime.sessions() as session:
        freed = session.scalars(
            select(UserIpAddress.state).where(UserIpAddress.public_ip_address == router.guest_ip)
        ).one()
    assert freed == "Free"


class RouterUsingProviderDouble(NetworkProvider):
    """A test double of a router-based provider: implement asks the context for the
    network's router and remembers the answer; nothing else."""

    name: ClassVar[str] = "VirtualRouter"
    routers: ClassVar[list[RouterRef]] = []

    def capabilities(self) -> Capabilities:
        return {Service.DHCP: {}}

    def implement(
        self, ctx: NetworkContext, network: NetworkRef, public_ips: tuple[PublicIp, ...]
    ) -> None:
        self.routers.append(ctx.ensure_router(network))

    def destroy(self, ctx: NetworkContext, network: NetworkRef) -> None:
        ctx.destroy_router(network)


def test_providers_get_routers_through_the_orchestrator(
    runtime: Runtime, network: NetworkRef
) -> None:
    with runtime.sessions.begin() as session:
        network_id = session.scalars(select(Network.id).where(Network.uuid == network.uuid)).one()
        session.add(
            NetworkServiceMap(network_id=network_id, service="Dhcp", provider="VirtualRouter")
        )
    RouterUsingProviderDouble.routers.clear()
    with registered_drivers(GROUP, {"VirtualRouter": RouterUsingProviderDouble}):
        with runtime.sessions() as session:
            orchestrator.implement(session, network_id, runtime=runtime)
            orchestrator.implement(session, network_id, runtime=runtime)
        (first, again) = RouterUsingProviderDouble.routers
        assert first == again and first.guest_ip == "10.1.1.1"
        with runtime.sessions() as session:
            orchestrator.destroy(session, network_id, runtime=runtime)
            assert CoreNetworkContext(session, runtime).find_router(network) is None


def test_the_router_offering_is_seeded_when_missing(runtime: Runtime, network: NetworkRef) -> None:
    with runtime.sessions.begin() as session:
        session.execute(
            delete(ServiceOffering).where(ServiceOffering.unique_name == ROUTER_OFFERING)
        )
    ref = _ensure(runtime, network)
    with runtime.sessions() as session:
        offering = session.scalars(
            select(ServiceOffering).where(ServiceOffering.unique_name == ROUTER_OFFERING)
        ).one()
        vm = session.scalars(select(VirtualMachine).where(VirtualMachine.uuid == ref.uuid)).one()
    assert vm.service_offering_id == offering.id
    assert (offering.system_use, offering.vm_type, offering.ram_size) == (True, "domainrouter", 128)
