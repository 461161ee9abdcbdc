"""The plugin manager: loading, blocking, tracing, broken plugins, and calling plugin by plugin.

Plugins here are real installed distributions: throwaway ones written per test
(``make_distribution``) and the fixture distributions under ``tests/fixtures/``
installed with pip (``installed_fixture_plugins``).
"""

from __future__ import annotations

import logging
from pathlib import Path

import click
import pluggy
import pytest
from click.testing import CliRunner

from cumulo import hookimpl
from cumulo.plugins import (
    BUILTIN_PLUGINS,
    CumuloPluginManager,
    PluginRecord,
    emit_event,
    get_plugin_manager,
    list_plugins,
    plugin_load_errors,
    register_plugin_commands,
)
from cumulo.sdk import Event
from cumulo.testing.plugins import MakeDistribution

OBSERVER = """
from cumulo import hookimpl

@hookimpl
def cumulo_event(event):
    pass
"""


def _install_observer(make_distribution: MakeDistribution, name: str = "observer") -> None:
    make_distribution(
        f"cumulo-{name}",
        modules={f"cumulo_t_{name}": OBSERVER},
        entry_points={"cumulo.plugins": {name: f"cumulo_t_{name}"}},
        version="1.2.3",
    )


def _record(pm: pluggy.PluginManager, name: str) -> PluginRecord:
    matches = [record for record in list_plugins(pm) if record.name == name]
    assert len(matches) == 1, f"{name!r} listed {len(matches)} times"
    return matches[0]


def test_builtin_plugins_are_registered_with_autoload_off(
    plugin_manager: CumuloPluginManager,
) -> None:
    records = {record.name: record for record in list_plugins(plugin_manager)}
    for name in BUILTIN_PLUGINS:
        assert records[name].status == "loaded"
        assert records[name].distribution == "cumulo-core"
    assert "cumulo_configuration_keys" in records["cumulo.config.core_keys"].provides


def test_autoload_registers_entry_point_plugins_with_their_origin(
    make_distribution: MakeDistribution,
) -> None:
    _install_observer(make_distribution)
    pm = get_plugin_manager()
    assert pm.has_plugin("observer")
    record = _record(pm, "observer")
    assert record == PluginRecord(
        "observer", "cumulo-observer", "1.2.3", ("cumulo_event",), "loaded", None
    )


@pytest.mark.parametrize(
    ("autoload", "env", "loaded"),
    [
        (False, None, False),
        (None, "1", False),
        (None, "yes", False),
        (None, "0", True),
        (None, None, True),
        (True, "1", True),  # an explicit argument wins over the environment
    ],
)
def test_autoload_switch(
    make_distribution: MakeDistribution,
    monkeypatch: pytest.MonkeyPatch,
    autoload: bool | None,
    env: str | None,
    loaded: bool,
) -> None:
    _install_observer(make_distribution)
    if env is None:
        monkeypatch.delenv("CUMULO_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    else:
        monkeypatch.setenv("CUMULO_DISABLE_PLUGIN_AUTOLOAD", env)
    pm = get_plugin_manager(autoload=autoload)
    assert pm.has_plugin("observer") is loaded
    assert all(pm.has_plugin(name) for name in BUILTIN_PLUGINS)


def test_blocked_plugins_are_not_loaded_and_listed_as_blocked(
    make_distribution: MakeDistribution, monkeypatch: pytest.MonkeyPatch
) -> None:
    _install_observer(make_distribution, "observer")
    _install_observer(make_distribution, "welcome")
    monkeypatch.setenv("CUMULO_BLOCKED_PLUGINS", f" observer, {BUILTIN_PLUGINS[0]} ")
    pm = get_plugin_manager()
    assert not pm.has_plugin("observer")
    assert pm.has_plugin("welcome")
    # built-in plugins are essential: naming one in the block list has no effect
    assert pm.has_plugin(BUILTIN_PLUGINS[0])
    assert _record(pm, "observer").status == "blocked"
    assert plugin_load_errors(pm) == {}


def test_plugin_that_fails_to_import_is_recorded_and_skipped(
    make_distribution: MakeDistribution, caplog: pytest.LogCaptureFixture
) -> None:
    _install_observer(make_distribution, "welcome")
    make_distribution(
        "cumulo-shaky",
        modules={"cumulo_t_shaky": "import cumulo_t_not_installed\n"},
        entry_points={"cumulo.plugins": {"shaky": "cumulo_t_shaky"}},
    )
    with caplog.at_level(logging.WARNING, logger="cumulo.plugins"):
        pm = get_plugin_manager()
    assert pm.has_plugin("welcome")
    assert not pm.has_plugin("shaky")
    error = "ModuleNotFoundError: No module named 'cumulo_t_not_installed'"
    assert plugin_load_errors(pm) == {"shaky": error}
    record = _record(pm, "shaky")
    assert (record.distribution, record.status, record.error) == (
        "cumulo-shaky",
        "failed",
        error,
    )
    assert [r.getMessage() for r in caplog.records] == [
        f"plugin 'shaky' from cumulo-shaky 1.0 could not be loaded and was skipped: {error}"
    ]


def test_plugin_whose_hook_takes_an_unknown_argument_is_skipped(
    make_distribution: MakeDistribution,
) -> None:
    source = OBSERVER.replace("def cumulo_event(event)", "def cumulo_event(event, session)")
    make_distribution(
        "cumulo-greedy",
        modules={"cumulo_t_greedy": source},
        entry_points={"cumulo.plugins": {"greedy": "cumulo_t_greedy"}},
    )
    pm = get_plugin_manager()
    assert not pm.has_plugin("greedy")
    error = plugin_load_errors(pm)["greedy"]
    assert error.startswith("PluginValidationError: ")
    assert "session" in error
    assert "\n" not in error
    assert pm.hook.cumulo_event.get_hookimpls() == []


def test_plugin_implementing_an_unknown_hook_is_unregistered(
    make_distribution: MakeDistribution,
) -> None:
    _install_observer(make_distribution, "welcome")
    make_distribution(
        "cumulo-typo",
        modules={"cumulo_t_typo": OBSERVER + "\n@hookimpl\ndef cumulo_evnet(event):\n    pass\n"},
        entry_points={"cumulo.plugins": {"typo": "cumulo_t_typo"}},
        version="2.0",
    )
    pm = get_plugin_manager()
    assert not pm.has_plugin("typo")
    assert pm.has_plugin("welcome")
    assert "cumulo_evnet" in plugin_load_errors(pm)["typo"]
    # the whole plugin is gone, including its valid cumulo_event implementation
    assert [impl.plugin_name for impl in pm.hook.cumulo_event.get_hookimpls()] == ["welcome"]
    record = _record(pm, "typo")
    assert (record.distribution, record.version) == ("cumulo-typo", "2.0")


def test_second_distribution_claiming_a_plugin_name_is_refused(
    make_distribution: MakeDistribution,
) -> None:
    _install_observer(make_distribution, "observer")
    make_distribution(
        "cumulo-impostor",
        modules={"cumulo_t_impostor": OBSERVER},
        entry_points={"cumulo.plugins": {"observer": "cumulo_t_impostor"}},
    )
    pm = get_plugin_manager()
    assert pm.get_plugin("observer").__name__ in {"cumulo_t_observer", "cumulo_t_impostor"}
    [error] = plugin_load_errors(pm).values()
    assert "the plugin name 'observer' is already taken by cumulo-" in error


def test_trace_plugins_writes_every_hook_call_to_stderr(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    class Observer:
        @hookimpl
        def cumulo_event(self, event: Event) -> str:
            return f"seen {event.type}"

    monkeypatch.setenv("CUMULO_TRACE_PLUGINS", "1")
    pm = get_plugin_manager(autoload=False)
    pm.register(Observer(), name="tracer-test")
    capsys.readouterr()
    assert pm.hook.cumulo_event(event=Event("VM.CREATE")) == ["seen VM.CREATE"]
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("cumulo trace: cumulo_event(event=Event(type='VM.CREATE'")
    assert lines[0].endswith("-> tracer-test")
    assert lines[1] == "cumulo trace: cumulo_event returned ['seen VM.CREATE']"


def test_no_trace_output_by_default(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("CUMULO_TRACE_PLUGINS", raising=False)
    pm = get_plugin_manager(autoload=False)
    pm.hook.cumulo_event(event=Event("VM.CREATE"))
    assert capsys.readouterr().err == ""


def test_fixture_distributions_load_as_installed(installed_fixture_plugins: Path) -> None:
    pm = get_plugin_manager()
    hello = _record(pm, "hello")
    assert (hello.distribution, hello.version, hello.status) == (
        "cumulo-hello",
        "0.1.0",
        "loaded",
    )
    assert hello.provides == (
        "cumulo_configuration_keys",
        "cumulo_event",
        "cumulo_migrations",
        "cumulo_register_commands",
    )
    assert plugin_load_errors(pm)["broken"] == (
        "ModuleNotFoundError: No module named 'cumulo_missing_dependency'"
    )
    assert not pm.has_plugin("broken")


# ---- cumulo_register_commands -------------------------------------------------------


def _cli_with_status() -> click.Group:
    @click.group()
    def cli() -> None:
        """Test CLI."""

    @cli.command()
    def status() -> None:
        click.echo("built-in status")

    return cli


class Greeter:
    @hookimpl
    def cumulo_register_commands(self, cli: click.Group) -> None:
        @cli.command()
        def greet() -> None:
            click.echo("greetings")


class HalfDone:
    @hookimpl
    def cumulo_register_commands(self, cli: click.Group) -> None:
        @cli.command()
        def half() -> None:
            click.echo("half")

        raise RuntimeError("lost my config")


class Usurper:
    @hookimpl
    def cumulo_register_commands(self, cli: click.Group) -> None:
        @cli.command()
        def status() -> None:
            click.echo("usurped status")

        @cli.command()
        def extra() -> None:
            click.echo("extra")


def test_hook_cumulo_register_commands(
    plugin_manager: CumuloPluginManager, capsys: pytest.CaptureFixture[str]
) -> None:
    pm = plugin_manager
    pm.register(Greeter(), name="greeter")
    pm.register(HalfDone(), name="half-done")
    pm.register(Usurper(), name="usurper")
    cli = _cli_with_status()

    register_plugin_commands(pm, cli)

    warnings = capsys.readouterr().err
    # Built-in plugins contribute theirs too (cumulo.templates: install-systemvm-template).
    assert {"extra", "greet", "status", "install-systemvm-template"} <= set(cli.commands)
    runner = CliRunner()
    assert runner.invoke(cli, ["greet"]).output == "greetings\n"
    assert runner.invoke(cli, ["extra"]).output == "extra\n"
    # the existing command is kept; the failing plugin's partial work is taken back
    assert runner.invoke(cli, ["status"]).output == "built-in status\n"
    assert (
        "Warning: plugin 'half-done' failed to register its commands and they were "
        "skipped: RuntimeError: lost my config" in warnings
    )
    assert (
        "Warning: plugin 'usurper' tried to replace the existing command 'status'; "
        "the existing command was kept" in warnings
    )


def test_hook_cumulo_register_commands_from_an_installed_plugin(
    installed_fixture_plugins: Path,
) -> None:
    cli = _cli_with_status()
    register_plugin_commands(get_plugin_manager(), cli)
    result = CliRunner().invoke(cli, ["hello", "--name", "operator"])
    assert (result.exit_code, result.output) == (0, "Hello, operator!\n")


# ---- cumulo_event -------------------------------------------------------------------


class Recorder:
    def __init__(self) -> None:
        self.events: list[Event] = []

    @hookimpl
    def cumulo_event(self, event: Event) -> None:
        self.events.append(event)


class Exploder:
    @hookimpl
    def cumulo_event(self, event: Event) -> None:
        raise ValueError(f"cannot handle {event.type}")


def test_hook_cumulo_event(
    plugin_manager: CumuloPluginManager, caplog: pytest.LogCaptureFixture
) -> None:
    first, last = Recorder(), Recorder()
    pm = plugin_manager
    # pluggy calls the last registered first, so the failing observer sits in the middle
    pm.register(first, name="first")
    pm.register(Exploder(), name="exploder")
    pm.register(last, name="last")
    event = Event("VM.START", resource_type="VirtualMachine", resource_uuid="0b9e-vm")

    with caplog.at_level(logging.ERROR, logger="cumulo.plugins"):
        emit_event(pm, event)
        emit_event(pm, Event("VM.STOP"))

    assert [e.type for e in first.events] == ["VM.START", "VM.STOP"]
    assert [e.type for e in last.events] == ["VM.START", "VM.STOP"]
    assert first.events[0] is event
    failures = [r for r in caplog.records if r.name == "cumulo.plugins"]
    assert [r.getMessage() for r in failures] == [
        "event observer of plugin 'exploder' failed on event VM.START (0b9e-vm); "
        "other observers still received it",
        "event observer of plugin 'exploder' failed on event VM.STOP (no resource); "
        "other observers still received it",
    ]
    assert failures[0].exc_info is not None
    assert str(failures[0].exc_info[1]) == "cannot handle VM.START"


def test_hook_cumulo_event_reaches_an_installed_plugin(
    installed_fixture_plugins: Path, caplog: pytest.LogCaptureFixture
) -> None:
    pm = get_plugin_manager()
    with caplog.at_level(logging.INFO, logger="cumulo_hello"):
        emit_event(pm, Event("VM.CREATE", resource_uuid="5d1c-vm"))
    assert [r.getMessage() for r in caplog.records if r.name.startswith("cumulo_hello")] == [
        "hello observed VM.CREATE 5d1c-vm"
    ]
