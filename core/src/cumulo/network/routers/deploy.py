"""Allocating a guest network's virtual router (REQ-GN-01, REQ-GN-02): the rows a
router system VM is made of, before it is placed and started (:mod:`.lifecycle`).

A router is a ``vm_instance`` of type ``DomainRouter`` named ``r-<id>-VM``, owned by the
network's account (as 4.1 owns it; it counts against no limit), with:

- the network offering's router system offering, else the seeded one
  (``Cloud.Com-SoftwareRouter``), which is written here if it is missing;
- the zone's system VM template (4.1's ``SYSTEM`` template of a hypervisor the zone
  runs, downloaded in the zone); a zone of simulated hosts uses any template of the
  simulator downloaded there, since the simulator runs no real image;
- a ROOT volume of the template's size;
- three NICs as REQ-GN-02 says: ``eth0`` on the guest network with the network's
  gateway address (a shared network's router takes an address of the network's range
  instead: the gateway is someone else's), ``eth1`` on the link-local control network
  (an address of 169.254.0.0/16 unique in the zone), ``eth2`` on the public network
  with the network's source-NAT address (only when it has one);
- its ``domain_router`` row, whose unique ``live_network_id`` makes a second router for
  the same network impossible: of two jobs allocating at once, the second one's insert
  fails and it uses the first one's router.
"""

from __future__ import annotations

import ipaddress
import secrets
from dataclasses import dataclass

from sqlalchemy import exists, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cumulo.compute.disks import DiskRequest, allocate_volumes
from cumulo.compute.models import Nic, NicState, VirtualMachine, VmState, VmType
from cumulo.compute.nics import random_mac
from cumulo.compute.passwords import new_vnc_password
from cumulo.db.base import new_uuid, utcnow
from cumulo.infra.hosts.models import Cluster, Host
from cumulo.infra.models import IpState, UserIpAddress, VlanIpRange, VlanType
from cumulo.network.networks.models import GuestType, Network
from cumulo.network.offerings.models import NetworkOffering
from cumulo.network.routers.models import DomainRouter
from cumulo.offerings.models import ServiceOffering, SystemVmType
from cumulo.sdk.errors import InsufficientCapacity, ResourceUnavailable
from cumulo.templates.models import DownloadState, TemplateType, TemplateZoneRef, VMTemplate
from cumulo.volumes.models import VolumeType

ROUTER_OFFERING = "Cloud.Com-SoftwareRouter"
"""4.1's unique name of the default router system offering."""
SIMULATOR = "Simulator"
CONTROL_NETWORK = ipaddress.IPv4Network("169.254.0.0/16")
CONTROL_NETMASK = str(CONTROL_NETWORK.netmask)
CONTROL_BROADCAST_URI = "linklocal://"
"""The control NIC's broadcast URI: a host-local link, no VLAN (4.1's ``LinkLocal``)."""
_ATTEMPTS = 8


@dataclass(frozen=True)
class RouterTemplate:
    """The template a router boots from, as the storage driver needs it."""

    id: int
    hypervisor_type: str
    format: str
    size: int
    install_url: str


@dataclass(frozen=True)
class PublicAddress:
    """The network's source-NAT address with its range's facts."""

    address: str
    netmask: str | None
    gateway: str | None
    vlan_tag: str | None


def router_offering(session: Session, network: Network) -> ServiceOffering:
    """The network offering's router offering, else the seeded default (written now
    if an operator's database lacks it)."""
    chosen = session.scalar(
        select(ServiceOffering)
        .join(NetworkOffering, NetworkOffering.service_offering_id == ServiceOffering.id)
        .where(NetworkOffering.id == network.network_offering_id)
    )
    if chosen is not None:
        return chosen
    seeded = session.scalar(
        select(ServiceOffering).where(ServiceOffering.unique_name == ROUTER_OFFERING)
    )
    if seeded is not None:
        return seeded
    seeded = ServiceOffering(
        name="System Offering For Software Router",
        unique_name=ROUTER_OFFERING,
        display_text="System Offering For Software Router",
        cpu=1,
        speed=500,
        ram_size=128,
        ha_enabled=True,
        system_use=True,
        vm_type=SystemVmType.DOMAIN_ROUTER.value,
        default_use=True,
        sort_key=0,
    )
    session.add(seeded)
    session.flush()
    return seeded


def router_template(session: Session, zone_id: int) -> RouterTemplate:
    """The zone's system VM template (module doc), one statement.

    :raises ResourceUnavailable: none is downloaded in the zone (534).
    """
    hypervisors = select(Cluster.hypervisor_type).where(Cluster.data_center_id == zone_id)
    row = session.execute(
        select(VMTemplate, TemplateZoneRef.size, TemplateZoneRef.install_path, Host.url)
        .join(TemplateZoneRef, TemplateZoneRef.template_id == VMTemplate.id)
        .outerjoin(Host, Host.id == TemplateZoneRef.store_id)
        .where(
            TemplateZoneRef.zone_id == zone_id,
            TemplateZoneRef.download_state == DownloadState.DOWNLOADED.value,
            VMTemplate.removed.is_(None),
            VMTemplate.format != "ISO",
            VMTemplate.hypervisor_type.in_(hypervisors),
            or_(
                VMTemplate.template_type == TemplateType.SYSTEM.value,
                VMTemplate.hypervisor_type == SIMULATOR,
            ),
        )
        .order_by(
            (VMTemplate.template_type != TemplateType.SYSTEM.value),
            (VMTemplate.template_type != TemplateType.BUILTIN.value),
            VMTemplate.id,
        )
        .limit(1)
    ).first()
    if row is None:
        raise ResourceUnavailable(
            f"no system VM template is downloaded in zone id={zone_id} for the hypervisors"
            " it runs; register and download one (template type SYSTEM) to start routers"
        )
    template, size, path, store_url = row
    return RouterTemplate(
        id=template.id,
        hypervisor_type=template.hypervisor_type or "",
        format=template.format,
        size=int(size or template.size or 0),
        install_url=f"{(store_url or '').rstrip('/')}/{path or ''}",
    )


def source_nat_address(session: Session, network_id: int) -> PublicAddress | None:
    """The network's source-NAT address and its range's facts (one statement)."""
    row = session.execute(
        select(
            UserIpAddress.public_ip_address,
            VlanIpRange.vlan_netmask,
            VlanIpRange.vlan_gateway,
            VlanIpRange.vlan_id,
        )
        .join(VlanIpRange, VlanIpRange.id == UserIpAddress.vlan_db_id)
        .where(
            UserIpAddress.associated_with_network_id == network_id,
            UserIpAddress.source_nat.is_(True),
            UserIpAddress.state != IpState.FREE.value,
        )
        .limit(1)
    ).first()
    return None if row is None else PublicAddress(*row)


def _control_address(session: Session, zone_id: int) -> str:
    """A free link-local address of the zone's routers (random: collisions are rare and
    the unique key catches the rest)."""
    first = int(CONTROL_NETWORK.network_address) + 2
    last = int(CONTROL_NETWORK.broadcast_address) - 1
    for _ in range(_ATTEMPTS):
        candidate = str(ipaddress.IPv4Address(first + secrets.randbelow(last - first + 1)))
        taken = session.scalar(
            select(
                exists().where(
                    DomainRouter.data_center_id == zone_id, DomainRouter.control_key == candidate
                )
            )
        )
        if not taken:
            return candidate
    raise InsufficientCapacity(f"no free link-local control address in zone id={zone_id}")


def _shared_guest_address(session: Session, network: Network) -> tuple[int, str]:
    """An address of the shared network's own range, else (a basic zone) of the
    zone's pod guest ranges, taken with a conditional ``UPDATE``."""
    ranges = select(VlanIpRange.id).where(
        VlanIpRange.vlan_type == VlanType.DIRECT_ATTACHED.value,
        or_(
            VlanIpRange.network_id == network.id,
            (VlanIpRange.data_center_id == network.data_center_id)
            & VlanIpRange.network_id.is_(None)
            & VlanIpRange.pod_id.is_not(None),
        ),
    )
    for _ in range(_ATTEMPTS):
        rows = session.execute(
            select(UserIpAddress.id, UserIpAddress.public_ip_address)
            .where(UserIpAddress.vlan_db_id.in_(ranges), UserIpAddress.state == IpState.FREE.value)
            .order_by(UserIpAddress.ip_num)
            .limit(_ATTEMPTS)
        ).all()
        if not rows:
            break
        for ip_id, address in rows:
            taken = session.execute(
                update(UserIpAddress)
                .where(UserIpAddress.id == ip_id, UserIpAddress.state == IpState.FREE.value)
                .values(
                    state=IpState.ALLOCATED.value,
                    account_id=network.account_id,
                    domain_id=network.domain_id,
                    allocated=int(utcnow().timestamp()),
                )
                .execution_options(synchronize_session=False)
            )
            if taken.rowcount == 1:  # type: ignore[attr-defined]
                return int(ip_id), str(address)
    raise InsufficientCapacity(
        f"Insufficient address capacity: no free address for the router of network {network.uuid}"
    )


def _netmask(cidr: str | None) -> str | None:
    return None if not cidr else str(ipaddress.IPv4Network(cidr, strict=False).netmask)


def _nic(vm: VirtualMachine, device: int, traffic: str, **columns: object) -> Nic:
    nic = Nic(
        instance_id=vm.id,
        data_center_id=vm.data_center_id,
        device_id=device,
        traffic_type=traffic,
        mode="Static",
        state=NicState.RESERVED.value,
        **columns,
    )
    nic.mac_address = nic.mac_key = random_mac()
    return nic


def _add_nics(
    session: Session,
    vm: VirtualMachine,
    network: Network,
    guest_ip: str,
    guest_ip_id: int | None,
    control_ip: str,
    public: PublicAddress | None,
) -> None:
    broadcast = network.broadcast_uri or "vlan://untagged"
    session.add(
        _nic(
            vm,
            0,
            "Guest",
            network_id=network.id,
            ip_address_id=guest_ip_id,
            ip4_address=guest_ip,
            netmask=_netmask(network.cidr),
            gateway=None if guest_ip == network.gateway else network.gateway,
            broadcast_uri=broadcast,
            isolation_uri=broadcast,
            is_default=public is None,
        )
    )
    session.add(
        _nic(
            vm,
            1,
            "Control",
            ip4_address=control_ip,
            netmask=CONTROL_NETMASK,
            broadcast_uri=CONTROL_BROADCAST_URI,
        )
    )
    if public is not None:
        tag = public.vlan_tag or "untagged"
        uri = tag if tag.startswith("vlan://") else f"vlan://{tag}"
        session.add(
            _nic(
                vm,
                2,
                "Public",
                ip4_address=public.address,
                netmask=public.netmask,
                gateway=public.gateway,
                broadcast_uri=uri,
                isolation_uri=uri,
                is_default=True,
            )
        )


def allocate_router(
    session: Session, network: Network, database_key: str, algorithm: str
) -> tuple[DomainRouter, VirtualMachine] | None:
    """Write the network's router (module doc), ``Stopped``, in a savepoint of the
    caller's transaction.

    :return: the router, or ``None`` when a concurrent job allocated one first (the
        caller reads that one).
    :raises ResourceUnavailable: no system VM template in the zone (534).
    :raises InsufficientCapacity: no address left for it (533).
    """
    offering = router_offering(session, network)
    template = router_template(session, network.data_center_id)
    public = source_nat_address(session, network.id)
    savepoint = session.begin_nested()
    try:
        vm = VirtualMachine(
            uuid=new_uuid(),
            name="",
            instance_name="",
            type=VmType.DOMAIN_ROUTER.value,
            state=VmState.STOPPED.value,
            account_id=network.account_id,
            domain_id=network.domain_id,
            service_offering_id=offering.id,
            template_id=template.id,
            data_center_id=network.data_center_id,
            hypervisor_type=template.hypervisor_type,
            ha_enabled=offering.ha_enabled,
            limit_cpu_use=offering.limit_cpu_use,
            vnc_password=new_vnc_password(database_key, algorithm),
        )
        vm.name = vm.instance_name = vm.uuid  # unique placeholders until the id is known
        session.add(vm)
        session.flush()
        vm.name = vm.instance_name = vm.display_name = f"r-{vm.id}-VM"
        guest_ip_id = None
        guest_ip = network.gateway or ""
        if network.guest_type == GuestType.SHARED.value:
            guest_ip_id, guest_ip = _shared_guest_address(session, network)
        control_ip = _control_address(session, network.data_center_id)
        router = DomainRouter(
            id=vm.id,
            network_id=network.id,
            live_network_id=network.id,
            data_center_id=network.data_center_id,
            vpc_id=network.vpc_id,
            public_ip_address=public.address if public is not None else None,
            guest_ip_address=guest_ip,
            control_ip_address=control_ip,
            control_key=control_ip,
            is_redundant_router=False,
            redundant_state="UNKNOWN",
            template_version="cumulo",
            scripts_version="cumulo",
        )
        session.add(router)
        _add_nics(session, vm, network, guest_ip, guest_ip_id, control_ip, public)
        allocate_volumes(
            session,
            vm,
            [
                DiskRequest(
                    VolumeType.ROOT, template.size, template_id=template.id, format=template.format
                )
            ],
        )
        session.flush()
    except IntegrityError:
        savepoint.rollback()
        return None
    savepoint.commit()
    return router, vm
