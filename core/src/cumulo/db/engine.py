"""Engines and sessions for the three supported databases.

Every engine cumulo opens comes from :func:`create_engine`, so each back end behaves the
same way wherever it is used (server, CLI, migrations, tests):

* **SQLite** (embedded default): WAL journal so readers never block the writer,
  ``foreign_keys=ON`` (SQLite ignores foreign keys unless asked), a ``busy_timeout`` so a
  second process waits for the write lock instead of failing at once. cumulo emits the
  ``BEGIN`` itself (``BEGIN IMMEDIATE`` by default) instead of leaving it to Python's
  ``sqlite3`` module, which never begins a transaction before a ``SELECT`` or DDL; that
  makes DDL transactional (a failed migration leaves nothing behind) and avoids the
  read-then-write upgrade that fails with ``SQLITE_BUSY`` regardless of the timeout.
* **MariaDB/MySQL** (production): PyMySQL, ``utf8mb4``, ``READ COMMITTED`` like
  CloudStack, UTC session time zone, pre-ping and recycling so connections dropped by
  the server or a proxy are replaced, and a pool bounded so that all processes of one
  management server stay within ``max_connections = 350`` per server (REQ-DB-02).
* **PostgreSQL**: psycopg 3 (the optional extra ``cumulo-core[postgresql]``), imported
  only when such a URL is used.

Timestamps are naive UTC everywhere (:class:`cumulo.db.base.UtcDateTime`), so every
session runs in UTC and ``CURRENT_TIMESTAMP`` server defaults agree with Python's.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import sqlalchemy
from sqlalchemy import URL, event, make_url
from sqlalchemy.engine import Engine
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker

# REQ-DB-02: the seed sizes MySQL as ``max_connections = 350 x management servers``.
MAX_CONNECTIONS_PER_SERVER = 350
# Per process: a gunicorn worker or job runner rarely needs more than a handful at once.
DEFAULT_POOL_SIZE = 10
DEFAULT_MAX_OVERFLOW = 20
# Below the usual MySQL ``wait_timeout`` and proxy idle timeouts, so stale connections
# are recycled before the server drops them.
DEFAULT_POOL_RECYCLE_SECONDS = 3600
DEFAULT_CONNECT_TIMEOUT_SECONDS = 10
# How long a second process waits for SQLite's write lock before "database is locked".
DEFAULT_SQLITE_BUSY_TIMEOUT_MS = 30_000
SQLITE_BEGIN_MODES = ("DEFERRED", "IMMEDIATE", "EXCLUSIVE")

BACKENDS = ("sqlite", "mysql", "postgresql")


class DatabaseConfigurationError(ValueError):
    """A database URL or engine option cumulo cannot use; the message says how to fix it."""


def backend_name(url: str | URL) -> str:
    """The back end a URL points at: ``"sqlite"``, ``"mysql"`` or ``"postgresql"``.

    ``mariadb://`` URLs count as ``"mysql"``. Raises :class:`DatabaseConfigurationError`
    for any other back end or for text that is not a URL.
    """
    parsed = _parse(url)
    name = parsed.get_backend_name()
    if name == "mariadb":
        return "mysql"
    if name not in BACKENDS:
        raise DatabaseConfigurationError(
            f"unsupported database {name!r}: use one of sqlite, mysql (MariaDB), postgresql"
        )
    return name


def safe_url(url: str | URL) -> str:
    """The URL as text with any password masked, for messages and logs."""
    return _parse(url).render_as_string(hide_password=True)


def pool_limits(processes: int) -> tuple[int, int]:
    """``(pool_size, max_overflow)`` for each of ``processes`` processes of one server.

    The defaults are used while they fit; otherwise the 350-connection budget of one
    management server (REQ-DB-02) is shared out evenly, keeping at least one pooled
    connection per process. Raises ``ValueError`` when even that cannot fit.
    """
    if processes < 1:
        raise ValueError("a management server runs at least one process")
    per_process = MAX_CONNECTIONS_PER_SERVER // processes
    if per_process < 1:
        raise ValueError(
            f"{processes} processes cannot share {MAX_CONNECTIONS_PER_SERVER} connections"
        )
    if per_process >= DEFAULT_POOL_SIZE + DEFAULT_MAX_OVERFLOW:
        return DEFAULT_POOL_SIZE, DEFAULT_MAX_OVERFLOW
    pool_size = max(1, per_process // 3)
    return pool_size, per_process - pool_size


def create_engine(
    url: str | URL,
    *,
    sqlite_busy_timeout_ms: int = DEFAULT_SQLITE_BUSY_TIMEOUT_MS,
    sqlite_begin: str = "IMMEDIATE",
    innodb_lock_wait_timeout: int | None = None,
    **kw: Any,
) -> Engine:
    """An engine for ``url`` configured the cumulo way (see the module docstring).

    :param url: ``sqlite:///path``, ``mysql://`` / ``mariadb://`` (PyMySQL is chosen
        when no driver is named), ``postgresql://`` (psycopg 3 is chosen likewise).
    :param sqlite_busy_timeout_ms: SQLite only: how long to wait for the write lock.
    :param sqlite_begin: SQLite only: ``IMMEDIATE`` (default: a transaction takes the
        write lock when it starts, so read-then-write never fails half-way),
        ``DEFERRED`` (read-mostly engines) or ``EXCLUSIVE``.
    :param innodb_lock_wait_timeout: MySQL only: per-session row-lock wait in seconds;
        ``None`` keeps the server's setting (the seed sets 600 with rollback on
        timeout, REQ-DB-03).
    :param kw: passed to :func:`sqlalchemy.create_engine` and override cumulo's
        defaults; for MySQL and PostgreSQL ``pool_size + max_overflow`` may not exceed
        350.
    :raises DatabaseConfigurationError: unsupported back end, a SQLite file whose
        directory does not exist, the PostgreSQL driver missing, a pool above 350.
    """
    parsed = _parse(url)
    backend = backend_name(parsed)
    if backend == "sqlite":
        return _sqlite_engine(parsed, sqlite_busy_timeout_ms, sqlite_begin, kw)
    if backend == "mysql":
        return _mysql_engine(parsed, innodb_lock_wait_timeout, kw)
    return _postgresql_engine(parsed, kw)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """A ``sessionmaker`` bound to ``engine``.

    Objects are not expired on commit (``expire_on_commit=False``): services return the
    rows they committed to the API layer, and reloading each of them would cost one
    ``SELECT`` per object for data the process itself just wrote.
    """
    return sessionmaker(bind=engine, expire_on_commit=False)


# ---- SQLite -----------------------------------------------------------------------


def _sqlite_engine(url: URL, busy_timeout_ms: int, begin: str, kw: dict[str, Any]) -> Engine:
    begin = begin.upper()
    if begin not in SQLITE_BEGIN_MODES:
        raise DatabaseConfigurationError(
            f"sqlite_begin must be one of {', '.join(SQLITE_BEGIN_MODES)}, not {begin!r}"
        )
    url = url.set(drivername="sqlite+pysqlite")
    in_memory = _sqlite_in_memory(url)
    if not in_memory and not url.query.get("uri"):
        path = Path(url.database or "")
        if not path.parent.is_dir():
            raise DatabaseConfigurationError(
                f"cannot create SQLite database {path}: directory {path.parent} does not exist"
            )
    engine = sqlalchemy.create_engine(url, **kw)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module (see module docstring).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            cursor.execute("PRAGMA foreign_keys = ON")
            if not in_memory:
                cursor.execute("PRAGMA journal_mode = WAL")
                # With WAL, NORMAL is durable across application crashes and much
                # cheaper than FULL; only an OS crash may lose the last commits.
                cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: sqlalchemy.Connection) -> None:
        connection.exec_driver_sql(f"BEGIN {begin}")

    return engine


def _sqlite_in_memory(url: URL) -> bool:
    database = url.database or ""
    return database in ("", ":memory:") or url.query.get("mode") == "memory"


# ---- MariaDB / MySQL --------------------------------------------------------------


def _mysql_engine(url: URL, innodb_lock_wait_timeout: int | None, kw: dict[str, Any]) -> Engine:
    dialect = "mariadb" if url.get_backend_name() == "mariadb" else "mysql"
    url = url.set(drivername=f"{dialect}+pymysql")
    if "charset" not in url.query:
        url = url.update_query_dict({"charset": "utf8mb4"})
    settings = ["time_zone = '+00:00'"]
    if innodb_lock_wait_timeout is not None:
        settings.append(f"innodb_lock_wait_timeout = {int(innodb_lock_wait_timeout)}")
    connect_args = {
        "connect_timeout": DEFAULT_CONNECT_TIMEOUT_SECONDS,
        # One SET with several assignments: PyMySQL runs init_command as one query.
        "init_command": "SET " + ", ".join(f"SESSION {s}" for s in settings),
        **kw.pop("connect_args", {}),
    }
    options: dict[str, Any] = {
        "isolation_level": "READ COMMITTED",
        **_pool_options(kw),
        "connect_args": connect_args,
    }
    return sqlalchemy.create_engine(url, **options)


# ---- PostgreSQL -------------------------------------------------------------------


def _postgresql_engine(url: URL, kw: dict[str, Any]) -> Engine:
    if importlib.util.find_spec("psycopg") is None:
        raise DatabaseConfigurationError(
            "PostgreSQL support is not installed: pip install 'cumulo-core[postgresql]'"
        )
    url = url.set(drivername="postgresql+psycopg")
    connect_args = {
        "connect_timeout": DEFAULT_CONNECT_TIMEOUT_SECONDS,
        "options": "-c timezone=UTC",
        **kw.pop("connect_args", {}),
    }
    options: dict[str, Any] = {
        "isolation_level": "READ COMMITTED",
        **_pool_options(kw),
        "connect_args": connect_args,
    }
    return sqlalchemy.create_engine(url, **options)


def _pool_options(kw: dict[str, Any]) -> dict[str, Any]:
    """Pool defaults for server databases merged with ``kw``, bounded by REQ-DB-02."""
    options: dict[str, Any] = {
        "pool_size": DEFAULT_POOL_SIZE,
        "max_overflow": DEFAULT_MAX_OVERFLOW,
        "pool_recycle": DEFAULT_POOL_RECYCLE_SECONDS,
        "pool_pre_ping": True,
        **kw,
    }
    if "poolclass" not in kw:
        size, overflow = int(options["pool_size"]), int(options["max_overflow"])
        # SQLAlchemy reads pool_size=0 and max_overflow=-1 as "no limit".
        if size < 1 or overflow < 0 or size + overflow > MAX_CONNECTIONS_PER_SERVER:
            raise DatabaseConfigurationError(
                f"pool_size + max_overflow may open at most {MAX_CONNECTIONS_PER_SERVER} "
                f"connections per management server (REQ-DB-02); got pool_size="
                f"{options['pool_size']}, max_overflow={options['max_overflow']}"
            )
    return options


def _parse(url: str | URL) -> URL:
    try:
        return make_url(url)
    except ArgumentError as exc:
        raise DatabaseConfigurationError(f"not a database URL: {exc}") from None
