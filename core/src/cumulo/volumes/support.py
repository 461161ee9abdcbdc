"""What the volume and snapshot handlers share: paging, settings, keys, list scope (the
list parameters themselves are :mod:`cumulo.accounts.commands.params`')."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement

from cumulo.accounts.access import check_list_scope, visible_accounts
from cumulo.accounts.commands.support import domain_param, max_page_size
from cumulo.offerings import settings as offering_settings
from cumulo.sdk.api import Call
from cumulo.volumes import pools


def paging(call: Call) -> dict[str, Any]:
    """The paging keyword arguments every list service takes."""
    return {
        "page": call.get("page"),
        "pagesize": call.get("pagesize"),
        "max_page_size": max_page_size(call),
    }


def _store(call: Call) -> Any:
    runtime = call.services.get("runtime")
    return None if runtime is None else runtime.config_store(call.session)


def max_volume_size_gb(call: Call) -> int:
    """``storage.max.volume.size`` in GB."""
    store = _store(call)
    value = store.integer(offering_settings.MAX_VOLUME_SIZE) if store is not None else None
    return int(value) if value is not None else offering_settings.DEFAULT_MAX_VOLUME_SIZE_GB


def setting_int(call: Call, name: str, default: int) -> int:
    """An integer global setting as this transaction reads it."""
    store = _store(call)
    value = store.integer(name) if store is not None else None
    return int(value) if value is not None else default


def factor(call: Call) -> float:
    """``storage.overprovisioning.factor``."""
    return pools.overprovisioning(call.services, call.session)


def keys(call: Call) -> tuple[str, str]:
    """The database key and algorithm (they reveal hosts' stored passwords)."""
    runtime = call.services.get("runtime")
    if runtime is None:
        return call.services.get("database_key", ""), call.services.get("algorithm", "")
    return runtime.database_key, runtime.algorithm


def list_scope(call: Call) -> ColumnElement[bool]:
    """The accounts a list shows (``account``, ``domainid``, ``listall``,
    ``isrecursive``), after 4.1's checks of those parameters (431/531)."""
    domain = domain_param(call, "domainid")
    check_list_scope(call.ctx, call.session, domain=domain, account_name=call.get("account"))
    return visible_accounts(
        call.ctx,
        listall=bool(call.get("listall", False)),
        isrecursive=bool(call.get("isrecursive", False)),
        domain_id=domain.id if domain is not None else None,
        account_name=call.get("account"),
    )
