"""The 4.1 physical network commands: physical networks (async), traffic types (async)
with listTrafficTypeImplementors, network service providers (async) and
listSupportedNetworkServices."""

from __future__ import annotations

from cumulo.accounts.lookup import find_domain
from cumulo.infra import physical_networks, providers, traffic_types, views
from cumulo.infra.commands.support import (
    KVM_NETWORK_LABEL,
    PAGING,
    PHYSICAL_NETWORK_ID,
    PHYSICAL_NETWORK_TAGS,
    SERVICE_LIST,
    TRAFFIC_TYPE_ID,
    VMWARE_NETWORK_LABEL,
    XEN_NETWORK_LABEL,
    created_uuid,
    paging,
)
from cumulo.infra.lookup import find_physical_network, find_zone
from cumulo.infra.network_services import PROVIDERS, SERVICES, TRAFFIC_IMPLEMENTORS
from cumulo.infra.rules import choice
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


def _network_result(call: Call, uuid: str) -> ObjectResult:
    network = find_physical_network(call.session, uuid, "id")
    zone = find_zone(call.session, network.data_center_id)
    domain = find_domain(call.session, network.domain_id) if network.domain_id else None
    return ObjectResult("physicalnetwork", views.physical_network_fields(network, zone, domain))


def _create_physical_network_create(call: Call) -> tuple[str, str]:
    # 4.1's BaseAsyncCreateCmd: the row exists (and is validated) before the job runs.
    zone = find_zone(call.session, call.params["zoneid"])
    domain = find_domain(call.session, call.params["domainid"]) if call.get("domainid") else None
    network = physical_networks.create_physical_network(
        call,
        zone,
        name=call.params["name"],
        vlan=call.get("vlan"),
        networkspeed=call.get("networkspeed"),
        domain=domain,
        broadcastdomainrange=call.get("broadcastdomainrange"),
        tags=call.get("tags"),
        isolationmethods=call.get("isolationmethods"),
    )
    return "PhysicalNetwork", network.uuid


def _create_physical_network(call: Call) -> ObjectResult:
    return _network_result(call, created_uuid(call))


def _update_physical_network(call: Call) -> ObjectResult:
    network = find_physical_network(call.session, call.params["id"], "id")
    physical_networks.update_physical_network(
        call,
        network,
        networkspeed=call.get("networkspeed"),
        tags=call.get("tags"),
        state=call.get("state"),
        vlan=call.get("vlan"),
    )
    return _network_result(call, network.uuid)


def _delete_physical_network(call: Call) -> SuccessResult:
    network = find_physical_network(call.session, call.params["id"], "id")
    physical_networks.delete_physical_network(call, network)
    return SuccessResult()


def _list_physical_networks(call: Call) -> ListResult:
    session = call.session
    rows, total = physical_networks.list_physical_networks(
        session,
        network=find_physical_network(session, call.params["id"], "id") if call.get("id") else None,
        zone=find_zone(session, call.params["zoneid"]) if call.get("zoneid") else None,
        name=call.get("name"),
        keyword=call.get("keyword"),
        **paging(call),
    )
    items = [views.physical_network_fields(n, z, d) for n, z, d in rows]
    return ListResult("physicalnetwork", items, total)


def _labels(call: Call) -> dict[str, str | None]:
    return {param: call.get(param) for param in traffic_types.LABELS}


def _traffic_result(call: Call, uuid: str) -> ObjectResult:
    row = traffic_types.find_traffic_type(call.session, uuid)
    network = find_physical_network(call.session, row.physical_network_id)
    return ObjectResult("traffictype", views.traffic_type_fields(row, network))


def _add_traffic_type_create(call: Call) -> tuple[str, str]:
    network = find_physical_network(call.session, call.params["physicalnetworkid"])
    row = traffic_types.add_traffic_type(
        call,
        network,
        traffictype=call.params["traffictype"],
        labels=_labels(call),
        vlan=call.get("vlan"),
    )
    return "TrafficType", row.uuid


def _add_traffic_type(call: Call) -> ObjectResult:
    return _traffic_result(call, created_uuid(call))


def _update_traffic_type(call: Call) -> ObjectResult:
    row = traffic_types.find_traffic_type(call.session, call.params["id"])
    traffic_types.update_traffic_type(call, row, _labels(call))
    return _traffic_result(call, row.uuid)


def _delete_traffic_type(call: Call) -> SuccessResult:
    row = traffic_types.find_traffic_type(call.session, call.params["id"])
    traffic_types.delete_traffic_type(call, row)
    return SuccessResult()


def _list_traffic_types(call: Call) -> ListResult:
    network = find_physical_network(call.session, call.params["physicalnetworkid"])
    rows, total = traffic_types.list_traffic_types(
        call.session, network, keyword=call.get("keyword"), **paging(call)
    )
    return ListResult(
        "traffictype", [views.traffic_type_fields(row, network) for row in rows], total
    )


def _list_traffic_type_implementors(call: Call) -> ListResult:
    wanted = call.get("traffictype")
    if wanted:
        wanted = choice(
            wanted, tuple(dict.fromkeys(t for t, _ in TRAFFIC_IMPLEMENTORS)), "traffictype"
        )
    items = [
        {"traffictype": kind, "traffictypeimplementor": guru}
        for kind, guru in TRAFFIC_IMPLEMENTORS
        if not wanted or kind == wanted
    ]
    return ListResult("traffictypeimplementorresponse", items, len(items))


def _list_supported_network_services(call: Call) -> ListResult:
    service = (
        choice(call.params["service"], tuple(SERVICES), "service") if call.get("service") else None
    )
    provider = (
        choice(call.params["provider"], tuple(PROVIDERS), "provider")
        if call.get("provider")
        else None
    )
    items = []
    for name, capabilities in SERVICES.items():
        offered_by = [p for p, services in PROVIDERS.items() if name in services]
        if (service and name != service) or (provider and provider not in offered_by):
            continue
        items.append(
            {
                "name": name,
                "provider": [{"name": p} for p in offered_by],
                "capability": [
                    {"name": c, "canchooseservicecapability": False} for c in capabilities
                ],
            }
        )
    return ListResult("networkservice", items, len(items))


def _provider_result(call: Call, uuid: str) -> ObjectResult:
    row = providers.find_provider(call.session, uuid)
    network = find_physical_network(call.session, row.physical_network_id)
    destination = (
        find_physical_network(call.session, row.destination_physical_network_id)
        if row.destination_physical_network_id
        else None
    )
    return ObjectResult("networkserviceprovider", views.provider_fields(row, network, destination))


def _add_network_service_provider_create(call: Call) -> tuple[str, str]:
    session = call.session
    network = find_physical_network(session, call.params["physicalnetworkid"])
    destination = (
        find_physical_network(
            session, call.params["destinationphysicalnetworkid"], "destinationphysicalnetworkid"
        )
        if call.get("destinationphysicalnetworkid")
        else None
    )
    row = providers.add_provider(
        call,
        network,
        name=call.params["name"],
        servicelist=call.get("servicelist"),
        destination=destination,
    )
    return "PhysicalNetworkServiceProvider", row.uuid


def _add_network_service_provider(call: Call) -> ObjectResult:
    return _provider_result(call, created_uuid(call))


def _update_network_service_provider(call: Call) -> ObjectResult:
    row = providers.find_provider(call.session, call.params["id"])
    providers.update_provider(
        call, row, state=call.get("state"), servicelist=call.get("servicelist")
    )
    return _provider_result(call, row.uuid)


def _delete_network_service_provider(call: Call) -> SuccessResult:
    providers.delete_provider(call, providers.find_provider(call.session, call.params["id"]))
    return SuccessResult()


def _list_network_service_providers(call: Call) -> ListResult:
    session = call.session
    network = (
        find_physical_network(session, call.params["physicalnetworkid"])
        if call.get("physicalnetworkid")
        else None
    )
    rows, total = providers.list_providers(
        session,
        network=network,
        name=call.get("name"),
        state=call.get("state"),
        keyword=call.get("keyword"),
        **paging(call),
    )
    return ListResult(
        "networkserviceprovider", [views.provider_fields(r, n) for r, n in rows], total
    )


COMMANDS = (
    Command(
        name="createPhysicalNetwork",
        handler=_create_physical_network,
        params=(
            Param(
                "zoneid",
                ParamType.UUID,
                description="the Zone ID for the physical network",
                required=True,
                entity="Zone",
            ),
            Param("vlan", description="the VLAN for the physical network"),
            Param("networkspeed", description="the speed for the physical network[1G/10G]"),
            Param(
                "domainid",
                ParamType.UUID,
                description="domain ID of the account owning a physical network",
                entity="Domain",
            ),
            Param(
                "broadcastdomainrange",
                description=(
                    "the broadcast domain range for the physical network[Pod or "
                    "Zone]. In Acton release it can be Zone only in Advance zone,"
                    " and Pod in Basic"
                ),
            ),
            PHYSICAL_NETWORK_TAGS,
            Param(
                "isolationmethods",
                ParamType.LIST,
                description="the isolation method for the physical network[VLAN/L3/GRE]",
                item_type=ParamType.STRING,
            ),
            Param("name", description="the name of the physical network", required=True),
        ),
        roles=Role.ADMIN,
        is_async=True,
        response_name="createphysicalnetworkresponse",
        response_class="PhysicalNetworkResponse",
        response_fields=views.PHYSICAL_NETWORK_FIELDS,
        description="Creates a physical network",
        since="3.0.0",
        related=("listPhysicalNetworks",),
        java_class="org.apache.cloudstack.api.command.admin.network.CreatePhysicalNetworkCmd",
        event_type="PHYSICAL.NETWORK.CREATE",
        create=_create_physical_network_create,
        instance_type="PhysicalNetwork",
    ),
    Command(
        name="updatePhysicalNetwork",
        handler=_update_physical_network,
        params=(
            Param(
                "id",
                ParamType.UUID,
                description="physical network id",
                required=True,
                entity="PhysicalNetwork",
            ),
            Param("networkspeed", description="the speed for the physical network[1G/10G]"),
            PHYSICAL_NETWORK_TAGS,
            Param("state", description="Enabled/Disabled"),
            Param("vlan", description="the VLAN for the physical network"),
        ),
        roles=Role.ADMIN,
        is_async=True,
        response_name="updatephysicalnetworkresponse",
        response_class="PhysicalNetworkResponse",
        response_fields=views.PHYSICAL_NETWORK_FIELDS,
        description="Updates a physical network",
        since="3.0.0",
        related=("createPhysicalNetwork", "listPhysicalNetworks"),
        java_class="org.apache.cloudstack.api.command.admin.network.UpdatePhysicalNetworkCmd",
        event_type="PHYSICAL.NETWORK.UPDATE",
        instance_type="PhysicalNetwork",
    ),
    Command(
        name="deletePhysicalNetwork",
        handler=_delete_physical_network,
        params=(
            Param(
                "id",
                ParamType.UUID,
                description="the ID of the Physical network",
                required=True,
                entity="PhysicalNetwork",
            ),
        ),
        roles=Role.ADMIN,
        is_async=True,
        response_name="deletephysicalnetworkresponse",
        response_class="SuccessResponse",
        response_fields=("success", "displaytext"),
        description="Deletes a Physical Network.",
        since="3.0.0",
        java_class="org.apache.cloudstack.api.command.admin.network.DeletePhysicalNetworkCmd",
        event_type="PHYSICAL.NETWORK.DELETE",
        instance_type="PhysicalNetwork",
    ),
    Command(
        name="listPhysicalNetworks",
        handler=_list_physical_networks,
        params=(
            Param(
                "id",
                ParamType.UUID,
                description="list physical network by id",
                entity="PhysicalNetwork",
            ),
            Param(
                "zoneid",
                ParamType.UUID,
                description="the Zone ID for the physical network",
                entity="Zone",
            ),
            Param("name", description="search by name"),
            *PAGING,
        ),
        roles=Role.ADMIN,
        response_name="listphysicalnetworksresponse",
        response_class="PhysicalNetworkResponse",
        response_fields=views.PHYSICAL_NETWORK_FIELDS,
        description="Lists physical networks",
        since="3.0.0",
        java_class="org.apache.cloudstack.api.command.admin.network.ListPhysicalNetworksCmd",
    ),
    Command(
        name="addTrafficType",
        handler=_add_traffic_type,
        params=(
            PHYSICAL_NETWORK_ID,
            Param(
                "traffictype",
                description="the trafficType to be added to the physical network",
                required=True,
            ),
            XEN_NETWORK_LABEL,
            KVM_NETWORK_LABEL,
            VMWARE_NETWORK_LABEL,
            Param(
                "vlan", description=("The VLAN id to be used for Management traffic by VMware host")
            ),
        ),
        roles=Role.ADMIN,
        is_async=True,
        response_name="addtraffictyperesponse",
        response_class="TrafficTypeResponse",
        response_fields=views.TRAFFIC_TYPE_FIELDS,
        description="Adds traffic type to a physical network",
        since="3.0.0",
        related=("updateTrafficType",),
        java_class="org.apache.cloudstack.api.command.admin.usage.AddTrafficTypeCmd",
        event_type="TRAFFIC.TYPE.CREATE",
        create=_add_traffic_type_create,
        instance_type="TrafficType",
    ),
    Command(
        name="updateTrafficType",
        handler=_update_traffic_type,
        params=(
            TRAFFIC_TYPE_ID,
            XEN_NETWORK_LABEL,
            KVM_NETWORK_LABEL,
            VMWARE_NETWORK_LABEL,
        ),
        roles=Role.ADMIN,
        is_async=True,
        response_name="updatetraffictyperesponse",
        response_class="TrafficTypeResponse",
        response_fields=views.TRAFFIC_TYPE_FIELDS,
        description="Updates traffic type of a physical network",
        since="3.0.0",
        java_class="org.apache.cloudstack.api.command.admin.usage.UpdateTrafficTypeCmd",
        event_type="TRAFFIC.TYPE.UPDATE",
        instance_type="TrafficType",
    ),
    Command(
        name="deleteTrafficType",
        handler=_delete_traffic_type,
        params=(TRAFFIC_TYPE_ID,),
        roles=Role.ADMIN,
        is_async=True,
        response_name="deletetraffictyperesponse",
        response_class="SuccessResponse",
        response_fields=("success", "displaytext"),
        description="Deletes traffic type of a physical network",
        since="3.0.0",
        java_class="org.apache.cloudstack.api.command.admin.usage.DeleteTrafficTypeCmd",
        event_type="TRAFFIC.TYPE.DELETE",
        instance_type="TrafficType",
    ),
    Command(
        name="listTrafficTypes",
        handler=_list_traffic_types,
        params=(
            PHYSICAL_NETWORK_ID,
            *PAGING,
        ),
        roles=Role.ADMIN,
        response_name="listtraffictypesresponse",
        response_class="ProviderResponse",
        response_fields=views.PROVIDER_FIELDS,
        description="Lists traffic types of a given physical network.",
        since="3.0.0",
        related=("addNetworkServiceProvider", "updateNetworkServiceProvider"),
        java_class="org.apache.cloudstack.api.command.admin.usage.ListTrafficTypesCmd",
    ),
    Command(
        name="listTrafficTypeImplementors",
        handler=_list_traffic_type_implementors,
        params=(
            Param(
                "traffictype",
                description=(
                    "Optional. The network traffic type, if specified, return its"
                    " implementor. Otherwise, return all traffic types with their"
                    " implementor"
                ),
            ),
            *PAGING,
        ),
        roles=Role.ADMIN,
        response_name="listtraffictypeimplementorsresponse",
        response_class="TrafficTypeImplementorResponse",
        response_fields=(
            "traffictype",
            "traffictypeimplementor",
        ),
        description=(
            "Lists implementors of implementor of a network traffic type "
            "or implementors of all network traffic types"
        ),
        since="3.0.0",
        java_class="org.apache.cloudstack.api.command.admin.usage.ListTrafficTypeImplementorsCmd",
    ),
    Command(
        name="listSupportedNetworkServices",
        handler=_list_supported_network_services,
        params=(
            Param("provider", description="network service provider name"),
            Param(
                "service", description="network service name to list providers and capabilities of"
            ),
            *PAGING,
        ),
        roles=Role.ADMIN,
        response_name="listsupportednetworkservicesresponse",
        response_class="ServiceResponse",
        response_fields=(
            "name",
            "provider",
            "capability",
        ),
        description=(
            "Lists all network services provided by CloudStack or for the given Provider."
        ),
        since="3.0.0",
        java_class="org.apache.cloudstack.api.command.admin.network.ListSupportedNetworkServicesCmd",
    ),
    Command(
        name="addNetworkServiceProvider",
        handler=_add_network_service_provider,
        params=(
            Param(
                "physicalnetworkid",
                ParamType.UUID,
                description="the Physical Network ID to add the provider to",
                required=True,
                entity="PhysicalNetwork",
            ),
            Param(
                "destinationphysicalnetworkid",
                ParamType.UUID,
                description="the destination Physical Network ID to bridge to",
                entity="PhysicalNetwork",
            ),
            Param(
                "name",
                description="the name for the physical network service provider",
                required=True,
            ),
            SERVICE_LIST,
        ),
        roles=Role.ADMIN,
        is_async=True,
        response_name="addnetworkserviceproviderresponse",
        response_class="ProviderResponse",
        response_fields=views.PROVIDER_FIELDS,
        description="Adds a network serviceProvider to a physical network",
        since="3.0.0",
        related=("updateNetworkServiceProvider",),
        java_class="org.apache.cloudstack.api.command.admin.network.AddNetworkServiceProviderCmd",
        event_type="SERVICE.PROVIDER.CREATE",
        create=_add_network_service_provider_create,
        instance_type="PhysicalNetworkServiceProvider",
    ),
    Command(
        name="updateNetworkServiceProvider",
        handler=_update_network_service_provider,
        params=(
            Param(
                "state",
                description=("Enabled/Disabled/Shutdown the physical network service provider"),
            ),
            Param(
                "id",
                ParamType.UUID,
                description="network service provider id",
                required=True,
                entity="Provider",
            ),
            SERVICE_LIST,
        ),
        roles=Role.ADMIN,
        is_async=True,
        response_name="updatenetworkserviceproviderresponse",
        response_class="ProviderResponse",
        response_fields=views.PROVIDER_FIELDS,
        description="Updates a network serviceProvider of a physical network",
        since="3.0.0",
        java_class="org.apache.cloudstack.api.command.admin.network.UpdateNetworkServiceProviderCmd",
        event_type="SERVICE.PROVIDER.UPDATE",
        instance_type="PhysicalNetworkServiceProvider",
    ),
    Command(
        name="deleteNetworkServiceProvider",
        handler=_delete_network_service_provider,
        params=(
            Param(
                "id",
                ParamType.UUID,
                description="the ID of the network service provider",
                required=True,
                entity="Provider",
            ),
        ),
        roles=Role.ADMIN,
        is_async=True,
        response_name="deletenetworkserviceproviderresponse",
        response_class="SuccessResponse",
        response_fields=("success", "displaytext"),
        description="Deletes a Network Service Provider.",
        since="3.0.0",
        java_class="org.apache.cloudstack.api.command.admin.network.DeleteNetworkServiceProviderCmd",
        event_type="SERVICE.PROVIDER.DELETE",
        instance_type="PhysicalNetworkServiceProvider",
    ),
    Command(
        name="listNetworkServiceProviders",
        handler=_list_network_service_providers,
        params=(
            Param(
                "physicalnetworkid",
                ParamType.UUID,
                description="the Physical Network ID",
                entity="PhysicalNetwork",
            ),
            Param("name", description="list providers by name"),
            Param("state", description="list providers by state"),
            *PAGING,
        ),
        roles=Role.ADMIN,
        response_name="listnetworkserviceprovidersresponse",
        response_class="ProviderResponse",
        response_fields=views.PROVIDER_FIELDS,
        description=("Lists network serviceproviders for a given physical network."),
        since="3.0.0",
        related=("addNetworkServiceProvider", "updateNetworkServiceProvider", "listTrafficTypes"),
        java_class="org.apache.cloudstack.api.command.admin.network.ListNetworkServiceProvidersCmd",
    ),
)
