"""Response views of the topology objects, with 4.1's field names and order
(response-fields-4.1.tsv: ZoneResponse, PodResponse, PhysicalNetworkResponse,
TrafficTypeResponse, ProviderResponse, VlanIpRangeResponse, RegionResponse,
StorageNetworkIpRangeResponse).

Pure functions over rows already loaded: a list page costs its one query.
"""

from __future__ import annotations

from cumulo.accounts.models import Account, Domain
from cumulo.infra import ipv4
from cumulo.infra.models import (
    PhysicalNetwork,
    PhysicalNetworkServiceProvider,
    PhysicalNetworkTrafficType,
    Pod,
    Region,
    StorageNetworkIpRange,
    VlanIpRange,
    VlanType,
    Zone,
)
from cumulo.sdk.api import Fields

ZONE_FIELDS = (
    "id", "name", "description", "dns1", "dns2", "ip6dns1", "ip6dns2", "internaldns1",
    "internaldns2", "vlan", "guestcidraddress", "status", "displaytext", "domain",
    "domainid", "domainname", "networktype", "securitygroupsenabled", "allocationstate",
    "zonetoken", "dhcpprovider", "capacity", "localstorageenabled",
)  # fmt: skip
POD_FIELDS = (
    "id", "name", "zoneid", "zonename", "gateway", "netmask", "startip", "endip",
    "allocationstate", "capacity",
)  # fmt: skip
PHYSICAL_NETWORK_FIELDS = (
    "id", "name", "broadcastdomainrange", "zoneid", "state", "vlan", "domainid", "tags",
    "isolationmethods", "networkspeed",
)  # fmt: skip
TRAFFIC_TYPE_FIELDS = (
    "id", "traffictype", "physicalnetworkid", "xennetworklabel", "kvmnetworklabel",
    "vmwarenetworklabel",
)  # fmt: skip
PROVIDER_FIELDS = (
    "name", "physicalnetworkid", "destinationphysicalnetworkid", "state", "id",
    "servicelist", "canenableindividualservice",
)  # fmt: skip
VLAN_RANGE_FIELDS = (
    "id", "forvirtualnetwork", "zoneid", "vlan", "account", "domainid", "domain", "podid",
    "podname", "gateway", "netmask", "description", "startip", "endip", "networkid",
    "projectid", "project", "physicalnetworkid", "startipv6", "endipv6", "ip6gateway",
    "ip6cidr",
)  # fmt: skip
REGION_FIELDS = ("id", "name", "endpoint")
STORAGE_RANGE_FIELDS = (
    "id", "vlan", "podid", "startip", "endip", "gateway", "networkid", "zoneid", "netmask",
)  # fmt: skip


def zone_fields(zone: Zone, domain: Domain | None, *, admin: bool) -> Fields:
    """A zone; DNS servers and the guest CIDR only for root admins (as 4.1)."""
    fields: Fields = {
        "id": zone.uuid,
        "name": zone.name,
        "description": zone.description,
    }
    if admin:
        fields.update(
            dns1=zone.dns1,
            dns2=zone.dns2,
            ip6dns1=zone.ip6_dns1,
            ip6dns2=zone.ip6_dns2,
            internaldns1=zone.internal_dns1,
            internaldns2=zone.internal_dns2,
            guestcidraddress=zone.guest_network_cidr,
        )
    fields.update(
        domain=zone.domain,
        domainid=domain.uuid if domain is not None else None,
        domainname=domain.name if domain is not None else None,
        networktype=zone.networktype,
        securitygroupsenabled=zone.is_security_group_enabled,
        allocationstate=zone.allocation_state,
        zonetoken=zone.zone_token,
        dhcpprovider=zone.dhcp_provider,
        localstorageenabled=zone.is_local_storage_enabled,
    )
    return fields


def pod_fields(pod: Pod, zone: Zone) -> Fields:
    """A pod; ``startip``/``endip`` are its reserved system range."""
    start, _, end = (pod.description or "").partition("-")
    return {
        "id": pod.uuid,
        "name": pod.name,
        "zoneid": zone.uuid,
        "zonename": zone.name,
        "gateway": pod.gateway,
        "netmask": ipv4.netmask_of(pod.cidr_size),
        "startip": start or None,
        "endip": end or None,
        "allocationstate": pod.allocation_state,
    }


def physical_network_fields(network: PhysicalNetwork, zone: Zone, domain: Domain | None) -> Fields:
    """A physical network."""
    return {
        "id": network.uuid,
        "name": network.name,
        "broadcastdomainrange": network.broadcast_domain_range,
        "zoneid": zone.uuid,
        "state": network.state,
        "vlan": network.vnet,
        "domainid": domain.uuid if domain is not None else None,
        "tags": network.tags,
        "isolationmethods": network.isolation_methods,
        "networkspeed": network.speed,
    }


def traffic_type_fields(row: PhysicalNetworkTrafficType, network: PhysicalNetwork) -> Fields:
    """A traffic type with its per-hypervisor labels."""
    return {
        "id": row.uuid,
        "traffictype": row.traffic_type,
        "physicalnetworkid": network.uuid,
        "xennetworklabel": row.xen_network_label,
        "kvmnetworklabel": row.kvm_network_label,
        "vmwarenetworklabel": row.vmware_network_label,
    }


def provider_fields(
    row: PhysicalNetworkServiceProvider,
    network: PhysicalNetwork,
    destination: PhysicalNetwork | None = None,
) -> Fields:
    """A network service provider."""
    return {
        "name": row.provider_name,
        "physicalnetworkid": network.uuid,
        "destinationphysicalnetworkid": destination.uuid if destination is not None else None,
        "state": row.state,
        "id": row.uuid,
        "servicelist": [name for name in row.services.split(",") if name],
        "canenableindividualservice": row.provider_name != "SecurityGroupProvider",
    }


def vlan_range_fields(
    row: VlanIpRange,
    zone: Zone,
    pod: Pod | None,
    network: PhysicalNetwork | None,
    account: Account | None,
    domain: Domain | None,
) -> Fields:
    """A VLAN IP range."""
    start, _, end = (row.description or "").partition("-")
    return {
        "id": row.uuid,
        "forvirtualnetwork": row.vlan_type == VlanType.VIRTUAL_NETWORK,
        "zoneid": zone.uuid,
        "vlan": row.vlan_id,
        "account": account.account_name if account is not None else None,
        "domainid": domain.uuid if domain is not None else None,
        "domain": domain.name if domain is not None else None,
        "podid": pod.uuid if pod is not None else None,
        "podname": pod.name if pod is not None else None,
        "gateway": row.vlan_gateway,
        "netmask": row.vlan_netmask,
        "description": row.description,
        "startip": start or None,
        "endip": end or None,
        "physicalnetworkid": network.uuid if network is not None else None,
        "ip6gateway": row.ip6_gateway,
        "ip6cidr": row.ip6_cidr,
    }


def region_fields(region: Region) -> Fields:
    """A region (ids are the operator's small integers)."""
    return {"id": region.id, "name": region.name, "endpoint": region.end_point}


def storage_range_fields(row: StorageNetworkIpRange, pod: Pod, zone: Zone) -> Fields:
    """A storage network IP range (``networkid`` stays absent until system networks
    exist)."""
    return {
        "id": row.uuid,
        "vlan": row.vlan,
        "podid": pod.uuid,
        "startip": row.start_ip,
        "endip": row.end_ip,
        "gateway": row.gateway,
        "zoneid": zone.uuid,
        "netmask": row.netmask,
    }
