"""What a caller asks the placement service for, and what it gets back.

:class:`PlacementRequest` is filled by the compute service (deploy, start, HA restart,
migrate) from the service offering, the template, the disk offering and the caller;
:class:`Placement` is the answer of :func:`cumulo.placement.service.place`, whose host
and pools are already claimed in the caller's transaction. :class:`PlacementExplanation`
is what :func:`cumulo.placement.service.explain` returns: the same decision, unclaimed,
with the count of candidates each filter eliminated.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cumulo.placement.candidates import HostAccess, PoolAccess


@dataclass(frozen=True)
class PlacementRequest:
    """One VM to place.

    :param zone_id: internal id of the zone.
    :param account_id: internal id of the owning account.
    :param domain_id: internal id of its domain.
    :param cpu: vCPUs (service offering ``cpu``).
    :param speed: MHz per vCPU (``speed``).
    :param memory_mb: memory in MB (``ram_size``).
    :param host_tag: the offering's host tag.
    :param storage_tags: the service offering's storage tags (root disk).
    :param use_local_storage: the root disk goes on host-local storage.
    :param ha_enabled: the offering offers HA.
    :param hypervisor: the template's hypervisor (``None``: any).
    :param planner: the offering's deployment planner (``None``: the setting
        ``vm.deployment.planner``).
    :param root_disk_bytes: size of the root disk (0: no root disk to place, e.g. the
        VM already has its volume on a pool the caller keeps).
    :param data_disk_bytes: size of the data disk (0: none).
    :param data_disk_tags: the disk offering's storage tags.
    :param data_disk_local: the data disk goes on host-local storage.
    :param pod_id: only this pod (admin's choice or restart affinity).
    :param cluster_id: only this cluster.
    :param host_id: only this host (``deployVirtualMachine hostid=`` for admins).
    :param avoid_host_ids: hosts not to use (e.g. the one that just failed).
    :param avoid_cluster_ids: clusters not to use.
    :param avoid_pod_ids: pods not to use.
    :param avoid_pool_ids: pools not to use.
    :param for_ha_restart: an HA restart: may use (and prefers) ``ha.tag`` hosts.
    :param system_vm: a system VM (``system.vm.local.storage.required`` applies).
    """

    zone_id: int
    account_id: int
    domain_id: int
    cpu: int
    speed: int
    memory_mb: int
    host_tag: str | None = None
    storage_tags: tuple[str, ...] = ()
    use_local_storage: bool = False
    ha_enabled: bool = False
    hypervisor: str | None = None
    planner: str | None = None
    root_disk_bytes: int = 0
    data_disk_bytes: int = 0
    data_disk_tags: tuple[str, ...] = ()
    data_disk_local: bool = False
    pod_id: int | None = None
    cluster_id: int | None = None
    host_id: int | None = None
    avoid_host_ids: frozenset[int] = frozenset()
    avoid_cluster_ids: frozenset[int] = frozenset()
    avoid_pod_ids: frozenset[int] = frozenset()
    avoid_pool_ids: frozenset[int] = frozenset()
    for_ha_restart: bool = False
    system_vm: bool = False


@dataclass(frozen=True)
class Placement:
    """Where the VM goes; the host's capacity and the pools' space are claimed.

    :param cpu_mhz: what was taken from the host's ``free_cpu`` (``cpu * speed``
        scaled by ``cpu.overprovisioning.factor``): store it with the VM
        (``vm_instance.reserved_cpu_mhz``) and give exactly that back with
        :func:`cumulo.placement.service.release`.
    :param memory_bytes: likewise for ``free_memory`` (``reserved_memory``).
    :param root_pool_id: the pool of the root disk (``None`` when no root disk was
        asked for).
    :param data_pool_id: the pool of the data disk (``None``: no data disk).
    :param retries: claims lost to concurrent placements before this one won.
    :param host_access: how drivers reach the host (``place(access=True)`` only).
    :param pool_access: what the chosen pools' references are built from, by pool id
        (``place(access=True)`` only).
    :param host_name: the host's name (events name it).
    :param host_uuid: its public id.
    :param zone_id: its zone.
    """

    host_id: int
    pod_id: int
    cluster_id: int
    root_pool_id: int | None
    data_pool_id: int | None
    hypervisor_type: str
    cpu_mhz: int = 0
    memory_bytes: int = 0
    retries: int = 0
    host_access: HostAccess | None = None
    pool_access: Mapping[int, PoolAccess] = field(default_factory=dict)
    host_name: str = ""
    host_uuid: str = ""
    zone_id: int = 0


@dataclass(frozen=True)
class Elimination:
    """How many candidates one filter eliminated, for one reason.

    :param stage: ``"host"`` or ``"pool"``.
    :param component: the filter (or pool allocator, or planner) name; ``HostState``
        and ``HostCapacity`` also stand for what the candidate query left out.
    :param reason: the phrase completing "``<count> hosts ...``".
    :param count: how many.
    """

    stage: str
    component: str
    reason: str
    count: int

    def phrase(self) -> str:
        """``"3 hosts in maintenance"`` (``host``/``pool`` singular when 1)."""
        noun = self.stage if self.count == 1 else f"{self.stage}s"
        return f"{self.count} {noun} {self.reason}"


@dataclass(frozen=True)
class PlannedHost:
    """One host in the order placement would try them.

    :param pools: the pool chosen for each disk (root first) if this host were used;
        empty when the disks were not evaluated for this host (only the first hosts
        are) or there are no disks.
    """

    host_id: int
    uuid: str
    name: str
    pod_id: int
    cluster_id: int
    hypervisor_type: str
    free_cpu_mhz: int
    free_memory_bytes: int
    pools: tuple[int, ...] = ()


@dataclass(frozen=True)
class PlacementExplanation:
    """The decision :func:`~cumulo.placement.service.place` would make, unclaimed.

    :param planner: the planner used.
    :param filters: the host filters applied, in order.
    :param weighers: the host weighers applied, in order.
    :param hosts_in_zone: ``Routing`` hosts within the requested zone/pod/cluster/host.
    :param cpu_mhz: CPU a host must have free (over-provisioning applied).
    :param memory_bytes: memory a host must have free.
    :param eliminations: counts per filter and reason (the candidate query's and the
        Python filters'), largest first; a placement that fails shows these.
    :param plan: the hosts in the order they would be tried (the first few).
    :param chosen: the host that would be used (``None``: the placement would fail).
    :param unexamined: candidates with room that were not examined (more than the
        examination bound).
    """

    planner: str
    filters: tuple[str, ...]
    weighers: tuple[str, ...]
    hosts_in_zone: int
    cpu_mhz: int
    memory_bytes: int
    eliminations: tuple[Elimination, ...] = ()
    plan: tuple[PlannedHost, ...] = ()
    chosen: PlannedHost | None = None
    unexamined: int = 0

    def summary(self) -> str:
        """What eliminated the candidates, as one sentence (the 533 errortext)."""
        if self.hosts_in_zone == 0:
            return "no host can run it: there is no hypervisor host in the requested scope"
        hosts = [e for e in self.eliminations if e.stage == "host"]
        pools = [e for e in self.eliminations if e.stage == "pool"]
        text = "no host can run it: " + (
            ", ".join(e.phrase() for e in hosts) or "no candidate host"
        )
        if pools:
            text += "; storage: " + ", ".join(e.phrase() for e in pools)
        if self.unexamined:
            text += f"; {self.unexamined} more hosts with room were not examined"
        return text
