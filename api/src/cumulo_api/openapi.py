"""An OpenAPI 3.1 description of the API, generated from the declarations (a cumulo
extension; CloudStack 4.1 had none), served at ``/client/api/openapi.json``.

Every CloudStack command is ``GET|POST /client/api?command=<name>&...``: one URL for
all, told apart by a query parameter, which OpenAPI paths cannot express. Each command
is therefore described under its own synthetic path ``/client/api#<name>``: the
fragment is never sent, so the real request URL is still ``/client/api``; the operation
requires ``command`` with the single allowed value ``<name>`` and carries
``x-cloudstack-command``. Other ``x-cloudstack-*`` fields give the 4.1 facts OpenAPI has
no words for: the role bitmask, the async flag, the envelope, the response class.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from cumulo.sdk.api import Command, Param, ParamType, Role
from cumulo_api import CLOUDSTACK_VERSION
from cumulo_api.params import UUID_PATTERN

OPENAPI_VERSION = "3.1.0"
PATH_PREFIX = "/client/api#"

_SCALAR_SCHEMAS: dict[ParamType, dict[str, Any]] = {
    ParamType.BOOLEAN: {"type": "boolean"},
    ParamType.DATE: {"type": "string", "format": "date", "example": "2013-05-28"},
    ParamType.TZDATE: {
        "type": "string",
        "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|Z?[+-]\d{2}:?\d{2})$",
        "example": "2013-05-28T10:00:00+0000",
    },
    ParamType.FLOAT: {"type": "number", "format": "float"},
    ParamType.SHORT: {"type": "integer", "minimum": -(2**15), "maximum": 2**15 - 1},
    ParamType.INTEGER: {"type": "integer", "format": "int32"},
    ParamType.LONG: {"type": "integer", "format": "int64"},
    ParamType.UUID: {"type": "string", "format": "uuid", "pattern": UUID_PATTERN.pattern},
}

_COMMON_PARAMETERS: dict[str, dict[str, Any]] = {
    "response": {
        "name": "response",
        "in": "query",
        "description": "json for JSON; anything else or nothing gives XML",
        "schema": {"type": "string", "enum": ["json", "xml"]},
    },
    "apiKey": {
        "name": "apiKey",
        "in": "query",
        "description": "the caller's API key (signed requests)",
        "schema": {"type": "string"},
    },
    "signature": {
        "name": "signature",
        "in": "query",
        "description": "Base64 HMAC-SHA1 of the sorted, URL-encoded, lower-cased "
        "parameters, keyed with the secret key (signed requests)",
        "schema": {"type": "string"},
    },
    "signatureVersion": {
        "name": "signatureVersion",
        "in": "query",
        "description": "3 makes expires mandatory and checked",
        "schema": {"type": "string", "enum": ["3"]},
    },
    "expires": {
        "name": "expires",
        "in": "query",
        "description": "yyyy-MM-ddTHH:mm:ss+hhmm after which a signatureVersion=3 "
        "request is refused",
        "schema": _SCALAR_SCHEMAS[ParamType.TZDATE],
    },
    "sessionkey": {
        "name": "sessionkey",
        "in": "query",
        "description": "the sessionkey of the login answer (session requests)",
        "schema": {"type": "string"},
    },
}

_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": '{"<envelope>": {errorcode, cserrorcode, errortext}}; the HTTP status '
    "equals errorcode and the X-Description header repeats errortext",
    "additionalProperties": {
        "type": "object",
        "properties": {
            "errorcode": {"type": "integer"},
            "cserrorcode": {"type": "integer"},
            "errortext": {"type": "string"},
        },
        "required": ["errorcode", "errortext"],
    },
}


def role_names(roles: Role) -> list[str]:
    """The 4.1 role names in ``roles`` (``["Admin", "User"]``)."""
    names = {
        Role.ADMIN: "Admin",
        Role.RESOURCE_ADMIN: "ResourceAdmin",
        Role.DOMAIN_ADMIN: "DomainAdmin",
        Role.USER: "User",
    }
    return [name for bit, name in names.items() if roles & bit]


def param_schema(param: Param) -> dict[str, Any]:
    """The JSON schema of one parameter's value as it travels (a query string)."""
    if param.type is ParamType.LIST:
        item_type = param.item_type or ParamType.STRING
        return {"type": "array", "items": _SCALAR_SCHEMAS.get(item_type, {"type": "string"})}
    if param.type is ParamType.MAP:
        return {"type": "object", "additionalProperties": {"type": "string"}}
    schema = dict(_SCALAR_SCHEMAS.get(param.type, {"type": "string", "maxLength": param.length}))
    if param.choices:
        schema["enum"] = list(param.choices)
    return schema


def _parameter(param: Param) -> dict[str, Any]:
    parameter: dict[str, Any] = {
        "name": param.name,
        "in": "query",
        "required": param.required,
        "description": param.description,
        "schema": param_schema(param),
    }
    if param.type is ParamType.LIST:
        parameter.update(style="form", explode=False)  # a,b,c
    if param.type is ParamType.MAP:
        parameter["x-cloudstack-map"] = f"sent as {param.name}[0].<field>=<value>, ..."
    if param.entity:
        parameter["x-cloudstack-entity"] = param.entity
    if param.since:
        parameter["x-cloudstack-since"] = param.since
    return parameter


def _operation(command: Command, method: str) -> dict[str, Any]:
    envelope_schema: dict[str, Any] = {"type": "object"}
    if command.is_async:
        envelope_schema = {
            "type": "object",
            "properties": {"jobid": {"type": "string"}, "id": {"type": "string"}},
            "required": ["jobid"],
        }
    return {
        "operationId": f"{command.name}{'' if method == 'get' else 'Post'}",
        "summary": command.description or command.name,
        "parameters": [
            {
                "name": "command",
                "in": "query",
                "required": True,
                "schema": {"type": "string", "enum": [command.name]},
            },
            *({"$ref": f"#/components/parameters/{name}"} for name in _COMMON_PARAMETERS),
            *(_parameter(param) for param in command.params),
        ],
        "responses": {
            "200": {
                "description": f"{{{command.envelope!r}: ...}}",
                "content": {
                    "text/javascript": {
                        "schema": {
                            "type": "object",
                            "properties": {command.envelope: envelope_schema},
                            "required": [command.envelope],
                        }
                    },
                    "text/xml": {"schema": {"type": "string"}},
                },
            },
            "default": {
                "description": "a CloudStack error",
                "content": {
                    "text/javascript": {"schema": {"$ref": "#/components/schemas/Error"}},
                    "text/xml": {"schema": {"type": "string"}},
                },
            },
        },
        "x-cloudstack-command": command.name,
        "x-cloudstack-roles": role_names(command.roles),
        "x-cloudstack-async": command.is_async,
        "x-cloudstack-envelope": command.envelope,
        "x-cloudstack-response-class": command.response_class or None,
        "x-cloudstack-response-fields": list(command.response_fields),
        "x-cloudstack-since": command.since,
    }


def build_openapi(commands: Iterable[Command], *, version: str) -> dict[str, Any]:
    """The OpenAPI document describing ``commands``.

    :param version: cumulo's version, shown as the document's ``info.version``.
    """
    paths = {
        f"{PATH_PREFIX}{command.name}": {
            "get": _operation(command, "get"),
            "post": _operation(command, "post"),
        }
        for command in commands
    }
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "cumulo: the CloudStack 4.1 API",
            "version": version,
            "description": (
                f"Apache CloudStack {CLOUDSTACK_VERSION} compatible API. Every command is "
                "GET or POST /client/api?command=<name>; each is described under the "
                "synthetic path /client/api#<name> (the fragment is never sent). "
                "Requests are signed (apiKey, signature) or carry a login session "
                "(JSESSIONID cookie and sessionkey)."
            ),
        },
        "paths": paths,
        "components": {
            "parameters": _COMMON_PARAMETERS,
            "schemas": {"Error": _ERROR_SCHEMA},
            "securitySchemes": {
                "apiKey": {"type": "apiKey", "in": "query", "name": "apiKey"},
                "session": {"type": "apiKey", "in": "cookie", "name": "JSESSIONID"},
            },
        },
        "security": [{"apiKey": []}, {"session": []}],
    }
