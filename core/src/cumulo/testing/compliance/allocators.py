"""The allocator compliance kits: what every planner, host filter, host weigher and
storage pool allocator must do (the contract of :mod:`cumulo.sdk.allocation`).

Subclass the kit of your plugin's kind in a ``Test...`` class and override the
``plugin`` fixture (an instance) and, to check the registration too, ``entry_point``
(the name under which your distribution registers it)::

    from cumulo.testing.compliance.allocators import HostWeigherComplianceKit

    class TestPreferNamedHosts(HostWeigherComplianceKit):
        @pytest.fixture
        def plugin(self) -> HostWeigher:
            return PreferNamedHosts()

        @pytest.fixture
        def entry_point(self) -> str | None:
            return "PreferNamed"

The kits run each method over a spread of hosts (states, hypervisors, tags,
capacities), pools and contexts (HA restarts, host tags, avoid sets, footprints,
settings) built by :func:`sample_hosts`, :func:`sample_pools` and
:func:`sample_contexts`, and check the shape of every answer, purity (the same answer
twice, for deterministic plugins) and explanations (phrases that name no host or pool).
They do not check a plugin's policy: its own tests do, for instance through
:class:`cumulo.testing.compliance.allocators_world.PlacementWorld`.
"""

from __future__ import annotations

import importlib.metadata
import math
from collections.abc import Sequence

import pytest

from cumulo.drivers import load_drivers
from cumulo.sdk import (
    AccountFootprint,
    AllocationContext,
    AvoidSet,
    CandidateCluster,
    CandidateHost,
    CandidatePool,
    DeploymentPlanner,
    DiskRequest,
    Driver,
    HostFilter,
    HostWeigher,
    StoragePoolAllocator,
    VmRequirements,
)

GB = 1024**3

__all__ = [
    "DeploymentPlannerComplianceKit",
    "HostFilterComplianceKit",
    "HostWeigherComplianceKit",
    "StoragePoolAllocatorComplianceKit",
    "ordinary_context",
    "ordinary_host",
    "sample_clusters",
    "sample_contexts",
    "sample_hosts",
    "sample_pools",
]


# ---- sample values -------------------------------------------------------------------------


def ordinary_host(host_id: int = 1, **changes: object) -> CandidateHost:
    """An ``Up``, ``Enabled`` KVM host with room for anything ordinary; ``changes``
    replace fields."""
    fields: dict[str, object] = {
        "id": host_id,
        "uuid": f"00000000-0000-0000-0000-{host_id:012d}",
        "name": f"host-{host_id}",
        "zone_id": 1,
        "pod_id": 1 + host_id % 2,
        "cluster_id": 10 + host_id % 3,
        "hypervisor_type": "KVM",
        "total_cpu_mhz": 16000,
        "free_cpu_mhz": 16000,
        "total_memory_bytes": 64 * GB,
        "free_memory_bytes": 64 * GB,
        "private_ip_address": f"10.0.0.{host_id % 250 + 1}",
    }
    fields.update(changes)
    return CandidateHost(**fields)  # type: ignore[arg-type]


def ordinary_context(**changes: object) -> AllocationContext:
    """A context placing a 1 vCPU / 1 GB VM with no constraints; ``changes`` replace
    fields of the context (``vm=...``)."""
    vm = VmRequirements(
        zone_id=1,
        account_id=2,
        domain_id=1,
        cpu=1,
        speed=1000,
        memory_mb=1024,
        cpu_mhz=1000,
        memory_bytes=GB,
    )
    fields: dict[str, object] = {
        "vm": vm,
        "disks": (DiskRequest("ROOT", 10 * GB),),
        "footprint": AccountFootprint(),
    }
    fields.update(changes)
    return AllocationContext(**fields)  # type: ignore[arg-type]


def sample_hosts() -> list[CandidateHost]:
    """Hosts in every state the contract mentions."""
    return [
        ordinary_host(1),
        ordinary_host(2, status="Down"),
        ordinary_host(3, resource_state="Maintenance"),
        ordinary_host(4, resource_state="Disabled"),
        ordinary_host(5, cluster_allocation_state="Disabled"),
        ordinary_host(6, hypervisor_type="XenServer"),
        ordinary_host(7, tags=frozenset({"fast", "ssd"})),
        ordinary_host(8, tags=frozenset({"ha"})),
        ordinary_host(9, free_cpu_mhz=0, free_memory_bytes=0),
        ordinary_host(10, free_memory_bytes=GB // 2),
        ordinary_host(11, zone_domain_path="/Sales/"),
        ordinary_host(12, pod_allocation_state="Disabled", total_cpu_mhz=0, free_cpu_mhz=0),
        ordinary_host(13, cluster_managed_state="Unmanaged"),
    ]


def sample_contexts() -> list[AllocationContext]:
    """Contexts covering the requirements and settings the standard plugins read."""
    base = ordinary_context()
    vm = base.vm
    return [
        base,
        ordinary_context(vm=VmRequirements(**{**vm.__dict__, "host_tag": "fast"})),
        ordinary_context(vm=VmRequirements(**{**vm.__dict__, "hypervisor": "KVM"})),
        ordinary_context(
            vm=VmRequirements(**{**vm.__dict__, "for_ha_restart": True, "ha_enabled": True}),
            settings={"ha.tag": "ha"},
        ),
        ordinary_context(settings={"ha.tag": "ha", "use.local.storage": "true"}),
        ordinary_context(
            vm=VmRequirements(**{**vm.__dict__, "memory_bytes": 32 * GB, "cpu_mhz": 8000})
        ),
        ordinary_context(avoid=AvoidSet(host_ids=frozenset({1, 7}), cluster_ids=frozenset({11}))),
        ordinary_context(
            footprint=AccountFootprint({1: 3, 7: 1}, {10: 3, 11: 1}, {1: 2, 2: 2}),
            settings={"vm.user.dispersion.weight": "0.5"},
        ),
        ordinary_context(
            vm=VmRequirements(**{**vm.__dict__, "domain_path": "/Sales/EMEA/", "system_vm": True}),
            footprint=None,
            disks=(DiskRequest("ROOT", 10 * GB, local=True), DiskRequest("DATADISK", GB, ("ssd",))),
        ),
    ]


def sample_clusters() -> list[CandidateCluster]:
    """Clusters of two pods, of different free capacity, by id."""
    return [
        CandidateCluster(10, 1, 1, "KVM", 3, 30000, 96 * GB),
        CandidateCluster(11, 2, 1, "KVM", 1, 8000, 16 * GB),
        CandidateCluster(12, 1, 1, "KVM", 2, 16000, 128 * GB),
        CandidateCluster(13, 2, 1, "KVM", 4, 64000, 96 * GB),
    ]


def sample_pools() -> list[CandidatePool]:
    """Shared pools of ``ordinary_host(1)``'s cluster and local pools at its address,
    in every state the standard allocators look at."""
    host = ordinary_host(1)
    cluster, address = host.cluster_id, host.private_ip_address or ""

    def pool(pool_id: int, **changes: object) -> CandidatePool:
        fields: dict[str, object] = {
            "id": pool_id,
            "uuid": f"10000000-0000-0000-0000-{pool_id:012d}",
            "name": f"pool-{pool_id}",
            "zone_id": 1,
            "pod_id": host.pod_id,
            "cluster_id": cluster,
            "scope": "CLUSTER",
            "pool_type": "NetworkFilesystem",
            "status": "Up",
            "capacity_bytes": 1000 * GB,
            "used_bytes": 0,
        }
        fields.update(changes)
        return CandidatePool(**fields)  # type: ignore[arg-type]

    return [
        pool(1),
        pool(2, tags=frozenset({"ssd"})),
        pool(3, status="Maintenance"),
        pool(4, used_bytes=1000 * GB, overprovisioning=1.0),
        pool(5, scope="HOST", pool_type="Filesystem", host_address=address),
        pool(
            6, scope="HOST", pool_type="Filesystem", host_address=address, tags=frozenset({"ssd"})
        ),
    ]


def _check_reason(reason: str | None, names: Sequence[str]) -> None:
    if reason is None:
        return
    assert isinstance(reason, str) and reason.strip(), "a rejection is a non-empty phrase"
    for name in names:
        assert name not in reason, f"the phrase {reason!r} names {name!r}: it is counted"


class _Kit:
    """What every kind shares: the fixtures, the driver shape, the registration."""

    kind: type[Driver] = Driver
    group = "cumulo.allocators"
    deterministic = True
    """Set ``False`` for a plugin whose purpose is randomness (purity is not checked)."""

    @pytest.fixture
    def plugin(self) -> Driver:
        """The plugin under test, an instance (override)."""
        raise NotImplementedError("override the plugin fixture")

    @pytest.fixture
    def entry_point(self) -> str | None:
        """The name the distribution registers it under (``None``: not checked)."""
        return None

    def test_is_a_named_driver_of_its_kind(self, plugin: Driver) -> None:
        """A subclass of the contract, named, with its settings as a tuple of names."""
        assert isinstance(plugin, self.kind)
        assert plugin.name and isinstance(plugin.name, str)
        keys = getattr(plugin, "settings_keys", ())
        assert isinstance(keys, tuple) and all(isinstance(k, str) and k for k in keys)

    def test_registered_under_its_name(self, plugin: Driver, entry_point: str | None) -> None:
        """The entry point (when given) is the plugin's name and loads its class."""
        if entry_point is None:
            pytest.skip("no entry point given")
        assert entry_point == plugin.name
        names = {ep.name for ep in importlib.metadata.entry_points(group=self.group)}
        assert entry_point in names, f"{entry_point} is not registered under {self.group}"
        loaded = load_drivers(self.group, [entry_point])
        assert loaded[entry_point] is type(plugin)


class HostFilterComplianceKit(_Kit):
    """Tests every host filter passes."""

    kind = HostFilter

    def test_keeps_an_ordinary_host(self, plugin: HostFilter) -> None:
        """A filter that rejects an ordinary host with no constraints rejects all."""
        assert plugin.reject(ordinary_host(1), ordinary_context()) is None

    def test_answers_none_or_a_phrase_purely(self, plugin: HostFilter) -> None:
        """``None`` or a phrase naming no host; the same answer twice."""
        for ctx in sample_contexts():
            for host in sample_hosts():
                reason = plugin.reject(host, ctx)
                _check_reason(reason, [host.name, host.uuid])
                if self.deterministic:
                    assert plugin.reject(host, ctx) == reason

    def test_same_reason_for_alike_hosts(self, plugin: HostFilter) -> None:
        """Two hosts differing only in identity get the same answer (countable)."""
        for ctx in sample_contexts():
            for host in sample_hosts():
                twin = CandidateHost(
                    **{**host.__dict__, "id": host.id + 1000, "uuid": "twin", "name": "twin"}
                )
                if ctx.avoid.avoids(host) or ctx.avoid.avoids(twin):
                    continue
                assert plugin.reject(twin, ctx) == plugin.reject(host, ctx)


class HostWeigherComplianceKit(_Kit):
    """Tests every host weigher passes."""

    kind = HostWeigher

    def test_one_finite_weight_per_host(self, plugin: HostWeigher) -> None:
        """As many finite weights as hosts, for every context; none for none."""
        hosts = sample_hosts()
        for ctx in sample_contexts():
            weights = list(plugin.weigh(hosts, ctx))
            assert len(weights) == len(hosts)
            assert all(isinstance(w, int | float) and math.isfinite(w) for w in weights)
            assert list(plugin.weigh([], ctx)) == []

    def test_pure(self, plugin: HostWeigher) -> None:
        """The same weights twice (deterministic weighers)."""
        if not self.deterministic:
            pytest.skip("randomness is this weigher's purpose")
        hosts = sample_hosts()
        for ctx in sample_contexts():
            assert list(plugin.weigh(hosts, ctx)) == list(plugin.weigh(hosts, ctx))


class DeploymentPlannerComplianceKit(_Kit):
    """Tests every deployment planner passes."""

    kind = DeploymentPlanner
    group = "cumulo.planners"

    def test_orders_a_subset_without_duplicates(self, plugin: DeploymentPlanner) -> None:
        """Clusters out are clusters in, each at most once; none in, none out."""
        clusters = sample_clusters()
        for ctx in sample_contexts():
            ordered = list(plugin.order_clusters(clusters, ctx))
            ids = [c.id for c in ordered]
            assert len(ids) == len(set(ids))
            assert set(ids) <= {c.id for c in clusters}
            assert list(plugin.order_clusters([], ctx)) == []
            if self.deterministic:
                assert [c.id for c in plugin.order_clusters(clusters, ctx)] == ids

    def test_keeps_a_lone_cluster(self, plugin: DeploymentPlanner) -> None:
        """The only cluster there is is tried (a planner that drops it fails all)."""
        lone = sample_clusters()[:1]
        assert [c.id for c in plugin.order_clusters(lone, ordinary_context())] == [lone[0].id]

    def test_order_hosts_is_a_permutation_of_a_subset(self, plugin: DeploymentPlanner) -> None:
        """Hosts out are hosts in, each at most once."""
        hosts = sample_hosts()
        for ctx in sample_contexts():
            ids = [h.id for h in plugin.order_hosts(hosts, ctx)]
            assert len(ids) == len(set(ids)) and set(ids) <= {h.id for h in hosts}

    def test_works_without_footprint(self, plugin: DeploymentPlanner) -> None:
        """A planner that needs the footprint still answers when it is empty."""
        ctx = ordinary_context(footprint=AccountFootprint())
        assert len(list(plugin.order_clusters(sample_clusters(), ctx))) >= 1


class StoragePoolAllocatorComplianceKit(_Kit):
    """Tests every storage pool allocator passes."""

    kind = StoragePoolAllocator

    def test_answers_have_the_contract_shape(self, plugin: StoragePoolAllocator) -> None:
        """``handles`` is a bool; ``reject`` ``None`` or a phrase naming no pool;
        ``order`` a subset without duplicates; all pure."""
        host = ordinary_host(1)
        pools = [p for p in sample_pools() if p.serves(host)]
        assert pools, "the sample pools serve the sample host"
        for ctx in sample_contexts():
            for disk in (
                DiskRequest("ROOT", 10 * GB),
                DiskRequest("ROOT", 10 * GB, local=True),
                DiskRequest("DATADISK", 2000 * GB, ("ssd",)),
            ):
                handles = plugin.handles(disk, ctx)
                assert isinstance(handles, bool)
                kept = []
                for pool in pools:
                    reason = plugin.reject(pool, disk, host, ctx)
                    _check_reason(reason, [pool.name, pool.uuid])
                    if self.deterministic:
                        assert plugin.reject(pool, disk, host, ctx) == reason
                    if reason is None:
                        kept.append(pool)
                ids = [p.id for p in plugin.order(kept, disk, ctx)]
                assert len(ids) == len(set(ids)) and set(ids) <= {p.id for p in kept}

    def test_never_keeps_a_pool_too_small(self, plugin: StoragePoolAllocator) -> None:
        """A pool without room for the disk is rejected."""
        host = ordinary_host(1)
        huge = DiskRequest("ROOT", 10**6 * GB)
        for pool in sample_pools():
            if pool.serves(host):
                assert plugin.reject(pool, huge, host, ordinary_context()) is not None
