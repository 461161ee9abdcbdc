"""Database fixtures: the same tests run on SQLite, MariaDB/MySQL and PostgreSQL.

The back end comes from ``CUMULO_TEST_DB``: unset or ``sqlite`` gives a SQLite file per
test; a server URL without a database name (``mysql+pymysql://root@127.0.0.1:3306/``,
``postgresql+psycopg://postgres@127.0.0.1/``) gives a fresh database ``cumulo_t_<hex>``
per test, created and dropped through that server. A configured server that cannot be
reached makes the tests ERROR, never skip: a green run must mean the back end was used.

``CUMULO_REQUIRE_DB_BACKEND=mysql`` (or ``sqlite``, ``postgresql``) makes the session
fail unless that back end was in use *and* at least one test used a database; CI sets
it so that a MariaDB run which silently fell back to SQLite, or used no database at
all, cannot pass. Works with pytest-xdist (workers report their counts).
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pluggy
import pytest
from sqlalchemy import URL, Engine, make_url, text
from sqlalchemy.orm import Session

from cumulo.db.engine import backend_name, create_engine, safe_url, session_factory

__all__ = [
    "cumulo_database_server",
    "database_url",
    "db_session",
    "migrated_database_url",
    "pytest_sessionfinish",
    "pytest_terminal_summary",
    "pytest_testnodedown",
    "test_db_backend",
]

TEST_DB_ENV = "CUMULO_TEST_DB"
REQUIRE_BACKEND_ENV = "CUMULO_REQUIRE_DB_BACKEND"
DATABASE_PREFIX = "cumulo_t_"

_USES = pytest.StashKey[int]()
_PROBLEM = pytest.StashKey[str]()
_WORKER_OUTPUT_KEY = "cumulo_database_uses"


def configured_server_url() -> URL | None:
    """The server URL of ``CUMULO_TEST_DB``, or ``None`` for SQLite."""
    value = os.environ.get(TEST_DB_ENV, "").strip()
    if value in ("", "sqlite"):
        return None
    url = make_url(value)
    if backend_name(url) == "sqlite":
        return None
    return url


def configured_backend() -> str:
    """``"sqlite"``, ``"mysql"`` or ``"postgresql"`` according to ``CUMULO_TEST_DB``."""
    server = configured_server_url()
    return "sqlite" if server is None else backend_name(server)


@pytest.fixture(scope="session")
def test_db_backend() -> str:
    """The back end this session tests against: ``sqlite``, ``mysql`` or ``postgresql``."""
    return configured_backend()


@pytest.fixture(scope="session")
def cumulo_database_server() -> Iterator[Engine | None]:
    """An administrative engine on the configured server (``None`` for SQLite).

    Fails (the dependent tests ERROR) when the server cannot be reached.
    """
    server = configured_server_url()
    if server is None:
        yield None
        return
    admin_url = server.set(database="postgres" if backend_name(server) == "postgresql" else None)
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT", pool_size=2)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:
        engine.dispose()
        raise RuntimeError(
            f"{TEST_DB_ENV}={safe_url(server)} is configured but unreachable: {exc}"
        ) from exc
    yield engine
    engine.dispose()


@pytest.fixture
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, cumulo_database_server: Engine | None
) -> Iterator[str]:
    """The URL of a fresh, empty database, removed after the test.

    SQLite: a file under ``tmp_path``. Servers: a new database ``cumulo_t_<hex>`` in
    ``utf8mb4`` (MySQL) or UTF8 (PostgreSQL), dropped at teardown even if the test left
    connections open.
    """
    config = request.config
    config.stash[_USES] = config.stash.get(_USES, 0) + 1
    if cumulo_database_server is None:
        yield f"sqlite:///{tmp_path / 'cumulo.db'}"
        return
    name = DATABASE_PREFIX + uuid.uuid4().hex[:16]
    server = configured_server_url()
    assert server is not None
    _create_database(cumulo_database_server, name)
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        _drop_database(cumulo_database_server, name)


@pytest.fixture
def migrated_database_url(database_url: str, plugin_manager: pluggy.PluginManager) -> str:
    """``database_url`` after ``cumulo db upgrade`` with the ``plugin_manager`` fixture.

    A plugin's test suite overrides ``plugin_manager`` to register its plugin, and gets
    the plugin's own tables too.
    """
    from cumulo.db.migrate import upgrade

    upgrade(database_url, plugin_manager)
    return database_url


@pytest.fixture
def db_session(migrated_database_url: str) -> Iterator[Session]:
    """A ``Session`` on a migrated database; rolled back and closed after the test."""
    engine = create_engine(migrated_database_url)
    session = session_factory(engine)()
    try:
        yield session
    finally:
        session.rollback()
        session.close()
        engine.dispose()


def _create_database(admin: Engine, name: str) -> None:
    with admin.connect() as connection:
        if admin.dialect.name == "postgresql":
            connection.exec_driver_sql(f"CREATE DATABASE {name} ENCODING 'UTF8' TEMPLATE template0")
        else:
            connection.exec_driver_sql(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")


def _drop_database(admin: Engine, name: str) -> None:
    with admin.connect() as connection:
        if admin.dialect.name == "postgresql":
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            return
        # Connections a test forgot to close would hold metadata locks and make the
        # DROP wait; end them first.
        leftover = connection.execute(
            text("SELECT id FROM information_schema.processlist WHERE db = :name"),
            {"name": name},
        ).scalars()
        for connection_id in leftover:
            # It may have ended between the query and the KILL.
            with contextlib.suppress(Exception):
                connection.exec_driver_sql(f"KILL CONNECTION {int(connection_id)}")
        connection.exec_driver_sql(f"DROP DATABASE IF EXISTS `{name}`")


# ---- proving the back end was used ----------------------------------------------------


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """pytest-xdist controller: add up the database uses each worker reported."""
    uses = getattr(node, "workeroutput", {}).get(_WORKER_OUTPUT_KEY, 0)
    config = node.config
    config.stash[_USES] = config.stash.get(_USES, 0) + int(uses)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the session when ``CUMULO_REQUIRE_DB_BACKEND`` was not honoured."""
    config = session.config
    uses = config.stash.get(_USES, 0)
    if hasattr(config, "workerinput"):  # an xdist worker: the controller decides
        config.workeroutput[_WORKER_OUTPUT_KEY] = uses  # type: ignore[attr-defined]
        return
    required = os.environ.get(REQUIRE_BACKEND_ENV, "").strip()
    if not required:
        return
    problem = _requirement_problem(required, configured_backend(), uses)
    if problem is None:
        return
    config.stash[_PROBLEM] = problem
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say which back end the database tests used, and why the session failed although
    every test passed if the required back end was not proven."""
    config = terminalreporter.config
    if not hasattr(config, "workerinput"):
        uses = config.stash.get(_USES, 0)
        terminalreporter.write_line(
            f"cumulo: {uses} test(s) used a {configured_backend()} database"
        )
    problem = config.stash.get(_PROBLEM, None)
    if problem is not None:
        terminalreporter.write_sep("=", "database back end not proven", red=True)
        terminalreporter.write_line(f"ERROR: {problem}", red=True, bold=True)


def _requirement_problem(required: str, backend: str, uses: int) -> str | None:
    """Why a session that required ``required`` must fail, or ``None`` if it may pass."""
    if backend != required:
        return (
            f"{REQUIRE_BACKEND_ENV}={required} but the tests ran on {backend} (set {TEST_DB_ENV})"
        )
    if uses == 0:
        return f"{REQUIRE_BACKEND_ENV}={required} but no test used a database"
    return None
