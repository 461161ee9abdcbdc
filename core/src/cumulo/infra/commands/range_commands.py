"""The 4.1 VLAN IP range commands: createVlanIpRange, deleteVlanIpRange,
listVlanIpRanges."""

from __future__ import annotations

from typing import Any

from cumulo.accounts.lookup import active_account_by_name, find_domain, invalid_id
from cumulo.infra import ip_ranges, views
from cumulo.infra.commands.support import (
    FOR_VIRTUAL_NETWORK,
    PAGING,
    VLAN_RANGE_ZONE_ID,
    not_yet,
    paging,
)
from cumulo.infra.lookup import find_live, find_physical_network, find_pod, find_zone
from cumulo.infra.models import VlanIpRange, VlanType
from cumulo.sdk.api import (
    Call,
    Command,
    ListResult,
    ObjectResult,
    Param,
    ParamType,
    Role,
    SuccessResult,
)
from cumulo.sdk.errors import InvalidParameterValue

_NO_PROJECTS = (
    "is not supported: projects do not exist in this cloud yet; dedicate the range to an"
    " account with account/domainid instead"
)
_NO_NETWORKS = (
    "is not supported yet: guest networks come with the guest-networking issue; a range"
    " belongs to its zone, pod or physical network for now"
)
_NO_IPV6 = (
    "is not supported yet: 4.1 adds IPv6 ranges only to a shared guest network"
    " (networkid), and guest networks come with the guest-networking issue"
)


def _range_result(call: Call, row: VlanIpRange) -> ObjectResult:
    rows, _ = ip_ranges.list_vlan_ip_ranges(call.session, filters={"id": row.id})
    return ObjectResult("vlan", views.vlan_range_fields(*rows[0]))


def _create_vlan_ip_range(call: Call) -> ObjectResult:
    not_yet(call, "projectid", why=_NO_PROJECTS)
    not_yet(call, "networkid", why=_NO_NETWORKS)
    not_yet(call, "startipv6", "endipv6", "ip6gateway", "ip6cidr", why=_NO_IPV6)
    session = call.session
    pod = find_pod(session, call.params["podid"]) if call.get("podid") else None
    if call.get("zoneid"):
        zone = find_zone(session, call.params["zoneid"])
    elif pod is not None:
        zone = find_zone(session, pod.data_center_id)
    else:
        raise InvalidParameterValue("zoneid is required to create an IP range")
    if call.get("physicalnetworkid"):
        find_physical_network(session, call.params["physicalnetworkid"])
    domain = find_domain(session, call.params["domainid"]) if call.get("domainid") else None
    account = None
    if call.get("account"):
        if domain is None:
            raise InvalidParameterValue("account must be used with the domainid parameter")
        account = active_account_by_name(session, call.params["account"], domain.id)
        if account is None:
            raise invalid_id("account", call.params["account"])
    row = ip_ranges.create_vlan_ip_range(
        call,
        zone,
        pod=pod,
        gateway=call.get("gateway"),
        netmask=call.get("netmask"),
        startip=call.get("startip"),
        endip=call.get("endip"),
        vlan=call.get("vlan"),
        forvirtualnetwork=bool(call.get("forvirtualnetwork", True)),
        account=account,
        domain=domain,
    )
    return _range_result(call, row)


def _delete_vlan_ip_range(call: Call) -> SuccessResult:
    row = find_live(call.session, VlanIpRange, call.params["id"], "id")
    ip_ranges.delete_vlan_ip_range(call, row)
    return SuccessResult()


def _list_vlan_ip_ranges(call: Call) -> ListResult:
    not_yet(call, "projectid", why=_NO_PROJECTS)
    not_yet(call, "networkid", why=_NO_NETWORKS)
    session = call.session
    filters: dict[str, Any] = {}
    if call.get("id"):
        filters["id"] = find_live(session, VlanIpRange, call.params["id"], "id").id
    if call.get("zoneid"):
        filters["data_center_id"] = find_zone(session, call.params["zoneid"]).id
    if call.get("podid"):
        filters["pod_id"] = find_pod(session, call.params["podid"]).id
    if call.get("physicalnetworkid"):
        filters["physical_network_id"] = find_physical_network(
            session, call.params["physicalnetworkid"]
        ).id
    if call.get("vlan"):
        filters["vlan_id"] = call.params["vlan"]
    if call.get("forvirtualnetwork") is not None:
        virtual = bool(call.params["forvirtualnetwork"])
        filters["vlan_type"] = (
            VlanType.VIRTUAL_NETWORK if virtual else VlanType.DIRECT_ATTACHED
        ).value
    if call.get("domainid"):
        domain = find_domain(session, call.params["domainid"])
        filters["domain_id"] = domain.id
        if call.get("account"):
            account = active_account_by_name(session, call.params["account"], domain.id)
            if account is None:
                raise invalid_id("account", call.params["account"])
            filters["account_id"] = account.id
    rows, total = ip_ranges.list_vlan_ip_ranges(
        session, filters=filters, keyword=call.get("keyword"), **paging(call)
    )
    return ListResult("vlan", [views.vlan_range_fields(*row) for row in rows], total)


COMMANDS = (
    Command(
        name="createVlanIpRange",
        handler=_create_vlan_ip_range,
        params=(
            Param(
                "account",
                description=(
                    "account who will own the VLAN. If VLAN is Zone wide, this "
                    "parameter should be ommited"
                ),
            ),
            Param(
                "projectid",
                ParamType.UUID,
                description=(
                    "project who will own the VLAN. If VLAN is Zone wide, this "
                    "parameter should be ommited"
                ),
                entity="Project",
            ),
            Param(
                "domainid",
                ParamType.UUID,
                description="domain ID of the account owning a VLAN",
                entity="Domain",
            ),
            Param("endip", description="the ending IP address in the VLAN IP range"),
            FOR_VIRTUAL_NETWORK,
            Param("gateway", description="the gateway of the VLAN IP range"),
            Param("netmask", description="the netmask of the VLAN IP range"),
            Param(
                "podid",
                ParamType.UUID,
                description=(
                    "optional parameter. Have to be specified for Direct Untagged vlan only."
                ),
                entity="Pod",
            ),
            Param("startip", description="the beginning IP address in the VLAN IP range"),
            Param(
                "vlan",
                description=(
                    "the ID or VID of the VLAN. If not specified, will be "
                    "defaulted to the vlan of the network or if vlan of the "
                    "network is null - to Untagged"
                ),
            ),
            VLAN_RANGE_ZONE_ID,
            Param("networkid", ParamType.UUID, description="the network id", entity="Network"),
            Param(
                "physicalnetworkid",
                ParamType.UUID,
                description="the physical network id",
                entity="PhysicalNetwork",
            ),
            Param("startipv6", description="the beginning IPv6 address in the IPv6 network range"),
            Param("endipv6", description="the ending IPv6 address in the IPv6 network range"),
            Param(
                "ip6gateway",
                description=(
                    "the gateway of the IPv6 network. Required for Shared "
                    "networks and Isolated networks when it belongs to VPC"
                ),
            ),
            Param("ip6cidr", description="the CIDR of IPv6 network, must be at least /64"),
        ),
        roles=Role.ADMIN,
        response_name="createvlaniprangeresponse",
        response_class="VlanIpRangeResponse",
        response_fields=views.VLAN_RANGE_FIELDS,
        description="Creates a VLAN IP range.",
        related=("listVlanIpRanges",),
        java_class="org.apache.cloudstack.api.command.admin.vlan.CreateVlanIpRangeCmd",
        event_type="VLAN.IP.RANGE.CREATE",
    ),
    Command(
        name="deleteVlanIpRange",
        handler=_delete_vlan_ip_range,
        params=(
            Param(
                "id",
                ParamType.UUID,
                description="the id of the VLAN IP range",
                required=True,
                entity="VlanIpRange",
            ),
        ),
        roles=Role.ADMIN,
        response_name="deletevlaniprangeresponse",
        response_class="SuccessResponse",
        response_fields=("success", "displaytext"),
        description="Creates a VLAN IP range.",
        java_class="org.apache.cloudstack.api.command.admin.vlan.DeleteVlanIpRangeCmd",
        event_type="VLAN.IP.RANGE.DELETE",
    ),
    Command(
        name="listVlanIpRanges",
        handler=_list_vlan_ip_ranges,
        params=(
            Param(
                "account",
                description=(
                    "the account with which the VLAN IP range is associated. Must"
                    " be used with the domainId parameter."
                ),
            ),
            Param(
                "projectid",
                ParamType.UUID,
                description="project who will own the VLAN",
                entity="Project",
            ),
            Param(
                "domainid",
                ParamType.UUID,
                description=(
                    "the domain ID with which the VLAN IP range is associated.  "
                    "If used with the account parameter, returns all VLAN IP "
                    "ranges for that account in the specified domain."
                ),
                entity="Domain",
            ),
            Param(
                "id",
                ParamType.UUID,
                description="the ID of the VLAN IP range",
                entity="VlanIpRange",
            ),
            Param(
                "podid", ParamType.UUID, description="the Pod ID of the VLAN IP range", entity="Pod"
            ),
            Param("vlan", description='the ID or VID of the VLAN. Default is an "untagged" VLAN.'),
            VLAN_RANGE_ZONE_ID,
            Param(
                "networkid",
                ParamType.UUID,
                description="network id of the VLAN IP range",
                entity="Network",
            ),
            FOR_VIRTUAL_NETWORK,
            Param(
                "physicalnetworkid",
                ParamType.UUID,
                description="physical network id of the VLAN IP range",
                entity="PhysicalNetwork",
            ),
            *PAGING,
        ),
        roles=Role.ADMIN,
        response_name="listvlaniprangesresponse",
        response_class="VlanIpRangeResponse",
        response_fields=views.VLAN_RANGE_FIELDS,
        description="Lists all VLAN IP ranges.",
        java_class="org.apache.cloudstack.api.command.admin.vlan.ListVlanIpRangesCmd",
    ),
)
