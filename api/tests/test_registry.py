"""The command registry and the ``cumulo_api_commands`` hook: a plugin's declaration
answers over HTTP and appears in ``listApis``; conflicts name both plugins."""

from __future__ import annotations

import json

import falcon.testing
import pluggy
import pytest

from cumulo import hookimpl
from cumulo.runtime import Runtime
from cumulo.sdk import Call, Command, ObjectResult, Param, ParamType, Role
from cumulo_api.app import create_app
from cumulo_api.registry import CommandRegistry, CommandRegistryError
from cumulo_api.testing import signed_request


def get_greeting(call: Call) -> ObjectResult:
    return ObjectResult("greeting", {"text": f"Hello, {call.get('name')}!"})


GREETING = Command(
    "getGreeting",
    get_greeting,
    params=(Param("name", ParamType.STRING, "who to greet", required=True),),
    roles=Role.ADMIN | Role.USER,
    description="Greets",
)


class HelloPlugin:
    @hookimpl
    def cumulo_api_commands(self) -> list[Command]:
        return [GREETING]


def test_hook_cumulo_api_commands(
    runtime: Runtime, plugin_manager: pluggy.PluginManager, admin_keys: tuple[str, str]
) -> None:
    plugin_manager.register(HelloPlugin(), name="hello")
    client = falcon.testing.TestClient(create_app(runtime))

    answer = signed_request(client, admin_keys, "getGreeting", name="cloud")
    assert answer.status_code == 200
    assert json.loads(answer.content) == {
        "getgreetingresponse": {"greeting": {"text": "Hello, cloud!"}}
    }
    listed = json.loads(signed_request(client, admin_keys, "listApis").content)
    assert "getGreeting" in {api["name"] for api in listed["listapisresponse"]["api"]}

    class Impostor:
        @hookimpl
        def cumulo_api_commands(self) -> list[Command]:
            return [GREETING]

    plugin_manager.register(Impostor(), name="impostor")
    with pytest.raises(CommandRegistryError) as refused:
        CommandRegistry.build(plugin_manager)
    assert "'getGreeting'" in str(refused.value)
    assert "'hello'" in str(refused.value)
    assert "'impostor'" in str(refused.value)


def test_core_command_names_cannot_be_taken_either(plugin_manager: pluggy.PluginManager) -> None:
    class Squatter:
        @hookimpl
        def cumulo_api_commands(self) -> list[Command]:
            return [Command("listApis", get_greeting)]

    plugin_manager.register(Squatter(), name="squatter")
    with pytest.raises(CommandRegistryError, match="'api' and plugin 'squatter'"):
        CommandRegistry.build(plugin_manager)


def test_broken_plugins_are_skipped_and_reported(plugin_manager: pluggy.PluginManager) -> None:
    class Raises:
        @hookimpl
        def cumulo_api_commands(self) -> list[Command]:
            raise RuntimeError("cannot import vendor SDK")

    class WrongType:
        @hookimpl
        def cumulo_api_commands(self) -> object:
            return ["listThings"]

    class UpperCaseParam:
        @hookimpl
        def cumulo_api_commands(self) -> list[Command]:
            return [Command("listThings", get_greeting, params=(Param("zoneId"),))]

    plugin_manager.register(Raises(), name="raises")
    plugin_manager.register(WrongType(), name="wrongtype")
    plugin_manager.register(UpperCaseParam(), name="uppercase")
    registry = CommandRegistry.build(plugin_manager)
    assert "listApis" in registry
    assert "listThings" not in registry
    assert registry.errors["raises"] == "RuntimeError: cannot import vendor SDK"
    assert "not cumulo.sdk.Command" in registry.errors["wrongtype"]
    assert "must be lower-case" in registry.errors["uppercase"]


def test_registry_lookup_is_case_sensitive_and_ordered(
    plugin_manager: pluggy.PluginManager,
) -> None:
    plugin_manager.register(HelloPlugin(), name="hello")
    registry = CommandRegistry.build(plugin_manager)
    assert registry.get("getGreeting") is GREETING
    assert registry.get("getgreeting") is None
    assert registry.plugin_of("getGreeting") == "hello"
    names = [command.name for command in registry]
    assert names == sorted(names)
    assert len(registry) == len(names)


def test_plugin_module_adds_the_cli_commands_that_exist(monkeypatch: pytest.MonkeyPatch) -> None:
    import click

    import cumulo_api.plugin

    monkeypatch.setattr(
        cumulo_api.plugin,
        "CLI_COMMANDS",
        ("cumulo_api.no_such_module:serve", *cumulo_api.plugin.CLI_COMMANDS),
    )
    cli = click.Group("cumulo")
    cumulo_api.plugin.cumulo_register_commands(cli)
    assert {"serve", "api"} <= set(cli.commands)
    assert [command.name for command in cumulo_api.plugin.cumulo_api_commands()] == [
        "listApis",
        "listCapabilities",
    ]
