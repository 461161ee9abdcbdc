"""Hosts: adding (discovery through the hypervisor driver), changing and removing them.

Rules (REQUIREMENTS §16, §15, §2.2): a host belongs to exactly one cluster of its pod
(REQ-OM-01), named by id or by name (a new name creates the cluster, as 4.1's
``addHost clustername=`` does); the cluster runs the host's hypervisor (REQ-HOST-02)
and holds at most the seed's number of hosts for it (REQ-OM-05, REQ-CL-02, limits from
configuration); hosts of a cluster run the same hypervisor version (REQ-CL-01); vSphere
hosts arrive with their vCenter cluster, never one by one (REQ-CL-03). CPU and memory
are discovered by the driver (REQ-OM-06) and materialised as free capacity. The login
is kept in ``host_details``, the password encrypted; nothing shows it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from cumulo import __version__, crypto
from cumulo.db.base import utcnow
from cumulo.infra.hosts import clusters
from cumulo.infra.hosts.connection import conceal, driver_for, host_ref
from cumulo.infra.hosts.hypervisors import parse_hypervisor
from cumulo.infra.hosts.models import (
    Cluster,
    ClusterType,
    Host,
    HostDetail,
    HostStatus,
    HostTag,
    HostType,
    ResourceState,
)
from cumulo.infra.models import AllocationState, Pod, Zone
from cumulo.sdk.errors import InternalError, InvalidParameterValue, ResourceUnavailable
from cumulo.sdk.hypervisor import (
    HostConnection,
    HostInfo,
    HostUnreachable,
    HypervisorError,
    InvalidHostCredentials,
)

DEFAULT_HOST_LIMITS: Mapping[str, int] = {"XenServer": 8, "KVM": 16, "VMware": 8}
"""The seed's hosts per cluster (REQ-OM-05); configuration overrides them."""


@dataclass(frozen=True)
class NewHost:
    """What ``addHost`` asks for.

    :param url: ``http://10.1.1.5`` or just the address.
    :param host_tags: labels (REQ-HOST-07/08); duplicates are dropped.
    :param allocation_state: ``Enabled`` (default) or ``Disabled``.
    """

    url: str
    username: str
    password: str = field(repr=False)
    hypervisor: str
    host_tags: Sequence[str] = ()
    allocation_state: str | None = None


def host_address(url: str) -> str:
    """The host name or IP of an ``addHost`` URL (``http://`` is assumed if absent).

    :raises InvalidParameterValue: nothing that names a host (431 naming ``url``).
    """
    text = url.strip()
    parts = urlsplit(text if "://" in text else f"http://{text}")
    if not parts.hostname:
        raise InvalidParameterValue(f"Invalid parameter url value={url}: it names no host")
    return parts.hostname


def _cluster_for(
    session: Session,
    *,
    zone: Zone,
    pod: Pod,
    cluster: Cluster | None,
    cluster_name: str | None,
    hypervisor: str,
) -> Cluster:
    if cluster is not None and cluster_name:
        raise InvalidParameterValue(
            "Invalid parameter clustername: give the cluster by clusterid or by clustername,"
            " not both"
        )
    if cluster is not None:
        if cluster.pod_id != pod.id:
            raise InvalidParameterValue(
                f"Invalid parameter clusterid value={cluster.uuid}: cluster {cluster.name}"
                f" is not in pod {pod.name}"
            )
        return cluster
    if not cluster_name:
        raise InvalidParameterValue(
            "Invalid parameter clusterid: a host must belong to a cluster; give clusterid or"
            " clustername (REQ-OM-01)"
        )
    found = session.scalars(
        select(Cluster).where(
            Cluster.pod_id == pod.id, Cluster.name == cluster_name, Cluster.removed.is_(None)
        )
    ).first()
    if found is not None:
        return found
    return clusters.add_cluster(
        session,
        zone=zone,
        pod=pod,
        name=cluster_name,
        hypervisor=hypervisor,
        cluster_type=ClusterType.CLOUD_MANAGED.value,
    )


def _check_room(session: Session, cluster: Cluster, limits: Mapping[str, int]) -> None:
    # Lock the cluster row (MariaDB; SQLite serialises writers anyway) so that two
    # concurrent addHost calls cannot both take the last place.
    session.execute(select(Cluster.id).where(Cluster.id == cluster.id).with_for_update())
    limit = limits.get(cluster.hypervisor_type)
    if limit is None:
        return
    count = session.scalar(
        select(func.count())
        .select_from(Host)
        .where(Host.cluster_id == cluster.id, Host.removed.is_(None))
    )
    if int(count or 0) >= limit:
        raise InvalidParameterValue(
            f"Invalid parameter clusterid value={cluster.uuid}: cluster {cluster.name} already"
            f" has {count} hosts, the most a {cluster.hypervisor_type} cluster may hold"
            " (REQ-CL-02)"
        )


def _discover(new: NewHost, zone: Zone, pod: Pod, cluster: Cluster) -> HostInfo:
    driver = driver_for(new.hypervisor)
    connection = HostConnection(
        url=new.url,
        username=new.username,
        password=new.password,
        zone_id=zone.id,
        pod_id=pod.id,
        cluster_id=cluster.id,
    )
    try:
        return driver.connect(connection)
    except InvalidHostCredentials as exc:
        raise InvalidParameterValue(
            f"Invalid parameter password: the host at {new.url} refused the credentials ({exc})"
        ) from exc
    except HostUnreachable as exc:
        raise ResourceUnavailable(f"Unable to add the host at {new.url}: {exc}") from exc
    except HypervisorError as exc:
        raise InternalError(f"Unable to add the host at {new.url}: {exc}") from exc


def _check_same_version(session: Session, cluster: Cluster, info: HostInfo, url: str) -> None:
    versions = set(
        session.scalars(
            select(Host.hypervisor_version)
            .where(Host.cluster_id == cluster.id, Host.removed.is_(None))
            .distinct()
        )
    )
    if versions and info.hypervisor_version not in versions:
        raise InvalidParameterValue(
            f"Invalid parameter url value={url}: the host runs {cluster.hypervisor_type}"
            f" {info.hypervisor_version} but cluster {cluster.name} runs"
            f" {', '.join(sorted(v or '' for v in versions))}; hosts of a cluster must be"
            " homogeneous (REQ-CL-01)"
        )


def add_host(
    session: Session,
    new: NewHost,
    *,
    zone: Zone,
    pod: Pod,
    cluster: Cluster | None = None,
    cluster_name: str | None = None,
    limits: Mapping[str, int] = DEFAULT_HOST_LIMITS,
    database_key: str = "",
    algorithm: str = crypto.DEFAULT_ALGORITHM,
    msid: int | None = None,
) -> Host:
    """Discover the host at ``new.url`` through its hypervisor driver and add it, ``Up``.

    :param limits: most hosts per cluster by hypervisor; a hypervisor absent from it
        has no limit.
    :raises InvalidParameterValue: any rule of the module docstring (431 naming the
        parameter), or the host refused the credentials.
    :raises ResourceUnavailable: the host did not answer (534).
    """
    clusters.check_pod_in_zone(pod, zone)
    hypervisor = parse_hypervisor(new.hypervisor)
    if hypervisor == clusters.VMWARE:
        raise InvalidParameterValue(
            "Invalid parameter hypervisor value=VMware: vSphere hosts are not added one by"
            " one; add their vCenter cluster with addCluster (REQ-CL-03)"
        )
    state = clusters.parse_choice(new.allocation_state, AllocationState, "allocationstate")
    address = host_address(new.url)
    target = _cluster_for(
        session,
        zone=zone,
        pod=pod,
        cluster=cluster,
        cluster_name=cluster_name,
        hypervisor=hypervisor,
    )
    if target.hypervisor_type != hypervisor:
        raise InvalidParameterValue(
            f"Invalid parameter hypervisor value={new.hypervisor}: cluster {target.name} runs"
            f" {target.hypervisor_type}; a cluster holds hosts of one hypervisor (REQ-HOST-02)"
        )
    _check_room(session, target, limits)
    if _live_host_with(session, Host.url == new.url.strip(), Host.data_center_id == zone.id):
        raise InvalidParameterValue(
            f"Invalid parameter url value={new.url}: a host with this URL is already added"
        )
    info = _discover(
        NewHost(new.url.strip(), new.username, new.password, hypervisor), zone, pod, target
    )
    if _live_host_with(session, Host.guid == info.guid):
        raise InvalidParameterValue(
            f"Invalid parameter url value={new.url}: this host (guid {info.guid}) is already added"
        )
    _check_same_version(session, target, info, new.url)
    now = utcnow()
    host = Host(
        name=info.name or address,
        type=HostType.ROUTING.value,
        status=HostStatus.UP.value,
        resource_state=state or ResourceState.ENABLED.value,
        data_center_id=zone.id,
        pod_id=pod.id,
        cluster_id=target.id,
        private_ip_address=address,
        url=new.url.strip(),
        guid=info.guid,
        hypervisor_type=hypervisor,
        hypervisor_version=info.hypervisor_version,
        version=__version__,
        capabilities=",".join(info.capabilities) or None,
        cpu_sockets=info.cpu_sockets,
        cpus=info.cpus,
        speed=info.cpu_speed_mhz,
        total_memory=info.memory_bytes,
        free_cpu=info.cpus * info.cpu_speed_mhz,
        free_memory=info.memory_bytes,
        last_ping=now,
        mgmt_server_id=msid,
    )
    session.add(host)
    session.flush()
    secret = conceal(new.password, database_key, algorithm)
    session.add_all(
        [
            HostDetail(host_id=host.id, name="username", value=new.username),
            HostDetail(host_id=host.id, name="password", value=secret),
        ]
    )
    set_host_tags(session, host, new.host_tags, replace=False)
    return host


def _live_host_with(session: Session, *conditions: object) -> bool:
    stmt = select(Host.id).where(Host.removed.is_(None), *conditions)  # type: ignore[arg-type]
    return session.scalar(stmt.limit(1)) is not None


def set_host_tags(
    session: Session, host: Host, tags: Iterable[str], *, replace: bool = True
) -> list[str]:
    """Give ``host`` exactly ``tags`` (blank and duplicate tags dropped)."""
    wanted = list(dict.fromkeys(tag.strip() for tag in tags if tag.strip()))
    if replace:
        session.execute(delete(HostTag).where(HostTag.host_id == host.id))
    session.add_all(HostTag(host_id=host.id, tag=tag) for tag in wanted)
    session.flush()
    return wanted


def host_details(session: Session, host: Host) -> dict[str, str]:
    """The ``host_details`` pairs of ``host`` (the password still encrypted)."""
    rows = session.execute(
        select(HostDetail.name, HostDetail.value).where(HostDetail.host_id == host.id)
    )
    return {name: value for name, value in rows}


_ALLOCATION_EVENTS = {
    "enable": ResourceState.ENABLED.value,
    "disable": ResourceState.DISABLED.value,
}


def update_host(
    session: Session,
    host: Host,
    *,
    allocation_state: str | None = None,
    host_tags: Sequence[str] | None = None,
    os_category_id: str | None = None,
    url: str | None = None,
) -> Host:
    """``updateHost``: enable or disable allocation, replace host tags, re-point a
    secondary storage host.

    :raises InvalidParameterValue: ``allocationstate`` not ``Enable``/``Disable`` or
        the host in maintenance; ``url`` for a non secondary storage host;
        ``oscategoryid`` (guest OS categories do not exist yet).
    """
    if os_category_id is not None:
        raise InvalidParameterValue(
            "Invalid parameter oscategoryid: guest OS categories are not supported yet"
        )
    if allocation_state is not None:
        target = _ALLOCATION_EVENTS.get(allocation_state.strip().lower())
        if target is None:
            raise InvalidParameterValue(
                f"Invalid parameter allocationstate value={allocation_state}: expected Enable"
                " or Disable"
            )
        if host.resource_state not in (ResourceState.ENABLED, ResourceState.DISABLED):
            raise InvalidParameterValue(
                f"Invalid parameter allocationstate: host {host.name} is in resource state"
                f" {host.resource_state}; only Enabled and Disabled hosts change allocation"
            )
        host.resource_state = target
    if url is not None:
        if host.type != HostType.SECONDARY_STORAGE:
            raise InvalidParameterValue(
                "Invalid parameter url: only a secondary storage host's URL can be updated"
            )
        host.url = url.strip()
    if host_tags is not None:
        set_host_tags(session, host, host_tags)
    session.flush()
    return host


def delete_host(
    session: Session,
    host: Host,
    *,
    forced: bool = False,
    database_key: str = "",
    algorithm: str = crypto.DEFAULT_ALGORITHM,
) -> None:
    """Remove a host (soft delete; its login and tags go, its guid is freed).

    A hypervisor host must be in maintenance first (4.1 ``ResourceManagerImpl
    .doDeleteHost``) unless ``forced``. The driver is told to forget it; a driver that
    fails to is logged against nothing: the host is gone from the cloud either way.

    :raises InvalidParameterValue: a routing host not in maintenance, without ``forced``.
    """
    if (
        host.type == HostType.ROUTING
        and not forced
        and host.resource_state != ResourceState.MAINTENANCE
    ):
        raise InvalidParameterValue(
            f"Invalid parameter forced: host {host.name} is not in maintenance mode; put it"
            " into maintenance first or delete it with forced=true"
        )
    if host.type == HostType.ROUTING and host.hypervisor_type:
        details = host_details(session, host)
        # An unreachable or uninstalled driver cannot hold on to the host anyway.
        with contextlib.suppress(HypervisorError, NotImplementedError, InvalidParameterValue):
            driver_for(host.hypervisor_type).disconnect(
                host_ref(host, details, database_key, algorithm)
            )
    session.execute(delete(HostDetail).where(HostDetail.host_id == host.id))
    session.execute(delete(HostTag).where(HostTag.host_id == host.id))
    host.removed = utcnow()
    host.status = HostStatus.REMOVED.value
    host.guid = None
    host.free_cpu = 0
    host.free_memory = 0
    session.flush()
