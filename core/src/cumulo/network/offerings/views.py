"""The ``NetworkOfferingResponse`` as 4.1 answers it (response-fields-4.1.tsv order).

Each service comes with its providers (``provider``: ``[{"name": ...}]``) and, for the
three services whose capabilities an offering chooses, those capabilities
(``capability``: ``[{"name", "value", "canchooseservicecapability"}]``) as 4.1's
``ApiResponseHelper.createNetworkOfferingResponse`` builds them: ``Lb`` shows
``SupportedLBIsolation`` and ``ElasticLb``, ``SourceNat`` ``SupportedSourceNatTypes``
and ``RedundantRouter``, ``StaticNat`` ``ElasticIp``. ``Gateway`` is left out, as 4.1
leaves it out. ``networkrate`` is the offering's, else ``network.throttling.rate``
(-1 for 0: "unlimited", as 4.1 shows it). Views are pure: they never query.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cumulo.sdk.api import Fields
from cumulo.sdk.network import Service

NETWORK_OFFERING_FIELDS = (
    "id",
    "name",
    "displaytext",
    "tags",
    "created",
    "traffictype",
    "isdefault",
    "specifyvlan",
    "conservemode",
    "specifyipranges",
    "availability",
    "networkrate",
    "state",
    "guestiptype",
    "serviceofferingid",
    "service",
    "forvpc",
    "ispersistent",
)
OBJECT = "networkoffering"

_VPC_ROUTER = "VpcVirtualRouter"


def _capability(name: str, value: bool | str) -> Fields:
    text = value if isinstance(value, str) else ("true" if value else "false")
    return {"name": name, "value": text, "canchooseservicecapability": False}


def _capabilities(service: str, offering: Any) -> list[Fields] | None:
    if service == Service.LB:
        return [
            _capability(
                "SupportedLBIsolation", "dedicated" if offering.dedicated_lb_service else "shared"
            ),
            _capability("ElasticLb", offering.elastic_lb_service),
        ]
    if service == Service.SOURCE_NAT:
        return [
            _capability(
                "SupportedSourceNatTypes",
                "perzone" if offering.shared_source_nat_service else "peraccount",
            ),
            _capability("RedundantRouter", offering.redundant_router_service),
        ]
    if service == Service.STATIC_NAT:
        return [_capability("ElasticIp", offering.elastic_ip_service)]
    return None


def service_fields(offering: Any, services: Mapping[str, Sequence[str]]) -> list[Fields]:
    """The ``service`` list of an offering (module doc)."""
    listed = []
    for service, providers in services.items():
        if service == Service.GATEWAY:
            continue
        fields: Fields = {"name": service, "provider": [{"name": name} for name in providers]}
        capabilities = _capabilities(service, offering)
        if capabilities is not None:
            fields["capability"] = capabilities
        listed.append(fields)
    return listed


def network_rate(offering_rate: int | None, default_rate: int | None) -> int | None:
    """What ``networkrate`` shows: the offering's rate, else the global default; 0 is
    shown as -1 (unlimited)."""
    rate = offering_rate if offering_rate is not None else default_rate
    return -1 if rate == 0 else rate


def network_offering_fields(
    offering: Any,
    services: Mapping[str, Sequence[str]],
    *,
    router_offering_uuid: str | None,
    default_rate: int | None,
) -> Fields:
    """A ``NetworkOfferingResponse`` (object ``networkoffering``) of a model or a listed
    row (anything with the ``network_offerings`` columns as attributes).

    :param services: service → provider names, in the offering's order.
    """
    for_vpc = any(_VPC_ROUTER in providers for providers in services.values())
    return {
        "id": offering.uuid,
        "name": offering.name,
        "displaytext": offering.display_text,
        "tags": offering.tags,
        "created": offering.created,
        "traffictype": offering.traffic_type,
        "isdefault": offering.is_default,
        "specifyvlan": offering.specify_vlan,
        "conservemode": offering.conserve_mode,
        "specifyipranges": offering.specify_ip_ranges,
        "availability": offering.availability,
        "networkrate": network_rate(offering.nw_rate, default_rate),
        "state": offering.state,
        "guestiptype": offering.guest_type,
        "serviceofferingid": router_offering_uuid,
        "service": service_fields(offering, services),
        "forvpc": for_vpc,
        "ispersistent": offering.is_persistent,
    }
