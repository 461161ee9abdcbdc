"""A VM's NICs on guest networks: allocated with the VM (the deploy request), prepared
when it starts (the start job).

**Basic zones** keep :mod:`cumulo.compute.nics`' way: the one NIC is made at the first
start, with an address of the guest range of the pod placement chose, now on the zone's
shared network (``nics.network_id``, :mod:`cumulo.network.networks.basic`); nothing
else happens on the way (no provider is asked), so a basic-zone deploy costs what it
cost before networks existed.

**Advanced zones** (4.1 ``createAdvancedVirtualMachine``): the NICs are allocated with
the VM, one per network of ``networkids`` (the first is the default NIC), or — when no
network is given — on the account's isolated network in the zone, which is created from
the offering with availability ``Required`` if the account has none (the account's row
is locked meanwhile, so two deploys never create two). Each NIC gets a MAC unique in the
zone (``nics``' unique key) and a guest address:

- isolated network: a free address of the network's CIDR, never its gateway (the
  router's guest address), network or broadcast address — picked while holding the
  network's row lock, so two VMs never get the same one;
- shared network: a free ``user_ip_address`` of the network's own IP range, taken with a
  conditional ``UPDATE`` as :mod:`cumulo.network.ipam.addresses` does.

A start has two steps, because the network orchestrator commits before it calls the
providers and a start's reservation must be undone if they fail:

1. :func:`prepare_for_start`, in the start's reservation transaction (nothing
   committed, no provider called): a basic zone's first NIC; for an advanced zone's VM,
   each network's guest VLAN and source-NAT address if it has none yet
   (:func:`cumulo.network.networks.lifecycle.ensure_resources`), so the NIC specs
   carry their VLAN; the NICs ``Reserved``;
2. :func:`provide_for_start`, after the reservation is committed and before the
   hypervisor starts the VM (a failure is undone like a hypervisor's): the networks
   implemented by their providers (:func:`cumulo.network.networks.lifecycle.implement`)
   and each NIC prepared (DHCP reservation, DNS name, userdata, password:
   :func:`cumulo.network.orchestrator.prepare_nic`).

When a VM is expunged, :func:`release_from_providers` has the providers forget its NICs.
"""

from __future__ import annotations

import ipaddress
import logging
import secrets
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from cumulo.accounts.models import Account, Domain
from cumulo.compute import nics as basic_nics
from cumulo.compute.models import Nic, NicState, VirtualMachine
from cumulo.infra import ipv4
from cumulo.infra.models import IpState, NetworkType, UserIpAddress, VlanIpRange, VlanType, Zone
from cumulo.network.networks import basic, lifecycle
from cumulo.network.networks.creation import (
    Caller,
    NetworkRequest,
    Owner,
    account_networks_in_zone,
    create_network,
)
from cumulo.network.networks.lookup import check_network_use, load_network
from cumulo.network.networks.models import GuestType, Network, NetworkState
from cumulo.network.networks.offering import required_offering
from cumulo.sdk.errors import (
    CloudError,
    InsufficientCapacity,
    InvalidParameterValue,
    ResourceUnavailable,
)
from cumulo.sdk.hypervisor import NicSpec

log = logging.getLogger(__name__)

_ZONE_TYPES: dict[tuple[str, int], str] = {}


class VmLike(Protocol):
    """What NIC allocation reads of a VM: a ``VirtualMachine`` or :class:`NicOwner`."""

    @property
    def id(self) -> int: ...

    @property
    def account_id(self) -> int: ...

    @property
    def domain_id(self) -> int: ...


class ZoneLike(Protocol):
    """What NIC allocation reads of a zone: a ``Zone`` or :class:`ZoneFacts`."""

    @property
    def id(self) -> int: ...

    @property
    def name(self) -> str: ...

    @property
    def networktype(self) -> str: ...


@dataclass(frozen=True)
class NicOwner:
    """A VM as a deploy request knows it before any ORM row exists."""

    id: int
    account_id: int
    domain_id: int


@dataclass(frozen=True)
class ZoneFacts:
    """A zone as a deploy request's lookup read it."""

    id: int
    name: str
    networktype: str


_LOCK = threading.Lock()


# ---- deploy: allocation ----------------------------------------------------------------


def _zone_type(session: Session, zone_id: int) -> str:
    """The zone's network type, remembered per database and process (it never changes,
    REQ-OM-19)."""
    key = (str(session.get_bind().engine.url), zone_id)
    with _LOCK:
        known = _ZONE_TYPES.get(key)
    if known is not None:
        return known
    kind = session.scalar(select(Zone.networktype).where(Zone.id == zone_id)) or ""
    with _LOCK:
        _ZONE_TYPES[key] = kind
    return kind


def default_network(session: Session, vm: VmLike, zone: ZoneLike) -> Network:
    """The account's isolated network in the zone, created from the ``Required`` offering
    when it has none (module doc).

    :raises InvalidParameterValue: no enabled ``Required`` offering, or the account has
        several isolated networks in the zone (431, as 4.1: give ``networkids``).
    """
    account = session.execute(
        select(Account.id, Account.account_name, Account.domain_id)
        .where(Account.id == vm.account_id)
        .with_for_update()
    ).one()
    existing = account_networks_in_zone(session, vm.account_id, zone.id, GuestType.ISOLATED.value)
    if len(existing) > 1:
        raise InvalidParameterValue(
            f"networkids: More than 1 default Isolated networks are found for account"
            f" {account.account_name}; please specify networkIds"
        )
    if existing:
        return existing[0]
    offering = required_offering(session)
    name = f"{account.account_name}-network"
    zone_row = zone if isinstance(zone, Zone) else session.get_one(Zone, zone.id)
    return create_network(
        session,
        NetworkRequest(
            name=name,
            display_text=name,
            offering=offering,
            zone=zone_row,
            owner=Owner(account.id, account.domain_id, account.account_name),
            caller=Caller(is_root_admin=False, is_admin=True),
        ),
    )


@dataclass(frozen=True)
class _Planned:
    network: Network
    requested: str | None


def _netmask(cidr: str | None) -> str | None:
    return None if not cidr else str(ipaddress.IPv4Network(cidr, strict=False).netmask)


def _isolated_address(session: Session, network: Network, requested: str | None) -> str:
    """A free guest address of an isolated network's CIDR, under the network's row lock."""
    session.execute(select(Network.id).where(Network.id == network.id).with_for_update())
    if not network.cidr:
        raise InvalidParameterValue(f"networkids: network {network.uuid} has no CIDR")
    subnet = ipaddress.IPv4Network(network.cidr, strict=False)
    used = {
        value
        for value in session.scalars(
            select(Nic.ip4_address).where(
                Nic.network_id == network.id, Nic.removed.is_(None), Nic.ip4_address.is_not(None)
            )
        )
    }
    reserved = {str(subnet.network_address), str(subnet.broadcast_address), network.gateway}
    if requested is not None:
        wanted = ipv4.dotted(ipv4.address(requested, "ipaddress"))
        if ipaddress.IPv4Address(wanted) not in subnet or wanted in reserved:
            raise InvalidParameterValue(
                f"ipaddress: {requested} is not a guest address of network {network.uuid}"
                f" ({network.cidr})"
            )
        if wanted in used:
            raise InvalidParameterValue(
                f"ipaddress: {requested} is already used in network {network.uuid}"
            )
        return wanted
    for host in subnet.hosts():
        text = str(host)
        if text not in used and text not in reserved:
            return text
    raise InsufficientCapacity(
        f"Insufficient address capacity: network {network.uuid} ({network.cidr}) has no free"
        " guest address"
    )


def _shared_address(
    session: Session, network: Network, requested: str | None, account_id: int, domain_id: int
) -> tuple[int, str]:
    """A free address of the shared network's IP range (conditional ``UPDATE``)."""
    wanted = None if requested is None else ipv4.address(requested, "ipaddress")
    while True:
        stmt = (
            select(UserIpAddress.id, UserIpAddress.public_ip_address)
            .join(VlanIpRange, VlanIpRange.id == UserIpAddress.vlan_db_id)
            .where(
                VlanIpRange.network_id == network.id,
                VlanIpRange.vlan_type == VlanType.DIRECT_ATTACHED.value,
                UserIpAddress.state == IpState.FREE.value,
            )
        )
        stmt = (
            stmt.where(UserIpAddress.ip_num == wanted)
            if wanted is not None
            else stmt.order_by(UserIpAddress.ip_num).limit(basic_nics.CANDIDATES)
        )
        rows = [tuple(row) for row in session.execute(stmt).all()]
        if not rows:
            break
        start = secrets.randbelow(len(rows))
        for ip_id, address in rows[start:] + rows[:start]:
            taken = session.execute(
                update(UserIpAddress)
                .where(UserIpAddress.id == ip_id, UserIpAddress.state == IpState.FREE.value)
                .values(state=IpState.ALLOCATED.value, account_id=account_id, domain_id=domain_id)
                .execution_options(synchronize_session=False)
            )
            if taken.rowcount == 1:  # type: ignore[attr-defined]
                return int(str(ip_id)), str(address)
    if requested is not None:
        raise InvalidParameterValue(
            f"ipaddress: {requested} is not a free address of network {network.uuid}"
        )
    raise InsufficientCapacity(
        f"Insufficient address capacity: the IP range of network {network.uuid} is full"
    )


def allocate_nics(
    session: Session,
    vm: VmLike,
    zone: ZoneLike,
    network_ids: list[int] | None,
    requested_ips: Mapping[int, str],
) -> list[Nic]:
    """The VM's NICs for the deploy request (module doc); flushed, in the caller's
    transaction. A basic zone's VM gets its NIC at its first start: ``[]`` here.

    :param network_ids: internal ids of the networks asked for (``networkids``), the
        default one first; ``None`` or empty for the account's default network.
    :param requested_ips: network id → guest address asked for (``ipaddress`` for the
        default network, ``iptonetworklist``).
    :raises InvalidParameterValue: networks given in a basic zone, a network of another
        zone, an address that is not free (431).
    :raises InsufficientCapacity: a network has no free guest address left (533).
    """
    if zone.networktype == NetworkType.BASIC.value:
        if network_ids:
            raise InvalidParameterValue("networkids: Can't specify network Ids in Basic zone")
        return []
    if not network_ids:
        chosen = default_network(session, vm, zone)
        planned = [_Planned(chosen, requested_ips.get(chosen.id))]
    else:
        rows = {
            network.id: network
            for network in session.scalars(
                select(Network).where(Network.id.in_(network_ids), Network.removed.is_(None))
            )
        }
        planned = []
        for network_id in network_ids:
            network = rows.get(network_id)
            if network is None:
                raise InvalidParameterValue(f"networkids: network {network_id} does not exist")
            if network.data_center_id != zone.id:
                raise InvalidParameterValue(
                    f"networkids: network {network.uuid} is not in zone {zone.name}"
                )
            planned.append(_Planned(network, requested_ips.get(network_id)))
    nics: list[Nic] = []
    for device_id, plan in enumerate(planned):
        network = plan.network
        ip_address_id = None
        if network.guest_type == GuestType.SHARED.value and network.specify_ip_ranges:
            ip_address_id, address = _shared_address(
                session, network, plan.requested, vm.account_id, vm.domain_id
            )
        else:
            address = _isolated_address(session, network, plan.requested)
        tag = (network.broadcast_uri or "").removeprefix("vlan://") or None
        nic = Nic(
            instance_id=vm.id,
            data_center_id=zone.id,
            network_id=network.id,
            ip_address_id=ip_address_id,
            ip4_address=address,
            netmask=_netmask(network.cidr),
            gateway=network.gateway,
            broadcast_uri=network.broadcast_uri,
            isolation_uri=f"vlan://{tag}" if tag else None,
            mode=network.mode or "Dhcp",
            traffic_type="Guest",
            is_default=device_id == 0,
            device_id=device_id,
            state=NicState.ALLOCATED.value,
        )
        nic.mac_address = nic.mac_key = basic_nics.random_mac()
        session.add(nic)
        nics.append(nic)
    session.flush()
    return nics


def allocate_deploy_nics(
    session: Session,
    vm: VmLike,
    zone: ZoneLike,
    *,
    networkids: Sequence[str] | None,
    ipaddress: str | None = None,
    iptonetworklist: Sequence[Mapping[str, Any]] | None = None,
) -> list[Nic]:
    """``deployVirtualMachine``'s parameters to :func:`allocate_nics`: the networks
    ``networkids``/``iptonetworklist`` name, checked as the VM's owner may use them
    (4.1 ``checkNetworkPermissions``), and the addresses asked for.

    :raises InvalidParameterValue: both ``networkids`` and ``iptonetworklist``, an
        unknown network, an entry without ``networkid`` (431 naming the parameter).
    :raises PermissionDenied: the owner may not use a network (531).
    """
    if networkids and iptonetworklist:
        raise InvalidParameterValue(
            "networkids: networkids can't be specified along with ipToNetworkList"
        )
    if zone.networktype == NetworkType.BASIC.value:
        if networkids or iptonetworklist:
            which = "networkids" if networkids else "iptonetworklist"
            raise InvalidParameterValue(f"{which}: Can't specify network Ids in Basic zone")
        return []
    wanted: list[tuple[str, str | None, str]] = []
    for value in networkids or ():
        wanted.append((str(value), None, "networkids"))
    for entry in iptonetworklist or ():
        keys = {str(k).lower(): v for k, v in entry.items()}
        if not keys.get("networkid"):
            raise InvalidParameterValue("iptonetworklist: every entry needs a networkid")
        wanted.append((str(keys["networkid"]), keys.get("ip"), "iptonetworklist"))
    owner = session.execute(
        select(Account.account_name, Domain.id, Domain.path)
        .join(Domain, Domain.id == Account.domain_id)
        .where(Account.id == vm.account_id)
    ).one()
    network_ids: list[int] = []
    requested: dict[int, str] = {}
    for value, ip, param in wanted:
        found = load_network(session, value, param)
        check_network_use(
            found,
            account_id=vm.account_id,
            account_name=owner.account_name,
            account_domain_id=owner.id,
            account_domain_path=owner.path,
            param=param,
        )
        if found.network.id in network_ids:
            raise InvalidParameterValue(f"{param}: network {value} is given twice")
        network_ids.append(found.network.id)
        if ip:
            requested[found.network.id] = str(ip)
    if ipaddress is not None:
        if not network_ids:
            default = default_network(session, vm, zone)
            network_ids = [default.id]
        requested.setdefault(network_ids[0], ipaddress)
    return allocate_nics(session, vm, zone, network_ids or None, requested)


# ---- start: preparation ------------------------------------------------------------------


class StartNics(list[NicSpec]):
    """:func:`prepare_for_start`'s answer: the NIC specs for the hypervisor (a list, in
    device order), with the ``nics`` rows they come from (the deploy's answer shows
    them without reading them again)."""

    def __init__(self, specs: Sequence[NicSpec], rows: Sequence[Nic]) -> None:
        super().__init__(specs)
        self.rows: tuple[Nic, ...] = tuple(rows)


def _spec(nic: Nic | Any, device_id: int) -> NicSpec:
    return NicSpec(
        mac_address=nic.mac_address,
        ip_address=nic.ip4_address or "",
        netmask=nic.netmask or "",
        gateway=nic.gateway or "",
        broadcast_uri=nic.broadcast_uri or "",
        device_id=device_id,
        is_default=bool(nic.is_default),
    )


def _first_basic_nic(
    session: Session, vm: VirtualMachine, pod_id: int, requested_ip: str | None
) -> StartNics:
    address = basic_nics.take_guest_address(
        session,
        pod_id=pod_id,
        account_id=vm.account_id,
        domain_id=vm.domain_id,
        requested=requested_ip,
    )
    # The network first: a query would flush the NIC before its network is set.
    network_id = basic.basic_network_id(session, vm.data_center_id)
    nic = basic_nics.add_guest_nic(session, vm, address)
    nic.network_id = network_id
    session.flush()
    return StartNics([_spec(nic, 0)], [nic])


def _vm_nics(session: Session, vm_id: int) -> list[tuple[Nic, Network | None]]:
    rows = session.execute(
        select(Nic, Network)
        .outerjoin(Network, Network.id == Nic.network_id)
        .where(Nic.instance_id == vm_id, Nic.removed.is_(None))
        .order_by(Nic.device_id)
        .execution_options(populate_existing=True)
    ).all()
    return [(nic, network) for nic, network in rows]


def _guest_networks(rows: list[tuple[Nic, Network | None]]) -> list[Network]:
    """The VM's networks that are not a basic zone's, the default NIC's first (4.1
    implements the default network first)."""
    networks: dict[int, Network] = {}
    for _nic, network in rows:
        if network is not None and network.guru_name != basic_guru():
            networks.setdefault(network.id, network)
    return sorted(
        networks.values(),
        key=lambda n: not any(nic.is_default and nic.network_id == n.id for nic, _ in rows),
    )


def basic_guru() -> str:
    """The guru name of a basic zone's network (its NICs need no provider)."""
    return "DirectPodBasedNetworkGuru"


def prepare_for_start(
    session: Session,
    vm_id: int,
    *,
    vm: VirtualMachine | None = None,
    pod_id: int | None = None,
    fresh: bool = False,
    requested_ip: str | None = None,
) -> StartNics:
    """The VM's NICs as the hypervisor needs them, for the start's reservation step: in
    the caller's transaction, no provider called, nothing committed.

    A basic zone's first start makes the NIC (an address of the pod's guest range). An
    advanced zone's VM gets, for each network not implemented yet, its guest VLAN and
    source-NAT address now (:func:`cumulo.network.networks.lifecycle.ensure_resources`:
    the NIC's VLAN must be known before the VM starts); the providers implement the
    networks and prepare the NICs in :func:`provide_for_start`, which the start calls
    once the reservation is committed.

    :param vm: the VM row, when the caller holds it (saves a statement).
    :param pod_id: the pod placement chose (a basic zone's first start takes the
        address from its guest range).
    :param fresh: the deploy's first start (a basic-zone VM has no NIC yet).
    :param requested_ip: the ``ipaddress`` asked for (a basic zone's first start).
    :raises InsufficientCapacity: no address, VLAN or public address left (533).
    :raises AccountLimitExceeded: the owner's public IP limit is reached (532).
    """
    if vm is None:
        vm = session.get(VirtualMachine, vm_id)
        if vm is None:
            raise InvalidParameterValue(f"id: virtual machine {vm_id} does not exist")
    basic_zone = _zone_type(session, vm.data_center_id) == NetworkType.BASIC.value
    if fresh and basic_zone:
        if pod_id is None:
            raise InvalidParameterValue("podid: a basic-zone VM needs a pod for its address")
        return _first_basic_nic(session, vm, pod_id, requested_ip)
    rows = _vm_nics(session, vm.id)
    if not rows and basic_zone:
        if pod_id is None:
            raise InvalidParameterValue("podid: a basic-zone VM needs a pod for its address")
        return _first_basic_nic(session, vm, pod_id, requested_ip)
    networks = _guest_networks(rows)
    if not networks:
        # A basic zone's VM: its NIC is ready as it is.
        return StartNics(
            [_spec(nic, index) for index, (nic, _network) in enumerate(rows)],
            [nic for nic, _network in rows],
        )
    current = {network.id: lifecycle.ensure_resources(session, network.id) for network in networks}
    specs: list[NicSpec] = []
    for index, (nic, _network) in enumerate(rows):
        network = current.get(nic.network_id) if nic.network_id is not None else None
        if network is not None and network.broadcast_uri != nic.broadcast_uri:
            tag = (network.broadcast_uri or "").removeprefix("vlan://") or None
            nic.broadcast_uri = network.broadcast_uri
            nic.isolation_uri = f"vlan://{tag}" if tag else None
        nic.state = NicState.RESERVED.value
        specs.append(_spec(nic, index))
    session.flush()
    return StartNics(specs, [nic for nic, _network in rows])


def provide_for_start(
    session: Session, vm_id: int, *, vm: VirtualMachine | None = None, password: str = ""
) -> None:
    """The start's provider step, after the reservation is committed and before the
    hypervisor starts the VM: the VM's networks implemented if they are not (the
    orchestrator commits before each provider call; another job implementing the same
    network is waited for), then every NIC prepared by its network's providers (DHCP
    reservation, DNS name, userdata, the new ``password`` served once on the default
    NIC). Nothing for a basic zone's VM (no statement).

    A caller undoes its reservation when this raises, as for a hypervisor failure.

    :raises ResourceUnavailable: the network's VLAN changed while the VM was being
        reserved (the garbage collector shut it down meanwhile: start it again), or a
        provider is unreachable (534).
    :raises CloudError: a provider failed (530).
    """
    zone_id = vm.data_center_id if vm is not None else None
    if zone_id is not None and _zone_type(session, zone_id) == NetworkType.BASIC.value:
        return
    rows = _vm_nics(session, vm_id)
    networks = _guest_networks(rows)
    if not networks:
        return
    from cumulo.network import orchestrator

    for network in networks:
        lifecycle.implement(session, network.id)
    for nic, current in _vm_nics(session, vm_id):
        if current is None or current.guru_name == basic_guru():
            continue
        if current.broadcast_uri != nic.broadcast_uri:
            raise ResourceUnavailable(
                f"network {current.uuid} changed its VLAN while the VM was starting (it was"
                " shut down meanwhile); start the VM again"
            )
        orchestrator.prepare_nic(
            session, current.id, nic.id, password=password if nic.is_default else ""
        )


def release_from_providers(session: Session, vm_id: int) -> None:
    """The VM is gone for good: the providers of its implemented networks stop serving
    its NICs (DHCP reservation, DNS name, userdata). Best effort, as 4.1 releases
    (a failure is logged, never raised); the orchestrator commits the session's
    transaction before each provider call, so call this before the expunge's own
    changes. The NICs themselves go with :func:`cumulo.compute.nics.release_nics`."""
    rows = session.execute(
        select(Nic.id, Nic.network_id)
        .join(Network, Network.id == Nic.network_id)
        .where(
            Nic.instance_id == vm_id,
            Nic.removed.is_(None),
            Network.state == NetworkState.IMPLEMENTED.value,
        )
    ).all()
    if not rows:
        return
    from cumulo.network import orchestrator

    for nic_id, network_id in rows:
        try:
            orchestrator.release_nic(session, int(network_id or 0), nic_id)
        except CloudError as exc:
            log.warning(
                "providers did not release NIC %s of network %s: %s", nic_id, network_id, exc
            )
