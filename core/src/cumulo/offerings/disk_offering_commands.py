"""The 4.1 disk offering commands: createDiskOffering, updateDiskOffering,
deleteDiskOffering (root admins) and listDiskOfferings (everyone)."""

from __future__ import annotations

from cumulo.events import record
from cumulo.offerings import disk_offerings, support, views
from cumulo.offerings.listing import DiskOfferingFilter, list_disk_offerings
from cumulo.offerings.lookup import find_disk_offering
from cumulo.offerings.models import DiskOffering
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

OBJECT = "diskoffering"
RESOURCE = "DiskOffering"
_ADMIN_PACKAGE = "org.apache.cloudstack.api.command.admin.offering"
_USER_PACKAGE = "org.apache.cloudstack.api.command.user.offering"


def _answer(call: Call, offering: DiskOffering) -> ObjectResult:
    domain_uuid, domain_name = support.domain_of(call, offering.domain_id)
    return ObjectResult(OBJECT, views.disk_offering_fields(offering, domain_uuid, domain_name))


def _create(call: Call) -> ObjectResult:
    offering = disk_offerings.create_disk_offering(
        call.session,
        name=call.params["name"],
        display_text=call.params["displaytext"],
        disk_size_gb=call.get("disksize"),
        customized=bool(call.get("customized", False)),
        tags=call.get("tags"),
        storage_type=call.get("storagetype"),
        domain=support.owner_domain(call),
        max_size_gb=support.max_volume_size_gb(call),
    )
    size = "customized size" if offering.customized else f"{offering.disk_size // views.GIB} GB"
    record(
        call,
        "DISK.OFFERING.CREATE",
        f"Created disk offering '{offering.name}' ({size})",
        resource_type=RESOURCE,
        resource_uuid=offering.uuid,
    )
    return _answer(call, offering)


def _update(call: Call) -> ObjectResult:
    offering = find_disk_offering(call.session, call.params["id"])
    changed = disk_offerings.update_disk_offering(
        call.session,
        offering,
        name=call.get("name"),
        display_text=call.get("displaytext"),
        sort_key=call.get("sortkey"),
    )
    if changed:
        record(
            call,
            "DISK.OFFERING.EDIT",
            f"Updated disk offering '{offering.name}'",
            resource_type=RESOURCE,
            resource_uuid=offering.uuid,
        )
    return _answer(call, offering)


def _delete(call: Call) -> SuccessResult:
    offering = find_disk_offering(call.session, call.params["id"])
    disk_offerings.delete_disk_offering(call.session, offering)
    record(
        call,
        "DISK.OFFERING.DELETE",
        f"Deleted disk offering '{offering.name}'",
        resource_type=RESOURCE,
        resource_uuid=offering.uuid,
    )
    return SuccessResult()


def _list(call: Call) -> ListResult:
    where = DiskOfferingFilter(
        id=None if call.get("id") is None else str(call.params["id"]),
        name=call.get("name"),
        keyword=call.get("keyword"),
        domain_id=support.filter_domain_id(call),
    )
    rows, total = list_disk_offerings(call.session, call.ctx, where, **support.list_kwargs(call))
    items = [views.disk_offering_fields(r.offering, r.domain_uuid, r.domain_name) for r in rows]
    return ListResult(OBJECT, items, total)


_ID = Param(
    "id", ParamType.UUID, description="ID of the disk offering", required=True, entity=RESOURCE
)

COMMANDS = (
    Command(
        name="createDiskOffering",
        handler=_create,
        params=(
            Param("disksize", ParamType.LONG, description="size of the disk offering in GB"),
            Param(
                "displaytext",
                description="alternate display text of the disk offering",
                required=True,
                length=4096,
            ),
            Param("name", description="name of the disk offering", required=True),
            Param("tags", description="tags for the disk offering", length=4096),
            Param(
                "customized",
                ParamType.BOOLEAN,
                description="whether disk offering is custom or not",
            ),
            Param(
                "domainid",
                ParamType.UUID,
                description="the ID of the containing domain, null for public offerings",
                entity="Domain",
            ),
            Param(
                "storagetype",
                description="the storage type of the disk offering. Values are local and shared.",
            ),
        ),
        roles=Role.ADMIN,
        response_name="creatediskofferingresponse",
        response_class="DiskOfferingResponse",
        response_fields=views.DISK_OFFERING_FIELDS,
        description="Creates a disk offering.",
        related=("listDiskOfferings",),
        java_class=f"{_ADMIN_PACKAGE}.CreateDiskOfferingCmd",
        event_type="DISK.OFFERING.CREATE",
    ),
    Command(
        name="updateDiskOffering",
        handler=_update,
        params=(
            Param(
                "displaytext",
                description="updates alternate display text of the disk offering with this value",
                length=4096,
            ),
            _ID,
            Param("name", description="updates name of the disk offering with this value"),
            Param(
                "sortkey", ParamType.INTEGER, description="sort key of the disk offering, integer"
            ),
        ),
        roles=Role.ADMIN,
        response_name="updatediskofferingresponse",
        response_class="DiskOfferingResponse",
        response_fields=views.DISK_OFFERING_FIELDS,
        description="Updates a disk offering.",
        related=("createDiskOffering", "listDiskOfferings"),
        java_class=f"{_ADMIN_PACKAGE}.UpdateDiskOfferingCmd",
        event_type="DISK.OFFERING.EDIT",
    ),
    Command(
        name="deleteDiskOffering",
        handler=_delete,
        params=(_ID,),
        roles=Role.ADMIN,
        response_name="deletediskofferingresponse",
        response_class="SuccessResponse",
        # 4.1's text, copy-paste error included: clients show what listApis says.
        description="Updates a disk offering.",
        java_class=f"{_ADMIN_PACKAGE}.DeleteDiskOfferingCmd",
        event_type="DISK.OFFERING.DELETE",
    ),
    Command(
        name="listDiskOfferings",
        handler=_list,
        params=(
            Param(
                "domainid",
                ParamType.UUID,
                description="the ID of the domain of the disk offering.",
                entity="Domain",
            ),
            Param("id", ParamType.UUID, description="ID of the disk offering", entity=RESOURCE),
            Param("name", description="name of the disk offering"),
            *support.PAGING,
        ),
        roles=ALL_ROLES,
        response_name="listdiskofferingsresponse",
        response_class="DiskOfferingResponse",
        response_fields=views.DISK_OFFERING_FIELDS,
        description="Lists all available disk offerings.",
        java_class=f"{_USER_PACKAGE}.ListDiskOfferingsCmd",
    ),
)
