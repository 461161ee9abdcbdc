"""The 4.1 zone and pod commands: createZone, updateZone, deleteZone, listZones,
createPod, updatePod, deletePod, listPods."""

from __future__ import annotations

from cumulo.accounts.lookup import find_domain
from cumulo.infra import pods, views, zones
from cumulo.infra.commands.support import (
    ALLOCATION_STATE,
    LOCAL_STORAGE_ENABLED,
    PAGING,
    POD_ID,
    ZONE_ID,
    paging,
)
from cumulo.infra.hosts import capacity
from cumulo.infra.hosts.commands.support import config_values
from cumulo.infra.hosts.views import capacity_fields
from cumulo.infra.lookup import find_pod, find_zone
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


def _zone_result(call: Call, zone_uuid: str) -> ObjectResult:
    zone = find_zone(call.session, zone_uuid, "id")
    domain = find_domain(call.session, zone.domain_id) if zone.domain_id else None
    return ObjectResult("zone", views.zone_fields(zone, domain, admin=call.ctx.is_root_admin))


def _create_zone(call: Call) -> ObjectResult:
    domain = find_domain(call.session, call.params["domainid"]) if call.get("domainid") else None
    zone = zones.create_zone(
        call,
        name=call.params["name"],
        networktype=call.params["networktype"],
        dns1=call.params["dns1"],
        internaldns1=call.params["internaldns1"],
        dns2=call.get("dns2"),
        internaldns2=call.get("internaldns2"),
        ip6dns1=call.get("ip6dns1"),
        ip6dns2=call.get("ip6dns2"),
        guestcidraddress=call.get("guestcidraddress"),
        domain=call.get("domain"),
        domain_row=domain,
        allocationstate=call.get("allocationstate"),
        securitygroupenabled=bool(call.get("securitygroupenabled", False)),
        localstorageenabled=bool(call.get("localstorageenabled", False)),
    )
    return _zone_result(call, zone.uuid)


def _update_zone(call: Call) -> ObjectResult:
    zone = find_zone(call.session, call.params["id"], "id")
    changes = {name: call.get(name) for name in zones.UPDATABLE}
    wanted = call.get("allocationstate")
    if wanted is not None and wanted.strip().lower() == "enabled":
        required = config_values(call, [zones.LOCAL_STORAGE_REQUIRED_KEY])
        zones.check_can_enable(
            call.session,
            zone,
            local_storage_required=(
                (required.get(zones.LOCAL_STORAGE_REQUIRED_KEY) or "").strip().lower() == "true"
            ),
        )
    zones.update_zone(call, zone, changes)
    zones.set_zone_details(call.session, zone, call.get("details"), call.get("dnssearchorder"))
    return _zone_result(call, zone.uuid)


def _delete_zone(call: Call) -> SuccessResult:
    zones.delete_zone(call, find_zone(call.session, call.params["id"], "id"))
    return SuccessResult()


def _list_zones(call: Call) -> ListResult:
    session = call.session
    rows, total = zones.list_zones(
        call.ctx,
        session,
        zone=find_zone(session, call.params["id"], "id") if call.get("id") else None,
        domain=find_domain(session, call.params["domainid"]) if call.get("domainid") else None,
        name=call.get("name"),
        keyword=call.get("keyword"),
        **paging(call),
    )
    admin = call.ctx.is_root_admin
    items = [views.zone_fields(zone, domain, admin=admin) for zone, domain in rows]
    # Capacity is infrastructure detail: shown to root admins only, one more query.
    if call.get("showcapacities") and admin and rows:
        found = capacity.capacities_of(session, zone_ids=[zone.id for zone, _ in rows])
        for item, (zone, _) in zip(items, rows, strict=True):
            item["capacity"] = [capacity_fields(row) for row in found.get(zone.id, [])]
    return ListResult("zone", items, total)


def _pod_result(call: Call, pod_uuid: str) -> ObjectResult:
    pod = find_pod(call.session, pod_uuid, "id")
    zone = find_zone(call.session, pod.data_center_id)
    return ObjectResult("pod", views.pod_fields(pod, zone))


def _create_pod(call: Call) -> ObjectResult:
    zone = find_zone(call.session, call.params["zoneid"])
    pod = pods.create_pod(
        call,
        zone,
        name=call.params["name"],
        gateway=call.params["gateway"],
        netmask=call.params["netmask"],
        startip=call.params["startip"],
        endip=call.get("endip"),
        allocationstate=call.get("allocationstate"),
    )
    return _pod_result(call, pod.uuid)


def _update_pod(call: Call) -> ObjectResult:
    pod = find_pod(call.session, call.params["id"], "id")
    zone = find_zone(call.session, pod.data_center_id)
    names = ("name", "startip", "endip", "netmask", "gateway", "allocationstate")
    pods.update_pod(call, pod, zone, {name: call.get(name) for name in names})
    return _pod_result(call, pod.uuid)


def _delete_pod(call: Call) -> SuccessResult:
    pods.delete_pod(call, find_pod(call.session, call.params["id"], "id"))
    return SuccessResult()


def _list_pods(call: Call) -> ListResult:
    session = call.session
    rows, total = pods.list_pods(
        session,
        pod=find_pod(session, call.params["id"], "id") if call.get("id") else None,
        zone=find_zone(session, call.params["zoneid"]) if call.get("zoneid") else None,
        name=call.get("name"),
        allocationstate=call.get("allocationstate"),
        keyword=call.get("keyword"),
        **paging(call),
    )
    items = [views.pod_fields(pod, zone) for pod, zone in rows]
    if call.get("showcapacities") and rows:
        found = capacity.capacities_of(session, pod_ids=[pod.id for pod, _ in rows])
        for item, (pod, _) in zip(items, rows, strict=True):
            item["capacity"] = [capacity_fields(row) for row in found.get(pod.id, [])]
    return ListResult("pod", items, total)


COMMANDS = (
    Command(
        name="createZone",
        handler=_create_zone,
        params=(
            Param("dns1", description="the first DNS for the Zone", required=True),
            Param("dns2", description="the second DNS for the Zone"),
            Param("ip6dns1", description="the first DNS for IPv6 network in the Zone"),
            Param("ip6dns2", description="the second DNS for IPv6 network in the Zone"),
            Param("guestcidraddress", description="the guest CIDR address for the Zone"),
            Param("internaldns1", description="the first internal DNS for the Zone", required=True),
            Param("internaldns2", description="the second internal DNS for the Zone"),
            Param("name", description="the name of the Zone", required=True),
            Param("domain", description="Network domain name for the networks in the zone"),
            Param(
                "domainid",
                ParamType.UUID,
                description="the ID of the containing domain, null for public zones",
                entity="Domain",
            ),
            Param(
                "networktype",
                description="network type of the zone, can be Basic or Advanced",
                required=True,
            ),
            Param(
                "allocationstate",
                description=("Allocation state of this Zone for allocation of new resources"),
            ),
            Param(
                "securitygroupenabled",
                ParamType.BOOLEAN,
                description="true if network is security group enabled, false otherwise",
            ),
            LOCAL_STORAGE_ENABLED,
        ),
        roles=Role.ADMIN,
        response_name="createzoneresponse",
        response_class="ZoneResponse",
        response_fields=views.ZONE_FIELDS,
        description="Creates a Zone.",
        related=("listZones",),
        java_class="org.apache.cloudstack.api.command.admin.zone.CreateZoneCmd",
        event_type="ZONE.CREATE",
    ),
    Command(
        name="updateZone",
        handler=_update_zone,
        params=(
            Param("dns1", description="the first DNS for the Zone"),
            Param("dns2", description="the second DNS for the Zone"),
            Param("ip6dns1", description="the first DNS for IPv6 network in the Zone"),
            Param("ip6dns2", description="the second DNS for IPv6 network in the Zone"),
            Param("guestcidraddress", description="the guest CIDR address for the Zone"),
            ZONE_ID,
            Param("internaldns1", description="the first internal DNS for the Zone"),
            Param("internaldns2", description="the second internal DNS for the Zone"),
            Param("name", description="the name of the Zone"),
            Param(
                "ispublic",
                ParamType.BOOLEAN,
                description="updates a private zone to public if set, but not vice-versa",
            ),
            ALLOCATION_STATE,
            Param("details", ParamType.MAP, description="the details for the Zone"),
            Param("dhcpprovider", description="the dhcp Provider for the Zone"),
            Param(
                "domain",
                description=(
                    "Network domain name for the networks in the zone; empty "
                    "string will update domain with NULL value"
                ),
            ),
            Param(
                "dnssearchorder",
                ParamType.LIST,
                description="the dns search order list",
                item_type=ParamType.STRING,
            ),
            LOCAL_STORAGE_ENABLED,
        ),
        roles=Role.ADMIN,
        response_name="updatezoneresponse",
        response_class="ZoneResponse",
        response_fields=views.ZONE_FIELDS,
        description="Updates a Zone.",
        related=("createZone", "listZones"),
        java_class="org.apache.cloudstack.api.command.admin.zone.UpdateZoneCmd",
        event_type="ZONE.EDIT",
    ),
    Command(
        name="deleteZone",
        handler=_delete_zone,
        params=(ZONE_ID,),
        roles=Role.ADMIN,
        response_name="deletezoneresponse",
        response_class="SuccessResponse",
        response_fields=("success", "displaytext"),
        description="Deletes a Zone.",
        java_class="org.apache.cloudstack.api.command.admin.zone.DeleteZoneCmd",
        event_type="ZONE.DELETE",
    ),
    Command(
        name="listZones",
        handler=_list_zones,
        params=(
            Param("id", ParamType.UUID, description="the ID of the zone", entity="Zone"),
            Param(
                "available",
                ParamType.BOOLEAN,
                description=(
                    "true if you want to retrieve all available Zones. False if "
                    "you only want to return the Zones from which you have at "
                    "least one VM. Default is false."
                ),
            ),
            Param(
                "domainid",
                ParamType.UUID,
                description="the ID of the domain associated with the zone",
                entity="Domain",
            ),
            Param("name", description="the name of the zone"),
            Param(
                "showcapacities",
                ParamType.BOOLEAN,
                description="flag to display the capacity of the zones",
            ),
            *PAGING,
        ),
        roles=ALL_ROLES,
        response_name="listzonesresponse",
        response_class="ZoneResponse",
        response_fields=views.ZONE_FIELDS,
        description="Lists zones",
        java_class="org.apache.cloudstack.api.command.user.zone.ListZonesByCmd",
    ),
    Command(
        name="createPod",
        handler=_create_pod,
        params=(
            Param("name", description="the name of the Pod", required=True),
            Param(
                "zoneid",
                ParamType.UUID,
                description="the Zone ID in which the Pod will be created",
                required=True,
                entity="Zone",
            ),
            Param("startip", description="the starting IP address for the Pod", required=True),
            Param("endip", description="the ending IP address for the Pod"),
            Param("netmask", description="the netmask for the Pod", required=True),
            Param("gateway", description="the gateway for the Pod", required=True),
            Param(
                "allocationstate",
                description=("Allocation state of this Pod for allocation of new resources"),
            ),
        ),
        roles=Role.ADMIN,
        response_name="createpodresponse",
        response_class="PodResponse",
        response_fields=views.POD_FIELDS,
        description="Creates a new Pod.",
        related=("updatePod", "listPods"),
        java_class="org.apache.cloudstack.api.command.admin.pod.CreatePodCmd",
        event_type="POD.CREATE",
    ),
    Command(
        name="updatePod",
        handler=_update_pod,
        params=(
            POD_ID,
            Param("name", description="the name of the Pod"),
            Param("startip", description="the starting IP address for the Pod"),
            Param("endip", description="the ending IP address for the Pod"),
            Param("netmask", description="the netmask of the Pod"),
            Param("gateway", description="the gateway for the Pod"),
            ALLOCATION_STATE,
        ),
        roles=Role.ADMIN,
        response_name="updatepodresponse",
        response_class="PodResponse",
        response_fields=views.POD_FIELDS,
        description="Updates a Pod.",
        java_class="org.apache.cloudstack.api.command.admin.pod.UpdatePodCmd",
        event_type="POD.EDIT",
    ),
    Command(
        name="deletePod",
        handler=_delete_pod,
        params=(POD_ID,),
        roles=Role.ADMIN,
        response_name="deletepodresponse",
        response_class="SuccessResponse",
        response_fields=("success", "displaytext"),
        description="Deletes a Pod.",
        java_class="org.apache.cloudstack.api.command.admin.pod.DeletePodCmd",
        event_type="POD.DELETE",
    ),
    Command(
        name="listPods",
        handler=_list_pods,
        params=(
            Param("id", ParamType.UUID, description="list Pods by ID", entity="Pod"),
            Param("name", description="list Pods by name"),
            Param("zoneid", ParamType.UUID, description="list Pods by Zone ID", entity="Zone"),
            Param("allocationstate", description="list pods by allocation state"),
            Param(
                "showcapacities",
                ParamType.BOOLEAN,
                description="flag to display the capacity of the pods",
            ),
            *PAGING,
        ),
        roles=Role.ADMIN | Role.RESOURCE_ADMIN,
        response_name="listpodsresponse",
        response_class="PodResponse",
        response_fields=views.POD_FIELDS,
        description="Lists all Pods.",
        related=("updatePod",),
        java_class="org.apache.cloudstack.api.command.admin.pod.ListPodsByCmd",
    ),
)
