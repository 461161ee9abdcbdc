"""What a KVM host is: its identity, CPUs, memory and versions (``addHost``).

The guid is the host's libvirt UUID (``<capabilities><host><uuid>``, from SMBIOS or
``host_uuid`` in ``libvirtd.conf``) with 4.1's suffix, ``<uuid>-LibvirtComputingResource``:
the same machine reached by two URLs is the same host. Sockets are NUMA nodes x sockets
per node, cores every logical CPU, speed and memory libvirt's ``nodeinfo``.

The seed's minimum versions are checked (CAP-37 §40.1): libvirt 0.9.4 and QEMU 1.0; an
older host is refused with both versions in the message.
"""

from __future__ import annotations

import uuid as uuidlib
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

from cumulo.sdk import HostInfo, OperationFailed

GUID_SUFFIX = "-LibvirtComputingResource"
MIN_LIBVIRT = (0, 9, 4)
MIN_QEMU = (1, 0, 0)
_TEST_NAMESPACE = uuidlib.UUID("0b7e3a52-6c1d-4f0e-9a8b-5d2c4e6f7a81")


def version_tuple(number: int) -> tuple[int, int, int]:
    """libvirt's ``major * 1,000,000 + minor * 1,000 + release`` as a tuple."""
    return number // 1_000_000, (number // 1_000) % 1_000, number % 1_000


def version_text(version: tuple[int, int, int]) -> str:
    """``(7, 2, 0)`` → ``7.2.0``."""
    return ".".join(str(part) for part in version)


def check_versions(libvirt_version: int, qemu_version: int | None) -> None:
    """Refuse a host older than the seed's minimums (``qemu_version`` ``None``: the
    libvirt test driver, which has no QEMU).

    :raises OperationFailed: naming what is too old and what is needed.
    """
    found = version_tuple(libvirt_version)
    if found < MIN_LIBVIRT:
        raise OperationFailed(
            f"the host runs libvirt {version_text(found)}; cumulo needs libvirt"
            f" {version_text(MIN_LIBVIRT)} or later"
        )
    if qemu_version is not None and version_tuple(qemu_version) < MIN_QEMU:
        raise OperationFailed(
            f"the host runs QEMU {version_text(version_tuple(qemu_version))}; cumulo needs"
            f" QEMU {version_text(MIN_QEMU)} or later"
        )


@dataclass(frozen=True)
class Capabilities:
    """The parts of ``getCapabilities`` the driver uses.

    :param host_uuid: ``<host><uuid>`` (empty for the test driver).
    :param domain_types: domain types offered for x86_64 HVM guests (``kvm``, ``qemu``).
    """

    host_uuid: str
    domain_types: tuple[str, ...]


def capabilities(xml: str) -> Capabilities:
    """Read libvirt's capabilities XML."""
    root = ET.fromstring(xml)
    host_uuid = root.findtext("host/uuid", "").strip()
    types: list[str] = []
    for guest in root.findall("guest"):
        arch = guest.find("arch")
        if guest.findtext("os_type") != "hvm" or arch is None or arch.get("name") != "x86_64":
            continue
        types.extend(d.get("type", "") for d in arch.findall("domain"))
    return Capabilities(host_uuid, tuple(dict.fromkeys(t for t in types if t)))


def host_guid(caps: Capabilities, conn: Any) -> str:
    """The host's guid (module doc); a test-driver host, which has no UUID, gets one
    derived from its URI."""
    if caps.host_uuid:
        return f"{caps.host_uuid}{GUID_SUFFIX}"
    return f"{uuidlib.uuid5(_TEST_NAMESPACE, conn.getURI())}{GUID_SUFFIX}"


def discover(conn: Any) -> HostInfo:
    """The host behind ``conn`` (a libvirt connection); checks versions first.

    :raises OperationFailed: too old, or libvirt reports no CPU or memory.
    """
    is_qemu = conn.getType().upper() == "QEMU"
    qemu_version = conn.getVersion() if is_qemu else None
    check_versions(conn.getLibVersion(), qemu_version)
    caps = capabilities(conn.getCapabilities())
    _model, memory_mib, cpus, mhz, nodes, sockets, _cores, _threads = conn.getInfo()
    if cpus < 1 or memory_mib < 1 or mhz < 1:
        raise OperationFailed(
            f"libvirt reports {cpus} CPUs at {mhz} MHz and {memory_mib} MiB: not a usable host"
        )
    version = (
        version_text(version_tuple(qemu_version))
        if qemu_version is not None
        else f"test {version_text(version_tuple(conn.getVersion()))}"
    )
    return HostInfo(
        guid=host_guid(caps, conn),
        cpu_sockets=max(1, nodes * sockets),
        cpus=max(cpus, nodes * sockets),
        cpu_speed_mhz=int(mhz),
        memory_bytes=int(memory_mib) * 1024 * 1024,
        hypervisor_version=version,
        capabilities=("hvm", *caps.domain_types),
        name=conn.getHostname(),
    )
