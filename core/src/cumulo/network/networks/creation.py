"""Creating a guest network (``createNetwork``; the default isolated network a deploy
creates for an account; a basic zone's shared network), with 4.1's rules
(``NetworkServiceImpl``/``NetworkManagerImpl.createGuestNetwork``):

- the offering is an enabled ``Guest`` offering, the physical network (given, or the
  zone's one carrying Guest traffic whose tags match the offering's) is enabled and
  enables every provider the offering names;
- **who**: users create ``Isolated`` networks with source NAT only; ``Shared`` and
  ``acltype=Domain`` networks are for admins; only the root admin gives a VLAN;
- **VLAN**: given exactly when the offering says ``specifyvlan``; an isolated network's
  VLAN is unique in the zone, a shared network's unique among the zone's networks;
- **addresses**: shared networks and isolated ones without source NAT need gateway,
  netmask and (with ``specifyipranges``) the IP range, which becomes a
  ``DirectAttached`` ``vlan`` range of the network with one ``user_ip_address`` row per
  address; an isolated network takes the zone's guest CIDR unless gateway and netmask
  are given, and its CIDR must be RFC 1918;
- **basic zones**: one ``Shared`` network without source NAT, ``Domain`` ACL on ROOT
  with sub-domain access, untagged;
- **security-group zones** (advanced with security groups): shared networks with the
  SecurityGroup service and without source NAT only;
- **network domain**: only when the offering's DNS provider allows the suffix to be
  modified; otherwise ``cs<owner id in hex><guest.domain.suffix>``;
- **limits**: an ``Account`` network of an offering without ``specifyvlan`` counts
  against the owner's ``network`` limit.

Persistent offerings implement the network at once (REQ-PN-02): the handler does it
after :func:`create_network`, in the same transaction.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from sqlalchemy import and_, exists, insert, select
from sqlalchemy.orm import Session

from cumulo.accounts.models import Domain
from cumulo.db.base import new_uuid
from cumulo.infra import ipv4
from cumulo.infra.models import (
    IpState,
    NetworkType,
    PhysicalNetwork,
    PhysicalNetworkServiceProvider,
    PhysicalNetworkState,
    PhysicalNetworkTrafficType,
    ProviderState,
    TrafficType,
    UserIpAddress,
    VlanIpRange,
    VlanType,
    Zone,
)
from cumulo.limits.service import reserve
from cumulo.limits.types import ResourceType
from cumulo.network.networks import settings, vlans
from cumulo.network.networks.models import (
    AclType,
    BroadcastDomainType,
    GuestType,
    Network,
    NetworkServiceMap,
    NetworkState,
    OpNetwork,
)
from cumulo.network.networks.offering import services_of
from cumulo.network.offerings.models import NetworkOffering, OfferingState
from cumulo.sdk.errors import InvalidParameterValue, PermissionDenied
from cumulo.sdk.network import Service

DEFAULT_GUEST_CIDR = "10.1.1.0/24"
"""4.1's default ``guest.network.cidr`` of a zone."""
UNTAGGED = "untagged"
_RFC1918 = tuple(
    ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
)
_LABEL = re.compile(r"^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$")
_EXTERNAL_FIREWALLS = ("JuniperSRX",)


@dataclass(frozen=True)
class Owner:
    """The account a network is created for: ``id``/``domain_id`` of the account
    (the ``system`` account for ``Domain`` networks)."""

    id: int
    domain_id: int
    name: str


@dataclass(frozen=True)
class Caller:
    """What the rules need of who asks: root admin, any admin, or a user."""

    is_root_admin: bool
    is_admin: bool


@dataclass
class NetworkRequest:
    """What ``createNetwork`` (or a deploy, or a basic zone) asks for."""

    name: str
    display_text: str
    offering: NetworkOffering
    zone: Zone
    owner: Owner
    caller: Caller
    physical_network: PhysicalNetwork | None = None
    gateway: str | None = None
    netmask: str | None = None
    start_ip: str | None = None
    end_ip: str | None = None
    vlan: str | None = None
    network_domain: str | None = None
    acl_type: str | None = None
    domain: Domain | None = None
    subdomain_access: bool | None = None


def check_domain_name(value: str) -> None:
    """4.1 ``NetUtils.verifyDomainName``: 431 naming ``networkdomain`` unless ``value``
    is DNS labels of 1-63 letters, digits and inner hyphens, 190 characters at most."""
    labels = value.split(".")
    if len(value) > 190 or not all(_LABEL.match(label) for label in labels):
        raise InvalidParameterValue(
            "networkdomain: Invalid network domain. Total length shouldn't exceed 190 chars."
            " Each domain label must be between 1 and 63 characters long, can contain ASCII"
            " letters 'a' through 'z', the digits '0' through '9', and the hyphen ('-');"
            ' can\'t start or end with "-"'
        )


def guest_physical_network(session: Session, zone: Zone, tags: str | None) -> PhysicalNetwork:
    """The zone's physical network carrying Guest traffic (with the offering's tag, if
    the offering has one): 431 naming ``physicalnetworkid`` when there is none."""
    rows = session.scalars(
        select(PhysicalNetwork)
        .join(
            PhysicalNetworkTrafficType,
            PhysicalNetworkTrafficType.physical_network_id == PhysicalNetwork.id,
        )
        .where(
            PhysicalNetwork.data_center_id == zone.id,
            PhysicalNetwork.removed.is_(None),
            PhysicalNetworkTrafficType.traffic_type == TrafficType.GUEST.value,
        )
        .order_by(PhysicalNetwork.id)
    ).all()
    wanted = {t.strip() for t in (tags or "").split(",") if t.strip()}
    for row in rows:
        if not wanted or wanted <= {t.strip() for t in (row.tags or "").split(",")}:
            return row
    raise InvalidParameterValue(
        f"physicalnetworkid: Unable to find a physical network carrying Guest traffic in zone"
        f" {zone.name}" + (f" with tag {tags}" if wanted else "")
    )


def _check_providers(
    session: Session, physical: PhysicalNetwork, services: dict[str, str | None]
) -> None:
    providers = {p for p in services.values() if p}
    if not providers:
        return
    enabled = set(
        session.scalars(
            select(PhysicalNetworkServiceProvider.provider_name).where(
                PhysicalNetworkServiceProvider.physical_network_id == physical.id,
                PhysicalNetworkServiceProvider.state == ProviderState.ENABLED.value,
            )
        )
    )
    missing = sorted(providers - enabled)
    if missing:
        raise InvalidParameterValue(
            f"networkofferingid: Service provider {missing[0]} either doesn't exist or is not"
            f" enabled in physical network {physical.name}"
        )


def _vlan_tag(value: str) -> str:
    text = value.strip().removeprefix("vlan://")
    if text.lower() == UNTAGGED:
        return UNTAGGED
    try:
        tag = int(text)
    except ValueError:
        raise InvalidParameterValue(f"vlan: {value} is not a VLAN id") from None
    if not 1 <= tag <= 4094:
        raise InvalidParameterValue(f"vlan: the VLAN id {tag} must lie in 1-4094")
    return str(tag)


def _vlan_taken(session: Session, zone_id: int, uri: str) -> bool:
    return bool(
        session.scalar(
            select(
                exists().where(
                    Network.data_center_id == zone_id,
                    Network.broadcast_uri == uri,
                    Network.removed.is_(None),
                )
            )
        )
    )


def _check_range_overlap(session: Session, zone_id: int, first: int, last: int) -> None:
    clash = session.scalars(
        select(VlanIpRange.description)
        .where(
            VlanIpRange.data_center_id == zone_id,
            VlanIpRange.start_num <= last,
            VlanIpRange.end_num >= first,
        )
        .limit(1)
    ).first()
    if clash is not None:
        raise InvalidParameterValue(f"startip: the IP range overlaps the zone's range {clash}")


def _services_shared_with_services(services: dict[str, str | None]) -> bool:
    # 4.1 isSharedNetworkOfferingWithServices: shared networks that need implementing.
    return any(
        s.value in services
        for s in (
            Service.SOURCE_NAT,
            Service.STATIC_NAT,
            Service.FIREWALL,
            Service.PORT_FORWARDING,
            Service.LB,
        )
    )


def external_firewall(services: dict[str, str | None]) -> bool:
    """Whether an external device (not a virtual router) is the network's firewall."""
    return services.get(Service.FIREWALL.value) in _EXTERNAL_FIREWALLS


def create_network(session: Session, request: NetworkRequest) -> Network:
    """Validate ``request`` (module doc) and create the network, its service map and its
    collector row (flushed). Nothing is implemented here.

    :raises InvalidParameterValue: a rule is broken (431 naming the parameter).
    :raises PermissionDenied: the caller may not create such a network (531).
    :raises AccountLimitExceeded: the owner's network limit is reached (532).
    """
    offering, zone, caller = request.offering, request.zone, request.caller
    if offering.traffic_type != TrafficType.GUEST.value or offering.system_only:
        raise InvalidParameterValue(
            "networkofferingid: only Guest network offerings can be used to create networks"
        )
    if offering.state != OfferingState.ENABLED.value:
        raise InvalidParameterValue(
            "networkofferingid: Can't use specified network offering id as its state is not Enabled"
        )
    services = services_of(session, offering.id)
    source_nat = Service.SOURCE_NAT.value in services
    guest_type = offering.guest_type or GuestType.ISOLATED.value
    shared = guest_type == GuestType.SHARED.value

    if shared and not caller.is_admin:
        raise InvalidParameterValue(
            "networkofferingid: Only Admins can create network with guest type Shared"
        )
    if not caller.is_admin and not source_nat:
        raise InvalidParameterValue(
            "networkofferingid: Regular user can create a network only from the network offering"
            " having traffic type Guest and network type Isolated with a service SourceNat"
            " enabled"
        )
    acl = _acl(request, shared)
    if acl == AclType.DOMAIN.value and not caller.is_admin:
        raise PermissionDenied("acltype: Only admin can create networks with aclType=Domain")
    if acl == AclType.DOMAIN.value and not shared:
        raise InvalidParameterValue("acltype: Only Shared networks can have aclType=Domain")
    subdomain_access = request.subdomain_access
    if acl != AclType.DOMAIN.value and subdomain_access is not None:
        raise InvalidParameterValue("subdomainaccess: can be specified only with aclType=Domain")
    if acl == AclType.DOMAIN.value and subdomain_access is None:
        subdomain_access = (
            settings.read(session, [settings.SUBDOMAIN_ACCESS])[settings.SUBDOMAIN_ACCESS].lower()
            == "true"
        )

    physical = request.physical_network or guest_physical_network(session, zone, offering.tags)
    if physical.data_center_id != zone.id:
        raise InvalidParameterValue("physicalnetworkid: the physical network is not in zone zoneid")
    if physical.state != PhysicalNetworkState.ENABLED.value:
        raise InvalidParameterValue(
            f"physicalnetworkid: Specified physical network id is in incorrect state:"
            f" {physical.state}"
        )
    _check_providers(session, physical, services)

    vlan = request.vlan
    if zone.networktype == NetworkType.BASIC.value:
        vlan, subdomain_access = _basic_zone_rules(session, request, acl, source_nat, shared)
    else:
        _advanced_zone_rules(zone, offering, services, shared)
        if (vlan is not None) != offering.specify_vlan:
            raise InvalidParameterValue(
                "vlan: Can't specify vlan; corresponding offering says specifyVlan=false"
                if vlan is not None
                else "vlan: Vlan has to be specified; corresponding offering says specifyVlan=true"
            )
        if vlan is not None and not caller.is_root_admin:
            raise InvalidParameterValue("vlan: Only ROOT admin is allowed to specify vlanId")
    broadcast_uri = None
    if vlan is not None:
        tag = _vlan_tag(vlan)
        broadcast_uri = f"vlan://{tag}"
        if zone.networktype != NetworkType.BASIC.value and _vlan_taken(
            session, zone.id, broadcast_uri
        ):
            raise InvalidParameterValue(
                f"vlan: Network with vlan {tag} already exists in zone {zone.name}"
            )

    network_domain = _network_domain(session, request, services)
    gateway, cidr, ip_range = _addresses(request, zone, shared, source_nat)
    if ip_range is not None and not offering.specify_ip_ranges:
        raise InvalidParameterValue(
            "startip: Network offering with specified id doesn't support adding multiple ip"
            " ranges (specifyipranges=false)"
        )
    if shared and offering.specify_ip_ranges and ip_range is None:
        raise InvalidParameterValue("startip: startip is required for a Shared network")

    if not offering.specify_vlan and acl == AclType.ACCOUNT.value:
        reserve(session, request.owner.id, ResourceType.NETWORK, 1)

    state = NetworkState.ALLOCATED.value
    if shared and (
        zone.networktype == NetworkType.BASIC.value or not _services_shared_with_services(services)
    ):
        # 4.1: a shared network without NAT/firewall/LB services is ready as it is.
        state = NetworkState.SETUP.value
    network = Network(
        uuid=new_uuid(),
        name=request.name,
        display_text=request.display_text,
        traffic_type=TrafficType.GUEST.value,
        broadcast_domain_type=(
            BroadcastDomainType.NATIVE.value
            if broadcast_uri == f"vlan://{UNTAGGED}"
            else BroadcastDomainType.VLAN.value
        ),
        broadcast_uri=broadcast_uri,
        gateway=gateway,
        cidr=cidr,
        mode="Dhcp",
        network_offering_id=offering.id,
        physical_network_id=physical.id,
        data_center_id=zone.id,
        guru_name=_guru(zone, shared, services),
        state=state,
        domain_id=(request.domain.id if request.domain is not None else request.owner.domain_id),
        account_id=request.owner.id,
        dns1=zone.dns1,
        dns2=zone.dns2,
        acl_type=acl,
        subdomain_access=subdomain_access if acl == AclType.DOMAIN.value else None,
        guest_type=guest_type,
        network_domain=network_domain,
        specify_ip_ranges=offering.specify_ip_ranges,
    )
    session.add(network)
    session.flush()
    network.related = network.id
    tag = (broadcast_uri or "").removeprefix("vlan://")
    if tag.isdecimal() and not vlans.reserve_specified_vlan(
        session,
        physical_network_id=physical.id,
        vlan=tag,
        account_id=request.owner.id,
        reservation_id=network.uuid,
    ):
        # The guest pool gave it to another network: it cannot serve two.
        raise InvalidParameterValue(
            f"vlan: VLAN {tag} of physical network {physical.name} is in use by another network"
        )
    if services:
        session.execute(
            insert(NetworkServiceMap),
            [
                {"network_id": network.id, "service": service, "provider": provider}
                for service, provider in services.items()
            ],
        )
    session.add(
        OpNetwork(
            id=network.id,
            gc=guest_type == GuestType.ISOLATED.value and not offering.is_persistent,
        )
    )
    if ip_range is not None:
        _add_range(session, network, physical, ip_range, request)
    session.flush()
    return network


def _acl(request: NetworkRequest, shared: bool) -> str:
    if request.acl_type is None:
        return AclType.DOMAIN.value if shared else AclType.ACCOUNT.value
    for value in AclType:
        if value.value.lower() == request.acl_type.strip().lower():
            return value.value
    raise InvalidParameterValue(
        f"acltype: {request.acl_type} is not one of the supported values Account, Domain"
    )


def _basic_zone_rules(
    session: Session, request: NetworkRequest, acl: str, source_nat: bool, shared: bool
) -> tuple[str, bool | None]:
    if acl != AclType.DOMAIN.value:
        raise InvalidParameterValue(
            "acltype: Only AclType=Domain can be specified for network creation in Basic zone"
        )
    taken = select(Network.id).where(
        Network.data_center_id == request.zone.id,
        Network.traffic_type == TrafficType.GUEST.value,
        Network.removed.is_(None),
    )
    if session.scalar(select(exists(taken))):
        raise InvalidParameterValue(
            "zoneid: Can't have more than one Guest network in zone with network type Basic"
        )
    if not shared or source_nat:
        raise InvalidParameterValue(
            "networkofferingid: For zone of type Basic only offerings of guestType Shared with"
            " disabled SourceNat service are allowed"
        )
    domain = request.domain
    if domain is None or domain.path != "/":
        raise InvalidParameterValue(
            "domainid: Guest network in Basic zone should be dedicated to ROOT domain"
        )
    if request.subdomain_access is False:
        raise InvalidParameterValue(
            "subdomainaccess: Subdomain access should be set to true for the guest network in"
            " the Basic zone"
        )
    if request.vlan is not None and _vlan_tag(request.vlan) != UNTAGGED:
        raise InvalidParameterValue(
            "vlan: Only vlan untagged can be created in the zone of type Basic"
        )
    if request.gateway or request.netmask or request.start_ip:
        raise InvalidParameterValue(
            "startip: StartIp/endIp/gateway/netmask can't be specified for zone of type Basic"
        )
    return UNTAGGED, True


def _advanced_zone_rules(
    zone: Zone, offering: NetworkOffering, services: dict[str, str | None], shared: bool
) -> None:
    if zone.is_security_group_enabled:
        if not shared:
            raise InvalidParameterValue(
                "networkofferingid: Only shared guest network can be created in security group"
                " enabled zone"
            )
        if Service.SOURCE_NAT.value in services:
            raise InvalidParameterValue(
                "networkofferingid: Service SourceNat is not allowed in security group enabled zone"
            )
        if Service.SECURITY_GROUP.value not in services:
            raise InvalidParameterValue(
                "networkofferingid: network must have SecurityGroup provider in security group"
                " enabled zone"
            )
    if offering.elastic_ip_service or offering.elastic_lb_service:
        raise InvalidParameterValue(
            "networkofferingid: Elastic IP and Elastic LB services are supported in zone of"
            " type Basic"
        )


def _network_domain(
    session: Session, request: NetworkRequest, services: dict[str, str | None]
) -> str | None:
    if Service.DNS.value not in services:
        if request.network_domain is not None:
            raise InvalidParameterValue(
                "networkdomain: Domain name change is not supported by the network offering"
                " (it has no Dns service)"
            )
        return None
    if request.network_domain is not None:
        check_domain_name(request.network_domain.strip())
        return request.network_domain.strip()
    if request.zone.domain:
        return request.zone.domain
    suffix = settings.read(session, [settings.GUEST_DOMAIN_SUFFIX])[settings.GUEST_DOMAIN_SUFFIX]
    return f"cs{request.owner.id:x}{suffix}"


def _addresses(
    request: NetworkRequest, zone: Zone, shared: bool, source_nat: bool
) -> tuple[str | None, str | None, tuple[int, int] | None]:
    """(gateway, cidr, (first, last) of the IP range or None)."""
    gateway, netmask = request.gateway, request.netmask
    if zone.networktype == NetworkType.BASIC.value:
        return None, None, None
    if (gateway is None) != (netmask is None):
        raise InvalidParameterValue("gateway: gateway and netmask must be specified together")
    if request.start_ip is None and request.end_ip is not None:
        raise InvalidParameterValue("startip: endip needs startip")
    cidr_required = shared or not source_nat
    if gateway is None or netmask is None:
        if cidr_required:
            raise InvalidParameterValue(
                "gateway: StartIp/endIp/gateway/netmask are required when create network of type"
                " Shared and network of type Isolated with service SourceNat disabled"
            )
        if request.start_ip is not None:
            raise InvalidParameterValue("startip: an IP range needs gateway and netmask")
        subnet = ipv4.cidr(zone.guest_network_cidr or DEFAULT_GUEST_CIDR, "guestcidraddress")
        return str(subnet.network_address + 1), str(subnet), None
    gateway_num = ipv4.address(gateway, "gateway")
    subnet = ipv4.network_of(gateway_num, ipv4.prefix_of(netmask))
    if gateway_num in (int(subnet.network_address), int(subnet.broadcast_address)):
        raise InvalidParameterValue("gateway: the gateway must be a host address of its subnet")
    if not shared and not any(subnet.subnet_of(block) for block in _RFC1918):
        raise InvalidParameterValue(
            f"gateway: Virtual Guest Cidr {subnet} is not RFC1918 compliant"
        )
    ip_range = None
    if request.start_ip is not None:
        first, last = ipv4.ip_range(request.start_ip, request.end_ip)
        ipv4.check_in_subnet(subnet, first, last, "IP range startip-endip (gateway, netmask)")
        if first <= gateway_num <= last:
            raise InvalidParameterValue(
                "startip: The gateway ip should not be the part of the ip range"
            )
        ip_range = (first, last)
    return ipv4.dotted(gateway_num), str(subnet), ip_range


def _guru(zone: Zone, shared: bool, services: dict[str, str | None]) -> str:
    if zone.networktype == NetworkType.BASIC.value:
        return "DirectPodBasedNetworkGuru"
    if shared:
        return "DirectNetworkGuru"
    if external_firewall(services):
        return "ExternalGuestNetworkGuru"
    return "GuestNetworkGuru"


def _add_range(
    session: Session,
    network: Network,
    physical: PhysicalNetwork,
    ip_range: tuple[int, int],
    request: NetworkRequest,
) -> None:
    """The shared network's addresses: a ``DirectAttached`` range of the network and one
    ``user_ip_address`` row per address (one multi-row insert)."""
    first, last = ip_range
    _check_range_overlap(session, network.data_center_id, first, last)
    tag = (network.broadcast_uri or f"vlan://{UNTAGGED}").removeprefix("vlan://")
    assert request.netmask is not None
    row = VlanIpRange(
        vlan_id=tag,
        vlan_gateway=network.gateway,
        vlan_netmask=request.netmask.strip(),
        description=f"{ipv4.dotted(first)}-{ipv4.dotted(last)}",
        vlan_type=VlanType.DIRECT_ATTACHED.value,
        data_center_id=network.data_center_id,
        network_id=network.id,
        physical_network_id=physical.id,
        start_num=first,
        end_num=last,
    )
    session.add(row)
    session.flush()
    session.execute(
        insert(UserIpAddress),
        [
            {
                "uuid": new_uuid(),
                "public_ip_address": ipv4.dotted(number),
                "ip_num": number,
                "data_center_id": network.data_center_id,
                "vlan_db_id": row.id,
                "physical_network_id": physical.id,
                "source_network_id": network.id,
                "state": IpState.FREE.value,
            }
            for number in range(first, last + 1)
        ],
    )


def account_networks_in_zone(
    session: Session, account_id: int, zone_id: int, guest_type: str
) -> list[Network]:
    """The account's live ``Account`` networks of ``guest_type`` in the zone."""
    return list(
        session.scalars(
            select(Network)
            .where(
                and_(
                    Network.account_id == account_id,
                    Network.data_center_id == zone_id,
                    Network.guest_type == guest_type,
                    Network.acl_type == AclType.ACCOUNT.value,
                    Network.removed.is_(None),
                )
            )
            .order_by(Network.id)
        )
    )
