"""What the set-up commands tell the operator: the report and the warnings.

Shared by ``cumulo setup-databases`` and ``cumulo embedded`` so both say the same
thing the same way. Nothing here ever prints a key or a password other than the
well-known default ``password`` it warns about.
"""

from __future__ import annotations

from cumulo.setup.flows import Keys, Outcome
from cumulo.setup.passwords import DEFAULT_ADMIN_PASSWORD

DEFAULT_KEY = "password"
"""CloudStack's default for both ``-m`` and ``-k`` (REQ-ENC-03: warn when kept)."""

SET_PASSWORD_COMMAND = "cumulo admin set-password admin"
"""The command that changes the seeded admin password."""

_BAR = "!" * 78


def default_key_warnings(keys: Keys) -> list[str]:
    """One warning per key left at the default ``password`` (REQ-ENC-03)."""
    warnings = []
    if keys.management_key == DEFAULT_KEY:
        warnings.append(
            "WARNING: the management server key (-m) is the default 'password'; anyone"
            " who reads db.properties can decrypt it. Choose your own key with -m."
        )
    if keys.database_key == DEFAULT_KEY:
        warnings.append(
            "WARNING: the database key (-k) is the default 'password'; anyone with a copy"
            " of the database can decrypt its secrets. Choose your own key with -k."
        )
    return warnings


def admin_password_warning() -> str:
    """The loud banner shown after seeding: the admin password is the default."""
    return "\n".join(
        [
            _BAR,
            f"!! The 'admin' user's password is the default '{DEFAULT_ADMIN_PASSWORD}'.",
            "!! Anyone who can reach the API can log in as the cloud administrator.",
            f"!! Change it now:   {SET_PASSWORD_COMMAND}",
            _BAR,
        ]
    )


def outcome_lines(outcome: Outcome, keys: Keys) -> list[str]:
    """Where things are, one per line (paths and database names only)."""
    lines = [
        f"  cloud database:  {outcome.cloud}",
        f"  usage database:  {outcome.usage}",
        f"  configuration:   {outcome.properties_path}",
    ]
    if outcome.key_file is not None:
        lines.append(f"  management key:  {outcome.key_file} (encryption type 'file')")
    else:
        lines.append(
            f"  management key:  not stored (encryption type {keys.encryption_type!r}):"
            " send it at every start with 'cumulo send-secret-key'"
        )
    return lines
