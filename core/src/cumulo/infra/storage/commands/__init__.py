"""The primary storage, secondary storage and Swift API commands, contributed as a
built-in plugin (``cumulo.infra.storage.commands`` in ``BUILTIN_PLUGINS``)."""

from __future__ import annotations

from cumulo import hookimpl
from cumulo.infra.storage.commands import pool_commands, secondary_commands
from cumulo.sdk.api import Command

COMMANDS: tuple[Command, ...] = (*pool_commands.COMMANDS, *secondary_commands.COMMANDS)
"""Every 4.1 storage command cumulo implements."""


@hookimpl
def cumulo_api_commands() -> list[Command]:
    """The storage commands (see :data:`COMMANDS`)."""
    return list(COMMANDS)
