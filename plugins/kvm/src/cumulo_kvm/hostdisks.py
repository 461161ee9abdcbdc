"""A VM's disks and CD-ROM as its host sees them: from the contract's names (a volume
on a pool named by uuid, an ISO on secondary storage) to the paths, devices or RBD names
libvirt needs.

A volume is looked up in the pool the storage driver defined on the host
(:mod:`cumulo_kvm.volumes`); an ISO is copied once into the pool of the VM's first disk
(named after its file, reused by later attachments), the way a template is: the host
never needs to reach secondary storage.
"""

from __future__ import annotations

from typing import Any

import libvirt  # type: ignore[import-untyped]

from cumulo.sdk import OperationFailed, StorageError, VolumeSpec
from cumulo.sdk.hypervisor import IsoSpec
from cumulo_kvm import volumes
from cumulo_kvm.domain_xml import DiskPlan, disk_target
from cumulo_kvm.images import probe_file
from cumulo_kvm.pool_xml import pool_facts
from cumulo_kvm.secondary import object_file


def _serial(volume_uuid: str) -> str:
    # 4.1 shows the volume's uuid, without dashes, as the disk's serial number (the
    # guest's /dev/disk/by-id names it).
    return volume_uuid.replace("-", "")[:20]


def _pool(conn: Any, pool_uuid: str) -> Any:
    pool = volumes.lookup_pool(conn, pool_uuid)
    if pool is None:
        raise OperationFailed(
            f"storage pool {pool_uuid} is not defined on host {conn.getHostname()}; it is"
            " defined on the hosts that were Up when the pool was added or first used"
        )
    if not pool.isActive():
        pool.create(0)
    return pool


def disk_plan(conn: Any, volume: VolumeSpec, device_id: int) -> DiskPlan:
    """How the host reaches ``volume``, as disk ``device_id``.

    A volume without a pool is a path on the host used as it is (a disk prepared by
    hand, or the libvirt test driver's imaginary files).

    :raises OperationFailed: the pool is not on the host, or the volume not on the pool.
    """
    target = disk_target(device_id)
    serial = _serial(volume.uuid)
    if not volume.pool_uuid:
        fmt = "qcow2" if volume.path.endswith(".qcow2") else "raw"
        return DiskPlan(target, "file", volume.path, fmt, serial)
    pool = _pool(conn, volume.pool_uuid)
    found = volumes.lookup_volume(pool, volume.path)
    if found is None:
        raise OperationFailed(f"volume {volume.path} is not on storage pool {volume.pool_uuid}")
    described = pool_facts(pool.XMLDesc(0))
    vol = volumes.facts(found)
    if described.pool_type == "logical":
        return DiskPlan(target, "block", vol.path, "raw", serial)
    if described.pool_type == "rbd":
        return DiskPlan(
            target,
            "network",
            f"{described.source_name}/{volume.path}",
            "raw",
            serial,
            hosts=described.hosts,
            auth_user=described.auth_user,
            secret_uuid=described.secret_uuid,
        )
    return DiskPlan(target, "file", vol.path, vol.format, serial)


def matches(plan: DiskPlan, source: str) -> bool:
    """``source`` (a live disk's) is the disk ``plan`` describes."""
    return bool(source) and source == plan.source


def iso_path(conn: Any, iso: IsoSpec, pool_uuid: str) -> str:
    """The ISO's path on the host: a copy in pool ``pool_uuid`` (a file-based pool).

    :raises OperationFailed: no such ISO on secondary storage, or the pool is not
        file-based.
    """
    pool = _pool(conn, pool_uuid)
    if not volumes.file_based(pool):
        raise OperationFailed(f"ISOs need a file-based primary storage pool; {pool_uuid} is not")
    try:
        local = object_file(iso.url)
        image = probe_file(local)
        copy = volumes.upload(conn, pool, volumes.volume_name_for(iso.url), local, image)
    except StorageError as exc:
        raise OperationFailed(f"ISO {iso.uuid}: {exc}") from exc
    return str(copy.path())


def pool_of_path(conn: Any, path: str) -> str:
    """The uuid of the pool holding the volume at ``path`` on the host.

    :raises OperationFailed: no pool holds it.
    """
    try:
        return str(conn.storageVolLookupByPath(path).storagePoolLookupByVolume().UUIDString())
    except libvirt.libvirtError as exc:
        raise OperationFailed(f"no storage pool of the host holds {path}") from exc
