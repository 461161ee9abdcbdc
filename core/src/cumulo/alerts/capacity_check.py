"""The capacity checker: alerts when a cluster, pod or zone runs short (4.1's
``AlertManagerImpl.CapacityChecker``).

Every ``capacity.check.period`` milliseconds (5 minutes by default) one management
server compares each capacity type, at the level 4.1 compares it (a cluster's memory,
CPU, primary and local storage; a pod's private IPs; a zone's public IPs, secondary
storage, VLANs and direct-network IPs), with its threshold (:mod:`.settings`): used
over total above the threshold means short. A condition raises one alert of 4.1's type
number (``listAlerts``) when it starts, not at every check: the alert stays open
(``resolved`` empty) while the condition lasts, and is resolved when the capacity is
back under its threshold (or its cluster, pod or zone is gone), so the next crossing
raises a new one.

Set-based: a check is a constant number of statements whatever the size of the cloud:
the thresholds (one, or none when cached), the per-cluster overrides (one), every
capacity at its level with the names for the alerts' text (one,
:func:`cumulo.infra.hosts.capacity.capacity_by_level`), the open capacity alerts (one),
then at most one ``INSERT`` of the new alerts and one ``UPDATE`` resolving the cleared
ones (per 3,000 rows).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from cumulo.alerts.models import Alert
from cumulo.alerts.service import CHUNK, NewAlert, raise_alerts
from cumulo.alerts.settings import DEFAULT_PERIOD_MS, PERIOD_KEY, THRESHOLDS, Threshold
from cumulo.config.models import ScopedConfiguration
from cumulo.config.store import ConfigStore
from cumulo.db.base import utcnow
from cumulo.infra.hosts.capacity import capacity_by_level
from cumulo.jobs import lease
from cumulo.jobs.clock import db_now
from cumulo.jobs.models import Lease
from cumulo.runtime import Runtime
from cumulo.sdk import Scope

log = logging.getLogger(__name__)

LEASE = "capacity.check"
"""The lease whose holder checks capacity; its expiry is also when the next check is
due, so one check per period runs cloud-wide however many servers poll."""
CAPACITY_ALERT_TYPES = tuple(int(t.alert_type) for t in THRESHOLDS.values())

Key = tuple[int, int, int | None, int | None]
"""An alert's condition: ``(alert type, zone, pod, cluster)``."""


@dataclass(frozen=True)
class CheckOutcome:
    """What one check did.

    :param raised: alerts raised (conditions that started).
    :param resolved: alerts resolved (conditions that ended).
    :param short: conditions short now (new or still open).
    """

    raised: int
    resolved: int
    short: int


def _thresholds(session: Session, store: ConfigStore) -> tuple[dict[int, float], dict[Any, float]]:
    """The global threshold of every watched type, and the per-cluster overrides keyed
    by ``(capacity type, cluster id)``: two statements (one when the cache serves)."""
    values = store.values([threshold.key for threshold in THRESHOLDS.values()])
    by_type = {kind: float(values[threshold.key] or 0.75) for kind, threshold in THRESHOLDS.items()}
    kind_of = {t.key: kind for kind, t in THRESHOLDS.items() if t.per_cluster}
    rows = session.execute(
        select(
            ScopedConfiguration.scope_id, ScopedConfiguration.name, ScopedConfiguration.value
        ).where(
            ScopedConfiguration.scope == Scope.CLUSTER.value,
            ScopedConfiguration.name.in_(list(kind_of)),
        )
    )
    overrides = {
        (kind_of[name], int(cluster_id)): float(value)
        for cluster_id, name, value in rows
        if value is not None
    }
    return by_type, overrides


def _amount(value: float, unit: str) -> str:
    if unit == "bytes":
        return f"{value / 1024**2:.0f} MB"
    if unit == "MHz":
        return f"{value:.0f} Mhz"
    return f"{value:.0f}"


def _subject(threshold: Threshold, row: Any) -> str:
    """4.1's alert text: ``System Alert: <what> in cluster C pod P of availability zone
    Z``, with the amounts (4.1 mails them in the body, which ``listAlerts`` does not
    show)."""
    where = f"availability zone {row.zone_name}"
    if row.pod_name is not None:
        where = f"pod {row.pod_name} of {where}"
    if row.cluster_name is not None:
        where = f"cluster {row.cluster_name} {where}"
    used, total = float(row.used or 0), float(row.total or 0)
    return (
        f"System Alert: {threshold.what} in {where}: used {_amount(used, threshold.unit)}"
        f" of {_amount(total, threshold.unit)} ({100 * used / total:.2f}%)"
    )


def check_capacity(
    session: Session, store: ConfigStore, *, now: dt.datetime | None = None
) -> CheckOutcome:
    """Compare every capacity with its threshold; raise alerts for conditions that
    started, resolve those that ended (module docstring), in the caller's transaction.
    """
    by_type, overrides = _thresholds(session, store)
    short: dict[Key, NewAlert] = {}
    for row in session.execute(capacity_by_level()):
        threshold = THRESHOLDS.get(int(row.type))
        total = float(row.total or 0)
        if threshold is None or total <= 0:
            continue
        limit = by_type[int(row.type)]
        if row.cluster_id is not None:
            limit = overrides.get((int(row.type), int(row.cluster_id)), limit)
        if float(row.used or 0) / total <= limit:
            continue
        key: Key = (int(threshold.alert_type), int(row.data_center_id), row.pod_id, row.cluster_id)
        short[key] = NewAlert(
            type=int(threshold.alert_type),
            data_center_id=int(row.data_center_id),
            subject=_subject(threshold, row),
            pod_id=row.pod_id,
            cluster_id=row.cluster_id,
        )
    open_alerts: dict[Key, int] = {
        (int(kind), int(zone), pod, cluster): int(alert_id)
        for alert_id, kind, zone, pod, cluster in session.execute(
            select(Alert.id, Alert.type, Alert.data_center_id, Alert.pod_id, Alert.cluster_id)
            .where(Alert.resolved.is_(None), Alert.type.in_(CAPACITY_ALERT_TYPES))
            .order_by(Alert.id)
        )
    }
    new = [alert for key, alert in short.items() if key not in open_alerts]
    cleared = [alert_id for key, alert_id in open_alerts.items() if key not in short]
    when = now or utcnow()
    raise_alerts(session, new, now=when)
    for start in range(0, len(cleared), CHUNK):
        session.execute(
            update(Alert)
            .where(Alert.id.in_(cleared[start : start + CHUNK]))
            .values(resolved=when)
            .execution_options(synchronize_session=False)
        )
    return CheckOutcome(raised=len(new), resolved=len(cleared), short=len(short))


def _due(session: Session, msid: int, period: dt.timedelta) -> bool:
    """Take the check for this period: ``False`` when this server checked less than a
    period ago, or another server holds the check."""
    held = session.execute(select(Lease.owner, Lease.expires).where(Lease.name == LEASE)).first()
    if held is not None and held.owner == msid and held.expires > db_now(session):
        return False
    return lease.acquire(session, LEASE, msid, period)


def run_capacity_check(runtime: Runtime) -> CheckOutcome | None:
    """The periodic task (``PERIODIC_TASKS``): polled often, checks once per
    ``capacity.check.period`` cloud-wide; each step in a short transaction of its own.

    :return: what the check did, ``None`` when it was not this server's turn.
    """
    with runtime.sessions.begin() as session:
        period_ms = runtime.config_store(session).integer(PERIOD_KEY) or DEFAULT_PERIOD_MS
        if not _due(session, runtime.msid, dt.timedelta(milliseconds=period_ms)):
            return None
    with runtime.sessions.begin() as session:
        outcome = check_capacity(session, runtime.config_store(session))
    if outcome.raised or outcome.resolved:
        log.info(
            "capacity check: %d alert(s) raised, %d resolved, %d condition(s) short",
            outcome.raised,
            outcome.resolved,
            outcome.short,
        )
    return outcome
