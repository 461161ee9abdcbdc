"""The 4.1 network offering commands, contributed as a built-in plugin
(``cumulo.network.offerings.commands`` in ``BUILTIN_PLUGINS``): createNetworkOffering,
updateNetworkOffering, deleteNetworkOffering (root admins) and listNetworkOfferings
(everyone), and the ``network.throttling.rate`` setting."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from cumulo import hookimpl
from cumulo.events import record
from cumulo.infra.lookup import find_zone
from cumulo.infra.models import NetworkType
from cumulo.network.networks.lookup import find_network
from cumulo.network.offerings import rules, service, settings, views
from cumulo.network.offerings.listing import (
    NetworkOfferingFilter,
    UpgradeFrom,
    list_network_offerings,
)
from cumulo.network.offerings.lookup import find_network_offering
from cumulo.network.offerings.models import NetworkOffering, NetworkOfferingService
from cumulo.offerings.lookup import find_service_offering
from cumulo.offerings.models import ServiceOffering
from cumulo.offerings.support import list_kwargs
from cumulo.sdk import ConfigKey
from cumulo.sdk.api import (
    ALL_ROLES,
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
from cumulo.sdk.network import Service

RESOURCE = "NetworkOffering"
_ADMIN_PACKAGE = "org.apache.cloudstack.api.command.admin.network"
_USER_PACKAGE = "org.apache.cloudstack.api.command.user.network"


def _default_rate(call: Call) -> int:
    runtime = call.services.get("runtime")
    store = None if runtime is None else runtime.config_store(call.session)
    return settings.network_rate(store)


def _answer(call: Call, offering: NetworkOffering) -> ObjectResult:
    """One offering as its commands answer it (one statement: its services and the
    router offering's id)."""
    rows = call.session.execute(
        select(NetworkOfferingService.service, NetworkOfferingService.provider)
        .where(NetworkOfferingService.network_offering_id == offering.id)
        .order_by(NetworkOfferingService.id)
    ).all()
    services: dict[str, list[str]] = {}
    for name, provider in rows:
        services.setdefault(name, []).extend([provider] if provider else [])
    router = (
        call.session.get(ServiceOffering, offering.service_offering_id)
        if offering.service_offering_id is not None
        else None
    )
    fields = views.network_offering_fields(
        offering,
        services,
        router_offering_uuid=router.uuid if router is not None else None,
        default_rate=_default_rate(call),
    )
    return ObjectResult(views.OBJECT, fields)


def _create(call: Call) -> ObjectResult:
    router = (
        find_service_offering(call.session, call.params["serviceofferingid"], "serviceofferingid")
        if call.get("serviceofferingid") is not None
        else None
    )
    offering = service.create_network_offering(
        call.session,
        name=call.params["name"],
        display_text=call.params["displaytext"],
        traffic_type=call.params["traffictype"],
        guest_type=call.params["guestiptype"],
        supported_services=call.params["supportedservices"],
        service_providers=call.get("serviceproviderlist", ()),
        service_capabilities=call.get("servicecapabilitylist", ()),
        specify_vlan=bool(call.get("specifyvlan", False)),
        specify_ip_ranges=bool(call.get("specifyipranges", False)),
        conserve_mode=bool(call.get("conservemode", True)),
        is_persistent=bool(call.get("ispersistent", False)),
        availability=call.get("availability"),
        tags=call.get("tags"),
        network_rate=call.get("networkrate"),
        router_offering=router,
    )
    record(
        call,
        "NETWORK.OFFERING.CREATE",
        f"Created network offering '{offering.name}' ({offering.guest_type})",
        resource_type=RESOURCE,
        resource_uuid=offering.uuid,
    )
    return _answer(call, offering)


def _update(call: Call) -> ObjectResult:
    if call.get("id") is None:
        raise InvalidParameterValue("id: the network offering to update is required")
    offering = find_network_offering(call.session, call.params["id"])
    changed = service.update_network_offering(
        call.session,
        offering,
        name=call.get("name"),
        display_text=call.get("displaytext"),
        sort_key=call.get("sortkey"),
        state=call.get("state"),
        availability=call.get("availability"),
    )
    if changed:
        record(
            call,
            "NETWORK.OFFERING.EDIT",
            f"Updated network offering '{offering.name}' ({offering.state})",
            resource_type=RESOURCE,
            resource_uuid=offering.uuid,
        )
    return _answer(call, offering)


def _delete(call: Call) -> SuccessResult:
    offering = find_network_offering(call.session, call.params["id"])
    service.delete_network_offering(call.session, offering)
    record(
        call,
        "NETWORK.OFFERING.DELETE",
        f"Deleted network offering '{offering.name}'",
        resource_type=RESOURCE,
        resource_uuid=offering.uuid,
    )
    return SuccessResult()


def _upgrade_from(call: Call) -> UpgradeFrom | None:
    """``networkid``: the network's offering, if the caller may act on the network."""
    if call.get("networkid") is None:
        return None
    network = find_network(call.session, call.ctx, call.params["networkid"], "networkid").network
    current = call.session.get(NetworkOffering, network.network_offering_id)
    if current is None or current.system_only:
        raise InvalidParameterValue("networkid: system networks cannot change their offering")
    security_groups = call.session.scalar(
        select(NetworkOfferingService.id)
        .where(
            NetworkOfferingService.network_offering_id == current.id,
            NetworkOfferingService.service == Service.SECURITY_GROUP.value,
        )
        .limit(1)
    )
    return UpgradeFrom(
        offering_id=current.id,
        traffic_type=current.traffic_type,
        guest_type=current.guest_type,
        specify_vlan=current.specify_vlan,
        security_groups=security_groups is not None,
        in_vpc=network.vpc_id is not None,
    )


def _optional(call: Call, name: str, parse: Callable[[str, str], str]) -> str | None:
    """``parse(value, name)`` of an optional parameter, ``None`` when absent."""
    value = call.get(name)
    return None if value is None else parse(value, name)


def _list(call: Call) -> ListResult:
    zone_id = None
    if call.get("zoneid") is not None:
        zone = find_zone(call.session, call.params["zoneid"])
        if zone.networktype == NetworkType.BASIC:
            # 4.1: tenants create no networks in a basic zone, so no offering is listed.
            return ListResult(views.OBJECT, [], 0)
        zone_id = zone.id
    services = tuple(
        rules.service_name(name, "supportedservices") for name in call.get("supportedservices", ())
    )
    where = NetworkOfferingFilter(
        id=None if call.get("id") is None else str(call.params["id"]),
        name=call.get("name"),
        display_text=call.get("displaytext"),
        keyword=call.get("keyword"),
        traffic_type=call.get("traffictype"),
        guest_type=_optional(call, "guestiptype", rules.guest_type),
        is_default=call.get("isdefault"),
        specify_vlan=call.get("specifyvlan"),
        specify_ip_ranges=call.get("specifyipranges"),
        availability=_optional(call, "availability", rules.availability),
        state=call.get("state"),
        tags=call.get("tags"),
        is_tagged=call.get("istagged"),
        for_vpc=call.get("forvpc"),
        source_nat_supported=call.get("sourcenatsupported"),
        supported_services=services,
        zone_id=zone_id,
        upgrade_from=_upgrade_from(call),
        enabled_only=not call.ctx.is_root_admin,
    )
    rows, total = list_network_offerings(call.session, where, **list_kwargs(call))
    rate = _default_rate(call)
    items = [
        views.network_offering_fields(
            row.offering,
            row.services,
            router_offering_uuid=row.service_offering_uuid,
            default_rate=rate,
        )
        for row in rows
    ]
    return ListResult(views.OBJECT, items, total)


_ID = Param(
    "id",
    ParamType.UUID,
    description="the ID of the network offering",
    required=True,
    entity=RESOURCE,
)

COMMANDS: tuple[Command, ...] = (
    Command(
        name="createNetworkOffering",
        handler=_create,
        params=(
            Param("name", description="the name of the network offering", required=True),
            Param(
                "displaytext",
                description="the display text of the network offering",
                required=True,
            ),
            Param(
                "traffictype",
                description=(
                    "the traffic type for the network offering. Supported type in current"
                    " release is GUEST only"
                ),
                required=True,
            ),
            Param("tags", description="the tags for the network offering.", length=4096),
            Param(
                "specifyvlan",
                ParamType.BOOLEAN,
                description="true if network offering supports vlans",
            ),
            Param(
                "availability",
                description="the availability of network offering. Default value is Optional",
            ),
            Param(
                "networkrate",
                ParamType.INTEGER,
                description="data transfer rate in megabits per second allowed",
            ),
            Param(
                "conservemode",
                ParamType.BOOLEAN,
                description="true if the network offering is IP conserve mode enabled",
            ),
            Param(
                "serviceofferingid",
                ParamType.UUID,
                description="the service offering ID used by virtual router provider",
                entity="ServiceOffering",
            ),
            Param(
                "guestiptype",
                description="guest type of the network offering: Shared or Isolated",
                required=True,
            ),
            Param(
                "supportedservices",
                ParamType.LIST,
                description="services supported by the network offering",
                required=True,
                item_type=ParamType.STRING,
            ),
            Param(
                "serviceproviderlist",
                ParamType.MAP,
                description=(
                    "provider to service mapping. If not specified, the provider for the"
                    " service will be mapped to the default provider on the physical network"
                ),
            ),
            Param(
                "servicecapabilitylist",
                ParamType.MAP,
                description="desired service capabilities as part of network offering",
            ),
            Param(
                "specifyipranges",
                ParamType.BOOLEAN,
                description=(
                    "true if network offering supports specifying ip ranges; defaulted to"
                    " false if not specified"
                ),
            ),
            Param(
                "ispersistent",
                ParamType.BOOLEAN,
                description=(
                    "true if network offering supports persistent networks; defaulted to"
                    " false if not specified"
                ),
            ),
        ),
        roles=Role.ADMIN,
        response_name="createnetworkofferingresponse",
        response_class="NetworkOfferingResponse",
        response_fields=views.NETWORK_OFFERING_FIELDS,
        description="Creates a network offering.",
        since="3.0.0",
        related=("updateNetworkOffering",),
        java_class=f"{_ADMIN_PACKAGE}.CreateNetworkOfferingCmd",
        event_type="NETWORK.OFFERING.CREATE",
    ),
    Command(
        name="updateNetworkOffering",
        handler=_update,
        params=(
            Param(
                "id",
                ParamType.UUID,
                description="the id of the network offering",
                entity=RESOURCE,
            ),
            Param("name", description="the name of the network offering"),
            Param("displaytext", description="the display text of the network offering"),
            Param(
                "availability",
                description=(
                    "the availability of network offering. Default value is Required for Guest"
                    " Virtual network offering; Optional for Guest Direct network offering"
                ),
            ),
            Param(
                "sortkey",
                ParamType.INTEGER,
                description="sort key of the network offering, integer",
            ),
            Param("state", description="update state for the network offering"),
        ),
        roles=Role.ADMIN,
        response_name="updatenetworkofferingresponse",
        response_class="NetworkOfferingResponse",
        response_fields=views.NETWORK_OFFERING_FIELDS,
        description="Updates a network offering.",
        java_class=f"{_ADMIN_PACKAGE}.UpdateNetworkOfferingCmd",
        event_type="NETWORK.OFFERING.EDIT",
    ),
    Command(
        name="deleteNetworkOffering",
        handler=_delete,
        params=(_ID,),
        roles=Role.ADMIN,
        response_name="deletenetworkofferingresponse",
        response_class="SuccessResponse",
        description="Deletes a network offering.",
        since="3.0.0",
        java_class=f"{_ADMIN_PACKAGE}.DeleteNetworkOfferingCmd",
        event_type="NETWORK.OFFERING.DELETE",
    ),
    Command(
        name="listNetworkOfferings",
        handler=_list,
        params=(
            Param(
                "id", ParamType.UUID, description="list network offerings by id", entity=RESOURCE
            ),
            Param("name", description="list network offerings by name"),
            Param("displaytext", description="list network offerings by display text"),
            Param("traffictype", description="list by traffic type"),
            Param(
                "isdefault",
                ParamType.BOOLEAN,
                description=(
                    "true if need to list only default network offerings. Default value is false"
                ),
            ),
            Param(
                "specifyvlan",
                ParamType.BOOLEAN,
                description="the tags for the network offering.",
            ),
            Param(
                "availability",
                description="the availability of network offering. Default value is Required",
            ),
            Param(
                "zoneid",
                ParamType.UUID,
                description=(
                    "list netowrk offerings available for network creation in specific zone"
                ),
                entity="Zone",
            ),
            Param("state", description="list network offerings by state"),
            Param(
                "networkid",
                ParamType.UUID,
                description=(
                    "the ID of the network. Pass this in if you want to see the available"
                    " network offering that a network can be changed to."
                ),
                entity="Network",
            ),
            Param(
                "guestiptype",
                description="list network offerings by guest type: Shared or Isolated",
            ),
            Param(
                "supportedservices",
                ParamType.LIST,
                description="list network offerings supporting certain services",
                item_type=ParamType.STRING,
            ),
            Param(
                "sourcenatsupported",
                ParamType.BOOLEAN,
                description=(
                    "true if need to list only netwok offerings where source nat is"
                    " supported, false otherwise"
                ),
            ),
            Param(
                "specifyipranges",
                ParamType.BOOLEAN,
                description=(
                    "true if need to list only network offerings which support specifying ip ranges"
                ),
            ),
            Param("tags", description="list network offerings by tags", length=4096),
            Param("istagged", ParamType.BOOLEAN, description="true if offering has tags specified"),
            Param(
                "forvpc",
                ParamType.BOOLEAN,
                description=(
                    "the network offering can be used only for network creation inside the VPC"
                ),
            ),
            Param("keyword", description="List by keyword"),
            Param("page", ParamType.INTEGER, description=""),
            Param("pagesize", ParamType.INTEGER, description=""),
        ),
        roles=ALL_ROLES,
        response_name="listnetworkofferingsresponse",
        response_class="NetworkOfferingResponse",
        response_fields=views.NETWORK_OFFERING_FIELDS,
        description="Lists all available network offerings.",
        related=("createNetworkOffering", "updateNetworkOffering"),
        java_class=f"{_USER_PACKAGE}.ListNetworkOfferingsCmd",
    ),
)
"""Every 4.1 network offering command."""


@hookimpl
def cumulo_api_commands() -> list[Command]:
    """The network offering commands (see :data:`COMMANDS`)."""
    return list(COMMANDS)


@hookimpl
def cumulo_configuration_keys() -> list[ConfigKey]:
    """``network.throttling.rate`` (:mod:`.settings`)."""
    return list(settings.KEYS)
