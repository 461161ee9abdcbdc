"""The command registry: every declared API command, by its case-sensitive 4.1 name.

Built once per process from the ``cumulo_api_commands`` hook (the core's own commands
arrive through it from built-in plugin modules, third-party plugins' the same way).
Each plugin's hook is called on its own so that every declaration is attributed to the
plugin that made it: a name declared twice makes the registry refuse to build, naming
both plugins, and ``cumulo plugins list``-style diagnostics can say who owns what.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import pluggy

from cumulo.sdk.api import Command, Param

log = logging.getLogger(__name__)


class CommandRegistryError(Exception):
    """The declarations are inconsistent (a duplicate command name, a broken
    declaration); the message names the plugins involved."""


@dataclass(frozen=True)
class Entry:
    """A declaration with what the dispatcher needs precomputed.

    :param command: the declaration.
    :param plugin: the name of the plugin that declared it.
    :param params: its parameters by lower-case name.
    :param is_list: it pages (declares ``pagesize``), so ``page``/``pagesize`` are
        checked by 4.1's ``BaseListCmd`` rules before anything else.
    """

    command: Command
    plugin: str
    params: dict[str, Param]
    is_list: bool


def _check_declaration(command: object) -> Command:
    """``command`` if it is a usable declaration, else ``TypeError``/``ValueError``."""
    if not isinstance(command, Command):
        raise TypeError(f"returned {type(command).__name__}, not cumulo.sdk.Command")
    if not command.name or not command.name.isidentifier():
        raise ValueError(f"command name {command.name!r} is not a CloudStack command name")
    names = [param.name for param in command.params]
    for name in names:
        if name != name.lower():
            # 4.1 lower-cases every received name, so an upper-case declaration
            # could never be matched.
            raise ValueError(f"{command.name}: parameter {name!r} must be lower-case")
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"{command.name}: parameter(s) declared twice: {', '.join(duplicates)}")
    return command


def _declarations(result: object) -> list[Command]:
    if result is None:
        return []
    if not isinstance(result, Iterable) or isinstance(result, str | bytes):
        raise TypeError(f"returned {type(result).__name__}, not a list of Command")
    return [_check_declaration(item) for item in result]


class CommandRegistry:
    """The declared commands. Immutable once built; iteration is in name order."""

    def __init__(self, declarations: Iterable[tuple[str, Command]]) -> None:
        """:param declarations: ``(plugin name, command)`` pairs.
        :raises CommandRegistryError: a name is declared twice (naming both plugins).
        """
        self._entries: dict[str, Entry] = {}
        for plugin, command in declarations:
            existing = self._entries.get(command.name)
            if existing is not None:
                raise CommandRegistryError(
                    f"API command '{command.name}' is declared by both plugin "
                    f"'{existing.plugin}' and plugin '{plugin}'"
                )
            params = {param.name: param for param in command.params}
            self._entries[command.name] = Entry(command, plugin, params, "pagesize" in params)
        self._names = sorted(self._entries)
        self.errors: dict[str, str] = {}
        """Plugins whose declarations :meth:`build` skipped, with the reason."""

    @classmethod
    def build(cls, pm: pluggy.PluginManager) -> CommandRegistry:
        """Merge the declarations of every plugin registered on ``pm``.

        A plugin whose hook raises, returns something other than ``Command`` values or
        a broken declaration is skipped and logged (one broken third-party plugin must
        not stop the API), and the reason is kept in :attr:`errors`.

        :raises CommandRegistryError: two plugins declare the same command name.
        """
        contributed: list[tuple[str, Command]] = []
        errors: dict[str, str] = {}
        for impl in pm.hook.cumulo_api_commands.get_hookimpls():
            name = impl.plugin_name
            try:
                commands = _declarations(impl.function())
            except Exception as error:  # a plugin's bug, reported and skipped
                errors[name] = f"{type(error).__name__}: {error}"
                log.error("API commands of plugin %r skipped: %s", name, errors[name])
                continue
            contributed.extend((name, command) for command in commands)
        registry = cls(contributed)
        registry.errors.update(errors)
        return registry

    def get(self, name: str) -> Command | None:
        """The declaration named exactly ``name`` (4.1 names are case-sensitive)."""
        entry = self._entries.get(name)
        return entry.command if entry is not None else None

    def entry(self, name: str) -> Entry | None:
        """The registry entry of ``name`` (declaration, plugin, parameter index)."""
        return self._entries.get(name)

    def plugin_of(self, name: str) -> str:
        """The plugin that declared ``name``; ``KeyError`` when nobody did."""
        return self._entries[name].plugin

    def __iter__(self) -> Iterator[Command]:
        """The declarations in name order."""
        return (self._entries[name].command for name in self._names)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self._entries

    def __len__(self) -> int:
        return len(self._entries)
