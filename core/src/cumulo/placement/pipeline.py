"""The plugins' part of placement, in pure Python: load the named planner, filters,
weighers and pool allocators, and run them over candidates read by the core.

Nothing here touches the database; :mod:`cumulo.placement.service` reads, calls this,
and claims. Eliminations are tallied as ``(stage, component, reason) -> count`` for the
explanation.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from cumulo import drivers
from cumulo.drivers import DriverLoadError, load_drivers
from cumulo.placement import settings as keys
from cumulo.sdk.allocation import (
    AllocationContext,
    CandidateCluster,
    CandidateHost,
    CandidatePool,
    DeploymentPlanner,
    DiskRequest,
    HostFilter,
    HostWeigher,
    StoragePoolAllocator,
)
from cumulo.sdk.errors import InternalError

Tally = Counter[tuple[str, str, str]]
PLANNER_SKIPPED = "in a cluster the planner passed over"
NO_POOL = "without a suitable storage pool"
STORAGE = "Storage"


@dataclass(frozen=True)
class Components:
    """The loaded plugins of one placement, by their configured names."""

    planner_name: str
    planner: DeploymentPlanner
    filters: tuple[tuple[str, HostFilter], ...]
    weighers: tuple[tuple[str, HostWeigher], ...]
    pool_allocators: tuple[tuple[str, StoragePoolAllocator], ...]

    def settings_keys(self) -> set[str]:
        """Every setting the loaded plugins read."""
        found: set[str] = set(self.planner.settings_keys)
        for group in (self.filters, self.weighers, self.pool_allocators):
            for _, plugin in group:
                found.update(plugin.settings_keys)
        return found


_CACHE: dict[tuple[Any, ...], Any] = {}
_LOCK = threading.Lock()


def _instances(group: str, names: Sequence[str], where: str) -> dict[str, Any]:
    """One instance per driver name and process; the cache follows the manager factory
    so that ``cumulo.testing.fakes.registered_drivers`` is honoured."""
    cache_key = (group, tuple(names), id(drivers._named_manager))
    with _LOCK:
        found = _CACHE.get(cache_key)
    if found is not None:
        return dict(found)
    try:
        classes = load_drivers(group, names, where=where)
    except DriverLoadError as exc:
        raise InternalError(str(exc)) from exc
    made = {name: cls() for name, cls in classes.items()}
    with _LOCK:
        _CACHE[cache_key] = made
    return dict(made)


_COMPONENTS: dict[tuple[Any, ...], Components] = {}


def load_components(settings: dict[str, str | None], planner: str | None) -> Components:
    """The planner (``planner``, else ``vm.deployment.planner``), and the host and pool
    allocators of ``host.allocators.order`` and ``storage.pool.allocators.order``;
    built once per process for each combination of those names (every placement
    needs them, and they only change with the settings).

    :raises InternalError: a named plugin is not installed, fails to load, or is not of
        the kind its setting needs (530, naming it and the setting).
    """
    key = (
        planner,
        settings.get(keys.DEPLOYMENT_PLANNER),
        settings.get(keys.HOST_ALLOCATORS_ORDER),
        settings.get(keys.POOL_ALLOCATORS_ORDER),
        id(drivers._named_manager),
    )
    found = _COMPONENTS.get(key)
    if found is None:
        found = _load_components(settings, planner)
        with _LOCK:
            _COMPONENTS[key] = found
    return found


def _load_components(settings: dict[str, str | None], planner: str | None) -> Components:
    planner_name = (planner or "").strip() or settings.get(keys.DEPLOYMENT_PLANNER) or "FirstFit"
    where = f"service offering or global setting '{keys.DEPLOYMENT_PLANNER}'"
    loaded_planner = _instances("cumulo.planners", [planner_name], where)[planner_name]
    _expect(loaded_planner, DeploymentPlanner, planner_name, keys.DEPLOYMENT_PLANNER)
    host_names = keys.names_list(
        settings.get(keys.HOST_ALLOCATORS_ORDER), keys.DEFAULT_HOST_ALLOCATORS
    )
    pool_names = keys.names_list(
        settings.get(keys.POOL_ALLOCATORS_ORDER), keys.DEFAULT_POOL_ALLOCATORS
    )
    hosts = _instances(
        "cumulo.allocators", host_names, f"global setting '{keys.HOST_ALLOCATORS_ORDER}'"
    )
    pools = _instances(
        "cumulo.allocators", pool_names, f"global setting '{keys.POOL_ALLOCATORS_ORDER}'"
    )
    filters = tuple((n, p) for n, p in hosts.items() if isinstance(p, HostFilter))
    weighers = tuple((n, p) for n, p in hosts.items() if isinstance(p, HostWeigher))
    for name, plugin in hosts.items():
        if not isinstance(plugin, HostFilter | HostWeigher):
            _expect(plugin, HostFilter, name, keys.HOST_ALLOCATORS_ORDER)
    for name, plugin in pools.items():
        _expect(plugin, StoragePoolAllocator, name, keys.POOL_ALLOCATORS_ORDER)
    return Components(planner_name, loaded_planner, filters, weighers, tuple(pools.items()))


def _expect(plugin: object, kind: type, name: str, setting: str) -> None:
    if not isinstance(plugin, kind):
        raise InternalError(
            f"'{name}' named in global setting '{setting}' is not a {kind.__name__} "
            f"(it is a {type(plugin).__name__})"
        )


# ---- hosts -----------------------------------------------------------------------------------


def filter_hosts(
    hosts: Sequence[CandidateHost], components: Components, ctx: AllocationContext, tally: Tally
) -> list[CandidateHost]:
    """The hosts no filter rejects; each rejection is tallied under the first filter
    that made it."""
    kept = []
    for host in hosts:
        for name, plugin in components.filters:
            reason = plugin.reject(host, ctx)
            if reason is not None:
                tally[("host", name, reason)] += 1
                break
        else:
            kept.append(host)
    return kept


def clusters_of(hosts: Sequence[CandidateHost]) -> list[CandidateCluster]:
    """The clusters of ``hosts`` with the sums of their free capacity, by id."""
    grouped: dict[int, list[CandidateHost]] = {}
    for host in hosts:
        grouped.setdefault(host.cluster_id, []).append(host)
    return [
        CandidateCluster(
            id=cluster_id,
            pod_id=members[0].pod_id,
            zone_id=members[0].zone_id,
            hypervisor_type=members[0].hypervisor_type,
            hosts=len(members),
            free_cpu_mhz=sum(h.free_cpu_mhz for h in members),
            free_memory_bytes=sum(h.free_memory_bytes for h in members),
        )
        for cluster_id, members in sorted(grouped.items())
    ]


def order_hosts(
    hosts: Sequence[CandidateHost], components: Components, ctx: AllocationContext, tally: Tally
) -> list[CandidateHost]:
    """The surviving hosts in the order to try them: the planner's clusters, within each
    the weighers' ranking (lexicographic, then host id), refined by the planner."""
    return list(iter_ordered_hosts(hosts, components, ctx, tally))


def iter_ordered_hosts(
    hosts: Sequence[CandidateHost], components: Components, ctx: AllocationContext, tally: Tally
) -> Iterator[CandidateHost]:
    """:func:`order_hosts`, one cluster at a time: a placement usually takes the first
    host, so the weighers rank the later clusters' hosts only if it comes to them."""
    clusters = clusters_of(hosts)
    ordered = list(components.planner.order_clusters(clusters, ctx))
    known = {c.id for c in clusters}
    chosen = [c.id for c in ordered if c.id in known]
    by_cluster: dict[int, list[CandidateHost]] = {}
    for host in sorted(hosts, key=lambda h: h.id):
        by_cluster.setdefault(host.cluster_id, []).append(host)
    skipped = sum(len(by_cluster[c]) for c in known - set(chosen))
    if skipped:
        tally[("host", components.planner_name, PLANNER_SKIPPED)] += skipped
    for cluster_id in dict.fromkeys(chosen):
        members = by_cluster[cluster_id]
        weights = [list(w.weigh(members, ctx)) for _, w in components.weighers]
        for (name, _), column in zip(components.weighers, weights, strict=True):
            if len(column) != len(members):
                raise InternalError(f"weigher '{name}' returned {len(column)} weights "
                                    f"for {len(members)} hosts")  # fmt: skip
        if len(members) == 1:
            weighed = members
        else:
            rank = sorted(
                range(len(members)),
                key=lambda i: (*(-column[i] for column in weights), members[i].id),
            )
            weighed = [members[i] for i in rank]
        refined = list(components.planner.order_hosts(weighed, ctx))
        allowed = {h.id for h in weighed}
        yield from (h for h in refined if h.id in allowed)


# ---- pools -------------------------------------------------------------------------------------


@dataclass
class PoolTally:
    """Pool rejections, each pool counted once per disk kind and reason."""

    seen: set[tuple[int, str, str, str]] = field(default_factory=set)

    def note(self, pool_id: int, disk: str, component: str, reason: str) -> None:
        self.seen.add((pool_id, disk, component, reason))

    def counts(self) -> Tally:
        """``("pool", component, reason) -> pools``."""
        tally: Tally = Counter()
        for _, _, component, reason in self.seen:
            tally[("pool", component, reason)] += 1
        return tally


def pools_for(
    host: CandidateHost,
    disk: DiskRequest,
    pools: Sequence[CandidatePool],
    components: Components,
    ctx: AllocationContext,
    pool_tally: PoolTally,
) -> list[CandidatePool]:
    """The pools that could hold ``disk`` for a VM on ``host``, best first: those of
    the first allocator in order that handles the disk and keeps any."""
    serving = [p for p in pools if p.serves(host)]
    for name, allocator in components.pool_allocators:
        if not allocator.handles(disk, ctx):
            continue
        kept = []
        for pool in serving:
            if pool.id in ctx.avoid.pool_ids:
                pool_tally.note(pool.id, disk.kind, name, "in the avoid list")
                continue
            reason = allocator.reject(pool, disk, host, ctx)
            if reason is None:
                kept.append(pool)
            else:
                pool_tally.note(pool.id, disk.kind, name, reason)
        if kept:
            return list(allocator.order(kept, disk, ctx))
    return []


def storage_plan(
    host: CandidateHost,
    pools: Sequence[CandidatePool],
    components: Components,
    ctx: AllocationContext,
    pool_tally: PoolTally,
) -> list[list[CandidatePool]] | None:
    """Candidate pools per disk of ``ctx.disks`` for ``host``; ``None`` when a disk
    has none."""
    plan = []
    for disk in ctx.disks:
        found = pools_for(host, disk, pools, components, ctx, pool_tally)
        if not found:
            return None
        plan.append(found)
    return plan
