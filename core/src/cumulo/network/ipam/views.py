"""``IPAddressResponse`` as 4.1 renders it (ApiResponseHelper
``createIPAddressResponse``): the range's VLAN for the root admin only, the VM of a
static NAT, the associated guest network, the network a guest range belongs to."""

from __future__ import annotations

import datetime as dt
from typing import Any

from cumulo.infra.models import VlanType
from cumulo.sdk.api import CallContext, Fields

FIELDS = (
    "id",
    "ipaddress",
    "allocated",
    "zoneid",
    "zonename",
    "issourcenat",
    "account",
    "projectid",
    "project",
    "domainid",
    "domain",
    "forvirtualnetwork",
    "vlanid",
    "vlanname",
    "isstaticnat",
    "issystem",
    "virtualmachineid",
    "virtualmachinename",
    "virtualmachinedisplayname",
    "associatednetworkid",
    "associatednetworkname",
    "networkid",
    "state",
    "physicalnetworkid",
    "purpose",
    "vpcid",
    "tags",
)


def ip_fields(ctx: CallContext, row: Any) -> Fields:
    """One address from a :func:`cumulo.network.ipam.listing.list_ips` row."""
    allocated = None
    if row.allocated is not None:
        allocated = dt.datetime.fromtimestamp(int(row.allocated), dt.UTC).replace(tzinfo=None)
    purpose = None
    if row.is_system:
        purpose = "StaticNat" if row.one_to_one_nat else "Lb"
    fields: Fields = {
        "id": row.uuid,
        "ipaddress": row.public_ip_address,
        "allocated": allocated,
        "zoneid": row.zone_uuid,
        "zonename": row.zone_name,
        "issourcenat": bool(row.source_nat),
        "account": row.account_name,
        "domainid": row.domain_uuid,
        "domain": row.domain_name,
        "forvirtualnetwork": row.vlan_type == VlanType.VIRTUAL_NETWORK.value,
        "vlanid": row.vlan_uuid if ctx.is_root_admin else None,
        "vlanname": row.vlan_tag if ctx.is_root_admin else None,
        "isstaticnat": bool(row.one_to_one_nat),
        "issystem": bool(row.is_system),
        "virtualmachineid": row.vm_uuid,
        "virtualmachinename": row.vm_name,
        "virtualmachinedisplayname": row.vm_display_name,
        "associatednetworkid": row.network_uuid,
        "associatednetworkname": row.network_name,
        "networkid": row.range_network_uuid,
        "state": row.state,
        "physicalnetworkid": row.physical_network_uuid,
        "purpose": purpose,
        "tags": [],
    }
    return {name: value for name, value in fields.items() if value is not None}
