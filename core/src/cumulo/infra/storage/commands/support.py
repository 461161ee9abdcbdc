"""What the storage handlers share: secrets, settings, paging and event recording."""

from __future__ import annotations

from typing import Any

from cumulo.accounts.commands.support import max_page_size, secrets_key
from cumulo.events import record
from cumulo.infra.storage.pools import Secrets
from cumulo.sdk.api import Call, Param, ParamType

PAGING = (
    Param("keyword", description="List by keyword"),
    Param("page", ParamType.INTEGER),
    Param("pagesize", ParamType.INTEGER),
)
"""``BaseListCmd``'s parameters, declared last as 4.1 lists them."""


def secrets(call: Call) -> Secrets:
    """The database key and algorithm that seal stored storage credentials."""
    key, algorithm = secrets_key(call)
    return Secrets(key, algorithm)


def setting_enabled(call: Call, name: str) -> bool:
    """A boolean global setting as this transaction reads it."""
    runtime = call.services["runtime"]
    return bool(runtime.config_store(call.session).boolean(name))


def paging(call: Call) -> dict[str, Any]:
    """The paging keyword arguments every list service takes."""
    return {
        "page": call.get("page"),
        "pagesize": call.get("pagesize"),
        "max_page_size": max_page_size(call),
    }


def warn(call: Call, type: str, lines: list[str], *, resource_type: str, uuid: str) -> None:
    """Record one ``WARN`` event per line: how an API tells an operator what a
    request did that deserves attention (REQ-PS-03, REQ-PS-04, REQ-SS-02, REQ-SS-04)."""
    for line in lines:
        record(call, type, line, level="WARN", resource_type=resource_type, resource_uuid=uuid)
