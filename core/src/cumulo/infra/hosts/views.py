"""Response fields of clusters, hosts, capacities and hypervisor capabilities, in the
order of 4.1's response classes (api-reference.md §h). Ids are public UUIDs; values
``None`` are left out of the answer, as gson leaves out nulls. Nothing here ever
shows a password.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cumulo.infra.hosts.models import Cluster, HypervisorCapabilities
from cumulo.infra.models import Pod, Zone
from cumulo.sdk.api import Fields

CLUSTER_FIELDS: tuple[str, ...] = (
    "id", "name", "podid", "podname", "zoneid", "zonename", "hypervisortype",
    "clustertype", "allocationstate", "managedstate", "capacity",
)  # fmt: skip

HOST_FIELDS: tuple[str, ...] = (
    "id", "name", "state", "disconnected", "type", "oscategoryid", "oscategoryname",
    "ipaddress", "zoneid", "zonename", "podid", "podname", "version", "hypervisor",
    "cpunumber", "cpuspeed", "cpuallocated", "cpuused", "cpuwithoverprovisioning",
    "averageload", "networkkbsread", "networkkbswrite", "memorytotal", "memoryallocated",
    "memoryused", "disksizetotal", "disksizeallocated", "capabilities", "lastpinged",
    "managementserverid", "clusterid", "clustername", "clustertype",
    "islocalstorageactive", "created", "removed", "events", "hosttags",
    "hasenoughcapacity", "suitableformigration", "resourcestate", "hypervisorversion",
    "hahost",
)  # fmt: skip

CAPACITY_FIELDS: tuple[str, ...] = (
    "type", "zoneid", "zonename", "podid", "podname", "clusterid", "clustername",
    "capacityused", "capacitytotal", "percentused",
)  # fmt: skip

CAPABILITY_FIELDS: tuple[str, ...] = (
    "id", "hypervisorversion", "hypervisor", "maxguestslimit", "securitygroupenabled",
)  # fmt: skip


def cluster_fields(cluster: Cluster, pod: Pod, zone: Zone) -> Fields:
    """A ``ClusterResponse``."""
    return {
        "id": cluster.uuid,
        "name": cluster.name,
        "podid": pod.uuid,
        "podname": pod.name,
        "zoneid": zone.uuid,
        "zonename": zone.name,
        "hypervisortype": cluster.hypervisor_type,
        "clustertype": cluster.cluster_type,
        "allocationstate": cluster.allocation_state,
        "managedstate": cluster.managed_state,
    }


def percent(used: float, total: float) -> str:
    """4.1's percentage text: two decimals, ``0`` of ``0`` is ``0.00``."""
    return f"{(used / total * 100) if total else 0.0:.2f}"


def host_fields(row: Mapping[str, Any], migration_needs: tuple[int, int] | None = None) -> Fields:
    """A ``HostResponse`` from one row of :func:`cumulo.infra.hosts.host_listing.host_rows`
    (host columns plus ``zone_uuid``, ``zone_name``, ``pod_uuid``, ``pod_name``,
    ``cluster_uuid``, ``cluster_name``, ``cluster_type``, ``host_tags``, ``ha_host``).

    :param migration_needs: for ``listHosts virtualmachineid``: the VM's reserved CPU
        (MHz) and memory (bytes); ``suitableformigration`` says whether this host is Up,
        enabled and has that much free.
    """
    cpu_total = (row["cpus"] or 0) * (row["speed"] or 0)
    memory_total = row["total_memory"]
    cpu_free = row["free_cpu"] or 0
    fields: Fields = {
        "id": row["uuid"],
        "name": row["name"],
        "state": row["status"],
        "disconnected": row["disconnected"],
        "type": row["type"],
        "oscategoryid": row.get("os_category_uuid"),
        "oscategoryname": row.get("os_category_name"),
        "ipaddress": row["private_ip_address"],
        "zoneid": row["zone_uuid"],
        "zonename": row["zone_name"],
        "podid": row["pod_uuid"],
        "podname": row["pod_name"],
        "version": row["version"],
        "hypervisor": row["hypervisor_type"],
        "cpunumber": row["cpus"],
        "cpuspeed": row["speed"],
        "cpuallocated": f"{percent(cpu_total - cpu_free, cpu_total)}%" if cpu_total else None,
        "cpuwithoverprovisioning": str(cpu_total) if cpu_total else None,
        "memorytotal": memory_total,
        "memoryallocated": (memory_total - (row["free_memory"] or 0)) if memory_total else None,
        "capabilities": row["capabilities"],
        "lastpinged": row["last_ping"],
        "managementserverid": row["mgmt_server_id"],
        "clusterid": row["cluster_uuid"],
        "clustername": row["cluster_name"],
        "clustertype": row["cluster_type"],
        "islocalstorageactive": False,
        "created": row["created"],
        "removed": row["removed"],
        "hosttags": row["host_tags"] or None,
        "resourcestate": row["resource_state"],
        "hypervisorversion": row["hypervisor_version"],
        "hahost": bool(row["ha_host"]),
    }
    if migration_needs is not None:
        fields["suitableformigration"] = _can_take(row, *migration_needs)
    return fields


def _can_take(row: Mapping[str, Any], cpu_mhz: int, memory: int) -> bool:
    return (
        row["status"] == "Up"
        and row["resource_state"] == "Enabled"
        and (row["free_cpu"] or 0) >= cpu_mhz
        and (row["free_memory"] or 0) >= memory
    )


def capacity_fields(row: Mapping[str, Any]) -> Fields:
    """A ``CapacityResponse`` from one row of :func:`cumulo.infra.hosts.capacity
    .list_capacity`."""
    used, total = int(row["used"] or 0), int(row["total"] or 0)
    return {
        "type": int(row["type"]),
        "zoneid": row.get("zone_uuid"),
        "zonename": row.get("zone_name"),
        "podid": row.get("pod_uuid"),
        "podname": row.get("pod_name"),
        "clusterid": row.get("cluster_uuid"),
        "clustername": row.get("cluster_name"),
        "capacityused": used,
        "capacitytotal": total,
        "percentused": percent(used, total),
    }


def capability_fields(capability: HypervisorCapabilities) -> Fields:
    """A ``HypervisorCapabilitiesResponse``."""
    return {
        "id": capability.uuid,
        "hypervisorversion": capability.hypervisor_version,
        "hypervisor": capability.hypervisor_type,
        "maxguestslimit": capability.max_guests_limit,
        "securitygroupenabled": capability.security_group_enabled,
    }
