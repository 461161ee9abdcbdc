"""The 4.1 cluster commands: addCluster, updateCluster, deleteCluster, listClusters."""

from __future__ import annotations

from cumulo.infra.hosts import clusters, views
from cumulo.infra.hosts.cluster_import import import_cluster_hosts
from cumulo.infra.hosts.commands.support import (
    ALLOCATION_STATE,
    MANAGED_STATE,
    PAGING,
    POD_ID,
    cluster_param,
    host_limits,
    id_of,
    msid,
    paging,
    pod_param,
    secrets_key,
    zone_param,
)
from cumulo.infra.hosts.lookup import find_cluster
from cumulo.infra.hosts.models import Cluster
from cumulo.infra.lookup import find_pod, find_zone
from cumulo.infra.models import Pod, Zone
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
from cumulo.sdk.errors import InvalidParameterValue


def _fields(call: Call, cluster: Cluster) -> dict[str, object]:
    pod = call.session.get(Pod, cluster.pod_id)
    zone = call.session.get(Zone, cluster.data_center_id)
    assert pod is not None and zone is not None  # foreign keys
    return views.cluster_fields(cluster, pod, zone)


def _add_cluster(call: Call) -> ListResult:
    key, algorithm = secrets_key(call)
    vcenter = clusters.VCenter(
        url=call.get("url"),
        username=call.get("username"),
        password=call.get("password"),
        vsm_ipaddress=call.get("vsmipaddress"),
        vsm_username=call.get("vsmusername"),
        vsm_password=call.get("vsmpassword"),
    )
    cluster = clusters.add_cluster(
        call.session,
        zone=find_zone(call.session, call.params["zoneid"], "zoneid"),
        pod=find_pod(call.session, call.params["podid"], "podid"),
        name=call.params["clustername"],
        hypervisor=call.params["hypervisor"],
        cluster_type=call.params["clustertype"],
        allocation_state=call.get("allocationstate"),
        vcenter=vcenter,
        database_key=key,
        algorithm=algorithm,
    )
    # REQ-CL-03: a vCenter cluster (or a pool whose driver lists its hosts) comes with
    # its hosts, in this same transaction.
    import_cluster_hosts(
        call.session,
        cluster,
        vcenter,
        limits=host_limits(call),
        database_key=key,
        algorithm=algorithm,
        msid=msid(call),
    )
    # 4.1 answers addCluster with a list (count + array), api-reference.md §h.
    return ListResult("cluster", [_fields(call, cluster)], 1)


def _update_cluster(call: Call) -> ObjectResult:
    cluster = clusters.update_cluster(
        call.session,
        find_cluster(call.session, call.params["id"], "id"),
        name=call.get("clustername"),
        hypervisor=call.get("hypervisor"),
        cluster_type=call.get("clustertype"),
        allocation_state=call.get("allocationstate"),
        managed_state=call.get("managedstate"),
    )
    return ObjectResult("cluster", _fields(call, cluster))


def _delete_cluster(call: Call) -> SuccessResult:
    clusters.delete_cluster(call.session, find_cluster(call.session, call.params["id"], "id"))
    return SuccessResult()


def _list_clusters(call: Call) -> ListResult:
    if call.get("showcapacities"):
        raise InvalidParameterValue(
            "Invalid parameter showcapacities: cluster capacities are not shown yet; use"
            " listCapacity clusterid="
        )
    rows, total = clusters.list_clusters(
        call.session,
        cluster=cluster_param(call, "id"),
        name=call.get("name"),
        zone_id=id_of(zone_param(call)),
        pod_id=id_of(pod_param(call)),
        hypervisor=call.get("hypervisor"),
        cluster_type=call.get("clustertype"),
        allocation_state=call.get("allocationstate"),
        managed_state=call.get("managedstate"),
        keyword=call.get("keyword"),
        **paging(call),
    )
    return ListResult("cluster", [views.cluster_fields(*row) for row in rows], total)


COMMANDS = (
    Command(
        name="addCluster",
        handler=_add_cluster,
        params=(
            Param("clustername", description="the cluster name", required=True),
            Param("password", description="the password for the host"),
            POD_ID,
            Param("url", description="the URL"),
            Param("username", description="the username for the cluster"),
            Param(
                "zoneid",
                ParamType.UUID,
                description="the Zone ID for the cluster",
                required=True,
                entity="Zone",
            ),
            Param(
                "hypervisor",
                description=(
                    "hypervisor type of the cluster: XenServer,KVM,VMware,Hyperv,BareMetal,"
                    "Simulator"
                ),
                required=True,
            ),
            Param(
                "clustertype",
                description="type of the cluster: CloudManaged, ExternalManaged",
                required=True,
            ),
            ALLOCATION_STATE,
            Param(
                "vsmusername", description="the username for the VSM associated with this cluster"
            ),
            Param(
                "vsmpassword", description="the password for the VSM associated with this cluster"
            ),
            Param(
                "vsmipaddress",
                description="the ipaddress of the VSM associated with this cluster",
            ),
        ),
        roles=Role.ADMIN,
        response_name="addclusterresponse",
        response_class="ClusterResponse",
        response_fields=views.CLUSTER_FIELDS,
        description="Adds a new cluster",
        related=("updateCluster", "listClusters"),
        java_class="org.apache.cloudstack.api.command.admin.cluster.AddClusterCmd",
    ),
    Command(
        name="updateCluster",
        handler=_update_cluster,
        params=(
            Param(
                "id",
                ParamType.UUID,
                description="the ID of the Cluster",
                required=True,
                entity="Cluster",
            ),
            Param("clustername", description="the cluster name"),
            Param("hypervisor", description="hypervisor type of the cluster"),
            Param("clustertype", description="hypervisor type of the cluster"),
            ALLOCATION_STATE,
            MANAGED_STATE,
        ),
        roles=Role.ADMIN,
        response_name="updateclusterresponse",
        response_class="ClusterResponse",
        response_fields=views.CLUSTER_FIELDS,
        description="Updates an existing cluster",
        java_class="org.apache.cloudstack.api.command.admin.cluster.UpdateClusterCmd",
    ),
    Command(
        name="deleteCluster",
        handler=_delete_cluster,
        params=(
            Param(
                "id", ParamType.UUID, description="the cluster ID", required=True, entity="Cluster"
            ),
        ),
        roles=Role.ADMIN,
        response_name="deleteclusterresponse",
        response_class="SuccessResponse",
        response_fields=("success", "displaytext"),
        description="Deletes a cluster.",
        java_class="org.apache.cloudstack.api.command.admin.cluster.DeleteClusterCmd",
    ),
    Command(
        name="listClusters",
        handler=_list_clusters,
        params=(
            Param(
                "id",
                ParamType.UUID,
                description="lists clusters by the cluster ID",
                entity="Cluster",
            ),
            Param("name", description="lists clusters by the cluster name"),
            Param("podid", ParamType.UUID, description="lists clusters by Pod ID", entity="Pod"),
            Param("zoneid", ParamType.UUID, description="lists clusters by Zone ID", entity="Zone"),
            Param("hypervisor", description="lists clusters by hypervisor type"),
            Param("clustertype", description="lists clusters by cluster type"),
            Param("allocationstate", description="lists clusters by allocation state"),
            MANAGED_STATE,
            Param(
                "showcapacities",
                ParamType.BOOLEAN,
                description="flag to display the capacity of the clusters",
            ),
            *PAGING,
        ),
        roles=Role.ADMIN | Role.RESOURCE_ADMIN,
        response_name="listclustersresponse",
        response_class="ClusterResponse",
        response_fields=views.CLUSTER_FIELDS,
        description="Lists clusters.",
        related=("updateCluster",),
        java_class="org.apache.cloudstack.api.command.admin.cluster.ListClustersCmd",
    ),
)
