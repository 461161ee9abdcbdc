"""API commands of this package, contributed through ``cumulo_api_commands``:
4.1's ``listAlerts`` (root and resource admins); and the capacity alert settings
(:mod:`cumulo.alerts.settings`), through ``cumulo_configuration_keys``."""

from __future__ import annotations

from typing import Any

from cumulo import hookimpl
from cumulo.alerts import service
from cumulo.alerts.settings import ALERT_KEYS
from cumulo.db.listing import DEFAULT_PAGE_SIZE
from cumulo.sdk import ConfigKey
from cumulo.sdk.api import Call, Command, Fields, ListResult, Param, ParamType, Role

ALERT_FIELDS = ("id", "type", "description", "sent")


def alert_fields(row: Any) -> Fields:
    """An ``AlertResponse`` from one row of :func:`service.alert_rows`."""
    return {"id": row.uuid, "type": row.type, "description": row.subject, "sent": row.last_sent}


def _list_alerts(call: Call) -> ListResult:
    session = call.session
    rows, total = service.list_alerts(
        session,
        alert_id=service.find_alert_id(session, call.params["id"]) if call.get("id") else None,
        alert_type=service.parse_type(call.get("type")),
        keyword=call.get("keyword"),
        page=call.get("page"),
        pagesize=call.get("pagesize"),
        max_page_size=call.services.get("max_page_size", DEFAULT_PAGE_SIZE),
    )
    return ListResult("alert", [alert_fields(row) for row in rows], total)


LIST_ALERTS = Command(
    name="listAlerts",
    handler=_list_alerts,
    params=(
        Param("id", ParamType.UUID, description="the ID of the alert", entity="Alert"),
        Param("type", description="list by alert type"),
        Param("keyword", description="List by keyword"),
        Param("page", ParamType.INTEGER, description=""),
        Param("pagesize", ParamType.INTEGER, description=""),
    ),
    roles=Role.ADMIN | Role.RESOURCE_ADMIN,
    response_name="listalertsresponse",
    response_class="AlertResponse",
    response_fields=ALERT_FIELDS,
    description="Lists all alerts.",
    java_class="org.apache.cloudstack.api.command.admin.resource.ListAlertsCmd",
)


@hookimpl
def cumulo_api_commands() -> list[Command]:
    """``listAlerts``."""
    return [LIST_ALERTS]


@hookimpl
def cumulo_configuration_keys() -> list[ConfigKey]:
    """``capacity.check.period`` and the capacity notification thresholds."""
    return list(ALERT_KEYS)
