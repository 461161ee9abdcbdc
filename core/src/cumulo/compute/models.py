"""The ``vm_instance``, ``nics``, ``instance_group`` and ``instance_group_vm_map`` tables,
in CloudStack 4.1's shape (4.1 splits a guest VM over ``vm_instance`` and ``user_vm``;
cumulo keeps one row, as every guest-only column is nullable there).

``state`` moves only through :mod:`cumulo.compute.states`: a transition is one
conditional ``UPDATE ... WHERE id = ? AND state = ? AND update_count = ?`` so that two
concurrent transitions of the same VM cannot both win. ``vnc_password`` is ``ENC(...)``
under the database key; ``password`` (the guest's, for password-enabled templates) is
kept the same way until ``getVMPassword`` hands it out.

The hot queries are indexed: a tenant's VMs by state (``listVirtualMachines``), a host's
running VMs (capacity, HA, placement's UserDispersing planner), a zone's VMs, and the
expunge task's scan of ``Destroyed`` rows by ``removed``.
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
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from cumulo.db.base import Base, IdentityMixin, IdType, UtcDateTime


class VmState(enum.StrEnum):
    """``vm_instance.state``: 4.1's ``VirtualMachine.State``."""

    STARTING = "Starting"
    RUNNING = "Running"
    STOPPING = "Stopping"
    STOPPED = "Stopped"
    DESTROYED = "Destroyed"
    EXPUNGING = "Expunging"
    MIGRATING = "Migrating"
    ERROR = "Error"
    UNKNOWN = "Unknown"
    SHUTDOWNED = "Shutdowned"


class VmType(enum.StrEnum):
    """``vm_instance.type`` (4.1 ``VirtualMachine.Type``); only ``User`` is created here."""

    USER = "User"
    DOMAIN_ROUTER = "DomainRouter"
    CONSOLE_PROXY = "ConsoleProxy"
    SECONDARY_STORAGE_VM = "SecondaryStorageVm"


class VirtualMachine(IdentityMixin, Base):
    """One virtual machine (4.1 ``vm_instance`` joined with ``user_vm``)."""

    __tablename__ = "vm_instance"
    __table_args__ = (
        Index(None, "account_id", "state"),
        Index(None, "host_id", "state"),
        Index(None, "last_host_id"),
        Index(None, "data_center_id", "state"),
        Index(None, "pod_id", "state"),
        Index(None, "state", "removed"),
        Index(None, "removed"),
        Index(None, "domain_id"),
        Index(None, "service_offering_id"),
        Index(None, "template_id"),
        # instance_name is the hypervisor's name of the VM: unique cloud-wide.
        UniqueConstraint("instance_name"),
    )

    name: Mapped[str] = mapped_column(String(255))
    instance_name: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str | None] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(32), default=VmType.USER.value)
    state: Mapped[str] = mapped_column(String(32), default=VmState.STOPPED.value)
    update_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    update_time: Mapped[dt.datetime | None] = mapped_column(UtcDateTime(), default=None)
    account_id: Mapped[int] = mapped_column(IdType, ForeignKey("account.id"))
    domain_id: Mapped[int] = mapped_column(IdType, ForeignKey("domain.id"))
    # Offerings, templates and OS types are referenced by id without a foreign key:
    # they are soft-deleted, and a VM keeps pointing at the one it was deployed from.
    service_offering_id: Mapped[int] = mapped_column(IdType)
    template_id: Mapped[int | None] = mapped_column(IdType)
    iso_id: Mapped[int | None] = mapped_column(IdType)
    guest_os_id: Mapped[int | None] = mapped_column(IdType)
    data_center_id: Mapped[int] = mapped_column(IdType, ForeignKey("data_center.id"))
    pod_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("host_pod_ref.id"))
    cluster_id: Mapped[int | None] = mapped_column(IdType)
    host_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("host.id"))
    last_host_id: Mapped[int | None] = mapped_column(IdType)
    hypervisor_type: Mapped[str | None] = mapped_column(String(32))
    ha_enabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    limit_cpu_use: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # What was reserved on the host when it started (MHz, bytes), so that stop/migrate
    # give back exactly that even if the offering changed meanwhile.
    reserved_cpu_mhz: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    reserved_memory: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    vnc_password: Mapped[str] = mapped_column(String(255))
    # The guest password encrypted with the key pair's RSA key, base64 (344 characters
    # for a 2048-bit key, more for larger ones).
    password: Mapped[str | None] = mapped_column(Text)
    user_data: Mapped[str | None] = mapped_column(Text)
    ssh_public_key: Mapped[str | None] = mapped_column(Text)
    keypair_name: Mapped[str | None] = mapped_column(String(255))
    private_ip_address: Mapped[str | None] = mapped_column(String(40))
    private_mac_address: Mapped[str | None] = mapped_column(String(17))
    # The driver's handle of the running guest (None while stopped).
    driver_ref: Mapped[str | None] = mapped_column(String(255))
    # A failed start leaves the driver's reason here (shown nowhere; for operators).
    last_error: Mapped[str | None] = mapped_column(String(1024))


class NicState(enum.StrEnum):
    """``nics.state`` (4.1 ``Nic.State``)."""

    ALLOCATED = "Allocated"
    RESERVED = "Reserved"
    RELEASING = "Releasing"
    DEALLOCATING = "Deallocating"


class Nic(IdentityMixin, Base):
    """A NIC of a VM. In a basic zone its address comes from the pod's guest range
    (``vlan_id`` names the range, ``ip_address_id`` the ``user_ip_address`` row held).

    ``mac_key`` is the MAC while the NIC exists and NULL once removed: the unique key on
    (zone, mac_key) makes two live NICs with the same MAC in a zone impossible while
    letting an expunged VM's MAC be handed out again.
    """

    __tablename__ = "nics"
    __table_args__ = (
        UniqueConstraint("data_center_id", "mac_key"),
        Index(None, "instance_id"),
        Index(None, "network_id"),
    )

    instance_id: Mapped[int] = mapped_column(IdType, ForeignKey("vm_instance.id"))
    data_center_id: Mapped[int] = mapped_column(IdType)
    network_id: Mapped[int | None] = mapped_column(IdType)
    vlan_id: Mapped[int | None] = mapped_column(IdType)
    ip_address_id: Mapped[int | None] = mapped_column(IdType)
    ip4_address: Mapped[str | None] = mapped_column(String(40))
    netmask: Mapped[str | None] = mapped_column(String(40))
    gateway: Mapped[str | None] = mapped_column(String(40))
    broadcast_uri: Mapped[str | None] = mapped_column(String(255))
    isolation_uri: Mapped[str | None] = mapped_column(String(255))
    mac_address: Mapped[str] = mapped_column(String(17))
    mac_key: Mapped[str | None] = mapped_column(String(17))
    mode: Mapped[str | None] = mapped_column(String(32))
    traffic_type: Mapped[str] = mapped_column(String(32), default="Guest")
    is_default: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    device_id: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str] = mapped_column(String(32), default=NicState.ALLOCATED.value)


class InstanceGroup(IdentityMixin, Base):
    """A named group of an account's VMs (``createInstanceGroup``)."""

    __tablename__ = "instance_group"
    __table_args__ = (Index(None, "account_id", "name"),)

    account_id: Mapped[int] = mapped_column(IdType, ForeignKey("account.id"))
    domain_id: Mapped[int] = mapped_column(IdType, ForeignKey("domain.id"))
    name: Mapped[str] = mapped_column(String(255))


class InstanceGroupVmMap(Base):
    """A VM's membership of a group; a VM is in at most one group (4.1)."""

    __tablename__ = "instance_group_vm_map"
    __table_args__ = (UniqueConstraint("instance_id"), Index(None, "group_id"))

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    group_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("instance_group.id", ondelete="CASCADE")
    )
    instance_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("vm_instance.id", ondelete="CASCADE")
    )
