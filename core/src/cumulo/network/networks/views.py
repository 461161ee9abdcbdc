"""``NetworkResponse`` as 4.1 renders it (ApiResponseHelper ``createNetworkResponse``):
fields in 4.1's order, ``vlan`` for the root admin only, the services with their
capabilities (the network's providers' ``capabilities()``, with the offering's own
choices for source-NAT type, LB isolation and redundant routers), ``Gateway`` left
out as 4.1 leaves it out."""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from cumulo.sdk.api import CallContext, Fields
from cumulo.sdk.errors import CloudError
from cumulo.sdk.network import Service

log = logging.getLogger(__name__)

FIELDS = (
    "id",
    "name",
    "displaytext",
    "broadcastdomaintype",
    "traffictype",
    "gateway",
    "netmask",
    "cidr",
    "zoneid",
    "zonename",
    "networkofferingid",
    "networkofferingname",
    "networkofferingdisplaytext",
    "networkofferingavailability",
    "issystem",
    "state",
    "related",
    "broadcasturi",
    "dns1",
    "dns2",
    "type",
    "vlan",
    "acltype",
    "subdomainaccess",
    "account",
    "projectid",
    "project",
    "domainid",
    "domain",
    "isdefault",
    "service",
    "networkdomain",
    "physicalnetworkid",
    "restartrequired",
    "specifyipranges",
    "vpcid",
    "canusefordeploy",
    "ispersistent",
    "tags",
    "ip6gateway",
    "ip6cidr",
)


def provider_capabilities(provider_name: str, service: str) -> dict[str, str]:
    """What provider ``provider_name`` declares for ``service`` (empty if it is not
    installed here: the listing still shows the service)."""
    from cumulo.network.providers import provider

    try:
        declared = provider(provider_name).capabilities()
    except (CloudError, NotImplementedError) as exc:
        log.debug("no capabilities of %s: %s", provider_name, exc)
        return {}
    for key, values in declared.items():
        if str(key) == service:
            return {str(name): str(value) for name, value in values.items()}
    return {}


def service_fields(
    services: Sequence[tuple[str, str | None]], offering: Mapping[str, Any]
) -> list[Fields]:
    """The ``service`` list of a network: ``services`` are (service, provider) pairs."""
    out: list[Fields] = []
    for service, provider_name in sorted(services):
        if service == Service.GATEWAY.value:
            continue
        capabilities = provider_capabilities(provider_name, service) if provider_name else {}
        if service == Service.SOURCE_NAT.value and "SupportedSourceNatTypes" in capabilities:
            capabilities["SupportedSourceNatTypes"] = (
                "perzone" if offering.get("shared_source_nat_service") else "peraccount"
            )
        if service == Service.LB.value and "SupportedLBIsolation" in capabilities:
            capabilities["SupportedLBIsolation"] = (
                "dedicated" if offering.get("dedicated_lb_service", True) else "shared"
            )
        if "RedundantRouter" in capabilities:
            capabilities["RedundantRouter"] = str(
                bool(offering.get("redundant_router_service"))
            ).lower()
        out.append(
            {
                "name": service,
                "capability": [
                    {"name": name, "value": value, "canchooseservicecapability": False}
                    for name, value in capabilities.items()
                ],
            }
        )
    return out


def netmask_of(cidr: str | None) -> str | None:
    """The dotted netmask of a CIDR."""
    if not cidr:
        return None
    return str(ipaddress.IPv4Network(cidr, strict=False).netmask)


def network_fields(
    ctx: CallContext,
    row: Any,
    services: Sequence[tuple[str, str | None]],
    *,
    can_use_for_deploy: bool | None,
) -> Fields:
    """One network from a :func:`cumulo.network.networks.listing.list_networks` row."""
    broadcast = row.broadcast_uri
    vlan = None
    if broadcast:
        vlan = broadcast.removeprefix("vlan://") if broadcast.startswith("vlan") else "N/A"
    domain_acl = row.acl_type == "Domain"
    offering = {
        "shared_source_nat_service": row.shared_source_nat_service,
        "dedicated_lb_service": row.dedicated_lb_service,
        "redundant_router_service": row.redundant_router_service,
    }
    fields: Fields = {
        "id": row.uuid,
        "name": row.name,
        "displaytext": row.display_text,
        "broadcastdomaintype": row.broadcast_domain_type,
        "traffictype": row.traffic_type,
        "gateway": row.gateway,
        "netmask": netmask_of(row.cidr),
        "cidr": row.cidr,
        "zoneid": row.zone_uuid,
        "zonename": row.zone_name,
        "networkofferingid": row.offering_uuid,
        "networkofferingname": row.offering_name,
        "networkofferingdisplaytext": row.offering_display_text,
        "networkofferingavailability": row.offering_availability,
        "issystem": bool(row.system_only),
        "state": row.state,
        "related": row.uuid,
        "broadcasturi": broadcast,
        "dns1": row.dns1,
        "dns2": row.dns2,
        "type": row.guest_type,
        "vlan": vlan if ctx.is_root_admin else None,
        "acltype": row.acl_type,
        "subdomainaccess": bool(row.subdomain_access) if domain_acl else None,
        "account": None if domain_acl else row.account_name,
        "domainid": row.domain_uuid,
        "domain": row.domain_name,
        "service": service_fields(services, offering),
        "networkdomain": row.network_domain,
        "physicalnetworkid": row.physical_network_uuid,
        "restartrequired": bool(row.restart_required),
        "specifyipranges": bool(row.specify_ip_ranges),
        "canusefordeploy": can_use_for_deploy,
        "ispersistent": bool(row.is_persistent),
        "tags": [],
    }
    return {name: value for name, value in fields.items() if value is not None}
