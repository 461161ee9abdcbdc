"""Raising and listing alerts.

:func:`raise_alerts` writes any number of alerts in one multi-row ``INSERT`` in the
caller's transaction: a heartbeat round that loses 5,000 hosts at once (a switch dies)
costs one statement, not 5,000. As 4.1's ``AlertManagerImpl.sendAlert``, host alerts
(and other per-object alerts) are a new row each time; alerts about a zone-wide
condition (capacity) are raised once while an open (unresolved) one of the same type
exists for the same zone, pod and cluster — :func:`raise_once` checks that.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, insert, select
from sqlalchemy.orm import Session

from cumulo.accounts.lookup import invalid_id
from cumulo.alerts.models import Alert, AlertType
from cumulo.db.base import new_uuid, utcnow
from cumulo.db.listing import DEFAULT_PAGE_SIZE, fetch_rows
from cumulo.sdk.errors import InvalidParameterValue

CHUNK = 3_000
"""Rows per ``INSERT``: ten parameters a row keeps one statement under SQLite's 32,766
bound parameters (MariaDB allows far more)."""
MAX_SUBJECT = 999


@dataclass(frozen=True)
class NewAlert:
    """One alert to raise.

    :param type: an :class:`AlertType` number.
    :param data_center_id: the zone it is about (4.1 requires one).
    :param subject: the one-line text shown as ``description``.
    """

    type: int
    data_center_id: int
    subject: str
    pod_id: int | None = None
    cluster_id: int | None = None


def raise_alerts(
    session: Session, alerts: Sequence[NewAlert], *, now: dt.datetime | None = None
) -> int:
    """Write ``alerts`` (sent once, at ``now``) in one ``INSERT`` per :data:`CHUNK`.

    :return: how many were written; nothing runs for none.
    """
    when = now or utcnow()
    rows: list[dict[str, Any]] = [
        {
            "uuid": new_uuid(),
            "type": int(alert.type),
            "data_center_id": alert.data_center_id,
            "pod_id": alert.pod_id,
            "cluster_id": alert.cluster_id,
            "subject": alert.subject[:MAX_SUBJECT],
            "sent_count": 1,
            "created": when,
            "last_sent": when,
            "archived": False,
        }
        for alert in alerts
    ]
    for start in range(0, len(rows), CHUNK):
        session.execute(insert(Alert), rows[start : start + CHUNK])
    return len(rows)


def raise_once(session: Session, alert: NewAlert, *, now: dt.datetime | None = None) -> bool:
    """Raise ``alert`` unless an unresolved alert of its type already exists for the
    same zone, pod and cluster (4.1's ``getLastAlert`` rule for non-host alerts).

    :return: whether a row was written.
    """
    open_alert = session.scalar(
        select(Alert.id)
        .where(
            Alert.type == int(alert.type),
            Alert.data_center_id == alert.data_center_id,
            Alert.pod_id.is_(None) if alert.pod_id is None else Alert.pod_id == alert.pod_id,
            Alert.cluster_id.is_(None)
            if alert.cluster_id is None
            else Alert.cluster_id == alert.cluster_id,
            Alert.resolved.is_(None),
        )
        .limit(1)
    )
    if open_alert is not None:
        return False
    raise_alerts(session, [alert], now=now)
    return True


def parse_type(value: str | None) -> int | None:
    """``listAlerts type=``: a 4.1 alert type number (431 naming ``type`` otherwise)."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit() and int(text) in {int(member) for member in AlertType}:
        return int(text)
    raise InvalidParameterValue(
        f"Invalid parameter type value={value}: expected an alert type number (0 to"
        f" {max(AlertType)}, e.g. {int(AlertType.HOST)} for hosts)"
    )


def alert_rows() -> Select[*tuple[Any, ...]]:
    """The columns ``AlertResponse`` shows, newest first."""
    return (
        select(Alert.uuid, Alert.type, Alert.subject, Alert.last_sent)
        .where(Alert.archived.is_(False))
        .order_by(Alert.id.desc())
    )


def list_alerts(
    session: Session,
    *,
    alert_id: int | None = None,
    alert_type: int | None = None,
    keyword: str | None = None,
    page: int | None = None,
    pagesize: int | None = None,
    max_page_size: int = DEFAULT_PAGE_SIZE,
) -> tuple[list[Any], int]:
    """One page of unarchived alerts and the total, in one statement."""
    stmt = alert_rows()
    if alert_id is not None:
        stmt = stmt.where(Alert.id == alert_id)
    if alert_type is not None:
        stmt = stmt.where(Alert.type == alert_type)
    if keyword:
        stmt = stmt.where(Alert.subject.contains(keyword, autoescape=True))
    rows, total = fetch_rows(
        session, stmt, page=page, pagesize=pagesize, max_page_size=max_page_size
    )
    return rows, total


def find_alert_id(session: Session, uuid: str) -> int:
    """The internal id of the alert ``uuid`` (431 naming ``id`` when unknown)."""
    found = session.scalar(select(Alert.id).where(Alert.uuid == uuid))
    if found is None:
        raise invalid_id("id", uuid)
    return int(found)
