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

Template downloads (:meth:`SecondaryStorageDriver.download_template`) take a
:class:`TemplateSource`: the URL, a progress callback and the management server's
address policy (``secstorage.allowed.internal.sites``). A driver that fetches the bits
itself uses :func:`fetch_url`, which resolves the host once, checks every address
against that policy and connects to the checked address, so a name that resolves to a
public address when registered and to an internal one when downloaded (DNS rebinding)
is still refused; redirects are re-checked hop by hop.
"""

from __future__ import annotations

import hashlib
import http.client
import ipaddress
import socket
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import BinaryIO
from urllib.parse import unquote, urljoin, urlsplit

from cumulo.sdk.driver import Driver
from cumulo.sdk.hypervisor import HostConnection

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
    :param hosts: hypervisor hosts that can reach the pool (the ``Up`` hosts of its
        cluster), the host the operation is for first when there is one (the host a VM
        starts on), for drivers that reach storage through a host: KVM defines the pool
        in the host's libvirtd and works on volumes there; XenServer reaches the pool's
        SR through a host's XenAPI session; VMware names the ESXi host whose datastore
        it is. Drivers that talk to the storage itself ignore it. As for pings, the
        connections carry the URL and user name but no password (a driver uses the
        session its ``connect`` opened, or a transport that needs none) — except
        during a VM start, where the first (the VM's host) carries the host's
        credentials, so a driver in a process that has not logged in yet can create
        the VM's volumes; empty when no host is ``Up``.
    """

    uuid: str
    url: str
    details: Mapping[str, str] = field(default_factory=dict)
    hosts: tuple[HostConnection, ...] = ()


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
    digests: Mapping[str, str] = field(default_factory=dict, compare=False)
    """Hex digests of the bytes as downloaded, by algorithm (``md5``, ``sha256``); empty
    when the driver never saw the bytes (a simulated store), so nothing can be verified.
    Not part of equality: a later listing need not repeat them."""


IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Progress = Callable[[int, int | None], None]
"""``progress(downloaded_bytes, total_bytes or None)``: called as a download advances."""


def public_only(address: IpAddress) -> bool:
    """The default address policy: only globally routable addresses."""
    return address.is_global


@dataclass(frozen=True)
class TemplateSource:
    """Where a template comes from and how to fetch it.

    :param url: an ``http://`` or ``https://`` URL (already checked once by the core).
    :param address_allowed: whether an address the URL's host resolves to may be
        connected to (the core's ``secstorage.allowed.internal.sites`` policy).
    :param progress: told of the bytes fetched so far; may be ``None``.
    :param timeout: seconds a connect or a read may stall before the download fails.
    """

    url: str
    address_allowed: Callable[[IpAddress], bool] = public_only
    progress: Progress | None = None
    timeout: float = 60.0


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

    def resize_volume(self, pool: PoolRef, path: str, size_bytes: int) -> StoredVolume:
        """Give the volume at ``path`` the virtual size ``size_bytes`` (``resizeVolume``;
        the caller has checked that shrinking was asked for explicitly). Blocks until
        done; resizing to the current size succeeds. Optional: the default refuses.

        :raises StorageOperationFailed: no room on the pool, a missing volume, or a
            driver that cannot resize.
        """
        raise StorageOperationFailed(f"{self.name} storage cannot resize volumes")

    def copy_volume(self, source: PoolRef, path: str, target: PoolRef, name: str) -> StoredVolume:
        """Copy the volume at ``path`` on ``source`` to a new volume ``name`` on
        ``target`` (``migrateVolume``); the source stays, the caller deletes it once the
        copy is recorded. Copying again over a half-written ``name`` must succeed.
        Optional: the default refuses.

        :raises StorageOperationFailed: no room on ``target``, a missing source, or a
            driver that cannot copy between pools.
        """
        raise StorageOperationFailed(f"{self.name} storage cannot copy volumes between pools")

    def copy_to_store(
        self,
        pool: PoolRef,
        path: str,
        store: StoreRef,
        target_path: str,
        progress: Progress | None = None,
    ) -> StoredObject:
        """Copy the volume or snapshot at ``path`` on ``pool`` to ``target_path`` on the
        secondary store ``store`` (``createTemplate`` from a volume or a snapshot), as
        an image a volume can later be created from; blocks until done and tells
        ``progress`` as it goes. The source stays. Copying again over a half-written
        ``target_path`` must succeed. Optional: the default refuses.

        The returned object's ``size_bytes`` is the virtual size (the source volume's),
        ``physical_size_bytes`` what the image occupies on the store, and ``digests``
        those of the bytes written, when they passed through the driver.

        :raises StorageOperationFailed: a missing source, no room on the store, or a
            driver that cannot copy to secondary storage.
        """
        raise StorageOperationFailed(
            f"{self.name} storage cannot copy volumes to secondary storage"
        )


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

    def download_template(self, store: StoreRef, path: str, source: TemplateSource) -> StoredObject:
        """Download ``source`` to ``path``, telling ``source.progress`` as it goes, and
        return the object with the digests of what was written (when the bytes passed
        through the driver). Blocks until done. Must honour ``source.address_allowed``
        (use :func:`fetch_url`).

        The default runs :meth:`register_template` (no progress, no digests), so drivers
        written before this method keep working.

        :raises StorageOperationFailed: the download, the address check or the write
            failed; ``str()`` says why, for the template's status.
        """
        return self.register_template(store, path, source.url)

    def copy_object(
        self,
        source_store: StoreRef,
        path: str,
        target_store: StoreRef,
        progress: Progress | None = None,
    ) -> StoredObject:
        """Copy the object at ``path`` from ``source_store`` to the same path on
        ``target_store`` (copying a template between zones); blocks until done.

        :raises StorageOperationFailed: the driver cannot copy, or the copy failed.
        """
        raise StorageOperationFailed(f"{self.name} storage cannot copy objects between stores")

    def copy_within_store(
        self,
        store: StoreRef,
        path: str,
        target_path: str,
        progress: Progress | None = None,
    ) -> StoredObject:
        """Copy the object at ``path`` to ``target_path`` on the same store
        (``createTemplate`` from a snapshot reads the snapshot's backup, as 4.1's
        ``CreatePrivateTemplateFromSnapshotCommand`` does on secondary storage); blocks
        until done and tells ``progress`` as it goes. The source stays. Copying again
        over a half-written ``target_path`` must succeed. Optional: the default refuses
        (the core then copies from the snapshot's primary copy instead).

        The returned object's ``size_bytes`` is the source's virtual size,
        ``physical_size_bytes`` what the copy occupies, ``digests`` those of the bytes
        written when they passed through the driver.

        :raises StorageOperationFailed: a missing source, no room on the store, or a
            driver that cannot copy within a store.
        """
        raise StorageOperationFailed(f"{self.name} storage cannot copy objects within a store")

    def list_objects(self, store: StoreRef) -> dict[str, StoredObject]:
        """Every object on the store, by path (template sync)."""
        raise NotImplementedError

    def delete_object(self, store: StoreRef, path: str) -> None:
        """Delete an object; deleting a missing one succeeds."""
        raise NotImplementedError


# ---- fetching templates over HTTP ------------------------------------------------------

MAX_REDIRECTS = 5
CHUNK_BYTES = 1024 * 1024


@dataclass(frozen=True)
class FetchResult:
    """What :func:`fetch_url` wrote: its size and digests (``md5``, ``sha256``)."""

    size_bytes: int
    digests: Mapping[str, str]


def resolve_checked(host: str, port: int, allowed: Callable[[IpAddress], bool]) -> IpAddress:
    """The first address ``host`` resolves to, after checking every one of them.

    :raises StorageOperationFailed: the name does not resolve, or one of its addresses
        is refused by ``allowed`` (all are checked: a name with one internal address
        among public ones could be steered to it).
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise StorageOperationFailed(f"cannot resolve {host}: {exc}") from exc
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    if not addresses:  # pragma: no cover - getaddrinfo raises instead
        raise StorageOperationFailed(f"cannot resolve {host}")
    for address in addresses:
        if not allowed(address):
            raise StorageOperationFailed(
                f"{host} resolves to the internal address {address}, which is not in"
                " secstorage.allowed.internal.sites"
            )
    return addresses[0]


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    # Connects to the checked address but verifies the certificate for the host name.
    def __init__(self, address: str, port: int, server_name: str, timeout: float) -> None:
        super().__init__(address, port, timeout=timeout, context=ssl.create_default_context())
        self._server_name = server_name

    def connect(self) -> None:
        sock = socket.create_connection((self.host, self.port), self.timeout)
        self.sock = self._context.wrap_socket(  # type: ignore[attr-defined]
            sock, server_hostname=self._server_name
        )


def fetch_url(url: str, sink: BinaryIO, source: TemplateSource | None = None) -> FetchResult:
    """Stream ``url`` into ``sink`` (http/https only), hashing as it goes.

    :param source: the address policy, progress callback and timeout (``url`` wins
        over ``source.url``, so a driver may fetch a rewritten URL under the same policy).
    :raises StorageOperationFailed: a refused or unresolvable address, a scheme other
        than http/https, an HTTP error status, too many redirects, a short read or a
        network error; the message says which.
    """
    policy = source or TemplateSource(url)
    for _ in range(MAX_REDIRECTS + 1):
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https") or not parts.hostname:
            raise StorageOperationFailed(f"only http:// and https:// URLs can be fetched: {url}")
        try:
            port = parts.port or (443 if scheme == "https" else 80)
        except ValueError as exc:
            raise StorageOperationFailed(f"invalid port in {url}") from exc
        address = str(resolve_checked(parts.hostname, port, policy.address_allowed))
        connection: http.client.HTTPConnection
        if scheme == "https":
            connection = _PinnedHTTPSConnection(address, port, parts.hostname, policy.timeout)
        else:
            connection = http.client.HTTPConnection(address, port, timeout=policy.timeout)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        host_header = parts.hostname if parts.port is None else f"{parts.hostname}:{parts.port}"
        try:
            connection.request("GET", target, headers={"Host": host_header, "User-Agent": "cumulo"})
            response = connection.getresponse()
            if response.status in (301, 302, 303, 307, 308):
                location = response.getheader("Location")
                if not location:
                    raise StorageOperationFailed(f"{url} redirects without a Location")
                url = urljoin(url, location)
                continue
            if response.status != 200:
                raise StorageOperationFailed(
                    f"{url} answered HTTP {response.status} {response.reason}"
                )
            return _stream(response, sink, policy.progress)
        except (OSError, http.client.HTTPException) as exc:
            raise StorageOperationFailed(f"downloading {url} failed: {exc}") from exc
        finally:
            connection.close()
    raise StorageOperationFailed(f"{url}: more than {MAX_REDIRECTS} redirects")


def _stream(
    response: http.client.HTTPResponse, sink: BinaryIO, progress: Progress | None
) -> FetchResult:
    length = response.getheader("Content-Length")
    total = int(length) if length and length.isdigit() else None
    md5, sha256 = hashlib.md5(usedforsecurity=False), hashlib.sha256()
    done = 0
    if progress is not None:
        progress(0, total)
    while chunk := response.read(CHUNK_BYTES):
        sink.write(chunk)
        md5.update(chunk)
        sha256.update(chunk)
        done += len(chunk)
        if progress is not None:
            progress(done, total)
    if total is not None and done != total:
        raise StorageOperationFailed(f"the server closed after {done} of {total} bytes")
    return FetchResult(done, {"md5": md5.hexdigest(), "sha256": sha256.hexdigest()})
