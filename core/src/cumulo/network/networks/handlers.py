"""Handlers of the guest network commands: parameters in, service calls, the 4.1
``network`` object out. Every handler finds its network through
:func:`cumulo.network.networks.lookup.find_network`, which refuses networks the caller
may not act on (531)."""

from __future__ import annotations

from cumulo import events
from cumulo.accounts.access import check_domain_access, check_list_scope
from cumulo.accounts.commands.support import domain_param, max_page_size
from cumulo.accounts.lookup import invalid_id
from cumulo.accounts.models import Domain
from cumulo.compute.owners import resolve_owner
from cumulo.infra.lookup import find_physical_network, find_zone
from cumulo.infra.models import AllocationState
from cumulo.network.networks import basic, lifecycle, update
from cumulo.network.networks.creation import Caller, NetworkRequest, Owner, create_network
from cumulo.network.networks.listing import NetworkFilter, can_use_for_deploy, list_networks
from cumulo.network.networks.lookup import find_network, load_network
from cumulo.network.networks.models import AclType, Network
from cumulo.network.networks.offering import find_offering
from cumulo.network.networks.views import network_fields
from cumulo.sdk.api import Call, ListResult, ObjectResult, SuccessResult
from cumulo.sdk.errors import InvalidParameterValue, PermissionDenied

OBJECT = "network"
RESOURCE = "Network"
SYSTEM_ACCOUNT_ID = 1


def network_answer(call: Call, network_id: int) -> ObjectResult:
    """The network as ``NetworkResponse`` (two statements)."""
    rows, services, _ = list_networks(
        call.session,
        call.ctx,
        NetworkFilter(network_id=network_id, unscoped=True),
        page=None,
        pagesize=None,
        max_page_size=1,
    )
    row = rows[0]
    return ObjectResult(
        OBJECT,
        network_fields(
            call.ctx, row, services.get(row.id, []), can_use_for_deploy=can_use_for_deploy(row)
        ),
    )


def _unsupported(call: Call) -> None:
    if call.get("projectid") is not None:
        raise invalid_id("projectid", call.get("projectid"))
    if call.get("vpcid") is not None:
        raise InvalidParameterValue("vpcid: VPCs are not supported by this server yet")
    for name in ("startipv6", "endipv6", "ip6gateway", "ip6cidr"):
        if call.get(name) is not None:
            raise InvalidParameterValue(f"{name}: IPv6 networks are not supported yet")


def create(call: Call) -> ObjectResult:
    """``createNetwork`` (4.1: synchronous); a persistent offering's network is
    implemented before the answer (REQ-PN-02)."""
    session, ctx = call.session, call.ctx
    _unsupported(call)
    offering = find_offering(session, call.params["networkofferingid"])
    zone = find_zone(session, call.params["zoneid"])
    if zone.allocation_state == AllocationState.DISABLED.value and not ctx.is_root_admin:
        raise PermissionDenied(
            f"Cannot perform this operation, Zone is currently disabled: {zone.uuid}"
        )
    physical = (
        find_physical_network(session, call.params["physicalnetworkid"])
        if call.get("physicalnetworkid")
        else None
    )
    acl = call.get("acltype")
    shared = (offering.guest_type or "") == "Shared"
    domain_acl = (acl or "").strip().lower() == "domain" or (acl is None and shared)
    domain: Domain | None = None
    if domain_acl:
        if call.get("account") is not None:
            raise InvalidParameterValue(
                "account: an account can't own a network with aclType=Domain"
            )
        domain = domain_param(call)
        if domain is None:
            domain = session.get(Domain, ctx.domain_id)
        assert domain is not None
        check_domain_access(ctx, domain)
        owner = Owner(SYSTEM_ACCOUNT_ID, domain.id, "system")
    else:
        resolved = resolve_owner(call)
        owner = Owner(resolved.id, resolved.domain_id, resolved.account_name)
    network = create_network(
        session,
        NetworkRequest(
            name=call.params["name"],
            display_text=call.params["displaytext"],
            offering=offering,
            zone=zone,
            owner=owner,
            caller=Caller(
                is_root_admin=ctx.is_root_admin,
                is_admin=ctx.is_root_admin or ctx.is_domain_admin,
            ),
            physical_network=physical,
            gateway=call.get("gateway"),
            netmask=call.get("netmask"),
            start_ip=call.get("startip"),
            end_ip=call.get("endip"),
            vlan=call.get("vlan"),
            network_domain=call.get("networkdomain"),
            acl_type=acl,
            domain=domain,
            subdomain_access=call.get("subdomainaccess"),
        ),
    )
    if offering.is_persistent:
        lifecycle.implement(session, network.id)
    events.record(
        call,
        "NETWORK.CREATE",
        f"Created network {network.name} ({network.uuid}) in zone {zone.name}",
        resource_type=RESOURCE,
        resource_uuid=network.uuid,
        account_id=network.account_id,
        domain_id=network.domain_id,
    )
    return network_answer(call, network.id)


def update_network(call: Call) -> ObjectResult:
    """``updateNetwork`` (async): names, network domain, offering (:mod:`.update`)."""
    session = call.session
    found = find_network(session, call.ctx, call.params["id"])
    network = found.network
    changes: dict[str, object] = {}
    if call.get("name"):
        changes["name"] = call.params["name"]
    if call.get("displaytext"):
        changes["display_text"] = call.params["displaytext"]
    for column, value in changes.items():
        setattr(network, column, value)
    session.flush()
    if call.get("networkdomain"):
        update.change_network_domain(session, network, call.params["networkdomain"].strip())
    if call.get("networkofferingid"):
        new = find_offering(session, call.params["networkofferingid"])
        if new.id != network.network_offering_id:
            old = find_offering(session, network.network_offering_id)
            new_services = update.check_upgrade(
                session, network, old, new, change_cidr=bool(call.get("changecidr"))
            )
            update.change_offering(session, network, new, new_services)
    events.record(
        call,
        "NETWORK.UPDATE",
        f"Updated network {network.name} ({network.uuid})",
        resource_type=RESOURCE,
        resource_uuid=network.uuid,
        account_id=network.account_id,
        domain_id=network.domain_id,
    )
    return network_answer(call, network.id)


def restart(call: Call) -> SuccessResult:
    """``restartNetwork`` (async)."""
    found = find_network(call.session, call.ctx, call.params["id"])
    network = found.network
    lifecycle.restart(call.session, network.id, cleanup=bool(call.get("cleanup", False)))
    events.record(
        call,
        "NETWORK.RESTART",
        f"Restarted network {network.name} ({network.uuid})"
        + (" with cleanup" if call.get("cleanup") else ""),
        resource_type=RESOURCE,
        resource_uuid=network.uuid,
        account_id=network.account_id,
        domain_id=network.domain_id,
    )
    return SuccessResult()


def delete(call: Call) -> SuccessResult:
    """``deleteNetwork`` (async): refused while VMs use the network."""
    found = find_network(call.session, call.ctx, call.params["id"])
    network: Network = lifecycle.destroy(call.session, found.network.id)
    basic.forget(call.session, network.data_center_id)
    events.record(
        call,
        "NETWORK.DELETE",
        f"Deleted network {network.name} ({network.uuid})",
        resource_type=RESOURCE,
        resource_uuid=network.uuid,
        account_id=network.account_id,
        domain_id=network.domain_id,
    )
    return SuccessResult()


def _choice(call: Call, name: str, values: tuple[str, ...]) -> str | None:
    value = call.get(name)
    if value is None:
        return None
    for allowed in values:
        if allowed.lower() == str(value).strip().lower():
            return allowed
    raise InvalidParameterValue(f"{name}: {value} is not one of {', '.join(values)}")


def list_handler(call: Call) -> ListResult:
    """``listNetworks``: one statement for the page, one for its services."""
    session, ctx = call.session, call.ctx
    domain = domain_param(call)
    account = check_list_scope(ctx, session, domain=domain, account_name=call.get("account"))
    account_domain_path = None
    if account is not None:
        account_domain = session.get(Domain, account.domain_id)
        account_domain_path = account_domain.path if account_domain is not None else None

    def _id(param: str, finder: object) -> int | None:
        value = call.get(param)
        if value is None:
            return None
        return int(finder(session, value, param).id)  # type: ignore[operator]

    network_id = None
    if call.get("id") is not None:
        # Listed if the caller may see it (the scope below), acting on it or not.
        network_id = load_network(session, call.params["id"]).network.id
    nothing = (
        bool(call.get("issystem"))
        or bool(call.get("forvpc"))
        or call.get("vpcid") is not None
        or bool(call.get("tags"))
        or (call.get("projectid") is not None and call.get("projectid") != "-1")
    )
    where = NetworkFilter(
        # 4.1 buildACLSearchParameters: an id lists whatever the caller may see.
        listall=bool(call.get("listall", False)) or network_id is not None,
        isrecursive=bool(call.get("isrecursive", False)),
        domain_id=domain.id if domain is not None else None,
        domain_path=domain.path if domain is not None else None,
        account_name=call.get("account"),
        account_domain_path=account_domain_path,
        network_id=network_id,
        zone_id=_id("zoneid", find_zone),
        guest_type=_choice(call, "type", ("Isolated", "Shared")),
        acl_type=_choice(call, "acltype", (AclType.ACCOUNT.value, AclType.DOMAIN.value)),
        traffic_type=_choice(
            call, "traffictype", ("Guest", "Public", "Management", "Storage", "Control")
        ),
        physical_network_id=_id("physicalnetworkid", find_physical_network),
        restart_required=call.get("restartrequired"),
        specify_ip_ranges=call.get("specifyipranges"),
        supported_services=tuple(call.get("supportedservices") or ()),
        keyword=call.get("keyword"),
        can_use_for_deploy=call.get("canusefordeploy"),
        nothing=nothing,
    )
    rows, services, total = list_networks(
        session,
        ctx,
        where,
        page=call.get("page"),
        pagesize=call.get("pagesize"),
        max_page_size=max_page_size(call),
    )
    items = [
        network_fields(
            ctx, row, services.get(row.id, []), can_use_for_deploy=can_use_for_deploy(row)
        )
        for row in rows
    ]
    return ListResult(OBJECT, items, total)
