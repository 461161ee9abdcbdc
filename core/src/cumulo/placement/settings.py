"""The global settings placement reads, declared here (the placement hook module
contributes them), and how they are read in the caller's transaction.

The over-provisioning factors are read by the core, not only by the capacity filter,
because the candidate query and the conditional claim compare the same scaled amounts:
a VM of ``cpu * speed`` MHz is charged ``ceil(cpu * speed / cpu.overprovisioning.factor)``
MHz of the host's ``free_cpu`` (and likewise for memory). Charging the scaled amount
keeps the materialised ``free_cpu`` column in the hypervisor's units and the claim a
plain ``free_cpu >= :need``, whatever the factor; the VM records what it was charged so
that a later change of the factor gives back exactly that.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cumulo.config.models import Configuration
from cumulo.sdk import ConfigKey, ValueType

HOST_ALLOCATORS_ORDER = "host.allocators.order"
POOL_ALLOCATORS_ORDER = "storage.pool.allocators.order"
DEPLOYMENT_PLANNER = "vm.deployment.planner"
CPU_OVERPROVISIONING = "cpu.overprovisioning.factor"
MEM_OVERPROVISIONING = "mem.overprovisioning.factor"
STORAGE_OVERPROVISIONING = "storage.overprovisioning.factor"
HA_TAG = "ha.tag"
USE_LOCAL_STORAGE = "use.local.storage"
SYSTEM_VM_LOCAL_STORAGE = "system.vm.local.storage.required"

DEFAULT_HOST_ALLOCATORS = (
    "AvoidList,HostState,Dedicated,Hypervisor,HostTags,HaHosts,HostCapacity,HaPreferred,FirstFit"
)
DEFAULT_POOL_ALLOCATORS = "FirstFitStorage,LocalStorage"

# fmt: off
PLACEMENT_KEYS: tuple[ConfigKey, ...] = (
    ConfigKey(
        HOST_ALLOCATORS_ORDER, ValueType.LIST, DEFAULT_HOST_ALLOCATORS,
        "Host filters and weighers (cumulo.allocators entry points), in the order they "
        "apply: filters eliminate hosts in this order, weighers rank the rest (the first "
        "decides, the next breaks its ties).",
    ),
    ConfigKey(
        POOL_ALLOCATORS_ORDER, ValueType.LIST, DEFAULT_POOL_ALLOCATORS,
        "Storage pool allocators (cumulo.allocators entry points) asked in this order; "
        "the first that handles a disk and keeps a pool places it.",
    ),
    ConfigKey(
        DEPLOYMENT_PLANNER, ValueType.STRING, "FirstFit",
        "Deployment planner (cumulo.planners entry point) used when the service offering "
        "names none: FirstFit, UserDispersing or UserConcentratedPod.",
    ),
    ConfigKey(
        CPU_OVERPROVISIONING, ValueType.FLOAT, "1",
        "Used for CPU over-provisioning: a host offers its CPU capacity times this factor.",
        minimum=0.1,
    ),
    ConfigKey(
        MEM_OVERPROVISIONING, ValueType.FLOAT, "1",
        "Used for memory over-provisioning: a host offers its memory times this factor.",
        minimum=0.1,
    ),
    ConfigKey(
        STORAGE_OVERPROVISIONING, ValueType.FLOAT, "2",
        "Used for storage over-provisioning: NFS and VMFS pools offer their capacity "
        "times this factor.",
        "Storage", minimum=0.1,
    ),
)
# fmt: on

_DECLARED: dict[str, ConfigKey] = {key.name: key for key in PLACEMENT_KEYS}
CORE_SETTING_NAMES: tuple[str, ...] = (
    *_DECLARED,
    HA_TAG,
    USE_LOCAL_STORAGE,
    SYSTEM_VM_LOCAL_STORAGE,
)
# Defaults of the core keys placement reads but core_keys.py declares.
_OTHER_DEFAULTS: dict[str, str | None] = {
    HA_TAG: None,
    USE_LOCAL_STORAGE: "false",
    SYSTEM_VM_LOCAL_STORAGE: "false",
}


def read_settings(
    session: Session, names: Iterable[str], config: Any | None = None
) -> dict[str, str | None]:
    """The effective global values of ``names``, in at most one statement.

    :param config: a :class:`cumulo.config.ConfigStore` (the runtime's, whose cache
        usually answers without a statement); without one, the ``configuration`` table
        is read directly and the placement keys' declared defaults apply. Names no
        plugin declared read as ``None`` either way.
    """
    wanted = list(dict.fromkeys(names))
    if not wanted:
        return {}
    if config is not None:
        registry = config.registry
        known = [name for name in wanted if name in registry]
        values: dict[str, str | None] = dict.fromkeys(wanted)
        values.update(config.values(known))
        return values
    stored: dict[str, str | None] = {
        name: value
        for name, value in session.execute(
            select(Configuration.name, Configuration.value).where(Configuration.name.in_(wanted))
        )
    }
    result: dict[str, str | None] = {}
    for name in wanted:
        if name in stored:
            result[name] = stored[name]
        elif name in _DECLARED:
            result[name] = _DECLARED[name].default
        else:
            result[name] = _OTHER_DEFAULTS.get(name)
    return result


def names_list(value: str | None, default: str) -> list[str]:
    """A comma-separated list setting as names (the default when unset or empty)."""
    text = value if value and value.strip() else default
    return [item.strip() for item in text.split(",") if item.strip()]


def factor(settings: Mapping[str, str | None], name: str, default: float = 1.0) -> float:
    """A positive over-provisioning factor (``default`` when unset or invalid)."""
    try:
        value = float(settings.get(name) or default)
    except ValueError:
        return default
    return value if value > 0 else default


def scaled(amount: int, by: float) -> int:
    """``amount / by`` rounded up: what a host is charged for ``amount``."""
    return math.ceil(amount / by) if by != 1 else amount
