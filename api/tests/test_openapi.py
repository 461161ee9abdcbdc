"""The OpenAPI description: valid OpenAPI 3.1, one operation per declared command,
parameters as declared."""

from __future__ import annotations

from typing import Any

import pluggy
import pytest
from api_test_commands import client_with_test_commands
from openapi_spec_validator import validate

from cumulo.runtime import Runtime
from cumulo_api.openapi import PATH_PREFIX


@pytest.fixture
def document(runtime: Runtime, plugin_manager: pluggy.PluginManager) -> dict[str, Any]:
    client = client_with_test_commands(runtime, plugin_manager)
    result = client.simulate_get("/client/api/openapi.json")
    assert result.status_code == 200
    assert result.headers["content-type"].startswith("application/json")
    loaded: dict[str, Any] = result.json
    return loaded


def test_the_document_is_valid_openapi(document: dict[str, Any]) -> None:
    validate(document)
    assert document["openapi"] == "3.1.0"


def test_every_command_is_one_synthetic_path(
    document: dict[str, Any], plugin_manager: pluggy.PluginManager
) -> None:
    from cumulo_api.registry import CommandRegistry

    names = {command.name for command in CommandRegistry.build(plugin_manager)}
    assert set(document["paths"]) == {f"{PATH_PREFIX}{name}" for name in names}
    operation_ids = [
        operation["operationId"]
        for item in document["paths"].values()
        for operation in item.values()
    ]
    assert len(operation_ids) == len(set(operation_ids))


def test_an_operation_describes_its_command(document: dict[str, Any]) -> None:
    operation = document["paths"][f"{PATH_PREFIX}echoTest"]["get"]
    assert operation["x-cloudstack-command"] == "echoTest"
    assert operation["x-cloudstack-async"] is False
    assert operation["x-cloudstack-envelope"] == "echotestresponse"
    assert operation["x-cloudstack-roles"] == ["Admin", "ResourceAdmin", "DomainAdmin", "User"]
    by_name = {p.get("name"): p for p in operation["parameters"] if "name" in p}
    assert by_name["command"]["schema"] == {"type": "string", "enum": ["echoTest"]}
    assert by_name["name"]["required"] is True
    assert by_name["name"]["schema"] == {"type": "string", "maxLength": 10}
    assert by_name["count"]["schema"]["type"] == "integer"
    assert by_name["flag"]["schema"] == {"type": "boolean"}
    create = document["paths"][f"{PATH_PREFIX}createThingTest"]["post"]
    envelope = create["responses"]["200"]["content"]["text/javascript"]["schema"]
    assert envelope["properties"]["createthingtestresponse"]["required"] == ["jobid"]
