"""The ``cumulo`` command.

Built-in sub-commands live beside the concept they operate on and are listed in
``BUILTIN_COMMANDS``; plugins add theirs through the ``cumulo_register_commands`` hook.
Errors an operator can fix are raised as ``click.ClickException``: one line, exit 1.
"""

from __future__ import annotations

import importlib
import sys

import click
import pluggy

from cumulo import __version__

# "module:attribute" of every built-in click command, imported when the CLI starts.
BUILTIN_COMMANDS = (
    "cumulo.plugins_cli:plugins",
    "cumulo.db.cli:db",
    "cumulo.crypto_cli:encrypt",
    "cumulo.crypto_cli:decrypt",
    "cumulo.crypto_cli:send_secret_key",
    "cumulo.setup.cli:setup_databases",
    "cumulo.setup.admin_cli:admin",
    "cumulo.embedded:embedded",
    "cumulo.demo:demo",
)


@click.group()
@click.version_option(__version__, prog_name="cumulo")
def cli() -> None:
    """cumulo: a CloudStack-compatible IaaS management server."""


def _load_builtin_commands(group: click.Group) -> None:
    for target in BUILTIN_COMMANDS:
        module_name, _, attribute = target.partition(":")
        command = getattr(importlib.import_module(module_name), attribute)
        group.add_command(command)


def build_cli(pm: pluggy.PluginManager) -> click.Group:
    """The command group with built-in and plugin commands attached."""
    from cumulo.plugins import register_plugin_commands

    _load_builtin_commands(cli)
    register_plugin_commands(pm, cli)
    return cli


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``cumulo`` console script."""
    from cumulo.plugins import get_plugin_manager

    # One plugin manager per process: commands find it as the context object instead
    # of loading every plugin a second time.
    pm = get_plugin_manager()
    build_cli(pm).main(args=argv if argv is not None else sys.argv[1:], prog_name="cumulo", obj=pm)
