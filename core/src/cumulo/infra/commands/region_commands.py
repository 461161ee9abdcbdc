"""The 4.1 region commands: addRegion, updateRegion, removeRegion (admins) and
listRegions (every role: users choose a region, REQ-REG-04). All synchronous."""

from __future__ import annotations

from cumulo.infra import regions, views
from cumulo.infra.commands.support import PAGING, paging
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


def _add_region(call: Call) -> ObjectResult:
    region = regions.add_region(
        call,
        region_id=int(call.params["id"]),
        name=call.params["name"],
        endpoint=call.params["endpoint"],
    )
    return ObjectResult("region", views.region_fields(region))


def _update_region(call: Call) -> ObjectResult:
    region = regions.find_region(call.session, call.params["id"])
    regions.update_region(call, region, name=call.get("name"), endpoint=call.get("endpoint"))
    return ObjectResult("region", views.region_fields(region))


def _remove_region(call: Call) -> SuccessResult:
    regions.remove_region(call, regions.find_region(call.session, call.params["id"]))
    return SuccessResult()


def _list_regions(call: Call) -> ListResult:
    rows, total = regions.list_regions(
        call.session,
        region_id=call.get("id"),
        name=call.get("name"),
        keyword=call.get("keyword"),
        **paging(call),
    )
    return ListResult("region", [views.region_fields(row) for row in rows], total)


COMMANDS = (
    Command(
        name="listRegions",
        handler=_list_regions,
        params=(
            Param("id", ParamType.INTEGER, description="List Region by region ID."),
            Param("name", description="List Region by region name."),
            *PAGING,
        ),
        roles=ALL_ROLES,
        response_name="listregionsresponse",
        response_class="RegionResponse",
        response_fields=views.REGION_FIELDS,
        description="Lists Regions",
        related=("addRegion",),
        java_class="org.apache.cloudstack.api.command.user.region.ListRegionsCmd",
    ),
    Command(
        name="addRegion",
        handler=_add_region,
        params=(
            Param("id", ParamType.INTEGER, description="Id of the Region", required=True),
            Param("name", description="Name of the region", required=True),
            Param("endpoint", description="Region service endpoint", required=True),
        ),
        roles=Role.ADMIN,
        response_name="addregionresponse",
        response_class="RegionResponse",
        response_fields=views.REGION_FIELDS,
        description="Adds a Region",
        java_class="org.apache.cloudstack.api.command.admin.region.AddRegionCmd",
    ),
    Command(
        name="updateRegion",
        handler=_update_region,
        params=(
            Param("id", ParamType.INTEGER, description="Id of region to update", required=True),
            Param("name", description="updates region with this name"),
            Param("endpoint", description="updates region with this end point"),
        ),
        roles=Role.ADMIN,
        response_name="updateregionresponse",
        response_class="RegionResponse",
        response_fields=views.REGION_FIELDS,
        description="Updates a region",
        related=("addRegion", "listRegions"),
        java_class="org.apache.cloudstack.api.command.admin.region.UpdateRegionCmd",
    ),
    Command(
        name="removeRegion",
        handler=_remove_region,
        params=(
            Param("id", ParamType.INTEGER, description="ID of the region to delete", required=True),
        ),
        roles=Role.ADMIN,
        response_name="removeregionresponse",
        response_class="SuccessResponse",
        response_fields=("success", "displaytext"),
        description="Removes specified region",
        java_class="org.apache.cloudstack.api.command.admin.region.RemoveRegionCmd",
    ),
)
