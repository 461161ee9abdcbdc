"""The 4.1 responses of rules (field names and order of response-fields-4.1.tsv).

Ids are the public UUIDs, also where 4.1 shows an internal number (``ipaddressid`` and
``networkid`` of ``FirewallResponse``, ``ipaddressid`` of ``IpForwardingRuleResponse``):
the API never shows internal ids (DESIGN §3), and clients pass these values back as
ids. Ports that 4.1 declares as strings are strings; ``None`` fields are omitted, as
gson does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Row

from cumulo.sdk.api import Fields

FIREWALL_OBJECT = "firewallrule"
PORT_FORWARDING_OBJECT = "portforwardingrule"
IP_FORWARDING_OBJECT = "ipforwardingrule"
LB_OBJECT = "loadbalancer"
"""``createLoadBalancerRule``/``updateLoadBalancerRule`` name the object so (4.1)."""
LB_LIST_OBJECT = "loadbalancerrule"
STICKINESS_OBJECT = "stickinesspolicies"

FIREWALL_FIELDS = (
    "id",
    "protocol",
    "startport",
    "endport",
    "ipaddressid",
    "networkid",
    "ipaddress",
    "state",
    "cidrlist",
    "icmptype",
    "icmpcode",
    "tags",
)
PORT_FORWARDING_FIELDS = (
    "id",
    "privateport",
    "privateendport",
    "protocol",
    "publicport",
    "publicendport",
    "virtualmachineid",
    "virtualmachinename",
    "virtualmachinedisplayname",
    "ipaddressid",
    "ipaddress",
    "state",
    "cidrlist",
    "tags",
)
IP_FORWARDING_FIELDS = (
    "id",
    "protocol",
    "virtualmachineid",
    "virtualmachinename",
    "virtualmachinedisplayname",
    "ipaddressid",
    "ipaddress",
    "startport",
    "endport",
    "state",
)
LB_FIELDS = (
    "id",
    "name",
    "description",
    "publicipid",
    "publicip",
    "publicport",
    "privateport",
    "algorithm",
    "cidrlist",
    "account",
    "projectid",
    "project",
    "domainid",
    "domain",
    "state",
    "zoneid",
    "tags",
)
STICKINESS_FIELDS = (
    "lbruleid",
    "name",
    "description",
    "account",
    "domainid",
    "domain",
    "state",
    "zoneid",
    "stickinesspolicy",
)
STICKINESS_POLICY_FIELDS = ("id", "name", "methodname", "description", "state", "params")


def _text(value: int | None) -> str | None:
    return None if value is None else str(value)


def firewall_fields(row: Row[Any], cidrs: Sequence[str]) -> Fields:
    """``FirewallResponse`` of an ingress or egress rule (:mod:`.listing` columns)."""
    return {
        "id": row.uuid,
        "protocol": row.protocol,
        "startport": _text(row.start_port),
        "endport": _text(row.end_port),
        "ipaddressid": row.ip_uuid,
        "networkid": row.network_uuid,
        "ipaddress": row.ip_address,
        "state": row.state,
        "cidrlist": ",".join(cidrs),
        "icmptype": row.icmp_type,
        "icmpcode": row.icmp_code,
        "tags": [],
    }


def port_forwarding_fields(row: Row[Any]) -> Fields:
    """``FirewallRuleResponse`` of a port-forwarding rule (``cidrlist`` is empty: 4.1
    takes no CIDRs for them any more; the opening firewall rule has them)."""
    return {
        "id": row.uuid,
        "privateport": _text(row.dest_port_start),
        "privateendport": _text(row.dest_port_end),
        "protocol": row.protocol,
        "publicport": _text(row.start_port),
        "publicendport": _text(row.end_port),
        "virtualmachineid": row.vm_uuid,
        "virtualmachinename": row.vm_name,
        "virtualmachinedisplayname": row.vm_display_name or row.vm_name,
        "ipaddressid": row.ip_uuid,
        "ipaddress": row.ip_address,
        "state": row.state,
        "cidrlist": "",
        "tags": [],
    }


def ip_forwarding_fields(row: Row[Any]) -> Fields:
    """``IpForwardingRuleResponse`` of a static NAT (IP forwarding) rule."""
    return {
        "id": row.uuid,
        "protocol": row.protocol,
        "virtualmachineid": row.vm_uuid,
        "virtualmachinename": row.vm_name,
        "virtualmachinedisplayname": row.vm_display_name or row.vm_name,
        "ipaddressid": row.ip_uuid,
        "ipaddress": row.ip_address,
        "startport": row.start_port,
        "endport": row.end_port,
        "state": row.state,
    }


def lb_fields(row: Row[Any], cidrs: Sequence[str] = ()) -> Fields:
    """``LoadBalancerResponse``."""
    return {
        "id": row.uuid,
        "name": row.name,
        "description": row.description,
        "publicipid": row.ip_uuid,
        "publicip": row.ip_address,
        "publicport": _text(row.start_port),
        "privateport": _text(row.default_port_start),
        "algorithm": row.algorithm,
        "cidrlist": ",".join(cidrs),
        "account": row.account_name,
        "domainid": row.domain_uuid,
        "domain": row.domain_name,
        "state": row.state,
        "zoneid": row.zone_uuid,
        "tags": [],
    }


def policy_fields(
    uuid: str,
    name: str,
    method: str,
    description: str | None,
    revoke: bool,
    params: Mapping[str, str],
) -> Fields:
    """``LBStickinessPolicyResponse`` (4.1 shows ``Revoke`` while being removed)."""
    return {
        "id": uuid,
        "name": name,
        "methodname": method,
        "description": description,
        "state": "Revoke" if revoke else "Active",
        "params": dict(params),
    }


def stickiness_fields(lb: Row[Any], policies: list[Fields]) -> Fields:
    """``LBStickinessResponse``: a load balancer with its policies."""
    return {
        "lbruleid": lb.uuid,
        "name": lb.name,
        "description": lb.description,
        "account": lb.account_name,
        "domainid": lb.domain_uuid,
        "domain": lb.domain_name,
        "state": lb.state,
        "zoneid": lb.zone_uuid,
        "stickinesspolicy": policies,
    }
