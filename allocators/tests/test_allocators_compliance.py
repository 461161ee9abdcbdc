"""Every standard plugin passes the allocator compliance kit of ``cumulo.testing``,
loaded through its entry point as the core loads it."""

from __future__ import annotations

import importlib.metadata

import pytest

from cumulo.sdk import DeploymentPlanner, HostFilter, HostWeigher, StoragePoolAllocator
from cumulo.testing.compliance.allocators import (
    DeploymentPlannerComplianceKit,
    HostFilterComplianceKit,
    HostWeigherComplianceKit,
    StoragePoolAllocatorComplianceKit,
)

DISTRIBUTION = "cumulo-allocators"


def _ours(group: str, kind: type) -> list[str]:
    names = []
    for ep in importlib.metadata.entry_points(group=group):
        if ep.dist is not None and ep.dist.name == DISTRIBUTION and issubclass(ep.load(), kind):
            names.append(ep.name)
    return sorted(names)


def _instance(group: str, name: str) -> object:
    (ep,) = importlib.metadata.entry_points(group=group, name=name)
    return ep.load()()


FILTERS = _ours("cumulo.allocators", HostFilter)
WEIGHERS = _ours("cumulo.allocators", HostWeigher)
POOLS = _ours("cumulo.allocators", StoragePoolAllocator)
PLANNERS = _ours("cumulo.planners", DeploymentPlanner)


def test_every_standard_plugin_is_registered() -> None:
    """What the README and host.allocators.order's default name is installed."""
    assert (
        sorted(
            [
                "AvoidList",
                "HostState",
                "Dedicated",
                "Hypervisor",
                "HostTags",
                "HaHosts",
                "HostCapacity",
            ]
        )
        == FILTERS
    )
    assert sorted(["FirstFit", "Random", "MostFree", "HaPreferred"]) == WEIGHERS
    assert POOLS == ["FirstFitStorage", "LocalStorage"]
    assert PLANNERS == ["FirstFit", "UserConcentratedPod", "UserDispersing"]


class TestFilters(HostFilterComplianceKit):
    @pytest.fixture(params=FILTERS)
    def entry_point(self, request: pytest.FixtureRequest) -> str:
        return str(request.param)

    @pytest.fixture
    def plugin(self, entry_point: str) -> object:
        return _instance("cumulo.allocators", entry_point)


class TestWeighers(HostWeigherComplianceKit):
    @pytest.fixture(params=WEIGHERS)
    def entry_point(self, request: pytest.FixtureRequest) -> str:
        return str(request.param)

    @pytest.fixture
    def plugin(self, entry_point: str) -> object:
        self.deterministic = entry_point != "Random"
        return _instance("cumulo.allocators", entry_point)


class TestPoolAllocators(StoragePoolAllocatorComplianceKit):
    @pytest.fixture(params=POOLS)
    def entry_point(self, request: pytest.FixtureRequest) -> str:
        return str(request.param)

    @pytest.fixture
    def plugin(self, entry_point: str) -> object:
        return _instance("cumulo.allocators", entry_point)


class TestPlanners(DeploymentPlannerComplianceKit):
    @pytest.fixture(params=PLANNERS)
    def entry_point(self, request: pytest.FixtureRequest) -> str:
        return str(request.param)

    @pytest.fixture
    def plugin(self, entry_point: str) -> object:
        return _instance("cumulo.planners", entry_point)
