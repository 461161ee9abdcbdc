"""Every pluggy hook cumulo calls. This module is the reference for plugin authors.

A plugin is a module listed under the entry-point group ``cumulo.plugins``; it defines
functions named like the specs below, decorated with ``@cumulo.hookimpl``. A plugin may
accept fewer arguments than a spec names. Every hook is listed, with its signature, in
``core/docs/plugin_hooks.md``; a test fails when the two disagree.

Drivers chosen by name (hypervisors, network providers, storage, planners, allocators,
authenticators) are *not* hooks: they are loaded through stevedore (``cumulo.drivers``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    import click

    from cumulo.sdk import Command, ConfigKey, Event, MigrationLocation

hookspec = pluggy.HookspecMarker("cumulo")


# ---- start-up: what a plugin contributes ---------------------------------------------


@hookspec
def cumulo_configuration_keys() -> list[ConfigKey]:
    """Contribute global configuration keys to the registry.

    Called once per process, when the configuration registry is built (before the
    database is read), outside any transaction. Not ``firstresult``: every plugin's list
    is merged.

    :return: the plugin's :class:`cumulo.sdk.ConfigKey` declarations. A name must be
        unique across the core and every plugin; a duplicate makes the registry refuse
        to build, naming both contributors.
    """


@hookspec
def cumulo_migrations() -> list[MigrationLocation]:
    """Contribute Alembic version locations: the plugin's own tables on its own branch.

    Called whenever cumulo builds its Alembic configuration (``cumulo db upgrade``,
    ``cumulo db check``, ``cumulo setup-databases``, start-up checks), outside any
    transaction. Not ``firstresult``: every plugin's locations are used.

    :return: :class:`cumulo.sdk.MigrationLocation` values. Each names a branch label
        that no other plugin uses; its first revision depends on the core's branch
        (``depends_on = "cumulo"``). The ``models`` module, if given, is imported before
        models and database are compared, so drift in plugin tables is caught too.
    """


@hookspec
def cumulo_register_commands(cli: click.Group) -> None:
    """Add sub-commands to the ``cumulo`` command line.

    Called once when the ``cumulo`` command starts, before arguments are parsed, outside
    any transaction. Not ``firstresult``.

    :param cli: the top-level ``click`` group; call ``cli.add_command(...)`` or decorate
        with ``@cli.command()``. A name that already exists is an error reported for the
        plugin; the existing command is kept.
    """


# ---- at run time: what a plugin observes ---------------------------------------------


@hookspec
def cumulo_event(event: Event) -> None:
    """Observe an event (VM state change, usage event, alert, audit event).

    Called after the transaction that recorded the event has committed, so observers
    never see events that were rolled back; called in the process that emitted it. Not
    ``firstresult``. Must not block for long (an event-bus plugin hands the event to a
    queue); an exception is logged with the plugin's name and does not reach the caller
    or other observers.

    :param event: the :class:`cumulo.sdk.Event`; it never carries a secret.
    """


@hookspec
def cumulo_api_commands() -> list[Command]:
    """Contribute API command declarations (:class:`cumulo.sdk.Command`).

    Called once per process when the API's command registry is built (the API server,
    the job worker, ``listApis``), outside any transaction. Not ``firstresult``: every
    plugin's declarations are merged. The core's own commands arrive through this hook
    too, from its built-in plugin modules.

    :return: declarations whose ``name`` no other plugin declares; a duplicate makes the
        registry refuse to build, naming both contributors. A command appears in
        ``listApis`` exactly when it is declared here.
    """
