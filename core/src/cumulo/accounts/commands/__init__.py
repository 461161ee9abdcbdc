"""The domain, account and user API commands, contributed as a built-in plugin.

Registered in ``cumulo.plugins.BUILTIN_PLUGINS`` and contributed through the
``cumulo_api_commands`` hook exactly as a third-party plugin's commands would be.
"""

from __future__ import annotations

from cumulo import hookimpl
from cumulo.accounts.commands import account_commands, domain_commands, user_commands
from cumulo.sdk.api import Command

COMMANDS: tuple[Command, ...] = (
    *domain_commands.COMMANDS,
    *account_commands.COMMANDS,
    *user_commands.COMMANDS,
)
"""Every 4.1 command of the domain, account and user sections."""


@hookimpl
def cumulo_api_commands() -> list[Command]:
    """The domain, account and user commands (see :data:`COMMANDS`)."""
    return list(COMMANDS)
