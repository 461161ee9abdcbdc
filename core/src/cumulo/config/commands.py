"""The global configuration commands: ``listConfigurations`` and ``updateConfiguration``.

Root admin only (4.1's bitmask 1). ``updateConfiguration`` validates the value against
the key's declared type through the registry, stores it in the request's transaction
and records a ``CONFIGURATION.VALUE.EDIT`` event; a secret's value appears neither in
the answer nor in the event. 4.1 semantics kept: without ``value`` the key is answered
unchanged; an empty value or ``null`` clears the override (CS41:
server/src/com/cloud/configuration/ConfigurationManagerImpl.java ``updateConfiguration``
stores NULL, which the code reading the key treats as its default).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cumulo import hookimpl
from cumulo.config.registry import ConfigRegistry
from cumulo.config.store import ConfigStore
from cumulo.config.validation import InvalidConfigValue
from cumulo.config.views import (
    CONFIGURATION_OBJECT,
    CONFIGURATION_RESPONSE_FIELDS,
    RESTART_NOTICE,
    configuration_fields,
    effective_value,
    matching_keys,
    stored_values,
)
from cumulo.db.listing import DEFAULT_PAGE_SIZE, page_window
from cumulo.events import record, types
from cumulo.sdk import ConfigKey
from cumulo.sdk.api import Call, Command, ListResult, ObjectResult, Param, ParamType, Role
from cumulo.sdk.errors import InvalidParameterValue

if TYPE_CHECKING:
    from cumulo.runtime import Runtime

# 4.1 treats these values of updateConfiguration as "no value" (sets the column NULL).
_CLEARING = ("", "null")


def list_configurations(call: Call) -> ListResult:
    """``listConfigurations``: declared keys with their effective values, by name."""
    registry: ConfigRegistry = call.services["config"]
    max_page_size: int = call.services.get("max_page_size", DEFAULT_PAGE_SIZE)
    offset, limit = page_window(call.get("page"), call.get("pagesize"), max_page_size)
    stored = stored_values(call.session)
    keys = matching_keys(
        registry,
        stored,
        name=call.get("name"),
        category=call.get("category"),
        keyword=call.get("keyword"),
    )
    window = keys[offset:] if limit is None else keys[offset : offset + limit]
    items = [configuration_fields(key, effective_value(key, stored)) for key in window]
    return ListResult(CONFIGURATION_OBJECT, items, len(keys))


def update_configuration(call: Call) -> ObjectResult:
    """``updateConfiguration``: set (or clear) one key's global value."""
    runtime: Runtime = call.services["runtime"]
    store = runtime.config_store(call.session)
    name: str = call.get("name")
    value: str | None = call.get("value")
    key = _declared(call, store, name)
    if value is None:
        # 4.1 answers the key as it is when no value is given.
        current = effective_value(key, stored_values(call.session))
        return ObjectResult(CONFIGURATION_OBJECT, configuration_fields(key, current))
    if value.strip() in _CLEARING:
        store.reset(key.name)
        stored = key.default
        change = "reset to its default"
    else:
        stored = _set(call, store, key, value)
        change = "changed (secret value not shown)" if key.secret else f"set to '{stored}'"
    notice = f" {RESTART_NOTICE}" if key.restart_required else ""
    record(
        call,
        types.CONFIGURATION_VALUE_EDIT,
        f"Configuration parameter '{key.name}' {change}.{notice}",
        resource_type="Configuration",
        details={"name": key.name, "restart_required": key.restart_required},
    )
    return ObjectResult(CONFIGURATION_OBJECT, configuration_fields(key, stored))


# The registry reports a bad name or value as a ValueError to every caller; for the API
# it is 4.1's 431, whose text (the registry's message) names the key and the problem.


def _declared(call: Call, store: ConfigStore, name: str) -> ConfigKey:
    try:
        return store.registry.get_key(name)
    except InvalidConfigValue as error:
        raise _invalid(call, "name", error) from None


def _set(call: Call, store: ConfigStore, key: ConfigKey, value: str) -> str:
    try:
        return store.set(key.name, value)
    except InvalidConfigValue as error:
        raise _invalid(call, "value", error) from None


def _invalid(call: Call, param: str, error: InvalidConfigValue) -> InvalidParameterValue:
    label = call.command.envelope.removesuffix("response")
    return InvalidParameterValue(
        f"Unable to execute API command {label} due to invalid {param}: {error}"
    )


LIST_CONFIGURATIONS = Command(
    name="listConfigurations",
    handler=list_configurations,
    params=(
        Param("category", description="lists configurations by category"),
        Param("name", description="lists configuration by name"),
        Param("keyword", description="List by keyword"),
        Param("page", ParamType.INTEGER),
        Param("pagesize", ParamType.INTEGER),
    ),
    roles=Role.ADMIN,
    response_name="listconfigurationsresponse",
    response_class="ConfigurationResponse",
    response_fields=CONFIGURATION_RESPONSE_FIELDS,
    description="Lists all configurations.",
    java_class="org.apache.cloudstack.api.command.admin.config.ListCfgsByCmd",
)

UPDATE_CONFIGURATION = Command(
    name="updateConfiguration",
    handler=update_configuration,
    params=(
        Param("name", description="the name of the configuration", required=True),
        Param("value", description="the value of the configuration", length=4095),
    ),
    roles=Role.ADMIN,
    response_name="updateconfigurationresponse",
    response_class="ConfigurationResponse",
    response_fields=CONFIGURATION_RESPONSE_FIELDS,
    description="Updates a configuration.",
    related=("listConfigurations",),
    java_class="org.apache.cloudstack.api.command.admin.config.UpdateCfgCmd",
    event_type=types.CONFIGURATION_VALUE_EDIT,
)


@hookimpl
def cumulo_api_commands() -> list[Command]:
    """The configuration commands (a built-in plugin: ``cumulo.config.commands``)."""
    return [LIST_CONFIGURATIONS, UPDATE_CONFIGURATION]
