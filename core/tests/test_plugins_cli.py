"""``cumulo plugins list``: every hook plugin and driver, broken ones included, exit 0.

The last tests run the installed ``cumulo`` command in a subprocess with the fixture
distributions on ``PYTHONPATH``, as an operator who pip-installed them would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from cumulo import hookimpl
from cumulo.plugins import CumuloPluginManager
from cumulo.plugins_cli import COLUMNS, ExtensionRow, plugins, render_table
from cumulo.sdk import Event

HELLO_HOOKS = [
    "cumulo_configuration_keys",
    "cumulo_event",
    "cumulo_migrations",
    "cumulo_register_commands",
]
HELLO = {
    "kind": "plugin",
    "name": "hello",
    "distribution": "cumulo-hello",
    "version": "0.1.0",
    "status": "loaded",
    "provides": HELLO_HOOKS,
    "error": None,
}
BROKEN = {
    "kind": "plugin",
    "name": "broken",
    "distribution": "cumulo-broken",
    "version": "0.1.0",
    "status": "failed",
    "provides": [],
    "error": "ModuleNotFoundError: No module named 'cumulo_missing_dependency'",
}
HELLO_DRIVER = {
    "kind": "driver",
    "name": "Hello",
    "distribution": "cumulo-hello",
    "version": "0.1.0",
    "status": "loaded",
    "provides": ["cumulo.hypervisors:Hello"],
    "error": None,
}
BROKEN_DRIVER = {
    "kind": "driver",
    "name": "Broken",
    "distribution": "cumulo-broken",
    "version": "0.1.0",
    "status": "failed",
    "provides": ["cumulo.hypervisors:Broken"],
    "error": "ModuleNotFoundError: No module named 'libbrokenvendor'",
}


class Auditor:
    @hookimpl
    def cumulo_event(self, event: Event) -> None:
        pass

    @hookimpl
    def cumulo_register_commands(self, cli: click.Group) -> None:
        pass


def _rows_by_name(output: str) -> dict[tuple[str, str], dict[str, Any]]:
    return {(row["kind"], row["name"]): row for row in json.loads(output)}


def test_lists_the_manager_it_is_given(plugin_manager: CumuloPluginManager) -> None:
    plugin_manager.register(Auditor(), name="auditor")
    result = CliRunner().invoke(plugins, ["list", "--json"], obj=plugin_manager)
    assert result.exit_code == 0, result.output
    rows = _rows_by_name(result.output)
    assert rows[("plugin", "auditor")] == {
        "kind": "plugin",
        "name": "auditor",
        "distribution": None,
        "version": None,
        "status": "loaded",
        "provides": ["cumulo_event", "cumulo_register_commands"],
        "error": None,
    }
    core = rows[("plugin", "cumulo.config.core_keys")]
    assert (core["distribution"], core["status"]) == ("cumulo-core", "loaded")


def test_installed_plugins_and_drivers_with_their_errors(
    installed_fixture_plugins: Path,
) -> None:
    result = CliRunner().invoke(plugins, ["list", "--json"])
    assert result.exit_code == 0, result.output
    rows = _rows_by_name(result.output)
    assert rows[("plugin", "hello")] == HELLO
    assert rows[("plugin", "broken")] == BROKEN
    assert rows[("driver", "Hello")] == HELLO_DRIVER
    assert rows[("driver", "Broken")] == BROKEN_DRIVER


def test_blocked_plugin_is_listed_as_blocked(
    installed_fixture_plugins: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CUMULO_BLOCKED_PLUGINS", "hello")
    result = CliRunner().invoke(plugins, ["list", "--json"])
    assert result.exit_code == 0, result.output
    assert _rows_by_name(result.output)[("plugin", "hello")] == {
        **HELLO,
        "status": "blocked",
        "provides": [],
        "error": "blocked by CUMULO_BLOCKED_PLUGINS",
    }


def test_table_has_a_header_and_aligned_columns() -> None:
    rows = [
        ExtensionRow("plugin", "hello", "cumulo-hello", "0.1.0", "loaded", ("a", "b"), None),
        ExtensionRow("driver", "B", None, None, "failed", ("g:B",), "ImportError: x"),
    ]
    lines = render_table(rows).splitlines()
    assert lines[0].split() == [column.upper() for column in COLUMNS]
    assert lines[1].split("  ")[0] == "plugin"
    # every column starts where its heading starts
    starts = [lines[0].index(column.upper()) for column in COLUMNS]
    assert [lines[1][start - 2 : start] for start in starts[1:]] == ["  "] * (len(COLUMNS) - 1)
    assert lines[2][starts[1] :].startswith("B ")
    assert lines[2][starts[2] :].startswith("- ")
    assert lines[1][starts[5] :].startswith("a, b ")
    assert lines[2].endswith("ImportError: x")


# ---- the real command ---------------------------------------------------------------


def _cumulo(fixture_plugins_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    executable = Path(sys.executable).with_name("cumulo")
    assert executable.exists(), f"{executable} is missing: is cumulo-core installed?"
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("CUMULO_") or key == "CUMULO_CONF_DIR"
    }
    env["PYTHONPATH"] = str(fixture_plugins_path)
    return subprocess.run(
        [str(executable), *args], capture_output=True, text=True, env=env, timeout=120
    )


def test_cumulo_plugins_list_shows_installed_and_broken_plugins(
    fixture_plugins_path: Path,
) -> None:
    result = _cumulo(fixture_plugins_path, "plugins", "list")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == [column.upper() for column in COLUMNS]
    hello = next(line for line in lines if line.startswith("plugin  hello "))
    assert hello.split()[2:5] == ["cumulo-hello", "0.1.0", "loaded"]
    assert ", ".join(HELLO_HOOKS) in hello
    broken = next(line for line in lines if line.startswith("plugin  broken "))
    assert broken.split()[2:5] == ["cumulo-broken", "0.1.0", "failed"]
    assert broken.endswith("ModuleNotFoundError: No module named 'cumulo_missing_dependency'")
    driver = next(line for line in lines if line.startswith("driver  Broken "))
    assert driver.endswith("ModuleNotFoundError: No module named 'libbrokenvendor'")
    # the load failure is also reported once on stderr, naming the plugin
    assert result.stderr.count("plugin 'broken' from cumulo-broken 0.1.0") == 1


def test_cumulo_plugins_list_json(fixture_plugins_path: Path) -> None:
    result = _cumulo(fixture_plugins_path, "plugins", "list", "--json")
    assert result.returncode == 0, result.stderr
    rows = _rows_by_name(result.stdout)
    assert rows[("plugin", "hello")] == HELLO
    assert rows[("plugin", "broken")] == BROKEN
    assert rows[("driver", "Hello")] == HELLO_DRIVER
    assert rows[("driver", "Broken")] == BROKEN_DRIVER


def test_cumulo_runs_a_command_contributed_by_a_plugin(fixture_plugins_path: Path) -> None:
    result = _cumulo(fixture_plugins_path, "hello", "--name", "operator")
    assert (result.returncode, result.stdout) == (0, "Hello, operator!\n"), result.stderr
