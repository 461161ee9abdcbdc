"""The virtual router and the security-group provider pass the network-provider
compliance kit, with routers in network namespaces (real iptables, dnsmasq, haproxy)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from cumulo_vr.provider import VirtualRouter
from cumulo_vr.sg_provider import SecurityGroupProvider
from vr_testbed import NetnsBed, require_netns

from cumulo.sdk.network import NetworkContext, NetworkProvider, NetworkRef, RouterRef
from cumulo.testing.compliance.network import NetworkProviderComplianceKit, Snapshot

_VOLATILE = {"generation", "dirty", ".lock"}
_COUNTERS = re.compile(r"\[\d+:\d+\]")


class LazyNamespaceContext(NetworkContext):
    """Deploys the network's "router" — a namespace with the router's interfaces — on
    the first ``ensure_router`` (or holds one from the start: a bridge host for
    security groups); destroying it forgets it, a later ``ensure_router`` makes a new
    one."""

    def __init__(self, bed: NetnsBed, *, exists: bool = False) -> None:
        self.bed = bed
        self.router: RouterRef | None = None
        self.count = 0
        if exists:
            self.router = self._deploy()

    def _deploy(self) -> RouterRef:
        self.count += 1
        ns = self.bed.namespace(f"r{self.count}")
        for index, interface in enumerate(("eth0", "eth1", "eth2")):
            # veth pairs inside the namespace: dummy links need a module that may be absent.
            self.bed.run(ns, "ip", "link", "add", interface, "type", "veth", "peer", f"peer{index}")
            self.bed.run(ns, "ip", "link", "set", f"peer{index}", "up")
        directory = self.bed.work / f"r{self.count}"
        return RouterRef(
            uuid=f"router-{self.count}",
            instance_name=f"r-{self.count}-VM",
            guest_ip="10.1.1.1",
            access_uri=f"netns://{ns}?dir={directory}",
        )

    def ensure_router(self, network: NetworkRef) -> RouterRef:
        if self.router is None:
            self.router = self._deploy()
        return self.router

    def find_router(self, network: NetworkRef) -> RouterRef | None:
        return self.router

    def destroy_router(self, network: NetworkRef) -> None:
        self.router = None


def snapshot_of(context: LazyNamespaceContext, component: str) -> Snapshot:
    """The router's files of ``component`` (not its bookkeeping) and its kernel tables."""

    def snapshot(network: NetworkRef) -> object:
        router = context.router
        if router is None:
            return None
        directory = Path(router.access_uri.split("dir=", 1)[1]) / component
        files = {
            str(path.relative_to(directory)): path.read_bytes()
            for path in sorted(directory.rglob("*"))
            if path.is_file()
            and path.name not in _VOLATILE
            and path.relative_to(directory).parts[0] not in ("run", ".staging")
        }
        ns = router.access_uri.removeprefix("netns://").split("?", 1)[0]
        tables = context.bed.run(ns, "iptables-save").stdout
        kernel = [
            _COUNTERS.sub("", line) for line in tables.splitlines() if not line.startswith("#")
        ]
        return files, kernel

    return snapshot


@pytest.fixture
def bed() -> Iterator[NetnsBed]:
    require_netns()
    testbed = NetnsBed()
    yield testbed
    testbed.close()


class TestVirtualRouterCompliance(NetworkProviderComplianceKit):
    @pytest.fixture
    def provider(self) -> NetworkProvider:
        return VirtualRouter()

    @pytest.fixture
    def context(self, bed: NetnsBed) -> LazyNamespaceContext:
        return LazyNamespaceContext(bed)

    @pytest.fixture
    def snapshot(self, context: LazyNamespaceContext) -> Snapshot:
        return snapshot_of(context, "vr")


class TestSecurityGroupProviderCompliance(NetworkProviderComplianceKit):
    @pytest.fixture
    def provider(self) -> NetworkProvider:
        return SecurityGroupProvider()

    @pytest.fixture
    def context(self, bed: NetnsBed) -> LazyNamespaceContext:
        return LazyNamespaceContext(bed, exists=True)

    @pytest.fixture
    def snapshot(self, context: LazyNamespaceContext) -> Snapshot:
        return snapshot_of(context, "sg")
