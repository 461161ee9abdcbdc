"""The VM lifecycle's API commands, global settings and resource counters,
contributed as a built-in plugin (``cumulo.compute.commands`` in ``BUILTIN_PLUGINS``).

Importing this module registers the ``user_vm`` counter with
:mod:`cumulo.limits.counters` (``updateResourceCount`` recounts through it); the
``volume`` counter is the volumes area's (:mod:`cumulo.volumes.commands`), which counts
the same way (:func:`cumulo.compute.counters.count_volumes`).
"""

from __future__ import annotations

from cumulo import hookimpl
from cumulo.compute import settings, vm_commands
from cumulo.compute.counters import count_vms
from cumulo.limits import counters
from cumulo.limits.types import ResourceType
from cumulo.sdk import ConfigKey
from cumulo.sdk.api import Command

COMMANDS: tuple[Command, ...] = vm_commands.COMMANDS
"""Every 4.1 VM and instance-group command cumulo implements."""

counters.register(ResourceType.USER_VM, count_vms)


@hookimpl
def cumulo_api_commands() -> list[Command]:
    """The VM and instance-group commands (see :data:`COMMANDS`)."""
    return list(COMMANDS)


@hookimpl
def cumulo_configuration_keys() -> list[ConfigKey]:
    """``expunge.delay``, ``expunge.interval``, ``instance.name`` (:mod:`.settings`)."""
    return list(settings.KEYS)
