"""The simulator passes the hypervisor and storage compliance kits."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from cumulo_simulator.hosturl import host_guid
from cumulo_simulator.hypervisor import SimulatorHypervisor
from cumulo_simulator.rules import Behaviour, Scope
from cumulo_simulator.state import SimulatorState
from cumulo_simulator.storage import SimulatorStorage

from cumulo.sdk import (
    HostConnection,
    HypervisorDriver,
    PrimaryStorageDriver,
    SecondaryStorageDriver,
)
from cumulo.testing.compliance import (
    HypervisorComplianceKit,
    PrimaryStorageComplianceKit,
    SecondaryStorageComplianceKit,
)


class TestSimulatorHypervisorCompliance(HypervisorComplianceKit):
    @pytest.fixture
    def driver(self, state: SimulatorState) -> HypervisorDriver:
        return SimulatorHypervisor(state)

    @pytest.fixture
    def make_connection(self) -> Callable[[int], HostConnection]:
        def connection(index: int) -> HostConnection:
            url = f"http://sim/host{index}?cpus=4&sockets=2&speed=2000&memory=4GiB"
            return HostConnection(url, "root", "password")

        return connection

    @pytest.fixture
    def bad_credentials_connection(self) -> HostConnection:
        return HostConnection("http://sim/locked?expectpassword=secret", "root", "wrong")

    @pytest.fixture
    def unreachable_connection(self, state: SimulatorState) -> HostConnection:
        url = "http://sim/gone"
        state.add_rule("*", Scope(host_guid=host_guid(url)), Behaviour(result="unreachable"))
        return HostConnection(url, "root", "password")

    @pytest.fixture
    def busy_host_connection(self) -> HostConnection:
        return HostConnection("http://sim/busy?vms=2", "root", "password")

    @pytest.fixture
    def cluster_connection(self) -> HostConnection:
        return HostConnection("http://sim/vcenter/dc1/cluster1?hosts=3&memory=8GiB", "admin", "pw")


class TestSimulatorPrimaryStorageCompliance(PrimaryStorageComplianceKit):
    @pytest.fixture
    def driver(self, state: SimulatorState) -> PrimaryStorageDriver:
        return SimulatorStorage(state)

    @pytest.fixture
    def pool_url(self) -> str:
        return "nfs://10.1.1.2/export/primary?capacity=100GiB"


class TestSimulatorSecondaryStorageCompliance(SecondaryStorageComplianceKit):
    @pytest.fixture
    def driver(self, state: SimulatorState) -> SecondaryStorageDriver:
        return SimulatorStorage(state)

    @pytest.fixture
    def store_url(self) -> str:
        return "nfs://10.1.1.3/export/secondary"
