"""VMDKs on datastores: creating, attaching, detaching, copying and deleting them, and
finding the port group a NIC goes on.

Disks are plain VMDK files named by their datastore path (``[LocalDS_0] cumulo/x.vmdk``)
and handled through the ``VirtualDiskManager`` (create, copy, delete), so a volume
outlives the VM it is attached to.
"""

from __future__ import annotations

from typing import Any

from cumulo.sdk import OperationFailed, SnapshotInfo, VolumeSpec
from cumulo_vmware import vmconfig
from cumulo_vmware.vcenter import ClusterUrl, MissingFile, collect, host_vms, wait_for
from cumulo_vmware.vmomi import vim

SNAPSHOT_FOLDER = "cumulo-snapshots"


def default_datastore(instance: Any, system: Any) -> str:
    """The name of the host's first datastore, for VM files and path-less volumes."""
    stores = collect(instance, [system], vim.HostSystem, ["datastore"]).get(system._moId, {})
    names = collect(instance, list(stores.get("datastore", [])), vim.Datastore, ["name"])
    if not names:
        raise OperationFailed(f"host {system._moId} has no datastore")
    return str(sorted(names.items())[0][1]["name"])


def disk_exists(instance: Any, datacenter: Any, path: str) -> bool:
    """Whether the VMDK ``path`` exists (``QueryVirtualDiskUuid`` answers for it)."""
    try:
        instance.content.virtualDiskManager.QueryVirtualDiskUuid(path, datacenter)
    except vim.fault.FileNotFound:
        return False
    return True


def ensure_disk(instance: Any, datacenter: Any, path: str, size_bytes: int) -> None:
    """Create a thin VMDK of ``size_bytes`` at ``path`` unless it exists (its folder
    too): a retried start finds the disk a first try made."""
    if disk_exists(instance, datacenter, path):
        return
    folder = path.rsplit("/", 1)[0] if "/" in path else ""
    if folder:
        instance.content.fileManager.MakeDirectory(folder, datacenter, True)
    spec = vim.VirtualDiskManager.FileBackedVirtualDiskSpec(
        diskType="thin", adapterType="lsiLogic", capacityKb=max(1, size_bytes // 1024)
    )
    task = instance.content.virtualDiskManager.CreateVirtualDisk_Task(path, datacenter, spec)
    wait_for(instance, task, f"creating disk {path}")


def delete_disk(instance: Any, datacenter: Any, path: str) -> None:
    """Delete the VMDK; a missing one is deleted already."""
    task = instance.content.virtualDiskManager.DeleteVirtualDisk_Task(path, datacenter)
    try:
        wait_for(instance, task, f"deleting disk {path}")
    except MissingFile:
        return


def copy_disk(instance: Any, datacenter: Any, source: str, target: str) -> None:
    """Copy a VMDK, replacing a half-written ``target`` of an earlier try."""
    folder = target.rsplit("/", 1)[0] if "/" in target else ""
    if folder:
        instance.content.fileManager.MakeDirectory(folder, datacenter, True)
    manager = instance.content.virtualDiskManager
    task = manager.CopyVirtualDisk_Task(source, datacenter, target, datacenter, None, True)
    try:
        wait_for(instance, task, f"copying disk {source} to {target}")
    except MissingFile:
        # A single-file disk (a template's VMDK uploaded from an OVA has no ``-flat``
        # extent): copy it as a file.
        files = instance.content.fileManager
        task = files.CopyDatastoreFile_Task(source, datacenter, target, datacenter, True)
        wait_for(instance, task, f"copying disk file {source} to {target}")


def find_network(instance: Any, system: Any, name: str) -> Any:
    """The network (standard port group or distributed port group) called ``name``
    that the host is connected to.

    :raises OperationFailed: the host has no such port group (the message lists the
        ones it has, so the traffic label can be fixed).
    """
    networks = collect(instance, [system], vim.HostSystem, ["network"]).get(system._moId, {})
    candidates = list(networks.get("network", []))
    names = collect(instance, candidates, vim.Network, ["name"])
    for network in candidates:
        if names.get(network._moId, {}).get("name") == name:
            return network
    known = sorted(str(p.get("name")) for p in names.values())
    raise OperationFailed(
        f"host {system._moId} has no port group {name!r} (it has {', '.join(known)}); check"
        " the zone's traffic label or vmware.management.portgroup"
    )


def _disks(vm: Any) -> list[Any]:
    return [d for d in vm.config.hardware.device if isinstance(d, vim.vm.device.VirtualDisk)]


def _controller_key(vm: Any) -> int:
    for device in vm.config.hardware.device:
        if isinstance(device, vim.vm.device.VirtualSCSIController):
            return int(device.key)
    raise OperationFailed(f"VM {vm.name} has no SCSI controller")


def attach(
    instance: Any, datacenter: Any, vm: Any, volume: VolumeSpec, datastore: str, what: str
) -> int:
    """Attach the volume's VMDK to ``vm`` (creating the file if new); attaching an
    attached volume returns its unit number again."""
    path = vmconfig.disk_path(volume, datastore)
    controller = _controller_key(vm)
    current = _disks(vm)
    for disk in current:
        if disk.backing.fileName == path:
            return int(disk.unitNumber)
    ensure_disk(instance, datacenter, path, volume.size_bytes)
    taken = [int(d.unitNumber) for d in current if d.controllerKey == controller]
    wanted = volume.device_id
    if wanted is not None and wanted not in taken and wanted != vmconfig.RESERVED_SCSI_UNIT:
        unit = wanted
    else:
        unit = vmconfig.disk_units(1, taken)[0]
    change = vmconfig.disk_device(path, volume.size_bytes, unit, controller)
    wait_for(instance, vm.ReconfigVM_Task(vim.vm.ConfigSpec(deviceChange=[change])), what)
    return unit


def detach(instance: Any, vm: Any, path: str, what: str) -> None:
    """Remove the disk backed by ``path`` from ``vm``, keeping the file; absent: no-op."""
    for disk in _disks(vm):
        if disk.backing.fileName == path:
            change = vim.vm.device.VirtualDeviceSpec(
                operation=vim.vm.device.VirtualDeviceSpec.Operation.remove, device=disk
            )
            wait_for(instance, vm.ReconfigVM_Task(vim.vm.ConfigSpec(deviceChange=[change])), what)
            return


def _user_of(instance: Any, where: ClusterUrl, path: str) -> Any | None:
    # The VM on the host whose disk is ``path``.
    for mor, props in host_vms(instance, where, ["config.hardware.device"]).items():
        for device in props.get("config.hardware.device") or []:
            if isinstance(device, vim.vm.device.VirtualDisk) and device.backing.fileName == path:
                return vim.VirtualMachine(mor, instance._stub)
    return None


def snapshot(
    instance: Any, datacenter: Any, where: ClusterUrl, path: str, name: str
) -> SnapshotInfo:
    """Copy ``path`` to ``[<its datastore>] cumulo-snapshots/<name>.vmdk``. If a VM on
    the host uses the disk, a VM snapshot is taken first (the base VMDK becomes
    read-only while the copy runs) and removed after."""
    if not disk_exists(instance, datacenter, path):
        raise OperationFailed(f"snapshotting {path}: the disk does not exist")
    target = f"[{vmconfig.datastore_of(path)}] {SNAPSHOT_FOLDER}/{name}.vmdk"
    user = _user_of(instance, where, path)
    taken = None
    if user is not None:
        task = user.CreateSnapshot_Task(f"cumulo-{name}", "volume snapshot", False, False)
        taken = wait_for(instance, task, f"snapshotting VM {user.name}")
    try:
        copy_disk(instance, datacenter, path, target)
    finally:
        if taken is not None and user is not None:
            wait_for(instance, taken.RemoveSnapshot_Task(False), f"consolidating {user.name}")
    return SnapshotInfo(path=target, size_bytes=file_size(instance, datacenter, target))


def file_size(instance: Any, datacenter: Any, path: str) -> int:
    """The bytes a VMDK occupies (descriptor plus extent), from a datastore search; 0
    when the datastore does not say."""
    store = vmconfig.datastore_of(path)
    folder, _, name = path.partition("] ")[2].rpartition("/")
    datastores = [d for d in datacenter.datastore if d.name == store]
    if not datastores:
        return 0
    spec = vim.host.DatastoreBrowser.SearchSpec(
        matchPattern=[name.removesuffix(".vmdk") + "*"],
        details=vim.host.DatastoreBrowser.FileInfo.Details(fileSize=True),
    )
    browser = datastores[0].browser
    result = wait_for(
        instance, browser.SearchDatastore_Task(f"[{store}] {folder}", spec), f"sizing {path}"
    )
    return sum(int(f.fileSize or 0) for f in (result.file or []))
