"""libvirt domain XML for a VM, rendered from plain values (no libvirt needed).

:class:`DomainPlan` is what the driver resolved on the host (disk sources from the
storage pools, bridges from traffic labels and host options, a free VNC port);
:func:`render` turns it into the ``<domain>`` document libvirt starts. The layout is
4.1's KVM agent's: virtio disks ``vda``, ``vdb`` ... by device id, the CD-ROM as ``hdc``
on IDE, virtio NICs on bridges (Open vSwitch ports with a VLAN tag when the host uses
Open vSwitch), VNC on all addresses with the VM's password, a serial console whose
output is also written to a log file (QEMU drops a pty's output while nobody reads
it), CPU shares of ``vCPUs x MHz`` so that a VM's share of a busy host follows its
offering's speed.
"""

from __future__ import annotations

import string
import xml.etree.ElementTree as ET
from dataclasses import dataclass

KIB = 1024
VNC_PORT_MIN = 5900
VNC_PORT_MAX = 6100
"""The console ports of KVM hosts (the seed's host firewall table, §40.5)."""
SERIAL_LOG_DIR = "/var/log/libvirt/qemu"
CDROM_TARGET = "hdc"
VNC_PASSWORD_LENGTH = 8


@dataclass(frozen=True)
class DiskPlan:
    """One disk as the host sees it.

    :param target: ``vda``, ``vdb`` ... (see :func:`disk_target`).
    :param kind: ``file`` (a path), ``block`` (a device: CLVM) or ``network`` (RBD).
    :param source: the path, the device, or the RBD ``pool/image`` name.
    :param format: ``qcow2`` or ``raw``.
    :param serial: the serial number the guest sees (the volume uuid, shortened).
    :param hosts: RBD monitors as ``(name, port)``.
    :param auth_user: RBD cephx user, with ``secret_uuid`` the libvirt secret.
    """

    target: str
    kind: str
    source: str
    format: str = "qcow2"
    serial: str = ""
    hosts: tuple[tuple[str, int], ...] = ()
    auth_user: str = ""
    secret_uuid: str = ""


@dataclass(frozen=True)
class NicPlan:
    """One NIC: its MAC, the bridge it plugs into, and the VLAN tag if any.

    On a native Linux bridge libvirt cannot tag; the VLAN is already the bridge's
    (see :func:`cumulo_kvm.networks.nic_plans`). On Open vSwitch the port is tagged.
    """

    mac: str
    bridge: str
    vlan: int | None = None
    openvswitch: bool = False
    model: str = "virtio"


@dataclass(frozen=True)
class DomainPlan:
    """Everything :func:`render` needs.

    :param domain_type: ``kvm`` or ``qemu``.
    :param memory_bytes: rounded down to KiB.
    :param cpu_shares: the relative CPU weight (``vCPUs x MHz``).
    :param cdrom: the ISO path in the CD-ROM drive, ``""`` for an empty drive (always
        present, so an ISO can be inserted while the VM runs).
    :param boot_cdrom: boot from the CD-ROM before the disk (an ISO deployment).
    :param vnc_port: the console port, in ``[5900, 6100]``.
    :param serial_log: where the serial console's output is written.
    """

    name: str
    uuid: str
    domain_type: str
    memory_bytes: int
    vcpus: int
    cpu_shares: int
    disks: tuple[DiskPlan, ...]
    nics: tuple[NicPlan, ...]
    vnc_port: int
    vnc_password: str = ""
    vnc_listen: str = "0.0.0.0"
    cdrom: str = ""
    boot_cdrom: bool = False
    description: str = ""
    serial_log: str = ""


def disk_target(device_id: int) -> str:
    """``vda`` for device 0, ``vdb`` for 1 ... ``vdz``, then ``vdaa`` (libvirt's naming)."""
    if device_id < 0:
        raise ValueError(f"a device id is not negative: {device_id}")
    letters = string.ascii_lowercase
    name, n = "", device_id + 1
    while n:
        n, rest = divmod(n - 1, 26)
        name = letters[rest] + name
    return f"vd{name}"


def device_id_of(target: str) -> int | None:
    """The device id of a ``vd*`` target (inverse of :func:`disk_target`)."""
    if not target.startswith("vd") or len(target) < 3 or not target[2:].isalpha():
        return None
    n = 0
    for letter in target[2:]:
        n = n * 26 + (ord(letter) - ord("a") + 1)
    return n - 1


def serial_log_path(name: str) -> str:
    """Where the serial console of VM ``name`` is logged on its host."""
    return f"{SERIAL_LOG_DIR}/{name}-serial.log"


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attributes)
    if text is not None:
        element.text = text
    return element


def disk_element(disk: DiskPlan) -> ET.Element:
    """The ``<disk>`` of one volume (also what hot-plugging it sends)."""
    element = ET.Element("disk", {"type": disk.kind, "device": "disk"})
    _sub(element, "driver", name="qemu", type=disk.format, cache="none")
    if disk.kind == "file":
        _sub(element, "source", file=disk.source)
    elif disk.kind == "block":
        _sub(element, "source", dev=disk.source)
    elif disk.kind == "network":
        source = _sub(element, "source", protocol="rbd", name=disk.source)
        for name, port in disk.hosts:
            _sub(source, "host", name=name, port=str(port))
        if disk.auth_user:
            auth = _sub(element, "auth", username=disk.auth_user)
            _sub(auth, "secret", type="ceph", uuid=disk.secret_uuid)
    else:
        raise ValueError(f"unknown disk kind {disk.kind!r}")
    _sub(element, "target", dev=disk.target, bus="virtio")
    if disk.serial:
        _sub(element, "serial", disk.serial[:20])
    return element


def cdrom_element(path: str) -> ET.Element:
    """The IDE CD-ROM drive, holding ``path`` or empty (also what a media change sends)."""
    element = ET.Element("disk", {"type": "file", "device": "cdrom"})
    _sub(element, "driver", name="qemu", type="raw")
    if path:
        _sub(element, "source", file=path)
    _sub(element, "target", dev=CDROM_TARGET, bus="ide")
    _sub(element, "readonly")
    return element


def nic_element(nic: NicPlan) -> ET.Element:
    """The ``<interface>`` of one NIC."""
    element = ET.Element("interface", {"type": "bridge"})
    _sub(element, "mac", address=nic.mac)
    _sub(element, "source", bridge=nic.bridge)
    if nic.openvswitch:
        _sub(element, "virtualport", type="openvswitch")
        if nic.vlan is not None:
            vlan = _sub(element, "vlan")
            _sub(vlan, "tag", id=str(nic.vlan))
    _sub(element, "model", type=nic.model)
    return element


def render(plan: DomainPlan) -> str:
    """The ``<domain>`` document of ``plan``.

    :raises ValueError: the VNC port is outside 5900-6100, or there are no vCPUs.
    """
    if not VNC_PORT_MIN <= plan.vnc_port <= VNC_PORT_MAX:
        raise ValueError(f"VNC port {plan.vnc_port} is outside {VNC_PORT_MIN}-{VNC_PORT_MAX}")
    if plan.vcpus < 1:
        raise ValueError("a VM needs at least one vCPU")
    domain = ET.Element("domain", {"type": plan.domain_type})
    _sub(domain, "name", plan.name)
    if plan.uuid:
        _sub(domain, "uuid", plan.uuid)
    if plan.description:
        _sub(domain, "description", plan.description)
    memory = str(plan.memory_bytes // KIB)
    _sub(domain, "memory", memory, unit="KiB")
    _sub(domain, "currentMemory", memory, unit="KiB")
    _sub(domain, "vcpu", str(plan.vcpus), placement="static")
    tune = _sub(domain, "cputune")
    _sub(tune, "shares", str(max(2, plan.cpu_shares)))  # the kernel's minimum weight
    os = _sub(domain, "os")
    _sub(os, "type", "hvm", arch="x86_64")
    if plan.boot_cdrom:
        _sub(os, "boot", dev="cdrom")
    _sub(os, "boot", dev="hd")
    features = _sub(domain, "features")
    for feature in ("acpi", "apic", "pae"):
        _sub(features, feature)
    _sub(domain, "clock", offset="utc")
    _sub(domain, "on_poweroff", "destroy")
    _sub(domain, "on_reboot", "restart")
    _sub(domain, "on_crash", "destroy")
    devices = _sub(domain, "devices")
    devices.extend(disk_element(disk) for disk in plan.disks)
    devices.append(cdrom_element(plan.cdrom))
    devices.extend(nic_element(nic) for nic in plan.nics)
    serial = _sub(devices, "serial", type="pty")
    _sub(serial, "log", file=plan.serial_log or serial_log_path(plan.name), append="off")
    _sub(serial, "target", port="0")
    console = _sub(devices, "console", type="pty")
    _sub(console, "target", type="serial", port="0")
    graphics = {"type": "vnc", "port": str(plan.vnc_port), "autoport": "no"}
    graphics["listen"] = plan.vnc_listen
    if plan.vnc_password:
        # VNC authentication keys DES with the first 8 characters: libvirt refuses
        # more, and a console proxy sending the whole password is cut the same way.
        graphics["passwd"] = plan.vnc_password[:VNC_PASSWORD_LENGTH]
    _sub(devices, "graphics", **graphics)
    _sub(devices, "input", type="tablet", bus="usb")
    _sub(devices, "memballoon", model="virtio")
    return ET.tostring(domain, encoding="unicode")


def to_xml(element: ET.Element) -> str:
    """An element as a string (device XML for hot-plug calls)."""
    return ET.tostring(element, encoding="unicode")


@dataclass(frozen=True)
class LiveDisk:
    """A disk of a domain as libvirt describes it: its target, device kind (``disk`` or
    ``cdrom``), source (path, device or RBD name; ``""`` when empty) and its XML."""

    target: str
    device: str
    source: str
    xml: str


@dataclass(frozen=True)
class LiveDomain:
    """What the driver reads back from a domain's XML."""

    disks: tuple[LiveDisk, ...]
    vnc_port: int | None
    vnc_password: str = ""


def read_domain(xml: str) -> LiveDomain:
    """Read a domain's XML (``virDomainGetXMLDesc``)."""
    root = ET.fromstring(xml)
    disks = []
    for disk in root.findall("devices/disk"):
        target = disk.find("target")
        source = disk.find("source")
        found = ""
        if source is not None:
            found = source.get("file") or source.get("dev") or source.get("name") or ""
        disks.append(
            LiveDisk(
                target=target.get("dev", "") if target is not None else "",
                device=disk.get("device", "disk"),
                source=found,
                xml=ET.tostring(disk, encoding="unicode"),
            )
        )
    port: int | None = None
    password = ""
    graphics = root.find("devices/graphics[@type='vnc']")
    if graphics is not None:
        text = graphics.get("port", "")
        port = int(text) if text.lstrip("-").isdigit() and int(text) > 0 else None
        password = graphics.get("passwd", "")
    return LiveDomain(tuple(disks), port, password)


def with_vnc_port(xml: str, port: int) -> str:
    """``xml`` (a domain) with its VNC console moved to ``port`` (a migration's
    destination XML)."""
    root = ET.fromstring(xml)
    for graphics in root.findall("devices/graphics[@type='vnc']"):
        graphics.set("port", str(port))
        graphics.set("autoport", "no")
    return ET.tostring(root, encoding="unicode")
