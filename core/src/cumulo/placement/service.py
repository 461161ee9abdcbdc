"""Placement: choose a host and pools for a VM and claim their capacity, or say why not.

:func:`place` and :func:`explain` run the same pipeline (DESIGN.md §6):

1. settings (one statement, usually answered by the runtime's configuration cache);
2. the candidate hosts, one indexed statement per page: a first page of
   :data:`~cumulo.placement.candidates.FIRST_PAGE_SIZE`, further ones of
   :data:`~cumulo.placement.candidates.PAGE_SIZE` (see :mod:`.candidates`);
3. the plugins (:mod:`cumulo.sdk.allocation`): filters, the planner's cluster order,
   weighers; the account's footprint (one statement) only for a planner that asks;
4. the pools of the candidates' clusters, read by the candidate statement itself when
   there are disks (outer-joined: a row per host and pool);
5. :func:`place` only: a conditional ``UPDATE`` of the first host in order (and one per
   disk on its pools), in the caller's transaction — no commit; a claim lost to a
   concurrent placement moves on to the next host.

A placement that finds nothing reads, in one more statement, how many hosts the
candidate query itself left out and why, and raises :class:`InsufficientCapacity`
(533) whose errortext names every reason with its count. A page whose candidates the
filters all rejected is followed by the next one, up to :data:`MAX_PAGES` pages.
"""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

from sqlalchemy.orm import Session

from cumulo.placement import candidates as db
from cumulo.placement import settings as keys
from cumulo.placement.pipeline import (
    NO_POOL,
    STORAGE,
    Components,
    PoolTally,
    Tally,
    filter_hosts,
    iter_ordered_hosts,
    load_components,
    order_hosts,
    storage_plan,
)
from cumulo.placement.request import (
    Elimination,
    Placement,
    PlacementExplanation,
    PlacementRequest,
    PlannedHost,
)
from cumulo.sdk.allocation import (
    AllocationContext,
    AvoidSet,
    CandidateHost,
    CandidatePool,
    DiskRequest,
    VmRequirements,
)
from cumulo.sdk.errors import InsufficientCapacity

__all__ = ["MAX_PAGES", "explain", "place", "release", "release_pool"]

MAX_PAGES = 5
"""Pages of candidates examined at most: beyond that many rejected candidates, the
filters are excluding almost everything and another page would not help."""

RANDOM = "Random"
"""The weigher whose presence makes the candidate scan start at a random host."""

PLAN_SIZE = 10
"""Hosts an explanation lists (in order, with their pools)."""

MB = 1024 * 1024
CLAIM = "Claim"
LOST = "filled by concurrent deployments meanwhile"
LOST_POOL = "whose pools were filled by concurrent deployments meanwhile"


class _Run:
    """One placement's state: settings, plugins, context, tallies."""

    def __init__(
        self,
        session: Session,
        request: PlacementRequest,
        config: Any | None,
        *,
        access: bool = False,
    ) -> None:
        self.session = session
        self.request = request
        self.access = access
        self.host_access: dict[int, db.HostAccess] = {}
        self.pool_access: dict[int, db.PoolAccess] = {}
        settings = keys.read_settings(session, keys.CORE_SETTING_NAMES, config)
        self.components: Components = load_components(settings, request.planner)
        extra = self.components.settings_keys() - set(settings)
        if extra:
            settings.update(keys.read_settings(session, sorted(extra), config))
        self.settings = settings
        self.need = db.Need(
            cpu_mhz=keys.scaled(
                request.cpu * request.speed, keys.factor(settings, keys.CPU_OVERPROVISIONING)
            ),
            memory_bytes=keys.scaled(
                request.memory_mb * MB, keys.factor(settings, keys.MEM_OVERPROVISIONING)
            ),
        )
        self.vm = VmRequirements(
            zone_id=request.zone_id,
            account_id=request.account_id,
            domain_id=request.domain_id,
            cpu=request.cpu,
            speed=request.speed,
            memory_mb=request.memory_mb,
            cpu_mhz=self.need.cpu_mhz,
            memory_bytes=self.need.memory_bytes,
            host_tag=request.host_tag or None,
            hypervisor=request.hypervisor or None,
            ha_enabled=request.ha_enabled,
            for_ha_restart=request.for_ha_restart,
            system_vm=request.system_vm,
            pod_id=request.pod_id,
            cluster_id=request.cluster_id,
            host_id=request.host_id,
        )
        self.ctx = AllocationContext(
            vm=self.vm,
            avoid=AvoidSet(
                pod_ids=request.avoid_pod_ids,
                cluster_ids=request.avoid_cluster_ids,
                host_ids=request.avoid_host_ids,
                pool_ids=request.avoid_pool_ids,
            ),
            settings=settings,
            disks=self._disks(),
        )
        self.tally: Tally = Counter()
        self.pool_tally = PoolTally()
        self.examined = 0
        self._domain_read = False
        self._footprint_read = False
        self._pools: dict[int, list[CandidatePool]] = {}
        self.random_start = any(name == RANDOM for name, _ in self.components.weighers)

    def _disks(self) -> tuple[DiskRequest, ...]:
        request, disks = self.request, []
        system_local = request.system_vm and (
            (self.settings.get(keys.SYSTEM_VM_LOCAL_STORAGE) or "").lower() == "true"
        )
        if request.root_disk_bytes > 0:
            disks.append(
                DiskRequest(
                    "ROOT",
                    request.root_disk_bytes,
                    tuple(request.storage_tags),
                    request.use_local_storage or system_local,
                )
            )
        if request.data_disk_bytes > 0:
            disks.append(
                DiskRequest(
                    "DATADISK",
                    request.data_disk_bytes,
                    tuple(request.data_disk_tags),
                    request.data_disk_local,
                )
            )
        return tuple(disks)

    def _prepare(self, hosts: list[CandidateHost]) -> None:
        """Read what the plugins need that the candidates showed is needed: the
        caller's domain path when a zone is dedicated, the account's footprint."""
        updates: dict[str, Any] = {}
        if not self._domain_read and any(h.zone_domain_path for h in hosts):
            self._domain_read = True
            path = db.domain_path(self.session, self.request.domain_id)
            self.vm = VmRequirements(**{**self.vm.__dict__, "domain_path": path})
            updates["vm"] = self.vm
        if not self._footprint_read and self.components.planner.needs_footprint:
            self._footprint_read = True
            updates["footprint"] = db.account_footprint(
                self.session, self.request.account_id, self.request.zone_id
            )
        if updates:
            self.ctx = AllocationContext(**{**self.ctx.__dict__, **updates})

    def pages(self, *, lazy: bool = False) -> Any:
        """The ordered surviving hosts, per page of candidates: a small first page
        (:data:`~cumulo.placement.candidates.FIRST_PAGE_SIZE`, enough in a zone that
        is not nearly full) then pages of :data:`~cumulo.placement.candidates.PAGE_SIZE`.
        With ``lazy``, each page's order is an iterator that ranks a cluster's hosts
        only when the caller comes to it (:func:`iter_ordered_hosts`).

        With the ``Random`` weigher (4.1's ``vm.allocation.algorithm=random``) the scan
        starts at a random host id of the zone and wraps around: concurrent placements
        then read different candidates, instead of all racing for the first host.
        """
        start = 0
        if self.random_start and self.request.host_id is None:
            start = random.randrange(db.highest_host_id(self.session, self.request.zone_id) + 1)
        windows = [(start, db.NO_END)] + ([(0, start)] if start else [])
        pages = 0
        for after, until in windows:
            while pages < MAX_PAGES:
                limit = db.FIRST_PAGE_SIZE if pages == 0 else db.PAGE_SIZE
                pages += 1
                page = db.candidate_page(
                    self.session,
                    self.vm,
                    self.need,
                    after,
                    limit,
                    until,
                    storage_factor=self.storage_factor if self.ctx.disks else None,
                    access=self.access,
                )
                hosts = page.hosts
                for cluster, pools in (page.pools or {}).items():
                    self._pools.setdefault(cluster, pools)
                self.host_access.update(page.access or {})
                self.pool_access.update(page.pool_access or {})
                self.examined += len(hosts)
                if hosts:
                    self._prepare(hosts)
                    survivors = filter_hosts(hosts, self.components, self.ctx, self.tally)
                    if survivors:
                        order = iter_ordered_hosts if lazy else order_hosts
                        yield order(survivors, self.components, self.ctx, self.tally)
                if not db.page_is_full(hosts, limit):
                    break
                after = hosts[-1].id

    def pools_of(self, host: CandidateHost) -> list[CandidatePool]:
        """The pools of ``host``'s cluster: read with the candidates (one more
        statement for that cluster alone otherwise)."""
        found = self._pools.get(host.cluster_id)
        if found is None:
            return self.pools_for([host], 0, 1)
        return found

    def pools_for(
        self, ordered: list[CandidateHost], index: int, batch: int
    ) -> list[CandidatePool]:
        """The pools of ``ordered[index]``'s cluster. Pools are read per cluster when
        first needed, for that cluster and the next clusters in the order up to
        ``batch`` clusters, in one statement: a placement usually needs one cluster's."""
        cluster_id = ordered[index].cluster_id
        if cluster_id not in self._pools:
            wanted: list[int] = []
            for host in ordered[index:]:
                if host.cluster_id not in self._pools and host.cluster_id not in wanted:
                    wanted.append(host.cluster_id)
                    if len(wanted) >= batch:
                        break
            for cluster in wanted:
                self._pools[cluster] = []
            for pool in db.candidate_pools(
                self.session, self.request.zone_id, wanted, self.storage_factor
            ):
                self._pools.setdefault(pool.cluster_id or 0, []).append(pool)
        return self._pools[cluster_id]

    @property
    def storage_factor(self) -> float:
        """``storage.overprovisioning.factor`` (thin pools may be committed that much)."""
        return keys.factor(self.settings, keys.STORAGE_OVERPROVISIONING, 2.0)

    def plan_storage(
        self, host: CandidateHost, pools: list[CandidatePool]
    ) -> list[list[CandidatePool]] | None:
        """Pools per disk for ``host``, tallying a host that has none."""
        plan = storage_plan(host, pools, self.components, self.ctx, self.pool_tally)
        if plan is None:
            self.tally[("host", STORAGE, NO_POOL)] += 1
        return plan

    def explanation(
        self, plan: list[PlannedHost], chosen: PlannedHost | None
    ) -> PlacementExplanation:
        """The explanation, with the candidate query's eliminations counted."""
        left_out = db.eliminated_by_query(self.session, self.vm, self.need)
        reasons = db.sql_reasons(self.need)
        counts: Tally = Counter()
        for key, count in left_out.items():
            if key in reasons and count:
                component, phrase = reasons[key]
                counts[("host", component, phrase)] += count
        counts.update(self.tally)
        counts.update(self.pool_tally.counts())
        eliminations = tuple(
            Elimination(stage, component, reason, count)
            for (stage, component, reason), count in sorted(
                counts.items(), key=lambda item: (item[0][0] != "host", -item[1], item[0])
            )
        )
        return PlacementExplanation(
            planner=self.components.planner_name,
            filters=tuple(name for name, _ in self.components.filters),
            weighers=tuple(name for name, _ in self.components.weighers),
            hosts_in_zone=sum(left_out.values()),
            cpu_mhz=self.need.cpu_mhz,
            memory_bytes=self.need.memory_bytes,
            eliminations=eliminations,
            plan=tuple(plan),
            chosen=chosen,
            unexamined=max(0, left_out.get("room", 0) - self.examined),
        )


def _planned(host: CandidateHost, plan: list[list[CandidatePool]] | None) -> PlannedHost:
    return PlannedHost(
        host_id=host.id,
        uuid=host.uuid,
        name=host.name,
        pod_id=host.pod_id,
        cluster_id=host.cluster_id,
        hypervisor_type=host.hypervisor_type,
        free_cpu_mhz=host.free_cpu_mhz,
        free_memory_bytes=host.free_memory_bytes,
        pools=tuple(choices[0].id for choices in plan or []),
    )


def place(
    session: Session,
    request: PlacementRequest,
    *,
    config: Any | None = None,
    access: bool = False,
) -> Placement:
    """Choose a host (and pools) for ``request`` and claim them in ``session``'s
    transaction (the caller commits, or rolls back to undo the claim).

    :param config: the runtime's :class:`cumulo.config.ConfigStore` for ``session``
        (``Runtime.config_store(session)``), whose cache saves the settings statement;
        without it the settings are read from the ``configuration`` table.
    :param access: read, with the candidates, how drivers reach the chosen host and
        its pools (:attr:`Placement.host_access`, :attr:`Placement.pool_access`): the
        start that follows then needs no statement for them.
    :return: the placement, with what was charged to the host.
    :raises InsufficientCapacity: nothing fits (533); the errortext counts what
        eliminated the candidates, e.g. "no host can run it: 3 hosts in maintenance, 12
        hosts without 2048 MB free memory, 4 hosts lacking host tag 'fast'".
    :raises InternalError: a planner or allocator named in the settings or the
        offering cannot be loaded (530, naming it).
    """
    run = _Run(session, request, config, access=access)
    retries = 0
    for ordered in run.pages(lazy=True):
        for host in ordered:
            plan = run.plan_storage(host, run.pools_of(host)) if run.ctx.disks else []
            if plan is None:
                continue
            if not db.claim_host(session, host.id, run.need):
                retries += 1
                run.tally[("host", CLAIM, LOST)] += 1
                continue
            chosen = _claim_pools(session, run.ctx.disks, plan)
            if chosen is None:
                db.release_host(session, host.id, run.need.cpu_mhz, run.need.memory_bytes)
                retries += 1
                run.tally[("host", CLAIM, LOST_POOL)] += 1
                continue
            by_kind = dict(zip((d.kind for d in run.ctx.disks), chosen, strict=True))
            return Placement(
                host_access=run.host_access.get(host.id),
                pool_access={p: run.pool_access[p] for p in chosen if p in run.pool_access},
                host_name=host.name,
                host_uuid=host.uuid,
                zone_id=host.zone_id,
                host_id=host.id,
                pod_id=host.pod_id,
                cluster_id=host.cluster_id,
                root_pool_id=by_kind.get("ROOT"),
                data_pool_id=by_kind.get("DATADISK"),
                hypervisor_type=host.hypervisor_type,
                cpu_mhz=run.need.cpu_mhz,
                memory_bytes=run.need.memory_bytes,
                retries=retries,
            )
    explanation = run.explanation([], None)
    raise InsufficientCapacity(f"Unable to create a deployment for the VM: {explanation.summary()}")


def _claim_pools(
    session: Session, disks: tuple[DiskRequest, ...], plan: list[list[CandidatePool]]
) -> list[int] | None:
    """Claim one pool per disk (the first in each list that still fits); on failure,
    give back what was claimed and return ``None``."""
    claimed: list[tuple[int, int]] = []
    for disk, choices in zip(disks, plan, strict=True):
        for pool in choices:
            if db.claim_pool(session, pool, disk.size_bytes):
                claimed.append((pool.id, disk.size_bytes))
                break
        else:
            for pool_id, size in claimed:
                db.release_pool(session, pool_id, size)
            return None
    return [pool_id for pool_id, _ in claimed]


def explain(
    session: Session,
    request: PlacementRequest,
    *,
    config: Any | None = None,
    plan_size: int = PLAN_SIZE,
) -> PlacementExplanation:
    """What :func:`place` would decide for ``request``, claiming nothing.

    :return: the eliminations per filter and reason (the candidate query's counted in
        one statement), the first ``plan_size`` hosts in the order they would be tried
        with the pools each would get, and the host that would be chosen.
    """
    run = _Run(session, request, config)
    plan: list[PlannedHost] = []
    chosen: PlannedHost | None = None
    for ordered in run.pages():
        for index, host in enumerate(ordered):
            storage = (
                run.plan_storage(host, run.pools_for(ordered, index, len(ordered)))
                if run.ctx.disks
                else []
            )
            if storage is None:
                continue
            planned = _planned(host, storage)
            if len(plan) < plan_size:
                plan.append(planned)
            chosen = chosen or planned
    return run.explanation(plan, chosen)


def release(session: Session, host_id: int, cpu_mhz: int, memory_bytes: int) -> None:
    """Give back what :func:`place` charged a host (``Placement.cpu_mhz`` and
    ``memory_bytes``, as recorded with the VM) when the VM stops, moves or is
    destroyed; in the caller's transaction. Never raises the host above its total."""
    db.release_host(session, host_id, cpu_mhz, memory_bytes)


def release_pool(session: Session, pool_id: int, size_bytes: int) -> None:
    """Give back space :func:`place` reserved on a pool (a volume deleted or moved)."""
    db.release_pool(session, pool_id, size_bytes)
