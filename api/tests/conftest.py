"""Fixtures of the API framework's tests.

- ``user_keys`` / ``domain_admin_keys``: signed callers other than root admin, in
  accounts of their own;
- ``statements``: counts SQL statements sent through the runtime's engine;
- ``plugin_manager``: the core's fresh manager plus this distribution's hook module.

The compatibility test reports its coverage figure through :func:`pytest_terminal_summary`
so that it shows in a normal run, without ``-s``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pluggy
import pytest
from api_test_commands import StatementCounter, make_caller
from sqlalchemy import event

from cumulo.runtime import Runtime

SUMMARY_PROPERTY = "cloudstack_41_summary"
"""``record_property`` name of the lines the compatibility test wants printed at the end.

Test reports carry their properties to the pytest-xdist controller, so the lines reach
the terminal summary whether or not the run is distributed."""

_COLLECTED: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Collect the summary lines recorded by tests (in the process that prints)."""
    if report.when == "call":
        _COLLECTED.extend(
            str(value) for name, value in report.user_properties if name == SUMMARY_PROPERTY
        )


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print the compatibility coverage lines recorded during the run (if it ran)."""
    if _COLLECTED:
        terminalreporter.write_sep("-", "CloudStack 4.1 API compatibility")
        for line in _COLLECTED:
            terminalreporter.write_line(line)


@pytest.fixture
def report_line(record_property: Callable[[str, object], None]) -> Callable[[str], None]:
    """Record a line for the end-of-run summary."""
    return lambda line: record_property(SUMMARY_PROPERTY, line)


@pytest.fixture
def user_keys(runtime: Runtime) -> tuple[str, str]:
    """Keys of a plain user (account type 0)."""
    return make_caller(runtime, "alice", 0)


@pytest.fixture
def domain_admin_keys(runtime: Runtime) -> tuple[str, str]:
    """Keys of a domain admin (account type 2)."""
    return make_caller(runtime, "dora", 2)


@pytest.fixture
def statements(runtime: Runtime) -> Iterator[StatementCounter]:
    """A statement counter on the runtime's engine."""
    counter = StatementCounter()
    event.listen(runtime.engine, "before_cursor_execute", counter)
    yield counter
    event.remove(runtime.engine, "before_cursor_execute", counter)


@pytest.fixture
def plugin_manager(plugin_manager: pluggy.PluginManager) -> pluggy.PluginManager:
    """The core's fresh plugin manager with this distribution's hook module."""
    import cumulo_api.plugin

    if not plugin_manager.is_registered(cumulo_api.plugin):
        plugin_manager.register(cumulo_api.plugin, name="api")
    return plugin_manager
