"""Response views: a VM as 4.1's ``UserVmResponse``, an instance group as
``InstanceGroupResponse``.

Field names and order are 4.1's (response-fields-4.1.tsv). As in 4.1's
``UserVmJoinDaoImpl``, only root admins see where a VM runs (``hostid``, ``hostname``)
and its hypervisor-side name (``instancename``). Views are pure: they read rows the
listing fetched and never query. The VM's password shows only in the answer of the
command that set it (deploy, reset, restore), never in a list.
"""

from __future__ import annotations

from typing import Any

from cumulo.compute.listing import NicRow
from cumulo.compute.models import InstanceGroup
from cumulo.sdk.api import CallContext, Fields

USER_VM_FIELDS = (
    "id",
    "name",
    "displayname",
    "account",
    "projectid",
    "project",
    "domainid",
    "domain",
    "created",
    "state",
    "haenable",
    "groupid",
    "group",
    "zoneid",
    "zonename",
    "hostid",
    "hostname",
    "templateid",
    "templatename",
    "templatedisplaytext",
    "passwordenabled",
    "isoid",
    "isoname",
    "isodisplaytext",
    "serviceofferingid",
    "serviceofferingname",
    "forvirtualnetwork",
    "cpunumber",
    "cpuspeed",
    "memory",
    "cpuused",
    "networkkbsread",
    "networkkbswrite",
    "guestosid",
    "rootdeviceid",
    "rootdevicetype",
    "securitygroup",
    "password",
    "nic",
    "hypervisor",
    "publicipid",
    "publicip",
    "instancename",
    "tags",
    "keypair",
)
INSTANCE_GROUP_FIELDS = (
    "id",
    "name",
    "created",
    "account",
    "projectid",
    "project",
    "domainid",
    "domain",
)


def nic_fields(nic: NicRow) -> Fields:
    """A ``NicResponse`` of the basic zone's shared guest network."""
    return {
        "id": nic.uuid,
        "netmask": nic.netmask,
        "gateway": nic.gateway,
        "ipaddress": nic.ip4_address,
        "isolationuri": nic.isolation_uri,
        "broadcasturi": nic.broadcast_uri,
        "traffictype": nic.traffic_type,
        "type": "Shared",
        "isdefault": nic.is_default,
        "macaddress": nic.mac_address,
    }


def vm_fields(
    ctx: CallContext, row: Any, nics: list[NicRow], *, password: str | None = None
) -> Fields:
    """A ``UserVmResponse`` from a :func:`cumulo.compute.listing.list_vms` row.

    :param password: the password just set, shown once (deploy, reset, restore).
    """
    admin = ctx.is_root_admin
    return {
        "id": row.uuid,
        "name": row.name,
        "displayname": row.display_name or row.name,
        "account": row.account_name,
        "domainid": row.domain_uuid,
        "domain": row.domain_name,
        "created": row.created,
        "state": row.state,
        "haenable": bool(row.ha_enabled),
        "groupid": row.group_uuid,
        "group": row.group_name,
        "zoneid": row.zone_uuid,
        "zonename": row.zone_name,
        "hostid": row.host_uuid if admin else None,
        "hostname": row.host_name if admin else None,
        "templateid": row.template_uuid,
        "templatename": row.template_name,
        "templatedisplaytext": row.template_display_text,
        "passwordenabled": bool(row.password_enabled),
        "isoid": row.iso_uuid,
        "isoname": row.iso_name,
        "isodisplaytext": row.iso_display_text,
        "serviceofferingid": row.offering_uuid,
        "serviceofferingname": row.offering_name,
        "cpunumber": row.cpu,
        "cpuspeed": row.speed,
        "memory": row.ram_size,
        "guestosid": row.guest_os_uuid,
        "rootdeviceid": 0,
        "rootdevicetype": "ROOT",
        "securitygroup": [],
        "password": password,
        "nic": [nic_fields(nic) for nic in nics],
        "hypervisor": row.hypervisor_type,
        "instancename": row.instance_name if admin else None,
        "tags": [],
        "keypair": row.keypair_name,
    }


def group_fields(
    group: InstanceGroup, account_name: str, domain_uuid: str, domain_name: str
) -> Fields:
    """An ``InstanceGroupResponse``."""
    return {
        "id": group.uuid,
        "name": group.name,
        "created": group.created,
        "account": account_name,
        "domainid": domain_uuid,
        "domain": domain_name,
    }
