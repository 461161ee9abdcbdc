"""The 4.1 commands listCapacity, listHypervisors, listHypervisorCapabilities and
updateHypervisorCapabilities."""

from __future__ import annotations

from cumulo.infra.hosts import capacity, hypervisors, views
from cumulo.infra.hosts.commands.support import (
    CAPABILITY_ID,
    PAGING,
    cluster_param,
    config_values,
    id_of,
    paging,
    pod_param,
    zone_param,
)
from cumulo.infra.hosts.lookup import find_capability
from cumulo.sdk.api import (
    ALL_ROLES,
    Call,
    Command,
    ListResult,
    ObjectResult,
    Param,
    ParamType,
    Role,
)
from cumulo.sdk.errors import InvalidParameterValue


def _list_capacity(call: Call) -> ListResult:
    rows, total = capacity.list_capacity(
        call.session,
        capacity_type=call.get("type"),
        zone_id=id_of(zone_param(call)),
        pod_id=id_of(pod_param(call)),
        cluster_id=id_of(cluster_param(call)),
        sort_by=call.get("sortby"),
        # fetchlatest: the totals are computed from live rows on every call anyway.
        **paging(call),
    )
    return ListResult("capacity", [views.capacity_fields(row) for row in rows], total)


def _list_hypervisors(call: Call) -> ListResult:
    key = hypervisors.HYPERVISOR_LIST_KEY
    names = hypervisors.list_hypervisors(
        call.session, id_of(zone_param(call)), config_values(call, [key]).get(key)
    )
    return ListResult("hypervisor", [{"name": name} for name in names], len(names))


def _list_capabilities(call: Call) -> ListResult:
    value = call.get("id")
    rows, total = hypervisors.list_capabilities(
        call.session,
        capability=None if value is None else find_capability(call.session, value, "id"),
        hypervisor=call.get("hypervisor"),
        keyword=call.get("keyword"),
        **paging(call),
    )
    return ListResult(
        "hypervisorCapabilities", [views.capability_fields(row) for row in rows], total
    )


def _update_capabilities(call: Call) -> ObjectResult:
    value = call.get("id")
    if value is None:
        raise InvalidParameterValue("Invalid parameter id: the hypervisor capability is required")
    capability = hypervisors.update_capabilities(
        find_capability(call.session, value, "id"),
        security_group_enabled=call.get("securitygroupenabled"),
        max_guests_limit=call.get("maxguestslimit"),
    )
    call.session.flush()
    return ObjectResult("hypervisorCapabilities", views.capability_fields(capability))


COMMANDS = (
    Command(
        name="listCapacity",
        handler=_list_capacity,
        params=(
            Param(
                "zoneid", ParamType.UUID, description="lists capacity by the Zone ID", entity="Zone"
            ),
            Param(
                "podid", ParamType.UUID, description="lists capacity by the Pod ID", entity="Pod"
            ),
            Param(
                "clusterid",
                ParamType.UUID,
                description="lists capacity by the Cluster ID",
                entity="Cluster",
                since="3.0.0",
            ),
            Param(
                "fetchlatest",
                ParamType.BOOLEAN,
                description="recalculate capacities and fetch the latest",
                since="3.0.0",
            ),
            Param(
                "type",
                ParamType.INTEGER,
                description=(
                    "lists capacity by type* CAPACITY_TYPE_MEMORY = 0* CAPACITY_TYPE_CPU = 1*"
                    " CAPACITY_TYPE_STORAGE = 2* CAPACITY_TYPE_STORAGE_ALLOCATED = 3*"
                    " CAPACITY_TYPE_VIRTUAL_NETWORK_PUBLIC_IP = 4* CAPACITY_TYPE_PRIVATE_IP = 5*"
                    " CAPACITY_TYPE_SECONDARY_STORAGE = 6* CAPACITY_TYPE_VLAN = 7*"
                    " CAPACITY_TYPE_DIRECT_ATTACHED_PUBLIC_IP = 8* CAPACITY_TYPE_LOCAL_STORAGE"
                    " = 9."
                ),
            ),
            Param(
                "sortby",
                description="Sort the results. Available values: Usage",
                since="3.0.0",
            ),
            *PAGING,
        ),
        roles=Role.ADMIN | Role.RESOURCE_ADMIN,
        response_name="listcapacityresponse",
        response_class="CapacityResponse",
        response_fields=views.CAPACITY_FIELDS,
        description="Lists all the system wide capacities.",
        java_class="org.apache.cloudstack.api.command.admin.resource.ListCapacityCmd",
    ),
    Command(
        name="listHypervisors",
        handler=_list_hypervisors,
        params=(
            Param(
                "zoneid",
                ParamType.UUID,
                description="the zone id for listing hypervisors.",
                entity="Zone",
            ),
        ),
        roles=ALL_ROLES,
        response_name="listhypervisorsresponse",
        response_class="HypervisorResponse",
        response_fields=("name",),
        description="List hypervisors",
        java_class="org.apache.cloudstack.api.command.user.resource.ListHypervisorsCmd",
    ),
    Command(
        name="listHypervisorCapabilities",
        handler=_list_capabilities,
        params=(
            CAPABILITY_ID,
            Param("hypervisor", description="the hypervisor for which to restrict the search"),
            *PAGING,
        ),
        roles=Role.ADMIN,
        response_name="listhypervisorcapabilitiesresponse",
        response_class="HypervisorCapabilitiesResponse",
        response_fields=views.CAPABILITY_FIELDS,
        description="Lists all hypervisor capabilities.",
        since="3.0.0",
        java_class="org.apache.cloudstack.api.command.admin.config.ListHypervisorCapabilitiesCmd",
    ),
    Command(
        name="updateHypervisorCapabilities",
        handler=_update_capabilities,
        params=(
            CAPABILITY_ID,
            Param(
                "securitygroupenabled",
                ParamType.BOOLEAN,
                description="set true to enable security group for this hypervisor.",
            ),
            Param(
                "maxguestslimit",
                ParamType.LONG,
                description="the max number of Guest VMs per host for this hypervisor.",
            ),
        ),
        roles=Role.ADMIN,
        response_name="updatehypervisorcapabilitiesresponse",
        # 4.1 declares ServiceOfferingResponse but answers a HypervisorCapabilitiesResponse.
        response_class="ServiceOfferingResponse",
        response_fields=views.CAPABILITY_FIELDS,
        description="Updates a hypervisor capabilities.",
        since="3.0.0",
        java_class="org.apache.cloudstack.api.command.admin.config.UpdateHypervisorCapabilitiesCmd",
    ),
)
