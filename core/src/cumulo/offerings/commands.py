"""The offering API commands and global settings, contributed as a built-in plugin
(``cumulo.offerings.commands`` in ``BUILTIN_PLUGINS``)."""

from __future__ import annotations

from cumulo import hookimpl
from cumulo.offerings import disk_offering_commands, service_offering_commands, settings
from cumulo.sdk import ConfigKey
from cumulo.sdk.api import Command

COMMANDS: tuple[Command, ...] = (
    *service_offering_commands.COMMANDS,
    *disk_offering_commands.COMMANDS,
)
"""Every 4.1 service and disk offering command."""


@hookimpl
def cumulo_api_commands() -> list[Command]:
    """The offering commands (see :data:`COMMANDS`)."""
    return list(COMMANDS)


@hookimpl
def cumulo_configuration_keys() -> list[ConfigKey]:
    """``sortkey.algorithm`` and ``storage.max.volume.size`` (:mod:`.settings`)."""
    return list(settings.KEYS)
