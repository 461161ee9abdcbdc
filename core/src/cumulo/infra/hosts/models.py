"""The ``cluster``, ``host`` and ``hypervisor_capabilities`` tables, with their details
and tags, in CloudStack 4.1's shape.

A host's capacity is materialised (DESIGN.md §3): ``cpus * speed`` and ``total_memory``
are what the hypervisor reported; ``free_cpu`` (MHz) and ``free_memory`` (bytes) are
what is left after reservations, kept in indexed columns so that "a host of this
cluster with room for this offering" is one indexed query, and a reservation is one
conditional ``UPDATE``. Secrets (the host's and the vCenter's passwords) live in the
``*_details`` tables as ``ENC(...)`` under the database key; no response shows them.
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

from cumulo.db.base import Base, IdentityMixin, IdType, UtcDateTime, new_uuid
from cumulo.infra.models import AllocationState


class ClusterType(enum.StrEnum):
    """``cluster.cluster_type`` (``Cluster.ClusterType``): vCenter clusters are
    ``ExternalManaged``, every other hypervisor's ``CloudManaged``."""

    CLOUD_MANAGED = "CloudManaged"
    EXTERNAL_MANAGED = "ExternalManaged"


class ManagedState(enum.StrEnum):
    """``cluster.managed_state`` (``Managed.ManagedState``, REQ-CL-06)."""

    MANAGED = "Managed"
    PREPARE_UNMANAGED = "PrepareUnmanaged"
    UNMANAGED = "Unmanaged"
    PREPARE_UNMANAGED_ERROR = "PrepareUnmanagedError"


class HostType(enum.StrEnum):
    """``host.type`` values this package creates (``Host.Type``; more exist in 4.1)."""

    ROUTING = "Routing"
    SECONDARY_STORAGE = "SecondaryStorage"
    STORAGE = "Storage"
    CONSOLE_PROXY = "ConsoleProxy"
    SECONDARY_STORAGE_VM = "SecondaryStorageVM"
    LOCAL_SECONDARY_STORAGE = "LocalSecondaryStorage"


class HostStatus(enum.StrEnum):
    """``host.status``: the connection as pings see it (``com.cloud.host.Status``)."""

    CREATING = "Creating"
    CONNECTING = "Connecting"
    UP = "Up"
    DOWN = "Down"
    DISCONNECTED = "Disconnected"
    ALERT = "Alert"
    REMOVED = "Removed"
    ERROR = "Error"
    REBALANCING = "Rebalancing"


class ResourceState(enum.StrEnum):
    """``host.resource_state``: what the administrator decided (``ResourceState``)."""

    CREATING = "Creating"
    ENABLED = "Enabled"
    DISABLED = "Disabled"
    PREPARE_FOR_MAINTENANCE = "PrepareForMaintenance"
    ERROR_IN_MAINTENANCE = "ErrorInMaintenance"
    MAINTENANCE = "Maintenance"
    ERROR = "Error"


class Cluster(IdentityMixin, Base):
    """A group of homogeneous hosts of one hypervisor under a pod (REQ-OM-01, REQ-CL-01)."""

    __tablename__ = "cluster"

    name: Mapped[str] = mapped_column(String(255))
    guid: Mapped[str | None] = mapped_column(String(255), unique=True)
    pod_id: Mapped[int] = mapped_column(IdType, ForeignKey("host_pod_ref.id"), index=True)
    data_center_id: Mapped[int] = mapped_column(IdType, ForeignKey("data_center.id"), index=True)
    hypervisor_type: Mapped[str] = mapped_column(String(32))
    cluster_type: Mapped[str] = mapped_column(String(64), default=ClusterType.CLOUD_MANAGED.value)
    allocation_state: Mapped[str] = mapped_column(String(32), default=AllocationState.ENABLED.value)
    managed_state: Mapped[str] = mapped_column(
        String(32), default=ManagedState.MANAGED.value, server_default=ManagedState.MANAGED.value
    )


class ClusterDetail(Base):
    """One ``cluster_details`` pair: the vCenter URL, user and (encrypted) password of a
    VMware cluster (REQ-OM-04), the Nexus VSM fields, CPU/RAM overcommit later."""

    __tablename__ = "cluster_details"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    cluster_id: Mapped[int] = mapped_column(IdType, ForeignKey("cluster.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    value: Mapped[str] = mapped_column(String(255))

    __table_args__ = (UniqueConstraint("cluster_id", "name"),)


class Host(IdentityMixin, Base):
    """A hypervisor host (``type`` ``Routing``) or another agent-like resource.

    ``status`` follows pings (:mod:`cumulo.infra.hosts.lifecycle`); ``resource_state``
    follows the administrator (enable/disable, maintenance). ``last_ping`` and
    ``disconnected`` are naive UTC timestamps of the database clock.
    """

    __tablename__ = "host"

    name: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(32), default=HostType.ROUTING.value)
    status: Mapped[str] = mapped_column(String(32), default=HostStatus.CONNECTING.value)
    resource_state: Mapped[str] = mapped_column(
        String(32), default=ResourceState.ENABLED.value, server_default="Enabled"
    )
    data_center_id: Mapped[int] = mapped_column(IdType, ForeignKey("data_center.id"), index=True)
    pod_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("host_pod_ref.id"), index=True)
    # Secondary storage "hosts" belong to a zone, not to a cluster.
    cluster_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("cluster.id"))
    private_ip_address: Mapped[str | None] = mapped_column(String(40))
    url: Mapped[str | None] = mapped_column(String(255))
    guid: Mapped[str | None] = mapped_column(String(255), unique=True)
    hypervisor_type: Mapped[str | None] = mapped_column(String(32))
    hypervisor_version: Mapped[str | None] = mapped_column(String(32))
    version: Mapped[str | None] = mapped_column(String(40))
    capabilities: Mapped[str | None] = mapped_column(String(255))
    cpu_sockets: Mapped[int | None] = mapped_column(Integer)
    cpus: Mapped[int | None] = mapped_column(Integer)
    speed: Mapped[int | None] = mapped_column(Integer)  # MHz per core
    total_memory: Mapped[int | None] = mapped_column(BigInteger)  # bytes (4.1's ``ram``)
    # Materialised free capacity; a reservation decrements it in its own transaction.
    free_cpu: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    free_memory: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    os_category_id: Mapped[int | None] = mapped_column(IdType)
    last_ping: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    disconnected: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    mgmt_server_id: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (
        # The lifecycle tick selects by status and ping age.
        Index(None, "status", "last_ping"),
        # Allocation: a host of this cluster with enough free CPU / memory.
        Index(None, "cluster_id", "free_cpu"),
        Index(None, "cluster_id", "free_memory"),
    )


class HostDetail(Base):
    """One ``host_details`` pair: the login (``username``, ``password`` as ``ENC(...)``)
    and whatever else the driver reported."""

    __tablename__ = "host_details"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    host_id: Mapped[int] = mapped_column(IdType, ForeignKey("host.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    value: Mapped[str] = mapped_column(String(255))

    __table_args__ = (UniqueConstraint("host_id", "name"),)


class HostTag(Base):
    """One tag of a host (``host_tags``): matched against offerings' host tags, and
    ``ha.tag`` marks HA hosts (REQ-HOST-07, REQ-HOST-08)."""

    __tablename__ = "host_tags"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    host_id: Mapped[int] = mapped_column(IdType, ForeignKey("host.id", ondelete="CASCADE"))
    tag: Mapped[str] = mapped_column(String(255), index=True)

    __table_args__ = (UniqueConstraint("host_id", "tag"),)


class HypervisorCapabilities(Base):
    """What one hypervisor version supports (``hypervisor_capabilities``), seeded with
    4.1's rows by the migration; ``updateHypervisorCapabilities`` edits them."""

    __tablename__ = "hypervisor_capabilities"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(40), unique=True, default=new_uuid)
    hypervisor_type: Mapped[str] = mapped_column(String(32))
    hypervisor_version: Mapped[str | None] = mapped_column(String(32))
    max_guests_limit: Mapped[int | None] = mapped_column(BigInteger, default=50)
    security_group_enabled: Mapped[bool] = mapped_column(
        Boolean, default=True, server_default=true()
    )

    __table_args__ = (UniqueConstraint("hypervisor_type", "hypervisor_version"),)
