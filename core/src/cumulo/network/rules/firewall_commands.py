"""The firewall and egress firewall commands (4.1 declarations, generated with
``api/tools/gen_declaration.py``) and their handlers.

``createFirewallRule``/``createEgressFirewallRule`` are 4.1 ``BaseAsyncCreateCmd``s: the
``create`` step validates and writes the rule ``Add`` in the request (the answer
carries its ``id``), the job applies the network's firewall set and marks it ``Active``
(:mod:`cumulo.network.rules.applying`). Deletes are async jobs of their own.
"""

from __future__ import annotations

from sqlalchemy import select

from cumulo.accounts.commands.params import ISRECURSIVE, LIST_DOMAIN, LISTALL, PAGING
from cumulo.infra.models import Zone
from cumulo.network.networks.lookup import find_network
from cumulo.network.rules import applying, firewall, listing
from cumulo.network.rules.lookup import (
    find_public_ip,
    find_rule,
    record_rule_event,
    rule_of_job,
)
from cumulo.network.rules.models import Purpose, RuleType, TrafficType
from cumulo.network.rules.views import FIREWALL_FIELDS, FIREWALL_OBJECT, firewall_fields
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
from cumulo.sdk.errors import PermissionDenied
from cumulo.sdk.network import Service

RULE_TYPES = ("user", "system")
_FIREWALL = (Service.FIREWALL,)


def _rule_type(call: Call) -> RuleType:
    """``type``: ``user`` (the default), or ``system`` for root admins only."""
    if (call.get("type") or "user").lower() != "system":
        return RuleType.USER
    if not call.ctx.is_root_admin:
        raise PermissionDenied("type: only a root admin may create system firewall rules")
    return RuleType.SYSTEM


def _answer(call: Call, rule_id: int) -> ObjectResult:
    row, cidrs = listing.firewall_row(call.session, rule_id)
    return ObjectResult(FIREWALL_OBJECT, firewall_fields(row, cidrs))


# ---- ingress ------------------------------------------------------------------------------


def create_firewall_rule_create(call: Call) -> tuple[str, str]:
    """``createFirewallRule``'s create step: the rule, ``Add``."""
    rule_type = _rule_type(call)
    ip = find_public_ip(call.session, call.ctx, call.params["ipaddressid"])
    rule = firewall.create_ingress(
        call.session,
        ip,
        protocol=call.params["protocol"],
        start_port=call.get("startport"),
        end_port=call.get("endport"),
        cidrlist=call.get("cidrlist"),
        icmp_type=call.get("icmptype"),
        icmp_code=call.get("icmpcode"),
        rule_type=rule_type,
    )
    return "FirewallRule", rule.uuid


def create_firewall_rule(call: Call) -> ObjectResult:
    """``createFirewallRule``'s job: apply the network's firewall set (REQ-FW-03)."""
    applying.prepared(call)
    rule = rule_of_job(call.session, call.job_uuid)
    applying.settle_added(call.session, rule.network_id, _FIREWALL, [rule.id])
    record_rule_event(call, "FIREWALL.OPEN", f"Created firewall rule {rule.uuid}", rule)
    return _answer(call, rule.id)


def _delete(call: Call, traffic: TrafficType, event: str) -> SuccessResult:
    applying.prepared(call)
    found = find_rule(
        call.session, call.ctx, call.params["id"], (Purpose.FIREWALL,), traffic_type=traffic
    )
    applying.settle_revoked(call.session, found.network_id, _FIREWALL, [found.id])
    record_rule_event(call, event, f"Deleted firewall rule {found.uuid}", found)
    return SuccessResult()


def delete_firewall_rule(call: Call) -> SuccessResult:
    """``deleteFirewallRule``: the opening is closed once the providers applied it."""
    return _delete(call, TrafficType.INGRESS, "FIREWALL.CLOSE")


def _ip_id(call: Call) -> int | None:
    value = call.get("ipaddressid")
    return None if value is None else find_public_ip(call.session, call.ctx, value).id


def _rule_id(call: Call, traffic: TrafficType) -> int | None:
    value = call.get("id")
    if value is None:
        return None
    return find_rule(call.session, call.ctx, value, (Purpose.FIREWALL,), traffic_type=traffic).id


def list_firewall_rules(call: Call) -> ListResult:
    """``listFirewallRules``: two statements per page (rules, their CIDRs)."""
    page = listing.list_firewall(
        call,
        TrafficType.INGRESS,
        rule_id=_rule_id(call, TrafficType.INGRESS),
        ip_id=_ip_id(call),
    )
    items = [firewall_fields(row, page.cidrs.get(row.id, [])) for row in page.rows]
    return ListResult(FIREWALL_OBJECT, items, page.total)


# ---- egress -------------------------------------------------------------------------------


def create_egress_rule_create(call: Call) -> tuple[str, str]:
    """``createEgressFirewallRule``'s create step."""
    rule_type = _rule_type(call)
    found = find_network(call.session, call.ctx, call.params["networkid"], "networkid")
    networktype = call.session.scalar(
        select(Zone.networktype).where(Zone.id == found.network.data_center_id)
    )
    rule = firewall.create_egress(
        call.session,
        found,
        protocol=call.params["protocol"],
        start_port=call.get("startport"),
        end_port=call.get("endport"),
        cidrlist=call.get("cidrlist"),
        icmp_type=call.get("icmptype"),
        icmp_code=call.get("icmpcode"),
        zone_networktype=networktype or "",
        rule_type=rule_type,
    )
    return "FirewallRule", rule.uuid


def create_egress_rule(call: Call) -> ObjectResult:
    """``createEgressFirewallRule``'s job (REQ-FW-07: once a rule exists, only what
    the rules allow goes out)."""
    applying.prepared(call)
    rule = rule_of_job(call.session, call.job_uuid)
    applying.settle_added(call.session, rule.network_id, _FIREWALL, [rule.id])
    record_rule_event(call, "FIREWALL.OPEN", f"Created egress firewall rule {rule.uuid}", rule)
    return _answer(call, rule.id)


def delete_egress_rule(call: Call) -> SuccessResult:
    """``deleteEgressFirewallRule`` (REQ-FW-07: the last one gone, the default applies)."""
    return _delete(call, TrafficType.EGRESS, "FIREWALL.CLOSE")


def list_egress_rules(call: Call) -> ListResult:
    """``listEgressFirewallRules``."""
    network_id = None
    if call.get("networkid") is not None:
        found = find_network(call.session, call.ctx, call.params["networkid"], "networkid")
        network_id = found.network.id
    page = listing.list_firewall(
        call,
        TrafficType.EGRESS,
        rule_id=_rule_id(call, TrafficType.EGRESS),
        # Egress rules belong to no address: naming one matches nothing.
        ip_id=None if call.get("ipaddressid") is None else 0,
        network_id=network_id,
    )
    items = [firewall_fields(row, page.cidrs.get(row.id, [])) for row in page.rows]
    return ListResult(FIREWALL_OBJECT, items, page.total)


# ---- declarations -------------------------------------------------------------------------

_RULE_PARAMS = (
    Param(
        "protocol",
        description="the protocol for the firewall rule. Valid values are TCP/UDP/ICMP.",
        required=True,
    ),
    Param("startport", ParamType.INTEGER, description="the starting port of firewall rule"),
    Param("endport", ParamType.INTEGER, description="the ending port of firewall rule"),
    Param(
        "cidrlist",
        ParamType.LIST,
        description="the cidr list to forward traffic from",
        item_type=ParamType.STRING,
    ),
    Param("icmptype", ParamType.INTEGER, description="type of the icmp message being sent"),
    Param("icmpcode", ParamType.INTEGER, description="error code for this icmp message"),
    Param("type", description="type of firewallrule: system/user", choices=RULE_TYPES),
)
_DELETE_PARAMS = (
    Param(
        "id",
        ParamType.UUID,
        description="the ID of the firewall rule",
        required=True,
        entity="FirewallRule",
    ),
)
_LIST_PARAMS = (
    Param(
        "ipaddressid",
        ParamType.UUID,
        description="the id of IP address of the firwall services",
        entity="IPAddress",
    ),
    Param("tags", ParamType.MAP, description="List resources by tags (key/value pairs)"),
    Param("projectid", ParamType.UUID, description="list objects by project", entity="Project"),
    Param(
        "account",
        description="list resources by account. Must be used with the domainId parameter.",
    ),
    LISTALL,
    LIST_DOMAIN,
    ISRECURSIVE,
    *PAGING,
)
_LIST_ID = Param(
    "id", ParamType.UUID, description="Lists rule with the specified ID.", entity="FirewallRule"
)

COMMANDS: tuple[Command, ...] = (
    Command(
        name="createFirewallRule",
        handler=create_firewall_rule,
        params=(
            Param(
                "ipaddressid",
                ParamType.UUID,
                description="the IP address id of the port forwarding rule",
                required=True,
                entity="IPAddress",
            ),
            *_RULE_PARAMS,
        ),
        roles=ALL_ROLES,
        is_async=True,
        response_name="createfirewallruleresponse",
        response_class="FirewallResponse",
        response_fields=FIREWALL_FIELDS,
        description="Creates a firewall rule for a given ip address",
        related=("listEgressFirewallRules",),
        java_class="org.apache.cloudstack.api.command.user.firewall.CreateFirewallRuleCmd",
        create=create_firewall_rule_create,
        instance_type="FirewallRule",
        event_type="FIREWALL.OPEN",
    ),
    Command(
        name="deleteFirewallRule",
        handler=delete_firewall_rule,
        params=_DELETE_PARAMS,
        roles=ALL_ROLES,
        is_async=True,
        response_name="deletefirewallruleresponse",
        response_class="SuccessResponse",
        response_fields=("success", "displaytext"),
        description="Deletes a firewall rule",
        java_class="org.apache.cloudstack.api.command.user.firewall.DeleteFirewallRuleCmd",
        instance_type="FirewallRule",
        event_type="FIREWALL.CLOSE",
    ),
    Command(
        name="listFirewallRules",
        handler=list_firewall_rules,
        params=(_LIST_ID, *_LIST_PARAMS),
        roles=ALL_ROLES,
        response_name="listfirewallrulesresponse",
        response_class="FirewallResponse",
        response_fields=FIREWALL_FIELDS,
        description="Lists all firewall rules for an IP address.",
        related=("listEgressFirewallRules",),
        java_class="org.apache.cloudstack.api.command.user.firewall.ListFirewallRulesCmd",
    ),
    Command(
        name="createEgressFirewallRule",
        handler=create_egress_rule,
        params=(
            Param(
                "networkid",
                ParamType.UUID,
                description="the network id of the port forwarding rule",
                required=True,
                entity="Network",
            ),
            *_RULE_PARAMS,
        ),
        roles=ALL_ROLES,
        is_async=True,
        response_name="createegressfirewallruleresponse",
        response_class="FirewallResponse",
        response_fields=FIREWALL_FIELDS,
        description="Creates a egress firewall rule for a given network ",
        related=("listEgressFirewallRules",),
        java_class="org.apache.cloudstack.api.command.user.firewall.CreateEgressFirewallRuleCmd",
        create=create_egress_rule_create,
        instance_type="FirewallRule",
        event_type="FIREWALL.OPEN",
    ),
    Command(
        name="deleteEgressFirewallRule",
        handler=delete_egress_rule,
        params=_DELETE_PARAMS,
        roles=ALL_ROLES,
        is_async=True,
        response_name="deleteegressfirewallruleresponse",
        response_class="SuccessResponse",
        response_fields=("success", "displaytext"),
        description="Deletes an ggress firewall rule",
        java_class="org.apache.cloudstack.api.command.user.firewall.DeleteEgressFirewallRuleCmd",
        instance_type="FirewallRule",
        event_type="FIREWALL.CLOSE",
    ),
    Command(
        name="listEgressFirewallRules",
        handler=list_egress_rules,
        params=(
            _LIST_ID,
            Param(
                "networkid",
                ParamType.UUID,
                description="the id network network for the egress firwall services",
                entity="Network",
            ),
            *_LIST_PARAMS,
        ),
        roles=ALL_ROLES,
        response_name="listegressfirewallrulesresponse",
        response_class="FirewallResponse",
        response_fields=FIREWALL_FIELDS,
        description="Lists all egress firewall rules for network id.",
        related=("createEgressFirewallRule",),
        java_class="org.apache.cloudstack.api.command.user.firewall.ListEgressFirewallRulesCmd",
    ),
)
"""The firewall and egress firewall commands."""
