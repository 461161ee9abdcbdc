"""``listApis`` and ``listCapabilities``: generated from the declarations, in the shape
cloudmonkey's ``sync`` and the 4.1 UI read, filtered by role, and without SQL."""

from __future__ import annotations

import json
from typing import Any

import pluggy
import pytest
from api_test_commands import StatementCounter, client_with_test_commands

from cumulo.runtime import Runtime
from cumulo_api.testing import signed_request

PARAM_TYPES = {
    "boolean", "date", "float", "integer", "short", "list", "long",
    "object", "map", "string", "tzdate", "uuid",
}  # fmt: skip


@pytest.fixture
def client(runtime: Runtime, plugin_manager: pluggy.PluginManager) -> Any:
    return client_with_test_commands(runtime, plugin_manager)


def _apis(client: Any, keys: tuple[str, str], **params: str) -> dict[str, Any]:
    result = signed_request(client, keys, "listApis", **params)
    assert result.status_code == 200, result.text
    loaded: dict[str, Any] = json.loads(result.content)["listapisresponse"]
    return loaded


def cloudmonkey_sync(response: dict[str, Any]) -> dict[str, Any]:
    """What cloudmonkey 5.3.3's ``cachemaker.monkeycache`` does with ``listApis``
    (clients.md §3): it fails exactly where cloudmonkey would."""
    count = response["count"]
    apis = response["api"]
    assert count == len(apis)
    cache: dict[str, Any] = {"count": count, "asyncapis": []}
    for api in apis:
        name = api["name"]
        index = next(i for i, char in enumerate(name) if char.isupper())
        verb, subject = name[:index], name[index:].lower()
        if api["isasync"] is True:
            cache["asyncapis"].append(name)
        required = [p["name"] for p in api["params"] if p["required"] is True]
        params = {
            p["name"]: (int(p["length"]), p["type"], p.get("related", "").split(","))
            for p in api["params"]
        }
        cache.setdefault(verb, {})[subject] = {
            "name": name,
            "description": api["description"],
            "requiredparams": required,
            "params": params,
            "response": api["response"],
            "related": api.get("related", "").split(","),
        }
    return cache


def test_list_apis_has_the_shape_cloudmonkey_sync_reads(
    client: Any, admin_keys: tuple[str, str]
) -> None:
    response = _apis(client, admin_keys)
    cache = cloudmonkey_sync(response)
    assert cache["list"]["apis"]["name"] == "listApis"
    assert "createThingTest" in cache["asyncapis"]
    assert "echoTest" not in cache["asyncapis"]
    assert cache["echo"]["test"]["requiredparams"] == ["name"]
    for api in response["api"]:
        assert isinstance(api["isasync"], bool)
        assert isinstance(api["description"], str)
        for param in api["params"]:
            assert type(param["length"]) is int
            assert type(param["required"]) is bool
            assert param["type"] in PARAM_TYPES
            assert isinstance(param["description"], str)
        for field in api["response"]:
            assert set(field) == {"name", "description", "type"}


def test_list_apis_describes_a_command_from_its_declaration(
    client: Any, admin_keys: tuple[str, str]
) -> None:
    [api] = _apis(client, admin_keys, name="listApis")["api"]
    assert api == {
        "name": "listApis",
        "description": "lists all available apis on the server, provided by the Api "
        "Discovery plugin",
        "since": "4.1.0",
        "isasync": False,
        "params": [
            {
                "name": "name",
                "description": "API name",
                "type": "string",
                "length": 255,
                "required": False,
            }
        ],
        "response": [
            {"name": name, "description": "", "type": "string"}
            for name in ("name", "description", "since", "isasync", "related", "params", "response")
        ],
    }
    [echo] = _apis(client, admin_keys, name="echoTest")["api"]
    assert echo["params"][0] == {
        "name": "name",
        "description": "a name",
        "type": "string",
        "length": 10,
        "required": True,
    }


def test_list_apis_lists_only_what_the_role_may_call(
    client: Any, admin_keys: tuple[str, str], user_keys: tuple[str, str]
) -> None:
    admin_names = {api["name"] for api in _apis(client, admin_keys)["api"]}
    user_names = {api["name"] for api in _apis(client, user_keys)["api"]}
    assert "adminOnlyTest" in admin_names
    assert "adminOnlyTest" not in user_names
    assert {"listApis", "listCapabilities", "echoTest"} <= user_names


@pytest.mark.parametrize("name", ["adminOnlyTest", "noSuchCommand"])
def test_list_apis_by_name_not_available_is_530_with_its_text(
    client: Any, user_keys: tuple[str, str], name: str
) -> None:
    result = signed_request(client, user_keys, "listApis", name=name)
    assert result.status_code == 530
    assert json.loads(result.content) == {
        "listapisresponse": {
            "errorcode": 530,
            "cserrorcode": 9999,
            "errortext": "Api Discovery plugin was unable to find an api by that name or "
            "process any apis",
        }
    }


def test_list_apis_runs_no_sql_beyond_authentication(
    client: Any, admin_keys: tuple[str, str], statements: StatementCounter
) -> None:
    signed_request(client, admin_keys, "echoTest", name="warm")  # first-use work aside
    statements.reset()
    assert signed_request(client, admin_keys, "echoTest", name="x").status_code == 200
    authentication_only = statements.count
    statements.reset()
    assert signed_request(client, admin_keys, "listApis").status_code == 200
    assert statements.count == authentication_only, statements.statements


def test_list_capabilities(client: Any, user_keys: tuple[str, str]) -> None:
    result = signed_request(client, user_keys, "listCapabilities")
    assert result.status_code == 200
    assert json.loads(result.content) == {
        "listcapabilitiesresponse": {
            "capability": {
                "securitygroupsenabled": False,
                "cloudstackversion": "4.1.0",
                "userpublictemplateenabled": True,
                "supportELB": "false",
                "projectinviterequired": False,
                "allowusercreateprojects": True,
                "customdiskofferingmaxsize": 1024,
            }
        }
    }


def test_list_capabilities_shows_api_limits_when_throttling_is_on(
    runtime: Runtime, plugin_manager: pluggy.PluginManager, admin_keys: tuple[str, str]
) -> None:
    from cumulo import hookimpl
    from cumulo.sdk import ConfigKey, ValueType

    class Throttling:
        @hookimpl
        def cumulo_configuration_keys(self) -> list[ConfigKey]:
            return [
                ConfigKey("api.throttling.enabled", ValueType.BOOLEAN, "false", "on/off"),
                ConfigKey("api.throttling.interval", ValueType.INTEGER, "1", "seconds"),
                ConfigKey("api.throttling.max", ValueType.INTEGER, "25", "calls"),
            ]

    plugin_manager.register(Throttling(), name="throttling")
    throttled = Runtime.for_url(
        runtime.engine.url, runtime.database_key, pm=plugin_manager, algorithm=runtime.algorithm
    )
    try:
        with throttled.sessions() as session:
            store = throttled.config_store(session)
            store.set("api.throttling.enabled", "true")
            store.set("api.throttling.max", "40")
            session.commit()
        client = client_with_test_commands(throttled, plugin_manager)
        result = signed_request(client, admin_keys, "listCapabilities")
        capability = json.loads(result.content)["listcapabilitiesresponse"]["capability"]
        assert (capability["apilimitinterval"], capability["apilimitmax"]) == (1, 40)
    finally:
        throttled.close()
