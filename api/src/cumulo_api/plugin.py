"""The API distribution's hook module (entry point ``cumulo.plugins`` → ``api``).

Contributes the framework's own commands (``listApis``, ``listCapabilities``) and the
``cumulo`` sub-commands that live in this distribution: ``cumulo serve``
(``cumulo_api.serve:serve``) and ``cumulo api`` (``cumulo_api.client.cli:api``). Those
are imported only when the ``cumulo`` command starts, and one that cannot be imported
is skipped, so the API itself never depends on them.
"""

from __future__ import annotations

import importlib
import logging

import click

from cumulo import hookimpl
from cumulo.sdk.api import Command
from cumulo_api.discovery import COMMANDS

log = logging.getLogger(__name__)

CLI_COMMANDS = ("cumulo_api.serve:serve", "cumulo_api.client.cli:api")


@hookimpl
def cumulo_api_commands() -> list[Command]:
    """``listApis`` and ``listCapabilities``."""
    return list(COMMANDS)


@hookimpl
def cumulo_register_commands(cli: click.Group) -> None:
    """Add ``cumulo serve`` and ``cumulo api`` where their modules are present."""
    for target in CLI_COMMANDS:
        module_name, attribute = target.split(":")
        try:
            command = getattr(importlib.import_module(module_name), attribute)
        except (ImportError, AttributeError) as error:
            log.debug("cumulo CLI command %s not available: %s", target, error)
            continue
        cli.add_command(command)
