"""The load balancing and stickiness commands (4.1 declarations) and their handlers.

Jobs follow :mod:`cumulo.network.rules.applying`: what is added is committed first and
applied, and removed again if the provider refuses it; what is removed is marked
(``Revoke``, ``revoke``), applied, then deleted. Updates of a rule in place (name,
description, algorithm) are applied in the job's single transaction, so a refusal
leaves the rule as it was.
"""

from __future__ import annotations

from sqlalchemy import and_, delete, select, update
from sqlalchemy.orm import Session

from cumulo import events
from cumulo.accounts.commands.params import ISRECURSIVE, LIST_DOMAIN, LISTALL, PAGING
from cumulo.accounts.commands.support import max_page_size
from cumulo.accounts.models import Account
from cumulo.compute.listing import VmFilter, list_vms
from cumulo.compute.lookup import find_vm
from cumulo.compute.models import VirtualMachine
from cumulo.compute.owners import resolve_owner
from cumulo.compute.views import USER_VM_FIELDS, vm_fields
from cumulo.infra.lookup import find_zone
from cumulo.jobs.models import AsyncJob
from cumulo.network.rules import applying, listing, load_balancing, stickiness
from cumulo.network.rules.lookup import (
    FoundRule,
    find_public_ip,
    find_rule,
    record_rule_event,
    related_ids,
    rule_of_job,
)
from cumulo.network.rules.models import LbRule, LbStickinessPolicy, LbVmMap, NetworkRule, Purpose
from cumulo.network.rules.views import (
    LB_FIELDS,
    LB_LIST_OBJECT,
    LB_OBJECT,
    STICKINESS_FIELDS,
    STICKINESS_OBJECT,
    lb_fields,
    policy_fields,
    stickiness_fields,
)
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
from cumulo.sdk.network import Service

_LB = (Service.FIREWALL, Service.LB)
_LB_REMOVAL = (Service.LB, Service.FIREWALL)
_LB_ONLY = (Service.LB,)
_LB_PURPOSE = (Purpose.LOAD_BALANCING,)


def _lb(call: Call, param: str = "id") -> FoundRule:
    return find_rule(call.session, call.ctx, call.params[param], _LB_PURPOSE, param=param)


# ---- load balancer rules --------------------------------------------------------------------


def create_lb_create(call: Call) -> tuple[str, str]:
    """``createLoadBalancerRule``'s create step (:mod:`.load_balancing`)."""
    if call.get("zoneid") is not None:
        find_zone(call.session, call.params["zoneid"])
    owner = resolve_owner(call)
    value = call.get("publicipid")
    ip = None if value is None else find_public_ip(call.session, call.ctx, value, "publicipid")
    created = load_balancing.create(
        call.session,
        ip,
        owner_account_id=owner.id,
        name=call.params["name"],
        description=call.get("description"),
        algorithm=call.params["algorithm"],
        public_port=call.params["publicport"],
        private_port=call.params["privateport"],
        open_firewall=call.get("openfirewall"),
        network_value=call.get("networkid"),
        cidrlist=call.get("cidrlist"),
    )
    return "FirewallRule", created.rule_uuid


def create_lb(call: Call) -> ObjectResult:
    """``createLoadBalancerRule``'s job: its opening and the load balancer."""
    applying.prepared(call)
    rule = rule_of_job(call.session, call.job_uuid)
    ids = related_ids(call.session, rule.id)
    applying.settle_added(call.session, rule.network_id, _LB if len(ids) > 1 else _LB_ONLY, ids)
    record_rule_event(call, "LB.CREATE", f"Created load balancer rule {rule.uuid}", rule)
    return ObjectResult(LB_OBJECT, lb_fields(listing.lb_row(call.session, rule.id)))


def delete_lb(call: Call) -> SuccessResult:
    """``deleteLoadBalancerRule``: the load balancer, its members, policies and
    opening."""
    applying.prepared(call)
    found = _lb(call)
    ids = related_ids(call.session, found.id)
    services = _LB_REMOVAL if len(ids) > 1 else _LB_ONLY
    applying.settle_revoked(call.session, found.network_id, services, ids)
    record_rule_event(call, "LB.DELETE", f"Deleted load balancer rule {found.uuid}", found)
    return SuccessResult()


def update_lb(call: Call) -> ObjectResult:
    """``updateLoadBalancerRule``: name, description, algorithm (a new algorithm is
    applied; a refusal puts the rule back as it was)."""
    applying.prepared(call)
    session = call.session
    found = _lb(call)
    changes: dict[str, object] = {}
    if call.get("name"):
        changes["name"] = call.params["name"]
    if call.get("description") is not None:
        changes["description"] = call.params["description"]
    if call.get("algorithm"):
        changes["algorithm"] = load_balancing.check_algorithm(
            session, found.network_id, call.params["algorithm"]
        )
    if changes:
        before = session.execute(
            select(LbRule.name, LbRule.description, LbRule.algorithm).where(LbRule.id == found.id)
        ).one()
        session.execute(update(LbRule).where(LbRule.id == found.id).values(**changes))
        if "algorithm" in changes:

            def restore(s: Session) -> None:
                s.execute(update(LbRule).where(LbRule.id == found.id).values(**before._asdict()))

            applying.apply_or_restore(session, found.network_id, Service.LB, restore)
        record_rule_event(call, "LB.UPDATE", f"Updated load balancer rule {found.uuid}", found)
    return ObjectResult(LB_OBJECT, lb_fields(listing.lb_row(session, found.id)))


def list_lb(call: Call) -> ListResult:
    """``listLoadBalancerRules``: one statement per page."""
    session, ctx = call.session, call.ctx
    rule_id = _lb(call).id if call.get("id") is not None else None
    ip_id = None
    if call.get("publicipid") is not None:
        ip_id = find_public_ip(session, ctx, call.params["publicipid"], "publicipid").id
    zone_id = find_zone(session, call.params["zoneid"]).id if call.get("zoneid") else None
    vm_id = None
    if call.get("virtualmachineid") is not None:
        vm_id = find_vm(session, ctx, call.params["virtualmachineid"], "virtualmachineid").id
    page = listing.list_lb(call, rule_id=rule_id, ip_id=ip_id, zone_id=zone_id, vm_id=vm_id)
    return ListResult(LB_LIST_OBJECT, [lb_fields(row) for row in page.rows], page.total)


# ---- members --------------------------------------------------------------------------------


def assign(call: Call) -> SuccessResult:
    """``assignToLoadBalancerRule``: members committed, applied, undone on refusal."""
    applying.prepared(call)
    session = call.session
    found = _lb(call)
    named = load_balancing.members(
        session, found.id, found.network_id, call.params["virtualmachineids"]
    )
    load_balancing.check_assignable(
        named, found.account_id, _network_uuid(session, found.network_id)
    )
    vm_ids = load_balancing.assign(session, found.id, named)
    session.commit()

    def undo(s: Session) -> None:
        s.execute(
            delete(LbVmMap).where(
                LbVmMap.load_balancer_id == found.id, LbVmMap.instance_id.in_(vm_ids)
            )
        )

    applying.settle_added(session, found.network_id, _LB_ONLY, [], undo=undo)
    record_rule_event(
        call, "LB.ASSIGN.TO.RULE", f"Assigned {len(vm_ids)} VM(s) to {found.uuid}", found
    )
    return SuccessResult()


def remove(call: Call) -> SuccessResult:
    """``removeFromLoadBalancerRule``: members marked, applied, then removed."""
    applying.prepared(call)
    session = call.session
    found = _lb(call)
    named = load_balancing.members(
        session, found.id, found.network_id, call.params["virtualmachineids"]
    )
    load_balancing.check_removable(named)
    vm_ids = [m.id for m in named]
    where = and_(LbVmMap.load_balancer_id == found.id, LbVmMap.instance_id.in_(vm_ids))
    session.execute(update(LbVmMap).where(where).values(revoke=True))
    session.commit()
    applying.apply_services(session, found.network_id, _LB_ONLY)
    session.execute(delete(LbVmMap).where(where))
    record_rule_event(
        call, "LB.REMOVE.FROM.RULE", f"Removed {len(vm_ids)} VM(s) from {found.uuid}", found
    )
    return SuccessResult()


def _network_uuid(session: Session, network_id: int) -> str:
    from cumulo.network.networks.models import Network

    return session.scalar(select(Network.uuid).where(Network.id == network_id)) or ""


def list_instances(call: Call) -> ListResult:
    """``listLoadBalancerRuleInstances``: the members (``applied``, the default) or the
    owner's VMs on the rule's network that could be added; two statements per page."""
    found = _lb(call)
    assigned = select(LbVmMap.instance_id).where(
        LbVmMap.load_balancer_id == found.id, LbVmMap.revoke.is_(False)
    )
    applied = call.get("applied", True)
    in_set = VirtualMachine.id.in_(assigned) if applied else VirtualMachine.id.not_in(assigned)
    where = VmFilter(
        scope=and_(Account.id == found.account_id, in_set),
        network_id=found.network_id,
        keyword=call.get("keyword"),
        show_destroyed=False,
    )
    rows, nics, total = list_vms(
        call.session,
        where,
        page=call.get("page"),
        pagesize=call.get("pagesize"),
        max_page_size=max_page_size(call),
    )
    items = [vm_fields(call.ctx, row, nics.get(row.id, [])) for row in rows]
    return ListResult("loadbalancerruleinstance", items, total)


# ---- stickiness -----------------------------------------------------------------------------


def _policies_answer(session: Session, lb_id: int, only: int | None = None) -> ObjectResult:
    lb = listing.lb_row(session, lb_id)
    policy = LbStickinessPolicy
    where = [policy.load_balancer_id == lb_id]
    if only is not None:
        where.append(policy.id == only)
    rows = session.execute(
        select(
            policy.uuid,
            policy.name,
            policy.method_name,
            policy.description,
            policy.revoke,
            policy.params,
        )
        .where(*where)
        .order_by(policy.id)
    ).all()
    items = [
        policy_fields(
            r.uuid, r.name, r.method_name, r.description, r.revoke, stickiness.params_of(r.params)
        )
        for r in rows
    ]
    return ObjectResult(STICKINESS_OBJECT, stickiness_fields(lb, items))


def create_policy_create(call: Call) -> tuple[str, str]:
    """``createLBStickinessPolicy``'s create step (:mod:`.stickiness`)."""
    found = _lb(call, "lbruleid")
    policy = stickiness.create(
        call.session,
        lb_id=found.id,
        network_id=found.network_id,
        name=call.params["name"],
        description=call.get("description"),
        method_name=call.params["methodname"],
        param_entries=call.get("param"),
    )
    return "FirewallRule", policy.uuid


def create_policy(call: Call) -> ObjectResult:
    """``createLBStickinessPolicy``'s job: applied with the load balancers; removed
    again if the provider refuses it."""
    applying.prepared(call)
    session = call.session
    row = session.execute(
        select(
            LbStickinessPolicy.id, LbStickinessPolicy.uuid, NetworkRule.id, NetworkRule.network_id
        )
        .join(NetworkRule, NetworkRule.id == LbStickinessPolicy.load_balancer_id)
        .join(AsyncJob, AsyncJob.instance_uuid == LbStickinessPolicy.uuid)
        .where(AsyncJob.uuid == (call.job_uuid or ""))
    ).first()
    if row is None:
        raise InvalidParameterValue("id: the stickiness policy of this job no longer exists")
    policy_id, policy_uuid, lb_id, network_id = row

    def undo(s: Session) -> None:
        s.execute(delete(LbStickinessPolicy).where(LbStickinessPolicy.id == policy_id))

    applying.settle_added(session, network_id, _LB_ONLY, [], undo=undo)
    events.record(
        call,
        "LB.STICKINESSPOLICY.CREATE",
        f"Created stickiness policy {policy_uuid}",
        resource_type="FirewallRule",
        resource_uuid=policy_uuid,
    )
    return _policies_answer(session, lb_id, only=policy_id)


def delete_policy(call: Call) -> SuccessResult:
    """``deleteLBStickinessPolicy``."""
    applying.prepared(call)
    session = call.session
    value = str(call.params["id"]).strip()
    row = session.execute(
        select(LbStickinessPolicy.id, NetworkRule.uuid)
        .join(NetworkRule, NetworkRule.id == LbStickinessPolicy.load_balancer_id)
        .where(LbStickinessPolicy.uuid == value)
    ).first()
    if row is None:
        raise InvalidParameterValue(f"id: no stickiness policy with id {value}")
    policy_id, lb_uuid = row
    found = find_rule(session, call.ctx, lb_uuid, _LB_PURPOSE)
    where = LbStickinessPolicy.id == policy_id
    session.execute(update(LbStickinessPolicy).where(where).values(revoke=True))
    session.commit()
    applying.apply_services(session, found.network_id, _LB_ONLY)
    session.execute(delete(LbStickinessPolicy).where(where))
    record_rule_event(
        call, "LB.STICKINESSPOLICY.DELETE", f"Deleted stickiness policy {value}", found
    )
    return SuccessResult()


def list_policies(call: Call) -> ListResult:
    """``listLBStickinessPolicies``: the load balancer with its policies."""
    found = _lb(call, "lbruleid")
    answer = _policies_answer(call.session, found.id)
    return ListResult(STICKINESS_OBJECT, [answer.fields], 1)


# ---- declarations ---------------------------------------------------------------------------

_LB_ID = Param(
    "id",
    ParamType.UUID,
    description="the ID of the load balancer rule",
    required=True,
    entity="FirewallRule",
)
_SUCCESS = ("success", "displaytext")

COMMANDS: tuple[Command, ...] = (
    Command(
        name="createLoadBalancerRule",
        handler=create_lb,
        params=(
            Param(
                "algorithm",
                description="load balancer algorithm (source, roundrobin, leastconn)",
                required=True,
            ),
            Param(
                "description",
                description="the description of the load balancer rule",
                length=4096,
            ),
            Param("name", description="name of the load balancer rule", required=True),
            Param(
                "privateport",
                ParamType.INTEGER,
                description=(
                    "the private port of the private ip address/virtual machine where the"
                    " network traffic will be load balanced to"
                ),
                required=True,
            ),
            Param(
                "publicipid",
                ParamType.UUID,
                description=(
                    "public ip address id from where the network traffic will be load balanced from"
                ),
                entity="IPAddress",
            ),
            Param(
                "zoneid",
                ParamType.UUID,
                description=(
                    "zone where the load balancer is going to be created. This parameter is"
                    " required when LB service provider is ElasticLoadBalancerVm"
                ),
                entity="Zone",
            ),
            Param(
                "publicport",
                ParamType.INTEGER,
                description=(
                    "the public port from where the network traffic will be load balanced from"
                ),
                required=True,
            ),
            Param(
                "openfirewall",
                ParamType.BOOLEAN,
                description=(
                    "if true, firewall rule for source/end pubic port is automatically "
                    "created; if false - firewall rule has to be created explicitely. If not"
                    " specified 1) defaulted to false when LB rule is being created for VPC "
                    "guest network 2) in all other cases defaulted to true"
                ),
            ),
            Param(
                "account",
                description=(
                    "the account associated with the load balancer. Must be used with the "
                    "domainId parameter."
                ),
            ),
            Param(
                "domainid",
                ParamType.UUID,
                description="the domain ID associated with the load balancer",
                entity="Domain",
            ),
            Param(
                "cidrlist",
                ParamType.LIST,
                description="the cidr list to forward traffic from",
                item_type=ParamType.STRING,
            ),
            Param(
                "networkid",
                ParamType.UUID,
                description=(
                    "The guest network this rule will be created for. Required when public "
                    "Ip address is not associated with any Guest network yet (VPC case)"
                ),
                entity="Network",
            ),
        ),
        roles=ALL_ROLES,
        is_async=True,
        response_name="createloadbalancerruleresponse",
        response_class="LoadBalancerResponse",
        response_fields=LB_FIELDS,
        description="Creates a load balancer rule",
        related=("updateLoadBalancerRule",),
        java_class=(
            "org.apache.cloudstack.api.command.user.loadbalancer.CreateLoadBalancerRuleCmd"
        ),
        create=create_lb_create,
        instance_type="FirewallRule",
        event_type="LB.CREATE",
    ),
    Command(
        name="deleteLoadBalancerRule",
        handler=delete_lb,
        params=(_LB_ID,),
        roles=ALL_ROLES,
        is_async=True,
        response_name="deleteloadbalancerruleresponse",
        response_class="SuccessResponse",
        response_fields=_SUCCESS,
        description="Deletes a load balancer rule.",
        java_class=(
            "org.apache.cloudstack.api.command.user.loadbalancer.DeleteLoadBalancerRuleCmd"
        ),
        instance_type="FirewallRule",
        event_type="LB.DELETE",
    ),
    Command(
        name="updateLoadBalancerRule",
        handler=update_lb,
        params=(
            Param(
                "algorithm",
                description="load balancer algorithm (source, roundrobin, leastconn)",
            ),
            Param(
                "description",
                description="the description of the load balancer rule",
                length=4096,
            ),
            Param(
                "id",
                ParamType.UUID,
                description="the id of the load balancer rule to update",
                required=True,
                entity="FirewallRule",
            ),
            Param("name", description="the name of the load balancer rule"),
        ),
        roles=ALL_ROLES,
        is_async=True,
        response_name="updateloadbalancerruleresponse",
        response_class="LoadBalancerResponse",
        response_fields=LB_FIELDS,
        description="Updates load balancer",
        java_class=(
            "org.apache.cloudstack.api.command.user.loadbalancer.UpdateLoadBalancerRuleCmd"
        ),
        instance_type="FirewallRule",
        event_type="LB.UPDATE",
    ),
    Command(
        name="listLoadBalancerRules",
        handler=list_lb,
        params=(
            Param(
                "id",
                ParamType.UUID,
                description="the ID of the load balancer rule",
                entity="FirewallRule",
            ),
            Param("name", description="the name of the load balancer rule"),
            Param(
                "publicipid",
                ParamType.UUID,
                description="the public IP address id of the load balancer rule ",
                entity="IPAddress",
            ),
            Param(
                "virtualmachineid",
                ParamType.UUID,
                description="the ID of the virtual machine of the load balancer rule",
                entity="UserVm",
            ),
            Param("zoneid", ParamType.UUID, description="the availability zone ID", entity="Zone"),
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
        response_name="listloadbalancerrulesresponse",
        response_class="LoadBalancerResponse",
        response_fields=LB_FIELDS,
        description="Lists load balancer rules.",
        related=("createLoadBalancerRule", "updateLoadBalancerRule"),
        java_class=("org.apache.cloudstack.api.command.user.loadbalancer.ListLoadBalancerRulesCmd"),
    ),
    Command(
        name="assignToLoadBalancerRule",
        handler=assign,
        params=(
            _LB_ID,
            Param(
                "virtualmachineids",
                ParamType.LIST,
                description=(
                    "the list of IDs of the virtual machine that are being assigned to the "
                    "load balancer rule(i.e. virtualMachineIds=1,2,3)"
                ),
                required=True,
                item_type=ParamType.UUID,
                entity="UserVm",
            ),
        ),
        roles=ALL_ROLES,
        is_async=True,
        response_name="assigntoloadbalancerruleresponse",
        response_class="SuccessResponse",
        response_fields=_SUCCESS,
        description=(
            "Assigns virtual machine or a list of virtual machines to a load balancer rule."
        ),
        java_class=(
            "org.apache.cloudstack.api.command.user.loadbalancer.AssignToLoadBalancerRuleCmd"
        ),
        instance_type="FirewallRule",
        event_type="LB.ASSIGN.TO.RULE",
    ),
    Command(
        name="removeFromLoadBalancerRule",
        handler=remove,
        params=(
            Param(
                "id",
                ParamType.UUID,
                description="The ID of the load balancer rule",
                required=True,
                entity="FirewallRule",
            ),
            Param(
                "virtualmachineids",
                ParamType.LIST,
                description=(
                    "the list of IDs of the virtual machines that are being removed from the "
                    "load balancer rule (i.e. virtualMachineIds=1,2,3)"
                ),
                required=True,
                item_type=ParamType.UUID,
                entity="UserVm",
            ),
        ),
        roles=ALL_ROLES,
        is_async=True,
        response_name="removefromloadbalancerruleresponse",
        response_class="SuccessResponse",
        response_fields=_SUCCESS,
        description=(
            "Removes a virtual machine or a list of virtual machines from a load balancer rule."
        ),
        java_class=(
            "org.apache.cloudstack.api.command.user.loadbalancer.RemoveFromLoadBalancerRuleCmd"
        ),
        instance_type="FirewallRule",
        event_type="LB.REMOVE.FROM.RULE",
    ),
    Command(
        name="listLoadBalancerRuleInstances",
        handler=list_instances,
        params=(
            Param(
                "applied",
                ParamType.BOOLEAN,
                description=(
                    "true if listing all virtual machines currently applied to the load "
                    "balancer rule; default is true"
                ),
            ),
            _LB_ID,
            *PAGING,
        ),
        roles=ALL_ROLES,
        response_name="listloadbalancerruleinstancesresponse",
        response_class="UserVmResponse",
        response_fields=USER_VM_FIELDS,
        description=(
            "List all virtual machine instances that are assigned to a load balancer rule."
        ),
        related=("listVirtualMachines",),
        java_class=(
            "org.apache.cloudstack.api.command.user.loadbalancer.ListLoadBalancerRuleInstancesCmd"
        ),
    ),
    Command(
        name="createLBStickinessPolicy",
        handler=create_policy,
        params=(
            Param(
                "lbruleid",
                ParamType.UUID,
                description="the ID of the load balancer rule",
                required=True,
                entity="FirewallRule",
            ),
            Param("description", description="the description of the LB Stickiness policy"),
            Param("name", description="name of the LB Stickiness policy", required=True),
            Param(
                "methodname",
                description=(
                    "name of the LB Stickiness policy method, possible values can be "
                    "obtained from ListNetworks API "
                ),
                required=True,
            ),
            Param(
                "param",
                ParamType.MAP,
                description=(
                    "param list. Example: param[0].name=cookiename&param[0].value=LBCookie "
                ),
            ),
        ),
        roles=ALL_ROLES,
        is_async=True,
        response_name="createLBStickinessPolicy",
        response_class="LBStickinessResponse",
        response_fields=STICKINESS_FIELDS,
        description="Creates a Load Balancer stickiness policy ",
        since="3.0.0",
        java_class=(
            "org.apache.cloudstack.api.command.user.loadbalancer.CreateLBStickinessPolicyCmd"
        ),
        create=create_policy_create,
        instance_type="FirewallRule",
        event_type="LB.STICKINESSPOLICY.CREATE",
    ),
    Command(
        name="deleteLBStickinessPolicy",
        handler=delete_policy,
        params=(
            Param(
                "id",
                ParamType.UUID,
                description="the ID of the LB stickiness policy",
                required=True,
                entity="LBStickiness",
            ),
        ),
        roles=ALL_ROLES,
        is_async=True,
        response_name="deleteLBstickinessrruleresponse",
        response_class="SuccessResponse",
        response_fields=_SUCCESS,
        description="Deletes a LB stickiness policy.",
        since="3.0.0",
        java_class=(
            "org.apache.cloudstack.api.command.user.loadbalancer.DeleteLBStickinessPolicyCmd"
        ),
        event_type="LB.STICKINESSPOLICY.DELETE",
    ),
    Command(
        name="listLBStickinessPolicies",
        handler=list_policies,
        params=(
            Param(
                "lbruleid",
                ParamType.UUID,
                description="the ID of the load balancer rule",
                required=True,
                entity="FirewallRule",
            ),
            *PAGING,
        ),
        roles=ALL_ROLES,
        response_name="listlbstickinesspoliciesresponse",
        response_class="LBStickinessResponse",
        response_fields=STICKINESS_FIELDS,
        description="Lists LBStickiness policies.",
        since="3.0.0",
        related=("createLBStickinessPolicy",),
        java_class=(
            "org.apache.cloudstack.api.command.user.loadbalancer.ListLBStickinessPoliciesCmd"
        ),
    ),
)
"""The load balancing and stickiness commands."""
