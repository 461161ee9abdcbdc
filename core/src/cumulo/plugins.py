"""The pluggy plugin manager: built-in plugins, third-party plugins and their failures.

``get_plugin_manager()`` builds a fresh manager every time it is called: nothing is
loaded at import time, so tests, the CLI and the API each get the plugins their
environment asks for. The order is the one pytest documents for its own plugins:

1. hook specs from :mod:`cumulo.hookspecs`;
2. the built-in plugin modules in ``BUILTIN_PLUGINS`` (essential: they cannot be blocked);
3. ``CUMULO_BLOCKED_PLUGINS`` is applied;
4. the entry-point group ``cumulo.plugins``, one entry point at a time, unless
   ``CUMULO_DISABLE_PLUGIN_AUTOLOAD`` is set;
5. ``check_pending()``: a plugin implementing a hook cumulo does not define is
   unregistered.

A third-party plugin that fails at any step is recorded (``plugin_load_errors``, and
``cumulo plugins list`` shows it), logged once, and skipped: one broken distribution in
a deployment must not stop the management server. Hooks that every plugin joins at run
time (``cumulo_event``, ``cumulo_register_commands``) are called plugin by plugin so
that one plugin's exception does not deprive the others of the call.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import click
import pluggy

from cumulo import __version__, hookspecs

if TYPE_CHECKING:
    from cumulo.sdk import Event

logger = logging.getLogger(__name__)

PROJECT_NAME = "cumulo"
ENTRY_POINT_GROUP = "cumulo.plugins"

# Modules of the core that implement hooks exactly as a third-party plugin would. They
# are registered under their module name and cannot be blocked.
BUILTIN_PLUGINS: tuple[str, ...] = (
    "cumulo.config.core_keys",
    "cumulo.jobs.commands",
    "cumulo.events.commands",
    "cumulo.config.commands",
    "cumulo.accounts.commands",
    "cumulo.infra.storage.commands",
    "cumulo.infra.commands",
    "cumulo.infra.hosts.commands",
    "cumulo.offerings.commands",
    "cumulo.templates.commands",
    "cumulo.keypairs.commands",
    "cumulo.limits.commands",
    "cumulo.compute.commands",
    "cumulo.volumes.commands",
    "cumulo.placement.commands",
    "cumulo.alerts.commands",
    "cumulo.ha.commands",
    "cumulo.network.offerings.commands",
    "cumulo.network.networks.commands",
    "cumulo.network.ipam.commands",
    "cumulo.network.rules.commands",
    "cumulo.network.security_groups.commands",
    "cumulo.network.vpn.commands",
    "cumulo.network.routers.commands",
)

ENV_DISABLE_AUTOLOAD = "CUMULO_DISABLE_PLUGIN_AUTOLOAD"
ENV_BLOCKED = "CUMULO_BLOCKED_PLUGINS"
ENV_TRACE = "CUMULO_TRACE_PLUGINS"

# Values an operator may give to switch a flag variable off again ("=0" must not mean on).
_FALSE_WORDS = frozenset({"", "0", "false", "no", "off"})

_CORE_DISTRIBUTION = "cumulo-core"

# Load failures already logged by this process (see _record_failure).
_REPORTED: set[tuple[str, str | None, str | None]] = set()


@dataclass(frozen=True)
class PluginRecord:
    """One hook plugin as ``cumulo plugins list`` shows it.

    :param name: the name it is registered under (entry-point name, or the module name
        of a built-in plugin).
    :param distribution: the distribution that declares it (``None`` when it was
        registered directly, as tests do).
    :param version: that distribution's version.
    :param provides: the names of the hooks it implements.
    :param status: ``loaded``, ``failed`` or ``blocked``.
    :param error: why it failed, on one line (``None`` unless ``failed``).
    """

    name: str
    distribution: str | None
    version: str | None
    provides: tuple[str, ...]
    status: str
    error: str | None = None


class CumuloPluginManager(pluggy.PluginManager):
    """A pluggy manager that remembers where each plugin came from and what failed.

    Use :func:`get_plugin_manager` to build one; the attributes are read through
    :func:`plugin_load_errors` and :func:`list_plugins`.
    """

    def __init__(self) -> None:
        super().__init__(PROJECT_NAME)
        # plugin name -> (distribution, version) for plugins that came from a distribution
        self.origins: dict[str, tuple[str | None, str | None]] = {}
        # plugin name -> the record of a plugin that was skipped (failed or blocked)
        self.skipped: dict[str, PluginRecord] = {}


def get_plugin_manager(*, autoload: bool | None = None) -> CumuloPluginManager:
    """Build a plugin manager with the built-in plugins and, normally, the installed ones.

    :param autoload: load the ``cumulo.plugins`` entry points; ``None`` (the default)
        means "unless ``CUMULO_DISABLE_PLUGIN_AUTOLOAD`` is set".
    :return: a manager whose hooks can be called at once. Plugins that failed to import,
        to register or to validate are not registered; :func:`plugin_load_errors` tells
        why. Never raises because of a third-party plugin; raises if a *built-in*
        plugin is broken, since that is a bug in cumulo itself.
    """
    pm = CumuloPluginManager()
    pm.add_hookspecs(hookspecs)
    if _flag(ENV_TRACE):
        _enable_stderr_tracing(pm)
    for module_name in BUILTIN_PLUGINS:
        pm.register(importlib.import_module(module_name), name=module_name)
        pm.origins[module_name] = (_CORE_DISTRIBUTION, _core_version())
    _apply_block_list(pm)
    if autoload is None:
        autoload = not _flag(ENV_DISABLE_AUTOLOAD)
    if autoload:
        for entry_point in sorted(_entry_points(), key=lambda ep: ep.name):
            _load_entry_point(pm, entry_point)
    _unregister_unknown_hooks(pm)
    return pm


def plugin_manager_for(ctx: click.Context) -> pluggy.PluginManager:
    """The manager the ``cumulo`` command built (its context object), else a new one.

    Commands use this so a process loads its plugins, and warns about broken ones, once.
    """
    found = ctx.find_object(pluggy.PluginManager)
    return found if found is not None else get_plugin_manager()


def plugin_load_errors(pm: pluggy.PluginManager) -> dict[str, str]:
    """The plugins that could not be loaded, by name, with the reason on one line.

    Blocked plugins are not errors and are not included. A manager not built by
    :func:`get_plugin_manager` has no record of failures and gives ``{}``.
    """
    if not isinstance(pm, CumuloPluginManager):
        return {}
    return {
        name: record.error or "" for name, record in pm.skipped.items() if record.status == "failed"
    }


def list_plugins(pm: pluggy.PluginManager) -> list[PluginRecord]:
    """Every plugin the manager knows: registered ones, then failed and blocked ones.

    :return: records sorted by name within each of the two parts; the hooks a
        registered plugin implements are read from the manager, so a plugin registered
        after the factory ran (as tests do) is listed too.
    """
    origins = pm.origins if isinstance(pm, CumuloPluginManager) else {}
    records = []
    for name, plugin in pm.list_name_plugin():
        if plugin is None:  # pluggy keeps blocked names mapped to None
            continue
        distribution, version = origins.get(name, (None, None))
        records.append(PluginRecord(name, distribution, version, _hook_names(pm, plugin), "loaded"))
    records.sort(key=lambda record: record.name)
    if isinstance(pm, CumuloPluginManager):
        records.extend(sorted(pm.skipped.values(), key=lambda record: record.name))
    return records


def register_plugin_commands(pm: pluggy.PluginManager, cli: click.Group) -> None:
    """Let every plugin add its sub-commands to ``cli`` (``cumulo_register_commands``).

    Each plugin is called on its own. A plugin that raises is reported on stderr, naming
    it, and whatever it added is taken back; a plugin that replaces or removes an
    existing command is reported and the existing command is kept. Never raises because
    of a plugin.
    """
    for name, call in _each_plugin(pm, "cumulo_register_commands"):
        before = dict(cli.commands)
        try:
            call(cli=cli)
        except Exception as exc:
            _restore_commands(cli, before, keep_new=False)
            click.echo(
                f"Warning: plugin {name!r} failed to register its commands and they "
                f"were skipped: {describe_error(exc)}",
                err=True,
            )
            continue
        for command in _restore_commands(cli, before, keep_new=True):
            click.echo(
                f"Warning: plugin {name!r} tried to replace the existing command "
                f"{command!r}; the existing command was kept",
                err=True,
            )


def emit_event(pm: pluggy.PluginManager, event: Event) -> None:
    """Deliver ``event`` to every ``cumulo_event`` observer.

    Call it after the transaction that recorded the event has committed. Observers are
    called one by one; an exception is logged with the plugin's name and swallowed, so
    neither the caller nor the other observers are affected.
    """
    for name, call in _each_plugin(pm, "cumulo_event"):
        try:
            call(event=event)
        except Exception:
            logger.exception(
                "event observer of plugin %r failed on event %s (%s); other observers "
                "still received it",
                name,
                event.type,
                event.resource_uuid or "no resource",
            )


# ---- loading --------------------------------------------------------------------------


def _flag(variable: str) -> bool:
    return os.environ.get(variable, "").strip().lower() not in _FALSE_WORDS


def _core_version() -> str:
    try:
        return importlib.metadata.version(_CORE_DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:  # running from a source tree
        return __version__


def _entry_points() -> Sequence[importlib.metadata.EntryPoint]:
    # Read at call time (not cached): a plugin installed while a process runs is seen by
    # the next manager built.
    return list(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP))


def _apply_block_list(pm: CumuloPluginManager) -> None:
    for name in os.environ.get(ENV_BLOCKED, "").split(","):
        name = name.strip()
        if not name:
            continue
        if name in BUILTIN_PLUGINS:
            logger.warning(
                "%s names the built-in plugin %r, which cannot be blocked", ENV_BLOCKED, name
            )
            continue
        pm.set_blocked(name)


def _origin(entry_point: importlib.metadata.EntryPoint) -> tuple[str | None, str | None]:
    dist = entry_point.dist
    if dist is None:
        return None, None
    return dist.name, dist.version


def _load_entry_point(pm: CumuloPluginManager, entry_point: importlib.metadata.EntryPoint) -> None:
    name = entry_point.name
    distribution, version = _origin(entry_point)
    if pm.is_blocked(name):
        pm.skipped[name] = PluginRecord(name, distribution, version, (), "blocked")
        return
    if pm.has_plugin(name):
        # importlib.metadata already removed duplicate copies of one distribution, so
        # this is a second distribution claiming a taken name.
        holder = pm.origins.get(name, (None, None))[0] or "another plugin"
        _record_failure(
            pm,
            name,
            distribution,
            version,
            f"the plugin name {name!r} is already taken by {holder}",
        )
        return
    try:
        plugin = entry_point.load()
        pm.register(plugin, name=name)
    except Exception as exc:
        # ImportError of a missing dependency is the usual cause; pluggy's validation
        # errors (an argument the hook spec does not offer) land here too.
        _record_failure(pm, name, distribution, version, describe_error(exc))
        return
    pm.origins[name] = (distribution, version)


def _unregister_unknown_hooks(pm: CumuloPluginManager) -> None:
    """Unregister plugins implementing hooks with no spec (pluggy's ``check_pending``)."""
    while True:
        try:
            pm.check_pending()
            return
        except pluggy.PluginValidationError as exc:
            plugin = exc.plugin
            name = pm.get_name(plugin) or repr(plugin)
            if name in BUILTIN_PLUGINS:
                raise
            unknown = sorted(
                caller.name for caller in pm.get_hookcallers(plugin) or () if not caller.has_spec()
            )
            distribution, version = pm.origins.pop(name, (None, None))
            pm.unregister(plugin)
            _record_failure(
                pm,
                name,
                distribution,
                version,
                f"implements hook(s) that cumulo-core {_core_version()} does not "
                f"define: {', '.join(unknown)}",
            )


def _record_failure(
    pm: CumuloPluginManager,
    name: str,
    distribution: str | None,
    version: str | None,
    error: str,
) -> None:
    record = PluginRecord(name, distribution, version, (), "failed", error)
    pm.skipped[name] = record
    # One warning per failure and process: the cumulo command may build more than one
    # manager (e.g. for its own commands and for ``plugins list``).
    key = (record.name, record.distribution, record.error)
    if key in _REPORTED:
        return
    _REPORTED.add(key)
    source = f" from {record.distribution} {record.version}" if record.distribution else ""
    logger.warning(
        "plugin %r%s could not be loaded and was skipped: %s",
        record.name,
        source,
        record.error,
    )


def _hook_names(pm: pluggy.PluginManager, plugin: object) -> tuple[str, ...]:
    return tuple(sorted(caller.name for caller in pm.get_hookcallers(plugin) or ()))


def describe_error(exc: BaseException) -> str:
    """``"<ExceptionType>: <message>"`` on one line, as load errors are shown."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


# ---- calling plugin by plugin ---------------------------------------------------------


def _each_plugin(
    pm: pluggy.PluginManager, hook_name: str
) -> Iterator[tuple[str, pluggy.HookCaller]]:
    """Yield ``(plugin name, caller)`` pairs, the caller reaching that plugin only.

    The order is pluggy's own (last registered first, honouring ``tryfirst`` and
    ``trylast``). The callers are pluggy subset callers, so hook-call tracing still
    sees every call.
    """
    caller: pluggy.HookCaller = getattr(pm.hook, hook_name)
    impls = caller.get_hookimpls()
    plugins: list[Any] = []
    for impl in reversed(impls):
        if not any(impl.plugin is seen for seen in plugins):
            plugins.append(impl.plugin)
    for plugin in plugins:
        others = [impl.plugin for impl in impls if impl.plugin is not plugin]
        yield pm.get_name(plugin) or repr(plugin), pm.subset_hook_caller(hook_name, others)


def _restore_commands(
    cli: click.Group, before: Mapping[str, click.Command], *, keep_new: bool
) -> list[str]:
    """Put back every command of ``before`` that was replaced or removed.

    :param keep_new: keep commands added under new names (else drop them too).
    :return: the names that had to be put back.
    """
    restored = [name for name, command in before.items() if cli.commands.get(name) is not command]
    for name in restored:
        cli.commands[name] = before[name]
    if not keep_new:
        for name in [name for name in cli.commands if name not in before]:
            del cli.commands[name]
    return restored


# ---- tracing --------------------------------------------------------------------------


def _enable_stderr_tracing(pm: pluggy.PluginManager) -> None:
    """Write one line per hook call and one per outcome to stderr."""

    def before(
        hook_name: str, impls: Sequence[pluggy.HookImpl], kwargs: Mapping[str, object]
    ) -> None:
        arguments = ", ".join(f"{key}={_short_repr(value)}" for key, value in kwargs.items())
        plugins = ", ".join(impl.plugin_name for impl in reversed(impls)) or "no plugin"
        sys.stderr.write(f"cumulo trace: {hook_name}({arguments}) -> {plugins}\n")

    def after(
        outcome: pluggy.Result[object],
        hook_name: str,
        impls: Sequence[pluggy.HookImpl],
        kwargs: Mapping[str, object],
    ) -> None:
        if outcome.exception is not None:
            sys.stderr.write(
                f"cumulo trace: {hook_name} raised {describe_error(outcome.exception)}\n"
            )
        else:
            sys.stderr.write(
                f"cumulo trace: {hook_name} returned {_short_repr(outcome.get_result())}\n"
            )

    pm.add_hookcall_monitoring(before, after)


def _short_repr(value: object, limit: int = 200) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
