"""The database fixtures of cumulo.testing, and the proof that a back end was really used.

The session-level checks (``CUMULO_REQUIRE_DB_BACKEND``, unreachable servers) are tested
by running pytest in a subprocess on a small test file, as CI runs the real suite.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.orm import Session

from cumulo.accounts.models import Domain
from cumulo.db.engine import backend_name, create_engine
from cumulo.testing.database import DATABASE_PREFIX, configured_server_url

OTHER_BACKEND = {"sqlite": "postgresql", "mysql": "sqlite", "postgresql": "sqlite"}


def test_database_url_is_a_fresh_empty_database_of_the_backend(
    database_url: str, test_db_backend: str
) -> None:
    assert backend_name(database_url) == test_db_backend
    engine = create_engine(database_url)
    with engine.connect() as connection:
        assert inspect(connection).get_table_names() == []
        if test_db_backend != "sqlite":
            name = connection.execute(
                text(
                    "SELECT current_database()"
                    if test_db_backend == "postgresql"
                    else "SELECT DATABASE()"
                )
            ).scalar()
            assert str(name).startswith(DATABASE_PREFIX)
    engine.dispose()


def test_db_session_is_on_a_migrated_database(db_session: Session) -> None:
    db_session.add(Domain(name="ROOT", path="/", owner=1))
    db_session.flush()
    assert db_session.scalar(select(Domain.path)) == "/"
    assert "alembic_version" in inspect(db_session.connection()).get_table_names()


# ---- the session-level proof, in a subprocess -----------------------------------------

USES_DATABASE = """
    from pathlib import Path

    def test_uses_database(database_url):
        Path("used-url.txt").write_text(database_url)
"""
USES_NOTHING = """
    def test_needs_no_database():
        assert 1 + 1 == 2
"""


def _run_pytest(
    directory: Path, source: str, *args: str, **env: str | None
) -> subprocess.CompletedProcess[str]:
    (directory / "test_sample.py").write_text(textwrap.dedent(source), encoding="utf-8")
    environment = dict(os.environ)
    for name, value in env.items():
        if value is None:
            environment.pop(name, None)
        else:
            environment[name] = value
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args],
        cwd=directory,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _database_exists(url: str) -> bool:
    server = configured_server_url()
    assert server is not None
    name = url.rsplit("/", 1)[-1].split("?")[0]
    admin = create_engine(
        server.set(database="postgres" if backend_name(server) == "postgresql" else None)
    )
    with admin.connect() as connection:
        if backend_name(server) == "postgresql":
            found = connection.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
            )
        else:
            found = connection.execute(
                text("SELECT 1 FROM information_schema.schemata WHERE schema_name = :n"),
                {"n": name},
            )
        exists = found.first() is not None
    admin.dispose()
    return exists


def test_required_backend_in_use_passes_and_server_databases_are_dropped(
    tmp_path: Path, test_db_backend: str
) -> None:
    result = _run_pytest(tmp_path, USES_DATABASE, CUMULO_REQUIRE_DB_BACKEND=test_db_backend)
    assert result.returncode == 0, result.stdout + result.stderr
    used = (tmp_path / "used-url.txt").read_text()
    assert backend_name(used) == test_db_backend
    if test_db_backend != "sqlite":
        assert not _database_exists(used)


def test_required_backend_fails_a_session_where_no_test_used_a_database(
    tmp_path: Path, test_db_backend: str
) -> None:
    result = _run_pytest(tmp_path, USES_NOTHING, CUMULO_REQUIRE_DB_BACKEND=test_db_backend)
    assert result.returncode == 1
    assert "1 passed" in result.stdout
    assert (
        f"CUMULO_REQUIRE_DB_BACKEND={test_db_backend} but no test used a database" in result.stdout
    )


def test_required_backend_fails_a_session_on_another_backend(
    tmp_path: Path, test_db_backend: str
) -> None:
    required = OTHER_BACKEND[test_db_backend]
    result = _run_pytest(tmp_path, USES_DATABASE, CUMULO_REQUIRE_DB_BACKEND=required)
    assert result.returncode == 1
    assert "1 passed" in result.stdout
    assert f"={required} but the tests ran on {test_db_backend}" in result.stdout


def test_without_a_requirement_nothing_is_enforced(tmp_path: Path) -> None:
    result = _run_pytest(tmp_path, USES_NOTHING, CUMULO_REQUIRE_DB_BACKEND=None)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(("source", "status"), [(USES_DATABASE, 0), (USES_NOTHING, 1)])
def test_xdist_workers_report_their_database_uses(
    tmp_path: Path, test_db_backend: str, source: str, status: int
) -> None:
    pytest.importorskip("xdist")
    result = _run_pytest(tmp_path, source, "-n", "2", CUMULO_REQUIRE_DB_BACKEND=test_db_backend)
    assert result.returncode == status, result.stdout + result.stderr


def test_an_unreachable_server_is_an_error_not_a_skip(tmp_path: Path) -> None:
    result = _run_pytest(
        tmp_path,
        USES_DATABASE,
        "-rE",
        CUMULO_TEST_DB="mysql+pymysql://root@127.0.0.1:1/",
        CUMULO_REQUIRE_DB_BACKEND=None,
    )
    assert result.returncode == 1
    assert "1 error" in result.stdout
    assert "skipped" not in result.stdout
    assert "is configured but unreachable" in result.stdout
