"""Building a vSphere VM configuration from a :class:`~cumulo.sdk.VmSpec`.

Pure functions (no vCenter call), so the mapping is readable and testable on its own:

- CPU and memory: ``numCPUs``, ``memoryMB``; the CPU limit is vCPUs x the offering's
  MHz (the offering's speed is what the tenant pays for);
- disks on one SCSI controller (``rootDiskController`` in the VM's details: ``scsi``
  (LSI Logic, default), ``lsisas``, ``pvscsi``; IDE is not offered), unit 7 skipped
  (the controller's own), each backed by an existing VMDK (volumes are created on the
  datastore before, see :func:`disk_path`);
- NICs (``nicAdapter`` detail: ``Vmxnet3`` (default) or ``E1000``) with the MAC the
  management server chose, on the port group :func:`port_group` names;
- the VM's public uuid and the VNC console in ``extraConfig``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cumulo.sdk import NicSpec, OperationFailed, VmSpec, VolumeSpec
from cumulo_vmware.vmomi import vim

UUID_KEY = "cumulo.vm.uuid"
VNC_PORT_KEY = "RemoteDisplay.vnc.port"
SCSI_KEY = 1000
RESERVED_SCSI_UNIT = 7
VOLUME_FOLDER = "cumulo"
DEFAULT_PORT_GROUP = "VM Network"
PORT_GROUP_DETAIL = "vmware.management.portgroup"
"""The VM detail naming the port group of NICs without a VLAN (4.1's configuration key
of the same name; the management server passes the zone's traffic label or it)."""

_CONTROLLERS: Mapping[str, type] = {
    "scsi": vim.vm.device.VirtualLsiLogicController,
    "lsilogic": vim.vm.device.VirtualLsiLogicController,
    "lsisas": vim.vm.device.VirtualLsiLogicSASController,
    "pvscsi": vim.vm.device.ParaVirtualSCSIController,
}
_ADAPTERS: Mapping[str, type] = {
    "vmxnet3": vim.vm.device.VirtualVmxnet3,
    "e1000": vim.vm.device.VirtualE1000,
}


def disk_path(volume: VolumeSpec, datastore: str) -> str:
    """The datastore path of a volume's VMDK: its ``path`` when it already is one
    (``[LocalDS_0] cumulo/ROOT-12.vmdk``, what the storage driver returns), else a file
    of that name in the ``cumulo`` folder of ``datastore``."""
    if volume.path.startswith("["):
        return volume.path
    name = volume.path if volume.path.endswith(".vmdk") else f"{volume.path}.vmdk"
    return f"[{datastore}] {VOLUME_FOLDER}/{name}"


def datastore_of(path: str) -> str:
    """``LocalDS_0`` of ``[LocalDS_0] cumulo/x.vmdk``."""
    return path[1 : path.index("]")] if path.startswith("[") and "]" in path else ""


def port_group(nic: NicSpec, details: Mapping[str, str]) -> str:
    """The port group of a NIC: ``<label>.<vlan>`` for a tagged VLAN (a port group per
    VLAN, as 4.1 names the ones it creates on a standard vSwitch), else the label."""
    label = details.get(PORT_GROUP_DETAIL) or DEFAULT_PORT_GROUP
    vlan = nic.broadcast_uri.removeprefix("vlan://") if nic.broadcast_uri else ""
    if vlan and vlan.isdigit():
        return f"{label}.{vlan}"
    return label


def controller_type(details: Mapping[str, str]) -> type:
    """The SCSI controller class the VM's ``rootDiskController`` detail asks for."""
    wanted = details.get("rootDiskController", "scsi").lower()
    try:
        return _CONTROLLERS[wanted]
    except KeyError:
        raise OperationFailed(
            f"rootDiskController {wanted!r} is not supported on VMware"
            f" (use one of {', '.join(sorted(_CONTROLLERS))})"
        ) from None


def disk_units(count: int, taken: Sequence[int] = ()) -> list[int]:
    """``count`` free SCSI unit numbers, in order, skipping the controller's unit 7."""
    units: list[int] = []
    unit = 0
    while len(units) < count:
        if unit != RESERVED_SCSI_UNIT and unit not in taken:
            units.append(unit)
        unit += 1
    if units and units[-1] > 15:
        raise OperationFailed("a VMware SCSI controller holds at most 15 disks")
    return units


def disk_device(path: str, size_bytes: int, unit: int, controller_key: int) -> Any:
    """A spec that adds the existing VMDK ``path`` at ``unit`` of the controller."""
    disk = vim.vm.device.VirtualDisk(
        key=-(100 + unit),
        controllerKey=controller_key,
        unitNumber=unit,
        capacityInKB=max(1, size_bytes // 1024),
        backing=vim.vm.device.VirtualDisk.FlatVer2BackingInfo(
            fileName=path, diskMode="persistent", thinProvisioned=True
        ),
    )
    return vim.vm.device.VirtualDeviceSpec(
        operation=vim.vm.device.VirtualDeviceSpec.Operation.add, device=disk
    )


def nic_device(nic: NicSpec, network: Any, details: Mapping[str, str]) -> Any:
    """A spec that adds ``nic`` with its MAC, connected to ``network``."""
    adapter = details.get("nicAdapter", "vmxnet3").lower()
    cls = _ADAPTERS.get(adapter)
    if cls is None:
        raise OperationFailed(f"nicAdapter {adapter!r} is not supported on VMware")
    if isinstance(network, vim.dvs.DistributedVirtualPortgroup):
        backing: Any = vim.vm.device.VirtualEthernetCard.DistributedVirtualPortBackingInfo(
            port=vim.dvs.PortConnection(
                portgroupKey=network.key,
                switchUuid=network.config.distributedVirtualSwitch.uuid,
            )
        )
    else:
        backing = vim.vm.device.VirtualEthernetCard.NetworkBackingInfo(
            deviceName=network.name, network=network
        )
    card = cls(
        key=-(200 + nic.device_id),
        addressType="manual" if nic.mac_address else "generated",
        macAddress=nic.mac_address or None,
        backing=backing,
        connectable=vim.vm.device.VirtualDevice.ConnectInfo(
            startConnected=True, allowGuestControl=True, connected=True
        ),
    )
    return vim.vm.device.VirtualDeviceSpec(
        operation=vim.vm.device.VirtualDeviceSpec.Operation.add, device=card
    )


def config_spec(
    spec: VmSpec,
    datastore: str,
    disks: Sequence[str],
    networks: Sequence[Any],
    vnc_port: int,
) -> Any:
    """The ``VirtualMachineConfigSpec`` that creates ``spec``.

    :param datastore: where the VM's own files (``.vmx``) go.
    :param disks: the datastore path of each of ``spec.volumes`` (same order).
    :param networks: the network object of each of ``spec.nics`` (same order).
    :param vnc_port: the VNC port on the ESXi host.
    """
    controller = controller_type(spec.details)(
        key=SCSI_KEY, busNumber=0, sharedBus=vim.vm.device.VirtualSCSIController.Sharing.noSharing
    )
    changes = [
        vim.vm.device.VirtualDeviceSpec(
            operation=vim.vm.device.VirtualDeviceSpec.Operation.add, device=controller
        )
    ]
    units = disk_units(len(spec.volumes))
    for volume, path, unit in zip(spec.volumes, disks, units, strict=True):
        changes.append(disk_device(path, volume.size_bytes, unit, SCSI_KEY))
    for nic, network in zip(spec.nics, networks, strict=True):
        changes.append(nic_device(nic, network, spec.details))
    extra = [
        vim.option.OptionValue(key=UUID_KEY, value=spec.uuid),
        vim.option.OptionValue(key="RemoteDisplay.vnc.enabled", value="true"),
        vim.option.OptionValue(key=VNC_PORT_KEY, value=str(vnc_port)),
    ]
    if spec.vnc_password:
        extra.append(
            vim.option.OptionValue(key="RemoteDisplay.vnc.password", value=spec.vnc_password)
        )
    return vim.vm.ConfigSpec(
        name=spec.name,
        numCPUs=spec.cpus,
        memoryMB=max(4, spec.memory_bytes // 1024**2),
        guestId=spec.details.get("vmware.guest.id", "otherGuest64"),
        annotation=f"cumulo instance {spec.uuid}",
        files=vim.vm.FileInfo(vmPathName=f"[{datastore}]"),
        cpuAllocation=vim.ResourceAllocationInfo(limit=spec.cpus * spec.cpu_speed_mhz),
        deviceChange=changes,
        extraConfig=extra,
    )
