"""Response views: a VM as 4.1's ``UserVmResponse``, an instance group as
``InstanceGroupResponse``.

Field names and order are 4.1's (response-fields-4.1.tsv). As in 4.1's
``UserVmJoinDaoImpl``, only root admins see where a VM runs (``hostid``, ``hostname``)
and its hypervisor-side name (``instancename``). Views are pure: they read rows the
listing fetched and never query. The VM's password shows only in the answer of the
command that set it (deploy, reset, restore), never in a list.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from cumulo.compute.listing import NicRow
from cumulo.compute.models import InstanceGroup
from cumulo.sdk.api import CallContext, Fields, format_date

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
    fields: Fields = {"id": nic.uuid}
    for key, value in (
        ("netmask", nic.netmask),
        ("gateway", nic.gateway),
        ("ipaddress", nic.ip4_address),
        ("isolationuri", nic.isolation_uri),
        ("broadcasturi", nic.broadcast_uri),
    ):
        if value is not None:
            fields[key] = value
    fields["traffictype"] = nic.traffic_type
    fields["type"] = "Shared"
    fields["isdefault"] = bool(nic.is_default)
    fields["macaddress"] = nic.mac_address
    return fields


def _created(value: Any) -> Any:
    """``created`` as 4.1 renders it, done here (a string needs no more work from the
    renderer, which otherwise converts each of a page's datetimes)."""
    if isinstance(value, dt.datetime):
        return format_date(value)
    return value


def vm_fields(
    ctx: CallContext, row: Any, nics: list[NicRow], *, password: str | None = None
) -> Fields:
    """A ``UserVmResponse`` from a :func:`cumulo.compute.listing.list_vms` row.

    Built as the renderer will write it: fields without a value are left out here
    (gson's rule), not set to ``None`` and dropped later, so a page of 500 VMs costs
    one dictionary per VM and NIC (bench/vms_listing.py).

    :param password: the password just set, shown once (deploy, reset, restore).
    """
    admin = ctx.is_root_admin
    fields: Fields = {
        "id": row.uuid,
        "name": row.name,
        "displayname": row.display_name or row.name,
        "account": row.account_name,
        "domainid": row.domain_uuid,
        "domain": row.domain_name,
        "created": _created(row.created),
        "state": row.state,
        "haenable": bool(row.ha_enabled),
    }
    if row.group_uuid is not None:
        fields["groupid"] = row.group_uuid
        fields["group"] = row.group_name
    fields["zoneid"] = row.zone_uuid
    fields["zonename"] = row.zone_name
    if admin and row.host_uuid is not None:
        fields["hostid"] = row.host_uuid
        fields["hostname"] = row.host_name
    if row.template_uuid is not None:
        fields["templateid"] = row.template_uuid
        fields["templatename"] = row.template_name
        if row.template_display_text is not None:
            fields["templatedisplaytext"] = row.template_display_text
    fields["passwordenabled"] = bool(row.password_enabled)
    if row.iso_uuid is not None:
        fields["isoid"] = row.iso_uuid
        fields["isoname"] = row.iso_name
        if row.iso_display_text is not None:
            fields["isodisplaytext"] = row.iso_display_text
    fields["serviceofferingid"] = row.offering_uuid
    fields["serviceofferingname"] = row.offering_name
    fields["cpunumber"] = row.cpu
    fields["cpuspeed"] = row.speed
    fields["memory"] = row.ram_size
    if row.guest_os_uuid is not None:
        fields["guestosid"] = row.guest_os_uuid
    fields["rootdeviceid"] = 0
    fields["rootdevicetype"] = "ROOT"
    fields["securitygroup"] = []
    if password is not None:
        fields["password"] = password
    fields["nic"] = [nic_fields(nic) for nic in nics]
    if row.hypervisor_type is not None:
        fields["hypervisor"] = row.hypervisor_type
    if admin:
        fields["instancename"] = row.instance_name
    fields["tags"] = []
    if row.keypair_name is not None:
        fields["keypair"] = row.keypair_name
    return fields


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
