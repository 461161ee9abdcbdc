"""The VMware driver passes the hypervisor compliance kit against vcsim (REQ-CL-03)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from cumulo_vmware.hypervisor import VmwareHypervisor
from vcsim_peer import Vcsim

from cumulo.sdk import HostConnection, HypervisorDriver
from cumulo.testing.compliance import HypervisorComplianceKit


class TestVmwareHypervisorCompliance(HypervisorComplianceKit):
    @pytest.fixture
    def driver(self) -> HypervisorDriver:
        return VmwareHypervisor()

    @pytest.fixture
    def cluster_connection(self, vcsim: Vcsim) -> HostConnection:
        return HostConnection(vcsim.cluster_url(), vcsim.username, vcsim.password)

    @pytest.fixture
    def make_connection(
        self, driver: HypervisorDriver, cluster_connection: HostConnection
    ) -> Callable[[int], HostConnection]:
        members = driver.discover_cluster_hosts(cluster_connection)
        return lambda index: members[index]

    @pytest.fixture
    def bad_credentials_connection(self, vcsim: Vcsim) -> HostConnection:
        return HostConnection(f"{vcsim.cluster_url()}/host-34", vcsim.username, "wrong")

    @pytest.fixture
    def unreachable_connection(self, vcsim: Vcsim) -> HostConnection:
        from vcsim_peer import free_port

        url = f"https://127.0.0.1:{free_port()}/DC0/DC0_C0/host-34"
        return HostConnection(url, vcsim.username, vcsim.password)

    @pytest.fixture
    def busy_host_connection(self, vcsim: Vcsim) -> HostConnection:
        # vcsim's default inventory runs DC0_C0_RP0_VM0 on the cluster's second host.
        return HostConnection(f"{vcsim.cluster_url()}/host-42", vcsim.username, vcsim.password)
