"""The standard host filters: one concern each, pure, explained in a phrase.

Composed by the global setting ``host.allocators.order`` (default ``AvoidList,
HostState,Dedicated,Hypervisor,HostTags,HaHosts,HostCapacity`` before the weighers).
The candidate query of the core already leaves out hosts that are not ``Up`` and
``Enabled`` or lack capacity; :class:`HostStateFilter` and :class:`HostCapacityFilter`
state the same rules for what reaches them (and for explanations), so that an operator
who reads the order reads every rule; :class:`HostStateFilter` alone checks the
cluster's and pod's states.
"""

from __future__ import annotations

from typing import ClassVar

from cumulo.sdk import AllocationContext, CandidateHost, HostFilter

MB = 1024 * 1024
MAINTENANCE = frozenset({"Maintenance", "PrepareForMaintenance", "ErrorInMaintenance"})


class AvoidListFilter(HostFilter):
    """Hosts, clusters and pods the caller said to avoid (a host that just failed to
    start the VM, CloudStack's ``ExcludeList``)."""

    name: ClassVar[str] = "AvoidList"

    def reject(self, host: CandidateHost, ctx: AllocationContext) -> str | None:
        return "in the avoid list" if ctx.avoid.avoids(host) else None


class HostStateFilter(HostFilter):
    """``Up`` hosts in the ``Enabled`` resource state, in enabled, managed clusters and
    enabled pods (the core's candidate query checks only the hosts' own states)."""

    name: ClassVar[str] = "HostState"

    def reject(self, host: CandidateHost, ctx: AllocationContext) -> str | None:
        if host.status != "Up":
            return "not Up"
        if host.resource_state in MAINTENANCE:
            return "in maintenance"
        if host.resource_state != "Enabled":
            return "disabled"
        if host.cluster_allocation_state != "Enabled":
            return "in a disabled cluster"
        if host.cluster_managed_state != "Managed":
            return "in an unmanaged cluster"
        if host.pod_allocation_state != "Enabled":
            return "in a disabled pod"
        return None


class DedicatedZoneFilter(HostFilter):
    """A zone dedicated to a domain (4.1's private zone, ``createZone domainid=``)
    takes only VMs of that domain and its subdomains (and system VMs)."""

    name: ClassVar[str] = "Dedicated"

    def reject(self, host: CandidateHost, ctx: AllocationContext) -> str | None:
        owner = host.zone_domain_path
        if owner is None or ctx.vm.system_vm or ctx.vm.domain_path.startswith(owner):
            return None
        return "in a zone dedicated to another domain"


class HypervisorFilter(HostFilter):
    """The template's hypervisor (any host when the template has none, e.g. an ISO)."""

    name: ClassVar[str] = "Hypervisor"

    def reject(self, host: CandidateHost, ctx: AllocationContext) -> str | None:
        wanted = ctx.vm.hypervisor
        if not wanted or wanted.lower() in ("any", "none"):
            return None
        return None if host.hypervisor_type.lower() == wanted.lower() else f"not running {wanted}"


class HostTagsFilter(HostFilter):
    """The service offering's host tag (``hosttags``), when it has one."""

    name: ClassVar[str] = "HostTags"

    def reject(self, host: CandidateHost, ctx: AllocationContext) -> str | None:
        tag = ctx.vm.host_tag
        return None if not tag or tag in host.tags else f"lacking host tag '{tag}'"


class HaHostsFilter(HostFilter):
    """Hosts tagged with the ``ha.tag`` setting are kept for HA restarts: only a
    placement with ``for_ha_restart`` may use them."""

    name: ClassVar[str] = "HaHosts"
    settings_keys: ClassVar[tuple[str, ...]] = ("ha.tag",)

    def reject(self, host: CandidateHost, ctx: AllocationContext) -> str | None:
        tag = ctx.setting("ha.tag")
        if not tag or tag not in host.tags or ctx.vm.for_ha_restart:
            return None
        return f"reserved for HA restarts (ha.tag '{tag}')"


class HostCapacityFilter(HostFilter):
    """Enough free memory and CPU for the VM, after over-provisioning
    (``cpu.overprovisioning.factor``, ``mem.overprovisioning.factor``: the core scales
    :attr:`~cumulo.sdk.VmRequirements.cpu_mhz` and ``memory_bytes`` by them)."""

    name: ClassVar[str] = "HostCapacity"

    def reject(self, host: CandidateHost, ctx: AllocationContext) -> str | None:
        vm = ctx.vm
        if host.free_memory_bytes < vm.memory_bytes:
            return f"without {-(-vm.memory_bytes // MB)} MB free memory"
        if host.free_cpu_mhz < vm.cpu_mhz:
            return f"without {vm.cpu_mhz} MHz free CPU"
        return None
