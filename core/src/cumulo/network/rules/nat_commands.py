"""The port forwarding, static NAT and IP forwarding commands (4.1 declarations) and
their handlers. Create commands write their rules ``Add`` in the ``create`` step and
apply them in the job; deletes revoke, apply and remove
(:mod:`cumulo.network.rules.applying`).

``listIpForwardingRules`` and ``createIpForwardingRule`` answer 4.1's
``IpForwardingRuleResponse`` objects (``ipforwardingrule``), which is what 4.1 sends
and clients read (``startport``, ``endport``), although 4.1's command annotation names
``FirewallRuleResponse``.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from cumulo import events
from cumulo.accounts.commands.params import ISRECURSIVE, LIST_DOMAIN, LISTALL, PAGING
from cumulo.compute.lookup import find_vm
from cumulo.network.rules import applying, listing, port_forwarding, static_nat
from cumulo.network.rules import validation as check
from cumulo.network.rules.lookup import (
    find_public_ip,
    find_rule,
    network_of,
    record_rule_event,
    related_ids,
    rule_of_job,
    target_vm,
)
from cumulo.network.rules.models import (
    LIVE_STATES,
    NetworkRule,
    PortForwardingTarget,
    Purpose,
)
from cumulo.network.rules.views import (
    IP_FORWARDING_FIELDS,
    IP_FORWARDING_OBJECT,
    PORT_FORWARDING_FIELDS,
    PORT_FORWARDING_OBJECT,
    ip_forwarding_fields,
    port_forwarding_fields,
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

_PF = (Service.FIREWALL, Service.PORT_FORWARDING)
_PF_REMOVAL = (Service.PORT_FORWARDING, Service.FIREWALL)


# ---- port forwarding ----------------------------------------------------------------------


def create_pf_create(call: Call) -> tuple[str, str]:
    """``createPortForwardingRule``'s create step (:mod:`.port_forwarding`)."""
    ip = find_public_ip(call.session, call.ctx, call.params["ipaddressid"])
    created = port_forwarding.create(
        call.session,
        call.ctx,
        ip,
        vm_value=call.params["virtualmachineid"],
        protocol=call.params["protocol"],
        public_port=call.params["publicport"],
        public_end_port=call.get("publicendport"),
        private_port=call.params["privateport"],
        private_end_port=call.get("privateendport"),
        open_firewall=call.get("openfirewall"),
        network_value=call.get("networkid"),
        cidrlist=call.get("cidrlist"),
    )
    return "FirewallRule", created.rule_uuid


def create_pf(call: Call) -> ObjectResult:
    """``createPortForwardingRule``'s job: the opening, then the forwarding."""
    applying.prepared(call)
    rule = rule_of_job(call.session, call.job_uuid)
    ids = related_ids(call.session, rule.id)
    services = _PF if len(ids) > 1 else (Service.PORT_FORWARDING,)
    applying.settle_added(call.session, rule.network_id, services, ids)
    record_rule_event(call, "NET.RULEADD", f"Created port forwarding rule {rule.uuid}", rule)
    row = listing.port_forwarding_row(call.session, rule.id)
    return ObjectResult(PORT_FORWARDING_OBJECT, port_forwarding_fields(row))


def delete_pf(call: Call) -> SuccessResult:
    """``deletePortForwardingRule`` (and the opening made for it)."""
    applying.prepared(call)
    found = find_rule(call.session, call.ctx, call.params["id"], (Purpose.PORT_FORWARDING,))
    ids = related_ids(call.session, found.id)
    services = _PF_REMOVAL if len(ids) > 1 else (Service.PORT_FORWARDING,)
    applying.settle_revoked(call.session, found.network_id, services, ids)
    record_rule_event(call, "NET.RULEDELETE", f"Deleted port forwarding rule {found.uuid}", found)
    return SuccessResult()


def _port(call: Call, name: str) -> int:
    text = str(call.params[name]).strip()
    if not text.isdecimal():
        raise InvalidParameterValue(f"{name}: {text!r} is not a port number")
    return int(text)


def update_pf(call: Call) -> ObjectResult:
    """``updatePortForwardingRule``: the rule on ``ipaddressid`` with that public port
    and protocol gets a new private port (its range keeps its length), VM or private
    address. A refusal by the provider puts the rule back as it was."""
    session = applying.prepared(call)
    ip = find_public_ip(session, call.ctx, call.params["ipaddressid"])
    network = network_of(ip)
    public_port = _port(call, "publicport")
    protocol = str(call.params["protocol"]).strip().lower()
    rule = session.execute(
        select(NetworkRule, PortForwardingTarget)
        .join(PortForwardingTarget, PortForwardingTarget.id == NetworkRule.id)
        .where(
            NetworkRule.ip_address_id == ip.id,
            NetworkRule.purpose == Purpose.PORT_FORWARDING.value,
            NetworkRule.start_port == public_port,
            NetworkRule.protocol == protocol,
            NetworkRule.state.in_(LIVE_STATES),
        )
    ).first()
    if rule is None:
        raise InvalidParameterValue(
            f"publicport: the IP address {ip.address} has no {protocol} port forwarding rule"
            f" on public port {public_port}"
        )
    base, target = rule
    before = {
        "instance_id": target.instance_id,
        "dest_ip_address": target.dest_ip_address,
        "dest_port_start": target.dest_port_start,
        "dest_port_end": target.dest_port_end,
    }
    private = check.port(_port(call, "privateport"), "privateport")
    assert private is not None
    length = target.dest_port_end - target.dest_port_start
    if private + length > check.MAX_PORT:
        raise InvalidParameterValue(
            f"privateport: {private}-{private + length} is not a port range"
        )
    vm_value = call.get("virtualmachineid")
    vm, nic = target_vm(
        session, call.ctx, target.instance_id if vm_value is None else vm_value, ip, network
    )
    privateip = call.get("privateip")
    if privateip is not None and privateip.strip() != nic.ip_address:
        raise InvalidParameterValue(
            f"privateip: {privateip} is not the address of VM {vm.uuid} on network"
            f" {network.uuid} ({nic.ip_address})"
        )
    session.execute(
        update(PortForwardingTarget)
        .where(PortForwardingTarget.id == base.id)
        .values(
            instance_id=vm.id,
            dest_ip_address=nic.ip_address,
            dest_port_start=private,
            dest_port_end=private + length,
        )
    )

    def restore(s: Session) -> None:
        s.execute(
            update(PortForwardingTarget).where(PortForwardingTarget.id == base.id).values(**before)
        )

    applying.apply_or_restore(session, network.id, Service.PORT_FORWARDING, restore)
    record_rule_event(call, "NET.RULEMODIFY", f"Updated port forwarding rule {base.uuid}", base)
    return ObjectResult(
        PORT_FORWARDING_OBJECT,
        port_forwarding_fields(listing.port_forwarding_row(session, base.id)),
    )


def list_pf(call: Call) -> ListResult:
    """``listPortForwardingRules``: one statement per page."""
    rule_id = None
    if call.get("id") is not None:
        rule_id = find_rule(
            call.session, call.ctx, call.params["id"], (Purpose.PORT_FORWARDING,)
        ).id
    ip_id = None
    if call.get("ipaddressid") is not None:
        ip_id = find_public_ip(call.session, call.ctx, call.params["ipaddressid"]).id
    page = listing.list_port_forwarding(call, rule_id=rule_id, ip_id=ip_id)
    return ListResult(
        PORT_FORWARDING_OBJECT, [port_forwarding_fields(r) for r in page.rows], page.total
    )


# ---- static NAT ---------------------------------------------------------------------------


def enable_static_nat(call: Call) -> SuccessResult:
    """``enableStaticNat`` (synchronous, as 4.1): map, apply, answer; a refusal by the
    provider unmaps the address again."""
    session = applying.prepared(call)
    ip = find_public_ip(session, call.ctx, call.params["ipaddressid"])
    network = static_nat.enable(
        session,
        call.ctx,
        ip,
        vm_value=call.params["virtualmachineid"],
        network_value=call.get("networkid"),
    )
    applying.apply_or_restore(
        session, network.id, Service.STATIC_NAT, lambda s: static_nat.clear(s, ip.id)
    )
    events.record(
        call,
        "STATICNAT.ENABLE",
        f"Enabled static NAT on {ip.address}",
        resource_type="IpAddress",
        resource_uuid=ip.uuid,
        account_id=ip.account_id,
        domain_id=ip.domain_id,
    )
    return SuccessResult()


def disable_static_nat(call: Call) -> SuccessResult:
    """``disableStaticNat``'s job: the address's IP forwarding rules go first (revoked,
    applied, removed), then the mapping; a refusal of the latter maps it again."""
    session = applying.prepared(call)
    ip = find_public_ip(session, call.ctx, call.params["ipaddressid"])
    network = network_of(ip)
    if not ip.one_to_one_nat:
        raise InvalidParameterValue(
            f"ipaddressid: static NAT is not enabled on the IP address {ip.address}"
        )
    ids = static_nat.forwarding_rule_ids(session, ip.id)
    if ids:
        applying.settle_revoked(session, network.id, (Service.FIREWALL,), ids)
    static_nat.clear(session, ip.id)
    applying.apply_or_restore(
        session,
        network.id,
        Service.STATIC_NAT,
        lambda s: static_nat.restore(s, ip.id, ip.vm_id, ip.vm_ip_address),
    )
    events.record(
        call,
        "STATICNAT.DISABLE",
        f"Disabled static NAT on {ip.address}",
        resource_type="IpAddress",
        resource_uuid=ip.uuid,
        account_id=ip.account_id,
        domain_id=ip.domain_id,
    )
    return SuccessResult()


# ---- IP forwarding ------------------------------------------------------------------------


def create_ipfwd_create(call: Call) -> tuple[str, str]:
    """``createIpForwardingRule``'s create step (:mod:`.static_nat`)."""
    ip = find_public_ip(call.session, call.ctx, call.params["ipaddressid"])
    created = static_nat.create_forwarding(
        call.session,
        ip,
        protocol=call.params["protocol"],
        start_port=call.params["startport"],
        end_port=call.get("endport"),
        open_firewall=call.get("openfirewall"),
        cidrlist=call.get("cidrlist"),
    )
    return "FirewallRule", created.rule_uuid


def create_ipfwd(call: Call) -> ObjectResult:
    """``createIpForwardingRule``'s job: its opening and itself reach the providers as
    firewall entries of the NATed address (the StaticNat set is the mapping)."""
    applying.prepared(call)
    rule = rule_of_job(call.session, call.job_uuid)
    ids = related_ids(call.session, rule.id)
    applying.settle_added(call.session, rule.network_id, (Service.FIREWALL,), ids)
    record_rule_event(call, "NET.RULEADD", f"Created IP forwarding rule {rule.uuid}", rule)
    row = listing.ip_forwarding_row(call.session, rule.id)
    return ObjectResult(IP_FORWARDING_OBJECT, ip_forwarding_fields(row))


def delete_ipfwd(call: Call) -> SuccessResult:
    """``deleteIpForwardingRule``."""
    applying.prepared(call)
    found = find_rule(call.session, call.ctx, call.params["id"], (Purpose.STATIC_NAT,))
    ids = related_ids(call.session, found.id)
    applying.settle_revoked(call.session, found.network_id, (Service.FIREWALL,), ids)
    record_rule_event(call, "NET.RULEDELETE", f"Deleted IP forwarding rule {found.uuid}", found)
    return SuccessResult()


def list_ipfwd(call: Call) -> ListResult:
    """``listIpForwardingRules``: one statement per page."""
    session, ctx = call.session, call.ctx
    rule_id = None
    if call.get("id") is not None:
        rule_id = find_rule(session, ctx, call.params["id"], (Purpose.STATIC_NAT,)).id
    ip_id = None
    if call.get("ipaddressid") is not None:
        ip_id = find_public_ip(session, ctx, call.params["ipaddressid"]).id
    vm_id = None
    if call.get("virtualmachineid") is not None:
        vm_id = find_vm(session, ctx, call.params["virtualmachineid"], "virtualmachineid").id
    page = listing.list_ip_forwarding(call, rule_id=rule_id, ip_id=ip_id, vm_id=vm_id)
    return ListResult(
        IP_FORWARDING_OBJECT, [ip_forwarding_fields(r) for r in page.rows], page.total
    )


# ---- declarations -------------------------------------------------------------------------

_OWNER_LIST = (
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
_OPENFIREWALL_PF = Param(
    "openfirewall",
    ParamType.BOOLEAN,
    description=(
        "if true, firewall rule for source/end pubic port is automatically created; if"
        " false - firewall rule has to be created explicitely. If not specified 1) "
        "defaulted to false when PF rule is being created for VPC guest network 2) in all"
        " other cases defaulted to true"
    ),
)
_CIDRLIST = Param(
    "cidrlist",
    ParamType.LIST,
    description="the cidr list to forward traffic from",
    item_type=ParamType.STRING,
)
_SUCCESS = ("success", "displaytext")

COMMANDS: tuple[Command, ...] = (
    Command(
        name="createPortForwardingRule",
        handler=create_pf,
        params=(
            Param(
                "ipaddressid",
                ParamType.UUID,
                description="the IP address id of the port forwarding rule",
                required=True,
                entity="IPAddress",
            ),
            Param(
                "privateport",
                ParamType.INTEGER,
                description="the starting port of port forwarding rule's private port range",
                required=True,
            ),
            Param(
                "protocol",
                description=(
                    "the protocol for the port fowarding rule. Valid values are TCP or UDP."
                ),
                required=True,
            ),
            Param(
                "privateendport",
                ParamType.INTEGER,
                description="the ending port of port forwarding rule's private port range",
            ),
            Param(
                "publicport",
                ParamType.INTEGER,
                description="the starting port of port forwarding rule's public port range",
                required=True,
            ),
            Param(
                "publicendport",
                ParamType.INTEGER,
                description="the ending port of port forwarding rule's private port range",
            ),
            Param(
                "virtualmachineid",
                ParamType.UUID,
                description="the ID of the virtual machine for the port forwarding rule",
                required=True,
                entity="UserVm",
            ),
            _CIDRLIST,
            _OPENFIREWALL_PF,
            Param(
                "networkid",
                ParamType.UUID,
                description=(
                    "The network of the vm the Port Forwarding rule will be created for. "
                    "Required when public Ip address is not associated with any Guest "
                    "network yet (VPC case)"
                ),
                entity="Network",
            ),
        ),
        roles=ALL_ROLES,
        is_async=True,
        response_name="createportforwardingruleresponse",
        response_class="FirewallRuleResponse",
        response_fields=PORT_FORWARDING_FIELDS,
        description="Creates a port forwarding rule",
        related=("listIpForwardingRules",),
        java_class="org.apache.cloudstack.api.command.user.firewall.CreatePortForwardingRuleCmd",
        create=create_pf_create,
        instance_type="FirewallRule",
        event_type="NET.RULEADD",
    ),
    Command(
        name="deletePortForwardingRule",
        handler=delete_pf,
        params=(
            Param(
                "id",
                ParamType.UUID,
                description="the ID of the port forwarding rule",
                required=True,
                entity="FirewallRule",
            ),
        ),
        roles=ALL_ROLES,
        is_async=True,
        response_name="deleteportforwardingruleresponse",
        response_class="SuccessResponse",
        response_fields=_SUCCESS,
        description="Deletes a port forwarding rule",
        java_class="org.apache.cloudstack.api.command.user.firewall.DeletePortForwardingRuleCmd",
        instance_type="FirewallRule",
        event_type="NET.RULEDELETE",
    ),
    Command(
        name="listPortForwardingRules",
        handler=list_pf,
        params=(
            Param(
                "id",
                ParamType.UUID,
                description="Lists rule with the specified ID.",
                entity="FirewallRule",
            ),
            Param(
                "ipaddressid",
                ParamType.UUID,
                description="the id of IP address of the port forwarding services",
                entity="IPAddress",
            ),
            Param("tags", ParamType.MAP, description="List resources by tags (key/value pairs)"),
            *_OWNER_LIST,
        ),
        roles=ALL_ROLES,
        response_name="listportforwardingrulesresponse",
        response_class="FirewallRuleResponse",
        response_fields=PORT_FORWARDING_FIELDS,
        description="Lists all port forwarding rules for an IP address.",
        java_class="org.apache.cloudstack.api.command.user.firewall.ListPortForwardingRulesCmd",
    ),
    Command(
        name="updatePortForwardingRule",
        handler=update_pf,
        params=(
            Param("privateip", description="the private IP address of the port forwarding rule"),
            Param(
                "privateport",
                description="the private port of the port forwarding rule",
                required=True,
            ),
            Param(
                "protocol",
                description=(
                    "the protocol for the port fowarding rule. Valid values are TCP or UDP."
                ),
                required=True,
            ),
            Param(
                "ipaddressid",
                ParamType.UUID,
                description="the IP address id of the port forwarding rule",
                required=True,
                entity="IPAddress",
            ),
            Param(
                "publicport",
                description="the public port of the port forwarding rule",
                required=True,
            ),
            Param(
                "virtualmachineid",
                ParamType.UUID,
                description="the ID of the virtual machine for the port forwarding rule",
                entity="UserVm",
            ),
        ),
        roles=ALL_ROLES,
        is_async=True,
        response_name="updateportforwardingruleresponse",
        response_class="FirewallRuleResponse",
        response_fields=PORT_FORWARDING_FIELDS,
        description=(
            "Updates a port forwarding rule.  Only the private port and the virtual machine"
            " can be updated."
        ),
        related=("listPortForwardingRules", "createPortForwardingRule", "listIpForwardingRules"),
        java_class="org.apache.cloudstack.api.command.user.firewall.UpdatePortForwardingRuleCmd",
        event_type="NET.RULEMODIFY",
    ),
    Command(
        name="enableStaticNat",
        handler=enable_static_nat,
        params=(
            Param(
                "ipaddressid",
                ParamType.UUID,
                description=(
                    "the public IP address id for which static nat feature is being enabled"
                ),
                required=True,
                entity="IPAddress",
            ),
            Param(
                "virtualmachineid",
                ParamType.UUID,
                description="the ID of the virtual machine for enabling static nat feature",
                required=True,
                entity="UserVm",
            ),
            Param(
                "networkid",
                ParamType.UUID,
                description=(
                    "The network of the vm the static nat will be enabled for. Required "
                    "when public Ip address is not associated with any Guest network yet "
                    "(VPC case)"
                ),
                entity="Network",
            ),
        ),
        roles=ALL_ROLES,
        response_name="enablestaticnatresponse",
        response_class="SuccessResponse",
        response_fields=_SUCCESS,
        description="Enables static nat for given ip address",
        java_class="org.apache.cloudstack.api.command.user.nat.EnableStaticNatCmd",
        event_type="STATICNAT.ENABLE",
    ),
    Command(
        name="disableStaticNat",
        handler=disable_static_nat,
        params=(
            Param(
                "ipaddressid",
                ParamType.UUID,
                description=(
                    "the public IP address id for which static nat feature is being disableed"
                ),
                required=True,
                entity="IPAddress",
            ),
        ),
        roles=ALL_ROLES,
        is_async=True,
        response_name="disablestaticnatresponse",
        response_class="SuccessResponse",
        response_fields=_SUCCESS,
        description="Disables static rule for given ip address",
        java_class="org.apache.cloudstack.api.command.user.nat.DisableStaticNatCmd",
        event_type="STATICNAT.DISABLE",
    ),
    Command(
        name="createIpForwardingRule",
        handler=create_ipfwd,
        params=(
            Param(
                "ipaddressid",
                ParamType.UUID,
                description=(
                    "the public IP address id of the forwarding rule, already associated via"
                    " associateIp"
                ),
                required=True,
                entity="IPAddress",
            ),
            Param(
                "startport",
                ParamType.INTEGER,
                description="the start port for the rule",
                required=True,
            ),
            Param("endport", ParamType.INTEGER, description="the end port for the rule"),
            Param(
                "protocol",
                description="the protocol for the rule. Valid values are TCP or UDP.",
                required=True,
            ),
            Param(
                "openfirewall",
                ParamType.BOOLEAN,
                description=(
                    "if true, firewall rule for source/end pubic port is automatically "
                    "created; if false - firewall rule has to be created explicitely. Has "
                    "value true by default"
                ),
            ),
            _CIDRLIST,
        ),
        roles=ALL_ROLES,
        is_async=True,
        response_name="createipforwardingruleresponse",
        response_class="FirewallRuleResponse",
        response_fields=IP_FORWARDING_FIELDS,
        description="Creates an ip forwarding rule",
        related=(
            "listPortForwardingRules",
            "createPortForwardingRule",
            "updatePortForwardingRule",
            "listIpForwardingRules",
        ),
        java_class="org.apache.cloudstack.api.command.user.nat.CreateIpForwardingRuleCmd",
        create=create_ipfwd_create,
        instance_type="FirewallRule",
        event_type="NET.RULEADD",
    ),
    Command(
        name="deleteIpForwardingRule",
        handler=delete_ipfwd,
        params=(
            Param(
                "id",
                ParamType.UUID,
                description="the id of the forwarding rule",
                required=True,
                entity="FirewallRule",
            ),
        ),
        roles=ALL_ROLES,
        is_async=True,
        response_name="deleteipforwardingruleresponse",
        response_class="SuccessResponse",
        response_fields=_SUCCESS,
        description="Deletes an ip forwarding rule",
        java_class="org.apache.cloudstack.api.command.user.nat.DeleteIpForwardingRuleCmd",
        instance_type="FirewallRule",
        event_type="NET.RULEDELETE",
    ),
    Command(
        name="listIpForwardingRules",
        handler=list_ipfwd,
        params=(
            Param(
                "ipaddressid",
                ParamType.UUID,
                description="list the rule belonging to this public ip address",
                entity="IPAddress",
            ),
            Param(
                "id",
                ParamType.UUID,
                description="Lists rule with the specified ID.",
                entity="FirewallRule",
            ),
            Param(
                "virtualmachineid",
                ParamType.UUID,
                description="Lists all rules applied to the specified Vm.",
                entity="UserVm",
            ),
            *_OWNER_LIST,
        ),
        roles=ALL_ROLES,
        response_name="listipforwardingrulesresponse",
        response_class="FirewallRuleResponse",
        response_fields=IP_FORWARDING_FIELDS,
        description="List the ip forwarding rules",
        java_class="org.apache.cloudstack.api.command.user.nat.ListIpForwardingRulesCmd",
    ),
)
"""The port forwarding, static NAT and IP forwarding commands."""
