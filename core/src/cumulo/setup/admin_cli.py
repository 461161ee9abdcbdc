"""``cumulo admin set-password``: change a user's password from the management server.

Needed before the API can do it (``updateUser`` comes with the API issue), and after:
it is how an operator who lost the ``admin`` password gets back in. It works on the
database ``db.properties`` names and stores the password with the first encoder of
``user.password.encoders.order`` (PBKDF2 unless an operator changed it; see
:mod:`cumulo.auth.passwords`), and ends the user's open sessions. The new password is
read from a hidden prompt with confirmation, or from the first two lines of stdin when
it is not a terminal; it never appears on the command line.
"""

from __future__ import annotations

import sys

import click
import sqlalchemy as sa
from sqlalchemy import select

from cumulo.accounts.models import Account, Domain, User
from cumulo.auth.passwords import encode_password
from cumulo.auth.sessions import end_user_sessions
from cumulo.db.engine import create_engine, session_factory
from cumulo.drivers import DriverLoadError
from cumulo.plugins import get_plugin_manager
from cumulo.secret_key import SecretKeyError, obtain_management_key
from cumulo.settings import SettingsError, conf_dir, load_db_properties


@click.group()
def admin() -> None:
    """Administer users directly in the database (break-glass)."""


@admin.command("set-password")
@click.argument("username", default="admin")
@click.option(
    "--domain",
    "domain_path",
    default="/",
    show_default=True,
    help="Path of the user's domain: '/' is ROOT, '/Sales/EMEA/' a child.",
)
def set_password(username: str, domain_path: str) -> None:
    """Set the password of USERNAME (default: admin) in the given domain."""
    path = _normalise_domain_path(domain_path)
    password = _new_password()
    try:
        properties = load_db_properties(conf_dir())
        url = properties.cloud_url(_management_key(properties.encryption_type))
    except (SettingsError, SecretKeyError) as exc:
        raise click.ClickException(str(exc)) from None
    engine = create_engine(url)
    try:
        with session_factory(engine)() as session, session.begin():
            user = session.scalar(
                select(User)
                .join(Account, User.account_id == Account.id)
                .join(Domain, Account.domain_id == Domain.id)
                .where(
                    User.username == username,
                    Domain.path == path,
                    User.removed.is_(None),
                    Account.removed.is_(None),
                )
            )
            if user is None:
                raise click.ClickException(f"no user {username!r} in domain {path!r}")
            user.password = encode_password(get_plugin_manager(), password, session)
            # Whoever held a session with the old password must log in again.
            end_user_sessions(session, user.id)
    except DriverLoadError as exc:  # user.password.encoders.order names a missing driver
        raise click.ClickException(str(exc)) from None
    except sa.exc.SQLAlchemyError as exc:
        text = str(getattr(exc, "orig", exc) or exc).splitlines()
        raise click.ClickException(
            f"cannot update the password: {text[0] if text else type(exc).__name__}"
        ) from None
    finally:
        engine.dispose()
    click.echo(f"Password of user {username!r} in domain {path!r} changed.")


def _normalise_domain_path(path: str) -> str:
    # The same rule as CloudStack's login: a leading and a trailing '/' are added.
    stripped = path.strip()
    if not stripped.startswith("/"):
        stripped = "/" + stripped
    if not stripped.endswith("/"):
        stripped += "/"
    return stripped


def _new_password() -> str:
    if sys.stdin.isatty():
        entered: str = click.prompt(
            "New password", hide_input=True, confirmation_prompt=True, err=True
        )
    else:
        entered = sys.stdin.readline().rstrip("\r\n")
        again = sys.stdin.readline().rstrip("\r\n")
        if entered != again:
            raise click.ClickException("the two passwords given on stdin differ")
    if not entered:
        raise click.ClickException("the password must not be empty")
    return entered


def _management_key(encryption_type: str) -> str:
    if encryption_type == "none":
        return ""
    if encryption_type == "web":
        # A one-off command does not wait on the server's port: ask instead.
        key: str = click.prompt("Management server key", hide_input=True, err=True)
        return key
    return obtain_management_key(encryption_type, conf_dir())
