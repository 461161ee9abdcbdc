"""The ``volumes`` table, in CloudStack 4.1's shape.

A volume is a VM's ROOT disk (created from the template at deploy) or a DATADISK (from
a disk offering). ``pool_id`` is the primary storage pool holding it once created;
``path`` is the storage driver's handle of it. Volumes are soft-deleted (``removed``)
as CloudStack keeps their history for usage.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from cumulo.db.base import Base, IdentityMixin, IdType, UtcDateTime


class VolumeType(enum.StrEnum):
    """``volumes.volume_type`` (4.1 ``Volume.Type``)."""

    ROOT = "ROOT"
    DATADISK = "DATADISK"
    UNKNOWN = "UNKNOWN"


class VolumeState(enum.StrEnum):
    """``volumes.state`` (4.1 ``Volume.State``)."""

    ALLOCATED = "Allocated"
    CREATING = "Creating"
    READY = "Ready"
    RESIZING = "Resizing"
    MIGRATING = "Migrating"
    SNAPSHOTTING = "Snapshotting"
    UPLOADED = "Uploaded"
    UPLOADING = "UploadOp"
    DESTROY = "Destroy"
    EXPUNGING = "Expunging"
    EXPUNGED = "Expunged"


class Volume(IdentityMixin, Base):
    """One disk: a VM's root disk or a data disk, attached or not."""

    __tablename__ = "volumes"
    __table_args__ = (
        Index(None, "account_id", "state"),
        Index(None, "instance_id"),
        Index(None, "pool_id", "state"),
        Index(None, "data_center_id"),
        Index(None, "removed"),
    )

    name: Mapped[str] = mapped_column(String(255))
    account_id: Mapped[int] = mapped_column(IdType, ForeignKey("account.id"))
    domain_id: Mapped[int] = mapped_column(IdType, ForeignKey("domain.id"))
    data_center_id: Mapped[int] = mapped_column(IdType, ForeignKey("data_center.id"))
    pod_id: Mapped[int | None] = mapped_column(IdType)
    pool_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("storage_pool.id"))
    last_pool_id: Mapped[int | None] = mapped_column(IdType)
    instance_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("vm_instance.id"))
    device_id: Mapped[int | None] = mapped_column(Integer)
    volume_type: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(32), default=VolumeState.ALLOCATED.value)
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    disk_offering_id: Mapped[int | None] = mapped_column(IdType)
    template_id: Mapped[int | None] = mapped_column(IdType)
    # The snapshot it was made from (``createVolume snapshotid=``; 4.1's
    # ``VolumeResponse.snapshotid``). No foreign key: a snapshot is deleted while the
    # volumes made from it live on.
    snapshot_id: Mapped[int | None] = mapped_column(IdType)
    path: Mapped[str | None] = mapped_column(String(255))
    folder: Mapped[str | None] = mapped_column(String(255))
    format: Mapped[str | None] = mapped_column(String(32))
    attached: Mapped[dt.datetime | None] = mapped_column(UtcDateTime(), default=None)
    update_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    update_time: Mapped[dt.datetime | None] = mapped_column(UtcDateTime(), default=None)
