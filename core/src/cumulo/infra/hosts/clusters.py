"""Clusters: adding, changing, removing and listing them (CAP-12).

Rules (REQUIREMENTS §15): a cluster belongs to one pod of one zone (REQ-OM-01) and
runs one hypervisor (REQ-CL-01, REQ-HOST-02); its name is not already used by a live
cluster anywhere in the cloud (§15.1); a VMware cluster is a vCenter cluster, so it is
``ExternalManaged`` and names its vCenter by URL, user and password (REQ-OM-04), the
password stored encrypted; ``Unmanage``/``Manage`` disconnect and reconnect its hosts
(REQ-CL-06). Services never commit: the caller's transaction does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, delete, exists, select, update
from sqlalchemy.orm import Session

from cumulo import crypto
from cumulo.db.base import Base, utcnow
from cumulo.db.listing import DEFAULT_PAGE_SIZE, fetch_page
from cumulo.infra.hosts.connection import conceal
from cumulo.infra.hosts.hypervisors import parse_hypervisor
from cumulo.infra.hosts.models import (
    Cluster,
    ClusterDetail,
    ClusterType,
    Host,
    HostStatus,
    ManagedState,
)
from cumulo.infra.models import AllocationState, Pod, Zone
from cumulo.sdk.errors import InvalidParameterValue, ResourceInUse

VMWARE = "VMware"


@dataclass(frozen=True)
class VCenter:
    """What ``addCluster`` says about a VMware cluster's vCenter (REQ-OM-04) and its
    optional Nexus 1000v VSM."""

    url: str | None = None
    username: str | None = None
    password: str | None = None
    vsm_ipaddress: str | None = None
    vsm_username: str | None = None
    vsm_password: str | None = None


def parse_choice(value: str | None, choices: type[Any], param: str) -> str | None:
    """``value`` as the canonical member of the string enum ``choices`` (case-insensitive),
    ``None`` when absent; 431 naming ``param`` otherwise."""
    if value is None:
        return None
    for member in choices:
        if member.value.lower() == value.strip().lower():
            return str(member.value)
    allowed = ", ".join(member.value for member in choices)
    raise InvalidParameterValue(
        f"Invalid parameter {param} value={value}: expected one of {allowed}"
    )


def check_pod_in_zone(pod: Pod, zone: Zone) -> None:
    """A pod named with a zone must be in it (REQ-OM-01); 431 naming ``podid``."""
    if pod.data_center_id != zone.id:
        raise InvalidParameterValue(
            f"Invalid parameter podid value={pod.uuid}: pod {pod.name} does not belong to"
            f" zone {zone.name}"
        )


def _name_taken(session: Session, name: str, *, except_id: int | None = None) -> bool:
    stmt = select(Cluster.id).where(Cluster.name == name, Cluster.removed.is_(None))
    if except_id is not None:
        stmt = stmt.where(Cluster.id != except_id)
    return session.scalar(stmt.limit(1)) is not None


def _store_details(
    session: Session, cluster: Cluster, vcenter: VCenter, database_key: str, algorithm: str
) -> None:
    def secret(value: str) -> str:
        return conceal(value, database_key, algorithm)

    pairs = {
        "url": vcenter.url,
        "username": vcenter.username,
        "password": secret(vcenter.password) if vcenter.password else None,
        "vsmipaddress": vcenter.vsm_ipaddress,
        "vsmusername": vcenter.vsm_username,
        "vsmpassword": secret(vcenter.vsm_password) if vcenter.vsm_password else None,
    }
    session.add_all(
        ClusterDetail(cluster_id=cluster.id, name=name, value=value)
        for name, value in pairs.items()
        if value
    )


def add_cluster(
    session: Session,
    *,
    zone: Zone,
    pod: Pod,
    name: str,
    hypervisor: str,
    cluster_type: str,
    allocation_state: str | None = None,
    vcenter: VCenter | None = None,
    database_key: str = "",
    algorithm: str = crypto.DEFAULT_ALGORITHM,
) -> Cluster:
    """Create a cluster in ``pod`` (REQ-OM-02: even for a single host).

    :raises InvalidParameterValue: pod outside the zone, unknown hypervisor, cluster
        type or allocation state, a name in use, or a VMware cluster without its
        vCenter URL, user and password (each 431 naming its parameter).
    """
    check_pod_in_zone(pod, zone)
    hypervisor = parse_hypervisor(hypervisor)
    kind = parse_choice(cluster_type, ClusterType, "clustertype")
    state = parse_choice(allocation_state, AllocationState, "allocationstate")
    name = name.strip()
    if not name:
        raise InvalidParameterValue("Invalid parameter clustername: it must not be empty")
    vcenter = vcenter or VCenter()
    if hypervisor == VMWARE:
        _check_vcenter(vcenter, kind)
    if _name_taken(session, name):
        raise InvalidParameterValue(
            f"Invalid parameter clustername value={name}: a cluster with this name already exists"
        )
    cluster = Cluster(
        name=name,
        pod_id=pod.id,
        data_center_id=zone.id,
        hypervisor_type=hypervisor,
        cluster_type=kind or ClusterType.CLOUD_MANAGED.value,
        allocation_state=state or AllocationState.ENABLED.value,
        managed_state=ManagedState.MANAGED.value,
    )
    session.add(cluster)
    session.flush()
    _store_details(session, cluster, vcenter, database_key, algorithm)
    return cluster


def _check_vcenter(vcenter: VCenter, kind: str | None) -> None:
    # REQ-OM-04: a VMware cluster is a vCenter cluster the management server logs in to.
    if kind != ClusterType.EXTERNAL_MANAGED.value:
        raise InvalidParameterValue(
            "Invalid parameter clustertype: VMware clusters are managed by vCenter and must"
            " be ExternalManaged (REQ-OM-04)"
        )
    for param, value in (
        ("url", vcenter.url),
        ("username", vcenter.username),
        ("password", vcenter.password),
    ):
        if not value:
            raise InvalidParameterValue(
                f"Invalid parameter {param}: the vCenter {param} is required for a VMware"
                " cluster (REQ-OM-04)"
            )


def _has_live_hosts(session: Session, cluster: Cluster) -> bool:
    return bool(
        session.scalar(
            select(exists().where(Host.cluster_id == cluster.id, Host.removed.is_(None)))
        )
    )


def update_cluster(
    session: Session,
    cluster: Cluster,
    *,
    name: str | None = None,
    hypervisor: str | None = None,
    cluster_type: str | None = None,
    allocation_state: str | None = None,
    managed_state: str | None = None,
) -> Cluster:
    """Rename, re-type, enable/disable, manage or unmanage a cluster.

    Unmanaging (REQ-CL-06) marks its hosts ``Disconnected`` in one statement, and the
    heartbeat leaves them alone; managing again marks them ``Connecting`` so that the
    next heartbeat resynchronises their state from the hosts themselves.

    :raises InvalidParameterValue: a bad value, a name in use, or a hypervisor change
        while the cluster has hosts (REQ-HOST-02).
    """
    if name is not None:
        name = name.strip()
        if not name or _name_taken(session, name, except_id=cluster.id):
            raise InvalidParameterValue(
                f"Invalid parameter clustername value={name}: empty or already used by a cluster"
            )
        cluster.name = name
    if hypervisor is not None:
        wanted = parse_hypervisor(hypervisor)
        if wanted != cluster.hypervisor_type and _has_live_hosts(session, cluster):
            raise InvalidParameterValue(
                f"Invalid parameter hypervisor value={hypervisor}: cluster {cluster.name} has"
                f" {cluster.hypervisor_type} hosts; a cluster runs one hypervisor (REQ-HOST-02)"
            )
        cluster.hypervisor_type = wanted
    kind = parse_choice(cluster_type, ClusterType, "clustertype")
    if kind is not None:
        cluster.cluster_type = kind
    state = parse_choice(allocation_state, AllocationState, "allocationstate")
    if state is not None:
        cluster.allocation_state = state
    managed = parse_choice(managed_state, ManagedState, "managedstate")
    if managed is not None and managed not in (ManagedState.MANAGED, ManagedState.UNMANAGED):
        raise InvalidParameterValue(
            f"Invalid parameter managedstate value={managed_state}: expected Managed or Unmanaged"
        )
    if managed is not None and managed != cluster.managed_state:
        _change_managed_state(session, cluster, managed)
    session.flush()
    return cluster


def _change_managed_state(session: Session, cluster: Cluster, managed: str) -> None:
    now = utcnow()
    live = (Host.cluster_id == cluster.id, Host.removed.is_(None))
    if managed == ManagedState.UNMANAGED:
        values: dict[str, Any] = {"status": HostStatus.DISCONNECTED.value, "disconnected": now}
    else:
        values = {"status": HostStatus.CONNECTING.value, "disconnected": None}
    session.execute(
        update(Host).where(*live).values(**values).execution_options(synchronize_session=False)
    )
    cluster.managed_state = managed


def delete_cluster(session: Session, cluster: Cluster) -> None:
    """Remove an empty cluster (soft delete; details go with it).

    :raises ResourceInUse: it still has hosts or primary storage pools (536).
    """
    if _has_live_hosts(session, cluster):
        raise ResourceInUse(
            f"Cluster {cluster.name} cannot be deleted: it still has hosts; delete them first"
        )
    if _has_live_pools(session, cluster):
        raise ResourceInUse(
            f"Cluster {cluster.name} cannot be deleted: it still has primary storage pools"
        )
    session.execute(delete(ClusterDetail).where(ClusterDetail.cluster_id == cluster.id))
    cluster.removed = utcnow()
    # The guid identifies a vCenter cluster; freeing it lets the same one be added again.
    cluster.guid = None
    session.flush()


def _has_live_pools(session: Session, cluster: Cluster) -> bool:
    # Primary storage is another package's table; ask only when it is declared, so this
    # module works (and is tested) with or without it.
    pools = Base.metadata.tables.get("storage_pool")
    if pools is None or "cluster_id" not in pools.c:
        return False
    stmt = select(pools.c.cluster_id).where(pools.c.cluster_id == cluster.id)
    if "removed" in pools.c:
        stmt = stmt.where(pools.c.removed.is_(None))
    return session.execute(stmt.limit(1)).first() is not None


def list_clusters(
    session: Session,
    *,
    cluster: Cluster | None = None,
    name: str | None = None,
    zone_id: int | None = None,
    pod_id: int | None = None,
    hypervisor: str | None = None,
    cluster_type: str | None = None,
    allocation_state: str | None = None,
    managed_state: str | None = None,
    keyword: str | None = None,
    page: int | None = None,
    pagesize: int | None = None,
    max_page_size: int = DEFAULT_PAGE_SIZE,
) -> tuple[list[tuple[Cluster, Pod, Zone]], int]:
    """One page of live clusters with their pod and zone, and the total: one query."""
    stmt: Select[*tuple[Any, ...]] = (
        select(Cluster, Pod, Zone)
        .join(Pod, Cluster.pod_id == Pod.id)
        .join(Zone, Cluster.data_center_id == Zone.id)
        .where(Cluster.removed.is_(None))
        .order_by(Cluster.id)
    )
    filters = {
        Cluster.id: cluster.id if cluster is not None else None,
        Cluster.name: name,
        Cluster.data_center_id: zone_id,
        Cluster.pod_id: pod_id,
        Cluster.hypervisor_type: parse_hypervisor(hypervisor) if hypervisor else None,
        Cluster.cluster_type: cluster_type,
        Cluster.allocation_state: allocation_state,
        Cluster.managed_state: managed_state,
    }
    for column, value in filters.items():
        if value is not None:
            stmt = stmt.where(column == value)
    if keyword:
        stmt = stmt.where(Cluster.name.contains(keyword, autoescape=True))
    rows, total = fetch_page(
        session, stmt, page=page, pagesize=pagesize, max_page_size=max_page_size
    )
    return [(row[0], row[1], row[2]) for row in rows], total
