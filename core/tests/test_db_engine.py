"""Engines behave as cumulo.db.engine promises, on the back end under test and offline."""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path

import pytest
from sqlalchemy import Column, ForeignKey, Integer, MetaData, Table, event, inspect, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from cumulo.accounts.models import Domain
from cumulo.db.base import utcnow
from cumulo.db.engine import (
    MAX_CONNECTIONS_PER_SERVER,
    DatabaseConfigurationError,
    backend_name,
    create_engine,
    pool_limits,
    safe_url,
    session_factory,
)

# ---- SQLite -------------------------------------------------------------------------


def test_sqlite_pragmas_are_on(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'c.db'}", sqlite_busy_timeout_ms=4321)
    with engine.connect() as connection:
        pragma = {
            name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "foreign_keys", "busy_timeout", "synchronous")
        }
    engine.dispose()
    assert pragma == {
        "journal_mode": "wal",
        "foreign_keys": 1,
        "busy_timeout": 4321,
        "synchronous": 1,
    }


def test_sqlite_enforces_foreign_keys(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'c.db'}")
    metadata = MetaData()
    parent = Table("parent", metadata, Column("id", Integer, primary_key=True))
    child = Table(
        "child",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("parent_id", ForeignKey("parent.id"), nullable=False),
    )
    metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(parent.insert().values(id=1))
        connection.execute(child.insert().values(id=1, parent_id=1))
    with pytest.raises(IntegrityError, match="FOREIGN KEY"), engine.begin() as connection:
        connection.execute(child.insert().values(id=2, parent_id=99))
    engine.dispose()


def test_sqlite_ddl_is_transactional(tmp_path: Path) -> None:
    # Python's sqlite3 module alone would autocommit the CREATE TABLE.
    engine = create_engine(f"sqlite:///{tmp_path / 'c.db'}")
    with engine.connect() as connection:
        connection.exec_driver_sql("CREATE TABLE scratch (id INTEGER)")
        connection.rollback()
        assert not inspect(connection).has_table("scratch")
    engine.dispose()


def test_sqlite_second_writer_waits_for_busy_timeout_then_fails(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    holder = create_engine(url)
    waiter = create_engine(url, sqlite_busy_timeout_ms=200)
    with holder.connect() as first:
        first.exec_driver_sql("CREATE TABLE t (id INTEGER)")  # BEGIN IMMEDIATE: write lock
        with waiter.connect() as second, pytest.raises(OperationalError, match="locked"):
            second.exec_driver_sql("SELECT 1")  # its BEGIN IMMEDIATE cannot get the lock
        first.commit()
    with waiter.connect() as second:  # free again
        assert second.exec_driver_sql("SELECT count(*) FROM t").scalar() == 0
    holder.dispose()
    waiter.dispose()


def test_sqlite_deferred_begin_lets_readers_share(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    writer = create_engine(url)
    reader = create_engine(url, sqlite_begin="deferred", sqlite_busy_timeout_ms=200)
    with writer.connect() as first:
        first.exec_driver_sql("CREATE TABLE t (id INTEGER)")
        first.commit()
        first.exec_driver_sql("INSERT INTO t VALUES (1)")  # holds the write lock
        with reader.connect() as second:  # WAL: reads the last committed state
            assert second.exec_driver_sql("SELECT count(*) FROM t").scalar() == 0
        first.commit()
    writer.dispose()
    reader.dispose()


def test_sqlite_file_in_a_missing_directory_is_refused(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "c.db"
    with pytest.raises(DatabaseConfigurationError, match=r"directory .*nowhere does not exist"):
        create_engine(f"sqlite:///{missing}")


def test_sqlite_begin_mode_is_validated(tmp_path: Path) -> None:
    with pytest.raises(DatabaseConfigurationError, match="sqlite_begin"):
        create_engine(f"sqlite:///{tmp_path / 'c.db'}", sqlite_begin="LATER")


def test_in_memory_sqlite_works_without_wal() -> None:
    engine = create_engine("sqlite://")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "memory"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


# ---- URLs and pools, without a server -----------------------------------------------


@pytest.mark.parametrize(
    ("url", "backend"),
    [
        ("sqlite:///x.db", "sqlite"),
        ("mysql://u@h/cloud", "mysql"),
        ("mariadb+pymysql://u@h/cloud", "mysql"),
        ("postgresql://u@h/cloud", "postgresql"),
    ],
)
def test_backend_name(url: str, backend: str) -> None:
    assert backend_name(url) == backend


def test_unsupported_backend_is_refused() -> None:
    with pytest.raises(DatabaseConfigurationError, match="unsupported database 'oracle'"):
        create_engine("oracle://u:p@h/x")


def test_text_that_is_not_a_url_is_refused() -> None:
    with pytest.raises(DatabaseConfigurationError, match="not a database URL"):
        backend_name("cloud at localhost")


def test_safe_url_masks_the_password() -> None:
    shown = safe_url("mysql://cloud:s3cret@db.example/cloud")
    assert "s3cret" not in shown
    assert shown.startswith("mysql://cloud:")


def test_mysql_engine_uses_pymysql_utf8mb4_read_committed_and_a_bounded_pool() -> None:
    engine = create_engine("mysql://cloud@db.example:3306/cloud")  # no connection is made
    assert engine.dialect.driver == "pymysql"
    assert engine.url.query["charset"] == "utf8mb4"
    assert engine.pool.size() + engine.pool._max_overflow <= MAX_CONNECTIONS_PER_SERVER  # type: ignore[attr-defined]
    assert engine.pool._pre_ping  # type: ignore[attr-defined]
    assert engine.dialect._on_connect_isolation_level == "READ COMMITTED"  # type: ignore[attr-defined]


@pytest.mark.parametrize(("pool_size", "max_overflow"), [(300, 51), (0, 10), (10, -1)])
def test_pools_that_could_exceed_350_connections_are_refused(
    pool_size: int, max_overflow: int
) -> None:
    with pytest.raises(DatabaseConfigurationError, match="350"):
        create_engine("mysql://u@h/cloud", pool_size=pool_size, max_overflow=max_overflow)


def test_postgresql_needs_psycopg_or_says_how_to_install_it() -> None:
    if importlib.util.find_spec("psycopg") is None:
        with pytest.raises(DatabaseConfigurationError, match=r"cumulo-core\[postgresql\]"):
            create_engine("postgresql://u@h/cloud")
    else:
        assert create_engine("postgresql://u@h/cloud").dialect.driver == "psycopg"


@pytest.mark.parametrize("processes", [1, 2, 4, 11, 12, 30, 100, 350])
def test_pool_limits_keep_one_server_within_350_connections(processes: int) -> None:
    pool_size, max_overflow = pool_limits(processes)
    assert pool_size >= 1
    assert max_overflow >= 0
    assert processes * (pool_size + max_overflow) <= MAX_CONNECTIONS_PER_SERVER


def test_pool_limits_refuse_more_processes_than_connections() -> None:
    with pytest.raises(ValueError, match="cannot share"):
        pool_limits(MAX_CONNECTIONS_PER_SERVER + 1)


# ---- the back end under test ----------------------------------------------------------


def _statements(engine: Engine) -> list[str]:
    seen: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: seen.append(args[2]))
    return seen


def test_sessions_keep_committed_objects_loaded(migrated_database_url: str) -> None:
    engine = create_engine(migrated_database_url)
    with session_factory(engine)() as session:
        domain = Domain(name="ROOT", path="/", owner=1)
        session.add(domain)
        session.commit()
        seen = _statements(engine)
        assert (domain.name, domain.state, domain.level) == ("ROOT", "Active", 0)
        assert seen == []  # no SELECT to reload what this session just wrote
    engine.dispose()


def test_timestamps_are_utc_on_every_backend(migrated_database_url: str) -> None:
    engine = create_engine(migrated_database_url)
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO domain (uuid, name, owner, path) VALUES ('u-1', 'ROOT', 1, '/')")
        )
        created = connection.execute(select(Domain.created)).scalar_one()
    engine.dispose()
    assert abs((utcnow() - created).total_seconds()) < 120


@pytest.mark.mariadb
def test_mariadb_session_settings(database_url: str, test_db_backend: str) -> None:
    if test_db_backend != "mysql":
        pytest.skip("needs CUMULO_TEST_DB=mysql+pymysql://...")
    engine = create_engine(database_url, innodb_lock_wait_timeout=600)
    with engine.connect() as connection:
        settings = connection.execute(
            text(
                "SELECT @@character_set_connection, @@time_zone, @@session.innodb_lock_wait_timeout"
            )
        ).one()
        assert tuple(settings) == ("utf8mb4", "+00:00", 600)
        assert connection.get_isolation_level() == "READ COMMITTED"
        connection.exec_driver_sql("CREATE TABLE note (body VARCHAR(20)) CHARACTER SET utf8mb4")
        connection.exec_driver_sql("INSERT INTO note VALUES (%s)", ("clouds ☁️🌧",))
        assert connection.exec_driver_sql("SELECT body FROM note").scalar() == "clouds ☁️🌧"
    engine.dispose()


@pytest.mark.mariadb
def test_mariadb_read_committed_sees_other_commits(database_url: str, test_db_backend: str) -> None:
    if test_db_backend != "mysql":
        pytest.skip("needs CUMULO_TEST_DB=mysql+pymysql://...")
    engine = create_engine(database_url)
    with engine.begin() as setup:
        setup.exec_driver_sql("CREATE TABLE counter (n INTEGER)")
    with engine.connect() as reader:
        assert reader.exec_driver_sql("SELECT count(*) FROM counter").scalar() == 0

        def other_writer() -> None:
            with engine.begin() as writer:
                writer.exec_driver_sql("INSERT INTO counter VALUES (1)")

        thread = threading.Thread(target=other_writer)
        thread.start()
        thread.join()
        # Same transaction, second read: REPEATABLE READ would still say 0.
        assert reader.exec_driver_sql("SELECT count(*) FROM counter").scalar() == 1
    engine.dispose()
