"""The ``storage_pool``, ``storage_pool_details``, ``storage_pool_tags`` and ``swift``
tables, with CloudStack 4.1's column names.

Capacity is materialised on the pool row and kept there by the storage services, so
``listStoragePools`` and ``listCapacity`` read it in the same statement as everything
else (DESIGN.md §3) instead of asking a driver per row. Two figures, as 4.1 keeps two
capacity types: ``used_bytes`` is what the storage driver last reported (refreshed from
the driver, 4.1's type 2), ``allocated_bytes`` what volumes reserve on the pool (the
claims of placement and volume allocation, 4.1's type 3). They are separate columns so
that a refresh from the driver never overwrites the claims.

4.1 keeps a pool's tags as ``storage_pool_details`` rows whose value is ``"true"``, which
cannot tell a tag from a detail that happens to be true; here tags have their own
indexed table (as later CloudStack versions do) and details keep theirs.

Secondary storage has no table of its own: 4.1 stores it as a ``host`` row of type
``SecondaryStorage`` (:mod:`cumulo.infra.hosts.models`).
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cumulo.db.base import Base, IdentityMixin, IdType, UtcDateTime


class StoragePoolStatus(enum.StrEnum):
    """``storage_pool.status``: 4.1's ``StoragePoolStatus`` values cumulo uses."""

    UP = "Up"
    PREPARE_FOR_MAINTENANCE = "PrepareForMaintenance"
    MAINTENANCE = "Maintenance"
    ERROR_IN_MAINTENANCE = "ErrorInMaintenance"
    CANCEL_MAINTENANCE = "CancelMaintenance"
    REMOVED = "Removed"


class PoolScope(enum.StrEnum):
    """``storage_pool.scope``: shared by a cluster, or local to one host."""

    CLUSTER = "CLUSTER"
    HOST = "HOST"


class StoragePool(IdentityMixin, Base):
    """A primary storage pool: shared by one cluster (REQ-PS-01), or local to one host.

    ``host_address``/``path``/``port`` are what the URL said (:mod:`.urls`);
    ``user_info`` holds RBD's ``user:secret`` encrypted (``ENC(...)``) and is never shown.
    A host-local pool (scope ``HOST``, :mod:`.local`) is what a host reported when it
    connected: ``host_id`` is that host (4.1 keeps the link in ``storage_pool_host_ref``),
    ``host_address`` its management address, ``uuid`` the storage's own identity on the
    host, and ``cluster_id`` the host's cluster.
    """

    __tablename__ = "storage_pool"
    __table_args__ = (
        # One export is one pool cloud-wide: two rows for it would count its bytes twice.
        UniqueConstraint("host_address", "path", "port", "removed_key"),
        Index(None, "data_center_id", "status"),
    )

    name: Mapped[str] = mapped_column(String(255))
    pool_type: Mapped[str] = mapped_column(String(32))
    port: Mapped[int] = mapped_column(Integer, default=0)
    data_center_id: Mapped[int] = mapped_column(IdType, ForeignKey("data_center.id"))
    pod_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("host_pod_ref.id"), index=True)
    cluster_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("cluster.id"), index=True)
    capacity_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    used_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    # What volumes reserve (claims, conditional UPDATEs); never written from the driver.
    allocated_bytes: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    host_address: Mapped[str] = mapped_column(String(255))
    user_info: Mapped[str | None] = mapped_column(String(255))
    path: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(32), default=StoragePoolStatus.UP.value)
    scope: Mapped[str] = mapped_column(String(32), default=PoolScope.CLUSTER.value)
    # The host of a host-local pool (None for shared pools); deleteHost finds them by it.
    host_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("host.id"), index=True)
    update_time: Mapped[dt.datetime | None] = mapped_column(UtcDateTime(), default=None)
    # 0 while the pool exists, its id once removed: soft-deleted rows leave the unique
    # key free for the same export to be added again (NULL would not compare equal on
    # every back end in the same way).
    removed_key: Mapped[int] = mapped_column(IdType, default=0, server_default="0")


class StoragePoolDetail(Base):
    """One ``details`` entry of ``createStoragePool`` (``details[0].key=value``)."""

    __tablename__ = "storage_pool_details"
    __table_args__ = (UniqueConstraint("pool_id", "name"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    pool_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("storage_pool.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(255))
    value: Mapped[str] = mapped_column(String(255))


class StoragePoolTag(Base):
    """One storage tag of a pool; disk offerings' tags are matched against these
    (REQ-PS-03), so they are indexed by tag as well as by pool."""

    __tablename__ = "storage_pool_tags"
    __table_args__ = (UniqueConstraint("pool_id", "tag"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    pool_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("storage_pool.id", ondelete="CASCADE"), index=True
    )
    tag: Mapped[str] = mapped_column(String(255), index=True)


class Swift(IdentityMixin, Base):
    """The cloud-wide Swift store (REQ-SS-06); ``key`` is stored ``ENC(...)``."""

    __tablename__ = "swift"

    url: Mapped[str] = mapped_column(String(255))
    account: Mapped[str | None] = mapped_column(String(255))
    username: Mapped[str | None] = mapped_column(String(255))
    key: Mapped[str | None] = mapped_column(String(255))
