"""``listApis`` and ``listCapabilities``: the framework's own commands, both generated
from the declarations and the configuration rather than written by hand.

``listApis`` answers exactly what cloudmonkey's ``sync`` reads (api-reference.md §e;
CS41:plugins/api/discovery/src/org/apache/cloudstack/discovery/
ApiDiscoveryServiceImpl.java): ``count``, ``api[]`` with ``name``, ``description``,
``since``, ``isasync`` (boolean), ``related``, ``params[]`` (``length`` an integer,
``required`` a boolean) and ``response[]``. It lists only the commands the caller's role
may call, and it runs no SQL: everything comes from the in-memory registry.

Handlers reach the per-process services through ``Call.services`` (see
:mod:`cumulo_api.dispatch`): ``"registry"`` the command registry, ``"runtime"`` the
:class:`cumulo.runtime.Runtime`.
"""

from __future__ import annotations

import functools
from typing import Any

from cumulo.sdk.api import (
    ALL_ROLES,
    Call,
    Command,
    ListResult,
    ObjectResult,
    Param,
    Role,
)
from cumulo.sdk.errors import InternalError
from cumulo_api import CLOUDSTACK_VERSION
from cumulo_api.registry import CommandRegistry


class ApiNotFound(InternalError):
    """530 from ``listApis name=...``: 4.1 raised a bare ``ServerApiException`` whose
    text every caller sees (it is not an internal error's hidden text)."""

    cserrorcode = 9999
    internal = False


@functools.cache
def describe_command(command: Command) -> dict[str, Any]:
    """One ``api`` item of ``listApis`` (``ApiDiscoveryResponse`` field order).

    Declarations are immutable, so each is described once per process; the returned
    dict is shared and must not be changed.
    """
    return {
        "name": command.name,
        "description": command.description,
        "since": command.since,
        "isasync": command.is_async,
        "related": ",".join(command.related) or None,
        "params": [describe_param(param) for param in command.params],
        # The declarations carry field names only; 4.1 showed each field's Java type
        # and @Param description, which cumulo does not declare.
        "response": [
            {"name": name, "description": "", "type": "string"} for name in command.response_fields
        ],
    }


def describe_param(param: Param) -> dict[str, Any]:
    """One ``params`` item of a ``listApis`` entry."""
    return {
        "name": param.name,
        "description": param.description,
        "type": param.type.value,
        "length": param.length,
        "required": param.required,
        "since": param.since,
    }


def list_apis(call: Call) -> ListResult:
    """``listApis [name=...]``: the commands the caller's role may call.

    :raises ApiNotFound: ``name`` is not a command the caller may call (530, as 4.1).
    """
    registry: CommandRegistry = call.services["registry"]
    role = call.ctx.role
    name = call.get("name")
    if name is not None:
        command = registry.get(name)
        if command is None or not command.roles & role:
            raise ApiNotFound(
                "Api Discovery plugin was unable to find an api by that name or process any apis"
            )
        commands = [command]
    else:
        commands = [command for command in registry if command.roles & role]
    return ListResult("api", [describe_command(command) for command in commands], len(commands))


# 4.1 configuration keys behind the capabilities, with 4.1's defaults (Config.java);
# read only when some plugin has declared them.
_PUBLIC_TEMPLATES = ("allow.public.user.templates", "true")
_INVITE_REQUIRED = ("project.invite.required", "false")
_USER_PROJECTS = ("allow.user.create.projects", "true")
_DISK_MAX = ("custom.diskoffering.size.max", "1024")
_ELB = ("network.loadbalancer.basiczone.elb.enabled", "false")
_LIMIT_ENABLED = ("api.throttling.enabled", "false")
_LIMIT_INTERVAL = ("api.throttling.interval", "1")
_LIMIT_MAX = ("api.throttling.max", "25")
_CAPABILITY_KEYS = (
    _PUBLIC_TEMPLATES,
    _INVITE_REQUIRED,
    _USER_PROJECTS,
    _DISK_MAX,
    _ELB,
    _LIMIT_ENABLED,
    _LIMIT_INTERVAL,
    _LIMIT_MAX,
)


def _settings(call: Call) -> dict[str, str]:
    """The capability settings: stored values of declared keys (one statement, none
    when no key is declared), 4.1's defaults for the rest."""
    runtime = call.services["runtime"]
    declared = [name for name, _ in _CAPABILITY_KEYS if name in runtime.config]
    stored = runtime.config_store(call.session).values(declared) if declared else {}
    return {name: stored.get(name) or default for name, default in _CAPABILITY_KEYS}


def _true(text: str) -> bool:
    return text.strip().lower() == "true"


def _int(text: str, default: int) -> int:
    try:
        return int(text)
    except ValueError:
        return default


def list_capabilities(call: Call) -> ObjectResult:
    """``listCapabilities``: what the 4.1 UI reads after login (``CapabilitiesResponse``).

    Security groups are reported disabled until zones exist that enable them; the API
    limit fields appear only when throttling is enabled, as in 4.1.
    """
    settings = _settings(call)
    limited = _true(settings[_LIMIT_ENABLED[0]])
    return ObjectResult(
        "capability",
        {
            "securitygroupsenabled": False,
            "cloudstackversion": CLOUDSTACK_VERSION,
            "userpublictemplateenabled": _true(settings[_PUBLIC_TEMPLATES[0]]),
            "supportELB": "true" if _true(settings[_ELB[0]]) else "false",
            "projectinviterequired": _true(settings[_INVITE_REQUIRED[0]]),
            "allowusercreateprojects": _true(settings[_USER_PROJECTS[0]]),
            "customdiskofferingmaxsize": _int(settings[_DISK_MAX[0]], 1024),
            "apilimitinterval": _int(settings[_LIMIT_INTERVAL[0]], 1) if limited else None,
            "apilimitmax": _int(settings[_LIMIT_MAX[0]], 25) if limited else None,
        },
    )


LIST_APIS = Command(
    name="listApis",
    handler=list_apis,
    params=(Param("name", description="API name"),),
    roles=ALL_ROLES,
    response_name="listapisresponse",
    response_class="ApiDiscoveryResponse",
    response_fields=("name", "description", "since", "isasync", "related", "params", "response"),
    description="lists all available apis on the server, provided by the Api Discovery plugin",
    since="4.1.0",
    java_class="org.apache.cloudstack.api.command.user.discovery.ListApisCmd",
)

LIST_CAPABILITIES = Command(
    name="listCapabilities",
    handler=list_capabilities,
    roles=Role.ADMIN | Role.RESOURCE_ADMIN | Role.DOMAIN_ADMIN | Role.USER,
    response_name="listcapabilitiesresponse",
    response_class="CapabilitiesResponse",
    response_fields=(
        "securitygroupsenabled",
        "cloudstackversion",
        "userpublictemplateenabled",
        "supportELB",
        "projectinviterequired",
        "allowusercreateprojects",
        "customdiskofferingmaxsize",
        "apilimitinterval",
        "apilimitmax",
    ),
    description="Lists capabilities",
    java_class="org.apache.cloudstack.api.command.user.config.ListCapabilitiesCmd",
)

COMMANDS = (LIST_APIS, LIST_CAPABILITIES)
"""The framework's own declarations, contributed by :mod:`cumulo_api.plugin`."""
