"""Response views: volumes, snapshots and snapshot policies as 4.1 answers them.

Field names and order are those of 4.1's ``VolumeResponse``, ``SnapshotResponse``,
``SnapshotPolicyResponse`` and ``ExtractResponse`` (response-fields-4.1.tsv). Views are
pure: they read rows already loaded and never query.

As 4.1's ``VolumeJoinDaoImpl``: the pool's name (``storage``) and the hypervisor are
shown to root and resource admins only; a ROOT volume shows its VM's service offering
(4.1 keeps service offerings in ``disk_offering``), a data disk its disk offering; an
uploaded volume shows its download progress as ``status``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from cumulo.sdk.api import CallContext, Fields
from cumulo.volumes.models import VolumeState, VolumeType
from cumulo.volumes.snapshot_models import IntervalType, Snapshot, SnapshotPolicy

VOLUME_FIELDS = (
    "id",
    "name",
    "zoneid",
    "zonename",
    "type",
    "deviceid",
    "virtualmachineid",
    "vmname",
    "vmdisplayname",
    "vmstate",
    "size",
    "created",
    "state",
    "account",
    "projectid",
    "project",
    "domainid",
    "domain",
    "storagetype",
    "hypervisor",
    "diskofferingid",
    "diskofferingname",
    "diskofferingdisplaytext",
    "storage",
    "snapshotid",
    "attached",
    "destroyed",
    "serviceofferingid",
    "serviceofferingname",
    "serviceofferingdisplaytext",
    "isextractable",
    "status",
    "tags",
)
SNAPSHOT_FIELDS = (
    "id",
    "account",
    "domainid",
    "domain",
    "projectid",
    "project",
    "snapshottype",
    "volumeid",
    "volumename",
    "volumetype",
    "created",
    "name",
    "intervaltype",
    "state",
    "tags",
)
POLICY_FIELDS = ("id", "volumeid", "schedule", "intervaltype", "maxsnaps", "timezone")
EXTRACT_FIELDS = (
    "id",
    "name",
    "extractId",
    "uploadpercentage",
    "status",
    "accountid",
    "resultstring",
    "created",
    "state",
    "storagetype",
    "storage",
    "zoneid",
    "zonename",
    "extractMode",
    "url",
)

_SEES_INFRASTRUCTURE = (1, 3)  # root admin, resource domain admin


def _upload_status(row: Any) -> tuple[str | None, str | None]:
    """``(state, status)`` of a volume uploaded to secondary storage (4.1's wording)."""
    if row.upload_state is None:
        return None, None
    if row.upload_state == "DOWNLOADED":
        return VolumeState.UPLOADED.value, "Upload Complete"
    if row.upload_state == "DOWNLOAD_IN_PROGRESS":
        pct = int(row.upload_pct or 0)
        return None, "Checking Volume" if pct >= 100 else f"{pct}% Downloaded"
    if row.upload_state in ("DOWNLOAD_ERROR", "ABANDONED"):
        return None, row.upload_error or "Upload failed"
    return None, "Processing"


def volume_fields(row: Any, ctx: CallContext) -> Fields:
    """A ``VolumeResponse`` of a row of :func:`cumulo.volumes.listing.list_volumes`."""
    is_root = row.volume_type == VolumeType.ROOT.value
    local = (
        row.pool_scope == "HOST"
        if row.pool_scope is not None
        else bool(row.service_offering_local if is_root else row.disk_offering_local)
    )
    sees = ctx.account_type in _SEES_INFRASTRUCTURE
    state, status = row.state, None
    if row.state in (VolumeState.UPLOADING.value, VolumeState.UPLOADED.value):
        upload_state, status = _upload_status(row)
        state = upload_state or row.state
    hypervisor = row.pool_hypervisor or row.vm_hypervisor
    if row.state == VolumeState.UPLOADING.value:
        hypervisor = None
    extractable = True
    if is_root:
        extractable = bool(row.template_extractable) and row.template_type != "SYSTEM"
    return {
        "id": row.uuid,
        "name": row.name,
        "zoneid": row.zone_uuid,
        "zonename": row.zone_name,
        "type": row.volume_type,
        "deviceid": row.device_id if row.instance_id is not None else None,
        "virtualmachineid": row.vm_uuid,
        "vmname": row.vm_name,
        "vmdisplayname": (row.vm_display_name or row.vm_name) if row.vm_uuid else None,
        "vmstate": row.vm_state,
        "size": row.size,
        "created": row.created,
        "state": state,
        "account": row.account_name,
        "projectid": None,
        "project": None,
        "domainid": row.domain_uuid,
        "domain": row.domain_name,
        "storagetype": "local" if local else "shared",
        "hypervisor": hypervisor if sees else None,
        "diskofferingid": None if is_root else row.disk_offering_uuid,
        "diskofferingname": None if is_root else row.disk_offering_name,
        "diskofferingdisplaytext": None if is_root else row.disk_offering_text,
        "storage": row.pool_name if sees else None,
        "snapshotid": row.snapshot_uuid,
        "attached": row.attached if row.instance_id is not None else None,
        "destroyed": row.state == VolumeState.DESTROY.value,
        "serviceofferingid": row.service_offering_uuid if is_root else None,
        "serviceofferingname": row.service_offering_name if is_root else None,
        "serviceofferingdisplaytext": row.service_offering_text if is_root else None,
        "isextractable": extractable,
        "status": status,
        "tags": [],
    }


def snapshot_fields(row: Any) -> Fields:
    """A ``SnapshotResponse`` of a row of :func:`cumulo.volumes.snapshot_listing.
    list_snapshots` (the snapshot with its volume's and owner's names)."""
    snapshot: Snapshot = row.Snapshot
    interval = None
    if snapshot.snapshot_type in IntervalType.__members__:
        interval = snapshot.snapshot_type
    return {
        "id": snapshot.uuid,
        "account": row.account_name,
        "domainid": row.domain_uuid,
        "domain": row.domain_name,
        "projectid": None,
        "project": None,
        "snapshottype": snapshot.snapshot_type,
        "volumeid": row.volume_uuid,
        "volumename": row.volume_name,
        "volumetype": row.volume_type,
        "created": snapshot.created,
        "name": snapshot.name,
        "intervaltype": interval,
        "state": snapshot.status,
        "tags": [],
    }


def policy_fields(policy: SnapshotPolicy, volume_uuid: str) -> Fields:
    """A ``SnapshotPolicyResponse``: 4.1 shows the interval as its ordinal number."""
    return {
        "id": policy.uuid,
        "volumeid": volume_uuid,
        "schedule": policy.schedule,
        "intervaltype": policy.interval,
        "maxsnaps": policy.max_snaps,
        "timezone": policy.timezone,
    }


def extract_fields(
    *,
    volume_uuid: str,
    name: str,
    extract_uuid: str,
    account_uuid: str,
    created: dt.datetime,
    zone_uuid: str,
    zone_name: str,
    mode: str,
    url: str,
    local: bool,
) -> Fields:
    """An ``ExtractResponse`` for a volume whose download URL was made."""
    return {
        "id": volume_uuid,
        "name": name,
        "extractId": extract_uuid,
        "uploadpercentage": 100,
        "status": "DOWNLOAD_URL_CREATED",
        "accountid": account_uuid,
        "resultstring": None,
        "created": created,
        "state": "DOWNLOAD_URL_CREATED",
        "storagetype": "local" if local else "shared",
        "storage": None,
        "zoneid": zone_uuid,
        "zonename": zone_name,
        "extractMode": mode,
        "url": url,
    }
