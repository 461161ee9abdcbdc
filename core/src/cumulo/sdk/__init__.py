"""The cumulo plugin SDK: the only core surface plugins import besides ``hookimpl``.

``SDK_VERSION`` follows semantic versioning on its own: a plugin states the range it
was written against (``cumulo-core>=0.1,<1``) and the core refuses nothing silently;
removals happen only in a new major version after a deprecation period.
"""

from cumulo.sdk.api import (
    ALL_ROLES,
    ANY_ADMIN,
    Call,
    CallContext,
    Command,
    ListResult,
    ObjectResult,
    Param,
    ParamType,
    RawResult,
    Role,
    SuccessResult,
)
from cumulo.sdk.config import ConfigKey, Scope, ValueType
from cumulo.sdk.driver import Driver
from cumulo.sdk.events import Event
from cumulo.sdk.migrations import MigrationLocation

SDK_VERSION = "0.1.0"

__all__ = [
    "ALL_ROLES",
    "ANY_ADMIN",
    "SDK_VERSION",
    "Call",
    "CallContext",
    "Command",
    "ConfigKey",
    "Driver",
    "Event",
    "ListResult",
    "MigrationLocation",
    "ObjectResult",
    "Param",
    "ParamType",
    "RawResult",
    "Role",
    "Scope",
    "SuccessResult",
    "ValueType",
]
