"""Global settings network offerings read, declared with CloudStack 4.1's names and
defaults (``cumulo_configuration_keys`` in :mod:`cumulo.network.offerings.commands`)."""

from __future__ import annotations

from typing import Any

from cumulo.sdk import ConfigKey, ValueType

NETWORK_THROTTLING_RATE = "network.throttling.rate"
DEFAULT_NETWORK_RATE = 200
"""4.1's ``network.throttling.rate`` default, in Mbps."""

KEYS: tuple[ConfigKey, ...] = (
    ConfigKey(
        NETWORK_THROTTLING_RATE,
        ValueType.INTEGER,
        str(DEFAULT_NETWORK_RATE),
        "Default data transfer rate in megabits per second allowed in network.",
        "Network",
        minimum=0,
    ),
)
"""The keys this package contributes."""


def network_rate(store: Any | None) -> int:
    """``network.throttling.rate`` as ``store`` (a :class:`cumulo.config.ConfigStore`,
    or ``None`` outside the API) reads it."""
    value = store.integer(NETWORK_THROTTLING_RATE) if store is not None else None
    return int(value) if value is not None else DEFAULT_NETWORK_RATE
