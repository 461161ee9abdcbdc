"""The placement contracts: deployment planners, host filters and weighers, and storage
pool allocators, with the plain values they receive.

Where they sit (DESIGN.md §6): when a VM is deployed, started or restarted by HA, the
core's placement service (``cumulo.placement``) reads the candidate hosts of the zone
in one indexed query (zone, ``Routing`` type, ``Up`` and ``Enabled``, enough free
capacity, the requested pod/cluster/host), turns each row into a
:class:`CandidateHost`, and then asks the plugins, in this order:

1. every :class:`HostFilter` named in the global setting ``host.allocators.order``, in
   that order, for every candidate: the first filter that rejects a host eliminates it,
   and its reason is counted for the explanation;
2. the :class:`DeploymentPlanner` (the service offering's, else the setting
   ``vm.deployment.planner``) orders the clusters of the surviving hosts;
3. every :class:`HostWeigher` named in ``host.allocators.order`` ranks the hosts of each
   cluster: the first weigher decides, later ones break its ties (then the host id);
   the planner may refine that order (:meth:`DeploymentPlanner.order_hosts`);
4. for the first host in that order, the :class:`StoragePoolAllocator` s named in
   ``storage.pool.allocators.order`` pick a pool for each disk; a host none of whose
   pools fits is passed over;
5. the core claims the host's capacity (and the pools') with conditional ``UPDATE`` s
   in the caller's transaction; a claim lost to a concurrent deployment moves on to the
   next host in the order.

The rules every plugin here follows:

- **Pure.** Methods decide from their arguments only: no database, no network, no
  clock, no state kept between calls (the Random weigher's randomness is the one
  allowed exception). The same inputs give the same answer, so ``explain`` shows what
  ``place`` would do, and the core may call a method more than once or not at all.
- **Fast.** They run inside the deployment's transaction, for up to a few hundred
  candidates: constant work per host.
- **Plain values.** Plugins see the frozen dataclasses below, never models or
  sessions; what a plugin needs from the database is put in the values by the core
  (a planner that wants the account's VMs sets :attr:`DeploymentPlanner.needs_footprint`).
- **Settings.** A plugin lists the global settings it reads in ``settings_keys``; the
  core reads them with its own (one statement, usually cached) and passes them in
  :attr:`AllocationContext.settings`. The plugin declares them through the
  ``cumulo_configuration_keys`` hook of its hook module; an undeclared or unset key
  reads as ``None``, so plugins always pass a default to :meth:`AllocationContext.setting`.
- **Explanations.** A rejection is a short phrase that completes "``<n> hosts ...``"
  (``"in maintenance"``, ``"without 2048 MB free memory"``, ``"lacking host tag
  'fast'"``): the core counts identical phrases and shows them to the operator in the
  error of a deployment that cannot be placed and in ``explainVirtualMachinePlacement``.
  Put the parameter that matters in the phrase; never a host's name or id (the phrase
  is counted over hosts).

Registration: planners under the entry-point group ``cumulo.planners``; filters,
weighers and storage pool allocators under ``cumulo.allocators`` (one namespace: a name
is unique across the three kinds). The entry-point name is the name an operator writes
in the settings and must equal the class's :attr:`~cumulo.sdk.Driver.name`. The core
makes one instance per process, with no arguments.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from cumulo.sdk.driver import Driver

__all__ = [
    "AccountFootprint",
    "AllocationContext",
    "AvoidSet",
    "CandidateCluster",
    "CandidateHost",
    "CandidatePool",
    "DeploymentPlanner",
    "DiskRequest",
    "HostFilter",
    "HostWeigher",
    "StoragePoolAllocator",
    "VmRequirements",
]

MB = 1024 * 1024


# ---- what is being placed ----------------------------------------------------------------


@dataclass(frozen=True)
class VmRequirements:
    """The VM to place, as the service offering, template and caller describe it.

    :param zone_id: internal id of the zone it goes to.
    :param account_id: internal id of the owning account.
    :param domain_id: internal id of the owner's domain.
    :param domain_path: that domain's path (``/``, ``/Sales/``), for dedicated zones.
    :param cpu: vCPUs.
    :param speed: MHz per vCPU.
    :param memory_mb: memory in MB.
    :param cpu_mhz: what a host must have free and will be charged, in MHz: ``cpu *
        speed`` divided by ``cpu.overprovisioning.factor`` (rounded up). Compare this,
        not ``cpu * speed``, with :attr:`CandidateHost.free_cpu_mhz`.
    :param memory_bytes: likewise for memory, with ``mem.overprovisioning.factor``.
    :param host_tag: the offering's host tag (``None``: any host).
    :param hypervisor: the template's hypervisor (``None``: any, e.g. an ISO).
    :param ha_enabled: the offering offers HA.
    :param for_ha_restart: this placement restarts the VM after its host failed.
    :param system_vm: a system VM (virtual router, console proxy, secondary storage VM).
    :param pod_id: only this pod (an admin's choice, or restart affinity).
    :param cluster_id: only this cluster.
    :param host_id: only this host.
    """

    zone_id: int
    account_id: int
    domain_id: int
    cpu: int
    speed: int
    memory_mb: int
    cpu_mhz: int
    memory_bytes: int
    domain_path: str = "/"
    host_tag: str | None = None
    hypervisor: str | None = None
    ha_enabled: bool = False
    for_ha_restart: bool = False
    system_vm: bool = False
    pod_id: int | None = None
    cluster_id: int | None = None
    host_id: int | None = None


@dataclass(frozen=True)
class DiskRequest:
    """One disk to put on primary storage.

    :param kind: ``"ROOT"`` or ``"DATADISK"``.
    :param size_bytes: its size.
    :param tags: storage tags every chosen pool must carry.
    :param local: it must be on the host's local storage (the offering says so, or a
        system VM with ``system.vm.local.storage.required``).
    """

    kind: str
    size_bytes: int
    tags: tuple[str, ...] = ()
    local: bool = False


@dataclass(frozen=True)
class AvoidSet:
    """Where not to go (CloudStack's ``ExcludeList``): hosts that just failed to start
    the VM, clusters the caller excluded, pools that are full.

    Filters honour it through the standard ``AvoidList`` filter; a planner may also
    skip avoided pods and clusters early.
    """

    pod_ids: frozenset[int] = frozenset()
    cluster_ids: frozenset[int] = frozenset()
    host_ids: frozenset[int] = frozenset()
    pool_ids: frozenset[int] = frozenset()

    def avoids(self, host: CandidateHost) -> bool:
        """Whether ``host``, its cluster or its pod is to be avoided."""
        return (
            host.id in self.host_ids
            or host.cluster_id in self.cluster_ids
            or host.pod_id in self.pod_ids
        )


# ---- what it may go to -----------------------------------------------------------------


@dataclass(frozen=True)
class CandidateHost:
    """A hypervisor host the VM might run on, as read at the start of the placement.

    Capacity is materialised: ``free_cpu_mhz``/``free_memory_bytes`` are what is left
    after every reservation (the core compares them with
    :attr:`VmRequirements.cpu_mhz`/``memory_bytes``, already scaled by the
    over-provisioning factors).

    :param id: internal id (stable ordering, avoid sets).
    :param uuid: public id.
    :param name: host name (what an operator sees; never put it in a rejection).
    :param zone_id: its zone.
    :param pod_id: its pod.
    :param cluster_id: its cluster.
    :param hypervisor_type: ``KVM``, ``XenServer``, ``VMware``, ``Simulator`` ...
    :param status: connection state (``Up``, ``Down``, ``Alert``, ...).
    :param resource_state: the administrator's state (``Enabled``, ``Disabled``,
        ``Maintenance``, ``PrepareForMaintenance``, ...).
    :param cluster_allocation_state: ``Enabled`` or ``Disabled``.
    :param pod_allocation_state: ``Enabled`` or ``Disabled``.
    :param total_cpu_mhz: ``cpus * speed``.
    :param free_cpu_mhz: unreserved CPU.
    :param total_memory_bytes: memory the hypervisor reported.
    :param free_memory_bytes: unreserved memory.
    :param tags: host tags (including the ``ha.tag`` one, if any).
    :param private_ip_address: management address (local pools are matched with it).
    :param zone_domain_path: path of the domain the zone is dedicated to (``None``:
        a public zone).
    :param cluster_managed_state: ``Managed``, or ``Unmanaged``/``PrepareUnmanaged``...
        while the administrator takes the cluster out of cumulo's hands.
    """

    id: int
    uuid: str
    name: str
    zone_id: int
    pod_id: int
    cluster_id: int
    hypervisor_type: str
    status: str = "Up"
    resource_state: str = "Enabled"
    cluster_allocation_state: str = "Enabled"
    pod_allocation_state: str = "Enabled"
    total_cpu_mhz: int = 0
    free_cpu_mhz: int = 0
    total_memory_bytes: int = 0
    free_memory_bytes: int = 0
    tags: frozenset[str] = frozenset()
    private_ip_address: str | None = None
    zone_domain_path: str | None = None
    cluster_managed_state: str = "Managed"


@dataclass(frozen=True)
class CandidateCluster:
    """A cluster holding at least one candidate that passed the filters.

    The sums are over those surviving hosts only (what could take the VM now).

    :param hosts: how many surviving hosts it holds.
    """

    id: int
    pod_id: int
    zone_id: int
    hypervisor_type: str
    hosts: int
    free_cpu_mhz: int
    free_memory_bytes: int


@dataclass(frozen=True)
class CandidatePool:
    """A primary storage pool a disk might go to.

    :param scope: ``"CLUSTER"`` (shared by the hosts of ``cluster_id``) or ``"HOST"``
        (local to host ``host_id``, whose management address is ``host_address``).
    :param pool_type: ``NetworkFilesystem``, ``IscsiLUN``, ``Filesystem`` (local) ...
    :param status: ``Up``, ``Maintenance``, ...
    :param capacity_bytes: its size.
    :param used_bytes: what is used or reserved.
    :param tags: storage tags.
    :param overprovisioning: factor by which ``capacity_bytes`` may be committed
        (``storage.overprovisioning.factor`` for NFS and VMFS, 1 for the rest).
    """

    id: int
    uuid: str
    name: str
    zone_id: int
    pod_id: int | None
    cluster_id: int | None
    scope: str
    pool_type: str
    status: str
    capacity_bytes: int
    used_bytes: int
    host_address: str = ""
    tags: frozenset[str] = frozenset()
    overprovisioning: float = 1.0
    host_id: int | None = None

    @property
    def free_bytes(self) -> int:
        """What may still be committed: ``capacity * overprovisioning - used``."""
        return max(0, int(self.capacity_bytes * self.overprovisioning) - self.used_bytes)

    def serves(self, host: CandidateHost) -> bool:
        """Whether ``host`` can reach this pool (its cluster's shared pool, or its own
        local pool)."""
        if self.scope == "HOST":
            if self.host_id is not None:
                # Hosts given by name may share an address (simulated http://sim/...
                # hosts all have "sim"): the pool's own host is the reliable match.
                return self.host_id == host.id
            return (
                self.cluster_id == host.cluster_id
                and bool(self.host_address)
                and self.host_address == host.private_ip_address
            )
        return self.cluster_id == host.cluster_id


@dataclass(frozen=True)
class AccountFootprint:
    """Where the owning account's VMs run now (``Starting``, ``Running``, ``Stopping``,
    ``Migrating``), counted per host, cluster and pod; given only to planners that
    set :attr:`DeploymentPlanner.needs_footprint`."""

    by_host: Mapping[int, int] = field(default_factory=dict)
    by_cluster: Mapping[int, int] = field(default_factory=dict)
    by_pod: Mapping[int, int] = field(default_factory=dict)


@dataclass(frozen=True)
class AllocationContext:
    """Everything a plugin may use besides the candidates.

    :param vm: the VM being placed.
    :param avoid: where not to go.
    :param settings: the values of the global settings the loaded plugins listed in
        ``settings_keys`` (and the core's placement settings), ``None`` when unset.
    :param footprint: the account's VMs (``None`` unless the planner asked for it).
    :param disks: the disks to place, root first.
    """

    vm: VmRequirements
    avoid: AvoidSet = field(default_factory=AvoidSet)
    settings: Mapping[str, str | None] = field(default_factory=dict)
    footprint: AccountFootprint | None = None
    disks: tuple[DiskRequest, ...] = ()

    def setting(self, name: str, default: str | None = None) -> str | None:
        """The value of ``name``, or ``default`` when it is unset or empty."""
        value = self.settings.get(name)
        return default if value is None or value == "" else value

    def float_setting(self, name: str, default: float) -> float:
        """``name`` as a float; ``default`` when unset or unparsable."""
        try:
            return float(self.setting(name) or default)
        except ValueError:
            return default

    def bool_setting(self, name: str, default: bool = False) -> bool:
        """``name`` as a boolean (``true`` in any case); ``default`` when unset."""
        value = self.setting(name)
        return default if value is None else value.strip().lower() == "true"


# ---- the contracts -----------------------------------------------------------------------


class HostFilter(Driver):
    """Eliminates hosts that cannot take the VM; one concern per filter.

    :cvar settings_keys: global settings this filter reads from
        :attr:`AllocationContext.settings`.
    """

    settings_keys: ClassVar[tuple[str, ...]] = ()

    def reject(self, host: CandidateHost, ctx: AllocationContext) -> str | None:
        """Whether ``host`` is unfit, and why.

        Called once per candidate that the filters before it kept, in the order of
        ``host.allocators.order``. Pure (see the module docstring).

        :return: ``None`` to keep the host; otherwise a phrase completing "``<n> hosts
            ...``" (``"lacking host tag 'fast'"``), identical for every host rejected
            for the same reason so that the core can count them.
        """
        raise NotImplementedError


class HostWeigher(Driver):
    """Ranks the hosts that passed every filter; higher weight is preferred.

    Weighers compose lexicographically in the order of ``host.allocators.order``: the
    first decides, the next one breaks its ties, and so on; remaining ties go to the
    lowest host id. A weigher with no opinion returns equal weights.

    :cvar settings_keys: global settings this weigher reads.
    """

    settings_keys: ClassVar[tuple[str, ...]] = ()

    def weigh(self, hosts: Sequence[CandidateHost], ctx: AllocationContext) -> Sequence[float]:
        """One weight per host, in the order of ``hosts`` (same length).

        Called once per cluster with that cluster's surviving hosts. Pure, except
        that a weigher whose purpose is randomness may use it.
        """
        raise NotImplementedError


class DeploymentPlanner(Driver):
    """Decides which clusters (and so pods) to try first: first fit, spreading an
    account's VMs, or keeping them together.

    :cvar settings_keys: global settings this planner reads.
    :cvar needs_footprint: the core must read the account's running VMs per host,
        cluster and pod (one more statement) into :attr:`AllocationContext.footprint`.
    """

    settings_keys: ClassVar[tuple[str, ...]] = ()
    needs_footprint: ClassVar[bool] = False

    def order_clusters(
        self, clusters: Sequence[CandidateCluster], ctx: AllocationContext
    ) -> Sequence[CandidateCluster]:
        """The clusters to try, best first.

        Called once per placement with every cluster that holds a surviving host,
        ordered by id. Pure. May leave clusters out (their hosts are then not tried,
        and are counted as eliminated by the planner); returning none fails the
        placement.
        """
        raise NotImplementedError

    def order_hosts(
        self, hosts: Sequence[CandidateHost], ctx: AllocationContext
    ) -> Sequence[CandidateHost]:
        """Refine the weighers' order of one cluster's hosts; default: keep it.

        Called once per cluster, after the weighers. Pure. Must return a permutation
        of a subset of ``hosts``.
        """
        return hosts


class StoragePoolAllocator(Driver):
    """Chooses a primary storage pool for one disk on a chosen host.

    The allocators named in ``storage.pool.allocators.order`` are asked in that order;
    the first one that :meth:`handles` the disk and keeps at least one pool decides.

    :cvar settings_keys: global settings this allocator reads.
    """

    settings_keys: ClassVar[tuple[str, ...]] = ()

    def handles(self, disk: DiskRequest, ctx: AllocationContext) -> bool:
        """Whether this allocator places ``disk`` at all (a local-storage allocator
        declines shared disks). Pure."""
        raise NotImplementedError

    def reject(
        self, pool: CandidatePool, disk: DiskRequest, host: CandidateHost, ctx: AllocationContext
    ) -> str | None:
        """Whether ``pool`` cannot hold ``disk`` for a VM on ``host``, and why.

        Called for each pool that serves ``host`` (:meth:`CandidatePool.serves`: the
        shared pools of its cluster and its own local pools), whatever their status
        or free space. Pure.

        :return: ``None`` to keep it; otherwise a phrase completing "``<n> pools ...``"
            (``"lacking storage tag 'ssd'"``).
        """
        raise NotImplementedError

    def order(
        self, pools: Sequence[CandidatePool], disk: DiskRequest, ctx: AllocationContext
    ) -> Sequence[CandidatePool]:
        """The kept pools, best first; default: as given (by id). Pure."""
        return pools
