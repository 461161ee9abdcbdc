"""Hosts: adding (discovery through the hypervisor driver), changing and removing them.

Rules (REQUIREMENTS §16, §15, §2.2): a host belongs to exactly one cluster of its pod
(REQ-OM-01), named by id or by name (a new name creates the cluster, as 4.1's
``addHost clustername=`` does); the cluster runs the host's hypervisor (REQ-HOST-02)
and holds at most the seed's number of hosts for it (REQ-OM-05, REQ-CL-02, limits from
configuration); hosts of a cluster run the same hypervisor version (REQ-CL-01); vSphere
hosts arrive with their vCenter cluster, never one by one (REQ-CL-03,
:mod:`.cluster_import`); a host already running VMs is refused (REQ-CL-04,
REQ-HOST-05); with ``xen.setup.multipath`` XenServer hosts get iSCSI multipath
(REQ-PS-09); the host's address is in its pod's subnet (REQ-POD-03,
:func:`check_in_pod_subnet`). CPU and memory are discovered by the driver (REQ-OM-06)
and materialised as free capacity; the host's own storage becomes its local primary
storage pools (REQ-PS-06, :mod:`cumulo.infra.storage.local`). The login is kept in
``host_details``, the password encrypted; nothing shows it.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from cumulo import __version__, crypto
from cumulo.db.base import Base, utcnow
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
from cumulo.infra.storage.local import remove_local_pools, sync_local_pools
from cumulo.sdk.errors import InternalError, InvalidParameterValue, ResourceUnavailable
from cumulo.sdk.hypervisor import (
    HostConnection,
    HostInfo,
    HostRef,
    HostUnreachable,
    HypervisorDriver,
    HypervisorError,
    InvalidHostCredentials,
    VmState,
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


def _resolve(address: str) -> list[ipaddress.IPv4Address] | None:
    """The IPv4 addresses ``address`` stands for: itself if it is one, else what the
    name resolves to; ``None`` for a name that does not resolve."""
    try:
        return [ipaddress.IPv4Address(address)]
    except ValueError:
        pass
    try:
        found = socket.getaddrinfo(address, None, socket.AF_INET, socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return None
    return sorted({ipaddress.IPv4Address(entry[4][0]) for entry in found})


def check_in_pod_subnet(pod: Pod, url: str) -> None:
    """REQ-POD-03: hosts of a pod are in the same subnet, the pod's (its ``gateway`` and
    ``netmask``, stored as its CIDR), as 4.1 checks a host's private address against
    its pod's CIDR.

    A host given by name is checked at the addresses the name resolves to here (one of
    them must be in the subnet), as 4.1 resolves the names it is given. A name that
    does not resolve from the management server is left to the hypervisor driver, which
    reaches the host by its own means or refuses it (the simulator's ``http://sim/...``
    hosts have no address at all).

    :raises InvalidParameterValue: the address is outside the subnet (431 naming ``url``).
    """
    address = host_address(url)
    if ":" in address:  # an IPv6 literal: pods (and 4.1's management network) are IPv4
        raise InvalidParameterValue(
            f"Invalid parameter url value={url}: pod {pod.name} is an IPv4 subnet; give"
            " the host's IPv4 address (REQ-POD-03)"
        )
    resolved = _resolve(address)
    if resolved is None:
        return
    subnet = ipaddress.IPv4Network((pod.cidr_address, pod.cidr_size), strict=False)
    if not any(ip in subnet for ip in resolved):
        shown = ", ".join(str(ip) for ip in resolved) or address
        raise InvalidParameterValue(
            f"Invalid parameter url value={url}: the host's address {shown} is outside the"
            f" subnet {subnet} of pod {pod.name} (gateway {pod.gateway}); hosts of a pod"
            " are in the pod's subnet (REQ-POD-03)"
        )


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


def check_room(
    session: Session, cluster: Cluster, limits: Mapping[str, int], adding: int = 1
) -> None:
    """Refuse ``adding`` more hosts beyond the cluster's limit (REQ-CL-02, 431)."""
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
    if int(count or 0) + adding > limit:
        raise InvalidParameterValue(
            f"Invalid parameter clusterid value={cluster.uuid}: cluster {cluster.name} has"
            f" {count} hosts and {adding} more would exceed {limit}, the most a"
            f" {cluster.hypervisor_type} cluster may hold (REQ-CL-02)"
        )


XENSERVER = "XenServer"
_BUSY = frozenset(state for state in VmState if state != VmState.STOPPED)


def connect_host(
    driver: HypervisorDriver, connection: HostConnection, *, multipath: bool = False
) -> HostInfo:
    """Reach a host being added through ``driver`` and check it may join the cloud.

    Refuses a host that already runs VMs (REQ-CL-04, REQ-HOST-05: whatever
    :meth:`~cumulo.sdk.hypervisor.HypervisorDriver.vm_states` reports in a state other
    than ``Stopped``; a driver that cannot tell skips the check). With ``multipath``
    (``xen.setup.multipath`` true and a XenServer host) turns iSCSI multipath on
    (REQ-PS-09). A refused host is disconnected again.

    :raises InvalidParameterValue: bad credentials (naming ``password``), VMs running
        (naming ``url``), multipath wanted and the driver cannot (naming ``hypervisor``).
    :raises ResourceUnavailable: the host did not answer (534).
    :raises InternalError: the host answered with another failure (530).
    """
    url = connection.url
    try:
        info = driver.connect(connection)
        ref = HostRef(guid=info.guid, connection=connection)
        try:
            _check_no_vms(driver, ref, url)
            if multipath:
                _enable_multipath(driver, ref)
        except BaseException:
            with contextlib.suppress(HypervisorError, NotImplementedError):
                driver.disconnect(ref)
            raise
        return info
    except InvalidHostCredentials as exc:
        raise InvalidParameterValue(
            f"Invalid parameter password: the host at {url} refused the credentials ({exc})"
        ) from exc
    except HostUnreachable as exc:
        raise ResourceUnavailable(f"Unable to add the host at {url}: {exc}") from exc
    except HypervisorError as exc:
        raise InternalError(f"Unable to add the host at {url}: {exc}") from exc


def _check_no_vms(driver: HypervisorDriver, ref: HostRef, url: str) -> None:
    try:
        states = driver.vm_states(ref)
    except NotImplementedError:
        return  # the driver cannot tell; REQ-CL-04 says "check and refuse or warn"
    busy = sorted(name for name, state in states.items() if state in _BUSY)
    if busy:
        shown = ", ".join(busy[:5]) + (f" and {len(busy) - 5} more" if len(busy) > 5 else "")
        raise InvalidParameterValue(
            f"Invalid parameter url value={url}: the host already runs {len(busy)} VM(s)"
            f" ({shown}); hosts must not run VMs when they are added: stop or move them"
            " first (REQ-CL-04, REQ-HOST-05)"
        )


def _enable_multipath(driver: HypervisorDriver, ref: HostRef) -> None:
    try:
        driver.enable_multipath(ref)
    except NotImplementedError:
        raise InvalidParameterValue(
            f"Invalid parameter hypervisor value={XENSERVER}: xen.setup.multipath is true but"
            f" the installed {XENSERVER} driver cannot enable iSCSI multipath on the host;"
            " set xen.setup.multipath to false or install a driver that can (REQ-PS-09)"
        ) from None


def _discover(
    new: NewHost, zone: Zone, pod: Pod, cluster: Cluster, *, multipath: bool = False
) -> HostInfo:
    connection = HostConnection(
        url=new.url,
        username=new.username,
        password=new.password,
        zone_id=zone.id,
        pod_id=pod.id,
        cluster_id=cluster.id,
    )
    return connect_host(
        driver_for(new.hypervisor),
        connection,
        multipath=multipath and new.hypervisor == XENSERVER,
    )


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
    multipath: bool = False,
) -> Host:
    """Discover the host at ``new.url`` through its hypervisor driver and add it, ``Up``.

    :param limits: most hosts per cluster by hypervisor; a hypervisor absent from it
        has no limit.
    :param multipath: ``xen.setup.multipath``: a XenServer host gets iSCSI multipath
        turned on as it is added (REQ-PS-09).
    :raises InvalidParameterValue: any rule of the module docstring (431 naming the
        parameter), the host refused the credentials or already runs VMs (REQ-CL-04),
        its address is outside the pod's subnet (REQ-POD-03, naming ``url``).
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
    check_in_pod_subnet(pod, new.url)  # also refuses a URL that names no host
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
    check_room(session, target, limits)
    if _live_host_with(session, Host.url == new.url.strip(), Host.data_center_id == zone.id):
        raise InvalidParameterValue(
            f"Invalid parameter url value={new.url}: a host with this URL is already added"
        )
    info = _discover(
        NewHost(new.url.strip(), new.username, new.password, hypervisor),
        zone,
        pod,
        target,
        multipath=multipath,
    )
    return register_host(
        session,
        info,
        HostConnection(new.url.strip(), new.username, new.password),
        cluster=target,
        resource_state=state,
        host_tags=new.host_tags,
        database_key=database_key,
        algorithm=algorithm,
        msid=msid,
    )


def register_host(
    session: Session,
    info: HostInfo,
    connection: HostConnection,
    *,
    cluster: Cluster,
    resource_state: str | None = None,
    host_tags: Sequence[str] = (),
    database_key: str = "",
    algorithm: str = crypto.DEFAULT_ALGORITHM,
    msid: int | None = None,
) -> Host:
    """Store a host the driver discovered (:func:`connect_host`) as ``Up`` in
    ``cluster``, its login in ``host_details`` (password encrypted), and its own storage
    as its local primary storage pools (REQ-PS-06).

    :raises InvalidParameterValue: the host (its guid) is already added, or runs
        another hypervisor version than the cluster's hosts (REQ-CL-01), or its local
        storage is already another pool (:func:`~cumulo.infra.storage.local
        .sync_local_pools`).
    """
    url = connection.url
    if _live_host_with(session, Host.guid == info.guid):
        raise InvalidParameterValue(
            f"Invalid parameter url value={url}: this host (guid {info.guid}) is already added"
        )
    _check_same_version(session, cluster, info, url)
    now = utcnow()
    host = Host(
        name=info.name or host_address(url),
        type=HostType.ROUTING.value,
        status=HostStatus.UP.value,
        resource_state=resource_state or ResourceState.ENABLED.value,
        data_center_id=cluster.data_center_id,
        pod_id=cluster.pod_id,
        cluster_id=cluster.id,
        private_ip_address=host_address(url),
        url=url,
        guid=info.guid,
        hypervisor_type=cluster.hypervisor_type,
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
    secret = conceal(connection.password, database_key, algorithm)
    session.add_all(
        [
            HostDetail(host_id=host.id, name="username", value=connection.username),
            HostDetail(host_id=host.id, name="password", value=secret),
        ]
    )
    set_host_tags(session, host, host_tags, replace=False)
    sync_local_pools(session, host, info.local_storage)
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
        ``oscategoryid`` naming no guest OS category (``0`` clears it, as in 4.1).
    """
    if os_category_id is not None:
        host.os_category_id = _os_category(session, os_category_id)
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


def _os_category(session: Session, value: str) -> int | None:
    """The internal id of the guest OS category ``value`` (uuid or id) names; ``None``
    for ``0`` (4.1: no preferred category)."""
    if value.strip() == "0":
        return None
    table = Base.metadata.tables.get("guest_os_category")
    if table is None:
        raise InvalidParameterValue(
            "Invalid parameter oscategoryid: guest OS categories are not installed"
        )
    condition = table.c.uuid == value
    if value.isdigit():
        condition = condition | (table.c.id == int(value))
    found = session.execute(select(table.c.id).where(condition).limit(1)).scalar()
    if found is None:
        raise InvalidParameterValue(
            f"Invalid parameter oscategoryid value={value}: no guest OS category has this id"
        )
    return int(found)


def delete_host(
    session: Session,
    host: Host,
    *,
    forced: bool = False,
    database_key: str = "",
    algorithm: str = crypto.DEFAULT_ALGORITHM,
) -> None:
    """Remove a host (soft delete; its login and tags go, its guid is freed, its local
    storage pools are removed with it).

    A hypervisor host must be in maintenance first (4.1 ``ResourceManagerImpl
    .doDeleteHost``) unless ``forced``. The driver is told to forget it; a driver that
    fails to is logged against nothing: the host is gone from the cloud either way.

    :raises InvalidParameterValue: a routing host not in maintenance, without ``forced``;
        a local pool of the host still holds volumes (431 naming ``id``).
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
    remove_local_pools(session, host)
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
