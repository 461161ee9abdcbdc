"""Importing a cluster's hosts on ``addCluster`` (REQ-CL-03).

A vSphere cluster is added as a whole: the administrator names the vCenter cluster
(``url``, ``username``, ``password``) and every ESXi host in it becomes a cumulo host.
XenServer pools work the same way in 4.1 (the pool master's URL on ``addCluster``). The
hypervisor driver says which hosts a cluster has
(:meth:`~cumulo.sdk.hypervisor.HypervisorDriver.discover_cluster_hosts`); each is then
connected and checked exactly as ``addHost`` checks one (no VMs running, REQ-CL-04;
the same hypervisor version, REQ-CL-01; at most the cluster's limit, REQ-CL-02; in the
pod's subnet, REQ-POD-03) and
stored in the caller's transaction, so a cluster whose hosts cannot all join is not
added at all.

A driver without cluster discovery raises ``NotImplementedError``: for VMware that is a
431 (its hosts can join no other way); for other hypervisors the URL is only kept and
hosts are added with ``addHost``.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.orm import Session

from cumulo import crypto
from cumulo.infra.hosts import clusters
from cumulo.infra.hosts.connection import driver_for
from cumulo.infra.hosts.hosts import (
    DEFAULT_HOST_LIMITS,
    check_in_pod_subnet,
    check_room,
    connect_host,
    register_host,
)
from cumulo.infra.hosts.models import Cluster, Host
from cumulo.infra.models import Pod
from cumulo.sdk.errors import InternalError, InvalidParameterValue, ResourceUnavailable
from cumulo.sdk.hypervisor import (
    HostConnection,
    HostUnreachable,
    HypervisorError,
    InvalidHostCredentials,
    OperationFailed,
)


def import_cluster_hosts(
    session: Session,
    cluster: Cluster,
    vcenter: clusters.VCenter,
    *,
    limits: Mapping[str, int] = DEFAULT_HOST_LIMITS,
    database_key: str = "",
    algorithm: str = crypto.DEFAULT_ALGORITHM,
    msid: int | None = None,
) -> list[Host]:
    """Add every host the driver finds in the cluster ``vcenter.url`` names.

    :return: the hosts added (none when there is no URL, or the driver of a
        non-VMware cluster cannot discover clusters).
    :raises InvalidParameterValue: VMware without a driver that discovers clusters;
        the cluster manager refused the login (naming ``password``); a host breaks a
        rule of :func:`~cumulo.infra.hosts.hosts.connect_host` or
        :func:`~cumulo.infra.hosts.hosts.register_host`; more hosts than the limit.
    :raises ResourceUnavailable: the cluster manager did not answer (534).
    """
    if not vcenter.url:
        return []
    vmware = cluster.hypervisor_type == clusters.VMWARE
    try:
        driver = driver_for(cluster.hypervisor_type)
    except InvalidParameterValue as exc:
        if not vmware:
            return []
        raise InvalidParameterValue(
            f"Invalid parameter hypervisor value={cluster.hypervisor_type}: no installed"
            f" driver can import the vCenter cluster's hosts ({exc.errortext}) (REQ-CL-03)"
        ) from exc
    manager = HostConnection(
        url=vcenter.url,
        username=vcenter.username or "",
        password=vcenter.password or "",
        zone_id=cluster.data_center_id,
        pod_id=cluster.pod_id,
        cluster_id=cluster.id,
    )
    try:
        found = driver.discover_cluster_hosts(manager)
    except NotImplementedError:
        if vmware:
            raise InvalidParameterValue(
                f"Invalid parameter hypervisor value={cluster.hypervisor_type}: the installed"
                " driver cannot list a vCenter cluster's hosts, so they cannot be imported"
                " (REQ-CL-03)"
            ) from None
        return []
    except InvalidHostCredentials as exc:
        raise InvalidParameterValue(
            f"Invalid parameter password: {vcenter.url} refused the credentials ({exc})"
        ) from exc
    except HostUnreachable as exc:
        raise ResourceUnavailable(f"Unable to reach the cluster at {vcenter.url}: {exc}") from exc
    except OperationFailed as exc:
        # The contract: the URL names no cluster there (no such datacenter or cluster).
        raise InvalidParameterValue(f"Invalid parameter url value={vcenter.url}: {exc}") from exc
    except HypervisorError as exc:
        raise InternalError(
            f"Unable to list the hosts of the cluster at {vcenter.url}: {exc}"
        ) from exc
    check_room(session, cluster, limits, adding=len(found))
    pod = session.get_one(Pod, cluster.pod_id)
    for connection in found:  # every member in the pod's subnet before any connects
        check_in_pod_subnet(pod, connection.url)
    added = []
    for connection in found:
        located = HostConnection(
            url=connection.url,
            username=connection.username,
            password=connection.password,
            details=connection.details,
            zone_id=cluster.data_center_id,
            pod_id=cluster.pod_id,
            cluster_id=cluster.id,
        )
        info = connect_host(driver, located)
        added.append(
            register_host(
                session,
                info,
                located,
                cluster=cluster,
                database_key=database_key,
                algorithm=algorithm,
                msid=msid,
            )
        )
    return added
