"""The ``Simulator`` storage driver: primary pools and secondary stores as entries in
the shared state file.

It accepts the URL forms of every real protocol (so the API's validation is exercised
exactly as with real storage) and a ``capacity`` query option giving the simulated size:
``nfs://10.1.1.2/export/primary?capacity=2TiB`` (default 1 TiB). Volumes and stored
objects are rows; ``used`` is the sum of their sizes. Rules (``attach_pool``,
``pool_capacity``, ``create_volume``, ``delete_volume``, ``attach_store``,
``register_template``, ``delete_object``) inject latency and faults: ``unreachable``
raises :class:`StorageUnreachable`, ``fail`` :class:`StorageOperationFailed`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
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
from cumulo_simulator.hosturl import HostUrlError, parse_size
from cumulo_simulator.rules import Behaviour, Scope
from cumulo_simulator.state import SimulatorState

DEFAULT_CAPACITY = 1024**4
DEFAULT_TEMPLATE_SIZE = 2 * 1024**3

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
        """An object entry; nothing is downloaded. The size is the source URL's ``size``
        query option (e.g. ``http://x/t.vhd?size=4GiB``), default 2 GiB."""
        self._apply("register_template", store.url)
        existing = self.list_objects(store).get(path)
        if existing is not None:
            return existing
        option = StorageUrl.parse(source_url).query.get("size") if "://" in source_url else None
        try:
            size = parse_size(option) if option else DEFAULT_TEMPLATE_SIZE
        except HostUrlError as exc:
            raise StorageOperationFailed(f"template url option size: {exc}") from exc
        self._add(store.uuid, path, size, size)
        return StoredObject(path=path, size_bytes=size, physical_size_bytes=size)

    def list_objects(self, store: StoreRef) -> dict[str, StoredObject]:
        """Every entry of the store."""
        rows = self.state.read().execute(
            "SELECT path, size, physical FROM objects WHERE pool_uuid = ?", (store.uuid,)
        )
        return {path: StoredObject(path, int(size), int(phys)) for path, size, phys in rows}

    def delete_object(self, store: StoreRef, path: str) -> None:
        """Drop the entry, if any."""
        self._apply("delete_object", store.url)
        self._delete(store.uuid, path)
