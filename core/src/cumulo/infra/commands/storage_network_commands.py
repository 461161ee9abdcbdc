"""The 4.1 storage network commands: createStorageNetworkIpRange,
updateStorageNetworkIpRange, deleteStorageNetworkIpRange (async, as 4.1's
``BaseAsyncCmd``: validation runs in the job, so a broken rule fails the job with its
431) and listStorageNetworkIpRange. Admins only."""

from __future__ import annotations

from cumulo.infra import storage_network, views
from cumulo.infra.commands.support import PAGING, paging
from cumulo.infra.lookup import find_live, find_pod, find_zone
from cumulo.infra.models import Pod, StorageNetworkIpRange, Zone
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


def _result(call: Call, row: StorageNetworkIpRange) -> ObjectResult:
    pod = call.session.get_one(Pod, row.pod_id)
    zone = call.session.get_one(Zone, row.data_center_id)
    return ObjectResult("storagenetworkiprange", views.storage_range_fields(row, pod, zone))


def _find_range(call: Call) -> StorageNetworkIpRange:
    return find_live(call.session, StorageNetworkIpRange, call.params["id"], "id")


def _create(call: Call) -> ObjectResult:
    row = storage_network.create_range(
        call,
        find_pod(call.session, call.params["podid"]),
        startip=call.params["startip"],
        endip=call.get("endip"),
        gateway=call.params["gateway"],
        netmask=call.params["netmask"],
        vlan=call.get("vlan"),
    )
    return _result(call, row)


def _update(call: Call) -> ObjectResult:
    row = storage_network.update_range(
        call,
        _find_range(call),
        startip=call.get("startip"),
        endip=call.get("endip"),
        netmask=call.get("netmask"),
        vlan=call.get("vlan"),
    )
    return _result(call, row)


def _delete(call: Call) -> SuccessResult:
    storage_network.delete_range(call, _find_range(call))
    return SuccessResult()


def _list(call: Call) -> ListResult:
    session = call.session
    rows, total = storage_network.list_ranges(
        session,
        range_id=_find_range(call).id if call.get("id") else None,
        pod_id=find_pod(session, call.params["podid"]).id if call.get("podid") else None,
        zone_id=find_zone(session, call.params["zoneid"]).id if call.get("zoneid") else None,
        keyword=call.get("keyword"),
        **paging(call),
    )
    items = [views.storage_range_fields(row, pod, zone) for row, pod, zone in rows]
    return ListResult("storagenetworkiprange", items, total)


_VLAN_HELP = (
    "Optional. The vlan the ip range sits on, default to Null when it is not specificed"
    " which means you network is not on any Vlan. This is mainly for Vmware as other"
    " hypervisors can directly reterive bridge from pyhsical network traffic type table"
)
_JAVA = "org.apache.cloudstack.api.command.admin.network."

COMMANDS = (
    Command(
        name="createStorageNetworkIpRange",
        handler=_create,
        params=(
            Param(
                "podid",
                ParamType.UUID,
                description="UUID of pod where the ip range belongs to",
                required=True,
                entity="Pod",
            ),
            Param("startip", description="the beginning IP address", required=True),
            Param("endip", description="the ending IP address"),
            Param("vlan", ParamType.INTEGER, description=_VLAN_HELP),
            Param("netmask", description="the netmask for storage network", required=True),
            Param("gateway", description="the gateway for storage network", required=True),
        ),
        roles=Role.ADMIN,
        is_async=True,
        response_name="createstoragenetworkiprangeresponse",
        response_class="StorageNetworkIpRangeResponse",
        response_fields=views.STORAGE_RANGE_FIELDS,
        description="Creates a Storage network IP range.",
        since="3.0.0",
        related=("listStorageNetworkIpRange", "updateStorageNetworkIpRange"),
        java_class=_JAVA + "CreateStorageNetworkIpRangeCmd",
        event_type="STORAGE.IP.RANGE.CREATE",
    ),
    Command(
        name="updateStorageNetworkIpRange",
        handler=_update,
        params=(
            Param(
                "id",
                ParamType.UUID,
                description="UUID of storage network ip range",
                required=True,
                entity="StorageNetworkIpRange",
            ),
            Param("startip", description="the beginning IP address"),
            Param("endip", description="the ending IP address"),
            Param("vlan", ParamType.INTEGER, description="Optional. the vlan the ip range sits on"),
            Param("netmask", description="the netmask for storage network"),
        ),
        roles=Role.ADMIN,
        is_async=True,
        response_name="updatestoragenetworkiprangeresponse",
        response_class="StorageNetworkIpRangeResponse",
        response_fields=views.STORAGE_RANGE_FIELDS,
        description=(
            "Update a Storage network IP range, only allowed when no IPs in this range have"
            " been allocated."
        ),
        since="3.0.0",
        java_class=_JAVA + "UpdateStorageNetworkIpRangeCmd",
        event_type="STORAGE.IP.RANGE.UPDATE",
    ),
    Command(
        name="deleteStorageNetworkIpRange",
        handler=_delete,
        params=(
            Param(
                "id",
                ParamType.UUID,
                description="the uuid of the storage network ip range",
                required=True,
                entity="StorageNetworkIpRange",
            ),
        ),
        roles=Role.ADMIN,
        is_async=True,
        response_name="deletestoragenetworkiprangeresponse",
        response_class="SuccessResponse",
        response_fields=("success", "displaytext"),
        description="Deletes a storage network IP Range.",
        since="3.0.0",
        java_class=_JAVA + "DeleteStorageNetworkIpRangeCmd",
        event_type="STORAGE.IP.RANGE.DELETE",
    ),
    Command(
        name="listStorageNetworkIpRange",
        handler=_list,
        params=(
            Param(
                "id",
                ParamType.UUID,
                description=(
                    "optional parameter. Storaget network IP range uuid, if specicied, using"
                    " it to search the range."
                ),
                entity="StorageNetworkIpRange",
            ),
            Param(
                "podid",
                ParamType.UUID,
                description=(
                    "optional parameter. Pod uuid, if specicied and range uuid is absent,"
                    " using it to search the range."
                ),
                entity="Pod",
            ),
            Param(
                "zoneid",
                ParamType.UUID,
                description=(
                    "optional parameter. Zone uuid, if specicied and both pod uuid and range"
                    " uuid are absent, using it to search the range."
                ),
                entity="Zone",
            ),
            *PAGING,
        ),
        roles=Role.ADMIN,
        response_name="liststoragenetworkiprangeresponse",
        response_class="StorageNetworkIpRangeResponse",
        response_fields=views.STORAGE_RANGE_FIELDS,
        description="List a storage network IP range.",
        since="3.0.0",
        related=("updateStorageNetworkIpRange",),
        java_class=_JAVA + "ListStorageNetworkIpRangeCmd",
    ),
)
