"""The 4.1 host commands: addHost, updateHost, deleteHost, listHosts, and the async
reconnectHost, prepareHostForMaintenance and cancelHostMaintenance."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from cumulo import events
from cumulo.db.base import Base
from cumulo.infra.hosts import host_listing, hosts, maintenance, views
from cumulo.infra.hosts.commands.support import (
    HOST_TAGS,
    PAGING,
    POD_ID,
    cluster_param,
    config_values,
    host_limits,
    id_of,
    msid,
    paging,
    pod_param,
    secrets_key,
    zone_param,
)
from cumulo.infra.hosts.host_listing import HostFilter
from cumulo.infra.hosts.lookup import find_host
from cumulo.infra.hosts.models import Host
from cumulo.infra.lookup import find_pod, find_zone
from cumulo.sdk.api import (
    Call,
    Command,
    Fields,
    ListResult,
    ObjectResult,
    Param,
    ParamType,
    Role,
    SuccessResult,
)
from cumulo.sdk.errors import InvalidParameterValue

HA_TAG_KEY = "ha.tag"
MULTIPATH_KEY = "xen.setup.multipath"


def _ha_tag(call: Call) -> str | None:
    return config_values(call, [HA_TAG_KEY]).get(HA_TAG_KEY)


def host_response(call: Call, host: Host) -> Fields:
    """The ``HostResponse`` of one host, read with the listing's single query."""
    rows, _ = host_listing.host_rows(
        call.session, HostFilter(host_id=host.id), ha_tag=_ha_tag(call)
    )
    return views.host_fields(rows[0])


def _add_host(call: Call) -> ListResult:
    key, algorithm = secrets_key(call)
    host = hosts.add_host(
        call.session,
        hosts.NewHost(
            url=call.params["url"],
            username=call.params["username"],
            password=call.params["password"],
            hypervisor=call.params["hypervisor"],
            host_tags=call.get("hosttags") or (),
            allocation_state=call.get("allocationstate"),
        ),
        zone=find_zone(call.session, call.params["zoneid"], "zoneid"),
        pod=find_pod(call.session, call.params["podid"], "podid"),
        cluster=cluster_param(call),
        cluster_name=call.get("clustername"),
        limits=host_limits(call),
        database_key=key,
        algorithm=algorithm,
        msid=msid(call),
        multipath=(config_values(call, [MULTIPATH_KEY]).get(MULTIPATH_KEY) or "").strip().lower()
        == "true",
    )
    # 4.1 answers addHost with a list (count + array), api-reference.md §h.
    return ListResult("host", [host_response(call, host)], 1)


def _update_host(call: Call) -> ObjectResult:
    host = hosts.update_host(
        call.session,
        find_host(call.session, call.params["id"], "id"),
        allocation_state=call.get("allocationstate"),
        host_tags=call.get("hosttags"),
        os_category_id=call.get("oscategoryid"),
        url=call.get("url"),
    )
    return ObjectResult("host", host_response(call, host))


def _delete_host(call: Call) -> SuccessResult:
    key, algorithm = secrets_key(call)
    hosts.delete_host(
        call.session,
        find_host(call.session, call.params["id"], "id"),
        forced=bool(call.get("forced", False)),
        database_key=key,
        algorithm=algorithm,
    )
    return SuccessResult()


def _list_hosts(call: Call) -> ListResult:
    host_listing.check_details(call.get("details"))
    host = call.get("id")
    migrating = _migrating_vm(call)
    rows, total = host_listing.host_rows(
        call.session,
        HostFilter(
            host_id=None if host is None else find_host(call.session, host, "id").id,
            name=call.get("name"),
            zone_id=id_of(zone_param(call)),
            pod_id=id_of(pod_param(call)),
            cluster_id=(id_of(cluster_param(call)) if migrating is None else migrating.cluster_id),
            type=call.get("type"),
            state=call.get("state"),
            resource_state=call.get("resourcestate"),
            ha_host=call.get("hahost"),
            keyword=call.get("keyword"),
            exclude_host_id=None if migrating is None else migrating.host_id,
        ),
        ha_tag=_ha_tag(call),
        **paging(call),
    )
    needs = None if migrating is None else (migrating.cpu_mhz, migrating.memory)
    return ListResult("host", [views.host_fields(row, needs) for row in rows], total)


@dataclass(frozen=True)
class _MigratingVm:
    host_id: int
    cluster_id: int | None
    cpu_mhz: int
    memory: int


def _migrating_vm(call: Call) -> _MigratingVm | None:
    """4.1's ``listHostsForMigrationOfVM`` for ``virtualmachineid``: the VM must be
    Running; the hosts listed are the others of its host's cluster (live migration stays
    within a cluster), each flagged ``suitableformigration``. The compute package's
    ``vm_instance`` is read as a table, so this package does not import it."""
    value = call.get("virtualmachineid")
    if value is None:
        return None
    vms = Base.metadata.tables["vm_instance"]
    row = call.session.execute(
        select(
            vms.c.state,
            vms.c.host_id,
            vms.c.reserved_cpu_mhz,
            vms.c.reserved_memory,
            Host.cluster_id,
        )
        .outerjoin(Host, Host.id == vms.c.host_id)
        .where(vms.c.uuid == str(value), vms.c.removed.is_(None))
    ).first()
    if row is None:
        raise InvalidParameterValue(f"Unable to find the VM with id={value}")
    if row.state != "Running" or row.host_id is None:
        raise InvalidParameterValue(
            f"virtualmachineid: VM {value} is {row.state}, not Running; only a running VM"
            " is migrated"
        )
    return _MigratingVm(row.host_id, row.cluster_id, row.reserved_cpu_mhz, row.reserved_memory)


def _host_event(call: Call, host: Host, event_type: str, what: str) -> None:
    events.record(
        call,
        event_type,
        f"{what} host {host.name} ({host.uuid})",
        resource_type="Host",
        resource_uuid=host.uuid,
    )


def _reconnect_host(call: Call) -> ObjectResult:
    key, algorithm = secrets_key(call)
    host = maintenance.reconnect(
        call.session,
        find_host(call.session, call.params["id"], "id"),
        database_key=key,
        algorithm=algorithm,
    )
    _host_event(call, host, "HOST.RECONNECT", "Reconnected")
    return ObjectResult("host", host_response(call, host))


def _prepare_maintenance(call: Call) -> ObjectResult:
    host = maintenance.prepare_for_maintenance(
        call.session, find_host(call.session, call.params["id"], "id")
    )
    _host_event(call, host, "MAINT.PREPARE", "Put into maintenance")
    return ObjectResult("host", host_response(call, host))


def _cancel_maintenance(call: Call) -> ObjectResult:
    host = maintenance.cancel_maintenance(
        call.session, find_host(call.session, call.params["id"], "id")
    )
    _host_event(call, host, "MAINT.CANCEL", "Cancelled maintenance of")
    return ObjectResult("host", host_response(call, host))


HOST_ID = Param("id", ParamType.UUID, description="the host ID", required=True, entity="Host")
_RELATED = ("addSwift", "listSwifts", "addHost", "updateHost")

COMMANDS = (
    Command(
        name="addHost",
        handler=_add_host,
        params=(
            Param(
                "clusterid",
                ParamType.UUID,
                description="the cluster ID for the host",
                entity="Cluster",
            ),
            Param("clustername", description="the cluster name for the host"),
            Param("password", description="the password for the host", required=True),
            POD_ID,
            Param("url", description="the host URL", required=True),
            Param("username", description="the username for the host", required=True),
            Param(
                "zoneid",
                ParamType.UUID,
                description="the Zone ID for the host",
                required=True,
                entity="Zone",
            ),
            Param("hypervisor", description="hypervisor type of the host", required=True),
            Param(
                "allocationstate",
                description="Allocation state of this Host for allocation of new resources",
            ),
            HOST_TAGS,
        ),
        roles=Role.ADMIN | Role.RESOURCE_ADMIN,
        response_name="addhostresponse",
        response_class="HostResponse",
        response_fields=views.HOST_FIELDS,
        description="Adds a new host.",
        related=("updateHost", "listHosts"),
        java_class="org.apache.cloudstack.api.command.admin.host.AddHostCmd",
    ),
    Command(
        name="updateHost",
        handler=_update_host,
        params=(
            Param(
                "id",
                ParamType.UUID,
                description="the ID of the host to update",
                required=True,
                entity="Host",
            ),
            Param(
                "oscategoryid",
                ParamType.UUID,
                description="the id of Os category to update the host with",
                entity="GuestOSCategory",
            ),
            Param(
                "allocationstate",
                description=(
                    "Change resource state of host, valid values are [Enable, Disable]. Operation"
                    " may failed if host in states not allowing Enable/Disable"
                ),
            ),
            HOST_TAGS,
            Param("url", description="the new uri for the secondary storage: nfs://host/path"),
        ),
        roles=Role.ADMIN,
        response_name="updatehostresponse",
        response_class="HostResponse",
        response_fields=views.HOST_FIELDS,
        description="Updates a host.",
        related=("listHosts",),
        java_class="org.apache.cloudstack.api.command.admin.host.UpdateHostCmd",
    ),
    Command(
        name="deleteHost",
        handler=_delete_host,
        params=(
            HOST_ID,
            Param(
                "forced",
                ParamType.BOOLEAN,
                description=(
                    "Force delete the host. All HA enabled vms running on the host will be put"
                    " to HA; HA disabled ones will be stopped"
                ),
            ),
            Param(
                "forcedestroylocalstorage",
                ParamType.BOOLEAN,
                description=(
                    "Force destroy local storage on this host. All VMs created on this local"
                    " storage will be destroyed"
                ),
            ),
        ),
        roles=Role.ADMIN | Role.RESOURCE_ADMIN,
        response_name="deletehostresponse",
        response_class="SuccessResponse",
        response_fields=("success", "displaytext"),
        description="Deletes a host.",
        java_class="org.apache.cloudstack.api.command.admin.host.DeleteHostCmd",
    ),
    Command(
        name="listHosts",
        handler=_list_hosts,
        params=(
            Param(
                "clusterid",
                ParamType.UUID,
                description="lists hosts existing in particular cluster",
                entity="Cluster",
            ),
            Param("id", ParamType.UUID, description="the id of the host", entity="Host"),
            Param("name", description="the name of the host"),
            Param("podid", ParamType.UUID, description="the Pod ID for the host", entity="Pod"),
            Param("state", description="the state of the host"),
            Param("type", description="the host type"),
            Param("zoneid", ParamType.UUID, description="the Zone ID for the host", entity="Zone"),
            Param(
                "virtualmachineid",
                ParamType.UUID,
                description=(
                    "lists hosts in the same cluster as this VM and flag hosts with enough"
                    " CPU/RAm to host this VM"
                ),
                entity="UserVm",
            ),
            Param(
                "resourcestate",
                description=(
                    "list hosts by resource state. Resource state represents current state"
                    " determined by admin of host, valule can be one of [Enabled, Disabled,"
                    " Unmanaged, PrepareForMaintenance, ErrorInMaintenance, Maintenance, Error]"
                ),
            ),
            Param(
                "details",
                ParamType.LIST,
                description=(
                    "comma separated list of host details requested, value can be a list of"
                    " [ min, all, capacity, events, stats]"
                ),
                item_type=ParamType.STRING,
            ),
            Param(
                "hahost",
                ParamType.BOOLEAN,
                description="if true, list only hosts dedicated to HA",
            ),
            *PAGING,
        ),
        roles=Role.ADMIN | Role.RESOURCE_ADMIN,
        response_name="listhostsresponse",
        response_class="HostResponse",
        response_fields=views.HOST_FIELDS,
        description="Lists hosts.",
        java_class="org.apache.cloudstack.api.command.admin.host.ListHostsCmd",
    ),
    Command(
        name="reconnectHost",
        handler=_reconnect_host,
        params=(HOST_ID,),
        roles=Role.ADMIN,
        is_async=True,
        response_name="reconnecthostresponse",
        response_class="HostResponse",
        response_fields=views.HOST_FIELDS,
        description="Reconnects a host.",
        related=(
            *_RELATED,
            "prepareHostForMaintenance",
            "cancelHostMaintenance",
            "listHosts",
            "addSecondaryStorage",
            "listExternalLoadBalancers",
            "addBaremetalHost",
        ),
        java_class="org.apache.cloudstack.api.command.admin.host.ReconnectHostCmd",
        instance_type="Host",
        event_type="HOST.RECONNECT",
    ),
    Command(
        name="prepareHostForMaintenance",
        handler=_prepare_maintenance,
        params=(HOST_ID,),
        roles=Role.ADMIN,
        is_async=True,
        response_name="preparehostformaintenanceresponse",
        response_class="HostResponse",
        response_fields=views.HOST_FIELDS,
        description="Prepares a host for maintenance.",
        related=(
            *_RELATED,
            "cancelHostMaintenance",
            "listHosts",
            "addSecondaryStorage",
            "listExternalLoadBalancers",
            "addBaremetalHost",
        ),
        java_class="org.apache.cloudstack.api.command.admin.host.PrepareForMaintenanceCmd",
        instance_type="Host",
        event_type="MAINT.PREPARE",
    ),
    Command(
        name="cancelHostMaintenance",
        handler=_cancel_maintenance,
        params=(HOST_ID,),
        roles=Role.ADMIN,
        is_async=True,
        response_name="cancelhostmaintenanceresponse",
        response_class="HostResponse",
        response_fields=views.HOST_FIELDS,
        description="Cancels host maintenance.",
        related=(
            *_RELATED,
            "listHosts",
            "listExternalLoadBalancers",
            "addBaremetalHost",
        ),
        java_class="org.apache.cloudstack.api.command.admin.host.CancelMaintenanceCmd",
        instance_type="Host",
        event_type="MAINT.CANCEL",
    ),
)
