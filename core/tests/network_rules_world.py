"""A small guest-networking world for the rules' API tests (net6c's test helper).

It writes directly, in one transaction, what the network and IPAM areas would have
made: an advanced zone with an implemented isolated network of the seeded
``DefaultIsolatedNetworkOfferingWithSourceNatService`` (every rule service given by
``VirtualRouter``), public addresses associated with it, VMs with NICs on it; and a
basic zone with security groups and its shared network. The commands under test run
over the real API (signed requests through falcon's test client) and their jobs
through the real job worker.

Providers are the network's boundary: :class:`RecordingProvider`, a test double named
as such, is registered under the ``VirtualRouter`` and ``SecurityGroupProvider`` names
for the test and records every whole set the orchestrator hands it, so tests assert
exactly what a real provider would be asked to enforce. It refuses on demand
(:attr:`RecordingProvider.refuse`), to prove that nothing is half-written.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, ClassVar

import falcon.testing
import pytest
from sqlalchemy import select

from cumulo.accounts.models import Account, Domain, User
from cumulo.auth.keys import register_user_keys
from cumulo.compute.models import Nic, VirtualMachine
from cumulo.infra.models import IpState, UserIpAddress, VlanIpRange, VlanType, Zone
from cumulo.network.networks.models import Network, NetworkServiceMap
from cumulo.network.offerings.models import NetworkOffering
from cumulo.runtime import Runtime
from cumulo.sdk import network as sdk
from cumulo.sdk.network import Service
from cumulo.testing.fakes import registered_drivers
from cumulo_api.registry import CommandRegistry
from cumulo_api.testing import signed_request
from cumulo_api.worker import run_pending

Keys = tuple[str, str]

STICKINESS_METHODS = json.dumps(
    [
        {
            "methodname": "LbCookie",
            "description": "a cookie set by the load balancer",
            "paramlist": [
                {"paramname": "cookie-name", "required": False, "isflag": False},
                {"paramname": "mode", "required": False, "isflag": False},
                {"paramname": "nocache", "required": False, "isflag": True},
                {"paramname": "indirect", "required": False, "isflag": True},
                {"paramname": "postonly", "required": False, "isflag": True},
                {"paramname": "domain", "required": False, "isflag": False},
            ],
        },
        {
            "methodname": "AppCookie",
            "description": "the application's own cookie",
            "paramlist": [
                {"paramname": "cookie-name", "required": True, "isflag": False},
                {"paramname": "length", "required": False, "isflag": False},
                {"paramname": "holdtime", "required": False, "isflag": False},
                {"paramname": "request-learn", "required": False, "isflag": True},
                {"paramname": "prefix", "required": False, "isflag": True},
                {"paramname": "mode", "required": False, "isflag": False},
            ],
        },
        {
            "methodname": "SourceBased",
            "description": "the client's source address",
            "paramlist": [
                {"paramname": "tablesize", "required": False, "isflag": False},
                {"paramname": "expire", "required": False, "isflag": False},
            ],
        },
    ]
)


class RecordingProvider(sdk.NetworkProvider):
    """A test double of a network provider: accepts everything, remembers the last
    whole set of each service per network, refuses when told to."""

    applied: ClassVar[dict[tuple[str, Service], Any]] = {}
    calls: ClassVar[list[tuple[str, Service]]] = []
    refuse: ClassVar[set[Service]] = set()

    @classmethod
    def reset(cls) -> None:
        cls.applied.clear()
        cls.calls.clear()
        cls.refuse.clear()

    def capabilities(self) -> sdk.Capabilities:
        return {
            Service.LB: {
                "SupportedLBAlgorithms": "roundrobin,leastconn,source",
                "SupportedStickinessMethods": STICKINESS_METHODS,
            },
            **{s: {} for s in Service if s is not Service.LB},
        }

    def _record(self, network: sdk.NetworkRef, service: Service, rules: Any) -> None:
        if service in self.refuse:
            raise sdk.ProviderRefused(f"the test refuses {service.value}")
        type(self).applied[(network.uuid, service)] = rules
        type(self).calls.append((network.uuid, service))

    def implement(self, ctx: Any, network: sdk.NetworkRef, public_ips: Any) -> None:
        pass

    def prepare(self, ctx: Any, network: sdk.NetworkRef, nic: Any) -> None:
        pass

    def release(self, ctx: Any, network: sdk.NetworkRef, nic: Any) -> None:
        pass

    def shutdown(self, ctx: Any, network: sdk.NetworkRef) -> None:
        pass

    def destroy(self, ctx: Any, network: sdk.NetworkRef) -> None:
        pass

    def apply_firewall_rules(self, ctx: Any, network: sdk.NetworkRef, rules: Any) -> None:
        self._record(network, Service.FIREWALL, rules)

    def apply_port_forwarding(self, ctx: Any, network: sdk.NetworkRef, rules: Any) -> None:
        self._record(network, Service.PORT_FORWARDING, rules)

    def apply_static_nat(self, ctx: Any, network: sdk.NetworkRef, rules: Any) -> None:
        self._record(network, Service.STATIC_NAT, rules)

    def apply_load_balancers(self, ctx: Any, network: sdk.NetworkRef, rules: Any) -> None:
        self._record(network, Service.LB, rules)

    def apply_source_nat(self, ctx: Any, network: sdk.NetworkRef, public_ips: Any) -> None:
        self._record(network, Service.SOURCE_NAT, public_ips)

    def apply_vpn(self, ctx: Any, network: sdk.NetworkRef, vpn: Any) -> None:
        self._record(network, Service.VPN, vpn)

    def apply_security_groups(self, ctx: Any, network: sdk.NetworkRef, vms: Any) -> None:
        self._record(network, Service.SECURITY_GROUP, vms)


@contextmanager
def recording_providers() -> Iterator[type[RecordingProvider]]:
    """:class:`RecordingProvider` registered as ``VirtualRouter`` and
    ``SecurityGroupProvider`` (and ``Netscaler``) for the ``with`` block."""
    RecordingProvider.reset()
    names = ("VirtualRouter", "SecurityGroupProvider", "Netscaler")
    with registered_drivers("cumulo.network_providers", dict.fromkeys(names, RecordingProvider)):
        yield RecordingProvider
    RecordingProvider.reset()


# ---- the world ------------------------------------------------------------------------------

_macs = itertools.count(1)


@dataclass
class Tenant:
    """An account with one user's API keys."""

    name: str
    account_id: int
    domain_id: int
    keys: Keys


@dataclass
class GuestNet:
    """A network with its public addresses (uuid → address) and VMs (uuid → guest IP)."""

    id: int
    uuid: str
    cidr: str
    ips: dict[str, str] = field(default_factory=dict)
    vms: dict[str, str] = field(default_factory=dict)


def make_tenant(
    runtime: Runtime, name: str, account_type: int = 0, domain_path: str = "/"
) -> Tenant:
    """A new account with one user and its API keys."""
    with runtime.sessions.begin() as session:
        domain = session.scalars(select(Domain).where(Domain.path == domain_path)).one()
        account = Account(account_name=name, type=account_type, domain_id=domain.id)
        session.add(account)
        session.flush()
        user = User(
            username=name,
            password="!",
            account_id=account.id,
            firstname=name,
            lastname="test",
            email=f"{name}@example.com",
        )
        session.add(user)
        session.flush()
        keys = register_user_keys(session, user, runtime.database_key, runtime.algorithm)
        return Tenant(name, account.id, domain.id, keys)


def make_zone(runtime: Runtime, name: str, *, basic: bool = False) -> int:
    """A zone (advanced, or basic with security groups)."""
    with runtime.sessions.begin() as session:
        zone = Zone(
            name=name,
            dns1="8.8.8.8",
            internal_dns1="10.0.0.2",
            networktype="Basic" if basic else "Advanced",
            is_security_group_enabled=basic,
            guest_network_cidr="10.1.1.0/24",
        )
        session.add(zone)
        session.flush()
        return zone.id


def make_network(
    runtime: Runtime,
    zone_id: int,
    owner: Tenant,
    *,
    cidr: str = "10.1.1.0/24",
    offering: str = "DefaultIsolatedNetworkOfferingWithSourceNatService",
    services: dict[str, str] | None = None,
    state: str = "Implemented",
    guest_type: str = "Isolated",
) -> GuestNet:
    """An implemented network of ``owner`` with the offering's services (or
    ``services``), its providers recorded in ``ntwk_service_map``."""
    with runtime.sessions.begin() as session:
        chosen = session.scalars(
            select(NetworkOffering).where(NetworkOffering.unique_name == offering)
        ).one()
        from cumulo.network.offerings.models import NetworkOfferingService

        offered = services or {
            s: p or ""
            for s, p in session.execute(
                select(NetworkOfferingService.service, NetworkOfferingService.provider).where(
                    NetworkOfferingService.network_offering_id == chosen.id
                )
            )
        }
        network = Network(
            name=f"net-{owner.name}",
            display_text="test network",
            traffic_type="Guest",
            broadcast_domain_type="Vlan",
            broadcast_uri="vlan://100",
            gateway=cidr.rsplit(".", 1)[0] + ".1",
            cidr=cidr,
            mode="Dhcp",
            network_offering_id=chosen.id,
            data_center_id=zone_id,
            guru_name="ExternalGuestNetworkGuru",
            state=state,
            domain_id=owner.domain_id,
            account_id=owner.account_id,
            acl_type="Account",
            guest_type=guest_type,
        )
        session.add(network)
        session.flush()
        session.add_all(
            NetworkServiceMap(network_id=network.id, service=s, provider=p)
            for s, p in offered.items()
        )
        return GuestNet(network.id, network.uuid, cidr)


def add_public_ips(
    runtime: Runtime, zone_id: int, net: GuestNet, owner: Tenant, count: int, *, base: str
) -> list[str]:
    """``count`` addresses ``<base>.10`` on, allocated to ``owner`` and associated with
    the network (the first is its source NAT); their uuids."""
    with runtime.sessions.begin() as session:
        vlan = VlanIpRange(
            vlan_id="untagged",
            vlan_gateway=f"{base}.1",
            vlan_netmask="255.255.255.0",
            vlan_type=VlanType.VIRTUAL_NETWORK.value,
            data_center_id=zone_id,
            description=f"{base}.10-{base}.{9 + count}",
        )
        session.add(vlan)
        session.flush()
        made = []
        for index in range(count):
            address = f"{base}.{10 + index}"
            row = UserIpAddress(
                public_ip_address=address,
                ip_num=10 + index,
                data_center_id=zone_id,
                vlan_db_id=vlan.id,
                state=IpState.ALLOCATED.value,
                account_id=owner.account_id,
                domain_id=owner.domain_id,
                associated_with_network_id=net.id,
                source_nat=index == 0,
            )
            session.add(row)
            session.flush()
            net.ips[row.uuid] = address
            made.append(row.uuid)
        return made


def add_vm(
    runtime: Runtime,
    zone_id: int,
    net: GuestNet,
    owner: Tenant,
    name: str,
    address: str,
    *,
    state: str = "Running",
    default: bool = True,
) -> str:
    """A VM of ``owner`` with its NIC on the network at ``address``; its uuid."""
    with runtime.sessions.begin() as session:
        vm = VirtualMachine(
            name=name,
            instance_name=f"i-{owner.account_id}-{name}-VM",
            display_name=name,
            account_id=owner.account_id,
            domain_id=owner.domain_id,
            service_offering_id=1,
            data_center_id=zone_id,
            vnc_password="x",
            state=state,
        )
        session.add(vm)
        session.flush()
        n = next(_macs)
        mac = f"02:00:00:{n >> 16 & 255:02x}:{n >> 8 & 255:02x}:{n & 255:02x}"
        session.add(
            Nic(
                instance_id=vm.id,
                data_center_id=zone_id,
                network_id=net.id,
                ip4_address=address,
                netmask="255.255.255.0",
                gateway=net.cidr.rsplit(".", 1)[0] + ".1",
                mac_address=mac,
                mac_key=mac,
                is_default=default,
                device_id=0 if default else 1,
            )
        )
        net.vms[vm.uuid] = address
        return vm.uuid


class Cloud:
    """Signed API calls and job runs, as a client sees them."""

    def __init__(self, runtime: Runtime, api: falcon.testing.TestClient) -> None:
        self.runtime = runtime
        self.api = api
        self.registry = CommandRegistry.build(runtime.pm)

    def call(self, keys: Keys, command: str, **params: Any) -> Any:
        result = signed_request(self.api, keys, command, **params)
        assert result.status_code == 200, result.text
        (answer,) = json.loads(result.content).values()
        return answer

    def fail(self, keys: Keys, command: str, **params: Any) -> Any:
        result = signed_request(self.api, keys, command, **params)
        assert result.status_code >= 400, result.text
        (answer,) = json.loads(result.content).values()
        return answer

    def job(self, keys: Keys, command: str, **params: Any) -> Any:
        """Run an async command to its end; its job (result or error)."""
        answer = self.call(keys, command, **params)
        run_pending(self.runtime, self.registry)
        job = self.call(keys, "queryAsyncJobResult", jobid=answer["jobid"])
        assert job["jobstatus"] in (1, 2), job
        return job

    def ok(self, keys: Keys, command: str, **params: Any) -> Any:
        job = self.job(keys, command, **params)
        assert job["jobstatus"] == 1, job
        return job["jobresult"]

    def refused(self, keys: Keys, command: str, **params: Any) -> dict[str, Any]:
        """A job that fails: its ``jobresult`` (errorcode, errortext)."""
        job = self.job(keys, command, **params)
        assert job["jobstatus"] == 2, job
        return job["jobresult"]  # type: ignore[no-any-return]


# ---- fixtures (imported by the rules' test modules) ------------------------------------------


@pytest.fixture
def provider() -> Iterator[type[RecordingProvider]]:
    """:func:`recording_providers` for the test."""
    with recording_providers() as recorder:
        yield recorder


@pytest.fixture
def cloud(runtime: Runtime, api: falcon.testing.TestClient, provider: Any) -> Cloud:
    """The API of the test's cloud, with the recording providers in place."""
    return Cloud(runtime, api)


@pytest.fixture
def alice(runtime: Runtime) -> Tenant:
    """A user account."""
    return make_tenant(runtime, "alice")


@pytest.fixture
def bob(runtime: Runtime) -> Tenant:
    """Another user account, in the same domain."""
    return make_tenant(runtime, "bob")


@pytest.fixture
def zone(runtime: Runtime) -> int:
    """An advanced zone."""
    return make_zone(runtime, "adv")


@pytest.fixture
def net(runtime: Runtime, zone: int, alice: Tenant) -> GuestNet:
    """alice's implemented isolated network with three public addresses (the first its
    source NAT) and one VM (web1, 10.1.1.11)."""
    network = make_network(runtime, zone, alice)
    add_public_ips(runtime, zone, network, alice, 3, base="203.0.113")
    add_vm(runtime, zone, network, alice, "web1", "10.1.1.11")
    return network
