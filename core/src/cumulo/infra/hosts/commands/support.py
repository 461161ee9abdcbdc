"""What the cluster, host and capacity handlers share: configuration values read in
the request's transaction, the database key, paging, and resolving optional ids."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cumulo.accounts.commands.support import paging, secrets_key
from cumulo.infra.hosts.hosts import DEFAULT_HOST_LIMITS
from cumulo.infra.hosts.lookup import find_cluster
from cumulo.infra.hosts.models import Cluster
from cumulo.infra.lookup import find_pod, find_zone
from cumulo.infra.models import Pod, Zone
from cumulo.sdk.api import Call, Param, ParamType

__all__ = ["config_values", "host_limits", "paging", "secrets_key"]

LIMIT_KEYS: Mapping[str, str] = {
    "XenServer": "xenserver.max.hosts.per.cluster",
    "KVM": "kvm.max.hosts.per.cluster",
    "VMware": "vmware.max.hosts.per.cluster",
}
"""The configuration key of each limited hypervisor's hosts per cluster (REQ-CL-02)."""


def config_values(call: Call, names: Sequence[str]) -> dict[str, str | None]:
    """Global values of ``names`` as this transaction sees them (``{}`` of ``None`` when
    the call has no runtime, as in service-level tests)."""
    runtime = call.services.get("runtime")
    if runtime is None:
        return {name: None for name in names}
    values: dict[str, str | None] = runtime.config_store(call.session).values(list(names))
    return values


def host_limits(call: Call) -> dict[str, int]:
    """Most hosts per cluster by hypervisor: configuration, else the seed's numbers."""
    values = config_values(call, list(LIMIT_KEYS.values()))
    return {
        hypervisor: int(values.get(key) or DEFAULT_HOST_LIMITS[hypervisor])
        for hypervisor, key in LIMIT_KEYS.items()
    }


def msid(call: Call) -> int | None:
    """This management server's id, when running under a runtime."""
    runtime = call.services.get("runtime")
    return getattr(runtime, "msid", None)


def zone_param(call: Call, name: str = "zoneid") -> Zone | None:
    """The zone parameter ``name`` names, ``None`` when absent (431 if unknown)."""
    value = call.get(name)
    return None if value is None else find_zone(call.session, value, name)


def pod_param(call: Call, name: str = "podid") -> Pod | None:
    """The pod parameter ``name`` names, ``None`` when absent (431 if unknown)."""
    value = call.get(name)
    return None if value is None else find_pod(call.session, value, name)


def cluster_param(call: Call, name: str = "clusterid") -> Cluster | None:
    """The cluster parameter ``name`` names, ``None`` when absent (431 if unknown)."""
    value = call.get(name)
    return None if value is None else find_cluster(call.session, value, name)


def id_of(row: Any) -> int | None:
    """``row.id`` or ``None``."""
    return None if row is None else int(row.id)


# Parameters several commands declare alike.
PAGING = (
    Param("keyword", description="List by keyword"),
    Param("page", ParamType.INTEGER),
    Param("pagesize", ParamType.INTEGER),
)
"""``BaseListCmd``'s parameters, declared last as 4.1 lists them."""

CAPABILITY_ID = Param(
    "id",
    ParamType.UUID,
    description="ID of the hypervisor capability",
    entity="HypervisorCapabilities",
)

POD_ID = Param(
    "podid",
    ParamType.UUID,
    description="the Pod ID for the host",
    required=True,
    entity="Pod",
)

ALLOCATION_STATE = Param(
    "allocationstate",
    description="Allocation state of this cluster for allocation of new resources",
)

MANAGED_STATE = Param("managedstate", description="whether this cluster is managed by cloudstack")

HOST_TAGS = Param(
    "hosttags",
    ParamType.LIST,
    description="list of tags to be added to the host",
    item_type=ParamType.STRING,
)
