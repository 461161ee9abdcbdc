"""The storage contracts: primary storage pools (VM disks) and secondary storage stores
(templates, ISOs, snapshots).

Drivers register under the entry-point group ``cumulo.storage`` by name. As for
hypervisors (:mod:`cumulo.sdk.hypervisor`), the core instantiates a driver once per
process with no arguments, calls it from job workers (methods may block for as long as
the storage needs) and from several processes, so a driver keeps no state in memory
that another process needs.

Idempotence: attaching an attached pool, detaching a detached one, and deleting a
missing volume or object succeed. Errors: :class:`InvalidStorageUrl` (the URL or its
fields are wrong: the API reports it as a 431 naming ``url``), :class:`StorageUnreachable`
(the server did not answer), :class:`StorageOperationFailed` (it answered with a
failure, e.g. export not found, pool full).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from cumulo.sdk.driver import Driver

# ---- errors --------------------------------------------------------------------------


class StorageError(Exception):
    """Base of every error a storage driver raises; ``str()`` is one operator line."""


class InvalidStorageUrl(StorageError):
    """The URL's scheme, server, path or protocol fields are not acceptable."""


class StorageUnreachable(StorageError):
    """The storage server did not answer (NFS mount timeout, iSCSI login timeout)."""


class StorageOperationFailed(StorageError):
    """The storage answered and refused (no such export, out of space, permission)."""


# ---- value objects -------------------------------------------------------------------


@dataclass(frozen=True)
class StorageUrl:
    """A parsed storage URL, e.g. ``nfs://10.1.1.2/export/primary`` or
    ``iscsi://10.1.1.3/iqn.2013-01.org.example:target/3``.

    :param scheme: lower-case scheme (``nfs``, ``iscsi``, ``presetup``,
        ``sharedmountpoint``, ``vmfs``, ``clvm``, ``rbd``, ``file``, ``swift``).
    :param host: server name or address (empty for local forms).
    :param path: the path, percent-decoded.
    :param port: the port, when given.
    :param query: query parameters (last value wins).
    """

    scheme: str
    host: str
    path: str
    port: int | None = None
    query: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, url: str) -> StorageUrl:
        """Split ``url``; only the syntax is checked here, drivers check the meaning.

        :raises InvalidStorageUrl: no scheme, or an invalid port.
        """
        parts = urlsplit(url.strip())
        if not parts.scheme:
            raise InvalidStorageUrl(f"url {url!r} has no scheme (expected e.g. nfs://server/path)")
        try:
            port = parts.port
        except ValueError as exc:
            raise InvalidStorageUrl(f"url {url!r} has an invalid port") from exc
        query = {}
        for pair in filter(None, parts.query.split("&")):
            key, _, value = pair.partition("=")
            query[unquote(key)] = unquote(value)
        return cls(parts.scheme.lower(), parts.hostname or "", unquote(parts.path), port, query)


@dataclass(frozen=True)
class StorageCapacity:
    """Capacity as the storage reports it, in bytes (``used_bytes <= total_bytes``)."""

    total_bytes: int
    used_bytes: int

    @property
    def free_bytes(self) -> int:
        """``total_bytes - used_bytes``, never negative."""
        return max(0, self.total_bytes - self.used_bytes)


@dataclass(frozen=True)
class PoolRef:
    """A primary storage pool as the management server names it to its driver.

    :param uuid: the pool's public id (stable across renames).
    :param url: its URL (``nfs://server/path``).
    :param details: protocol extras (``storage.sr_name_label``, credentials ...).
    """

    uuid: str
    url: str
    details: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class StoredVolume:
    """A volume created on a pool: ``path`` is its handle (file, LUN, VDI uuid)."""

    path: str
    size_bytes: int


@dataclass(frozen=True)
class StoreRef:
    """A secondary storage store (``nfs://server/export``, ``file:///var/lib/...``)."""

    uuid: str
    url: str
    details: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class StoredObject:
    """A template, ISO or snapshot on secondary storage.

    :param path: its path relative to the store (``template/tmpl/2/201/...``).
    :param size_bytes: virtual size (what a volume made from it needs).
    :param physical_size_bytes: bytes it occupies on the store.
    """

    path: str
    size_bytes: int
    physical_size_bytes: int


# ---- the contracts -------------------------------------------------------------------


class PrimaryStorageDriver(Driver):
    """The contract of primary storage: pools that hold VM disk volumes."""

    def validate_url(self, url: str, details: Mapping[str, str]) -> StorageUrl:
        """Check a pool URL for this driver's protocol(s) before anything is stored.

        :raises InvalidStorageUrl: wrong scheme or missing server/path/IQN/LUN.
        """
        raise NotImplementedError

    def attach_pool(self, pool: PoolRef) -> StorageCapacity:
        """Make the pool usable (mount it, log in to the target, find the datastore);
        idempotent. Blocks for as long as the storage needs.

        :return: its capacity, to be materialised by the caller.
        :raises StorageUnreachable: the server did not answer.
        :raises StorageOperationFailed: it answered with a refusal.
        """
        raise NotImplementedError

    def detach_pool(self, pool: PoolRef) -> None:
        """Stop using the pool (unmount, log out); idempotent. Volumes stay."""
        raise NotImplementedError

    def pool_capacity(self, pool: PoolRef) -> StorageCapacity:
        """Current total and used bytes; cheap enough for a periodic statistics task.

        :raises StorageUnreachable: the server did not answer.
        """
        raise NotImplementedError

    def create_volume(
        self, pool: PoolRef, name: str, size_bytes: int, template: StoredObject | None = None
    ) -> StoredVolume:
        """Create a volume of ``size_bytes`` (or of the template's size, if larger),
        from ``template`` when given.

        :raises StorageOperationFailed: no room, or the template cannot be read.
        """
        raise NotImplementedError

    def delete_volume(self, pool: PoolRef, path: str) -> None:
        """Delete a volume; deleting a missing one succeeds."""
        raise NotImplementedError


class SecondaryStorageDriver(Driver):
    """The contract of secondary storage: stores for templates, ISOs and snapshots."""

    def validate_url(self, url: str, details: Mapping[str, str]) -> StorageUrl:
        """Check a store URL (``nfs://server/export``; ``file:///dir`` for a local one).

        :raises InvalidStorageUrl: wrong scheme or missing server/path.
        """
        raise NotImplementedError

    def attach_store(self, store: StoreRef) -> StorageCapacity:
        """Make the store usable; idempotent.

        :raises StorageUnreachable: the server did not answer.
        """
        raise NotImplementedError

    def store_capacity(self, store: StoreRef) -> StorageCapacity:
        """Current total and used bytes."""
        raise NotImplementedError

    def register_template(self, store: StoreRef, path: str, source_url: str) -> StoredObject:
        """Download ``source_url`` to ``path`` on the store; blocks until done.
        Registering the same path again returns the existing object.

        :raises StorageOperationFailed: the download or the write failed.
        """
        raise NotImplementedError

    def list_objects(self, store: StoreRef) -> dict[str, StoredObject]:
        """Every object on the store, by path (template sync)."""
        raise NotImplementedError

    def delete_object(self, store: StoreRef, path: str) -> None:
        """Delete an object; deleting a missing one succeeds."""
        raise NotImplementedError
