"""The example allocator's hook module: it declares its one setting."""

from __future__ import annotations

from cumulo import hookimpl
from cumulo.sdk import ConfigKey, ValueType
from cumulo_example_allocator import SETTING


@hookimpl
def cumulo_configuration_keys() -> list[ConfigKey]:
    """``example.preferred.hosts``."""
    return [
        ConfigKey(
            SETTING,
            ValueType.STRING,
            None,
            "Comma-separated shell patterns of host names the PreferNamedHosts weigher "
            "prefers (e.g. rack2-*); unset: no preference.",
        )
    ]
