"""The allocators' hook module: the settings only these plugins read.

The settings the core reads too (``host.allocators.order``, the over-provisioning
factors, ``ha.tag``, ``use.local.storage`` ...) are declared by the core.
"""

from __future__ import annotations

from cumulo import hookimpl
from cumulo.sdk import ConfigKey, ValueType

USER_DISPERSION_WEIGHT = "vm.user.dispersion.weight"

KEYS = (
    ConfigKey(
        USER_DISPERSION_WEIGHT,
        ValueType.FLOAT,
        "1",
        "Weight for user dispersion heuristic (as a value between 0 and 1) applied to "
        "resource allocation during vm deployment. Weight for capacity heuristic will be "
        "(1 - weight of user dispersion)",
        minimum=0,
        maximum=1,
    ),
)


@hookimpl
def cumulo_configuration_keys() -> list[ConfigKey]:
    """``vm.user.dispersion.weight`` (4.1's key, for the UserDispersing planner)."""
    return list(KEYS)
