"""What ``--deploy-as`` does on a MySQL/MariaDB server: databases and the database user.

The privileged account (usually ``root``) creates the ``cloud`` and ``cloud_usage``
databases (utf8mb4) and the user ``'<user>'@'%'`` plus ``'<user>'@'localhost'`` — the
second because a MySQL server with an anonymous ``''@'localhost'`` account would
otherwise match local connections to it first, as CloudStack's own scripts know.

Everything this module creates is recorded in a :class:`Provisioned`, so a run that
fails later drops exactly what it created and nothing that existed before.
Administrative statements run on a short-lived connection in autocommit mode (MySQL
commits DDL implicitly anyway); the pooled engines of :mod:`cumulo.db.engine` are for
the schema itself.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from cumulo.setup.arguments import Credentials
from cumulo.setup.errors import SetupError

USER_HOSTS = ("%", "localhost")
"""The host parts the management server's database user is created with."""

CONNECT_TIMEOUT = 10
"""Seconds to wait for the server before calling it unreachable."""

# Names are interpolated into DDL (identifiers cannot be bound parameters), so only the
# characters MySQL accepts unquoted are allowed.
_DATABASE_NAME = re.compile(r"[A-Za-z0-9_$]{1,64}")

# MySQL error numbers the messages below translate.
ER_ACCESS_DENIED = 1045
ER_DBACCESS_DENIED = 1044
ER_BAD_DB = 1049
CR_CONN_HOST_ERROR = 2003
CR_UNKNOWN_HOST = 2005


def check_database_name(name: str) -> str:
    """``name`` if it is a plain MySQL identifier (letters, digits, ``_``, ``$``).

    :raises SetupError: any other name, which would need quoting in every statement.
    """
    if not _DATABASE_NAME.fullmatch(name):
        raise SetupError(
            f"database name {name!r} is not allowed: use 1 to 64 letters, digits, '_' or '$'"
        )
    return name


# Accounts the server itself depends on: never created, recreated or dropped here.
_RESERVED_USERS = frozenset({"root", "mysql", "mariadb.sys", "mysql.sys", "mysql.session"})


def check_user_name(user: str, deploy_user: str) -> str:
    """``user`` if this tool may create (and, with ``--recreate``, drop) it.

    :raises SetupError: it is the ``--deploy-as`` account or a server account such as
        ``root``: recreating it would lock the operator out of the server.
    """
    if user == deploy_user or user in _RESERVED_USERS:
        raise SetupError(
            f"the database user must be an account of its own (e.g. cloud), not {user!r}"
        )
    return user


def describe_mysql_error(exc: sa.exc.DBAPIError, *, user: str, location: str) -> str:
    """A one-line description of a server error, without the SQL or its parameters.

    SQLAlchemy's own text repeats the statement and its bound values, which may hold a
    password (``CREATE USER ... IDENTIFIED BY``); only the server's code and message are
    used here. ``user`` (if known) names the login in the "wrong password" message;
    otherwise the server's own message, which names it, is shown.
    """
    code, message = _error_code_and_message(exc)
    if code is None:  # not a MySQL error (SQLite, PostgreSQL): its own text is clear
        return f"{location}: {message}"
    if code == ER_ACCESS_DENIED and user:
        return f"the database server at {location} refused user {user!r}: wrong user or password"
    if code in (CR_CONN_HOST_ERROR, CR_UNKNOWN_HOST):
        return f"cannot reach the database server at {location}: {message}"
    if code in (ER_BAD_DB, ER_ACCESS_DENIED, ER_DBACCESS_DENIED):
        return f"{message} on {location}"
    return f"database server at {location} answered error {code}: {message}"


def _error_code_and_message(exc: sa.exc.DBAPIError) -> tuple[int | None, str]:
    args: tuple[Any, ...] = getattr(exc.orig, "args", ())
    if len(args) >= 2 and isinstance(args[0], int):
        return args[0], str(args[1]).splitlines()[0] if args[1] else ""
    text = str(exc.orig).splitlines()
    return None, text[0] if text else type(exc.orig).__name__


@dataclass
class Provisioned:
    """What one run created, in creation order: the undo list of a failed run."""

    databases: list[str] = field(default_factory=list)
    users: list[tuple[str, str]] = field(default_factory=list)


class MysqlServer:
    """A MySQL/MariaDB server reached with the privileged ``--deploy-as`` account."""

    def __init__(self, host: str, port: int, admin: Credentials) -> None:
        self.host = host
        self.port = port
        self.admin = admin
        self.location = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        self._engine: Engine | None = None

    def url(self, credentials: Credentials, database: str | None = None) -> sa.URL:
        """The PyMySQL URL for ``credentials`` on this server (``database``: optional)."""
        return sa.URL.create(
            "mysql+pymysql",
            username=credentials.user,
            password=credentials.password,
            host=self.host,
            port=self.port,
            database=database,
            query={"charset": "utf8mb4"},
        )

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        """An autocommit connection as the privileged account.

        :raises SetupError: unreachable server or refused credentials (one line).
        """
        if self._engine is None:
            self._engine = sa.create_engine(
                self.url(self.admin),
                isolation_level="AUTOCOMMIT",
                poolclass=sa.pool.NullPool,
                connect_args={"connect_timeout": CONNECT_TIMEOUT},
            )
        try:
            with self._engine.connect() as conn:
                yield conn
        except sa.exc.DBAPIError as exc:
            raise SetupError(
                describe_mysql_error(exc, user=self.admin.user, location=self.location)
            ) from None

    def dispose(self) -> None:
        """Close the administrative engine (idempotent)."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def existing_databases(self, conn: Connection, names: list[str]) -> list[str]:
        """Those of ``names`` that exist on the server, in the order given."""
        found = set(
            conn.execute(
                sa.text(
                    "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA"
                    " WHERE SCHEMA_NAME IN :names"
                ).bindparams(sa.bindparam("names", expanding=True)),
                {"names": names},
            ).scalars()
        )
        return [name for name in names if name in found]

    def existing_user_hosts(self, conn: Connection, user: str) -> list[str]:
        """The host parts under which ``user`` exists (reads ``mysql.user``)."""
        rows = conn.execute(sa.text("SELECT Host FROM mysql.user WHERE User = :u"), {"u": user})
        return sorted(str(host) for host in rows.scalars())

    def drop_database(self, conn: Connection, name: str) -> None:
        """Drop database ``name`` if it exists."""
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS `{check_database_name(name)}`"))

    def drop_user(self, conn: Connection, user: str, host: str) -> None:
        """Drop ``'user'@'host'`` (fails if it does not exist).

        Plain ``DROP USER``: ``IF EXISTS`` needs MySQL 5.7, and callers only drop users
        they found or created.
        """
        conn.execute(sa.text("DROP USER :u@:h"), {"u": user, "h": host})

    def create_database(self, conn: Connection, name: str) -> None:
        """Create database ``name`` in utf8mb4 (fails if it exists)."""
        conn.execute(
            sa.text(f"CREATE DATABASE `{check_database_name(name)}` CHARACTER SET utf8mb4")
        )

    def create_user(self, conn: Connection, credentials: Credentials, host: str) -> None:
        """Create ``'user'@'host'`` identified by the password (fails if it exists)."""
        conn.execute(
            sa.text("CREATE USER :u@:h IDENTIFIED BY :p"),
            {"u": credentials.user, "h": host, "p": credentials.password},
        )

    def grant_all(self, conn: Connection, database: str, user: str, host: str) -> None:
        """Grant every privilege on ``database`` to ``'user'@'host'``.

        ``_`` is a wildcard in the database part of GRANT; it is escaped so the grant
        covers exactly ``cloud_usage`` and not, say, ``cloudXusage``.
        """
        pattern = check_database_name(database).replace("_", r"\_")
        conn.execute(
            sa.text(f"GRANT ALL PRIVILEGES ON `{pattern}`.* TO :u@:h"), {"u": user, "h": host}
        )


def refuse_existing(server: MysqlServer, conn: Connection, databases: list[str], user: str) -> None:
    """Refuse to touch a deployment that exists: any of ``databases`` or the user.

    :raises SetupError: naming the first thing found and how to recreate it.
    """
    existing = server.existing_databases(conn, databases)
    if existing:
        raise SetupError(
            f"database {existing[0]!r} already exists on {server.location};"
            " use --recreate to drop and recreate it"
        )
    if server.existing_user_hosts(conn, user):
        raise SetupError(
            f"database user {user!r} already exists on {server.location};"
            " use --recreate to drop and recreate it"
        )


def drop_deployment(server: MysqlServer, conn: Connection, databases: list[str], user: str) -> None:
    """``--recreate``: drop ``databases`` and every ``'user'@host`` (those that exist)."""
    for name in databases:
        server.drop_database(conn, name)
    for host in server.existing_user_hosts(conn, user):
        server.drop_user(conn, user, host)


def provision(
    server: MysqlServer,
    conn: Connection,
    databases: list[str],
    credentials: Credentials,
    created: Provisioned,
) -> None:
    """Create ``databases`` and the user with ALL on each of them.

    Every object is appended to ``created`` as soon as it exists, so that
    :func:`undo` can remove it if a later statement (or a later step) fails.
    """
    for name in databases:
        server.create_database(conn, name)
        created.databases.append(name)
    for host in USER_HOSTS:
        server.create_user(conn, credentials, host)
        created.users.append((credentials.user, host))
    for name in databases:
        for host in USER_HOSTS:
            server.grant_all(conn, name, credentials.user, host)


def undo(server: MysqlServer, created: Provisioned) -> None:
    """Drop what :func:`provision` recorded, newest first; best effort, never raises.

    Runs while another error is being reported, so a failure here must not hide it;
    each object is dropped on its own, so one that cannot be dropped does not keep the
    others.
    """
    if not created.databases and not created.users:
        return
    try:
        with server.connection() as conn:
            for user, host in reversed(created.users):
                with contextlib.suppress(sa.exc.SQLAlchemyError):
                    server.drop_user(conn, user, host)
            for name in reversed(created.databases):
                with contextlib.suppress(sa.exc.SQLAlchemyError):
                    server.drop_database(conn, name)
    except (SetupError, sa.exc.SQLAlchemyError):
        pass
