"""The 4.1 service offering commands: createServiceOffering, updateServiceOffering,
deleteServiceOffering (root admins) and listServiceOfferings (everyone)."""

from __future__ import annotations

from cumulo.events import record
from cumulo.offerings import service_offerings, support, views
from cumulo.offerings.listing import ServiceOfferingFilter, list_service_offerings
from cumulo.offerings.lookup import current_offering_of_vm, find_service_offering
from cumulo.offerings.models import ServiceOffering
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

OBJECT = "serviceoffering"
RESOURCE = "ServiceOffering"
_ADMIN_PACKAGE = "org.apache.cloudstack.api.command.admin.offering"
_USER_PACKAGE = "org.apache.cloudstack.api.command.user.offering"


def _answer(call: Call, offering: ServiceOffering) -> ObjectResult:
    domain_uuid, domain_name = support.domain_of(call, offering.domain_id)
    return ObjectResult(OBJECT, views.service_offering_fields(offering, domain_uuid, domain_name))


def _create(call: Call) -> ObjectResult:
    offering = service_offerings.create_service_offering(
        call.session,
        name=call.params["name"],
        display_text=call.params["displaytext"],
        cpu=call.params["cpunumber"],
        speed=call.params["cpuspeed"],
        memory=call.params["memory"],
        storage_type=call.get("storagetype"),
        tags=call.get("tags"),
        host_tag=call.get("hosttags"),
        offer_ha=bool(call.get("offerha", False)),
        limit_cpu_use=bool(call.get("limitcpuuse", False)),
        network_rate=call.get("networkrate"),
        is_system=bool(call.get("issystem", False)),
        system_vm_type_name=call.get("systemvmtype"),
        domain=support.owner_domain(call),
    )
    kind = f"system ({offering.vm_type}) " if offering.system_use else ""
    record(
        call,
        "SERVICE.OFFERING.CREATE",
        f"Created {kind}service offering '{offering.name}': {offering.cpu} x"
        f" {offering.speed} MHz, {offering.ram_size} MB",
        resource_type=RESOURCE,
        resource_uuid=offering.uuid,
    )
    return _answer(call, offering)


def _update(call: Call) -> ObjectResult:
    offering = find_service_offering(call.session, call.params["id"])
    changed = service_offerings.update_service_offering(
        call.session,
        offering,
        name=call.get("name"),
        display_text=call.get("displaytext"),
        sort_key=call.get("sortkey"),
    )
    if changed:
        record(
            call,
            "SERVICE.OFFERING.EDIT",
            f"Updated service offering '{offering.name}'",
            resource_type=RESOURCE,
            resource_uuid=offering.uuid,
        )
    return _answer(call, offering)


def _delete(call: Call) -> SuccessResult:
    offering = find_service_offering(call.session, call.params["id"])
    service_offerings.delete_service_offering(call.session, offering)
    record(
        call,
        "SERVICE.OFFERING.DELETE",
        f"Deleted service offering '{offering.name}'",
        resource_type=RESOURCE,
        resource_uuid=offering.uuid,
    )
    return SuccessResult()


def _list(call: Call) -> ListResult:
    is_system = bool(call.get("issystem", False))
    if is_system and not (call.ctx.is_root_admin or call.ctx.is_domain_admin):
        raise InvalidParameterValue("issystem: only admins can list system offerings")
    vm_type = call.get("systemvmtype")
    if vm_type is not None:
        if not is_system:
            raise InvalidParameterValue(
                "systemvmtype: only system offerings (issystem=true) have a system VM type"
            )
        vm_type = service_offerings.system_vm_type(True, vm_type)
    exclude_id: int | None = None
    local: bool | None = None
    if call.get("virtualmachineid") is not None:
        exclude_id, local = current_offering_of_vm(
            call.session, call.ctx, call.params["virtualmachineid"]
        )
    where = ServiceOfferingFilter(
        id=None if call.get("id") is None else str(call.params["id"]),
        name=call.get("name"),
        keyword=call.get("keyword"),
        domain_id=support.filter_domain_id(call),
        is_system=is_system,
        system_vm_type=vm_type,
        exclude_id=exclude_id,
        use_local_storage=local,
    )
    rows, total = list_service_offerings(call.session, call.ctx, where, **support.list_kwargs(call))
    items = [views.service_offering_fields(r.offering, r.domain_uuid, r.domain_name) for r in rows]
    return ListResult(OBJECT, items, total)


COMMANDS = (
    Command(
        name="createServiceOffering",
        handler=_create,
        params=(
            Param(
                "cpunumber",
                ParamType.LONG,
                description="the CPU number of the service offering",
                required=True,
            ),
            Param(
                "cpuspeed",
                ParamType.LONG,
                description="the CPU speed of the service offering in MHz.",
                required=True,
            ),
            Param(
                "displaytext",
                description="the display text of the service offering",
                required=True,
            ),
            Param(
                "memory",
                ParamType.LONG,
                description="the total memory of the service offering in MB",
                required=True,
            ),
            Param("name", description="the name of the service offering", required=True),
            Param("offerha", ParamType.BOOLEAN, description="the HA for the service offering"),
            Param(
                "limitcpuuse",
                ParamType.BOOLEAN,
                description="restrict the CPU usage to committed service offering",
            ),
            Param(
                "storagetype",
                description="the storage type of the service offering. Values are local and"
                " shared.",
            ),
            Param("tags", description="the tags for this service offering."),
            Param(
                "domainid",
                ParamType.UUID,
                description="the ID of the containing domain, null for public offerings",
                entity="Domain",
            ),
            Param("hosttags", description="the host tag for this service offering."),
            Param("issystem", ParamType.BOOLEAN, description="is this a system vm offering"),
            Param(
                "systemvmtype",
                description='the system VM type. Possible types are "domainrouter",'
                ' "consoleproxy" and "secondarystoragevm".',
            ),
            Param(
                "networkrate",
                ParamType.INTEGER,
                description="data transfer rate in megabits per second allowed. Supported only"
                ' for non-System offering and system offerings having "domainrouter"'
                " systemvmtype",
            ),
        ),
        roles=Role.ADMIN,
        response_name="createserviceofferingresponse",
        response_class="ServiceOfferingResponse",
        response_fields=views.SERVICE_OFFERING_FIELDS,
        description="Creates a service offering.",
        related=("listServiceOfferings", "updateHypervisorCapabilities"),
        java_class=f"{_ADMIN_PACKAGE}.CreateServiceOfferingCmd",
        event_type="SERVICE.OFFERING.CREATE",
    ),
    Command(
        name="updateServiceOffering",
        handler=_update,
        params=(
            Param(
                "id",
                ParamType.UUID,
                description="the ID of the service offering to be updated",
                required=True,
                entity=RESOURCE,
            ),
            Param(
                "displaytext", description="the display text of the service offering to be updated"
            ),
            Param("name", description="the name of the service offering to be updated"),
            Param(
                "sortkey",
                ParamType.INTEGER,
                description="sort key of the service offering, integer",
            ),
        ),
        roles=Role.ADMIN,
        response_name="updateserviceofferingresponse",
        response_class="ServiceOfferingResponse",
        response_fields=views.SERVICE_OFFERING_FIELDS,
        description="Updates a service offering.",
        related=("createServiceOffering", "listServiceOfferings", "updateHypervisorCapabilities"),
        java_class=f"{_ADMIN_PACKAGE}.UpdateServiceOfferingCmd",
        event_type="SERVICE.OFFERING.EDIT",
    ),
    Command(
        name="deleteServiceOffering",
        handler=_delete,
        params=(
            Param(
                "id",
                ParamType.UUID,
                description="the ID of the service offering",
                required=True,
                entity=RESOURCE,
            ),
        ),
        roles=Role.ADMIN,
        response_name="deleteserviceofferingresponse",
        response_class="SuccessResponse",
        description="Deletes a service offering.",
        java_class=f"{_ADMIN_PACKAGE}.DeleteServiceOfferingCmd",
        event_type="SERVICE.OFFERING.DELETE",
    ),
    Command(
        name="listServiceOfferings",
        handler=_list,
        params=(
            Param(
                "id",
                ParamType.UUID,
                description="ID of the service offering",
                entity=RESOURCE,
            ),
            Param("name", description="name of the service offering"),
            Param(
                "virtualmachineid",
                ParamType.UUID,
                description="the ID of the virtual machine. Pass this in if you want to see the"
                " available service offering that a virtual machine can be changed to.",
                entity="UserVm",
            ),
            Param(
                "domainid",
                ParamType.UUID,
                description="the ID of the domain associated with the service offering",
                entity="Domain",
            ),
            Param("issystem", ParamType.BOOLEAN, description="is this a system vm offering"),
            Param(
                "systemvmtype",
                description='the system VM type. Possible types are "consoleproxy",'
                ' "secondarystoragevm" or "domainrouter".',
            ),
            *support.PAGING,
        ),
        roles=ALL_ROLES,
        response_name="listserviceofferingsresponse",
        response_class="ServiceOfferingResponse",
        response_fields=views.SERVICE_OFFERING_FIELDS,
        description="Lists all available service offerings.",
        related=("updateHypervisorCapabilities",),
        java_class=f"{_USER_PACKAGE}.ListServiceOfferingsCmd",
    ),
)
