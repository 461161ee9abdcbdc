"""The security group commands (CAP-22; 4.1 declarations), contributed as a built-in
plugin (``cumulo.network.security_groups.commands`` in ``BUILTIN_PLUGINS``). Importing
this module registers the SecurityGroup rule set with the orchestrator.

Authorizing and revoking are jobs, applied to every network the group's VMs are on
(REQ-SG-04); as for other rules (:mod:`cumulo.network.rules.applying`), new rules are
committed, applied and removed again if a provider refuses them, and revoked rules are
marked, applied and then deleted.
"""

from __future__ import annotations

from sqlalchemy import delete, select, update

from cumulo import events, hookimpl
from cumulo.accounts.commands.params import ISRECURSIVE, LIST_DOMAIN, LISTALL, PAGING
from cumulo.compute.lookup import find_vm
from cumulo.compute.owners import Owner, resolve_owner
from cumulo.network.rules import applying
from cumulo.network.rules import validation as check
from cumulo.network.security_groups import groups, listing, membership, rules, rulesets
from cumulo.network.security_groups.models import Direction, SecurityGroupRule
from cumulo.network.security_groups.views import GROUP_FIELDS, OBJECT
from cumulo.sdk.api import (
    ALL_ROLES,
    Call,
    Command,
    ListResult,
    ObjectResult,
    Param,
    ParamType,
    SuccessResult,
)
from cumulo.sdk.errors import InvalidParameterValue

RULE_SETS = rulesets
"""The module whose import registered the SecurityGroup rule set (kept referenced)."""


def _no_project(call: Call) -> None:
    if call.get("projectid") is not None:
        raise InvalidParameterValue("projectid: projects are not supported by this server")


def _record(call: Call, kind: str, text: str, group: groups.FoundGroup) -> None:
    events.record(
        call,
        kind,
        text,
        resource_type="SecurityGroup",
        resource_uuid=group.uuid,
        account_id=group.account_id,
        domain_id=group.domain_id,
    )


def create_group(call: Call) -> ObjectResult:
    """``createSecurityGroup``."""
    _no_project(call)
    owner = resolve_owner(call)
    group_id = groups.create(call.session, owner, call.params["name"], call.get("description"))
    answer = listing.group_answer(call.session, group_id)
    events.record(
        call,
        "SG.CREATE",
        f"Created security group {answer['name']}",
        resource_type="SecurityGroup",
        resource_uuid=answer["id"],
        account_id=owner.id,
        domain_id=owner.domain_id,
    )
    return ObjectResult(OBJECT, answer)


def _named_group(call: Call, id_param: str, name_param: str) -> groups.FoundGroup:
    value, name = call.get(id_param), call.get(name_param)
    if value is not None and name is not None:
        raise InvalidParameterValue(
            f"{id_param}: {id_param} and {name_param} are mutually exclusive"
        )
    if value is not None:
        return groups.find_group(call.session, call.ctx, value, id_param)
    if name is None:
        raise InvalidParameterValue(f"{id_param}: either {id_param} or {name_param} is required")
    owner: Owner = resolve_owner(call)
    return groups.find_by_name(call.session, call.ctx, owner, name, name_param)


def delete_group(call: Call) -> SuccessResult:
    """``deleteSecurityGroup`` (by id, or by name of the caller's or the named
    account)."""
    _no_project(call)
    group = _named_group(call, "id", "name")
    groups.delete_group(call.session, group)
    _record(call, "SG.DELETE", f"Deleted security group {group.name}", group)
    return SuccessResult()


def _authorize(call: Call, direction: Direction) -> ObjectResult:
    session = applying.prepared(call)
    _no_project(call)
    group = _named_group(call, "securitygroupid", "securitygroupname")
    shape = rules.shape(
        call.get("protocol"),
        call.get("startport"),
        call.get("endport"),
        call.get("icmptype"),
        call.get("icmpcode"),
    )
    cidrs = check.cidrs(call.get("cidrlist"))
    peers = rules.peer_groups(session, group, call.get("usersecuritygrouplist"))
    new_ids, all_ids = rules.authorize(session, group, direction, shape, cidrs, peers)
    session.commit()

    try:
        membership.apply_networks(session, membership.member_networks(session, [group.id]))
    except Exception:
        # The providers refused: the rules this call added go again (4.1 revokes a
        # rule whose first apply failed), those that were there stay.
        session.rollback()
        if new_ids:
            session.execute(delete(SecurityGroupRule).where(SecurityGroupRule.id.in_(new_ids)))
            session.commit()
        raise
    kind = "SG.AUTH.INGRESS" if direction is Direction.INGRESS else "SG.AUTH.EGRESS"
    _record(call, kind, f"Authorized {direction.value} rules of {group.name}", group)
    return ObjectResult(OBJECT, listing.group_answer(session, group.id, all_ids))


def authorize_ingress(call: Call) -> ObjectResult:
    """``authorizeSecurityGroupIngress`` (REQ-SG-05: what is not allowed in, is not)."""
    return _authorize(call, Direction.INGRESS)


def authorize_egress(call: Call) -> ObjectResult:
    """``authorizeSecurityGroupEgress`` (REQ-SG-06: once a group has egress rules, only
    what they allow goes out)."""
    return _authorize(call, Direction.EGRESS)


def _revoke(call: Call, direction: Direction) -> SuccessResult:
    session = applying.prepared(call)
    value = str(call.params["id"]).strip()
    row = session.execute(
        select(
            SecurityGroupRule.id, SecurityGroupRule.type, SecurityGroupRule.security_group_id
        ).where(SecurityGroupRule.uuid == value)
    ).first()
    if row is None:
        raise InvalidParameterValue(f"id: unable to find security group rule {value}")
    group = groups.find_group(session, call.ctx, row.security_group_id, "id")
    if row.type != direction.value:
        other = "Egress" if direction is Direction.INGRESS else "Ingress"
        raise InvalidParameterValue(
            f"id: the rule {value} is an {row.type} rule; revoke it with revokeSecurityGroup{other}"
        )
    where = SecurityGroupRule.id == row.id
    session.execute(update(SecurityGroupRule).where(where).values(revoke=True))
    session.commit()
    membership.apply_networks(session, membership.member_networks(session, [group.id]))
    session.execute(delete(SecurityGroupRule).where(where))
    kind = "SG.REVOKE.INGRESS" if direction is Direction.INGRESS else "SG.REVOKE.EGRESS"
    _record(call, kind, f"Revoked {direction.value} rule {value} of {group.name}", group)
    return SuccessResult()


def revoke_ingress(call: Call) -> SuccessResult:
    """``revokeSecurityGroupIngress``."""
    return _revoke(call, Direction.INGRESS)


def revoke_egress(call: Call) -> SuccessResult:
    """``revokeSecurityGroupEgress``."""
    return _revoke(call, Direction.EGRESS)


def list_groups(call: Call) -> ListResult:
    """``listSecurityGroups``: two statements per page (groups, their rules), plus the
    caller's ``default`` group made on first sight (REQ-SG-01)."""
    session, ctx = call.session, call.ctx
    groups.ensure_default(session, ctx.account_id, ctx.domain_id)
    group_id = None
    if call.get("id") is not None:
        group_id = groups.find_group(session, ctx, call.params["id"]).id
    vm_id = None
    if call.get("virtualmachineid") is not None:
        vm_id = find_vm(session, ctx, call.params["virtualmachineid"], "virtualmachineid").id
    items, total = listing.list_groups(call, group_id=group_id, vm_id=vm_id)
    return ListResult(OBJECT, items, total)


# ---- declarations ---------------------------------------------------------------------------


def _rule_params(direction: str) -> tuple[Param, ...]:
    return (
        Param("protocol", description="TCP is default. UDP is the other supported protocol"),
        Param("startport", ParamType.INTEGER, description=f"start port for this {direction} rule"),
        Param("endport", ParamType.INTEGER, description=f"end port for this {direction} rule"),
        Param("icmptype", ParamType.INTEGER, description="type of the icmp message being sent"),
        Param("icmpcode", ParamType.INTEGER, description="error code for this icmp message"),
        Param(
            "cidrlist",
            ParamType.LIST,
            description="the cidr list associated",
            item_type=ParamType.STRING,
        ),
        Param(
            "usersecuritygrouplist",
            ParamType.MAP,
            description="user to security group mapping",
        ),
        Param(
            "domainid",
            ParamType.UUID,
            description=(
                "an optional domainId for the security group. If the account parameter is "
                "used, domainId must also be used."
            ),
            entity="Domain",
        ),
        Param(
            "account",
            description=("an optional account for the security group. Must be used with domainId."),
        ),
        Param(
            "projectid",
            ParamType.UUID,
            description="an optional project of the security group",
            entity="ProjectAccount",
        ),
        Param(
            "securitygroupid",
            ParamType.UUID,
            description=(
                "The ID of the security group. Mutually exclusive with securityGroupName parameter"
            ),
            entity="SecurityGroup",
        ),
        Param(
            "securitygroupname",
            description=(
                "The name of the security group. Mutually exclusive with securityGroupName "
                "parameter"
            ),
        ),
    )


_SUCCESS = ("success", "displaytext")
_JAVA = "org.apache.cloudstack.api.command.user.securitygroup."

COMMANDS: tuple[Command, ...] = (
    Command(
        name="createSecurityGroup",
        handler=create_group,
        params=(
            Param(
                "account",
                description=(
                    "an optional account for the security group. Must be used with domainId."
                ),
            ),
            Param(
                "domainid",
                ParamType.UUID,
                description=(
                    "an optional domainId for the security group. If the account parameter "
                    "is used, domainId must also be used."
                ),
                entity="Domain",
            ),
            Param("description", description="the description of the security group"),
            Param("name", description="name of the security group", required=True),
            Param(
                "projectid",
                ParamType.UUID,
                description="Deploy vm for the project",
                entity="ProjectAccount",
            ),
        ),
        roles=ALL_ROLES,
        response_name="createsecuritygroupresponse",
        response_class="SecurityGroupResponse",
        response_fields=GROUP_FIELDS,
        description="Creates a security group",
        related=("listSecurityGroups",),
        java_class=_JAVA + "CreateSecurityGroupCmd",
        event_type="SG.CREATE",
    ),
    Command(
        name="deleteSecurityGroup",
        handler=delete_group,
        params=(
            Param(
                "account",
                description=("the account of the security group. Must be specified with domain ID"),
            ),
            Param(
                "domainid",
                ParamType.UUID,
                description="the domain ID of account owning the security group",
                entity="Domain",
            ),
            Param(
                "projectid",
                ParamType.UUID,
                description="the project of the security group",
                entity="ProjectAccount",
            ),
            Param(
                "id",
                ParamType.UUID,
                description="The ID of the security group. Mutually exclusive with name parameter",
                entity="SecurityGroup",
            ),
            Param(
                "name",
                description="The ID of the security group. Mutually exclusive with id parameter",
            ),
        ),
        roles=ALL_ROLES,
        response_name="deletesecuritygroupresponse",
        response_class="SuccessResponse",
        response_fields=_SUCCESS,
        description="Deletes security group",
        java_class=_JAVA + "DeleteSecurityGroupCmd",
        event_type="SG.DELETE",
    ),
    Command(
        name="authorizeSecurityGroupIngress",
        handler=authorize_ingress,
        params=_rule_params("ingress"),
        roles=ALL_ROLES,
        is_async=True,
        response_name="authorizesecuritygroupingressresponse",
        response_class="SecurityGroupRuleResponse",
        response_fields=GROUP_FIELDS,
        description="Authorizes a particular ingress rule for this security group",
        related=("authorizeSecurityGroupEgress",),
        java_class=_JAVA + "AuthorizeSecurityGroupIngressCmd",
        event_type="SG.AUTH.INGRESS",
    ),
    Command(
        name="authorizeSecurityGroupEgress",
        handler=authorize_egress,
        params=_rule_params("egress"),
        roles=ALL_ROLES,
        is_async=True,
        response_name="authorizesecuritygroupegressresponse",
        response_class="SecurityGroupRuleResponse",
        response_fields=GROUP_FIELDS,
        description="Authorizes a particular egress rule for this security group",
        since="3.0.0",
        java_class=_JAVA + "AuthorizeSecurityGroupEgressCmd",
        event_type="SG.AUTH.EGRESS",
    ),
    Command(
        name="revokeSecurityGroupIngress",
        handler=revoke_ingress,
        params=(
            Param(
                "id",
                ParamType.UUID,
                description="The ID of the ingress rule",
                required=True,
                entity="SecurityGroupRule",
            ),
        ),
        roles=ALL_ROLES,
        is_async=True,
        response_name="revokesecuritygroupingress",
        response_class="SuccessResponse",
        response_fields=_SUCCESS,
        description="Deletes a particular ingress rule from this security group",
        java_class=_JAVA + "RevokeSecurityGroupIngressCmd",
        event_type="SG.REVOKE.INGRESS",
    ),
    Command(
        name="revokeSecurityGroupEgress",
        handler=revoke_egress,
        params=(
            Param(
                "id",
                ParamType.UUID,
                description="The ID of the egress rule",
                required=True,
                entity="SecurityGroupRule",
            ),
        ),
        roles=ALL_ROLES,
        is_async=True,
        response_name="revokesecuritygroupegress",
        response_class="SuccessResponse",
        response_fields=_SUCCESS,
        description="Deletes a particular egress rule from this security group",
        since="3.0.0",
        java_class=_JAVA + "RevokeSecurityGroupEgressCmd",
        event_type="SG.REVOKE.EGRESS",
    ),
    Command(
        name="listSecurityGroups",
        handler=list_groups,
        params=(
            Param("securitygroupname", description="lists security groups by name"),
            Param(
                "virtualmachineid",
                ParamType.UUID,
                description="lists security groups by virtual machine id",
                entity="UserVm",
            ),
            Param(
                "id",
                ParamType.UUID,
                description="list the security group by the id provided",
                entity="SecurityGroup",
            ),
            Param("tags", ParamType.MAP, description="List resources by tags (key/value pairs)"),
            Param(
                "projectid", ParamType.UUID, description="list objects by project", entity="Project"
            ),
            Param(
                "account",
                description="list resources by account. Must be used with the domainId parameter.",
            ),
            LISTALL,
            LIST_DOMAIN,
            ISRECURSIVE,
            *PAGING,
        ),
        roles=ALL_ROLES,
        response_name="listsecuritygroupsresponse",
        response_class="SecurityGroupResponse",
        response_fields=GROUP_FIELDS,
        description="Lists security groups",
        java_class=_JAVA + "ListSecurityGroupsCmd",
    ),
)
"""The security group commands."""


@hookimpl
def cumulo_api_commands() -> list[Command]:
    """The security group commands (see :data:`COMMANDS`)."""
    return list(COMMANDS)
