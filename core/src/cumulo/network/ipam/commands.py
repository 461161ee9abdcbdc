"""The 4.1 public IP commands — associateIpAddress, disassociateIpAddress,
listPublicIpAddresses — contributed as a built-in plugin (``cumulo.network.ipam.
commands`` in ``BUILTIN_PLUGINS``).

Importing this module registers the ``public_ip`` counter with
:mod:`cumulo.limits.counters` (``updateResourceCount`` recounts through it).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cumulo import events, hookimpl
from cumulo.accounts.access import check_list_scope
from cumulo.accounts.commands import params
from cumulo.accounts.commands.support import domain_param, max_page_size
from cumulo.accounts.lookup import invalid_id
from cumulo.compute.owners import resolve_owner
from cumulo.infra.lookup import find_live, find_physical_network, find_zone
from cumulo.infra.models import AllocationState, IpState, UserIpAddress, VlanIpRange, Zone
from cumulo.jobs.models import AsyncJob
from cumulo.limits import counters
from cumulo.limits.types import ResourceType
from cumulo.network.ipam import service
from cumulo.network.ipam.listing import IpFilter, list_ips
from cumulo.network.ipam.views import FIELDS, ip_fields
from cumulo.network.networks.lookup import load_network
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
from cumulo.sdk.errors import InternalError, InvalidParameterValue, PermissionDenied

OBJECT = "ipaddress"
LIST_OBJECT = "publicipaddress"
"""4.1 names the items of listPublicIpAddresses ``publicipaddress`` (Libcloud reads it)."""
RESOURCE = "IpAddress"
_USER = "org.apache.cloudstack.api.command.user.address"


def count_public_ips(session: Session, account_ids: Sequence[int]) -> dict[int, int]:
    """Public addresses each account holds (4.1: allocated, not system, of public
    ranges); one statement."""
    from cumulo.infra.models import VlanType

    rows = session.execute(
        select(UserIpAddress.account_id, func.count())
        .join(VlanIpRange, VlanIpRange.id == UserIpAddress.vlan_db_id)
        .where(
            UserIpAddress.account_id.in_(account_ids),
            UserIpAddress.state != IpState.FREE.value,
            UserIpAddress.is_system.is_(False),
            VlanIpRange.vlan_type == VlanType.VIRTUAL_NETWORK.value,
        )
        .group_by(UserIpAddress.account_id)
    )
    return {int(account_id or 0): int(count) for account_id, count in rows}


counters.register(ResourceType.PUBLIC_IP, count_public_ips)


def ip_answer(call: Call, ip_id: int) -> ObjectResult:
    """The address as ``IPAddressResponse`` (one statement)."""
    rows, _ = list_ips(
        call.session,
        call.ctx,
        IpFilter(ip_id=ip_id, unscoped=True),
        page=None,
        pagesize=None,
        max_page_size=1,
    )
    return ObjectResult(OBJECT, ip_fields(call.ctx, rows[0]))


def associate_create(call: Call) -> tuple[str, str]:
    """4.1 ``AssociateIPAddrCmd.create()``: take the address (``Allocating``)."""
    session, ctx = call.session, call.ctx
    if call.get("projectid") is not None:
        raise invalid_id("projectid", call.get("projectid"))
    if call.get("vpcid") is not None:
        raise InvalidParameterValue("vpcid: VPCs are not supported by this server yet")
    found = (
        load_network(session, call.params["networkid"], "networkid")
        if call.get("networkid")
        else None
    )
    if found is not None:
        zone = session.get(Zone, found.network.data_center_id)
        assert zone is not None
        if (
            call.get("zoneid") is not None
            and find_zone(session, call.params["zoneid"]).id != zone.id
        ):
            raise InvalidParameterValue("zoneid: the network networkid is not in zone zoneid")
    elif call.get("zoneid") is not None:
        zone = find_zone(session, call.params["zoneid"])
    else:
        raise InvalidParameterValue("networkid: give networkid or zoneid")
    if zone.allocation_state == AllocationState.DISABLED.value and not ctx.is_root_admin:
        raise PermissionDenied(
            f"Cannot perform this operation, Zone is currently disabled: {zone.uuid}"
        )
    owner = service.owner_facts(session, resolve_owner(call).id)
    network = service.network_for(session, owner, zone, found)
    taken = service.acquire(session, owner, network)
    events.record(
        call,
        "NET.IPASSIGN",
        f"Associated IP address {taken.address} with network {network.name} ({network.uuid})",
        resource_type=RESOURCE,
        resource_uuid=taken.uuid,
        account_id=owner.id,
        domain_id=owner.domain_id,
    )
    return RESOURCE, taken.uuid


def associate(call: Call) -> ObjectResult:
    """4.1 ``AssociateIPAddrCmd.execute()``: the network learns the address."""
    session = call.session
    instance = session.scalar(select(AsyncJob.instance_uuid).where(AsyncJob.uuid == call.job_uuid))
    if instance is None:
        raise InternalError(f"job {call.job_uuid} names no IP address")
    held, _, _ = service.load_ip(session, instance)
    service.finish_acquire(session, held)
    return ip_answer(call, held.id)


def disassociate(call: Call) -> SuccessResult:
    """``disassociateIpAddress`` (async)."""
    held = service.find_ip(call.session, call.ctx, call.params["id"])
    service.disassociate(call.session, held)
    events.record(
        call,
        "NET.IPRELEASE",
        f"Disassociated IP address {held.address}",
        resource_type=RESOURCE,
        resource_uuid=held.uuid,
        account_id=held.account_id,
    )
    return SuccessResult()


def find_live_ip(session: Session, value: object, param: str = "id") -> int:
    """The internal id of the address ``value`` names (431 naming ``param`` if none)."""
    text = str(value).strip()
    where = (
        UserIpAddress.id == int(text)
        if text.isdecimal() and 0 < int(text) < 2**63
        else UserIpAddress.uuid == text
    )
    found = session.scalar(select(UserIpAddress.id).where(where))
    if found is None:
        raise invalid_id(param, value)
    return int(found)


def list_handler(call: Call) -> ListResult:
    """``listPublicIpAddresses`` (one statement per page)."""
    session, ctx = call.session, call.ctx
    domain = domain_param(call)
    check_list_scope(ctx, session, domain=domain, account_name=call.get("account"))

    def _id(param: str, finder: object) -> int | None:
        value = call.get(param)
        return None if value is None else int(finder(session, value, param).id)  # type: ignore[operator]

    ip_id = None
    if call.get("id") is not None:
        # Any address of the cloud, free ones included: 4.1's dispatcher finds them,
        # the listing's scope then decides whether the caller sees it.
        ip_id = find_live_ip(session, call.params["id"])
    vlan_db_id = None
    if call.get("vlanid") is not None:
        vlan_db_id = find_live(session, VlanIpRange, call.params["vlanid"], "vlanid").id
    nothing = (
        call.get("vpcid") is not None
        or bool(call.get("tags"))
        or (call.get("projectid") is not None and call.get("projectid") != "-1")
    )
    network_id = None
    if call.get("associatednetworkid") is not None:
        network_id = load_network(
            session, call.params["associatednetworkid"], "associatednetworkid"
        ).network.id
    where = IpFilter(
        # 4.1 buildACLSearchParameters: an id lists whatever the caller may see.
        listall=bool(call.get("listall", False)) or ip_id is not None,
        isrecursive=bool(call.get("isrecursive", False)),
        domain_id=domain.id if domain is not None else None,
        account_name=call.get("account"),
        allocated_only=call.get("allocatedonly", True) is not False,
        ip_id=ip_id,
        address=call.get("ipaddress"),
        zone_id=_id("zoneid", find_zone),
        vlan_db_id=vlan_db_id,
        physical_network_id=_id("physicalnetworkid", find_physical_network),
        network_id=network_id,
        for_virtual_network=call.get("forvirtualnetwork"),
        source_nat=call.get("issourcenat"),
        static_nat=call.get("isstaticnat"),
        for_load_balancing=call.get("forloadbalancing"),
        keyword=call.get("keyword"),
        nothing=nothing,
    )
    rows, total = list_ips(
        session,
        ctx,
        where,
        page=call.get("page"),
        pagesize=call.get("pagesize"),
        max_page_size=max_page_size(call),
    )
    return ListResult(LIST_OBJECT, [ip_fields(ctx, row) for row in rows], total)


COMMANDS: tuple[Command, ...] = (
    Command(
        name="associateIpAddress",
        handler=associate,
        params=(
            Param("account", description="the account to associate with this IP address"),
            Param(
                "domainid",
                ParamType.UUID,
                description="the ID of the domain to associate with this IP address",
                entity="Domain",
            ),
            Param(
                "zoneid",
                ParamType.UUID,
                description=(
                    "the ID of the availability zone you want to acquire an public IP address from"
                ),
                entity="Zone",
            ),
            Param(
                "networkid",
                ParamType.UUID,
                description="The network this ip address should be associated to.",
                entity="Network",
            ),
            Param(
                "projectid",
                ParamType.UUID,
                description="Deploy vm for the project",
                entity="Project",
            ),
            Param(
                "vpcid",
                ParamType.UUID,
                description="the VPC you want the ip address to be associated with",
                entity="Vpc",
            ),
        ),
        roles=ALL_ROLES,
        is_async=True,
        response_name="associateipaddressresponse",
        response_class="IPAddressResponse",
        response_fields=FIELDS,
        description="Acquires and associates a public IP to an account.",
        java_class=f"{_USER}.AssociateIPAddrCmd",
        create=associate_create,
        instance_type=RESOURCE,
        event_type="NET.IPASSIGN",
    ),
    Command(
        name="disassociateIpAddress",
        handler=disassociate,
        params=(
            Param(
                "id",
                ParamType.UUID,
                description="the id of the public ip address to disassociate",
                required=True,
                entity="IPAddress",
            ),
        ),
        roles=ALL_ROLES,
        is_async=True,
        response_name="disassociateipaddressresponse",
        response_class="SuccessResponse",
        response_fields=("success", "displaytext"),
        description="Disassociates an ip address from the account.",
        java_class=f"{_USER}.DisassociateIPAddrCmd",
        instance_type=RESOURCE,
        event_type="NET.IPRELEASE",
    ),
    Command(
        name="listPublicIpAddresses",
        handler=list_handler,
        params=(
            Param(
                "allocatedonly",
                ParamType.BOOLEAN,
                description="limits search results to allocated public IP addresses",
            ),
            Param(
                "forvirtualnetwork",
                ParamType.BOOLEAN,
                description="the virtual network for the IP address",
            ),
            Param("id", ParamType.UUID, description="lists ip address by id", entity="IPAddress"),
            Param("ipaddress", description="lists the specified IP address"),
            Param(
                "vlanid",
                ParamType.UUID,
                description="lists all public IP addresses by VLAN ID",
                entity="VlanIpRange",
            ),
            Param(
                "zoneid",
                ParamType.UUID,
                description="lists all public IP addresses by Zone ID",
                entity="Zone",
            ),
            Param(
                "forloadbalancing",
                ParamType.BOOLEAN,
                description="list only ips used for load balancing",
            ),
            Param(
                "physicalnetworkid",
                ParamType.UUID,
                description="lists all public IP addresses by physical network id",
                entity="PhysicalNetwork",
            ),
            Param(
                "associatednetworkid",
                ParamType.UUID,
                description="lists all public IP addresses associated to the network specified",
                entity="Network",
            ),
            Param(
                "issourcenat", ParamType.BOOLEAN, description="list only source nat ip addresses"
            ),
            Param(
                "isstaticnat", ParamType.BOOLEAN, description="list only static nat ip addresses"
            ),
            Param(
                "vpcid", ParamType.UUID, description="List ips belonging to the VPC", entity="Vpc"
            ),
            Param("tags", ParamType.MAP, description="List resources by tags (key/value pairs)"),
            Param(
                "projectid", ParamType.UUID, description="list objects by project", entity="Project"
            ),
            Param(
                "account",
                description="list resources by account. Must be used with the domainId parameter.",
            ),
            params.LISTALL,
            params.LIST_DOMAIN,
            params.ISRECURSIVE,
            *params.PAGING,
        ),
        roles=ALL_ROLES,
        response_name="listpublicipaddressesresponse",
        response_class="IPAddressResponse",
        response_fields=FIELDS,
        description="Lists all public ip addresses",
        java_class=f"{_USER}.ListPublicIpAddressesCmd",
    ),
)
"""Every 4.1 public IP command cumulo implements."""


@hookimpl
def cumulo_api_commands() -> list[Command]:
    """The public IP commands (see :data:`COMMANDS`)."""
    return list(COMMANDS)
