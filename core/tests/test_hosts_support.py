"""Helpers of the host tests: a fake hypervisor with fault injection, a seeded runtime,
a zone with a pod; and the tests of the helpers themselves."""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import ClassVar

import pluggy
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from cumulo.infra.hosts import hosts
from cumulo.infra.hosts.models import Host
from cumulo.infra.models import Pod, Zone
from cumulo.runtime import Runtime
from cumulo.sdk.hypervisor import (
    HostConnection,
    HostInfo,
    HostPing,
    HostRef,
    HostStatus,
    HostUnreachable,
    HypervisorDriver,
    InvalidHostCredentials,
    LocalStorage,
)
from cumulo.setup.seed import seed_cloud
from cumulo.testing.fakes import registered_drivers

KEY = "hosts-test-key"


class FakeHypervisor(HypervisorDriver):
    """Hosts answer unless their address is in :attr:`silent`; ``badpass`` is refused;
    addresses starting ``dead`` never answer. Capacity: 2 sockets, 8 cores at 2000 MHz,
    16 GiB (or what :attr:`sizes` says for an address)."""

    name: ClassVar[str] = "KVM"
    silent: ClassVar[set[str]] = set()
    sizes: ClassVar[dict[str, tuple[int, int, int]]] = {}
    version: ClassVar[str] = "qemu 1.5"
    local_storage: ClassVar[dict[str, tuple[LocalStorage, ...]]] = {}
    """What each address reports as its own storage (none unless said)."""

    def connect(self, connection: HostConnection) -> HostInfo:
        address = hosts.host_address(connection.url)
        if address.startswith("dead") or address in self.silent:
            raise HostUnreachable(f"{address} does not answer")
        if connection.password == "badpass":
            raise InvalidHostCredentials("wrong password")
        cores, speed, memory = self.sizes.get(address, (8, 2000, 16 * 2**30))
        return HostInfo(
            guid=hashlib.sha1(address.encode()).hexdigest(),
            cpu_sockets=2,
            cpus=cores,
            cpu_speed_mhz=speed,
            memory_bytes=memory,
            hypervisor_version=self.version,
            capabilities=("hvm",),
            local_storage=self.local_storage.get(address, ()),
        )

    def disconnect(self, host: HostRef) -> None:
        return None

    def ping(self, host: HostRef, timeout: float) -> HostPing:
        address = hosts.host_address(host.connection.url)
        if address in self.silent:
            raise HostUnreachable(f"{address} is silent")
        return HostPing(host.guid, HostStatus.UP)


@contextmanager
def fake_hypervisors(names: Sequence[str] = ("KVM", "XenServer", "Simulator")) -> Iterator[None]:
    """Make :class:`FakeHypervisor` the driver of ``names`` (fresh faults)."""
    FakeHypervisor.silent = set()
    FakeHypervisor.sizes = {}
    FakeHypervisor.version = "qemu 1.5"
    FakeHypervisor.local_storage = {}
    with registered_drivers("cumulo.hypervisors", dict.fromkeys(names, FakeHypervisor)):
        yield


def seeded_runtime(url: str, pm: pluggy.PluginManager) -> Runtime:
    """A runtime on a migrated database with ROOT, system and admin."""
    runtime = Runtime.for_url(url, KEY, pm=pm)
    with runtime.sessions.begin() as session:
        seed_cloud(session, runtime.database_key, runtime.algorithm)
    return runtime


def make_zone(
    session: Session, name: str = "zone1", *, cidr: str = "10.1.0.0/24"
) -> tuple[Zone, Pod]:
    """A basic zone with one pod of subnet ``cidr`` (hosts added to it must be in that
    subnet, REQ-POD-03), its system range the subnet's addresses 10 to 20."""
    zone = Zone(name=name, dns1="8.8.8.8", internal_dns1="10.0.0.2", networktype="Basic")
    session.add(zone)
    session.flush()
    subnet = ipaddress.IPv4Network(cidr)
    first = int(subnet.network_address)
    pod = Pod(
        name=f"{name}-pod1",
        data_center_id=zone.id,
        gateway=str(subnet.network_address + 1),
        cidr_address=str(subnet.network_address),
        cidr_size=subnet.prefixlen,
        description=f"{subnet.network_address + 10}-{subnet.network_address + 20}",
        reserved_start_num=first + 10,
        reserved_end_num=first + 20,
    )
    session.add(pod)
    session.flush()
    return zone, pod


@dataclass
class StatementCounter:
    """Counts statements sent through an engine while installed."""

    count: int = 0

    def __call__(self, *args: object) -> None:
        self.count += 1

    @contextmanager
    def on(self, engine: Engine) -> Iterator[StatementCounter]:
        """Count (from zero) during the ``with`` block."""
        self.count = 0
        event.listen(engine, "before_cursor_execute", self)
        try:
            yield self
        finally:
            event.remove(engine, "before_cursor_execute", self)


def add_kvm_host(
    session: Session, zone: Zone, pod: Pod, address: str, *, cluster: str = "c1", **kw: object
) -> Host:
    """A KVM host added through the service, in cluster ``cluster`` (created if new)."""
    return hosts.add_host(
        session,
        hosts.NewHost(f"http://{address}", "root", "secret", "KVM", **kw),  # type: ignore[arg-type]
        zone=zone,
        pod=pod,
        cluster_name=cluster,
        database_key=KEY,
        limits={"KVM": 1000},
    )


def test_fake_driver_discovers_and_refuses() -> None:
    driver = FakeHypervisor()
    info = driver.connect(HostConnection("http://10.0.0.5", "root", "x"))
    assert (info.cpus, info.cpu_speed_mhz, info.memory_bytes) == (8, 2000, 16 * 2**30)
    FakeHypervisor.silent = {"10.0.0.5"}
    ref = HostRef(info.guid, HostConnection("http://10.0.0.5"))
    assert driver.ping_hosts([ref], 1.0)[info.guid].status == HostStatus.UNREACHABLE
    FakeHypervisor.silent = set()
