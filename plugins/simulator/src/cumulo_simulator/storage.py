"""The ``Simulator`` storage driver: primary pools and secondary stores as entries in
the shared state file.

It accepts the URL forms of every real protocol (so the API's validation is exercised
exactly as with real storage) and a ``capacity`` query option giving the simulated size:
``nfs://10.1.1.2/export/primary?capacity=2TiB`` (default 1 TiB). Volumes and stored
objects are rows; ``used`` is the sum of their sizes. Rules (``attach_pool``,
``pool_capacity``, ``create_volume``, ``delete_volume``, ``attach_store``,
``register_template``, ``copy_within_store``, ``delete_object``) inject latency and
faults: ``unreachable`` raises :class:`StorageUnreachable`, ``fail``
:class:`StorageOperationFailed`.

Secondary stores of the ``file://`` form are directories of the management server, as
real as they come: :meth:`SimulatorStorage.download_template` really fetches the URL
(through :func:`cumulo.sdk.storage.fetch_url`, so the address policy holds) and writes
the file under the directory, reporting progress and digests; deleting the object
removes the file, and :meth:`~SimulatorStorage.copy_object` between two such stores
copies it. Every other store stays simulated (an entry, no bytes).

Images of the simulator itself (its built-in template) have ``simulator://`` URLs
(``simulator://images/centos53-x86_64.vhd?size=2GiB``): the driver is their source, so
nothing is fetched: a simulated store gets the entry, a ``file://`` store a small image
file standing for a disk of the ``size`` option (the virtual size; default 2 GiB).
:meth:`~SimulatorStorage.copy_to_store` (``createTemplate``, and the backup of a
snapshot to secondary storage) does the same for a simulated volume or snapshot, whose
bytes the simulator never had; :meth:`~SimulatorStorage.copy_within_store` copies such
a file (a snapshot's backup to a template) as it is.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar

from cumulo.sdk import (
    InvalidStorageUrl,
    PoolRef,
    PrimaryStorageDriver,
    SecondaryStorageDriver,
    StorageCapacity,
    StorageOperationFailed,
    StorageUnreachable,
    StorageUrl,
    StoredObject,
    StoredVolume,
    StoreRef,
)
from cumulo.sdk.storage import Progress, TemplateSource, fetch_url
from cumulo_simulator.hosturl import HostUrlError, parse_size
from cumulo_simulator.rules import Behaviour, Scope
from cumulo_simulator.state import SimulatorState

DEFAULT_CAPACITY = 1024**4
DEFAULT_TEMPLATE_SIZE = 2 * 1024**3
IMAGE_SCHEME = "simulator"
"""The URL scheme of images the simulator produces itself (module doc)."""

# scheme → (needs a server, what the path must look like, for the message)
_PRIMARY: dict[str, tuple[bool, str]] = {
    "nfs": (True, "/exported/path"),
    "iscsi": (True, "/<target iqn>/<lun>"),
    "presetup": (True, "/<SR name-label>"),
    "sharedmountpoint": (False, "/mount/point"),
    "vmfs": (True, "/<datacenter>/<datastore>"),
    "clvm": (False, "/<volume group>"),
    "rbd": (True, "/<pool>"),
    "simulator": (False, "/<anything>"),
}
_SECONDARY: dict[str, tuple[bool, str]] = {
    "nfs": (True, "/exported/path"),
    "file": (False, "/local/directory"),
    "simulator": (False, "/<anything>"),
}


def _validate(url: str, schemes: Mapping[str, tuple[bool, str]]) -> StorageUrl:
    parsed = StorageUrl.parse(url)
    if parsed.scheme not in schemes:
        raise InvalidStorageUrl(
            f"url scheme {parsed.scheme!r} is not supported; use one of {', '.join(schemes)}"
        )
    needs_server, shape = schemes[parsed.scheme]
    if needs_server and not parsed.host:
        raise InvalidStorageUrl(f"url {url!r} names no server ({parsed.scheme}://server{shape})")
    if not parsed.path.strip("/"):
        raise InvalidStorageUrl(f"url {url!r} has no path (expected {shape})")
    if parsed.scheme == "iscsi":
        iqn, _, lun = parsed.path.strip("/").rpartition("/")
        if not iqn or not lun.isdigit():
            raise InvalidStorageUrl(f"url {url!r} must end in /<target iqn>/<lun number>")
    if "capacity" in parsed.query:
        try:
            parse_size(parsed.query["capacity"])
        except HostUrlError as exc:
            raise InvalidStorageUrl(f"url option capacity: {exc}") from exc
    return parsed


class SimulatorStorage(PrimaryStorageDriver, SecondaryStorageDriver):
    """Simulated primary pools and secondary stores (one class: both contracts use the
    same rows, keyed by the pool's or store's uuid).

    :param state: the shared state; default :class:`SimulatorState` at its default path.
    """

    name: ClassVar[str] = "Simulator"
    provides: ClassVar[tuple[str, ...]] = ("storage:Simulator",)

    def __init__(self, state: SimulatorState | None = None) -> None:
        self.state = state or SimulatorState()

    def _apply(self, operation: str, what: str) -> None:
        behaviour = self.state.behaviour(operation, Scope()) or Behaviour()
        if behaviour.wait_ms:
            time.sleep(behaviour.wait_ms / 1000)
        if behaviour.result == "unreachable":
            message = behaviour.message or f"simulated storage {what} did not answer"
            raise StorageUnreachable(message)
        if behaviour.result == "fail":
            raise StorageOperationFailed(behaviour.message or f"simulated {operation} failed")

    def _attach(self, uuid: str, url: str) -> StorageCapacity:
        size = StorageUrl.parse(url).query.get("capacity")
        total = parse_size(size) if size else DEFAULT_CAPACITY
        with self.state.write() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO pools (uuid, url, total) VALUES (?, ?, ?)",
                (uuid, url, total),
            )
        return self._capacity(uuid)

    def _capacity(self, uuid: str) -> StorageCapacity:
        row = (
            self.state.read()
            .execute(
                "SELECT p.total, COALESCE(SUM(o.physical), 0) FROM pools p"
                " LEFT JOIN objects o ON o.pool_uuid = p.uuid WHERE p.uuid = ? GROUP BY p.total",
                (uuid,),
            )
            .fetchone()
        )
        if row is None:
            raise StorageOperationFailed(f"simulated storage {uuid} is not attached")
        return StorageCapacity(total_bytes=int(row[0]), used_bytes=min(int(row[1]), int(row[0])))

    def _add(self, uuid: str, path: str, size: int, physical: int) -> None:
        capacity = self._capacity(uuid)
        with self.state.write() as conn:
            exists = conn.execute(
                "SELECT 1 FROM objects WHERE pool_uuid = ? AND path = ?", (uuid, path)
            ).fetchone()
            if exists is None and physical > capacity.free_bytes:
                raise StorageOperationFailed(
                    f"simulated storage {uuid} is full: {physical} bytes asked,"
                    f" {capacity.free_bytes} free"
                )
            conn.execute(
                "INSERT OR REPLACE INTO objects (pool_uuid, path, size, physical)"
                " VALUES (?, ?, ?, ?)",
                (uuid, path, size, physical),
            )

    def _delete(self, uuid: str, path: str) -> None:
        with self.state.write() as conn:
            conn.execute("DELETE FROM objects WHERE pool_uuid = ? AND path = ?", (uuid, path))

    # ---- both contracts ----------------------------------------------------------------

    def validate_url(self, url: str, details: Mapping[str, str]) -> StorageUrl:
        """Every primary and secondary URL form (see the module doc)."""
        return _validate(url, {**_SECONDARY, **_PRIMARY})

    # ---- primary -----------------------------------------------------------------------

    def attach_pool(self, pool: PoolRef) -> StorageCapacity:
        """Record the pool with the URL's ``capacity``; idempotent."""
        _validate(pool.url, _PRIMARY)
        self._apply("attach_pool", pool.url)
        return self._attach(pool.uuid, pool.url)

    def detach_pool(self, pool: PoolRef) -> None:
        """Nothing to unmount: volumes and the pool's entry stay."""

    def pool_capacity(self, pool: PoolRef) -> StorageCapacity:
        """The URL's capacity; used is the sum of the volumes' sizes."""
        self._apply("pool_capacity", pool.url)
        return self._capacity(pool.uuid)

    def create_volume(
        self, pool: PoolRef, name: str, size_bytes: int, template: StoredObject | None = None
    ) -> StoredVolume:
        """A volume entry ``<name>`` (thick: it uses its whole size)."""
        self._apply("create_volume", pool.url)
        size = max(size_bytes, template.size_bytes if template else 0)
        self._add(pool.uuid, name, size, size)
        return StoredVolume(path=name, size_bytes=size)

    def delete_volume(self, pool: PoolRef, path: str) -> None:
        """Drop the entry, if any."""
        self._apply("delete_volume", pool.url)
        self._delete(pool.uuid, path)

    def resize_volume(self, pool: PoolRef, path: str, size_bytes: int) -> StoredVolume:
        """Change the entry's size (simulated volumes are thick: they use all of it)."""
        self._apply("resize_volume", pool.url)
        grown = size_bytes - self._size_of(pool.uuid, path)
        if grown > self._capacity(pool.uuid).free_bytes:
            raise StorageOperationFailed(
                f"simulated storage {pool.uuid} is full: {grown} more bytes asked"
            )
        with self.state.write() as conn:
            conn.execute(
                "UPDATE objects SET size = ?, physical = ? WHERE pool_uuid = ? AND path = ?",
                (size_bytes, size_bytes, pool.uuid, path),
            )
        return StoredVolume(path, size_bytes)

    def copy_volume(self, source: PoolRef, path: str, target: PoolRef, name: str) -> StoredVolume:
        """A new entry ``name`` on ``target`` the size of the source's."""
        self._apply("copy_volume", target.url)
        size = self._size_of(source.uuid, path)
        self._attach(target.uuid, target.url)
        self._add(target.uuid, name, size, size)
        return StoredVolume(name, size)

    def _size_of(self, uuid: str, path: str) -> int:
        row = (
            self.state.read()
            .execute("SELECT size FROM objects WHERE pool_uuid = ? AND path = ?", (uuid, path))
            .fetchone()
        )
        if row is None:
            raise StorageOperationFailed(f"volume {path} is not on simulated pool {uuid}")
        return int(row[0])

    # ---- secondary ---------------------------------------------------------------------

    def attach_store(self, store: StoreRef) -> StorageCapacity:
        """Record the store with the URL's ``capacity``; idempotent."""
        _validate(store.url, _SECONDARY)
        self._apply("attach_store", store.url)
        return self._attach(store.uuid, store.url)

    def store_capacity(self, store: StoreRef) -> StorageCapacity:
        """The URL's capacity; used is the sum of the objects' physical sizes."""
        return self._capacity(store.uuid)

    def register_template(self, store: StoreRef, path: str, source_url: str) -> StoredObject:
        """For a ``file://`` store: :meth:`download_template` with the default
        (public addresses only) policy. Other stores: an object entry, nothing is
        downloaded; the size is the source URL's ``size`` query option (e.g.
        ``http://x/t.vhd?size=4GiB``), default 2 GiB."""
        existing = self.list_objects(store).get(path)
        if existing is not None:
            self._apply("register_template", store.url)
            return existing
        if _local_directory(store) is not None:
            # A real directory gets real bytes, under the public-only address policy.
            return self.download_template(store, path, TemplateSource(source_url))
        self._apply("register_template", store.url)
        size = _size_option(source_url, "template url")
        self._add(store.uuid, path, size, size)
        return StoredObject(path=path, size_bytes=size, physical_size_bytes=size)

    def download_template(self, store: StoreRef, path: str, source: TemplateSource) -> StoredObject:
        """For a ``file://`` store: fetch ``source`` into ``<directory>/<path>`` (through
        a temporary file renamed into place, so a failed download leaves nothing) and
        record it with its real size. Other stores: :meth:`register_template`, with one
        progress report at the end."""
        directory = _local_directory(store)
        if directory is None:
            stored = self.register_template(store, path, source.url)
            if source.progress is not None:
                source.progress(stored.physical_size_bytes, stored.physical_size_bytes)
            return stored
        self._apply("register_template", store.url)
        self._attach_local(store, directory)
        if _is_simulated_image(source.url):
            size = _size_option(source.url, "template url")
            stored = self._write_image(store, directory, path, size, source.url)
            if source.progress is not None:
                source.progress(stored.physical_size_bytes, stored.physical_size_bytes)
            return stored
        target = _inside(directory, path)
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".download-")
        try:
            with os.fdopen(handle, "wb") as sink:
                fetched = fetch_url(source.url, sink, source)
            os.replace(temporary, target)
        except OSError as exc:
            raise StorageOperationFailed(f"writing {target} failed: {exc}") from exc
        finally:
            if os.path.exists(temporary):
                os.unlink(temporary)
        size = fetched.size_bytes
        self._add(store.uuid, path, size, size)
        return StoredObject(path, size, size, digests=dict(fetched.digests))

    def copy_object(
        self,
        source_store: StoreRef,
        path: str,
        target_store: StoreRef,
        progress: Progress | None = None,
    ) -> StoredObject:
        """Copy the file between two ``file://`` stores, or the entry between simulated
        ones (a mix copies the entry: the simulated side has no bytes to give)."""
        self._apply("copy_object", target_store.url)
        existing = self.list_objects(source_store).get(path)
        source_dir, target_dir = _local_directory(source_store), _local_directory(target_store)
        if source_dir is not None and target_dir is not None:
            origin = _inside(source_dir, path)
            if not origin.is_file():
                raise StorageOperationFailed(f"{path} is not on store {source_store.url}")
            self._attach_local(target_store, target_dir)
            target = _inside(target_dir, path)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(origin, target)
            size = target.stat().st_size
        elif existing is None:
            raise StorageOperationFailed(f"{path} is not on store {source_store.url}")
        else:
            if target_dir is not None:
                self._attach_local(target_store, target_dir)
            size = existing.physical_size_bytes
        self._add(target_store.uuid, path, size, size)
        if progress is not None:
            progress(size, size)
        return StoredObject(path, size, size)

    def copy_within_store(
        self,
        store: StoreRef,
        path: str,
        target_path: str,
        progress: Progress | None = None,
    ) -> StoredObject:
        """Copy the object ``path`` of the store to ``target_path``: the file of a
        ``file://`` store (through a temporary file renamed into place, so a failed
        copy leaves nothing), the entry of a simulated one; the copy keeps the
        source's virtual size."""
        self._apply("copy_within_store", store.url)
        source = self.list_objects(store).get(path)
        if source is None:
            raise StorageOperationFailed(f"{path} is not on store {store.url}")
        directory = _local_directory(store)
        digests: dict[str, str] = {}
        physical = source.physical_size_bytes
        if directory is not None:
            origin, target = _inside(directory, path), _inside(directory, target_path)
            if not origin.is_file():
                raise StorageOperationFailed(f"{path} is not on store {store.url}")
            target.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".copy-")
            try:
                with os.fdopen(handle, "wb") as sink, origin.open("rb") as bits:
                    md5, sha256 = hashlib.md5(usedforsecurity=False), hashlib.sha256()
                    for chunk in iter(lambda: bits.read(1024 * 1024), b""):
                        sink.write(chunk)
                        md5.update(chunk)
                        sha256.update(chunk)
                os.replace(temporary, target)
            except OSError as exc:
                raise StorageOperationFailed(f"copying {path} to {target} failed: {exc}") from exc
            finally:
                if os.path.exists(temporary):
                    os.unlink(temporary)
            physical = target.stat().st_size
            digests = {"md5": md5.hexdigest(), "sha256": sha256.hexdigest()}
        self._add(store.uuid, target_path, source.size_bytes, physical)
        if progress is not None:
            progress(physical, physical)
        return StoredObject(target_path, source.size_bytes, physical, digests=digests)

    def copy_to_store(
        self,
        pool: PoolRef,
        path: str,
        store: StoreRef,
        target_path: str,
        progress: Progress | None = None,
    ) -> StoredObject:
        """The volume ``path`` of ``pool`` (or a snapshot the simulated hypervisor
        took, ``snapshots/<volume>/<name>``) as an image on the store: an entry of the
        source's size, and for a ``file://`` store a small image file standing for it."""
        self._apply("copy_to_store", store.url)
        size = self._source_size(pool, path)
        directory = _local_directory(store)
        if directory is not None:
            self._attach_local(store, directory)
            stored = self._write_image(store, directory, target_path, size, f"{pool.uuid}/{path}")
        else:
            self._add(store.uuid, target_path, size, size)
            stored = StoredObject(target_path, size, size)
        if progress is not None:
            progress(stored.physical_size_bytes, stored.physical_size_bytes)
        return stored

    def _source_size(self, pool: PoolRef, path: str) -> int:
        conn = self.state.read()
        row = conn.execute(
            "SELECT size FROM objects WHERE pool_uuid = ? AND path = ?", (pool.uuid, path)
        ).fetchone()
        if row is None:
            row = conn.execute("SELECT size FROM snapshots WHERE path = ?", (path,)).fetchone()
        if row is None:
            raise StorageOperationFailed(
                f"{path} is neither a volume on simulated pool {pool.uuid} nor a snapshot"
            )
        return int(row[0])

    def _write_image(
        self, store: StoreRef, directory: Path, path: str, size: int, origin: str
    ) -> StoredObject:
        """A small file standing for a simulated disk of virtual size ``size``."""
        target = _inside(directory, path)
        target.parent.mkdir(parents=True, exist_ok=True)
        body = f"cumulo simulator image\nsource: {origin}\nvirtual size: {size}\n".encode()
        try:
            target.write_bytes(body)
        except OSError as exc:
            raise StorageOperationFailed(f"writing {target} failed: {exc}") from exc
        self._add(store.uuid, path, size, len(body))
        digests = {
            "md5": hashlib.md5(body, usedforsecurity=False).hexdigest(),
            "sha256": hashlib.sha256(body).hexdigest(),
        }
        return StoredObject(path, size, len(body), digests=digests)

    def _attach_local(self, store: StoreRef, directory: Path) -> None:
        # addSecondaryStorage measures file:// stores itself and never attaches them
        # through a driver; record the directory with its real size on first use.
        if not directory.is_dir():
            raise StorageOperationFailed(f"store directory {directory} does not exist")
        total = shutil.disk_usage(directory).total
        with self.state.write() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO pools (uuid, url, total) VALUES (?, ?, ?)",
                (store.uuid, store.url, total),
            )

    def list_objects(self, store: StoreRef) -> dict[str, StoredObject]:
        """Every entry of the store."""
        rows = self.state.read().execute(
            "SELECT path, size, physical FROM objects WHERE pool_uuid = ?", (store.uuid,)
        )
        return {path: StoredObject(path, int(size), int(phys)) for path, size, phys in rows}

    def delete_object(self, store: StoreRef, path: str) -> None:
        """Drop the entry, if any, and for a ``file://`` store the file."""
        self._apply("delete_object", store.url)
        directory = _local_directory(store)
        if directory is not None:
            _inside(directory, path).unlink(missing_ok=True)
        self._delete(store.uuid, path)


def _is_simulated_image(url: str) -> bool:
    """A ``simulator://`` image the driver produces itself (module doc)."""
    return url.strip().lower().startswith(f"{IMAGE_SCHEME}://")


def _size_option(url: str, what: str) -> int:
    """The URL's ``size`` query option in bytes (default 2 GiB)."""
    option = StorageUrl.parse(url).query.get("size") if "://" in url else None
    try:
        return parse_size(option) if option else DEFAULT_TEMPLATE_SIZE
    except HostUrlError as exc:
        raise StorageOperationFailed(f"{what} option size: {exc}") from exc


def _local_directory(store: StoreRef) -> Path | None:
    """The directory of a ``file://`` store; ``None`` for every other (simulated) one."""
    parsed = StorageUrl.parse(store.url)
    return Path(parsed.path) if parsed.scheme == "file" else None


def _inside(directory: Path, path: str) -> Path:
    """``directory/path``, refusing a path that would leave the directory."""
    target = (directory / path.lstrip("/")).resolve()
    if not target.is_relative_to(directory.resolve()):
        raise StorageOperationFailed(f"object path {path!r} leaves the store directory")
    return target
