"""``listVolumes``: one statement per page, whatever the page holds.

The volume row and everything its response shows of other tables (owner account and
domain, zone, VM and its service offering, disk offering, pool and its cluster's
hypervisor, the template's extractability, the upload's progress, the snapshot it was
made from) come from ONE Core
select through :func:`cumulo.db.listing.fetch_rows`, which adds the total count as a
window column. The same query with an id filter answers every volume command, so a
volume in a job result and in a list are always the same response.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, and_, false, or_, select, true
from sqlalchemy.orm import Session, aliased

from cumulo.accounts.models import Account, Domain
from cumulo.compute.models import VirtualMachine
from cumulo.db.listing import DEFAULT_PAGE_SIZE, fetch_rows
from cumulo.infra.hosts.models import Cluster
from cumulo.infra.models import Zone
from cumulo.infra.storage.models import StoragePool
from cumulo.offerings.models import DiskOffering, ServiceOffering
from cumulo.templates.models import VMTemplate
from cumulo.volumes.models import Volume, VolumeState
from cumulo.volumes.snapshot_models import Snapshot, VolumeHostRef

HIDDEN_STATES = (VolumeState.EXPUNGING.value, VolumeState.EXPUNGED.value)
"""4.1 lists destroyed volumes (``destroyed: true``) but not those being expunged."""


@dataclass(frozen=True)
class VolumeFilter:
    """``listVolumes`` filters, resolved to internal ids (``None``: any).

    :param scope: the accounts the caller may list (:func:`cumulo.accounts.access.
        visible_accounts`), a WHERE clause over ``account``.
    :param nothing: a filter that can match nothing (a project, resource tags).
    """

    scope: ColumnElement[bool]
    id: int | None = None
    name: str | None = None
    volume_type: str | None = None
    zone_id: int | None = None
    pod_id: int | None = None
    host_id: int | None = None
    vm_id: int | None = None
    keyword: str | None = None
    nothing: bool = False


_TEMPLATE = aliased(VMTemplate, name="tmpl")
_SNAPSHOT = aliased(Snapshot, name="source_snapshot")


def _base() -> Select[Any]:
    volume = Volume
    return (
        select(  # type: ignore[return-value]
            volume.id,
            volume.uuid,
            volume.name,
            volume.volume_type,
            volume.device_id,
            volume.size,
            volume.state,
            volume.created,
            volume.attached,
            volume.account_id,
            volume.pool_id,
            volume.instance_id,
            volume.update_count,
            Account.account_name.label("account_name"),
            Domain.uuid.label("domain_uuid"),
            Domain.name.label("domain_name"),
            Zone.uuid.label("zone_uuid"),
            Zone.name.label("zone_name"),
            VirtualMachine.uuid.label("vm_uuid"),
            VirtualMachine.name.label("vm_name"),
            VirtualMachine.display_name.label("vm_display_name"),
            VirtualMachine.state.label("vm_state"),
            VirtualMachine.hypervisor_type.label("vm_hypervisor"),
            ServiceOffering.uuid.label("service_offering_uuid"),
            ServiceOffering.name.label("service_offering_name"),
            ServiceOffering.display_text.label("service_offering_text"),
            ServiceOffering.use_local_storage.label("service_offering_local"),
            DiskOffering.uuid.label("disk_offering_uuid"),
            DiskOffering.name.label("disk_offering_name"),
            DiskOffering.display_text.label("disk_offering_text"),
            DiskOffering.use_local_storage.label("disk_offering_local"),
            StoragePool.name.label("pool_name"),
            StoragePool.scope.label("pool_scope"),
            Cluster.hypervisor_type.label("pool_hypervisor"),
            _TEMPLATE.extractable.label("template_extractable"),
            _TEMPLATE.template_type.label("template_type"),
            VolumeHostRef.download_state.label("upload_state"),
            VolumeHostRef.download_pct.label("upload_pct"),
            VolumeHostRef.error_str.label("upload_error"),
            VolumeHostRef.format.label("upload_format"),
            _SNAPSHOT.uuid.label("snapshot_uuid"),
        )
        .join(Account, Account.id == volume.account_id)
        .join(Domain, Domain.id == volume.domain_id)
        .join(Zone, Zone.id == volume.data_center_id)
        .outerjoin(VirtualMachine, VirtualMachine.id == volume.instance_id)
        .outerjoin(ServiceOffering, ServiceOffering.id == VirtualMachine.service_offering_id)
        .outerjoin(DiskOffering, DiskOffering.id == volume.disk_offering_id)
        .outerjoin(StoragePool, StoragePool.id == volume.pool_id)
        .outerjoin(Cluster, Cluster.id == StoragePool.cluster_id)
        .outerjoin(_TEMPLATE, _TEMPLATE.id == volume.template_id)
        .outerjoin(_SNAPSHOT, _SNAPSHOT.id == volume.snapshot_id)
        .outerjoin(
            VolumeHostRef,
            and_(
                VolumeHostRef.volume_id == volume.id,
                VolumeHostRef.zone_id == volume.data_center_id,
            ),
        )
        .where(volume.removed.is_(None), volume.state.not_in(HIDDEN_STATES))
    )


def _conditions(where: VolumeFilter) -> list[ColumnElement[bool]]:
    volume = Volume
    conditions: list[ColumnElement[bool]] = [where.scope]
    if where.nothing:
        conditions.append(false())
    for column, value in (
        (volume.id, where.id),
        (volume.data_center_id, where.zone_id),
        (volume.pod_id, where.pod_id),
        (volume.instance_id, where.vm_id),
        (VirtualMachine.host_id, where.host_id),
    ):
        if value is not None:
            conditions.append(column == value)
    if where.volume_type is not None:
        conditions.append(volume.volume_type == where.volume_type.upper())
    # 4.1 matches name and keyword as substrings.
    if where.name:
        conditions.append(volume.name.contains(where.name, autoescape=True))
    if where.keyword:
        conditions.append(
            or_(
                volume.name.contains(where.keyword, autoescape=True),
                volume.state.contains(where.keyword, autoescape=True),
            )
        )
    return conditions


def list_volumes(
    session: Session,
    where: VolumeFilter,
    *,
    page: int | None = None,
    pagesize: int | None = None,
    max_page_size: int = DEFAULT_PAGE_SIZE,
) -> tuple[list[Row[Any]], int]:
    """A page of volumes ordered by id, and the total (one statement)."""
    stmt = _base().where(and_(*_conditions(where))).order_by(Volume.id)
    return fetch_rows(session, stmt, page=page, pagesize=pagesize, max_page_size=max_page_size)


def volume_row(session: Session, volume_id: int) -> Row[Any]:
    """One volume as listed (for the answer of a volume command); it must be listed
    (not removed, not being expunged)."""
    rows, _ = list_volumes(session, VolumeFilter(scope=true(), id=volume_id), pagesize=-1)
    return rows[0]
