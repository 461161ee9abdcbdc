"""The ``DomainRouterResponse`` as 4.1 answers it (response-fields-4.1.tsv order).

The guest, link-local and public fields come from the router's NICs (4.1 fills them
the same way, from each NIC's traffic type); ``gateway`` is the public NIC's gateway
(the router's default route); ``dns1``/``dns2`` are the guest network's, else the
zone's. Views are pure: they read listed rows and never query.
"""

from __future__ import annotations

from typing import Any

from cumulo.network.routers.listing import RouterRow
from cumulo.sdk.api import Fields

OBJECT = "router"
ROUTER_FIELDS = (
    "id",
    "zoneid",
    "zonename",
    "dns1",
    "dns2",
    "ip6dns1",
    "ip6dns2",
    "networkdomain",
    "gateway",
    "name",
    "podid",
    "hostid",
    "hostname",
    "linklocalip",
    "linklocalmacaddress",
    "linklocalnetmask",
    "linklocalnetworkid",
    "publicip",
    "publicmacaddress",
    "publicnetmask",
    "publicnetworkid",
    "guestipaddress",
    "guestmacaddress",
    "guestnetmask",
    "guestnetworkid",
    "templateid",
    "created",
    "state",
    "account",
    "projectid",
    "project",
    "domainid",
    "domain",
    "serviceofferingid",
    "serviceofferingname",
    "isredundantrouter",
    "redundantstate",
    "templateversion",
    "scriptsversion",
    "vpcid",
    "nic",
)


def _nic_fields(nic: Any, network_uuid: str | None) -> Fields:
    fields: Fields = {"id": nic.nic_uuid}
    if nic.nic_traffic_type == "Guest" and network_uuid is not None:
        fields["networkid"] = network_uuid
    for key, value in (
        ("netmask", nic.nic_netmask),
        ("gateway", nic.nic_gateway),
        ("ipaddress", nic.nic_ip),
        ("isolationuri", nic.nic_isolation_uri),
        ("broadcasturi", nic.nic_broadcast_uri),
    ):
        if value is not None:
            fields[key] = value
    fields["traffictype"] = nic.nic_traffic_type
    fields["isdefault"] = bool(nic.nic_is_default)
    fields["macaddress"] = nic.nic_mac
    return fields


def router_fields(listed: RouterRow) -> Fields:
    """A ``DomainRouterResponse`` (object ``router``)."""
    row = listed.router
    by_traffic = {nic.nic_traffic_type: nic for nic in listed.nics}
    guest, control, public = (by_traffic.get(kind) for kind in ("Guest", "Control", "Public"))
    dns1, dns2 = (
        (row.network_dns1, row.network_dns2) if row.network_dns1 else (row.zone_dns1, row.zone_dns2)
    )
    return {
        "id": row.uuid,
        "zoneid": row.zone_uuid,
        "zonename": row.zone_name,
        "dns1": dns1,
        "dns2": dns2,
        "networkdomain": row.network_domain,
        "gateway": public.nic_gateway if public is not None else None,
        "name": row.name,
        "podid": row.pod_uuid,
        "hostid": row.host_uuid,
        "hostname": row.host_name,
        "linklocalip": control.nic_ip if control is not None else row.control_ip_address,
        "linklocalmacaddress": control.nic_mac if control is not None else None,
        "linklocalnetmask": control.nic_netmask if control is not None else None,
        "publicip": public.nic_ip if public is not None else row.public_ip_address,
        "publicmacaddress": public.nic_mac if public is not None else None,
        "publicnetmask": public.nic_netmask if public is not None else None,
        "guestipaddress": guest.nic_ip if guest is not None else row.guest_ip_address,
        "guestmacaddress": guest.nic_mac if guest is not None else None,
        "guestnetmask": guest.nic_netmask if guest is not None else None,
        "guestnetworkid": row.network_uuid,
        "templateid": row.template_uuid,
        "created": row.created,
        "state": row.state,
        "account": row.account_name,
        "domainid": row.domain_uuid,
        "domain": row.domain_name,
        "serviceofferingid": row.offering_uuid,
        "serviceofferingname": row.offering_name,
        "isredundantrouter": bool(row.is_redundant_router),
        "redundantstate": row.redundant_state,
        "templateversion": row.template_version,
        "scriptsversion": row.scripts_version,
        "nic": [_nic_fields(nic, row.network_uuid) for nic in listed.nics],
    }
