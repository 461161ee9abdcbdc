"""A plugin-owned table arrives through the plugin's own Alembic branch, end to end.

The fixture distribution ``cumulo-hello`` (``tests/fixtures/cumulo-hello``) is
pip-installed into a directory that only the ``cumulo`` subprocesses see, as an operator
would ``pip install`` a plugin into a deployment. Its ``hello`` branch creates
``hello_greeting``; ``cumulo db check`` must then find no drift, and a server without
the plugin must not mind the table.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import inspect

from cumulo.db.engine import create_engine

CUMULO = Path(sys.executable).with_name("cumulo")


def _cumulo(*args: str, plugins: Path | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CUMULO_")}
    if plugins is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(plugins), env.get("PYTHONPATH")]))
    return subprocess.run(
        [str(CUMULO), *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )


def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return set(inspect(connection).get_table_names())
    finally:
        engine.dispose()


def test_cumulo_db_upgrade_creates_the_plugin_table_and_check_passes(
    database_url: str, fixture_plugins_path: Path
) -> None:
    upgraded = _cumulo("db", "upgrade", "--url", database_url, plugins=fixture_plugins_path)
    assert upgraded.returncode == 0, upgraded.stderr
    assert "Running upgrade" in upgraded.stderr  # the operator sees each revision
    assert {"hello_greeting", "domain", "account", "user"} <= _tables(database_url)

    checked = _cumulo("db", "check", "--url", database_url, plugins=fixture_plugins_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "no differences" in checked.stdout

    current = _cumulo("db", "current", "--url", database_url, plugins=fixture_plugins_path)
    assert current.returncode == 0, current.stderr
    assert [line.split(":")[0] for line in current.stdout.splitlines()] == ["cumulo", "hello"]
    assert "(head)" in current.stdout.splitlines()[1]


def test_check_fails_with_one_line_until_the_plugin_branch_is_migrated(
    database_url: str, fixture_plugins_path: Path
) -> None:
    core_only = _cumulo("db", "upgrade", "--url", database_url, plugins=None)
    assert core_only.returncode == 0, core_only.stderr
    assert "hello_greeting" not in _tables(database_url)

    checked = _cumulo("db", "check", "--url", database_url, plugins=fixture_plugins_path)
    assert checked.returncode == 1
    assert "not up to date" in checked.stdout
    # (stderr also shows that the fixture plugin cumulo-broken was skipped)
    [error] = [line for line in checked.stderr.splitlines() if line.startswith("Error:")]
    assert error == "Error: 1 difference(s) between the models and the database"


def test_removing_the_plugin_after_downgrading_its_branch(
    database_url: str, fixture_plugins_path: Path
) -> None:
    for args in (["upgrade"], ["downgrade", "hello@base"]):
        done = _cumulo("db", *args, "--url", database_url, plugins=fixture_plugins_path)
        assert done.returncode == 0, done.stderr
    assert "hello_greeting" not in _tables(database_url)
    checked = _cumulo("db", "check", "--url", database_url, plugins=None)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_an_unreachable_database_is_one_line_and_exit_1(tmp_path: Path) -> None:
    done = _cumulo(
        "db", "upgrade", "--url", "mysql+pymysql://cloud:pw@127.0.0.1:1/cloud", plugins=None
    )
    assert done.returncode == 1
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("Error: database mysql+pymysql://cloud:***@127.0.0.1:1/cloud:")
    assert "pw@" not in line
