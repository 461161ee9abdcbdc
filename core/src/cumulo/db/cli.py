"""``cumulo db``: migrate the database and check it against the models.

The database is the one ``db.properties`` names (REQ-DB-04), with ``ENC()`` values
decrypted by the management-server key, unless ``--url`` gives another. Every error an
operator can fix is one line and exit status 1; ``cumulo db check`` exits 1 on drift
after printing each difference.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import click
import pluggy
from sqlalchemy import URL
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from cumulo.db import migrate
from cumulo.db.engine import DatabaseConfigurationError, safe_url

F = TypeVar("F", bound=Callable[..., object])


def _url_option(function: F) -> F:
    """``--url``, and ``-s`` for db.properties whose key is delivered over ``web``."""
    url = click.option(
        "--url",
        metavar="URL",
        help="SQLAlchemy URL of the database (default: the cloud database of db.properties).",
    )
    key = click.option(
        "-s",
        "--management-key",
        envvar="CUMULO_MANAGEMENT_KEY",
        metavar="KEY",
        help="Management server key decrypting db.properties (REQ-ENC-04); by default it is "
        "obtained as db.cloud.encryption.type says.",
    )
    return url(key(function))


@click.group()
def db() -> None:
    """Create, migrate and check the cumulo database."""


@db.command()
@_url_option
@click.option("--revision", default="heads", show_default=True, help="Target revision.")
def upgrade(url: str | None, management_key: str | None, revision: str) -> None:
    """Create or migrate the schema to the newest revision of every branch."""
    target = _resolve_url(url, management_key)
    _show_migration_progress()
    with _operator_errors(target):
        migrate.upgrade(target, _plugin_manager(), revision)
    click.echo(f"database {safe_url(target)} is up to date")


@db.command()
@_url_option
@click.argument("revision")
def downgrade(url: str | None, management_key: str | None, revision: str) -> None:
    """Migrate down to REVISION (`hello@base`: remove the tables of plugin hello)."""
    target = _resolve_url(url, management_key)
    _show_migration_progress()
    with _operator_errors(target):
        migrate.downgrade(target, _plugin_manager(), revision)


@db.command()
@_url_option
def check(url: str | None, management_key: str | None) -> None:
    """Compare the models with the database; exit 1 when they differ."""
    target = _resolve_url(url, management_key)
    with _operator_errors(target):
        differences = migrate.check(target, _plugin_manager())
    if differences:
        for line in differences:
            click.echo(line)
        raise click.ClickException(
            f"{len(differences)} difference(s) between the models and the database"
        )
    click.echo("no differences between the models and the database")


@db.command()
@_url_option
def current(url: str | None, management_key: str | None) -> None:
    """Show the revisions the database is at."""
    target = _resolve_url(url, management_key)
    with _operator_errors(target):
        lines = migrate.current(target, _plugin_manager())
    for line in lines:
        click.echo(line)


@db.command()
@_url_option
@click.option("-m", "--message", required=True, help="What the revision does.")
@click.option(
    "--branch",
    default=migrate.CORE_BRANCH,
    show_default=True,
    help="Branch to add the revision to: the core's or a plugin's branch label.",
)
@click.option(
    "--autogenerate",
    is_flag=True,
    help="Fill the revision from the differences between the branch's models and the "
    "database (which must be up to date).",
)
def revision(
    url: str | None, management_key: str | None, message: str, branch: str, autogenerate: bool
) -> None:
    """For developers: write a new revision file into the branch's version location."""
    # Without --autogenerate no database is read, so none needs to be configured.
    target = _resolve_url(url, management_key) if autogenerate else (url or "sqlite://")
    with _operator_errors(target):
        paths = migrate.revision(
            target, _plugin_manager(), message, branch=branch, autogenerate=autogenerate
        )
    for path in paths:
        click.echo(f"wrote {path}")


# ---- helpers ------------------------------------------------------------------------


def _plugin_manager() -> pluggy.PluginManager:
    from cumulo.plugins import get_plugin_manager

    return get_plugin_manager()


def _resolve_url(url: str | None, management_key: str | None) -> str | URL:
    """``--url`` if given, else the cloud database of db.properties."""
    if url:
        return url
    from cumulo.secret_key import DEFAULT_WEB_PORT, obtain_management_key
    from cumulo.settings import conf_dir, load_db_properties

    try:
        directory = conf_dir()
        properties = load_db_properties(directory)
        encryption = properties.encryption_type
        if management_key is None and encryption == "web":
            click.echo(
                f"waiting for the management server key on 127.0.0.1:{DEFAULT_WEB_PORT} "
                "(send it with `cumulo send-secret-key`, or pass -s)",
                err=True,
            )
        if management_key is not None:
            key = management_key
        elif encryption == "none":
            key = ""
        else:
            key = obtain_management_key(encryption, directory)
        return properties.cloud_url(key)
    except click.ClickException:
        raise
    except Exception as exc:  # settings/crypto errors are meant for the operator as they are
        message = f"cannot read the database settings: {_one_line(exc)}"
        raise click.ClickException(message) from exc


@contextmanager
def _operator_errors(url: str | URL) -> Iterator[None]:
    """Migration, configuration and connection failures as one-line click errors."""
    try:
        yield
    except (migrate.MigrationError, DatabaseConfigurationError) as exc:
        raise click.ClickException(_one_line(exc)) from exc
    except DBAPIError as exc:
        raise click.ClickException(f"database {safe_url(url)}: {_one_line(exc.orig)}") from exc
    except SQLAlchemyError as exc:
        raise click.ClickException(f"database {safe_url(url)}: {_one_line(exc)}") from exc


def _one_line(error: BaseException | None) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _show_migration_progress() -> None:
    """Print Alembic's "Running upgrade a -> b" lines so operators see what happens."""
    logger = logging.getLogger("alembic.runtime.migration")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        # Only the steps; "Context impl ..." and the like are for developers.
        handler.addFilter(lambda record: record.getMessage().startswith("Running "))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
