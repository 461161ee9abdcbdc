"""The standard deployment planners: which clusters (and so pods) to try first.

- ``FirstFit``: the clusters with the most free capacity first, as 4.1's
  ``FirstFitPlanner`` orders clusters by aggregate capacity;
- ``UserDispersing``: spread an account's VMs: clusters (and hosts) where it runs
  fewest VMs first, mixed with capacity by ``vm.user.dispersion.weight`` (4.1's
  ``UserDispersingPlanner``);
- ``UserConcentratedPod``: keep an account's VMs together: the pods where it already
  runs most VMs first (4.1's ``UserConcentratedPodPlanner``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from cumulo.sdk import (
    AllocationContext,
    CandidateCluster,
    CandidateHost,
    DeploymentPlanner,
)
from cumulo_allocators.plugin import USER_DISPERSION_WEIGHT


def _by_capacity(clusters: Sequence[CandidateCluster]) -> list[CandidateCluster]:
    """Most free memory first, then most free CPU, then by id."""
    return sorted(clusters, key=lambda c: (-c.free_memory_bytes, -c.free_cpu_mhz, c.id))


class FirstFitPlanner(DeploymentPlanner):
    """Clusters by free capacity, largest first; hosts as the weighers rank them."""

    name: ClassVar[str] = "FirstFit"

    def order_clusters(
        self, clusters: Sequence[CandidateCluster], ctx: AllocationContext
    ) -> Sequence[CandidateCluster]:
        return _by_capacity(clusters)


class UserDispersingPlanner(DeploymentPlanner):
    """Clusters ranked by ``w * (share of the account's VMs there) - (1 - w) * (share
    of the free memory there)``, lowest first, ``w`` being ``vm.user.dispersion.weight``
    (default 1: dispersion only); within a cluster, hosts with fewer of the account's
    VMs first (the weighers' order breaking ties)."""

    name: ClassVar[str] = "UserDispersing"
    settings_keys: ClassVar[tuple[str, ...]] = (USER_DISPERSION_WEIGHT,)
    needs_footprint: ClassVar[bool] = True

    def order_clusters(
        self, clusters: Sequence[CandidateCluster], ctx: AllocationContext
    ) -> Sequence[CandidateCluster]:
        weight = min(1.0, max(0.0, ctx.float_setting(USER_DISPERSION_WEIGHT, 1.0)))
        counts = ctx.footprint.by_cluster if ctx.footprint else {}
        total_vms = sum(counts.get(c.id, 0) for c in clusters) or 1
        total_free = sum(c.free_memory_bytes for c in clusters) or 1

        def score(cluster: CandidateCluster) -> tuple[float, int]:
            dispersion = counts.get(cluster.id, 0) / total_vms
            capacity = cluster.free_memory_bytes / total_free
            return (weight * dispersion - (1 - weight) * capacity, cluster.id)

        return sorted(clusters, key=score)

    def order_hosts(
        self, hosts: Sequence[CandidateHost], ctx: AllocationContext
    ) -> Sequence[CandidateHost]:
        counts = ctx.footprint.by_host if ctx.footprint else {}
        return sorted(hosts, key=lambda h: counts.get(h.id, 0))  # stable: weighers break ties


class UserConcentratedPodPlanner(DeploymentPlanner):
    """Pods where the account runs most VMs first (then by id); within a pod, clusters
    by free capacity."""

    name: ClassVar[str] = "UserConcentratedPod"
    needs_footprint: ClassVar[bool] = True

    def order_clusters(
        self, clusters: Sequence[CandidateCluster], ctx: AllocationContext
    ) -> Sequence[CandidateCluster]:
        counts = ctx.footprint.by_pod if ctx.footprint else {}
        by_capacity = _by_capacity(clusters)
        rank = {c.id: i for i, c in enumerate(by_capacity)}
        return sorted(by_capacity, key=lambda c: (-counts.get(c.pod_id, 0), c.pod_id, rank[c.id]))
