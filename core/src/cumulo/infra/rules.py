"""Small validations shared by the topology services, each a 431 naming its parameter."""

from __future__ import annotations

from cumulo.infra.models import AllocationState
from cumulo.sdk.errors import InvalidParameterValue


def choice(value: str, allowed: tuple[str, ...], param: str) -> str:
    """``value`` spelled as in ``allowed`` (matched case-insensitively), else 431."""
    for option in allowed:
        if option.lower() == value.strip().lower():
            return option
    raise InvalidParameterValue(
        f"Invalid value {value!r} for parameter {param}; valid values are {', '.join(allowed)}"
    )


def allocation_state(value: str | None, default: str | None = None) -> str | None:
    """The ``allocationstate`` parameter (``Enabled``/``Disabled``), or ``default``."""
    if value is None or value == "":
        return default
    return choice(value, tuple(s.value for s in AllocationState), "allocationstate")
