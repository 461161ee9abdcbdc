"""The cluster, host, capacity and hypervisor API commands, contributed as a built-in
plugin (``cumulo.plugins.BUILTIN_PLUGINS``) exactly as a third-party plugin would."""

from __future__ import annotations

from cumulo import hookimpl
from cumulo.infra.hosts.commands import capacity_commands, cluster_commands, host_commands
from cumulo.sdk.api import Command

COMMANDS: tuple[Command, ...] = (
    *cluster_commands.COMMANDS,
    *host_commands.COMMANDS,
    *capacity_commands.COMMANDS,
)
"""Every 4.1 command of the cluster, host, capacity and hypervisor sections."""


@hookimpl
def cumulo_api_commands() -> list[Command]:
    """The cluster, host, capacity and hypervisor commands (see :data:`COMMANDS`)."""
    return list(COMMANDS)
