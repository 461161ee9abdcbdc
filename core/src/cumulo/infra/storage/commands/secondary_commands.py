"""The 4.1 secondary storage and Swift commands: addSecondaryStorage, addSwift,
listSwifts."""

from __future__ import annotations

from cumulo.events import record
from cumulo.infra.hosts.views import HOST_FIELDS, host_fields
from cumulo.infra.lookup import find_zone
from cumulo.infra.storage import secondary, swift, views
from cumulo.infra.storage.commands.support import PAGING, paging, secrets, setting_enabled, warn
from cumulo.sdk.api import Call, Command, ListResult, ObjectResult, Param, ParamType, Role

_RELATED_HOSTS = ("addHost", "updateHost", "listHosts", "listExternalLoadBalancers")


def _add_secondary_storage(call: Call) -> ObjectResult:
    value = call.get("zoneid")
    zone = None if value is None else find_zone(call.session, value)
    added = secondary.add_secondary_storage(call.session, zone=zone, url=call.params["url"])
    host = added.host
    record(
        call,
        "SECONDARY.STORAGE.ADD",
        f"Added secondary storage {host.url}",
        resource_type="Host",
        resource_uuid=host.uuid,
    )
    warn(call, "SECONDARY.STORAGE.ADD", added.warnings, resource_type="Host", uuid=host.uuid)
    assert zone is not None  # add_secondary_storage refuses a missing zone
    # REQ-INIT-02: the built-in (and cross-zone) templates are queued for the new store.
    # Imported here: the templates package builds on the infrastructure one.
    from cumulo.templates.sync import add_zone_templates

    add_zone_templates(call.services["runtime"], call.session, zone.id)
    fields = host_fields(secondary.store_row(host, zone))
    fields["disksizetotal"] = added.capacity.total_bytes
    # In HostResponse's order: the view leaves disk size out for hypervisor hosts.
    return ObjectResult("secondarystorage", {name: fields.get(name) for name in HOST_FIELDS})


def _add_swift(call: Call) -> ObjectResult:
    added = swift.add_swift(
        call.session,
        enabled=setting_enabled(call, swift.SWIFT_ENABLE),
        url=call.params["url"],
        account=call.get("account"),
        username=call.get("username"),
        key=call.get("key"),
        secrets=secrets(call),
    )
    record(
        call,
        "SWIFT.ADD",
        f"Added Swift {added.url}",
        resource_type="Swift",
        resource_uuid=added.uuid,
    )
    return ObjectResult("swift", views.swift_fields(added))


def _list_swifts(call: Call) -> ListResult:
    rows, total = swift.list_swifts(
        call.session,
        enabled=setting_enabled(call, swift.SWIFT_ENABLE),
        swift_id=call.get("id"),
        keyword=call.get("keyword"),
        **paging(call),
    )
    return ListResult("swift", [views.swift_fields(row) for row in rows], total)


COMMANDS = (
    Command(
        name="addSecondaryStorage",
        handler=_add_secondary_storage,
        params=(
            Param("url", description="the URL for the secondary storage", required=True),
            Param(
                "zoneid",
                ParamType.UUID,
                description="the Zone ID for the secondary storage",
                entity="Zone",
            ),
        ),
        roles=Role.ADMIN,
        response_name="addsecondarystorageresponse",
        response_class="HostResponse",
        response_fields=HOST_FIELDS,
        description=f"Adds secondary storage. {secondary.DATA_LOSS_WARNING}",
        related=(
            "addSwift",
            "listSwifts",
            "addHost",
            "updateHost",
            "cancelHostMaintenance",
            "listHosts",
            "listExternalLoadBalancers",
            "addBaremetalHost",
        ),
        java_class="org.apache.cloudstack.api.command.admin.host.AddSecondaryStorageCmd",
        event_type="SECONDARY.STORAGE.ADD",
    ),
    Command(
        name="addSwift",
        handler=_add_swift,
        params=(
            Param("url", description="the URL for swift", required=True),
            Param("account", description="the account for swift"),
            Param("username", description="the username for swift"),
            Param("key", description=" key for the user for swift"),
        ),
        roles=Role.ADMIN,
        response_name="addswiftresponse",
        response_class="HostResponse",
        response_fields=views.SWIFT_FIELDS,
        description="Adds Swift.",
        since="3.0.0",
        related=("listSwifts", *_RELATED_HOSTS),
        java_class="org.apache.cloudstack.api.command.admin.swift.AddSwiftCmd",
        event_type="SWIFT.ADD",
    ),
    Command(
        name="listSwifts",
        handler=_list_swifts,
        params=(Param("id", ParamType.LONG, description="the id of the swift"), *PAGING),
        roles=Role.ADMIN,
        response_name="listswiftsresponse",
        response_class="HostResponse",
        response_fields=views.SWIFT_FIELDS,
        description="List Swift.",
        since="3.0.0",
        related=_RELATED_HOSTS,
        java_class="org.apache.cloudstack.api.command.admin.swift.ListSwiftsCmd",
    ),
)
