"""libvirt storage pool, volume and secret XML for primary storage (no libvirt needed).

A cumulo pool is a libvirt pool on each host that uses it, named and identified by the
pool's uuid (as 4.1's KVM agent did), so any host finds it with
``storagePoolLookupByUUIDString``:

==============================  ==========  ============================================
pool URL                        libvirt     on the host
==============================  ==========  ============================================
``nfs://server/export``         ``netfs``   mounted on ``/mnt/<pool uuid>``
``SharedMountPoint:///path``    ``dir``     the path, mounted alike on every host
                                            (REQ-KVM-07)
``filesystem:///path``          ``dir``     host-local storage
``clvm:///volume-group``        ``logical`` the clustered volume group, already created
``rbd://user:key@monitor/pool`` ``rbd``     the Ceph pool; the cephx key in a private
                                            libvirt secret
==============================  ==========  ============================================

File-based pools hold qcow2 volumes (a root disk is a qcow2 overlay on its template's
copy in the pool); LVM and RBD volumes are raw.
"""

from __future__ import annotations

import uuid as uuidlib
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from cumulo.sdk import InvalidStorageUrl, StorageUrl

NFS_MOUNT_ROOT = "/mnt"
FILE_POOL_TYPES = frozenset({"dir", "netfs", "fs"})
_SECRET_NAMESPACE = uuidlib.UUID("6f1c2a4e-9d3b-4b8e-a7c5-2e0f1d3c4b5a")

_PRIMARY_SCHEMES = {
    "nfs": "netfs",
    "sharedmountpoint": "dir",
    "filesystem": "dir",
    "file": "dir",
    "clvm": "logical",
    "rbd": "rbd",
}


@dataclass(frozen=True)
class PoolSource:
    """A primary pool URL read for libvirt.

    :param pool_type: libvirt's pool type (``netfs``, ``dir``, ``logical``, ``rbd``).
    :param host: the NFS server or Ceph monitor.
    :param port: the Ceph monitor's port.
    :param path: the export, directory, volume group or Ceph pool name.
    :param user: the cephx user, when the URL carries one.
    :param secret: its key (base64), when the URL carries one.
    """

    pool_type: str
    host: str
    path: str
    port: int | None = None
    user: str = ""
    secret: str = ""

    @property
    def file_based(self) -> bool:
        """Volumes are files (qcow2 allowed)."""
        return self.pool_type in FILE_POOL_TYPES


def pool_source(url: str) -> PoolSource:
    """Read a primary storage URL (module doc).

    :raises InvalidStorageUrl: a scheme KVM cannot use, or a missing server or path.
    """
    parsed = StorageUrl.parse(url)
    pool_type = _PRIMARY_SCHEMES.get(parsed.scheme)
    if pool_type is None:
        raise InvalidStorageUrl(
            f"url scheme {parsed.scheme!r} is not a KVM primary storage protocol; use nfs://,"
            " SharedMountPoint://, clvm://, rbd:// or filesystem://"
        )
    path = parsed.path.rstrip("/") or ""
    if pool_type in ("netfs", "rbd") and not parsed.host:
        raise InvalidStorageUrl(f"url {url!r} names no server")
    if not path.strip("/"):
        raise InvalidStorageUrl(f"url {url!r} has no path")
    if pool_type in ("logical", "rbd"):
        path = path.strip("/")
        if "/" in path:
            raise InvalidStorageUrl(f"url {url!r}: one volume group or Ceph pool name is expected")
    user = secret = ""
    if pool_type == "rbd":
        parts = urlsplit(url.strip())
        user, secret = unquote(parts.username or ""), unquote(parts.password or "")
    return PoolSource(pool_type, parsed.host, path, parsed.port, user, secret)


def secret_uuid(pool_uuid: str) -> str:
    """The libvirt secret holding a pool's cephx key (the same on every host)."""
    return str(uuidlib.uuid5(_SECRET_NAMESPACE, pool_uuid))


def secret_xml(pool_uuid: str) -> str:
    """A private (never readable back) libvirt secret for an RBD pool's key."""
    secret = ET.Element("secret", {"ephemeral": "no", "private": "yes"})
    ET.SubElement(secret, "uuid").text = secret_uuid(pool_uuid)
    usage = ET.SubElement(secret, "usage", {"type": "ceph"})
    ET.SubElement(usage, "name").text = f"cumulo pool {pool_uuid}"
    return ET.tostring(secret, encoding="unicode")


def nfs_mount_point(pool_uuid: str) -> str:
    """Where an NFS pool is mounted on its hosts."""
    return f"{NFS_MOUNT_ROOT}/{pool_uuid}"


def pool_xml(pool_uuid: str, source: PoolSource) -> str:
    """The persistent pool definition (module doc)."""
    pool = ET.Element("pool", {"type": source.pool_type})
    ET.SubElement(pool, "name").text = pool_uuid
    ET.SubElement(pool, "uuid").text = pool_uuid
    src = ET.SubElement(pool, "source")
    target_path: str | None
    if source.pool_type == "netfs":
        ET.SubElement(src, "host", {"name": source.host})
        ET.SubElement(src, "dir", {"path": source.path})
        ET.SubElement(src, "format", {"type": "nfs"})
        target_path = nfs_mount_point(pool_uuid)
    elif source.pool_type == "dir":
        target_path = source.path
    elif source.pool_type == "logical":
        ET.SubElement(src, "name").text = source.path
        ET.SubElement(src, "format", {"type": "lvm2"})
        target_path = f"/dev/{source.path}"
    else:  # rbd
        host = {"name": source.host}
        if source.port:
            host["port"] = str(source.port)
        ET.SubElement(src, "host", host)
        ET.SubElement(src, "name").text = source.path
        if source.user:
            auth = ET.SubElement(src, "auth", {"type": "ceph", "username": source.user})
            ET.SubElement(auth, "secret", {"uuid": secret_uuid(pool_uuid)})
        target_path = None
    if target_path is not None:
        target = ET.SubElement(pool, "target")
        ET.SubElement(target, "path").text = target_path
    return ET.tostring(pool, encoding="unicode")


def volume_xml(
    name: str,
    capacity: int,
    fmt: str | None,
    *,
    allocation: int | None = 0,
    backing: tuple[str, str] | None = None,
) -> str:
    """A volume definition.

    :param fmt: ``qcow2`` or ``raw`` on file-based pools; ``None`` elsewhere (LVM, RBD
        volumes have no format of their own).
    :param allocation: bytes to preallocate (0: thin); ``None`` leaves it to libvirt.
    :param backing: ``(path, format)`` of a backing file (a qcow2 overlay).
    """
    volume = ET.Element("volume")
    ET.SubElement(volume, "name").text = name
    ET.SubElement(volume, "capacity", {"unit": "bytes"}).text = str(capacity)
    if allocation is not None:
        ET.SubElement(volume, "allocation", {"unit": "bytes"}).text = str(allocation)
    if fmt is not None:
        target = ET.SubElement(volume, "target")
        ET.SubElement(target, "format", {"type": fmt})
    if backing is not None:
        store = ET.SubElement(volume, "backingStore")
        ET.SubElement(store, "path").text = backing[0]
        ET.SubElement(store, "format", {"type": backing[1]})
    return ET.tostring(volume, encoding="unicode")


@dataclass(frozen=True)
class PoolFacts:
    """What the hypervisor driver needs of a pool defined on a host (read from its XML).

    :param pool_type: libvirt's pool type.
    :param source_name: the Ceph pool of an RBD pool.
    :param hosts: RBD monitors.
    :param auth_user: the cephx user; with ``secret_uuid``.
    """

    pool_type: str
    source_name: str = ""
    hosts: tuple[tuple[str, int], ...] = ()
    auth_user: str = ""
    secret_uuid: str = ""


def pool_facts(xml: str) -> PoolFacts:
    """Read a pool's XML as libvirt returns it."""
    root = ET.fromstring(xml)
    source = root.find("source")
    name = source.findtext("name", "") if source is not None else ""
    hosts = tuple(
        (host.get("name", ""), int(host.get("port") or 6789))
        for host in (source.findall("host") if source is not None else [])
    )
    auth = source.find("auth") if source is not None else None
    secret = auth.find("secret") if auth is not None else None
    return PoolFacts(
        pool_type=root.get("type", ""),
        source_name=name,
        hosts=hosts,
        auth_user=auth.get("username", "") if auth is not None else "",
        secret_uuid=secret.get("uuid", "") if secret is not None else "",
    )


@dataclass(frozen=True)
class VolumeFacts:
    """A volume's path, format, sizes and backing file (read from its XML)."""

    path: str
    format: str
    capacity: int
    allocation: int
    backing: str = ""


def volume_facts(xml: str) -> VolumeFacts:
    """Read a volume's XML as libvirt returns it."""
    root = ET.fromstring(xml)
    target = root.find("target")
    fmt = target.find("format") if target is not None else None
    backing = root.find("backingStore")
    return VolumeFacts(
        path=target.findtext("path", "") if target is not None else "",
        format=(fmt.get("type", "raw") if fmt is not None else "raw"),
        capacity=int(root.findtext("capacity", "0")),
        allocation=int(root.findtext("allocation", "0")),
        backing=backing.findtext("path", "") if backing is not None else "",
    )
