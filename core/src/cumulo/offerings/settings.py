"""Global settings the offerings read, declared by this package (``cumulo_configuration_keys``
in :mod:`cumulo.offerings.commands`) with CloudStack 4.1's names and defaults."""

from __future__ import annotations

from cumulo.sdk import ConfigKey, ValueType

SORTKEY_ALGORITHM = "sortkey.algorithm"
MAX_VOLUME_SIZE = "storage.max.volume.size"

DEFAULT_MAX_VOLUME_SIZE_GB = 2000
"""4.1's ``storage.max.volume.size`` default, in GB."""

KEYS: tuple[ConfigKey, ...] = (
    ConfigKey(
        SORTKEY_ALGORITHM,
        ValueType.BOOLEAN,
        "false",
        "Sort algorithm for those who use sort key (template, disk offering, service"
        " offering, network offering): true means ascending sort while false means"
        " descending sort.",
        "Advanced",
    ),
    ConfigKey(
        MAX_VOLUME_SIZE,
        ValueType.INTEGER,
        str(DEFAULT_MAX_VOLUME_SIZE_GB),
        "The maximum size for a volume (in GB).",
        "Storage",
        minimum=1,
    ),
)
"""The keys this package contributes."""
