"""The topology tables: regions, zones, physical networks and their traffic types and
service providers, pods, VLAN/IP ranges with one row per address, storage ranges.

Names follow CloudStack 4.1's schema. Where 4.1 keeps an IP range only as the text
``"start-end"`` (``host_pod_ref.description``, ``vlan.description``) we also keep
the two ends as integers (``*_start_num``/``*_end_num``, IPv4 as a 32-bit number) so
that "does this range overlap any other in the cloud" (REQ-OM-18, REQ-ZONE-08) is one
indexed range query instead of parsing every row.
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
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from cumulo.db.base import Base, IdentityMixin, IdType, UtcDateTime, new_uuid

DEFAULT_REGION_ID = 1
"""REQ-REG-01: zones belong to region 1 when no other region is defined."""


class NetworkType(enum.StrEnum):
    """``data_center.networktype``; fixed for a zone's lifetime (REQ-OM-19)."""

    BASIC = "Basic"
    ADVANCED = "Advanced"


class AllocationState(enum.StrEnum):
    """``allocation_state`` of zones and pods (4.1 ``Grouping.AllocationState``)."""

    ENABLED = "Enabled"
    DISABLED = "Disabled"


class PhysicalNetworkState(enum.StrEnum):
    """``physical_network.state``."""

    ENABLED = "Enabled"
    DISABLED = "Disabled"


class ProviderState(enum.StrEnum):
    """``physical_network_service_providers.state``."""

    ENABLED = "Enabled"
    DISABLED = "Disabled"
    SHUTDOWN = "Shutdown"


class TrafficType(enum.StrEnum):
    """The traffic types a physical network carries (4.1 ``Networks.TrafficType``)."""

    GUEST = "Guest"
    MANAGEMENT = "Management"
    PUBLIC = "Public"
    STORAGE = "Storage"


class VlanType(enum.StrEnum):
    """``vlan.vlan_type``: public (NAT'ed) ranges vs directly attached guest ranges."""

    VIRTUAL_NETWORK = "VirtualNetwork"
    DIRECT_ATTACHED = "DirectAttached"


class IpState(enum.StrEnum):
    """``user_ip_address.state`` (4.1 ``IpAddress.State``)."""

    FREE = "Free"
    ALLOCATING = "Allocating"
    ALLOCATED = "Allocated"
    RELEASING = "Releasing"


class Region(Base):
    """A region: another installation this one knows about (full mesh, REQ-REG-05).

    The id is the operator's small integer (``setup-databases -r <id>``), not generated.
    """

    __tablename__ = "region"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    end_point: Mapped[str] = mapped_column(String(255))


class Zone(IdentityMixin, Base):
    """A zone (4.1 ``data_center``): public, or private to ``domain_id``'s subtree."""

    __tablename__ = "data_center"

    name: Mapped[str] = mapped_column(String(255), index=True)
    description: Mapped[str | None] = mapped_column(String(255))
    dns1: Mapped[str] = mapped_column(String(255))
    dns2: Mapped[str | None] = mapped_column(String(255))
    ip6_dns1: Mapped[str | None] = mapped_column(String(255))
    ip6_dns2: Mapped[str | None] = mapped_column(String(255))
    internal_dns1: Mapped[str] = mapped_column(String(255))
    internal_dns2: Mapped[str | None] = mapped_column(String(255))
    guest_network_cidr: Mapped[str | None] = mapped_column(String(18))
    # The network domain (DNS suffix) of the zone's guest networks.
    domain: Mapped[str | None] = mapped_column(String(100))
    # Set: a private zone, reserved to this domain and its sub-domains (REQ-OM-09).
    domain_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("domain.id"), index=True)
    networktype: Mapped[str] = mapped_column(String(255))
    allocation_state: Mapped[str] = mapped_column(
        String(32), default=AllocationState.ENABLED.value, server_default="Enabled"
    )
    is_security_group_enabled: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    is_local_storage_enabled: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    zone_token: Mapped[str] = mapped_column(String(255), default=new_uuid)
    dhcp_provider: Mapped[str | None] = mapped_column(String(255))
    dns_provider: Mapped[str | None] = mapped_column(String(255))
    gateway_provider: Mapped[str | None] = mapped_column(String(255))
    firewall_provider: Mapped[str | None] = mapped_column(String(255))
    userdata_provider: Mapped[str | None] = mapped_column(String(255))
    lb_provider: Mapped[str | None] = mapped_column(String(255))
    vpn_provider: Mapped[str | None] = mapped_column(String(255))
    # No foreign key: the region table lists *other* installations too, and 4.1 keeps
    # the zone's region as a plain number.
    region_id: Mapped[int] = mapped_column(
        Integer, default=DEFAULT_REGION_ID, server_default=str(DEFAULT_REGION_ID)
    )


class PhysicalNetwork(IdentityMixin, Base):
    """The cabling of a zone behind one hypervisor NIC (``physical_network``).

    ``vnet`` is the guest VLAN ranges as given (``"100-199,300-310"``); tags and
    isolation methods are short comma-joined lists (4.1 keeps one row each in side
    tables, which nothing here queries by).
    """

    __tablename__ = "physical_network"

    name: Mapped[str] = mapped_column(String(255))
    data_center_id: Mapped[int] = mapped_column(IdType, ForeignKey("data_center.id"), index=True)
    vnet: Mapped[str | None] = mapped_column(String(255))
    speed: Mapped[str | None] = mapped_column(String(32))
    domain_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("domain.id"))
    broadcast_domain_range: Mapped[str] = mapped_column(String(32), default="POD")
    state: Mapped[str] = mapped_column(
        String(32), default=PhysicalNetworkState.DISABLED.value, server_default="Disabled"
    )
    tags: Mapped[str | None] = mapped_column(String(255))
    isolation_methods: Mapped[str | None] = mapped_column(String(255))


class PhysicalNetworkTrafficType(IdentityMixin, Base):
    """A traffic type a physical network carries, with one label per hypervisor type
    (REQ-ZONE-06): the name of the bridge/network on hosts of that hypervisor."""

    __tablename__ = "physical_network_traffic_types"

    physical_network_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("physical_network.id", ondelete="CASCADE")
    )
    traffic_type: Mapped[str] = mapped_column(String(32))
    xen_network_label: Mapped[str | None] = mapped_column(String(255))
    kvm_network_label: Mapped[str | None] = mapped_column(String(255))
    vmware_network_label: Mapped[str | None] = mapped_column(String(255))
    simulator_network_label: Mapped[str | None] = mapped_column(String(255))
    vlan: Mapped[str | None] = mapped_column(String(255))

    # A physical network carries each traffic type at most once.
    __table_args__ = (UniqueConstraint("physical_network_id", "traffic_type"),)


class PhysicalNetworkServiceProvider(IdentityMixin, Base):
    """A network service provider (VirtualRouter, SecurityGroupProvider ...) on a
    physical network, with the services it offers there (comma-joined)."""

    __tablename__ = "physical_network_service_providers"

    physical_network_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("physical_network.id", ondelete="CASCADE")
    )
    provider_name: Mapped[str] = mapped_column(String(255))
    state: Mapped[str] = mapped_column(
        String(32), default=ProviderState.DISABLED.value, server_default="Disabled"
    )
    destination_physical_network_id: Mapped[int | None] = mapped_column(IdType)
    services: Mapped[str] = mapped_column(String(1024), default="", server_default="")

    __table_args__ = (Index(None, "physical_network_id", "provider_name"),)


class Pod(IdentityMixin, Base):
    """A pod (4.1 ``host_pod_ref``): one subnet, with a reserved system IP range.

    ``description`` is 4.1's ``"start-end"`` of the reserved range; the integer ends
    make the cloud-wide uniqueness check (REQ-OM-18) one range query.
    """

    __tablename__ = "host_pod_ref"

    name: Mapped[str] = mapped_column(String(255))
    data_center_id: Mapped[int] = mapped_column(IdType, ForeignKey("data_center.id"), index=True)
    gateway: Mapped[str] = mapped_column(String(255))
    cidr_address: Mapped[str] = mapped_column(String(15))
    cidr_size: Mapped[int] = mapped_column(Integer)
    description: Mapped[str | None] = mapped_column(String(255))
    allocation_state: Mapped[str] = mapped_column(
        String(32), default=AllocationState.ENABLED.value, server_default="Enabled"
    )
    reserved_start_num: Mapped[int] = mapped_column(BigInteger)
    reserved_end_num: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (Index(None, "reserved_start_num", "reserved_end_num"),)


class VlanIpRange(IdentityMixin, Base):
    """A public (``VirtualNetwork``) or direct guest (``DirectAttached``) IP range
    (4.1 ``vlan`` with its pod and account maps folded in as columns)."""

    __tablename__ = "vlan"

    vlan_id: Mapped[str | None] = mapped_column(String(255))
    vlan_gateway: Mapped[str | None] = mapped_column(String(255))
    vlan_netmask: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(String(255))
    vlan_type: Mapped[str] = mapped_column(String(255))
    data_center_id: Mapped[int] = mapped_column(IdType, ForeignKey("data_center.id"), index=True)
    # The guest network the range belongs to; networks come with a later issue, so no
    # foreign key yet.
    network_id: Mapped[int | None] = mapped_column(IdType)
    physical_network_id: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("physical_network.id")
    )
    pod_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("host_pod_ref.id"))
    account_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("account.id"))
    domain_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("domain.id"))
    ip6_gateway: Mapped[str | None] = mapped_column(String(255))
    ip6_cidr: Mapped[str | None] = mapped_column(String(255))
    ip6_range: Mapped[str | None] = mapped_column(String(255))
    start_num: Mapped[int | None] = mapped_column(BigInteger)
    end_num: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (Index(None, "start_num", "end_num"),)


class UserIpAddress(Base):
    """One address of a :class:`VlanIpRange`, the unit later handed out to networks
    and VMs. Rows are inserted set-based, all of a range at once."""

    __tablename__ = "user_ip_address"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(40), unique=True, default=new_uuid)
    public_ip_address: Mapped[str] = mapped_column(String(40))
    ip_num: Mapped[int] = mapped_column(BigInteger)
    data_center_id: Mapped[int] = mapped_column(IdType, ForeignKey("data_center.id"))
    vlan_db_id: Mapped[int] = mapped_column(IdType, ForeignKey("vlan.id", ondelete="CASCADE"))
    physical_network_id: Mapped[int | None] = mapped_column(IdType)
    source_network_id: Mapped[int | None] = mapped_column(IdType)
    state: Mapped[str] = mapped_column(String(32), default=IpState.FREE.value)
    account_id: Mapped[int | None] = mapped_column(IdType)
    domain_id: Mapped[int | None] = mapped_column(IdType)
    allocated: Mapped[int | None] = mapped_column(BigInteger)
    source_nat: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    is_system: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Guest networking (cumulo.network.ipam, migration guest_networks): the guest network
    # a public address is associated with, and the VM it is statically NATed to. No
    # foreign key to networks: that table comes with a later revision.
    associated_with_network_id: Mapped[int | None] = mapped_column(IdType)
    one_to_one_nat: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    vm_id: Mapped[int | None] = mapped_column(IdType)
    vm_ip_address: Mapped[str | None] = mapped_column(String(40))

    __table_args__ = (
        # An address exists once per zone; allocation scans a range's free rows.
        UniqueConstraint("data_center_id", "public_ip_address"),
        Index(None, "vlan_db_id", "state"),
        # listPublicIpAddresses pages an account's addresses; a network's are read
        # whenever it is implemented or its rules applied.
        Index(None, "account_id", "state"),
        Index(None, "associated_with_network_id"),
    )


class StorageNetworkIpRange(IdentityMixin, Base):
    """An IP range of a pod's storage network (4.1 ``dc_storage_network_ip_range``),
    used by the secondary storage VM's storage NIC."""

    __tablename__ = "dc_storage_network_ip_range"

    start_ip: Mapped[str] = mapped_column(String(40))
    end_ip: Mapped[str] = mapped_column(String(40))
    start_num: Mapped[int] = mapped_column(BigInteger)
    end_num: Mapped[int] = mapped_column(BigInteger)
    vlan: Mapped[int | None] = mapped_column(Integer)
    netmask: Mapped[str] = mapped_column(String(15))
    gateway: Mapped[str] = mapped_column(String(15))
    data_center_id: Mapped[int] = mapped_column(IdType, ForeignKey("data_center.id"))
    pod_id: Mapped[int] = mapped_column(IdType, ForeignKey("host_pod_ref.id"), index=True)
    network_id: Mapped[int | None] = mapped_column(IdType)


class ZoneDetail(Base):
    """One ``data_center_details`` pair (4.1): what ``updateZone details[]`` sets, and
    ``dnssearchorder`` (comma-separated, as 4.1's ``ZoneConfig.DnsSearchOrder``)."""

    __tablename__ = "data_center_details"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    dc_id: Mapped[int] = mapped_column(IdType, ForeignKey("data_center.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    value: Mapped[str] = mapped_column(String(1024))

    __table_args__ = (UniqueConstraint("dc_id", "name"),)


class VnetAllocation(Base):
    """One guest VLAN of a physical network (4.1 ``op_dc_vnet_alloc``): a row per VLAN
    id of the network's ranges, ``taken`` set while a guest network holds it.

    Rows follow the physical network's ``vnet`` ranges (:mod:`cumulo.infra.vnets`);
    they make "VLANs used of total" (``listCapacity`` type 7) one ``GROUP BY`` and
    give the guest-networking issue race-free allocation (a conditional ``UPDATE``).
    """

    __tablename__ = "op_dc_vnet_alloc"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    vnet: Mapped[str] = mapped_column(String(18))
    physical_network_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("physical_network.id", ondelete="CASCADE")
    )
    data_center_id: Mapped[int] = mapped_column(IdType, ForeignKey("data_center.id"), index=True)
    reservation_id: Mapped[str | None] = mapped_column(String(40))
    account_id: Mapped[int | None] = mapped_column(IdType)
    taken: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())

    __table_args__ = (UniqueConstraint("physical_network_id", "vnet"),)
