"""The 4.1 resource limit commands: updateResourceLimit, listResourceLimits and
updateResourceCount; and the default-limit settings (``max.account.*`` ...).

Contributed through ``cumulo_api_commands`` and ``cumulo_configuration_keys``
(``cumulo.limits.commands`` is in ``BUILTIN_PLUGINS``).
"""

from __future__ import annotations

from cumulo import hookimpl
from cumulo.accounts.commands import params
from cumulo.accounts.commands.support import domain_param, paging
from cumulo.accounts.lookup import invalid_id
from cumulo.db.listing import page_window
from cumulo.limits import admin, recount
from cumulo.limits.settings import cumulo_configuration_keys
from cumulo.limits.types import ResourceType
from cumulo.sdk.api import (
    ALL_ROLES,
    ANY_ADMIN,
    Call,
    Command,
    Fields,
    ListResult,
    ObjectResult,
    Param,
    ParamType,
)

__all__ = ["COMMANDS", "cumulo_api_commands", "cumulo_configuration_keys"]

LIMIT_FIELDS = ("account", "domainid", "domain", "resourcetype", "max", "projectid", "project")
COUNT_FIELDS = (
    "account",
    "projectid",
    "project",
    "domainid",
    "domain",
    "resourcetype",
    "resourcecount",
)

_TYPES = (
    "0 - Instance. Number of instances a user can create. 1 - IP. Number of public IP"
    " addresses a user can own. 2 - Volume. Number of disk volumes a user can create.3 -"
    " Snapshot. Number of snapshots a user can create.4 - Template. Number of templates that"
    " a user can register/create."
)


def limit_fields(limit: admin.Limit) -> Fields:
    """A ``ResourceLimitResponse``; ``resourcetype`` is 4.1's number, as a string."""
    return {
        "account": None if limit.account is None else limit.account.account_name,
        "domainid": limit.domain.uuid,
        "domain": limit.domain.name,
        "resourcetype": str(int(limit.resource_type)),
        "max": limit.max,
    }


def count_fields(count: recount.Count) -> Fields:
    """A ``ResourceCountResponse``."""
    return {
        "account": None if count.account is None else count.account.account_name,
        "domainid": count.domain.uuid,
        "domain": count.domain.name,
        "resourcetype": str(int(count.resource_type)),
        "resourcecount": count.count,
    }


def _no_projects(call: Call) -> None:
    # cumulo has no projects yet: any project id names nothing.
    if call.get("projectid") is not None:
        raise invalid_id("projectid", call.get("projectid"))


def _resource_type(call: Call) -> ResourceType | None:
    value = call.get("resourcetype")
    return None if value is None else ResourceType.of(value)


def _update_limit(call: Call) -> ObjectResult:
    _no_projects(call)
    domain = domain_param(call)
    account = admin.named_account(call.session, call.get("account"), domain)
    kind = _resource_type(call)
    assert kind is not None  # required
    limit = admin.update_limit(
        call.ctx,
        call.session,
        resource_type=kind,
        max_value=call.get("max"),
        account=account,
        domain=domain,
    )
    return ObjectResult("resourcelimit", limit_fields(limit))


def _list_limits(call: Call) -> ListResult:
    if call.get("projectid") is not None:
        if call.get("projectid") != "-1":
            raise invalid_id("projectid", call.get("projectid"))
        return ListResult("resourcelimit", [], 0)
    domain = domain_param(call)
    account = admin.named_account(call.session, call.get("account"), domain)
    limits = admin.list_limits(
        call.ctx,
        call.session,
        account=account,
        domain=domain,
        resource_type=_resource_type(call),
        limit_id=call.get("id"),
    )
    return _page(call, "resourcelimit", [limit_fields(limit) for limit in limits])


def _update_count(call: Call) -> ListResult:
    _no_projects(call)
    domain = domain_param(call)
    assert domain is not None  # required
    account = admin.named_account(call.session, call.get("account"), domain)
    admin.check_count_access(call.ctx, call.session, domain, account)
    kind = _resource_type(call)
    counts = recount.recount(
        call.session,
        domain,
        account=account,
        types=tuple(ResourceType) if kind is None else (kind,),
    )
    items = [count_fields(count) for count in counts]
    return ListResult("resourcecount", items, len(items))


def _page(call: Call, name: str, items: list[Fields]) -> ListResult:
    # At most eight limits exist per owner: page them in memory, with 4.1's rules.
    window = paging(call)
    offset, size = page_window(window["page"], window["pagesize"], window["max_page_size"])
    shown = items[offset:] if size is None else items[offset : offset + size]
    return ListResult(name, shown, len(items))


_ACCOUNT_UPDATE = Param(
    "account",
    description=(
        "Update resource for a specified account. Must be used with the domainId parameter."
    ),
)
_PROJECT = Param(
    "projectid",
    ParamType.UUID,
    description="Update resource limits for project",
    entity="Project",
)

COMMANDS: tuple[Command, ...] = (
    Command(
        name="updateResourceLimit",
        handler=_update_limit,
        params=(
            _ACCOUNT_UPDATE,
            Param(
                "domainid",
                ParamType.UUID,
                description=(
                    "Update resource limits for all accounts in specified domain. If used with"
                    " the account parameter, updates resource limits for a specified account"
                    " in specified domain."
                ),
                entity="Domain",
            ),
            _PROJECT,
            Param("max", ParamType.LONG, description="  Maximum resource limit."),
            Param(
                "resourcetype",
                ParamType.INTEGER,
                description=f"Type of resource to update. Values are 0, 1, 2, 3, and 4. {_TYPES}",
                required=True,
            ),
        ),
        roles=ANY_ADMIN,
        response_name="updateresourcelimitresponse",
        response_class="ResourceLimitResponse",
        response_fields=LIMIT_FIELDS,
        description="Updates resource limits for an account or domain.",
        java_class="org.apache.cloudstack.api.command.user.resource.UpdateResourceLimitCmd",
    ),
    Command(
        name="listResourceLimits",
        handler=_list_limits,
        params=(
            Param("id", ParamType.LONG, description="Lists resource limits by ID."),
            Param(
                "resourcetype",
                ParamType.INTEGER,
                description=f"Type of resource to update. Values are 0, 1, 2, 3, and 4. {_TYPES}",
            ),
            Param(
                "projectid",
                ParamType.UUID,
                description="list objects by project",
                entity="Project",
            ),
            Param(
                "account",
                description=(
                    "list resources by account. Must be used with the domainId parameter."
                ),
            ),
            params.LISTALL,
            params.LIST_DOMAIN,
            params.ISRECURSIVE,
            *params.PAGING,
        ),
        roles=ALL_ROLES,
        response_name="listresourcelimitsresponse",
        response_class="ResourceLimitResponse",
        response_fields=LIMIT_FIELDS,
        description="Lists resource limits.",
        related=("updateResourceLimit",),
        java_class="org.apache.cloudstack.api.command.user.resource.ListResourceLimitsCmd",
    ),
    Command(
        name="updateResourceCount",
        handler=_update_count,
        params=(
            Param(
                "account",
                description=(
                    "Update resource count for a specified account. Must be used with the"
                    " domainId parameter."
                ),
            ),
            Param(
                "domainid",
                ParamType.UUID,
                description=(
                    "If account parameter specified then updates resource counts for a"
                    " specified account in this domain else update resource counts for all"
                    " accounts & child domains in specified domain."
                ),
                required=True,
                entity="Domain",
            ),
            Param(
                "resourcetype",
                ParamType.INTEGER,
                description=(
                    "Type of resource to update. If specifies valid values are 0, 1, 2, 3, and"
                    " 4. If not specified will update all resource counts" + _TYPES
                ),
            ),
            _PROJECT,
        ),
        roles=ANY_ADMIN,
        response_name="updateresourcecountresponse",
        response_class="ResourceCountResponse",
        response_fields=COUNT_FIELDS,
        description="Recalculate and update resource count for an account or domain.",
        java_class="org.apache.cloudstack.api.command.user.resource.UpdateResourceCountCmd",
    ),
)
"""Every 4.1 resource limit command."""


@hookimpl
def cumulo_api_commands() -> list[Command]:
    """The resource limit commands (see :data:`COMMANDS`)."""
    return list(COMMANDS)
