"""What the offering handlers share: settings as this transaction reads them, paging,
and the domain a ``domainid`` parameter names."""

from __future__ import annotations

from typing import Any

from cumulo.accounts.commands.support import domain_param, max_page_size
from cumulo.accounts.models import Domain
from cumulo.offerings import settings
from cumulo.offerings.visibility import check_domain_filter
from cumulo.sdk.api import Call, Param, ParamType

PAGING = (
    Param("keyword", description="List by keyword"),
    Param("page", ParamType.INTEGER, description=""),
    Param("pagesize", ParamType.INTEGER, description=""),
)
"""``BaseListCmd``'s parameters, declared last as 4.1 lists them."""


def _store(call: Call) -> Any:
    runtime = call.services.get("runtime")
    return None if runtime is None else runtime.config_store(call.session)


def ascending(call: Call) -> bool:
    """``sortkey.algorithm``: sort keys ascending (true) or descending (false, 4.1's
    default)."""
    store = _store(call)
    return bool(store.boolean(settings.SORTKEY_ALGORITHM)) if store is not None else False


def max_volume_size_gb(call: Call) -> int:
    """``storage.max.volume.size`` in GB."""
    store = _store(call)
    value = store.integer(settings.MAX_VOLUME_SIZE) if store is not None else None
    return int(value) if value is not None else settings.DEFAULT_MAX_VOLUME_SIZE_GB


def list_kwargs(call: Call) -> dict[str, Any]:
    """The ordering and paging keyword arguments of the list services."""
    return {
        "ascending": ascending(call),
        "page": call.get("page"),
        "pagesize": call.get("pagesize"),
        "max_page_size": max_page_size(call),
    }


def owner_domain(call: Call) -> Domain | None:
    """The domain ``domainid`` names for a new offering (431 if unknown)."""
    return domain_param(call, "domainid")


def filter_domain_id(call: Call) -> int | None:
    """The internal id of a list's ``domainid`` after checking the caller may list the
    offerings of that domain (431 unknown, 531 out of reach)."""
    domain = domain_param(call, "domainid")
    if domain is None:
        return None
    check_domain_filter(call.ctx, domain)
    return domain.id


def domain_of(call: Call, domain_id: int | None) -> tuple[str | None, str | None]:
    """``(uuid, name)`` of an offering's domain, for a single-object answer."""
    if domain_id is None:
        return None, None
    domain = call.session.get(Domain, domain_id)
    return (domain.uuid, domain.name) if domain is not None else (None, None)
