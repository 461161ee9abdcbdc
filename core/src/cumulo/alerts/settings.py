"""The settings of the capacity alerts, with CloudStack 4.1's names, defaults and
category (``Config.java``, category ``Alert``); declared through
``cumulo_configuration_keys`` in :mod:`cumulo.alerts.commands`.

Each threshold is a fraction (0 to 1) of a capacity type's total above which the
capacity checker (:mod:`cumulo.alerts.capacity_check`) raises an alert, at the level
4.1 checks the type: a cluster's memory, CPU and primary storage (used and allocated)
and host-local storage; a pod's private IPs; a zone's public IPs, secondary storage,
guest VLANs and direct-network IPs. The cluster thresholds may also be set for one
cluster (scope ``cluster``), as CloudStack allows since 4.2.

REQUIREMENTS names no threshold key. The ``pool.storage.*.notificationthreshold`` names
do not exist in 4.1: its primary storage alert thresholds are the ``cluster.storage.*``
ones below, and its ``pool.storage.*.disablethreshold`` settings stop allocation to a
pool (placement's concern, not an alert). The 2.x global names
(``storage.capacity.threshold``, ``cpu.capacity.threshold``, ...) were replaced in 3.0
by these.
"""

from __future__ import annotations

from dataclasses import dataclass

from cumulo.alerts.models import AlertType
from cumulo.infra.hosts.capacity import CapacityType
from cumulo.sdk import ConfigKey, Scope, ValueType

ALERT = "Alert"
PERIOD_KEY = "capacity.check.period"
DEFAULT_PERIOD_MS = 300_000
DEFAULT_THRESHOLD = "0.75"


@dataclass(frozen=True)
class Threshold:
    """How one capacity type is watched.

    :param key: the setting holding the threshold.
    :param alert_type: the :class:`AlertType` raised (4.1's ``ALERT_TYPE_*``).
    :param what: the resource, as the alert's text names it.
    :param unit: ``bytes``, ``MHz`` or ``count`` (how amounts are shown).
    :param description: the setting's description after "Percentage ... of" (4.1's).
    :param per_cluster: the setting may be overridden for one cluster.
    """

    key: str
    alert_type: AlertType
    what: str
    unit: str
    description: str
    per_cluster: bool = False


_OF = "Percentage (as a value between 0 and 1) of "
THRESHOLDS: dict[int, Threshold] = {
    CapacityType.MEMORY: Threshold(
        "cluster.memory.allocated.capacity.notificationthreshold",
        AlertType.MEMORY, "Low Available Memory", "bytes",
        "memory utilization above which alerts will be sent about low memory available.",
        per_cluster=True,
    ),
    CapacityType.CPU: Threshold(
        "cluster.cpu.allocated.capacity.notificationthreshold",
        AlertType.CPU, "Low Unallocated CPU", "MHz",
        "cpu utilization above which alerts will be sent about low cpu available.",
        per_cluster=True,
    ),
    CapacityType.STORAGE: Threshold(
        "cluster.storage.capacity.notificationthreshold",
        AlertType.STORAGE, "Low Available Storage", "bytes",
        "storage utilization above which alerts will be sent about low storage available.",
        per_cluster=True,
    ),
    CapacityType.STORAGE_ALLOCATED: Threshold(
        "cluster.storage.allocated.capacity.notificationthreshold",
        AlertType.STORAGE_ALLOCATED, "Remaining unallocated Storage is low", "bytes",
        "allocated storage utilization above which alerts will be sent about low storage"
        " available.",
        per_cluster=True,
    ),
    CapacityType.LOCAL_STORAGE: Threshold(
        "cluster.localStorage.capacity.notificationthreshold",
        AlertType.LOCAL_STORAGE, "Remaining unallocated Local Storage is low", "bytes",
        "local storage utilization above which alerts will be sent about low local storage"
        " available.",
        per_cluster=True,
    ),
    CapacityType.PRIVATE_IP: Threshold(
        "pod.privateip.capacity.notificationthreshold",
        AlertType.PRIVATE_IP, "Number of unallocated private IPs is low", "count",
        "private IP address space utilization above which alerts will be sent.",
    ),
    CapacityType.VIRTUAL_NETWORK_PUBLIC_IP: Threshold(
        "zone.virtualnetwork.publicip.capacity.notificationthreshold",
        AlertType.VIRTUAL_NETWORK_PUBLIC_IP,
        "Number of unallocated virtual network public IPs is low", "count",
        "public IP address space utilization above which alerts will be sent.",
    ),
    CapacityType.SECONDARY_STORAGE: Threshold(
        "zone.secstorage.capacity.notificationthreshold",
        AlertType.SECONDARY_STORAGE, "Low Available Secondary Storage", "bytes",
        "secondary storage utilization above which alerts will be sent about low storage"
        " available.",
    ),
    CapacityType.VLAN: Threshold(
        "zone.vlan.capacity.notificationthreshold",
        AlertType.VLAN, "Number of unallocated VLANs is low", "count",
        "Zone Vlan utilization above which alerts will be sent about low number of Zone"
        " Vlans.",
    ),
    CapacityType.DIRECT_ATTACHED_PUBLIC_IP: Threshold(
        "zone.directnetwork.publicip.capacity.notificationthreshold",
        AlertType.DIRECT_ATTACHED_PUBLIC_IP, "Number of unallocated shared network IPs is low",
        "count",
        "Direct Network Public Ip Utilization above which alerts will be sent about low"
        " number of direct network public ips.",
    ),
}  # fmt: skip
"""Capacity type (4.1's ``Capacity.CAPACITY_TYPE_*``) → how it is watched."""


def _threshold_key(threshold: Threshold) -> ConfigKey:
    return ConfigKey(
        threshold.key,
        ValueType.FLOAT,
        DEFAULT_THRESHOLD,
        _OF + threshold.description,
        ALERT,
        scopes=frozenset({Scope.CLUSTER}) if threshold.per_cluster else frozenset(),
        minimum=0.0,
        maximum=1.0,
    )


ALERT_KEYS: tuple[ConfigKey, ...] = (
    ConfigKey(
        PERIOD_KEY,
        ValueType.INTEGER,
        str(DEFAULT_PERIOD_MS),
        "The interval in milliseconds between capacity checks",
        ALERT,
        minimum=1000,
    ),
    *(_threshold_key(threshold) for threshold in THRESHOLDS.values()),
)
