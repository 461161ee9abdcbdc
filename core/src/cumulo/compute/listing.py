"""``listVirtualMachines``: one statement per page, plus one for the page's NICs.

The VM row and everything its response shows of other tables (owner, domain, zone,
host, offering, template, ISO, OS type, instance group) come from ONE Core select
through :func:`cumulo.db.listing.fetch_rows`, which adds the total count as a window
column; the NICs of the VMs on the page follow in a second statement. However many VMs
a page holds, a page costs two statements.

The same query, by id and with the NICs outer-joined (one statement), answers every VM
command (start, stop ...), so a single VM and a listed VM are always the same response.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, and_, bindparam, exists, false, func, or_, select
from sqlalchemy.orm import Session, aliased

from cumulo.accounts.models import Account, Domain
from cumulo.compute.models import (
    InstanceGroup,
    InstanceGroupVmMap,
    Nic,
    VirtualMachine,
    VmState,
    VmType,
)
from cumulo.db.listing import DEFAULT_PAGE_SIZE, page_window
from cumulo.infra.hosts.models import Host
from cumulo.infra.models import Zone
from cumulo.offerings.models import ServiceOffering
from cumulo.templates.models import GuestOs, VMTemplate
from cumulo.volumes.models import Volume


@dataclass(frozen=True)
class VmFilter:
    """``listVirtualMachines`` filters, resolved to internal ids (``None``: any).

    :param scope: the accounts the caller may list (:func:`cumulo.accounts.access.
        visible_accounts`), a WHERE clause over ``account``.
    :param owner_id: set when ``scope`` is known to be exactly that one account (a
        user's own list, ``listall=false``): the VMs are then filtered on their own
        ``account_id`` column, without joining ``account`` for every matching VM.
    :param everyone: set when ``scope`` is known to be every account (a root admin's
        ``listall=true``): no account condition and no join at all.
    :param show_destroyed: admins see ``Destroyed`` VMs; users do not (4.1).
    :param nothing: a filter that can match nothing (a project, tags): empty answer.
    """

    scope: ColumnElement[bool]
    id: int | None = None
    uuid: str | None = None
    name: str | None = None
    state: str | None = None
    zone_id: int | None = None
    pod_id: int | None = None
    host_id: int | None = None
    group_id: int | None = None
    template_id: int | None = None
    iso_id: int | None = None
    storage_id: int | None = None
    network_id: int | None = None
    hypervisor: str | None = None
    keyword: str | None = None
    show_destroyed: bool = True
    nothing: bool = False
    owner_id: int | None = None
    everyone: bool = False

    @property
    def needs_account(self) -> bool:
        """Whether the scope must be evaluated on the ``account`` table."""
        return self.owner_id is None and not self.everyone


_TEMPLATE = aliased(VMTemplate, name="tmpl")
_ISO = aliased(VMTemplate, name="iso")


_COLUMNS: tuple[tuple[str, Any], ...] = (
    ("id", VirtualMachine.id),
    ("uuid", VirtualMachine.uuid),
    ("name", VirtualMachine.name),
    ("display_name", VirtualMachine.display_name),
    ("instance_name", VirtualMachine.instance_name),
    ("state", VirtualMachine.state),
    ("created", VirtualMachine.created),
    ("ha_enabled", VirtualMachine.ha_enabled),
    ("hypervisor_type", VirtualMachine.hypervisor_type),
    ("keypair_name", VirtualMachine.keypair_name),
    ("password", VirtualMachine.password),
    ("account_id", VirtualMachine.account_id),
    ("update_count", VirtualMachine.update_count),
    ("account_name", Account.account_name),
    ("account_type", Account.type),
    ("domain_uuid", Domain.uuid),
    ("domain_name", Domain.name),
    ("zone_uuid", Zone.uuid),
    ("zone_name", Zone.name),
    ("zone_networktype", Zone.networktype),
    ("host_uuid", Host.uuid),
    ("host_name", Host.name),
    ("offering_uuid", ServiceOffering.uuid),
    ("offering_name", ServiceOffering.name),
    ("cpu", ServiceOffering.cpu),
    ("speed", ServiceOffering.speed),
    ("ram_size", ServiceOffering.ram_size),
    ("template_uuid", _TEMPLATE.uuid),
    ("template_name", _TEMPLATE.name),
    ("template_display_text", _TEMPLATE.display_text),
    ("password_enabled", _TEMPLATE.password_enabled),
    ("iso_uuid", _ISO.uuid),
    ("iso_name", _ISO.name),
    ("iso_display_text", _ISO.display_text),
    ("guest_os_uuid", GuestOs.uuid),
    ("group_uuid", InstanceGroup.uuid),
    ("group_name", InstanceGroup.name),
)
VM_COLUMNS: tuple[str, ...] = tuple(name for name, _ in _COLUMNS)
"""The names of a VM row's first columns, in order: every row :func:`list_vms` and
:func:`vm_row` return starts with them (:func:`cumulo.compute.views.vm_fields` reads
them by position)."""


def _base(page_ids: Any = None) -> Select[Any]:
    """The response's columns (:data:`VM_COLUMNS`); from ``vm_instance`` (filtered by
    the caller), or, with ``page_ids`` (a subquery's id column), for those VMs only."""
    vm = VirtualMachine
    stmt: Select[Any] = select(*(column.label(name) for name, column in _COLUMNS))
    if page_ids is None:
        stmt = stmt.select_from(vm).where(vm.removed.is_(None))
    else:
        stmt = stmt.select_from(page_ids.table).join(vm, vm.id == page_ids)
    return (
        stmt.join(Account, Account.id == vm.account_id)
        .join(Domain, Domain.id == vm.domain_id)
        .join(Zone, Zone.id == vm.data_center_id)
        .join(ServiceOffering, ServiceOffering.id == vm.service_offering_id)
        .outerjoin(Host, Host.id == vm.host_id)
        .outerjoin(_TEMPLATE, _TEMPLATE.id == vm.template_id)
        .outerjoin(_ISO, _ISO.id == vm.iso_id)
        .outerjoin(GuestOs, GuestOs.id == vm.guest_os_id)
        .outerjoin(InstanceGroupVmMap, InstanceGroupVmMap.instance_id == vm.id)
        .outerjoin(InstanceGroup, InstanceGroup.id == InstanceGroupVmMap.group_id)
    )


def _conditions(where: VmFilter) -> list[ColumnElement[bool]]:
    vm = VirtualMachine
    # Router system VMs are vm_instance rows too; listVirtualMachines shows user VMs only.
    conditions: list[ColumnElement[bool]] = [vm.type == VmType.USER.value]
    if where.owner_id is not None:
        conditions.append(vm.account_id == where.owner_id)
    elif not where.everyone:
        conditions.append(where.scope)
    if where.nothing:
        conditions.append(false())
    for column, value in (
        (vm.id, where.id),
        (vm.uuid, where.uuid),
        (vm.data_center_id, where.zone_id),
        (vm.pod_id, where.pod_id),
        (vm.host_id, where.host_id),
        (vm.template_id, where.template_id),
        (vm.iso_id, where.iso_id),
        (InstanceGroupVmMap.group_id, where.group_id),
    ):
        if value is not None:
            conditions.append(column == value)
    if where.state is not None:
        # 4.1 compares the state as given; cumulo accepts any case of a state name.
        canonical = {s.value.lower(): s.value for s in VmState}.get(where.state.lower())
        conditions.append(vm.state == (canonical or where.state))
    if not where.show_destroyed:
        conditions.append(vm.state.not_in((VmState.DESTROYED.value, VmState.EXPUNGING.value)))
    if where.hypervisor is not None:
        conditions.append(vm.hypervisor_type == where.hypervisor)
    if where.name:
        conditions.append(vm.name.contains(where.name, autoescape=True))
    if where.keyword:
        conditions.append(
            or_(
                vm.name.contains(where.keyword, autoescape=True),
                vm.display_name.contains(where.keyword, autoescape=True),
                vm.state.contains(where.keyword, autoescape=True),
            )
        )
    if where.storage_id is not None:
        conditions.append(
            exists(
                select(Volume.id).where(
                    Volume.instance_id == vm.id,
                    Volume.pool_id == where.storage_id,
                    Volume.removed.is_(None),
                )
            )
        )
    if where.network_id is not None:
        conditions.append(
            exists(
                select(Nic.id).where(
                    Nic.instance_id == vm.id,
                    Nic.network_id == where.network_id,
                    Nic.removed.is_(None),
                )
            )
        )
    return conditions


@dataclass(frozen=True)
class NicRow:
    """What a NIC's response shows."""

    uuid: str
    network_id: int | None
    ip4_address: str | None
    netmask: str | None
    gateway: str | None
    isolation_uri: str | None
    broadcast_uri: str | None
    traffic_type: str
    is_default: bool
    mac_address: str


_NICS = (
    select(
        Nic.instance_id,
        Nic.uuid,
        Nic.network_id,
        Nic.ip4_address,
        Nic.netmask,
        Nic.gateway,
        Nic.isolation_uri,
        Nic.broadcast_uri,
        Nic.traffic_type,
        Nic.is_default,
        Nic.mac_address,
    )
    .where(Nic.instance_id.in_(bindparam("vms", expanding=True)), Nic.removed.is_(None))
    .order_by(Nic.instance_id, Nic.device_id)
)
"""Built once: every list page and VM answer runs it (Core, on the session's
connection: the ORM's result handling would cost more than the statement)."""


def nics_of(session: Session, vm_ids: list[int]) -> dict[int, list[NicRow]]:
    """The live NICs of the VMs, by VM id, default NIC first (one statement)."""
    found: dict[int, list[NicRow]] = defaultdict(list)
    if not vm_ids:
        return found
    for instance_id, *rest in session.connection().execute(_NICS, {"vms": vm_ids}):
        found[instance_id].append(NicRow(*rest))
    return found


def list_vms(
    session: Session,
    where: VmFilter,
    *,
    page: int | None = None,
    pagesize: int | None = None,
    max_page_size: int = DEFAULT_PAGE_SIZE,
) -> tuple[list[Row[Any]], dict[int, list[NicRow]], int]:
    """A page of VMs ordered by id, their NICs, and the total (two statements; three
    for a page past the end).

    Shaped so that a page costs O(page) joins, not O(matching VMs): the inner query
    pages the matching ids on ``vm_instance`` and ``account`` (the scope) alone, with
    the total as a scalar subquery over the same tables; only the page's ids are then
    joined to the names the response shows. (Counting over the whole joined statement
    makes the database build every matching VM's joined row to return 500 — the
    failure CloudStack's own list had, apache/cloudstack#8012.)
    """
    offset, limit = page_window(page, pagesize, max_page_size)
    vm = VirtualMachine
    matching = select(vm.id)
    if where.needs_account:
        matching = matching.join(Account, Account.id == vm.account_id)
    matching = matching.where(vm.removed.is_(None), *_conditions(where))
    if where.group_id is not None:
        matching = matching.join(InstanceGroupVmMap, InstanceGroupVmMap.instance_id == vm.id)
    # The total as an uncorrelated scalar subquery, computed once: unlike COUNT(*)
    # OVER (), it does not make the database materialise every matching id before
    # the LIMIT applies.
    total_of = select(func.count()).select_from(matching.subquery("counted")).scalar_subquery()
    paged = matching.add_columns(total_of.label("total")).order_by(vm.id).offset(offset)
    if limit is not None:
        paged = paged.limit(limit)
    page_ids = paged.subquery("page_ids")
    stmt = _base(page_ids.c.id).add_columns(page_ids.c.total).order_by(page_ids.c.id)
    rows = list(session.connection().execute(stmt).all())
    if rows:
        total = int(rows[0].total)
    elif offset == 0:
        total = 0
    else:  # past the end: no row carries the total, so count on its own
        total = int(session.execute(select(total_of)).scalar_one())
    return rows, nics_of(session, [row.id for row in rows]), total


_NIC_COLUMNS = (
    Nic.uuid.label("nic_uuid"),
    Nic.network_id.label("nic_network_id"),
    Nic.ip4_address.label("nic_ip4_address"),
    Nic.netmask.label("nic_netmask"),
    Nic.gateway.label("nic_gateway"),
    Nic.isolation_uri.label("nic_isolation_uri"),
    Nic.broadcast_uri.label("nic_broadcast_uri"),
    Nic.traffic_type.label("nic_traffic_type"),
    Nic.is_default.label("nic_is_default"),
    Nic.mac_address.label("nic_mac_address"),
)


def vm_row(session: Session, vm_id: int) -> tuple[Row[Any], list[NicRow]]:
    """One VM as listed (for the answer of a VM command), with its NICs, in ONE
    statement: the listing's select with the live NICs outer-joined (a row per NIC);
    the VM must exist."""
    stmt = (
        _base()
        .add_columns(*_NIC_COLUMNS)
        .outerjoin(Nic, and_(Nic.instance_id == VirtualMachine.id, Nic.removed.is_(None)))
        .where(VirtualMachine.id == vm_id)
        .order_by(Nic.device_id)
    )
    rows = session.execute(stmt).all()
    nics = [
        NicRow(
            row.nic_uuid,
            row.nic_network_id,
            row.nic_ip4_address,
            row.nic_netmask,
            row.nic_gateway,
            row.nic_isolation_uri,
            row.nic_broadcast_uri,
            row.nic_traffic_type,
            row.nic_is_default,
            row.nic_mac_address,
        )
        for row in rows
        if row.nic_uuid is not None
    ]
    return rows[0], nics
