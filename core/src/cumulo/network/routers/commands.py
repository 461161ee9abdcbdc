"""The 4.1 virtual router commands for admins, contributed as a built-in plugin
(``cumulo.network.routers.commands`` in ``BUILTIN_PLUGINS``): listRouters, and the
asynchronous startRouter, stopRouter, rebootRouter and destroyRouter.

Root admins act on every router, domain and resource admins on the routers of the
accounts of their domain subtree (a router belongs to its network's account); anything
else is 531. Users have none of these commands (4.1's role bitmask 7).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from cumulo import hookimpl
from cumulo.accounts.access import check_list_scope, check_owner_access, visible_accounts
from cumulo.accounts.commands.params import ISRECURSIVE, LIST_DOMAIN, LISTALL, PAGING
from cumulo.accounts.commands.support import max_page_size
from cumulo.accounts.lookup import find_domain, invalid_id
from cumulo.accounts.models import Account, Domain
from cumulo.compute.models import VirtualMachine, VmType
from cumulo.compute.owners import runtime_of
from cumulo.infra.hosts.lookup import find_host
from cumulo.infra.lookup import find_pod, find_zone
from cumulo.network.networks.lookup import find_network
from cumulo.network.routers import lifecycle, views
from cumulo.network.routers.listing import RouterFilter, list_routers, router_rows
from cumulo.network.routers.models import DomainRouter
from cumulo.sdk.api import (
    ANY_ADMIN,
    Call,
    Command,
    ListResult,
    ObjectResult,
    Param,
    ParamType,
)

RESOURCE = "DomainRouter"
_PACKAGE = "org.apache.cloudstack.api.command.admin.router"


def _scope(call: Call) -> Any:
    session, ctx = call.session, call.ctx
    domain = find_domain(session, call.params["domainid"]) if call.get("domainid") else None
    check_list_scope(ctx, session, domain=domain, account_name=call.get("account"))
    return visible_accounts(
        ctx,
        listall=bool(call.get("listall", False)),
        isrecursive=bool(call.get("isrecursive", False)),
        domain_id=domain.id if domain is not None else None,
        account_name=call.get("account"),
    )


def find_router(call: Call, param: str = "id") -> tuple[DomainRouter, VirtualMachine]:
    """The live router ``param`` names, if the caller may act on it (one statement).

    :raises InvalidParameterValue: no such router (431 naming ``param``).
    :raises PermissionDenied: its account is outside the caller's reach (531).
    """
    value = call.params[param]
    text = str(value).strip()
    key = VirtualMachine.id == int(text) if text.isdecimal() else VirtualMachine.uuid == text
    row = call.session.execute(
        select(DomainRouter, VirtualMachine, Account.uuid, Domain)
        .join(VirtualMachine, VirtualMachine.id == DomainRouter.id)
        .join(Account, Account.id == VirtualMachine.account_id)
        .join(Domain, Domain.id == VirtualMachine.domain_id)
        .where(
            key,
            VirtualMachine.type == VmType.DOMAIN_ROUTER.value,
            VirtualMachine.removed.is_(None),
        )
    ).first()
    if row is None:
        raise invalid_id(param, value)
    router, vm, account_uuid, domain = row
    check_owner_access(call.ctx, vm.account_id, account_uuid, domain)
    return router, vm


def _answer(call: Call, vm: VirtualMachine) -> ObjectResult:
    (listed,) = router_rows(call.session, [vm.id], visible_accounts(call.ctx, listall=True))
    return ObjectResult(views.OBJECT, views.router_fields(listed))


def _start(call: Call) -> ObjectResult:
    router, vm = find_router(call)
    lifecycle.start_router(call.session, runtime_of(call), router, vm)
    return _answer(call, vm)


def _stop(call: Call) -> ObjectResult:
    _, vm = find_router(call)
    lifecycle.stop_router(call.session, runtime_of(call), vm, forced=bool(call.get("forced")))
    return _answer(call, vm)


def _reboot(call: Call) -> ObjectResult:
    _, vm = find_router(call)
    lifecycle.reboot_router(call.session, runtime_of(call), vm)
    return _answer(call, vm)


def _destroy(call: Call) -> ObjectResult:
    router, vm = find_router(call)
    (before,) = router_rows(call.session, [vm.id], visible_accounts(call.ctx, listall=True))
    lifecycle.destroy_router(call.session, runtime_of(call), router, vm)
    fields = views.router_fields(before)
    fields.update(state=vm.state, hostid=None, hostname=None, nic=[])
    return ObjectResult(views.OBJECT, fields)


def _id_of(call: Call, param: str, finder: Any) -> int | None:
    value = call.get(param)
    return None if value is None else int(finder(call.session, value, param).id)


def _list(call: Call) -> ListResult:
    network_id = None
    if call.get("networkid") is not None:
        found = find_network(call.session, call.ctx, call.params["networkid"], "networkid")
        network_id = found.network.id
    where = RouterFilter(
        scope=_scope(call),
        id=None if call.get("id") is None else str(call.params["id"]),
        name=call.get("name"),
        state=call.get("state"),
        zone_id=_id_of(call, "zoneid", find_zone),
        pod_id=_id_of(call, "podid", find_pod),
        host_id=_id_of(call, "hostid", find_host),
        network_id=network_id,
        for_vpc=call.get("forvpc"),
        keyword=call.get("keyword"),
        # No VPC and no project exists yet: such filters match nothing.
        nothing=call.get("vpcid") is not None or call.get("projectid") is not None,
    )
    rows, total = list_routers(
        call.session,
        where,
        page=call.get("page"),
        pagesize=call.get("pagesize"),
        max_page_size=max_page_size(call),
    )
    return ListResult(views.OBJECT, [views.router_fields(row) for row in rows], total)


_ID = Param(
    "id", ParamType.UUID, description="the ID of the router", required=True, entity=RESOURCE
)


def _action(
    name: str, handler: Any, description: str, related: tuple[str, ...], event: str, *extra: Param
) -> Command:
    return Command(
        name=name,
        handler=handler,
        params=(_ID, *extra),
        roles=ANY_ADMIN,
        is_async=True,
        response_name=f"{name.lower()}response",
        response_class="DomainRouterResponse",
        response_fields=views.ROUTER_FIELDS,
        description=description,
        related=related,
        java_class=f"{_PACKAGE}.{name[0].upper()}{name[1:]}Cmd",
        instance_type=RESOURCE,
        event_type=event,
    )


COMMANDS: tuple[Command, ...] = (
    Command(
        name="listRouters",
        handler=_list,
        params=(
            Param("hostid", ParamType.UUID, description="the host ID of the router", entity="Host"),
            Param("id", ParamType.UUID, description="the ID of the disk router", entity="UserVm"),
            Param("name", description="the name of the router"),
            Param("podid", ParamType.UUID, description="the Pod ID of the router", entity="Pod"),
            Param("state", description="the state of the router"),
            Param("zoneid", ParamType.UUID, description="the Zone ID of the router", entity="Zone"),
            Param("networkid", ParamType.UUID, description="list by network id", entity="Network"),
            Param("vpcid", ParamType.UUID, description="List networks by VPC", entity="Vpc"),
            Param(
                "forvpc",
                ParamType.BOOLEAN,
                description="if true is passed for this parameter, list only VPC routers",
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
            LISTALL,
            LIST_DOMAIN,
            ISRECURSIVE,
            *PAGING,
        ),
        roles=ANY_ADMIN,
        response_name="listroutersresponse",
        response_class="DomainRouterResponse",
        response_fields=views.ROUTER_FIELDS,
        description="List routers.",
        related=(
            "startRouter",
            "rebootRouter",
            "stopRouter",
            "destroyRouter",
            "changeServiceForRouter",
        ),
        java_class=f"{_PACKAGE}.ListRoutersCmd",
    ),
    _action(
        "stopRouter",
        _stop,
        "Stops a router.",
        ("startRouter", "rebootRouter", "destroyRouter", "changeServiceForRouter"),
        "ROUTER.STOP",
        Param(
            "forced",
            ParamType.BOOLEAN,
            description="Force stop the VM. The caller knows the VM is stopped.",
        ),
    ),
    _action(
        "startRouter", _start, "Starts a router.", ("rebootRouter", "destroyRouter"), "ROUTER.START"
    ),
    _action(
        "rebootRouter",
        _reboot,
        "Starts a router.",  # 4.1's text for rebootRouter, as listApis shows it
        (),
        "ROUTER.REBOOT",
    ),
    _action(
        "destroyRouter",
        _destroy,
        "Destroys a router.",
        ("rebootRouter",),
        "ROUTER.DESTROY",
    ),
)
"""Every 4.1 router command cumulo has (``changeServiceForRouter`` is not one yet)."""


@hookimpl
def cumulo_api_commands() -> list[Command]:
    """The router commands (see :data:`COMMANDS`)."""
    return list(COMMANDS)
