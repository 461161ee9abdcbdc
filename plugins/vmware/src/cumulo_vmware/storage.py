"""The ``VMware`` primary storage driver: vSphere datastores of a vCenter cluster.

Pool URLs (``createStoragePool``):

- ``vmfs://<vcenter>/<datacenter>/<datastore>``: an existing datastore, by name (4.1's
  VMFS form; also any other datastore type, e.g. vcsim's ``LocalDS_0``);
- ``nfs://<server>/<export>``: the NFS datastore of that export, found among the
  datacenter's datastores by its remote host and path (the vSphere administrator
  mounts it on the cluster's hosts, as for 4.1).

vCenter is reached through the pool's hosts (:attr:`PoolRef.hosts`: the cluster's
``Up`` hosts, whose URLs name the vCenter, its port and the datacenter), with the
session the hypervisor driver opened in this process (pool references carry no
password). Volumes are thin VMDKs ``[<datastore>] cumulo/<name>.vmdk``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, ClassVar
from urllib.parse import unquote

from cumulo.sdk import (
    HostUnreachable,
    InvalidStorageUrl,
    OperationFailed,
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
from cumulo.sdk.storage import TemplateSource
from cumulo_vmware import disks, secondary, templates, vmconfig
from cumulo_vmware.vcenter import (
    ClusterUrl,
    collect,
    faults,
    find_datacenter,
    parse_url,
    service_instance,
)
from cumulo_vmware.vmomi import vim


class VmwareStorage(PrimaryStorageDriver, SecondaryStorageDriver):
    """Datastores as primary storage (contract: :class:`PrimaryStorageDriver`) and a
    management-server directory as secondary storage (:class:`SecondaryStorageDriver`,
    :mod:`.secondary`)."""

    name: ClassVar[str] = "VMware"
    provides: ClassVar[tuple[str, ...]] = ("storage:VMware",)

    def validate_url(self, url: str, details: Mapping[str, str]) -> StorageUrl:
        """Pools: ``vmfs://vcenter/datacenter/datastore`` or ``nfs://server/export``;
        stores: ``file:///path``."""
        parsed = StorageUrl.parse(url)
        if parsed.scheme == "file":
            return secondary.validate_store_url(url)
        segments = [s for s in parsed.path.split("/") if s]
        if parsed.scheme == "vmfs":
            if not parsed.host or len(segments) != 2:
                raise InvalidStorageUrl(
                    f"url {url!r}: expected vmfs://<vcenter>/<datacenter>/<datastore>"
                )
        elif parsed.scheme == "nfs":
            if not parsed.host or not segments:
                raise InvalidStorageUrl(f"url {url!r}: expected nfs://<server>/<export>")
        else:
            raise InvalidStorageUrl(
                f"url {url!r}: VMware primary storage is vmfs://<vcenter>/<datacenter>/"
                "<datastore> or nfs://<server>/<export>; secondary storage file:///path"
            )
        return parsed

    # ---- finding the datastore ----------------------------------------------------------

    def _vcenter(self, pool: PoolRef) -> tuple[Any, ClusterUrl]:
        if not pool.hosts:
            raise StorageUnreachable(
                f"pool {pool.url}: no Up host of its cluster to reach vCenter through"
            )
        connection = pool.hosts[0]
        try:
            where = parse_url(connection.url, host=True)
            return service_instance(where, connection), where
        except HostUnreachable as exc:
            raise StorageUnreachable(f"pool {pool.url}: {exc}") from exc
        except OperationFailed as exc:
            raise StorageOperationFailed(f"pool {pool.url}: {exc}") from exc

    def _datastore(self, pool: PoolRef) -> tuple[Any, Any, Any]:
        """(service instance, datacenter, datastore) of the pool."""
        instance, where = self._vcenter(pool)
        parsed = self.validate_url(pool.url, pool.details)
        segments = [unquote(s) for s in parsed.path.split("/") if s]
        try:
            with faults(f"finding the datastore of pool {pool.url}"):
                if parsed.scheme == "vmfs":
                    where = ClusterUrl(where.server, where.port, segments[0], where.cluster)
                datacenter = find_datacenter(instance, where)
                stores = list(datacenter.datastore)
                found = collect(instance, stores, vim.Datastore, ["name", "summary", "info"])
                for store in stores:
                    props = found.get(store._moId)
                    if props is not None and self._matches(parsed, segments, props):
                        return instance, datacenter, store
        except HostUnreachable as exc:
            raise StorageUnreachable(str(exc)) from exc
        except OperationFailed as exc:
            raise StorageOperationFailed(str(exc)) from exc
        raise StorageOperationFailed(
            f"pool {pool.url}: datacenter {where.datacenter!r} has no such datastore"
            f" (it has {', '.join(sorted(str(p.get('name')) for p in found.values()))})"
        )

    @staticmethod
    def _matches(parsed: StorageUrl, segments: list[str], props: Mapping[str, Any]) -> bool:
        if parsed.scheme == "vmfs":
            return bool(props.get("name") == segments[-1])
        nas = getattr(props.get("info"), "nas", None)
        if nas is None:
            return False
        export = "/" + "/".join(segments)
        return bool(nas.remoteHost == parsed.host and nas.remotePath.rstrip("/") == export)

    @staticmethod
    def _capacity(instance: Any, store: Any) -> StorageCapacity:
        summary = collect(instance, [store], vim.Datastore, ["summary"])[store._moId]["summary"]
        total = int(summary.capacity)
        return StorageCapacity(total, max(0, min(total, total - int(summary.freeSpace))))

    # ---- the contract ----------------------------------------------------------------

    def attach_pool(self, pool: PoolRef) -> StorageCapacity:
        """Find the datastore (nothing is mounted: vSphere datastores are mounted on
        the cluster by its administrator) and report its capacity."""
        instance, _, store = self._datastore(pool)
        return self._capacity(instance, store)

    def detach_pool(self, pool: PoolRef) -> None:
        """Nothing to undo: the datastore stays mounted for vSphere's own use."""

    def pool_capacity(self, pool: PoolRef) -> StorageCapacity:
        instance, _, store = self._datastore(pool)
        return self._capacity(instance, store)

    def create_volume(
        self, pool: PoolRef, name: str, size_bytes: int, template: StoredObject | None = None
    ) -> StoredVolume:
        """A thin VMDK ``[<datastore>] cumulo/<name>.vmdk``; from a template, a copy of
        the template's VMDK, seeded once per datastore (:mod:`.templates`)."""
        size = max(size_bytes, template.size_bytes if template is not None else 0)
        try:
            instance, datacenter, store = self._datastore(pool)
        except StorageUnreachable:
            lazy = self._lazy_path(pool, name)
            if template is not None or lazy is None:
                raise
            # No vCenter session in this process (pool references carry no password):
            # the hypervisor driver creates the VMDK when the volume is first attached
            # or its VM starts (ensure_disk), as 4.1 leaves VMware volumes Allocated.
            return StoredVolume(lazy, size)
        path = f"[{store.name}] {vmconfig.VOLUME_FOLDER}/{name}.vmdk"
        with _storage_faults(f"creating volume {path}"):
            if template is None:
                disks.ensure_disk(instance, datacenter, path, size)
            else:
                seeded = templates.seed(instance, datacenter, store.name, template)
                disks.copy_disk(instance, datacenter, seeded, path)
        return StoredVolume(path, size)

    def _lazy_path(self, pool: PoolRef, name: str) -> str | None:
        # The volume's path when the datastore is named in the URL (VMFS form).
        parsed = self.validate_url(pool.url, pool.details)
        if parsed.scheme != "vmfs":
            return None
        store = unquote([s for s in parsed.path.split("/") if s][-1])
        return f"[{store}] {vmconfig.VOLUME_FOLDER}/{name}.vmdk"

    def delete_volume(self, pool: PoolRef, path: str) -> None:
        instance, datacenter, _ = self._datastore(pool)
        with _storage_faults(f"deleting volume {path}"):
            disks.delete_disk(instance, datacenter, path)

    # ---- secondary storage --------------------------------------------------------------

    def attach_store(self, store: StoreRef) -> StorageCapacity:
        """The directory must exist (an NFS export mounted there by the operator)."""
        return secondary.capacity(store)

    def store_capacity(self, store: StoreRef) -> StorageCapacity:
        return secondary.capacity(store)

    def register_template(self, store: StoreRef, path: str, source_url: str) -> StoredObject:
        return self.download_template(store, path, TemplateSource(source_url))

    def download_template(self, store: StoreRef, path: str, source: TemplateSource) -> StoredObject:
        """Fetch the template (an OVA, as 4.1 registers VMware templates) to ``path``."""
        return secondary.download(store, path, source)

    def list_objects(self, store: StoreRef) -> dict[str, StoredObject]:
        return secondary.objects(store)

    def delete_object(self, store: StoreRef, path: str) -> None:
        secondary.delete(store, path)


@contextmanager
def _storage_faults(what: str) -> Iterator[None]:
    """:func:`~cumulo_vmware.vcenter.faults`, as the storage contract's errors."""
    try:
        with faults(what):
            yield
    except HostUnreachable as exc:
        raise StorageUnreachable(str(exc)) from exc
    except OperationFailed as exc:
        raise StorageOperationFailed(str(exc)) from exc
