"""The ``snapshots``, ``snapshot_policy`` and ``volume_host_ref`` tables, in CloudStack
4.1's shape: what of a volume lives beside it (its snapshots), what takes them on a
schedule (its policies), and a volume's copy on secondary storage (``uploadVolume``).

``snapshots.status`` (4.1's column name for the state) moves only through
:mod:`cumulo.volumes.states`, by conditional ``UPDATE``. A snapshot has two copies, as
in 4.1 (REQ-SS-01): the one the hypervisor driver took on primary storage (``path``,
with the hypervisor type and zone, so it can be deleted after its volume is gone) and
its backup on the zone's secondary storage (``store_id``, ``install_path``,
``physical_size``), which volumes and templates made from the snapshot read; ``size``
is the virtual size the backup reports (what a volume made from it needs). A
snapshot has one backup, on a store of its own zone, so the backup's place is three
columns of the snapshot rather than a ``snapshot_store_ref`` table of its own.

4.1 keeps the next run of a policy in a ``snapshot_schedule`` table with one row per
policy; here it is the policy's own ``next_run`` column (indexed with ``active``), so
the scheduler finds what is due in one indexed query and advances it in the same row.
A policy is deleted outright, as 4.1's ``deleteSnapshotPolicies`` does; the snapshots
it took stay.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from cumulo.db.base import Base, IdentityMixin, IdType, UtcDateTime, new_uuid, utcnow


class SnapshotState(enum.StrEnum):
    """``snapshots.status`` (4.1 ``Snapshot.State``)."""

    ALLOCATED = "Allocated"
    CREATING = "Creating"
    CREATED_ON_PRIMARY = "CreatedOnPrimary"
    BACKING_UP = "BackingUp"
    BACKED_UP = "BackedUp"
    ERROR = "Error"
    DESTROYED = "Destroyed"


class SnapshotType(enum.StrEnum):
    """``snapshots.snapshot_type`` (4.1 ``Snapshot.Type``): ``MANUAL`` for
    ``createSnapshot`` without a policy, the interval's name for a policy's snapshots."""

    MANUAL = "MANUAL"
    RECURRING = "RECURRING"
    TEMPLATE = "TEMPLATE"
    HOURLY = "HOURLY"
    DAILY = "DAILY"
    WEEKLY = "WEEKLY"
    MONTHLY = "MONTHLY"


class IntervalType(enum.IntEnum):
    """``snapshot_policy.interval`` (4.1 ``DateUtil.IntervalType`` ordinals, which
    ``SnapshotPolicyResponse.intervaltype`` shows as a number)."""

    HOURLY = 0
    DAILY = 1
    WEEKLY = 2
    MONTHLY = 3


class Snapshot(IdentityMixin, Base):
    """A point-in-time copy of a volume, taken by its hypervisor's driver."""

    __tablename__ = "snapshots"
    __table_args__ = (
        Index(None, "account_id", "status"),
        Index(None, "volume_id", "status"),
        Index(None, "policy_id", "status"),
        Index(None, "removed"),
    )

    data_center_id: Mapped[int] = mapped_column(IdType, ForeignKey("data_center.id"))
    account_id: Mapped[int] = mapped_column(IdType, ForeignKey("account.id"))
    domain_id: Mapped[int] = mapped_column(IdType, ForeignKey("domain.id"))
    volume_id: Mapped[int] = mapped_column(IdType, ForeignKey("volumes.id"))
    disk_offering_id: Mapped[int | None] = mapped_column(IdType)
    # The policy that took it (NULL: manual). No foreign key: policies are deleted
    # outright and their snapshots stay.
    policy_id: Mapped[int | None] = mapped_column(IdType)
    name: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(32), default=SnapshotState.ALLOCATED.value)
    snapshot_type: Mapped[str] = mapped_column(String(32), default=SnapshotType.MANUAL.value)
    path: Mapped[str | None] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    hypervisor_type: Mapped[str | None] = mapped_column(String(32))
    # The backup on secondary storage: the store (a ``host`` row of type
    # SecondaryStorage; no foreign key, as ``template_zone_ref.store_id``), the path on
    # it, and the bytes it takes there. Set when the snapshot is BackedUp.
    store_id: Mapped[int | None] = mapped_column(IdType)
    install_path: Mapped[str | None] = mapped_column(String(255))
    physical_size: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    update_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class SnapshotPolicy(Base):
    """A recurring snapshot schedule of one volume; at most one per interval type (a
    second ``createSnapshotPolicy`` of the same interval updates it, as 4.1 does)."""

    __tablename__ = "snapshot_policy"
    __table_args__ = (
        UniqueConstraint("volume_id", "interval"),
        Index(None, "active", "next_run"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(40), unique=True, default=new_uuid)
    volume_id: Mapped[int] = mapped_column(IdType, ForeignKey("volumes.id"))
    schedule: Mapped[str] = mapped_column(String(100))
    timezone: Mapped[str] = mapped_column(String(100))
    interval: Mapped[int] = mapped_column(Integer)
    max_snaps: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    next_run: Mapped[dt.datetime | None] = mapped_column(UtcDateTime(), default=None)
    last_run: Mapped[dt.datetime | None] = mapped_column(UtcDateTime(), default=None)


class VolumeHostRef(Base):
    """A volume's copy on a zone's secondary storage (4.1 ``volume_host_ref``): what
    ``uploadVolume`` downloads there, with the download's progress as 4.1 shows it."""

    __tablename__ = "volume_host_ref"
    __table_args__ = (UniqueConstraint("volume_id", "zone_id"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    volume_id: Mapped[int] = mapped_column(IdType, ForeignKey("volumes.id"))
    zone_id: Mapped[int] = mapped_column(IdType, ForeignKey("data_center.id"))
    # The secondary storage host (``host`` row of type SecondaryStorage) holding it.
    host_id: Mapped[int | None] = mapped_column(IdType)
    download_state: Mapped[str] = mapped_column(String(32))
    download_pct: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    error_str: Mapped[str | None] = mapped_column(String(1024))
    install_path: Mapped[str | None] = mapped_column(String(255))
    url: Mapped[str | None] = mapped_column(String(2048))
    checksum: Mapped[str | None] = mapped_column(String(255))
    format: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    physical_size: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    created: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    last_updated: Mapped[dt.datetime | None] = mapped_column(UtcDateTime(), default=None)
