"""The 4.1 volume commands: createVolume, attachVolume, detachVolume, deleteVolume,
resizeVolume, migrateVolume, extractVolume, uploadVolume (async but deleteVolume) and
listVolumes."""

from __future__ import annotations

from functools import partial
from typing import Any

from cumulo.accounts.commands.params import ISRECURSIVE, LIST_DOMAIN, LISTALL, PAGING
from cumulo.accounts.lookup import invalid_id
from cumulo.accounts.models import Account
from cumulo.compute.lookup import find_vm
from cumulo.events import record
from cumulo.infra.commands.support import created_uuid
from cumulo.infra.hosts.lookup import find_host
from cumulo.infra.lookup import find_pod, find_zone
from cumulo.infra.storage.lookup import find_pool
from cumulo.offerings.lookup import disk_offering_for
from cumulo.sdk.api import (
    ALL_ROLES,
    Call,
    Command,
    ListResult,
    ObjectResult,
    Param,
    ParamType,
    SuccessResult,
)
from cumulo.sdk.errors import InvalidParameterValue, ResourceUnavailable
from cumulo.templates.registration import owner_account
from cumulo.templates.sources import AddressPolicy
from cumulo.volumes import attach, service, transfer, views
from cumulo.volumes.listing import VolumeFilter, list_volumes, volume_row
from cumulo.volumes.lookup import find_snapshot, find_volume
from cumulo.volumes.models import Volume
from cumulo.volumes.snapshot_models import Snapshot
from cumulo.volumes.support import factor, keys, list_scope, max_volume_size_gb, paging

OBJECT = "volume"
RESOURCE = "Volume"
_PACKAGE = "org.apache.cloudstack.api.command.user.volume"


def _answer(call: Call, volume: Volume) -> ObjectResult:
    """The volume as ``listVolumes`` shows it (one statement)."""
    return ObjectResult(OBJECT, views.volume_fields(volume_row(call.session, volume.id), call.ctx))


def _event(call: Call, type: str, description: str, volume: Volume, **extra: Any) -> None:
    record(
        call,
        type,
        description,
        resource_type=RESOURCE,
        resource_uuid=volume.uuid,
        account_id=volume.account_id,
        domain_id=volume.domain_id,
        **extra,
    )


def _no_projects(call: Call) -> None:
    # cumulo has no projects yet: any project id names nothing.
    if call.get("projectid") is not None:
        raise invalid_id("projectid", call.get("projectid"))


# ---- createVolume (BaseAsyncCreateCmd) --------------------------------------------------


def _create_allocate(call: Call) -> tuple[str, str]:
    _no_projects(call)
    session = call.session
    owner = owner_account(call.ctx, session, call.get("account"), call.get("domainid"))
    snapshot: Snapshot | None = None
    if call.get("snapshotid") is not None:
        snapshot = find_snapshot(session, call.ctx, call.get("snapshotid"), "snapshotid")
        zone_id: object = snapshot.data_center_id
    elif call.get("zoneid") is None:
        raise InvalidParameterValue("zoneid: please specify a zone for the new volume")
    else:
        zone_id = call.get("zoneid")
    offering = None
    if call.get("diskofferingid") is not None:
        offering = disk_offering_for(session, call.ctx, call.get("diskofferingid"))
    volume = service.allocate(
        session,
        call.ctx,
        service.NewVolume(
            owner=owner,
            zone=find_zone(session, zone_id),
            name=call.params["name"],
            offering=offering,
            snapshot=snapshot,
            size_gb=call.get("size"),
            max_size_gb=max_volume_size_gb(call),
        ),
    )
    _event(call, "VOLUME.CREATE", f"Created volume {volume.name} (Allocated)", volume)
    return RESOURCE, volume.uuid


def _create(call: Call) -> ObjectResult:
    volume = find_volume(call.session, call.ctx, created_uuid(call))
    if call.get("snapshotid") is not None:
        snapshot = find_snapshot(call.session, call.ctx, call.get("snapshotid"), "snapshotid")
        service.create_from_snapshot(call.session, volume, snapshot, factor(call))
        _event(
            call,
            "VOLUME.CREATE",
            f"Created volume {volume.name} from snapshot {snapshot.name}",
            volume,
        )
    return _answer(call, volume)


# ---- attach, detach -----------------------------------------------------------------------


def _secrets(call: Call) -> attach.Secrets:
    key, algorithm = keys(call)
    return attach.Secrets(key, algorithm)


def _attach(call: Call) -> ObjectResult:
    session = call.session
    volume = find_volume(session, call.ctx, call.params["id"])
    vm = find_vm(session, call.ctx, call.params["virtualmachineid"], "virtualmachineid")
    attach.attach(
        session,
        volume,
        vm,
        device_id=call.get("deviceid"),
        secrets=_secrets(call),
        factor=factor(call),
    )
    _event(
        call,
        "VOLUME.ATTACH",
        f"Attached volume {volume.name} to VM {vm.name} as device {volume.device_id}",
        volume,
    )
    return _answer(call, volume)


def _detach(call: Call) -> ObjectResult:
    session = call.session
    if call.get("id") is not None:
        if call.get("virtualmachineid") is not None or call.get("deviceid") is not None:
            raise InvalidParameterValue(
                "id: give either the volume id, or the VM id with the device id"
            )
        volume = find_volume(session, call.ctx, call.params["id"])
        if volume.instance_id is None:
            raise InvalidParameterValue(f"id: volume {volume.uuid} is not attached to a VM")
        vm = find_vm(session, call.ctx, volume.instance_id, "id")
    else:
        if call.get("virtualmachineid") is None or call.get("deviceid") is None:
            raise InvalidParameterValue(
                "id: give the volume id, or the VM id (virtualmachineid) and the device id"
                " (deviceid)"
            )
        vm = find_vm(session, call.ctx, call.params["virtualmachineid"], "virtualmachineid")
        found = attach.attached_volume(session, vm.id, int(call.params["deviceid"]))
        if found is None:
            raise InvalidParameterValue(
                f"deviceid: VM {vm.uuid} has no volume at device {call.params['deviceid']}"
            )
        volume = find_volume(session, call.ctx, found.uuid)
    attach.detach(session, volume, vm, secrets=_secrets(call))
    _event(call, "VOLUME.DETACH", f"Detached volume {volume.name} from VM {vm.name}", volume)
    return _answer(call, volume)


# ---- delete, resize, migrate ------------------------------------------------------------------


def _delete(call: Call) -> SuccessResult:
    volume = find_volume(call.session, call.ctx, call.params["id"])
    service.delete_volume(call.session, volume)
    _event(call, "VOLUME.DELETE", f"Deleted volume {volume.name}", volume)
    return SuccessResult()


def _resize(call: Call) -> ObjectResult:
    session = call.session
    if call.get("id") is None:
        raise InvalidParameterValue("id: please specify the volume to resize")
    volume = find_volume(session, call.ctx, call.params["id"])
    offering = None
    if call.get("diskofferingid") is not None:
        offering = disk_offering_for(session, call.ctx, call.get("diskofferingid"))
    before = volume.size
    service.resize(
        session,
        volume,
        offering=offering,
        size_gb=call.get("size"),
        shrink_ok=bool(call.get("shrinkok", False)),
        max_size_gb=max_volume_size_gb(call),
        factor=factor(call),
    )
    _event(
        call,
        "VOLUME.RESIZE",
        f"Resized volume {volume.name} from {before} to {volume.size} bytes",
        volume,
    )
    return _answer(call, volume)


def _migrate(call: Call) -> ObjectResult:
    session = call.session
    volume = find_volume(session, call.ctx, call.params["volumeid"], "volumeid")
    pool = find_pool(session, call.params["storageid"], "storageid")
    service.migrate(session, call.ctx, volume, pool, factor(call))
    _event(call, "VOLUME.MIGRATE", f"Migrated volume {volume.name} to pool {pool.name}", volume)
    return _answer(call, volume)


# ---- upload, extract ---------------------------------------------------------------------------


def _upload(call: Call) -> ObjectResult:
    session = call.session
    owner = owner_account(call.ctx, session, call.get("account"), call.get("domainid"))
    zone = find_zone(session, call.params["zoneid"])
    runtime = call.services.get("runtime")
    policy = AddressPolicy.read(runtime, session) if runtime is not None else AddressPolicy()
    upload = transfer.check_upload(
        call.ctx,
        owner,
        zone,
        name=call.params["name"],
        url=call.params["url"],
        format=call.params["format"],
        checksum=call.get("checksum"),
        policy=policy,
    )
    volume, ref, store = transfer.begin_upload(session, upload)
    path, volume_id = ref.install_path or "", volume.id
    session.commit()  # the upload shows as in progress while it downloads
    stored, error = transfer.download(store, path, upload.url, policy)
    volume, error = transfer.finish_upload(session, volume_id, store, stored, error)
    if error is not None:
        _event(
            call,
            "VOLUME.UPLOAD",
            f"Upload of volume {volume.name} failed: {error}",
            volume,
            level="ERROR",
        )
        session.commit()
        raise ResourceUnavailable(f"Upload of volume {volume.uuid} failed: {error}")
    _event(call, "VOLUME.UPLOAD", f"Uploaded volume {volume.name} ({volume.size} bytes)", volume)
    return _answer(call, volume)


def _extract(call: Call) -> ObjectResult:
    session = call.session
    volume = find_volume(session, call.ctx, call.params["id"])
    zone = find_zone(session, call.params["zoneid"])
    done = transfer.extract(session, volume, zone, call.params["mode"], call.get("url"))
    owner = session.get(Account, volume.account_id)
    row = volume_row(session, volume.id)
    _event(call, "VOLUME.EXTRACT", f"Extracted volume {volume.name} to {done.url}", volume)
    return ObjectResult(
        "volume",
        views.extract_fields(
            volume_uuid=volume.uuid,
            name=volume.name,
            extract_uuid=done.extract_uuid,
            account_uuid=owner.uuid if owner is not None else "",
            created=volume.created,
            zone_uuid=zone.uuid,
            zone_name=zone.name,
            mode=call.params["mode"].upper(),
            url=done.url,
            local=row.pool_scope == "HOST",
        ),
    )


# ---- listVolumes -------------------------------------------------------------------------------


def _internal(call: Call, param: str, finder: Any) -> int | None:
    value = call.get(param)
    return None if value is None else int(finder(call.session, value, param).id)


def _list(call: Call) -> ListResult:
    session = call.session
    internal = partial(_internal, call)
    volume_id = None
    if call.get("id") is not None:
        volume_id = find_volume(session, call.ctx, call.get("id"), "id").id
    vm_id = None
    if call.get("virtualmachineid") is not None:
        vm_id = find_vm(session, call.ctx, call.get("virtualmachineid"), "virtualmachineid").id
    where = VolumeFilter(
        scope=list_scope(call),
        id=volume_id,
        name=call.get("name"),
        volume_type=call.get("type"),
        zone_id=internal("zoneid", find_zone),
        pod_id=internal("podid", find_pod),
        host_id=internal("hostid", find_host),
        vm_id=vm_id,
        keyword=call.get("keyword"),
        nothing=call.get("projectid") is not None or bool(call.get("tags")),
    )
    rows, total = list_volumes(session, where, **paging(call))
    return ListResult(OBJECT, [views.volume_fields(row, call.ctx) for row in rows], total)


# ---- declarations ------------------------------------------------------------------------------

_COMMON = {
    "response_class": "VolumeResponse",
    "response_fields": views.VOLUME_FIELDS,
}

COMMANDS = (
    Command(
        name="createVolume",
        handler=_create,
        params=(
            Param(
                "account",
                description=(
                    "the account associated with the disk volume. Must be used with the domainId "
                    "parameter."
                ),
            ),
            Param(
                "projectid",
                ParamType.UUID,
                description=(
                    "the project associated with the volume. Mutually exclusive with account "
                    "parameter"
                ),
                entity="Project",
            ),
            Param(
                "domainid",
                ParamType.UUID,
                description=(
                    "the domain ID associated with the disk offering. If used with the account "
                    "parameter returns the disk volume associated with the account for the "
                    "specified domain."
                ),
                entity="Domain",
            ),
            Param(
                "diskofferingid",
                ParamType.UUID,
                description=(
                    "the ID of the disk offering. Either diskOfferingId or snapshotId must be "
                    "passed in."
                ),
                entity="DiskOffering",
            ),
            Param("name", description="the name of the disk volume", required=True),
            Param("size", ParamType.LONG, description="Arbitrary volume size"),
            Param(
                "snapshotid",
                ParamType.UUID,
                description=(
                    "the snapshot ID for the disk volume. Either diskOfferingId or snapshotId must "
                    "be passed in."
                ),
                entity="Snapshot",
            ),
            Param(
                "zoneid",
                ParamType.UUID,
                description="the ID of the availability zone",
                entity="Zone",
            ),
        ),
        roles=ALL_ROLES,
        is_async=True,
        response_name="createvolumeresponse",
        description=(
            "Creates a disk volume from a disk offering. This disk volume must still be attached to"
            " a virtual machine to make use of it."
        ),
        related=("uploadVolume", "detachVolume"),
        java_class=f"{_PACKAGE}.CreateVolumeCmd",
        create=_create_allocate,
        instance_type=RESOURCE,
        event_type="VOLUME.CREATE",
        **_COMMON,  # type: ignore[arg-type]
    ),
    Command(
        name="attachVolume",
        handler=_attach,
        params=(
            Param(
                "deviceid",
                ParamType.LONG,
                description=(
                    "the ID of the device to map the volume to within the guest OS. If no deviceId "
                    "is passed in, the next available deviceId will be chosen. Possible values for "
                    "a Linux OS are:* 1 - /dev/xvdb* 2 - /dev/xvdc* 4 - /dev/xvde* 5 - /dev/xvdf* 6"
                    " - /dev/xvdg* 7 - /dev/xvdh* 8 - /dev/xvdi* 9 - /dev/xvdj"
                ),
            ),
            Param(
                "id",
                ParamType.UUID,
                description="the ID of the disk volume",
                required=True,
                entity="Volume",
            ),
            Param(
                "virtualmachineid",
                ParamType.UUID,
                description="    the ID of the virtual machine",
                required=True,
                entity="UserVm",
            ),
        ),
        roles=ALL_ROLES,
        is_async=True,
        response_name="attachvolumeresponse",
        description="Attaches a disk volume to a virtual machine.",
        related=("uploadVolume", "detachVolume", "createVolume", "resizeVolume"),
        java_class=f"{_PACKAGE}.AttachVolumeCmd",
        instance_type=RESOURCE,
        event_type="VOLUME.ATTACH",
        **_COMMON,  # type: ignore[arg-type]
    ),
    Command(
        name="detachVolume",
        handler=_detach,
        params=(
            Param("id", ParamType.UUID, description="the ID of the disk volume", entity="Volume"),
            Param(
                "deviceid",
                ParamType.LONG,
                description="the device ID on the virtual machine where volume is detached from",
            ),
            Param(
                "virtualmachineid",
                ParamType.UUID,
                description="the ID of the virtual machine where the volume is detached from",
                entity="UserVm",
            ),
        ),
        roles=ALL_ROLES,
        is_async=True,
        response_name="detachvolumeresponse",
        description="Detaches a disk volume from a virtual machine.",
        java_class=f"{_PACKAGE}.DetachVolumeCmd",
        instance_type=RESOURCE,
        event_type="VOLUME.DETACH",
        **_COMMON,  # type: ignore[arg-type]
    ),
    Command(
        name="deleteVolume",
        handler=_delete,
        params=(
            Param(
                "id",
                ParamType.UUID,
                description="The ID of the disk volume",
                required=True,
                entity="Volume",
            ),
        ),
        roles=ALL_ROLES,
        response_name="deletevolumeresponse",
        response_class="SuccessResponse",
        response_fields=("success", "displaytext"),
        description="Deletes a detached disk volume.",
        java_class=f"{_PACKAGE}.DeleteVolumeCmd",
        event_type="VOLUME.DELETE",
    ),
    Command(
        name="resizeVolume",
        handler=_resize,
        params=(
            Param("id", ParamType.UUID, description="the ID of the disk volume", entity="Volume"),
            Param("size", ParamType.LONG, description="New volume size in G"),
            Param("shrinkok", ParamType.BOOLEAN, description="Verify OK to Shrink"),
            Param(
                "diskofferingid",
                ParamType.UUID,
                description="new disk offering id",
                entity="DiskOffering",
            ),
        ),
        roles=ALL_ROLES,
        is_async=True,
        response_name="resizevolumeresponse",
        description="Resizes a volume",
        related=("uploadVolume", "detachVolume", "createVolume"),
        java_class=f"{_PACKAGE}.ResizeVolumeCmd",
        instance_type=RESOURCE,
        event_type="VOLUME.RESIZE",
        **_COMMON,  # type: ignore[arg-type]
    ),
    Command(
        name="migrateVolume",
        handler=_migrate,
        params=(
            Param(
                "volumeid",
                ParamType.UUID,
                description="the ID of the volume",
                required=True,
                entity="Volume",
            ),
            Param(
                "storageid",
                ParamType.UUID,
                description="destination storage pool ID to migrate the volume to",
                required=True,
                entity="StoragePool",
            ),
        ),
        roles=ALL_ROLES,
        is_async=True,
        response_name="migratevolumeresponse",
        description="Migrate volume",
        since="3.0.0",
        related=("attachVolume", "uploadVolume", "detachVolume", "createVolume", "resizeVolume"),
        java_class=f"{_PACKAGE}.MigrateVolumeCmd",
        instance_type=RESOURCE,
        event_type="VOLUME.MIGRATE",
        **_COMMON,  # type: ignore[arg-type]
    ),
    Command(
        name="extractVolume",
        handler=_extract,
        params=(
            Param(
                "id",
                ParamType.UUID,
                description="the ID of the volume",
                required=True,
                entity="Volume",
            ),
            Param("url", description="the url to which the volume would be extracted"),
            Param(
                "zoneid",
                ParamType.UUID,
                description="the ID of the zone where the volume is located",
                required=True,
                entity="Zone",
            ),
            Param(
                "mode",
                description="the mode of extraction - HTTP_DOWNLOAD or FTP_UPLOAD",
                required=True,
            ),
        ),
        roles=ALL_ROLES,
        is_async=True,
        response_name="extractvolumeresponse",
        response_class="ExtractResponse",
        response_fields=views.EXTRACT_FIELDS,
        description="Extracts volume",
        related=("extractTemplate", "extractIso"),
        java_class=f"{_PACKAGE}.ExtractVolumeCmd",
        instance_type=RESOURCE,
        event_type="VOLUME.EXTRACT",
    ),
    Command(
        name="uploadVolume",
        handler=_upload,
        params=(
            Param(
                "format",
                description=(
                    "the format for the volume. Possible values include QCOW2, OVA, and VHD."
                ),
                required=True,
            ),
            Param("name", description="the name of the volume", required=True),
            Param(
                "url",
                description=(
                    "the URL of where the volume is hosted. Possible URL include http:// and "
                    "https://"
                ),
                required=True,
            ),
            Param(
                "zoneid",
                ParamType.UUID,
                description="the ID of the zone the volume is to be hosted on",
                required=True,
                entity="Zone",
            ),
            Param(
                "domainid",
                ParamType.UUID,
                description=(
                    "an optional domainId. If the account parameter is used, domainId must also be "
                    "used."
                ),
                entity="Domain",
            ),
            Param("account", description="an optional accountName. Must be used with domainId."),
            Param("checksum", description="the MD5 checksum value of this volume"),
        ),
        roles=ALL_ROLES,
        is_async=True,
        response_name="uploadvolumeresponse",
        description="Uploads a data disk.",
        related=("detachVolume",),
        java_class=f"{_PACKAGE}.UploadVolumeCmd",
        instance_type=RESOURCE,
        event_type="VOLUME.UPLOAD",
        **_COMMON,  # type: ignore[arg-type]
    ),
    Command(
        name="listVolumes",
        handler=_list,
        params=(
            Param(
                "hostid",
                ParamType.UUID,
                description="list volumes on specified host",
                entity="Host",
            ),
            Param("id", ParamType.UUID, description="the ID of the disk volume", entity="Volume"),
            Param("name", description="the name of the disk volume"),
            Param(
                "podid",
                ParamType.UUID,
                description="the pod id the disk volume belongs to",
                entity="Pod",
            ),
            Param("type", description="the type of disk volume"),
            Param(
                "virtualmachineid",
                ParamType.UUID,
                description="the ID of the virtual machine",
                entity="UserVm",
            ),
            Param(
                "zoneid",
                ParamType.UUID,
                description="the ID of the availability zone",
                entity="Zone",
            ),
            Param("tags", ParamType.MAP, description="List resources by tags (key/value pairs)"),
            Param(
                "projectid", ParamType.UUID, description="list objects by project", entity="Project"
            ),
            Param(
                "account",
                description="list resources by account. Must be used with the domainId parameter.",
            ),
            LISTALL,
            LIST_DOMAIN,
            ISRECURSIVE,
            *PAGING,
        ),
        roles=ALL_ROLES,
        response_name="listvolumesresponse",
        description="Lists all volumes.",
        related=(
            "attachVolume",
            "uploadVolume",
            "detachVolume",
            "createVolume",
            "migrateVolume",
            "resizeVolume",
        ),
        java_class=f"{_PACKAGE}.ListVolumesCmd",
        **_COMMON,  # type: ignore[arg-type]
    ),
)
