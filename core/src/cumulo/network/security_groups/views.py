"""``SecurityGroupResponse`` and ``SecurityGroupRuleResponse`` (field order of
response-fields-4.1.tsv). As 4.1's ``ApiResponseHelper``, an ICMP rule shows
``icmptype``/``icmpcode`` and a TCP/UDP rule ``startport``/``endport``; a rule whose
peer is a group shows that group's name and account, one whose peer is a CIDR the
``cidr``."""

from __future__ import annotations

from typing import Any

from cumulo.network.rules import validation as check
from cumulo.sdk.api import Fields

OBJECT = "securitygroup"
GROUP_FIELDS = (
    "id",
    "name",
    "description",
    "account",
    "projectid",
    "project",
    "domainid",
    "domain",
    "ingressrule",
    "egressrule",
    "tags",
)
RULE_FIELDS = (
    "ruleid",
    "protocol",
    "icmptype",
    "icmpcode",
    "startport",
    "endport",
    "securitygroupname",
    "account",
    "cidr",
)


def rule_fields(row: Any) -> Fields:
    """One rule (a :mod:`.listing` rule row)."""
    icmp = row.protocol == check.ICMP
    return {
        "ruleid": row.uuid,
        "protocol": row.protocol,
        "icmptype": row.start_port if icmp else None,
        "icmpcode": row.end_port if icmp else None,
        "startport": None if icmp else row.start_port,
        "endport": None if icmp else row.end_port,
        "securitygroupname": row.peer_name,
        "account": row.peer_account,
        "cidr": row.allowed_ip_cidr,
    }


def group_fields(row: Any, ingress: list[Fields], egress: list[Fields]) -> Fields:
    """One group with its rules (a :mod:`.listing` group row)."""
    return {
        "id": row.uuid,
        "name": row.name,
        "description": row.description,
        "account": row.account_name,
        "domainid": row.domain_uuid,
        "domain": row.domain_name,
        "ingressrule": ingress,
        "egressrule": egress,
        "tags": [],
    }
