"""The rules of ``createNetworkOffering`` (4.1's ``ConfigurationManagerImpl.
createNetworkOffering``), each broken rule a 431 naming the parameter at fault.

Services and providers:

- every name in ``supportedservices`` is a 4.1 service (any case); ``Gateway`` is not
  given but follows ``SourceNat`` (same provider), as in 4.1;
- ``serviceproviderlist`` names a provider only for a listed service, one provider per
  service, and the provider must offer it (:data:`cumulo.infra.network_services.
  PROVIDERS`);
- a service given no provider gets 4.1's default: ``SecurityGroupProvider`` for
  ``SecurityGroup``, the VPC virtual router for a VPC offering (one with ``NetworkACL``
  or any service on ``VpcVirtualRouter``), else the virtual router. 4.1 stored no
  provider and resolved it from the physical network when a network was created;
  cumulo resolves it here, so an offering always says who serves what;
- a port-forwarding or static-NAT service on the virtual router brings ``Firewall``
  with it (4.1 adds it);
- ``SecurityGroup`` only for ``Shared`` offerings; ``SourceNat`` only for ``Isolated``
  ones (a shared network has no router public address to translate to).

Capabilities (``servicecapabilitylist``, entries ``service``/``capabilitytype``/
``capabilityvalue``) only for a listed service, only 4.1's capability names for it,
only 4.1's values, and only where the chosen provider can deliver the value (shared
load balancers, elastic IP and LB are NetScaler's; redundant routers the virtual
router's; per-zone source NAT the SRX's).

The offering's own flags: ``Shared`` offerings specify the VLAN and IP ranges and are
never persistent; ``specifyipranges`` on an ``Isolated`` offering excludes
``SourceNat``; ``Required`` availability only for an ``Isolated`` offering with
``SourceNat``, and for one offering at most.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from cumulo.infra.network_services import PROVIDERS, SERVICES
from cumulo.network.offerings.models import Availability, GuestType, NetworkTrafficType
from cumulo.sdk.errors import InvalidParameterValue
from cumulo.sdk.network import Service

VIRTUAL_ROUTER = "VirtualRouter"
VPC_VIRTUAL_ROUTER = "VpcVirtualRouter"
SECURITY_GROUP_PROVIDER = "SecurityGroupProvider"

_SERVICES = {service.value.lower(): service.value for service in Service}
_PROVIDERS = {name.lower(): name for name in PROVIDERS}

TRUE_FALSE = ("true", "false")

CAPABILITY_VALUES: Mapping[str, Mapping[str, tuple[str, ...]]] = {
    Service.LB: {
        "SupportedLBIsolation": ("dedicated", "shared"),
        "ElasticLb": TRUE_FALSE,
        "InlineMode": TRUE_FALSE,
    },
    Service.SOURCE_NAT: {
        "SupportedSourceNatTypes": ("peraccount", "perzone"),
        "RedundantRouter": TRUE_FALSE,
    },
    Service.STATIC_NAT: {"ElasticIp": TRUE_FALSE, "AssociatePublicIP": TRUE_FALSE},
}
"""The capabilities a creator may choose, per service, with their values (4.1)."""

CAPABLE_PROVIDERS: Mapping[tuple[str, str, str], tuple[str, ...]] = {
    (Service.LB, "SupportedLBIsolation", "shared"): ("Netscaler",),
    (Service.LB, "ElasticLb", "true"): ("Netscaler", "ElasticLoadBalancerVm"),
    (Service.LB, "InlineMode", "true"): ("F5BigIp", "Netscaler"),
    (Service.SOURCE_NAT, "SupportedSourceNatTypes", "perzone"): ("JuniperSRX",),
    (Service.SOURCE_NAT, "RedundantRouter", "true"): (VIRTUAL_ROUTER,),
    (Service.STATIC_NAT, "ElasticIp", "true"): ("Netscaler",),
}
"""Capability values only some providers deliver (4.1's providers' capability maps);
every other value of :data:`CAPABILITY_VALUES` is what any provider does by default."""


@dataclass(frozen=True)
class Capabilities:
    """The capability columns of an offering (see :mod:`.models`)."""

    dedicated_lb_service: bool = True
    elastic_lb_service: bool = False
    inline: bool = False
    shared_source_nat_service: bool = False
    redundant_router_service: bool = False
    elastic_ip_service: bool = False
    eip_associate_public_ip: bool = False

    def columns(self) -> dict[str, bool]:
        """The values by column name."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class OfferingDesign:
    """What a valid ``createNetworkOffering`` asks for.

    :param services: service → provider, ``Gateway`` and ``Firewall`` included when
        4.1 adds them, in the order of :class:`Service`.
    """

    guest_type: str
    availability: str
    services: dict[str, str] = field(default_factory=dict)
    capabilities: Capabilities = Capabilities()


def traffic_type(value: str) -> str:
    """``traffictype``: a 4.1 traffic type, and only ``Guest`` for an offering."""
    names = {kind.value.lower(): kind.value for kind in NetworkTrafficType}
    found = names.get(value.strip().lower())
    if found is None:
        raise InvalidParameterValue(
            f"traffictype: invalid value '{value}'; supported traffic types are"
            f" {', '.join(kind.value for kind in NetworkTrafficType)}"
        )
    if found != NetworkTrafficType.GUEST:
        raise InvalidParameterValue(
            f"traffictype: only traffic type {NetworkTrafficType.GUEST.value} is supported"
            " for network offerings"
        )
    return found


def guest_type(value: str, param: str = "guestiptype") -> str:
    """``Shared`` or ``Isolated``, any case."""
    names = {kind.value.lower(): kind.value for kind in GuestType}
    found = names.get(value.strip().lower())
    if found is None:
        raise InvalidParameterValue(
            f"{param}: invalid guest IP type '{value}'; it can be Shared or Isolated"
        )
    return found


def availability(value: str | None, param: str = "availability") -> str:
    """``Required`` or ``Optional`` (absent: ``Optional``), any case."""
    if value is None:
        return Availability.OPTIONAL.value
    names = {kind.value.lower(): kind.value for kind in Availability}
    found = names.get(value.strip().lower())
    if found is None:
        raise InvalidParameterValue(
            f"{param}: invalid availability '{value}'; supported values are Required and Optional"
        )
    return found


def service_name(value: str, param: str) -> str:
    """A 4.1 service name as 4.1 spells it (the value may use any case)."""
    found = _SERVICES.get(value.strip().lower())
    if found is None:
        raise InvalidParameterValue(
            f"{param}: invalid service '{value}'; supported services are {', '.join(SERVICES)}"
        )
    return found


def provider_name(value: str, param: str) -> str:
    """A 4.1 provider name as 4.1 spells it."""
    found = _PROVIDERS.get(value.strip().lower())
    if found is None:
        raise InvalidParameterValue(
            f"{param}: invalid service provider '{value}'; supported providers are"
            f" {', '.join(PROVIDERS)}"
        )
    return found


def _supported(names: Iterable[str], kind: str) -> list[str]:
    chosen: list[str] = []
    for name in names:
        service = service_name(name, "supportedservices")
        if service == Service.GATEWAY:
            raise InvalidParameterValue(
                "supportedservices: Gateway cannot be requested; it comes with SourceNat"
            )
        if service == Service.SECURITY_GROUP and kind != GuestType.SHARED:
            raise InvalidParameterValue(
                "supportedservices: the SecurityGroup service is supported only for network"
                " offerings of guest IP type Shared"
            )
        if service == Service.SOURCE_NAT and kind != GuestType.ISOLATED:
            raise InvalidParameterValue(
                "supportedservices: the SourceNat service is supported only for network"
                " offerings of guest IP type Isolated"
            )
        if service not in chosen:
            chosen.append(service)
    if not chosen:
        raise InvalidParameterValue("supportedservices: at least one service is required")
    return chosen


def _given_providers(entries: Iterable[Mapping[str, str]], services: list[str]) -> dict[str, str]:
    param = "serviceproviderlist"
    given: dict[str, str] = {}
    for entry in entries:
        if "service" not in entry or "provider" not in entry:
            raise InvalidParameterValue(
                f"{param}: every entry needs a service and a provider"
                f" ({param}[0].service=Lb&{param}[0].provider=VirtualRouter)"
            )
        service = service_name(entry["service"], param)
        provider = provider_name(entry["provider"], param)
        if service not in services:
            raise InvalidParameterValue(
                f"{param}: service {service} is not enabled for the network offering"
                " (supportedservices); a provider cannot be added to it"
            )
        if given.get(service, provider) != provider:
            raise InvalidParameterValue(
                f"{param}: only one provider can be specified for service {service}"
            )
        if service not in PROVIDERS[provider]:
            raise InvalidParameterValue(
                f"{param}: provider {provider} does not support service {service}"
            )
        given[service] = provider
    return given


def service_providers(
    kind: str, supported: Iterable[str], entries: Iterable[Mapping[str, str]] = ()
) -> dict[str, str]:
    """Service → provider of a new offering of guest type ``kind`` (module doc).

    :param supported: ``supportedservices`` as given.
    :param entries: ``serviceproviderlist`` as given (``service``/``provider`` maps).
    :raises InvalidParameterValue: a rule is broken (431 naming the parameter).
    """
    services = _supported(supported, kind)
    given = _given_providers(entries, services)
    vpc = Service.NETWORK_ACL in services or VPC_VIRTUAL_ROUTER in given.values()
    router = VPC_VIRTUAL_ROUTER if vpc else VIRTUAL_ROUTER
    chosen: dict[str, str] = {}
    for service in services:
        if service in given:
            chosen[service] = given[service]
        elif service == Service.SECURITY_GROUP:
            chosen[service] = SECURITY_GROUP_PROVIDER
        elif service in PROVIDERS[router]:
            chosen[service] = router
        else:
            raise InvalidParameterValue(
                f"serviceproviderlist: service {service} has no default provider; name its"
                " provider in serviceproviderlist"
            )
    if Service.SOURCE_NAT in chosen:
        chosen[Service.GATEWAY] = chosen[Service.SOURCE_NAT]
    if Service.FIREWALL not in chosen and VIRTUAL_ROUTER in (
        chosen.get(Service.PORT_FORWARDING),
        chosen.get(Service.STATIC_NAT),
    ):
        chosen[Service.FIREWALL] = VIRTUAL_ROUTER
    order = [service.value for service in Service]
    return {service: chosen[service] for service in sorted(chosen, key=order.index)}


def capabilities(
    services: Mapping[str, str], entries: Iterable[Mapping[str, str]] = ()
) -> Capabilities:
    """The capability columns ``servicecapabilitylist`` asks for (module doc).

    :param services: the offering's service → provider (:func:`service_providers`).
    :raises InvalidParameterValue: a rule is broken (431 naming the parameter).
    """
    param = "servicecapabilitylist"
    chosen: dict[tuple[str, str], str] = {}
    for entry in entries:
        if not {"service", "capabilitytype", "capabilityvalue"} <= entry.keys():
            raise InvalidParameterValue(
                f"{param}: every entry needs a service, a capabilitytype and a capabilityvalue"
            )
        service = service_name(entry["service"], param)
        if service not in services:
            raise InvalidParameterValue(
                f"{param}: capabilities for service {service} can be specified only when"
                f" {service} is enabled for the network offering"
            )
        allowed = CAPABILITY_VALUES.get(service, {})
        names = {name.lower(): name for name in allowed}
        capability = names.get(entry["capabilitytype"].strip().lower())
        if capability is None:
            listed = ", ".join(allowed) or "none"
            raise InvalidParameterValue(
                f"{param}: capability '{entry['capabilitytype']}' cannot be specified for"
                f" service {service}; possible capabilities: {listed}"
            )
        value = entry["capabilityvalue"].strip().lower()
        if value not in allowed[capability]:
            raise InvalidParameterValue(
                f"{param}: unknown value '{entry['capabilityvalue']}' for capability"
                f" {capability}; possible values: {', '.join(allowed[capability])}"
            )
        capable = CAPABLE_PROVIDERS.get((service, capability, value))
        if capable is not None and services[service] not in capable:
            raise InvalidParameterValue(
                f"{param}: provider {services[service]} of service {service} does not"
                f" support {capability}={value} (only {', '.join(capable)})"
            )
        chosen[(service, capability)] = value
    return _capability_columns(chosen)


def _capability_columns(chosen: Mapping[tuple[str, str], str]) -> Capabilities:
    def flag(service: str, capability: str) -> bool:
        return chosen.get((service, capability)) == "true"

    elastic_ip = flag(Service.STATIC_NAT, "ElasticIp")
    associate = chosen.get((Service.STATIC_NAT, "AssociatePublicIP"))
    if associate == "true" and not elastic_ip:
        raise InvalidParameterValue(
            "servicecapabilitylist: capability AssociatePublicIP can only be set when"
            " capability ElasticIp is true"
        )
    isolation = chosen.get((Service.LB, "SupportedLBIsolation"), "dedicated")
    return Capabilities(
        dedicated_lb_service=isolation == "dedicated",
        elastic_lb_service=flag(Service.LB, "ElasticLb"),
        inline=flag(Service.LB, "InlineMode"),
        shared_source_nat_service=(
            chosen.get((Service.SOURCE_NAT, "SupportedSourceNatTypes")) == "perzone"
        ),
        redundant_router_service=flag(Service.SOURCE_NAT, "RedundantRouter"),
        elastic_ip_service=elastic_ip,
        eip_associate_public_ip=elastic_ip and associate == "true",
    )


def check_flags(
    kind: str,
    services: Mapping[str, str],
    *,
    specify_vlan: bool,
    specify_ip_ranges: bool,
    is_persistent: bool,
    wanted_availability: str,
) -> None:
    """The rules on the offering's own flags (module doc); the "one ``Required``
    offering" rule needs the database and is checked by the service.

    :raises InvalidParameterValue: a rule is broken (431 naming the parameter).
    """
    shared = kind == GuestType.SHARED
    if shared and not specify_vlan:
        raise InvalidParameterValue(
            "specifyvlan: must be true for network offerings of guest IP type Shared"
        )
    if shared and not specify_ip_ranges:
        raise InvalidParameterValue(
            "specifyipranges: must be true for network offerings of guest IP type Shared"
        )
    if not shared and specify_ip_ranges and Service.SOURCE_NAT in services:
        raise InvalidParameterValue(
            "specifyipranges: can be true only for Shared network offerings and Isolated"
            " ones without the SourceNat service"
        )
    if shared and is_persistent:
        raise InvalidParameterValue(
            "ispersistent: must be false for network offerings of guest IP type Shared"
        )
    if wanted_availability == Availability.REQUIRED and (
        shared or Service.SOURCE_NAT not in services
    ):
        raise InvalidParameterValue(
            "availability: can be Required only for Isolated network offerings with the"
            " SourceNat service"
        )
