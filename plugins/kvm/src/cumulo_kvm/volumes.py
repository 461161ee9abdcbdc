"""Pools and volumes on one host, through its libvirt connection (no shell on the host).

- Pools are defined on first use from their URL (:mod:`cumulo_kvm.pool_xml`), persistent
  and autostarted, so they come back with the host.
- A template reaches a pool once: its bytes stream from the management server's copy
  (:mod:`cumulo_kvm.secondary`) into a volume named after the template file
  (``virStorageVolUpload``); a root disk on a file-based pool is then a qcow2 overlay on
  it, elsewhere a full copy converted by libvirt (``createXMLFrom``). A copy whose size
  differs from the template file is a leftover of an interrupted upload and is redone.
- A volume leaves a host the same way back (``virStorageVolDownload``), flattened first
  into a standalone qcow2 so that the image carries no backing file.

Snapshots and volumes on primary storage can stand for a template too: they are named
``<pool uuid>/<volume>`` (:func:`split_pool_path`).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import re
import threading
import uuid as uuidlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import libvirt  # type: ignore[import-untyped]

from cumulo.sdk import StorageOperationFailed
from cumulo_kvm.images import ImageInfo
from cumulo_kvm.pool_xml import (
    PoolSource,
    VolumeFacts,
    pool_source,
    pool_xml,
    secret_xml,
    volume_facts,
    volume_xml,
)

CHUNK = 1024 * 1024
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$")
_LOCKS: dict[tuple[str, str, str], threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def _lock(conn: Any, pool_uuid: str, name: str) -> threading.Lock:
    """One writer per volume name in this process (two deploys of one template)."""
    key = (str(conn.getURI()), pool_uuid, name)
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(key, threading.Lock())


def split_pool_path(path: str) -> tuple[str, str] | None:
    """``(pool uuid, volume)`` of a ``<pool uuid>/<volume>`` path, else ``None``."""
    head, _, tail = path.partition("/")
    if _UUID.match(head) and tail and "/" not in tail:
        return head, tail
    return None


def _missing(error: libvirt.libvirtError, *codes: int) -> bool:
    return bool(error.get_error_code() in codes)


def lookup_pool(conn: Any, pool_uuid: str) -> Any | None:
    """The pool defined on the host with this uuid, or ``None``."""
    try:
        return conn.storagePoolLookupByUUIDString(pool_uuid)
    except libvirt.libvirtError as exc:
        if _missing(exc, libvirt.VIR_ERR_NO_STORAGE_POOL):
            return None
        raise


def _ensure_secret(conn: Any, pool_uuid: str, source: PoolSource) -> None:
    if not source.secret:
        return
    try:
        key = base64.b64decode(source.secret, validate=True)
    except ValueError as exc:
        raise StorageOperationFailed(
            "the RBD secret in the pool URL is not a base64 cephx key"
        ) from exc
    secret = conn.secretDefineXML(secret_xml(pool_uuid), 0)
    secret.setValue(key, 0)


def ensure_pool(conn: Any, pool_uuid: str, url: str) -> Any:
    """The pool on the host, defined from ``url`` if missing, and started.

    :raises StorageOperationFailed: it is missing and ``url`` is empty or bad.
    """
    pool = lookup_pool(conn, pool_uuid)
    if pool is None:
        if not url:
            raise StorageOperationFailed(
                f"storage pool {pool_uuid} is not defined on host {conn.getHostname()}"
            )
        source = pool_source(url)
        if source.pool_type == "rbd":
            _ensure_secret(conn, pool_uuid, source)
        pool = conn.storagePoolDefineXML(pool_xml(pool_uuid, source), 0)
        if source.pool_type == "netfs" or url.lower().startswith(("filesystem:", "file:")):
            # The NFS mount point, or a host-local directory: created if missing. A
            # SharedMountPoint is not: an absent mount must fail, not fill the root disk.
            pool.build(0)
        pool.setAutostart(1)
    if not pool.isActive():
        pool.create(0)
    return pool


def pool_type(pool: Any) -> str:
    """libvirt's type of the pool (``dir``, ``netfs``, ``logical``, ``rbd`` ...)."""
    match = re.search(r"<pool type='([a-z]+)'", pool.XMLDesc(0))
    return match.group(1) if match else ""


def file_based(pool: Any) -> bool:
    """The pool's volumes are files (qcow2 allowed)."""
    return pool_type(pool) in ("dir", "netfs", "fs")


def lookup_volume(pool: Any, name: str) -> Any | None:
    """The volume ``name`` of the pool, or ``None``."""
    try:
        return pool.storageVolLookupByName(name)
    except libvirt.libvirtError as exc:
        if _missing(exc, libvirt.VIR_ERR_NO_STORAGE_VOL):
            return None
        raise


def facts(volume: Any) -> VolumeFacts:
    """Path, format, sizes and backing file of a volume."""
    return volume_facts(volume.XMLDesc(0))


def physical_size(volume: Any) -> int:
    """Bytes the volume's file (or device) holds: what an upload wrote."""
    return int(volume.infoFlags(libvirt.VIR_STORAGE_VOL_GET_PHYSICAL)[2])


def delete_volume(pool: Any, name: str) -> None:
    """Delete the volume; a missing one is fine."""
    volume = lookup_volume(pool, name)
    if volume is not None:
        try:
            volume.delete(0)
        except libvirt.libvirtError as exc:
            if not _missing(exc, libvirt.VIR_ERR_NO_STORAGE_VOL):
                raise


def create_blank(pool: Any, name: str, size: int) -> Any:
    """A new empty volume (thin qcow2 on file-based pools); one left by an earlier try
    is replaced."""
    delete_volume(pool, name)
    fmt = "qcow2" if file_based(pool) else None
    return pool.createXML(volume_xml(name, size, fmt), 0)


def upload(conn: Any, pool: Any, name: str, local: Path, image: ImageInfo) -> Any:
    """The volume ``name`` holding the bytes of ``local`` (a template), uploaded unless
    an identical copy is there already."""
    with _lock(conn, pool.UUIDString(), name):
        pool.refresh(0)
        found = lookup_volume(pool, name)
        if found is not None and physical_size(found) == image.physical_size:
            return found
        delete_volume(pool, name)
        if file_based(pool):
            # Created raw at the file's exact size: the upload is then the whole file,
            # and the pool's refresh recognises a qcow2 by its header.
            xml = volume_xml(name, image.physical_size, "raw")
        elif image.format != "raw":
            raise StorageOperationFailed(
                f"{local.name} is {image.format}; LVM and RBD pools need RAW templates"
            )
        else:
            xml = volume_xml(name, image.physical_size, None, allocation=None)
        volume = pool.createXML(xml, 0)
        stream = conn.newStream(0)
        try:
            volume.upload(stream, 0, image.physical_size, 0)
            with local.open("rb") as source:
                stream.sendAll(lambda _s, n, f: f.read(min(n, CHUNK)), source)
            stream.finish()
        except BaseException:
            _abort(stream)
            delete_volume(pool, name)
            raise
        pool.refresh(0)
        refreshed = lookup_volume(pool, name)
        if refreshed is None:  # pragma: no cover - libvirt lost what it just wrote
            raise StorageOperationFailed(f"volume {name} vanished after its upload")
        return refreshed


def _abort(stream: Any) -> None:
    with contextlib.suppress(libvirt.libvirtError):  # the stream failed already
        stream.abort()


def from_template(pool: Any, name: str, size: int, template: Any) -> Any:
    """A root disk made from the template volume: a qcow2 overlay on file-based pools, a
    converted full copy elsewhere; at least ``size`` bytes, else the template's size."""
    delete_volume(pool, name)
    source = facts(template)
    capacity = max(size, source.capacity)
    if file_based(pool) and pool.UUIDString() == template.storagePoolLookupByVolume().UUIDString():
        xml = volume_xml(name, capacity, "qcow2", backing=(source.path, source.format))
        return pool.createXML(xml, 0)
    copy = pool.createXMLFrom(
        volume_xml(name, source.capacity, _format(pool), allocation=None), template, 0
    )
    if capacity > source.capacity:
        copy.resize(capacity, 0)
    return copy


def _format(pool: Any) -> str | None:
    return "qcow2" if file_based(pool) else None


def clone(pool: Any, name: str, source: Any) -> Any:
    """A standalone copy of ``source`` (its backing chain flattened) in ``pool``."""
    delete_volume(pool, name)
    capacity = facts(source).capacity
    return pool.createXMLFrom(volume_xml(name, capacity, _format(pool), allocation=None), source, 0)


def resize(volume: Any, size: int) -> None:
    """Give the volume the virtual size ``size`` (shrinking when asked)."""
    current = facts(volume).capacity
    if size == current:
        return
    flags = libvirt.VIR_STORAGE_VOL_RESIZE_SHRINK if size < current else 0
    volume.resize(size, flags)


def download(
    conn: Any, volume: Any, sink: BinaryIO, progress: Callable[[int], None] | None = None
) -> int:
    """Stream the volume's bytes into ``sink``; returns how many."""
    stream = conn.newStream(0)
    written = 0

    def receive(_stream: Any, data: bytes, target: BinaryIO) -> int:
        nonlocal written
        target.write(data)
        written += len(data)
        if progress is not None:
            progress(written)
        return len(data)

    try:
        volume.download(stream, 0, 0, 0)
        stream.recvAll(receive, sink)
        stream.finish()
    except BaseException:
        _abort(stream)
        raise
    return written


def temporary_name(prefix: str) -> str:
    """A fresh volume name for a short-lived copy."""
    return f"{prefix}-{uuidlib.uuid4().hex[:12]}"


def volume_name_for(url: str) -> str:
    """The name of a template's copy on a pool: its file name (``<uuid>.qcow2``), or a
    digest of its URL when the name is not a plain file name."""
    base = url.rstrip("/").rsplit("/", 1)[-1]
    if _NAME.match(base):
        return base
    return "tmpl-" + hashlib.sha1(url.encode(), usedforsecurity=False).hexdigest()[:20]
