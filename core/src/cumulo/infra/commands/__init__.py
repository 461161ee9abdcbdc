"""The topology API commands (regions, zones, pods, physical networks, traffic types,
network service providers, VLAN IP ranges, storage network IP ranges), contributed as a
built-in plugin through the ``cumulo_api_commands`` hook like any third-party plugin's
commands."""

from __future__ import annotations

from cumulo import hookimpl
from cumulo.infra.commands import (
    network_commands,
    range_commands,
    region_commands,
    storage_network_commands,
    zone_commands,
)
from cumulo.sdk.api import Command

COMMANDS: tuple[Command, ...] = (
    *zone_commands.COMMANDS,
    *network_commands.COMMANDS,
    *range_commands.COMMANDS,
    *region_commands.COMMANDS,
    *storage_network_commands.COMMANDS,
)
"""Every topology command this server implements."""


@hookimpl
def cumulo_api_commands() -> list[Command]:
    """The topology commands (see :data:`COMMANDS`)."""
    return list(COMMANDS)
