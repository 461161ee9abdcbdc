"""The statements of placement: read candidates, count what the query left out, read
pools and the account's footprint, and claim or give back capacity.

Everything here is one statement per function and runs in the caller's transaction.
The candidate query does the pruning the database is good at (zone, ``Routing``, ``Up``
and ``Enabled``, enough free CPU and memory, the requested pod/cluster/host), in host id
order with a keyset and a ``LIMIT``, so that a zone of 50,000 hosts costs one indexed
range scan that stops after a page; the plugins' filters then see plain values.

Claims are conditional ``UPDATE`` s (``... WHERE free_cpu >= :cpu AND free_memory >=
:mem``): whatever another transaction claimed since the candidates were read, a claim
either fits in what is left or changes nothing (rowcount 0), so capacity never goes
negative under concurrency, on SQLite (one writer at a time) as on MariaDB (the row
lock orders the updates, and the condition is evaluated on the latest committed row).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Float,
    Integer,
    Select,
    and_,
    bindparam,
    case,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session, aliased

from cumulo.accounts.models import Domain
from cumulo.compute.models import VirtualMachine, VmState
from cumulo.infra.hosts.models import (
    Cluster,
    Host,
    HostDetail,
    HostStatus,
    HostTag,
    HostType,
    ResourceState,
)
from cumulo.infra.models import Pod, Zone
from cumulo.infra.storage.models import StoragePool, StoragePoolStatus, StoragePoolTag
from cumulo.sdk.allocation import AccountFootprint, CandidateHost, CandidatePool, VmRequirements

FIRST_PAGE_SIZE = 10
"""Candidates of the first statement: the query already left out hosts that are not
Up, not Enabled or without room, so in a zone that is not nearly full the first few
pass the filters; reading (and filtering) 100 per placement would cost ten times the
work for the same decision (bench/placement.py)."""
PAGE_SIZE = 100
"""Candidates of each further statement, when the filters rejected the whole first
page (host tags, dedicated zones ...): enough for the filters to find a fit in any sane
zone, few enough to keep the statement and the Python work per placement bounded."""

MAINTENANCE_STATES = (
    ResourceState.MAINTENANCE.value,
    ResourceState.PREPARE_FOR_MAINTENANCE.value,
    ResourceState.ERROR_IN_MAINTENANCE.value,
)
ACTIVE_VM_STATES = (
    VmState.STARTING.value,
    VmState.RUNNING.value,
    VmState.STOPPING.value,
    VmState.MIGRATING.value,
)
# Over-provisioning applies to thin, file-based pools only, as in 4.1.
OVERPROVISIONED_POOL_TYPES = frozenset({"NetworkFilesystem", "VMFS"})
MB = 1024 * 1024


@dataclass(frozen=True)
class Need:
    """What a host must have free: the scaled claim amounts."""

    cpu_mhz: int
    memory_bytes: int


def _tags_of(session: Session, owner: Any, column: Any, key: Any) -> Any:
    """A correlated ``'a,b'`` aggregate of the tags of each row (dialect's function)."""
    if session.get_bind().dialect.name == "postgresql":
        aggregate = func.string_agg(column, literal(","))
    else:
        aggregate = func.group_concat(column)
    return select(aggregate).where(key == owner.id).scalar_subquery()


def _split(tags: str | None) -> frozenset[str]:
    return frozenset(t for t in (tags or "").split(",") if t)


def _scope(vm: VmRequirements, *, bound: bool = False) -> list[ColumnElement[bool]]:
    """The hosts in the requested scope, whatever their state (with ``bound``, as bind
    parameters named ``zone``, ``pod``, ``cluster``, ``host`` for a cached statement)."""

    def value(name: str, given: int) -> Any:
        return bindparam(name, type_=Integer) if bound else given

    clauses: list[ColumnElement[bool]] = [
        Host.data_center_id == value("zone", vm.zone_id),
        Host.type == HostType.ROUTING.value,
        Host.removed.is_(None),
    ]
    if vm.pod_id is not None:
        clauses.append(Host.pod_id == value("pod", vm.pod_id))
    if vm.cluster_id is not None:
        clauses.append(Host.cluster_id == value("cluster", vm.cluster_id))
    if vm.host_id is not None:
        clauses.append(Host.id == value("host", vm.host_id))
    return clauses


_STATEMENTS: dict[tuple[Any, ...], Select[*tuple[Any, ...]]] = {}


class _Driver:
    """How a claim (run on every decision) reaches the driver: compiled once per
    dialect to its SQL text, then run with ``exec_driver_sql`` (statement listeners and
    the transaction as usual), which skips SQLAlchemy's per-execution cache lookup and
    parameter processing: a third of the statement's cost. For ``UPDATE`` s whose
    values need no type processing (integers, a float); not for a ``SELECT``, whose
    result description a textual statement would have analysed anew every time."""

    def __init__(self, stmt: Any) -> None:
        self.stmt = stmt
        self._compiled: dict[Any, tuple[str, Any, tuple[str, ...] | None]] = {}

    def __call__(self, session: Session, params: dict[str, Any]) -> Any:
        connection = session.connection()
        dialect = connection.dialect
        found = self._compiled.get(dialect)
        if found is None:
            compiled = self.stmt.compile(dialect=dialect)
            order = tuple(compiled.positiontup or ()) if compiled.positional else None
            found = (str(compiled), compiled, order)
            self._compiled[dialect] = found
        sql, compiled, order = found
        values = compiled.construct_params(params)
        arguments = tuple(values[name] for name in order) if order is not None else values
        return connection.exec_driver_sql(sql, arguments)


_DRIVERS: dict[int, _Driver] = {}


def _driver(stmt: Any) -> _Driver:
    """The :class:`_Driver` of a statement built once (kept in :data:`_STATEMENTS` or
    a module constant, so its id names it for the process)."""
    found = _DRIVERS.get(id(stmt))
    if found is None or found.stmt is not stmt:
        found = _DRIVERS[id(stmt)] = _Driver(stmt)
    return found


def _detail(name: str) -> Any:
    """A host's ``host_details`` value ``name`` (the unique (host, name) key)."""
    return (
        select(HostDetail.value)
        .where(HostDetail.host_id == Host.id, HostDetail.name == name)
        .scalar_subquery()
    )


def candidate_statement(
    session: Session,
    vm: VmRequirements,
    limit: int = PAGE_SIZE,
    *,
    pools: bool = False,
    access: bool = False,
) -> Select[*tuple[Any, ...]]:
    """The candidate query with bind parameters ``zone``, ``pod``/``cluster``/``host``
    (when the request names them), ``cpu``, ``memory`` and ``after``; built once per
    shape and dialect, since constructing it costs more than running it.

    :param pools: with each host's pools outer-joined (a row per host and pool: the
        shared pools of its cluster and its own local pool), so that a placement with
        disks needs no second read.
    :param access: with what a driver call needs to reach each host (URL, guid, the
        login from ``host_details``), for the start that follows a placement.
    """
    dialect = session.get_bind().dialect.name
    shape = (
        dialect,
        vm.pod_id is None,
        vm.cluster_id is None,
        vm.host_id is None,
        limit,
        pools,
        access,
    )
    found = _STATEMENTS.get(shape)
    if found is not None:
        return found
    # The page of host ids first, from the host table alone: the (data_center_id)
    # index yields hosts in id order, so the scan stops after ``limit`` matches. Joined
    # in the same query, MariaDB would start from the one-row pod table and sort every
    # host of the zone; the cluster's and pod's states are therefore checked by the
    # HostState filter, on the columns joined here for the page only.
    page = (
        select(Host.id)
        .where(
            *_scope(vm, bound=True),
            Host.status == HostStatus.UP.value,
            Host.resource_state == ResourceState.ENABLED.value,
            Host.free_cpu >= bindparam("cpu", type_=BigInteger),
            Host.free_memory >= bindparam("memory", type_=BigInteger),
            Host.id > bindparam("after", type_=BigInteger),
            Host.id <= bindparam("until", type_=BigInteger),
        )
        .order_by(Host.id)
        .limit(limit)
        .subquery("page")
    )
    zone_domain = aliased(Domain)
    stmt: Select[Any] = (
        select(  # type: ignore[assignment]
            Host.id,
            Host.uuid,
            Host.name,
            Host.data_center_id,
            Host.pod_id,
            Host.cluster_id,
            Host.hypervisor_type,
            Host.status,
            Host.resource_state,
            Cluster.allocation_state,
            Pod.allocation_state,
            func.coalesce(Host.cpus, 0) * func.coalesce(Host.speed, 0),
            Host.free_cpu,
            func.coalesce(Host.total_memory, 0),
            Host.free_memory,
            _tags_of(session, Host, HostTag.tag, HostTag.host_id),
            Host.private_ip_address,
            zone_domain.path,
            Cluster.managed_state,
        )
        .select_from(page)
        .join(Host, Host.id == page.c.id)
        .join(Cluster, Cluster.id == Host.cluster_id)
        .join(Pod, Pod.id == Host.pod_id)
        .join(Zone, Zone.id == Host.data_center_id)
        .outerjoin(zone_domain, zone_domain.id == Zone.domain_id)
    )
    if access:
        stmt = stmt.add_columns(Host.url, Host.guid, _detail("username"), _detail("password"))
    if pools:
        stmt = stmt.add_columns(*_pool_columns(session)).outerjoin(
            StoragePool,
            and_(
                StoragePool.cluster_id == Host.cluster_id,
                StoragePool.data_center_id == Host.data_center_id,
                StoragePool.removed.is_(None),
                StoragePool.status != StoragePoolStatus.REMOVED.value,
                # Other hosts' local pools can never serve this one
                # (CandidatePool.serves: its host, else its address for a pool
                # recorded without one).
                or_(
                    StoragePool.scope != "HOST",
                    StoragePool.host_id == Host.id,
                    and_(
                        StoragePool.host_id.is_(None),
                        StoragePool.host_address == Host.private_ip_address,
                    ),
                ),
            ),
        )
        stmt = stmt.order_by(Host.id, StoragePool.id)
    else:
        stmt = stmt.order_by(Host.id)
    _STATEMENTS[shape] = stmt
    return stmt


NO_END = 2**62
"""``until`` of a scan that runs to the end of the id range."""


def candidate_parameters(
    vm: VmRequirements, need: Need, after_id: int, until_id: int = NO_END
) -> dict[str, int]:
    """The bind parameters of :func:`candidate_statement` for ``vm``."""
    params = {
        "zone": vm.zone_id,
        "cpu": need.cpu_mhz,
        "memory": need.memory_bytes,
        "after": after_id,
        "until": until_id,
    }
    for name, value in (("pod", vm.pod_id), ("cluster", vm.cluster_id), ("host", vm.host_id)):
        if value is not None:
            params[name] = value
    return params


@dataclass(frozen=True)
class HostAccess:
    """How a driver reaches a host: read with the candidates, so that the start after
    a placement needs no statement of its own for it.

    :param password: as stored (``ENC(...)`` under the database key).
    """

    url: str
    guid: str
    username: str
    password: str | None


@dataclass(frozen=True)
class PoolAccess:
    """What a storage driver's pool reference is built from (no credentials)."""

    uuid: str
    pool_type: str
    host_address: str
    path: str


@dataclass
class Page:
    """One page of candidates: the hosts, and with them what was asked for."""

    hosts: list[CandidateHost]
    pools: dict[int, list[CandidatePool]] | None = None
    """The pools by cluster (each cluster of the page, maybe empty), with ``pools``."""
    access: dict[int, HostAccess] | None = None
    pool_access: dict[int, PoolAccess] | None = None


def candidate_page(
    session: Session,
    vm: VmRequirements,
    need: Need,
    after_id: int = 0,
    limit: int = PAGE_SIZE,
    until_id: int = NO_END,
    *,
    storage_factor: float | None = None,
    access: bool = False,
) -> Page:
    """Up to ``limit`` hosts of the requested scope that are ``Up``, ``Enabled`` and
    have ``need`` free, with id above ``after_id``, by id, with their cluster's and
    pod's states; one statement.

    :param storage_factor: read the hosts' pools too, in the same statement
        (``storage.overprovisioning.factor`` for thin pools); ``None``: no pools.
    :param access: read how drivers reach each host too.
    """
    with_pools = storage_factor is not None
    # Core execution on the session's connection (same transaction): the ORM layer
    # would only add per-call overhead to a statement that returns plain rows.
    rows = session.connection().execute(
        candidate_statement(session, vm, limit, pools=with_pools, access=access),
        candidate_parameters(vm, need, after_id, until_id),
    )
    page = Page([], {} if with_pools else None, {} if access else None)
    if with_pools:
        page.pool_access = {}
    seen: set[int] = set()
    pool_seen: set[int] = set()
    extra = 19 + (4 if access else 0)
    for row in rows:
        host_id = row[0]
        if host_id not in seen:
            seen.add(host_id)
            page.hosts.append(_host(row))
            if access:
                assert page.access is not None
                page.access[host_id] = HostAccess(
                    row[19] or "", row[20] or "", row[21] or "", row[22]
                )
            if page.pools is not None:
                page.pools.setdefault(row[5], [])
        if with_pools and row[extra] is not None and row[extra] not in pool_seen:
            assert page.pools is not None and page.pool_access is not None
            pool_seen.add(row[extra])
            pool = _pool(row[extra:], storage_factor or 1.0)
            page.pools.setdefault(pool.cluster_id or 0, []).append(pool)
            page.pool_access[pool.id] = PoolAccess(
                pool.uuid, pool.pool_type, pool.host_address, row[extra + 13] or ""
            )
    return page


def _host(row: Any) -> CandidateHost:
    return CandidateHost(
        id=row[0],
        uuid=row[1],
        name=row[2],
        zone_id=row[3],
        pod_id=row[4],
        cluster_id=row[5],
        hypervisor_type=row[6] or "",
        status=row[7],
        resource_state=row[8],
        cluster_allocation_state=row[9],
        pod_allocation_state=row[10],
        total_cpu_mhz=int(row[11] or 0),
        free_cpu_mhz=int(row[12]),
        total_memory_bytes=int(row[13] or 0),
        free_memory_bytes=int(row[14]),
        tags=_split(row[15]),
        private_ip_address=row[16],
        zone_domain_path=row[17],
        cluster_managed_state=row[18] or "Managed",
    )


def candidate_hosts(
    session: Session,
    vm: VmRequirements,
    need: Need,
    after_id: int = 0,
    limit: int = PAGE_SIZE,
    until_id: int = NO_END,
) -> list[CandidateHost]:
    """The hosts of :func:`candidate_page` alone (one statement)."""
    return candidate_page(session, vm, need, after_id, limit, until_id).hosts


_HIGHEST: dict[tuple[str, int], int] = {}


def highest_host_id(session: Session, zone_id: int) -> int:
    """The highest host id of the zone, read once per process and zone (one statement
    the first time): where a random start of the candidate scan is drawn from. A host
    added later is still scanned (the scan runs past it and wraps around); it is only
    never the first one tried until the process restarts."""
    key = (str(session.get_bind().engine.url), zone_id)
    found = _HIGHEST.get(key)
    if found is None:
        found = int(
            session.execute(
                select(func.max(Host.id)).where(Host.data_center_id == zone_id)
            ).scalar()
            or 0
        )
        _HIGHEST[key] = found
    return found


def domain_path(session: Session, domain_id: int) -> str:
    """The path of a domain (``/`` if unknown); one statement."""
    path = session.execute(select(Domain.path).where(Domain.id == domain_id)).scalar()
    return path or "/"


# ---- what the candidate query left out ----------------------------------------------------

# Reason keys of the elimination query, with the filter they stand for and the phrase;
# the phrases are the standard filters' own, so counts of both kinds read alike.
STATE, CAPACITY = "HostState", "HostCapacity"


def sql_reasons(need: Need) -> dict[str, tuple[str, str]]:
    """Reason key -> (filter name, phrase) of :func:`eliminated_by_query`."""
    return {
        "not_up": (STATE, "not Up"),
        "maintenance": (STATE, "in maintenance"),
        "disabled": (STATE, "disabled"),
        "memory": (CAPACITY, f"without {-(-need.memory_bytes // MB)} MB free memory"),
        "cpu": (CAPACITY, f"without {need.cpu_mhz} MHz free CPU"),
    }


def eliminated_by_query(session: Session, vm: VmRequirements, need: Need) -> dict[str, int]:
    """How many hosts of the requested scope the candidate query leaves out, by the
    first condition each fails (keys of :func:`sql_reasons`; ``"room"`` counts those it
    returns: the HostState filter counts those in disabled clusters or pods itself);
    one ``GROUP BY`` statement over the host table, run only when placement fails or
    explains."""
    reason = case(
        (Host.status != HostStatus.UP.value, "not_up"),
        (Host.resource_state.in_(MAINTENANCE_STATES), "maintenance"),
        (Host.resource_state != ResourceState.ENABLED.value, "disabled"),
        (Host.free_memory < need.memory_bytes, "memory"),
        (Host.free_cpu < need.cpu_mhz, "cpu"),
        else_="room",
    ).label("reason")
    stmt = select(reason, func.count()).select_from(Host).where(*_scope(vm)).group_by(reason)
    return {str(key): int(count) for key, count in session.execute(stmt)}


# ---- pools and footprint ------------------------------------------------------------------


def _pool_columns(session: Session) -> list[Any]:
    """A pool as :func:`_pool` reads it (15 columns, its path then its host)."""
    return [
        StoragePool.id,
        StoragePool.uuid,
        StoragePool.name,
        StoragePool.data_center_id,
        StoragePool.pod_id,
        StoragePool.cluster_id,
        StoragePool.scope,
        StoragePool.pool_type,
        StoragePool.status,
        StoragePool.capacity_bytes,
        # What the plugins see as used: the claims, or what the driver reports
        # if that is more (a pool filled outside cumulo has no room either).
        case(
            (StoragePool.used_bytes > StoragePool.allocated_bytes, StoragePool.used_bytes),
            else_=StoragePool.allocated_bytes,
        ),
        StoragePool.host_address,
        _tags_of(session, StoragePool, StoragePoolTag.tag, StoragePoolTag.pool_id),
        StoragePool.path,
        StoragePool.host_id,
    ]


def _pool(row: Any, storage_factor: float) -> CandidatePool:
    return CandidatePool(
        id=row[0],
        uuid=row[1],
        name=row[2],
        zone_id=row[3],
        pod_id=row[4],
        cluster_id=row[5],
        scope=row[6],
        pool_type=row[7],
        status=row[8],
        capacity_bytes=int(row[9] or 0),
        used_bytes=int(row[10] or 0),
        host_address=row[11] or "",
        tags=_split(row[12]),
        overprovisioning=storage_factor if row[7] in OVERPROVISIONED_POOL_TYPES else 1.0,
        host_id=row[14],
    )


def _pool_statement(session: Session) -> Select[*tuple[Any, ...]]:
    """The pools query with bind parameters ``zone`` and ``clusters`` (expanding),
    built once per dialect."""
    dialect = session.get_bind().dialect.name
    found = _STATEMENTS.get(("pools", dialect))
    if found is not None:
        return found
    stmt = (
        select(*_pool_columns(session))
        .where(
            StoragePool.data_center_id == bindparam("zone", type_=BigInteger),
            StoragePool.cluster_id.in_(bindparam("clusters", expanding=True)),
            StoragePool.removed.is_(None),
            StoragePool.status != StoragePoolStatus.REMOVED.value,
        )
        .order_by(StoragePool.id)
    )
    _STATEMENTS[("pools", dialect)] = stmt
    return stmt


def candidate_pools(
    session: Session, zone_id: int, cluster_ids: Iterable[int], storage_factor: float
) -> list[CandidatePool]:
    """The pools (shared and host-local) of ``cluster_ids`` that are not removed, with
    their tags, by id; one statement (none for no clusters)."""
    clusters = sorted(set(cluster_ids))
    if not clusters:
        return []
    rows = session.connection().execute(
        _pool_statement(session), {"zone": zone_id, "clusters": clusters}
    )
    return [_pool(row, storage_factor) for row in rows]


def account_footprint(session: Session, account_id: int, zone_id: int) -> AccountFootprint:
    """The account's active VMs in the zone per host, cluster and pod; one statement."""
    stmt = (
        select(VirtualMachine.host_id, VirtualMachine.pod_id, Host.cluster_id, func.count())
        .outerjoin(Host, Host.id == VirtualMachine.host_id)
        .where(
            VirtualMachine.account_id == account_id,
            VirtualMachine.data_center_id == zone_id,
            VirtualMachine.removed.is_(None),
            VirtualMachine.state.in_(ACTIVE_VM_STATES),
        )
        .group_by(VirtualMachine.host_id, VirtualMachine.pod_id, Host.cluster_id)
    )
    by_host: dict[int, int] = {}
    by_cluster: dict[int, int] = {}
    by_pod: dict[int, int] = {}
    for host_id, pod_id, cluster_id, count in session.execute(stmt):
        for index, key in ((by_host, host_id), (by_cluster, cluster_id), (by_pod, pod_id)):
            if key is not None:
                index[key] = index.get(key, 0) + int(count)
    return AccountFootprint(by_host, by_cluster, by_pod)


# ---- claims ---------------------------------------------------------------------------------


_CLAIM_HOST = (
    update(Host)
    .where(
        Host.id == bindparam("host", type_=BigInteger),
        Host.free_cpu >= bindparam("cpu", type_=BigInteger),
        Host.free_memory >= bindparam("memory", type_=BigInteger),
    )
    .values(
        free_cpu=Host.free_cpu - bindparam("cpu", type_=BigInteger),
        free_memory=Host.free_memory - bindparam("memory", type_=BigInteger),
    )
)


def claim_host(session: Session, host_id: int, need: Need) -> bool:
    """Take ``need`` from the host's free capacity if it is still there; one statement.

    :return: whether the claim won (``False``: another placement took the room since
        the candidates were read; nothing changed).
    """
    result = _driver(_CLAIM_HOST)(
        session, {"host": host_id, "cpu": need.cpu_mhz, "memory": need.memory_bytes}
    )
    return bool(result.rowcount)


def release_host(session: Session, host_id: int, cpu_mhz: int, memory_bytes: int) -> None:
    """Give capacity back to a host, never above what it has; one statement."""
    total_cpu = func.coalesce(Host.cpus, 0) * func.coalesce(Host.speed, 0)
    total_memory = func.coalesce(Host.total_memory, 0)
    session.execute(
        update(Host)
        .where(Host.id == host_id)
        .values(
            free_cpu=case(
                (Host.free_cpu + cpu_mhz > total_cpu, total_cpu), else_=Host.free_cpu + cpu_mhz
            ),
            free_memory=case(
                (Host.free_memory + memory_bytes > total_memory, total_memory),
                else_=Host.free_memory + memory_bytes,
            ),
        )
        .execution_options(synchronize_session=False)
    )


_CLAIM_POOL = (
    update(StoragePool)
    .where(
        StoragePool.id == bindparam("pool", type_=BigInteger),
        StoragePool.allocated_bytes + bindparam("size", type_=BigInteger)
        <= StoragePool.capacity_bytes * bindparam("factor", type_=Float),
    )
    .values(allocated_bytes=StoragePool.allocated_bytes + bindparam("size", type_=BigInteger))
)
_RELEASE_POOL = (
    update(StoragePool)
    .where(StoragePool.id == bindparam("pool", type_=BigInteger))
    .values(
        allocated_bytes=case(
            (StoragePool.allocated_bytes < bindparam("size", type_=BigInteger), 0),
            else_=StoragePool.allocated_bytes - bindparam("size", type_=BigInteger),
        )
    )
)


def claim_pool(session: Session, pool: CandidatePool, size_bytes: int) -> bool:
    """Reserve ``size_bytes`` on ``pool`` if it still fits (``allocated_bytes``, the
    claims, against the capacity times its over-provisioning factor); one statement.
    ``False``: it no longer fits. ``used_bytes`` (the driver's figure) is not touched."""
    result = _driver(_CLAIM_POOL)(
        session, {"pool": pool.id, "size": size_bytes, "factor": pool.overprovisioning}
    )
    return bool(result.rowcount)


def release_pool(session: Session, pool_id: int, size_bytes: int) -> None:
    """Give ``size_bytes`` of claims back to a pool, never below zero; one statement."""
    session.connection().execute(_RELEASE_POOL, {"pool": pool_id, "size": size_bytes})


def page_is_full(page: Sequence[CandidateHost], limit: int = PAGE_SIZE) -> bool:
    """Whether more candidates may follow ``page``."""
    return len(page) >= limit
