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

from cumulo.compute.listing import VM_COLUMNS, NicRow
from cumulo.compute.models import InstanceGroup
from cumulo.db.listing import Prepared
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
    """A ``NicResponse`` of the basic zone's shared guest network (ready to render)."""
    fields: Fields = Prepared(id=nic.uuid)
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
    renderer, which otherwise converts each of a page's datetimes). A stored time is
    naive UTC: ``isoformat`` gives :func:`~cumulo.sdk.api.format_date`'s text for it
    at a fraction of ``strftime``'s cost."""
    if type(value) is dt.datetime and value.tzinfo is None and value.year >= 1000:
        return value.isoformat(timespec="seconds") + "+0000"
    if isinstance(value, dt.datetime):
        return format_date(value)
    return value


def vm_fields(
    ctx: CallContext, row: Any, nics: list[NicRow], *, password: str | None = None
) -> Fields:
    """A ``UserVmResponse`` from a VM row: a row of :func:`cumulo.compute.listing.
    list_vms` or ``vm_row``, or any sequence starting with the
    :data:`~cumulo.compute.listing.VM_COLUMNS`, read by position (a page of 500 rows
    reads some 18,000 values: by name that costs four times as much).

    Built as the renderer will write it (:class:`~cumulo.db.listing.Prepared`): fields
    without a value are left out here (gson's rule), not set to ``None`` and dropped
    later, so a page of 500 VMs costs one dictionary per VM and NIC and no second walk
    (bench/vms_listing.py).

    :param password: the password just set, shown once (deploy, reset, restore).
    """
    (
        _id, uuid, name, display_name, instance_name, state, created, ha_enabled,
        hypervisor, keypair, _password, _account_id, _update_count,
        account_name, _account_type, domain_uuid, domain_name,
        zone_uuid, zone_name, _networktype, host_uuid, host_name,
        offering_uuid, offering_name, cpu, speed, ram_size,
        template_uuid, template_name, template_text, password_enabled,
        iso_uuid, iso_name, iso_text, guest_os_uuid, group_uuid, group_name,
    ) = tuple(row)[:_VM_WIDTH]  # fmt: skip
    admin = ctx.is_root_admin
    fields: Fields = Prepared(
        id=uuid,
        name=name,
        displayname=display_name or name,
        account=account_name,
        domainid=domain_uuid,
        domain=domain_name,
        created=_created(created),
        state=state,
        haenable=bool(ha_enabled),
    )
    if group_uuid is not None:
        fields["groupid"] = group_uuid
        fields["group"] = group_name
    fields["zoneid"] = zone_uuid
    fields["zonename"] = zone_name
    if admin and host_uuid is not None:
        fields["hostid"] = host_uuid
        fields["hostname"] = host_name
    if template_uuid is not None:
        fields["templateid"] = template_uuid
        fields["templatename"] = template_name
        if template_text is not None:
            fields["templatedisplaytext"] = template_text
    fields["passwordenabled"] = bool(password_enabled)
    if iso_uuid is not None:
        fields["isoid"] = iso_uuid
        fields["isoname"] = iso_name
        if iso_text is not None:
            fields["isodisplaytext"] = iso_text
    fields["serviceofferingid"] = offering_uuid
    fields["serviceofferingname"] = offering_name
    fields["cpunumber"] = cpu
    fields["cpuspeed"] = speed
    fields["memory"] = ram_size
    if guest_os_uuid is not None:
        fields["guestosid"] = guest_os_uuid
    fields["rootdeviceid"] = 0
    fields["rootdevicetype"] = "ROOT"
    fields["securitygroup"] = []
    if password is not None:
        fields["password"] = password
    fields["nic"] = [nic_fields(nic) for nic in nics]
    if hypervisor is not None:
        fields["hypervisor"] = hypervisor
    if admin:
        fields["instancename"] = instance_name
    fields["tags"] = []
    if keypair is not None:
        fields["keypair"] = keypair
    return fields


_VM_WIDTH = len(VM_COLUMNS)


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
