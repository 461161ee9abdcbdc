"""What an additional management server checks before it writes its configuration.

Without ``--deploy-as`` the tool only configures a database client (REQ-INST-04), so
everything it writes must already work (REQ-INST-07): the database user logs in to the
``cloud`` and ``cloud_usage`` databases, ``cloud`` is migrated to this version's schema,
and the ``-k`` key decrypts the secrets the first server stored
(:func:`cumulo.setup.seed.check_database_key`). Any failure is one line and nothing is
written.
"""

from __future__ import annotations

import pluggy
import sqlalchemy as sa

from cumulo.db import migrate
from cumulo.db.engine import create_engine, session_factory
from cumulo.setup.deploy import describe_mysql_error
from cumulo.setup.errors import SetupError
from cumulo.setup.seed import check_database_key


def check_login(url: sa.URL, *, location: str) -> None:
    """Connect to ``url`` and run ``SELECT 1``.

    :raises SetupError: unreachable server, refused login, missing database.
    """
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.DBAPIError as exc:
        raise SetupError(
            describe_mysql_error(exc, user=url.username or "", location=location)
        ) from None
    finally:
        engine.dispose()


def check_migrated(url: sa.URL, pm: pluggy.PluginManager, *, database: str, location: str) -> None:
    """The ``cloud`` database is at every installed branch's head, without drift.

    :raises SetupError: never migrated (the first server was not set up), behind this
        version, or different from the models; the message gives the first difference.
    """
    try:
        if not migrate.database_heads(url):
            raise SetupError(
                f"database {database!r} on {location} has not been initialized; run"
                " setup-databases with --deploy-as on the first management server"
            )
        differences = migrate.check(url, pm)
    except migrate.MigrationError as exc:
        raise SetupError(f"database {database!r} on {location}: {exc}") from None
    except sa.exc.DBAPIError as exc:
        raise SetupError(
            describe_mysql_error(exc, user=url.username or "", location=location)
        ) from None
    if differences:
        raise SetupError(
            f"database {database!r} on {location} does not match this version of cumulo"
            f" ({len(differences)} difference(s), first: {differences[0]})"
        )


def check_secrets(url: sa.URL, database_key: str, algorithm: str, *, location: str) -> None:
    """``database_key`` decrypts the secrets stored in the ``cloud`` database.

    :raises SetupError: wrong key, or the database holds no seeded secret.
    """
    engine = create_engine(url)
    try:
        with session_factory(engine)() as session:
            check_database_key(session, database_key, algorithm)
    except sa.exc.DBAPIError as exc:
        raise SetupError(
            describe_mysql_error(exc, user=url.username or "", location=location)
        ) from None
    finally:
        engine.dispose()
