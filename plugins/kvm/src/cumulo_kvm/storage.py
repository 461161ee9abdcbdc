"""The ``KVM`` storage driver: primary pools on the hosts through libvirt, secondary
stores through the management server (CAP-14, CAP-15 for KVM zones).

Primary storage (:mod:`cumulo_kvm.volumes`, :mod:`cumulo_kvm.pool_xml`): an operation
runs on the first reachable host of :attr:`PoolRef.hosts` (the core names the Up hosts
of the pool's cluster, the one the operation is for first), defining and starting the
pool there if it is not yet; ``attach_pool`` and ``detach_pool`` act on every host
named. Templates and ISOs reach a pool from secondary storage as streams; volumes and
snapshots leave it the same way (``copy_to_store``).

Secondary storage (:mod:`cumulo_kvm.secondary`): ``file://`` directories and ``nfs://``
exports mounted on the management server, filled by the management server itself
(``download_template`` fetches through :func:`cumulo.sdk.storage.fetch_url`, so the
address policy holds). A downloaded template that is a qcow2 image with a backing file
is refused (:mod:`cumulo_kvm.images`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, TypeVar

import libvirt  # type: ignore[import-untyped]

from cumulo.sdk import (
    HostConnection,
    HostUnreachable,
    HypervisorError,
    InvalidStorageUrl,
    PoolRef,
    PrimaryStorageDriver,
    SecondaryStorageDriver,
    StorageCapacity,
    StorageError,
    StorageOperationFailed,
    StorageUnreachable,
    StorageUrl,
    StoredObject,
    StoredVolume,
    StoreRef,
)
from cumulo.sdk.storage import Progress, TemplateSource, fetch_url
from cumulo_kvm import secondary, volumes
from cumulo_kvm.connections import Connections, shared
from cumulo_kvm.images import ImageInfo, probe_file
from cumulo_kvm.pool_xml import pool_source, secret_uuid

log = logging.getLogger(__name__)
_T = TypeVar("_T")


def _capacity(pool: Any) -> StorageCapacity:
    pool.refresh(0)
    _state, total, _allocation, available = pool.info()
    return StorageCapacity(total_bytes=int(total), used_bytes=max(0, int(total) - int(available)))


class KvmStorage(PrimaryStorageDriver, SecondaryStorageDriver):
    """Primary pools on KVM hosts and secondary stores for KVM zones (module doc).

    :param connections: the process's libvirt connections (default: shared with the
        plugin's hypervisor driver).
    """

    name: ClassVar[str] = "KVM"
    provides: ClassVar[tuple[str, ...]] = ("storage:KVM",)

    def __init__(self, connections: Connections | None = None) -> None:
        self.connections = connections or shared()

    # ---- reaching the pool's hosts ------------------------------------------------------

    def _hosts(self, pool: PoolRef) -> tuple[HostConnection, ...]:
        if not pool.hosts:
            raise StorageOperationFailed(
                f"no KVM host that is Up can reach storage pool {pool.uuid}"
            )
        return tuple(pool.hosts)

    def _call(self, host: HostConnection, operation: Callable[[Any], _T]) -> _T:
        try:
            return self.connections.call(host, operation)
        except HostUnreachable as exc:
            raise StorageUnreachable(str(exc)) from exc
        except HypervisorError as exc:
            raise StorageOperationFailed(str(exc)) from exc

    def _on_pool(self, pool: PoolRef, operation: Callable[[Any, Any], _T]) -> _T:
        """``operation(conn, libvirt pool)`` on the first host that answers."""
        unreachable = []
        for host in self._hosts(pool):
            try:
                return self._call(
                    host,
                    lambda conn: operation(conn, volumes.ensure_pool(conn, pool.uuid, pool.url)),
                )
            except StorageUnreachable as exc:
                unreachable.append(str(exc))
        raise StorageUnreachable("; ".join(unreachable))

    # ---- both contracts -----------------------------------------------------------------

    def validate_url(self, url: str, details: Mapping[str, str]) -> StorageUrl:
        """Primary: ``nfs``, ``SharedMountPoint``, ``clvm``, ``rbd``, ``filesystem``;
        secondary: ``nfs``, ``file``."""
        parsed = StorageUrl.parse(url)
        if parsed.scheme == "file":
            if not parsed.path.strip("/"):
                raise InvalidStorageUrl(f"url {url!r} has no directory (file:///path)")
            return parsed
        pool_source(url)
        return parsed

    # ---- primary ------------------------------------------------------------------------

    def attach_pool(self, pool: PoolRef) -> StorageCapacity:
        """Define, start and autostart the pool on every host named; its capacity as
        the first host that did it sees it."""
        pool_source(pool.url)
        first: StorageCapacity | None = None
        failures = []
        for host in self._hosts(pool):
            try:
                capacity = self._call(
                    host, lambda conn: _capacity(volumes.ensure_pool(conn, pool.uuid, pool.url))
                )
            except StorageError as exc:
                failures.append(exc)
                continue
            first = first or capacity
        if first is None:
            if all(isinstance(f, StorageUnreachable) for f in failures):
                raise StorageUnreachable("; ".join(str(f) for f in failures))
            raise StorageOperationFailed("; ".join(str(f) for f in failures))
        for failure in failures:
            log.warning("storage pool %s not attached on a host: %s", pool.uuid, failure)
        return first

    def detach_pool(self, pool: PoolRef) -> None:
        """Stop and undefine the pool on every host named (files stay); hosts that do
        not answer keep their definition, which is harmless."""

        def detach(conn: Any) -> None:
            found = volumes.lookup_pool(conn, pool.uuid)
            if found is None:
                return
            if found.isActive():
                found.destroy()
            found.undefine()
            # An NFS, local or keyless RBD pool has no secret.
            with contextlib.suppress(libvirt.libvirtError):
                conn.secretLookupByUUIDString(secret_uuid(pool.uuid)).undefine()

        for host in pool.hosts:
            try:
                self._call(host, detach)
            except StorageUnreachable as exc:
                log.warning(
                    "storage pool %s left defined on an unreachable host: %s", pool.uuid, exc
                )

    def pool_capacity(self, pool: PoolRef) -> StorageCapacity:
        """Total and used bytes (the pool refreshed first)."""
        return self._on_pool(pool, lambda _conn, found: _capacity(found))

    def create_volume(
        self, pool: PoolRef, name: str, size_bytes: int, template: StoredObject | None = None
    ) -> StoredVolume:
        """A thin volume, or one made from ``template``: a secondary storage URL (a
        template, uploaded to the pool once, the volume an overlay on it) or a
        ``<pool uuid>/<volume>`` of primary storage (a snapshot, copied)."""

        def create(conn: Any, target: Any) -> StoredVolume:
            if template is None:
                made = volumes.create_blank(target, name, size_bytes)
            elif (where := volumes.split_pool_path(template.path)) is not None:
                made = volumes.clone(target, name, self._pool_volume(conn, *where))
                volumes.resize(made, max(size_bytes, volumes.facts(made).capacity))
            else:
                copy = self._template_copy(conn, target, template.path)
                made = volumes.from_template(target, name, size_bytes, copy)
            return StoredVolume(name, volumes.facts(made).capacity)

        return self._on_pool(pool, create)

    def _pool_volume(self, conn: Any, pool_uuid: str, name: str) -> Any:
        found = volumes.lookup_pool(conn, pool_uuid)
        volume = volumes.lookup_volume(found, name) if found is not None else None
        if volume is None:
            raise StorageOperationFailed(f"{pool_uuid}/{name} is not on the host's storage")
        return volume

    def _template_copy(self, conn: Any, target: Any, url: str) -> Any:
        local = secondary.object_file(url)
        image: ImageInfo = probe_file(local)
        return volumes.upload(conn, target, volumes.volume_name_for(url), local, image)

    def delete_volume(self, pool: PoolRef, path: str) -> None:
        """Delete the volume (or a ``<pool uuid>/<volume>`` snapshot); a missing one is
        fine."""
        where = volumes.split_pool_path(path)

        def delete(conn: Any, found: Any) -> None:
            if where is None:
                volumes.delete_volume(found, path)
                return
            other = volumes.lookup_pool(conn, where[0])
            if other is not None:
                volumes.delete_volume(other, where[1])

        self._on_pool(pool, delete)

    def resize_volume(self, pool: PoolRef, path: str, size_bytes: int) -> StoredVolume:
        """libvirt's resize (qcow2 and LVM volumes grow or shrink; RBD grows)."""

        def grow(conn: Any, found: Any) -> StoredVolume:
            volume = volumes.lookup_volume(found, path)
            if volume is None:
                raise StorageOperationFailed(f"volume {path} is not on storage pool {pool.uuid}")
            volumes.resize(volume, size_bytes)
            return StoredVolume(path, size_bytes)

        return self._on_pool(pool, grow)

    def copy_volume(self, source: PoolRef, path: str, target: PoolRef, name: str) -> StoredVolume:
        """A standalone copy on ``target``, made by a host that has both pools (the
        source pool is defined there from its URL if needed)."""

        def copy(conn: Any, destination: Any) -> StoredVolume:
            origin = volumes.ensure_pool(conn, source.uuid, source.url)
            volume = volumes.lookup_volume(origin, path)
            if volume is None:
                raise StorageOperationFailed(f"volume {path} is not on storage pool {source.uuid}")
            made = volumes.clone(destination, name, volume)
            return StoredVolume(name, volumes.facts(made).capacity)

        return self._on_pool(target, copy)

    def copy_to_store(
        self,
        pool: PoolRef,
        path: str,
        store: StoreRef,
        target_path: str,
        progress: Progress | None = None,
    ) -> StoredObject:
        """Stream the volume (or snapshot) to the store as a standalone image: a file on
        a file-based pool is flattened into a temporary qcow2 copy first."""
        directory = secondary.store_directory(store.url)
        target_file = secondary.inside(directory, target_path)
        where = volumes.split_pool_path(path) or (pool.uuid, path)

        def export(conn: Any, found: Any) -> StoredObject:
            origin = found if where[0] == pool.uuid else volumes.lookup_pool(conn, where[0])
            volume = volumes.lookup_volume(origin, where[1]) if origin is not None else None
            if volume is None:
                raise StorageOperationFailed(f"{path} is not on storage pool {pool.uuid}")
            virtual = volumes.facts(volume).capacity
            flat = None
            if volumes.file_based(origin):
                flat = volumes.clone(origin, volumes.temporary_name("export"), volume)
            try:

                def fill(sink: Any) -> Any:
                    tell = (lambda done: progress(done, None)) if progress is not None else None
                    writer = secondary.HashingWriter(sink, tell)
                    volumes.download(conn, flat or volume, writer)  # type: ignore[arg-type]
                    return writer.result()

                written = secondary.write_atomically(target_file, fill)
            finally:
                if flat is not None:
                    flat.delete(0)
            return StoredObject(
                target_path, virtual, written.size_bytes, digests=dict(written.digests)
            )

        return self._on_pool(pool, export)

    # ---- secondary ----------------------------------------------------------------------

    def attach_store(self, store: StoreRef) -> StorageCapacity:
        """The store's directory (mounted, for NFS) and its filesystem's capacity."""
        return secondary.capacity(secondary.store_directory(store.url))

    def store_capacity(self, store: StoreRef) -> StorageCapacity:
        """As :meth:`attach_store`."""
        return self.attach_store(store)

    def register_template(self, store: StoreRef, path: str, source_url: str) -> StoredObject:
        """:meth:`download_template` under the default (public addresses only) policy;
        an object already at ``path`` is returned as it is."""
        existing = self._object(secondary.store_directory(store.url), path)
        if existing is not None:
            return existing
        return self.download_template(store, path, TemplateSource(source_url))

    def download_template(self, store: StoreRef, path: str, source: TemplateSource) -> StoredObject:
        """Fetch ``source`` into the store (a temporary file renamed into place) and
        check the image (a qcow2 with a backing file is deleted and refused)."""
        target = secondary.inside(secondary.store_directory(store.url), path)
        fetched = secondary.write_atomically(
            target, lambda sink: fetch_url(source.url, sink, source)
        )
        try:
            image = probe_file(target)
        except StorageError:
            target.unlink(missing_ok=True)
            raise
        return StoredObject(
            path, image.virtual_size, fetched.size_bytes, digests=dict(fetched.digests)
        )

    def copy_object(
        self,
        source_store: StoreRef,
        path: str,
        target_store: StoreRef,
        progress: Progress | None = None,
    ) -> StoredObject:
        """Copy the file between the two stores' directories."""
        origin = secondary.inside(secondary.store_directory(source_store.url), path)
        if not origin.is_file():
            raise StorageOperationFailed(f"{path} is not on store {source_store.url}")
        target = secondary.inside(secondary.store_directory(target_store.url), path)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            shutil.copyfile(origin, target)
        except OSError as exc:
            raise StorageOperationFailed(f"copying {path} failed: {exc}") from exc
        found = self._object(secondary.store_directory(target_store.url), path)
        assert found is not None
        if progress is not None:
            progress(found.physical_size_bytes, found.physical_size_bytes)
        return found

    def _object(self, directory: Any, path: str) -> StoredObject | None:
        target = secondary.inside(directory, path)
        if not target.is_file():
            return None
        try:
            image = probe_file(target)
        except StorageError:
            size = target.stat().st_size
            image = ImageInfo("raw", size, size)
        return StoredObject(path, image.virtual_size, image.physical_size)

    def list_objects(self, store: StoreRef) -> dict[str, StoredObject]:
        """Every file of the store (temporary download files excepted), by path."""
        directory = secondary.store_directory(store.url)
        found: dict[str, StoredObject] = {}
        for root, _dirs, files in os.walk(directory):
            for file in files:
                if file.startswith(secondary.TEMPORARY_PREFIX):
                    continue
                relative = os.path.relpath(os.path.join(root, file), directory).replace(os.sep, "/")
                stored = self._object(directory, relative)
                if stored is not None:
                    found[relative] = stored
        return found

    def delete_object(self, store: StoreRef, path: str) -> None:
        """Delete the file; a missing one is fine."""
        secondary.inside(secondary.store_directory(store.url), path).unlink(missing_ok=True)
