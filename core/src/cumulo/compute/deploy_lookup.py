"""What ``deployVirtualMachine`` names, read in ONE statement.

The zone, the service offering (with its domain's path), the template or ISO (with its
OS type, its download in the zone, the store's URL, its owner's domain path and
whether the caller holds a launch permission), the disk offering when one is named,
whether the VM's ``name`` is taken in the zone, the highest VM id (see
:func:`cumulo.compute.allocation.allocate`), and — outer-joined, one row per count row
— the counts and limits of the reservation the deploy made just before
(:class:`cumulo.limits.reservation.Reservation`).

The checks stay where they were, in Python, on the values read: the same rules as the
lookups other commands use (:func:`cumulo.infra.lookup.find_zone`,
:func:`cumulo.offerings.lookup.service_offering_for` and ``disk_offering_for``,
:func:`cumulo.templates.lookup.template_for_deploy`), the same 431s naming the same
parameters in the same order; only the statements are merged. The statement is built
once per shape (which parameters are UUIDs or numeric ids, which are given).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, String, and_, bindparam, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from cumulo.accounts.access import is_in_subtree
from cumulo.accounts.lookup import invalid_id
from cumulo.accounts.models import Domain
from cumulo.compute.models import VirtualMachine
from cumulo.infra.hosts.models import Host
from cumulo.infra.models import Zone
from cumulo.limits.reservation import Reservation
from cumulo.offerings.models import DiskOffering, ServiceOffering
from cumulo.offerings.visibility import may_see
from cumulo.sdk.api import CallContext
from cumulo.sdk.errors import InvalidParameterValue
from cumulo.templates.access import ancestor_paths
from cumulo.templates.lookup import DeployableTemplate
from cumulo.templates.models import (
    DownloadState,
    GuestOs,
    LaunchPermission,
    TemplateFormat,
    TemplateType,
    TemplateZoneRef,
    VMTemplate,
)

_OFFERING_DOMAIN = aliased(Domain, name="offering_domain")
_TEMPLATE_DOMAIN = aliased(Domain, name="template_domain")
_DISK_DOMAIN = aliased(Domain, name="disk_domain")
_STORE = aliased(Host, name="store")

NOTHING = 0
"""The id a value that can name nothing is looked up by (``0``, ``-1``, ...): no row
has it, so its own 431 comes at its turn in the checks."""


def key_of(value: object) -> tuple[str, object]:
    """``("id", n)`` for an internal numeric id, ``("uuid", text)`` otherwise, as the
    single lookups read a parameter (``-1`` and out-of-range numbers name nothing)."""
    text = str(value).strip()
    if isinstance(value, int) or text.isdecimal():
        number = int(text)
        return ("id", number if 0 < number < 2**63 else NOTHING)
    return ("uuid", text)


@dataclass(frozen=True)
class Shape:
    """What decides the statement's text."""

    zone: str
    offering: str
    template: str
    disk: str | None
    name: bool
    predict: bool


_STATEMENTS: dict[Shape, Select[Any]] = {}


def _column(model: Any, kind: str) -> Any:
    return model.id if kind == "id" else model.uuid


def statement(shape: Shape) -> Select[Any]:
    """The lookup of ``shape`` with bind parameters ``zone``, ``offering``,
    ``template``, ``caller`` (the account whose launch permissions count), and
    ``disk`` / ``name`` when the shape has them."""
    found = _STATEMENTS.get(shape)
    if found is not None:
        return found
    granted = exists(
        select(LaunchPermission.id).where(
            LaunchPermission.template_id == VMTemplate.id,
            LaunchPermission.account_id == bindparam("caller"),
        )
    )
    columns: list[Any] = [
        Zone.id.label("zone_id"),
        Zone.uuid.label("zone_uuid"),
        Zone.name.label("zone_name"),
        Zone.networktype.label("zone_networktype"),
        Zone.allocation_state.label("zone_allocation_state"),
        Zone.is_local_storage_enabled.label("zone_local_storage"),
        Zone.is_security_group_enabled.label("zone_sg_enabled"),
        ServiceOffering.id.label("so_id"),
        ServiceOffering.name.label("so_name"),
        ServiceOffering.use_local_storage.label("so_local"),
        ServiceOffering.ha_enabled.label("so_ha"),
        ServiceOffering.limit_cpu_use.label("so_limit_cpu_use"),
        ServiceOffering.system_use.label("so_system"),
        _OFFERING_DOMAIN.path.label("so_domain_path"),
        VMTemplate.id.label("t_id"),
        VMTemplate.uuid.label("t_uuid"),
        VMTemplate.name.label("t_name"),
        VMTemplate.format.label("t_format"),
        VMTemplate.hypervisor_type.label("t_hypervisor"),
        VMTemplate.size.label("t_size"),
        VMTemplate.password_enabled.label("t_password_enabled"),
        VMTemplate.guest_os_id.label("t_guest_os_id"),
        VMTemplate.sshkey_enabled.label("t_sshkey_enabled"),
        VMTemplate.bootable.label("t_bootable"),
        VMTemplate.account_id.label("t_account_id"),
        VMTemplate.public.label("t_public"),
        VMTemplate.template_type.label("t_type"),
        GuestOs.display_name.label("t_os_name"),
        TemplateZoneRef.download_state.label("t_download_state"),
        TemplateZoneRef.install_path.label("t_install_path"),
        TemplateZoneRef.size.label("t_zone_size"),
        _STORE.url.label("t_store_url"),
        _TEMPLATE_DOMAIN.path.label("t_owner_path"),
        granted.label("t_granted"),
    ]
    stmt = (
        select(*columns)
        .select_from(Zone)
        .outerjoin(
            ServiceOffering,
            and_(
                _column(ServiceOffering, shape.offering) == bindparam("offering"),
                ServiceOffering.removed.is_(None),
            ),
        )
        .outerjoin(_OFFERING_DOMAIN, _OFFERING_DOMAIN.id == ServiceOffering.domain_id)
        .outerjoin(
            VMTemplate,
            and_(
                _column(VMTemplate, shape.template) == bindparam("template"),
                VMTemplate.removed.is_(None),
            ),
        )
        .outerjoin(GuestOs, GuestOs.id == VMTemplate.guest_os_id)
        .outerjoin(
            TemplateZoneRef,
            and_(TemplateZoneRef.template_id == VMTemplate.id, TemplateZoneRef.zone_id == Zone.id),
        )
        .outerjoin(_STORE, _STORE.id == TemplateZoneRef.store_id)
        .outerjoin(_TEMPLATE_DOMAIN, _TEMPLATE_DOMAIN.id == VMTemplate.domain_id)
        .where(_column(Zone, shape.zone) == bindparam("zone"), Zone.removed.is_(None))
    )
    if shape.disk is not None:
        stmt = (
            stmt.add_columns(
                DiskOffering.id.label("do_id"),
                DiskOffering.customized.label("do_customized"),
                DiskOffering.disk_size.label("do_size"),
                DiskOffering.system_use.label("do_system"),
                _DISK_DOMAIN.path.label("do_domain_path"),
            )
            .outerjoin(
                DiskOffering,
                and_(
                    _column(DiskOffering, shape.disk) == bindparam("disk"),
                    DiskOffering.removed.is_(None),
                    # Always true: ties the join to the zone's row for SQLAlchemy's
                    # cartesian-product check (which, on MySQL, reads ON clauses only).
                    or_(DiskOffering.id == Zone.id, DiskOffering.id != Zone.id),
                ),
            )
            .outerjoin(_DISK_DOMAIN, _DISK_DOMAIN.id == DiskOffering.domain_id)
        )
    if shape.name:
        taken = exists(
            select(VirtualMachine.id).where(
                VirtualMachine.data_center_id == Zone.id,
                VirtualMachine.name == bindparam("name", type_=String),
                VirtualMachine.removed.is_(None),
            )
        )
        stmt = stmt.add_columns(taken.label("name_taken"))
    if shape.predict:
        stmt = stmt.add_columns(
            select(func.max(VirtualMachine.id)).scalar_subquery().label("max_vm_id")
        )
    _STATEMENTS[shape] = stmt
    return stmt


@dataclass(frozen=True)
class Lookup:
    """The first row of the lookup (the count rows ride along in ``rows``)."""

    row: Any
    rows: list[Any]

    @property
    def zone_id(self) -> int:
        return int(self.row.zone_id)


def read(
    session: Session,
    params: Mapping[str, Any],
    ctx: CallContext,
    *,
    name: str | None,
    predict: bool,
    reservation: Reservation | None,
) -> Lookup | None:
    """Run the lookup for a deploy's parameters; ``None`` when the zone does not exist.

    :param params: the call's parameters (``zoneid``, ``serviceofferingid``,
        ``templateid``, optional ``diskofferingid``).
    :param reservation: a reservation already incremented, whose counts to read back.
    """
    zone = key_of(params["zoneid"])
    offering = key_of(params["serviceofferingid"])
    template = key_of(params["templateid"])
    disk = key_of(params["diskofferingid"]) if params.get("diskofferingid") else None
    shape = Shape(
        zone[0], offering[0], template[0], disk[0] if disk else None, name is not None, predict
    )
    stmt = statement(shape)
    values: dict[str, Any] = {
        "zone": zone[1],
        "offering": offering[1],
        "template": template[1],
        "caller": ctx.account_id,
    }
    if disk is not None:
        values["disk"] = disk[1]
    if name is not None:
        values["name"] = name
    if reservation is not None and not reservation.empty:
        stmt = reservation.attach(stmt, Zone.id)
        values.update(reservation.parameters())
    rows = list(session.connection().execute(stmt, values))
    return Lookup(rows[0], rows) if rows else None


# ---- the checks on the values read ------------------------------------------------------


def check_offering(ctx: CallContext, row: Any, value: object) -> None:
    """:func:`cumulo.offerings.lookup.service_offering_for` on the row.

    :raises InvalidParameterValue: unknown, removed, a system offering, or not visible
        (431 naming ``serviceofferingid``).
    """
    if row.so_id is None or row.so_system or not may_see(ctx, row.so_domain_path):
        raise invalid_id("serviceofferingid", value)


def check_disk_offering(ctx: CallContext, row: Any, value: object) -> None:
    """:func:`cumulo.offerings.lookup.disk_offering_for` on the row (431 naming
    ``diskofferingid``)."""
    if row.do_id is None or row.do_system or not may_see(ctx, row.do_domain_path):
        raise invalid_id("diskofferingid", value)


def may_use_template(ctx: CallContext, row: Any) -> bool:
    """:func:`cumulo.templates.access.may_use` on the row: the owner's domain path and
    the launch permission were read with it instead of by two more statements."""
    owner_path = row.t_owner_path or ""
    if ctx.is_root_admin:
        return True
    if row.t_type != TemplateType.SYSTEM.value:  # may_manage
        if row.t_account_id == ctx.account_id:
            return True
        if ctx.is_domain_admin and is_in_subtree(owner_path, ctx.domain_path):
            return True
    if row.t_public and (
        owner_path in ancestor_paths(ctx.domain_path) or is_in_subtree(owner_path, ctx.domain_path)
    ):
        return True
    return bool(row.t_granted)


def deployable(ctx: CallContext, row: Any, value: object) -> DeployableTemplate:
    """:func:`cumulo.templates.lookup.template_for_deploy` on the row.

    :raises InvalidParameterValue: unknown, removed, not visible to the caller, or not
        ready in the zone (431 naming ``templateid``).
    """
    if row.t_id is None or not may_use_template(ctx, row):
        raise invalid_id("templateid", value)
    is_iso = row.t_format == TemplateFormat.ISO.value
    if row.t_download_state != DownloadState.DOWNLOADED.value:
        raise InvalidParameterValue(
            f"templateid: {'ISO' if is_iso else 'template'} {row.t_uuid} is not ready in"
            " that zone (not downloaded there)"
        )
    return DeployableTemplate(
        id=row.t_id,
        uuid=row.t_uuid,
        name=row.t_name,
        format=row.t_format,
        hypervisor_type=row.t_hypervisor,
        size=int(row.t_zone_size or row.t_size or 0),
        password_enabled=bool(row.t_password_enabled),
        is_iso=is_iso,
        guest_os_id=row.t_guest_os_id,
        guest_os_display_name=row.t_os_name,
        install_url=f"{(row.t_store_url or '').rstrip('/')}/{row.t_install_path or ''}",
        sshkey_enabled=bool(row.t_sshkey_enabled),
        bootable=bool(row.t_bootable),
    )
