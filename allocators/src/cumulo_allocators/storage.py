"""The standard storage pool allocators, asked in the order of
``storage.pool.allocators.order`` (default ``FirstFitStorage,LocalStorage``).

- ``FirstFitStorage``: shared pools of the host's cluster, carrying the disk's storage
  tags, ``Up``, with room; the first by id (4.1's ``FirstFitStoragePoolAllocator``).
- ``LocalStorage``: the host's own local pool, for disks that must be local (the
  offering's ``storagetype=local``, or system VMs with
  ``system.vm.local.storage.required``), and for any disk when ``use.local.storage`` is
  true and no shared pool took it (it comes after ``FirstFitStorage``).
"""

from __future__ import annotations

from typing import ClassVar

from cumulo.sdk import (
    AllocationContext,
    CandidateHost,
    CandidatePool,
    DiskRequest,
    StoragePoolAllocator,
)

GB = 1024**3


def _common(pool: CandidatePool, disk: DiskRequest) -> str | None:
    """Status, tags and room: the rules every pool allocator applies."""
    if pool.status != "Up":
        return "in maintenance" if "Maintenance" in pool.status else f"not Up ({pool.status})"
    for tag in disk.tags:
        if tag not in pool.tags:
            return f"lacking storage tag '{tag}'"
    if pool.free_bytes < disk.size_bytes:
        return f"without {-(-disk.size_bytes // GB)} GB free"
    return None


class FirstFitStorageAllocator(StoragePoolAllocator):
    """Shared (cluster) pools, first fit by id."""

    name: ClassVar[str] = "FirstFitStorage"

    def handles(self, disk: DiskRequest, ctx: AllocationContext) -> bool:
        return not disk.local

    def reject(
        self, pool: CandidatePool, disk: DiskRequest, host: CandidateHost, ctx: AllocationContext
    ) -> str | None:
        if pool.scope != "CLUSTER":
            return "local to a host"
        return _common(pool, disk)


class LocalStorageAllocator(StoragePoolAllocator):
    """The host's local pool."""

    name: ClassVar[str] = "LocalStorage"
    settings_keys: ClassVar[tuple[str, ...]] = ("use.local.storage",)

    def handles(self, disk: DiskRequest, ctx: AllocationContext) -> bool:
        return disk.local or ctx.bool_setting("use.local.storage")

    def reject(
        self, pool: CandidatePool, disk: DiskRequest, host: CandidateHost, ctx: AllocationContext
    ) -> str | None:
        if pool.scope != "HOST":
            return "shared, not local"
        return _common(pool, disk)
