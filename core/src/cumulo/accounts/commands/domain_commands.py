"""The 4.1 domain commands: createDomain, updateDomain, deleteDomain (async),
listDomains, listDomainChildren."""

from __future__ import annotations

from cumulo.accounts import domains, views
from cumulo.accounts.commands import params
from cumulo.accounts.commands.support import domain_fields, domain_list, domain_param, paging
from cumulo.accounts.lookup import find_domain
from cumulo.sdk.api import (
    ANY_ADMIN,
    Call,
    Command,
    ListResult,
    ObjectResult,
    Param,
    ParamType,
    Role,
    SuccessResult,
)


def _create_domain(call: Call) -> ObjectResult:
    domain = domains.create_domain(
        call.ctx,
        call.session,
        name=call.params["name"],
        parent=domain_param(call, "parentdomainid"),
        network_domain=call.get("networkdomain"),
        uuid=call.get("domainid"),
    )
    return ObjectResult("domain", domain_fields(call, domain))


def _update_domain(call: Call) -> ObjectResult:
    domain = domains.update_domain(
        call.ctx,
        call.session,
        find_domain(call.session, call.params["id"], "id"),
        name=call.get("name"),
        network_domain=call.get("networkdomain"),
    )
    return ObjectResult("domain", domain_fields(call, domain))


def _delete_domain(call: Call) -> SuccessResult:
    domains.delete_domain(
        call.ctx,
        call.session,
        find_domain(call.session, call.params["id"], "id"),
        cleanup=bool(call.get("cleanup", False)),
    )
    return SuccessResult()


def _list_domains(call: Call) -> ListResult:
    rows, total = domains.list_domains(
        call.ctx,
        call.session,
        domain=domain_param(call, "id"),
        level=call.get("level"),
        name=call.get("name"),
        keyword=call.get("keyword"),
        listall=bool(call.get("listall", False)),
        **paging(call),
    )
    return domain_list(rows, total)


def _list_domain_children(call: Call) -> ListResult:
    rows, total = domains.list_domain_children(
        call.ctx,
        call.session,
        domain=domain_param(call, "id"),
        name=call.get("name"),
        keyword=call.get("keyword"),
        isrecursive=bool(call.get("isrecursive", False)),
        listall=bool(call.get("listall", False)),
        **paging(call),
    )
    return domain_list(rows, total)


COMMANDS = (
    Command(
        name="createDomain",
        handler=_create_domain,
        params=(
            Param("name", description="creates domain with this name", required=True),
            Param(
                "parentdomainid",
                ParamType.UUID,
                description=(
                    "assigns new domain a parent domain by domain ID of the parent.  If no"
                    " parent domain is specied, the ROOT domain is assumed."
                ),
                entity="Domain",
            ),
            Param("networkdomain", description="Network domain for networks in the domain"),
            Param(
                "domainid",
                description="Domain UUID, required for adding domain from another Region",
            ),
        ),
        roles=Role.ADMIN,
        response_name="createdomainresponse",
        response_class="DomainResponse",
        response_fields=views.DOMAIN_FIELDS,
        description="Creates a domain",
        java_class="org.apache.cloudstack.api.command.admin.domain.CreateDomainCmd",
        event_type="DOMAIN.CREATE",
    ),
    Command(
        name="updateDomain",
        handler=_update_domain,
        params=(
            Param(
                "id",
                ParamType.UUID,
                description="ID of domain to update",
                required=True,
                entity="Domain",
            ),
            Param("name", description="updates domain with this name"),
            Param(
                "networkdomain",
                description=(
                    "Network domain for the domain's networks; empty string will update"
                    " domainName with NULL value"
                ),
            ),
        ),
        roles=Role.ADMIN,
        response_name="updatedomainresponse",
        response_class="DomainResponse",
        response_fields=views.DOMAIN_FIELDS,
        description="Updates a domain with a new name",
        related=("createDomain", "listDomainChildren"),
        java_class="org.apache.cloudstack.api.command.admin.domain.UpdateDomainCmd",
        event_type="DOMAIN.UPDATE",
    ),
    Command(
        name="deleteDomain",
        handler=_delete_domain,
        params=(
            Param(
                "id",
                ParamType.UUID,
                description="ID of domain to delete",
                required=True,
                entity="Domain",
            ),
            Param(
                "cleanup",
                ParamType.BOOLEAN,
                description=(
                    "true if all domain resources (child domains, accounts) have to be"
                    " cleaned up, false otherwise"
                ),
            ),
        ),
        roles=Role.ADMIN,
        is_async=True,
        response_name="deletedomainresponse",
        response_class="SuccessResponse",
        response_fields=("success", "displaytext"),
        description="Deletes a specified domain",
        java_class="org.apache.cloudstack.api.command.admin.domain.DeleteDomainCmd",
        event_type="DOMAIN.DELETE",
    ),
    Command(
        name="listDomains",
        handler=_list_domains,
        params=(
            Param("id", ParamType.UUID, description="List domain by domain ID.", entity="Domain"),
            Param("level", ParamType.INTEGER, description="List domains by domain level."),
            Param("name", description="List domain by domain name."),
            params.LISTALL,
            *params.PAGING,
        ),
        roles=ANY_ADMIN,
        response_name="listdomainsresponse",
        response_class="DomainResponse",
        response_fields=views.DOMAIN_FIELDS,
        description="Lists domains and provides detailed information for listed domains",
        related=("createDomain", "updateDomain", "listDomainChildren"),
        java_class="org.apache.cloudstack.api.command.admin.domain.ListDomainsCmd",
    ),
    Command(
        name="listDomainChildren",
        handler=_list_domain_children,
        params=(
            Param(
                "id",
                ParamType.UUID,
                description="list children domain by parent domain ID.",
                entity="Domain",
            ),
            Param("name", description="list children domains by name"),
            Param(
                "isrecursive",
                ParamType.BOOLEAN,
                description=(
                    'to return the entire tree, use the value "true". To return the first'
                    ' level children, use the value "false".'
                ),
            ),
            params.LISTALL,
            *params.PAGING,
        ),
        roles=ANY_ADMIN,
        response_name="listdomainchildrenresponse",
        response_class="DomainResponse",
        response_fields=views.DOMAIN_FIELDS,
        description="Lists all children domains belonging to a specified domain",
        related=("createDomain",),
        java_class="org.apache.cloudstack.api.command.admin.domain.ListDomainChildrenCmd",
    ),
)
