"""The one exception the set-up steps raise for problems an operator can fix."""

from __future__ import annotations


class SetupError(Exception):
    """A set-up step cannot go on; the message is one line, names what to fix, and
    never contains a password or key. The command line turns it into exit status 1."""
