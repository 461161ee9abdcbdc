"""The standard host weighers (higher is preferred; composed lexicographically in the
order of ``host.allocators.order``, remaining ties to the lowest host id)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import ClassVar

from cumulo.sdk import AllocationContext, CandidateHost, HostWeigher


class FirstFitWeigher(HostWeigher):
    """No preference: hosts are tried in the planner's cluster order, then by id."""

    name: ClassVar[str] = "FirstFit"

    def weigh(self, hosts: Sequence[CandidateHost], ctx: AllocationContext) -> Sequence[float]:
        return [0.0] * len(hosts)


class RandomWeigher(HostWeigher):
    """A random order within each cluster (4.1's ``vm.allocation.algorithm=random``),
    spreading concurrent deployments so that their claims rarely collide."""

    name: ClassVar[str] = "Random"

    def __init__(self) -> None:
        self._random = random.Random()

    def weigh(self, hosts: Sequence[CandidateHost], ctx: AllocationContext) -> Sequence[float]:
        return [self._random.random() for _ in hosts]


class MostFreeWeigher(HostWeigher):
    """The host whose scarcer resource (memory or CPU) has the largest free share
    first, to balance load across the hosts of a cluster."""

    name: ClassVar[str] = "MostFree"

    def weigh(self, hosts: Sequence[CandidateHost], ctx: AllocationContext) -> Sequence[float]:
        def share(host: CandidateHost) -> float:
            memory = host.free_memory_bytes / max(host.total_memory_bytes, 1)
            cpu = host.free_cpu_mhz / max(host.total_cpu_mhz, 1)
            return min(memory, cpu)

        return [share(h) for h in hosts]


class HaPreferredWeigher(HostWeigher):
    """An HA restart prefers the hosts tagged with ``ha.tag`` (kept free for it)."""

    name: ClassVar[str] = "HaPreferred"
    settings_keys: ClassVar[tuple[str, ...]] = ("ha.tag",)

    def weigh(self, hosts: Sequence[CandidateHost], ctx: AllocationContext) -> Sequence[float]:
        tag = ctx.setting("ha.tag")
        if not tag or not ctx.vm.for_ha_restart:
            return [0.0] * len(hosts)
        return [1.0 if tag in h.tags else 0.0 for h in hosts]
