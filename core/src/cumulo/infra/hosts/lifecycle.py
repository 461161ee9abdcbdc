"""Host heartbeats: pings through the drivers, status changes set-based.

Every ``ping.interval`` seconds (4.1 default 60) one management server, holding the
``host.ping`` lease, pings every monitored host through its hypervisor driver (a batch
per hypervisor, ``HypervisorDriver.ping_hosts``) and applies the answers in a bounded
number of statements whatever the number of hosts (DESIGN.md §3):

1. one ``SELECT`` of the monitored hosts (routing hosts of managed clusters, not removed,
   in states ``Up``, ``Connecting``, ``Alert`` or ``Down``);
2. the pings, outside any transaction (a slow host must not hold database locks);
3. one ``UPDATE`` refreshing ``last_ping`` of the hosts that answered and were ``Up``;
   one bringing back to ``Up`` those that answered from another state; one moving to
   ``Alert`` the hosts silent for longer than ``ping.interval * ping.timeout`` (4.1's
   ``ping.timeout`` is a multiplier, default 2.5); one moving to ``Down`` those still
   silent a further timeout after they went ``Alert``; and one multi-row ``INSERT`` per
   kind of change of the events recording them (``HOST.ALERT``, ``HOST.DOWN``,
   ``HOST.UP``).

Each ``UPDATE`` repeats its condition on status and age, so a host whose state another
server changed meanwhile (a reconnect, a delete) is not overwritten. ID lists are
chunked at :data:`CHUNK` to stay within every database's parameter limit.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from cumulo.accounts.models import Account
from cumulo.db.base import new_uuid
from cumulo.events.models import Event
from cumulo.events.recorder import SYSTEM_ACCOUNT_ID, SYSTEM_USER_ID
from cumulo.infra.hosts.connection import driver_for, ping_ref
from cumulo.infra.hosts.models import Cluster, Host, HostStatus, HostType, ManagedState
from cumulo.jobs.clock import db_now
from cumulo.sdk.errors import InvalidParameterValue
from cumulo.sdk.hypervisor import HostPing
from cumulo.sdk.hypervisor import HostStatus as PingStatus

log = logging.getLogger(__name__)

INTERVAL_KEY = "ping.interval"
TIMEOUT_KEY = "ping.timeout"
CHUNK = 10_000
"""Most ids in one ``IN`` list (SQLite allows 32766 parameters, MariaDB far more)."""
EVENT_CHUNK = 2_000
"""Most event rows in one multi-row ``INSERT``."""

MONITORED = (HostStatus.UP, HostStatus.CONNECTING, HostStatus.ALERT, HostStatus.DOWN)

EVENT_TYPES = {
    HostStatus.ALERT: ("HOST.ALERT", "WARN"),
    HostStatus.DOWN: ("HOST.DOWN", "ERROR"),
    HostStatus.UP: ("HOST.UP", "INFO"),
}
"""Event type and level recorded when a host enters each status."""


@dataclass(frozen=True)
class PingSettings:
    """``ping.interval`` (seconds) and ``ping.timeout`` (a multiplier of it)."""

    interval: float = 60.0
    multiplier: float = 2.5

    @property
    def timeout(self) -> dt.timedelta:
        """How long a host may stay silent before it is in trouble."""
        return dt.timedelta(seconds=self.interval * self.multiplier)

    @classmethod
    def from_values(cls, interval: str | None, multiplier: str | None) -> PingSettings:
        """From the stored configuration values (4.1 defaults when unset)."""
        return cls(float(interval or 60), float(multiplier or 2.5))


@dataclass(frozen=True)
class MonitoredHost:
    """What the heartbeat needs of one host."""

    id: int
    uuid: str
    name: str
    guid: str
    url: str
    hypervisor: str
    cluster_id: int | None
    status: str
    last_ping: dt.datetime | None
    disconnected: dt.datetime | None


@dataclass
class TickResult:
    """What one heartbeat round changed (host uuids by new status)."""

    pinged: int = 0
    answered: int = 0
    changed: dict[str, list[str]] = field(default_factory=dict)


def monitored_hosts(session: Session) -> list[MonitoredHost]:
    """Step 1: the hosts to ping, in one ``SELECT``."""
    rows = session.execute(
        select(
            Host.id,
            Host.uuid,
            Host.name,
            Host.guid,
            Host.url,
            Host.hypervisor_type,
            Host.cluster_id,
            Host.status,
            Host.last_ping,
            Host.disconnected,
        )
        .join(Cluster, Host.cluster_id == Cluster.id)
        .where(
            Host.removed.is_(None),
            Host.type == HostType.ROUTING.value,
            Host.status.in_([status.value for status in MONITORED]),
            Cluster.managed_state == ManagedState.MANAGED.value,
        )
        .order_by(Host.id)
    )
    return [
        MonitoredHost(
            id=row.id,
            uuid=row.uuid,
            name=row.name,
            guid=row.guid or "",
            url=row.url or "",
            hypervisor=row.hypervisor_type or "",
            cluster_id=row.cluster_id,
            status=row.status,
            last_ping=row.last_ping,
            disconnected=row.disconnected,
        )
        for row in rows
    ]


def ping_hosts(hosts: Sequence[MonitoredHost], timeout: float) -> set[int]:
    """Step 2: ping ``hosts`` (one batch per hypervisor); the ids of those that answered.

    A driver that cannot be loaded or that fails as a whole counts as "no answer" for
    its hosts: their pings are what decides their fate, and it is logged.
    """
    by_hypervisor: dict[str, list[MonitoredHost]] = {}
    for host in hosts:
        by_hypervisor.setdefault(host.hypervisor, []).append(host)
    answered: set[int] = set()
    for hypervisor, group in by_hypervisor.items():
        refs = [ping_ref(host.id, host.guid, host.url, host.cluster_id) for host in group]
        try:
            answers: dict[str, HostPing] = driver_for(hypervisor).ping_hosts(refs, timeout)
        except InvalidParameterValue as exc:
            log.error("cannot ping %d %s host(s): %s", len(group), hypervisor, exc.errortext)
            continue
        except Exception:
            log.exception("the %s driver failed to ping %d host(s)", hypervisor, len(group))
            continue
        for host in group:
            answer = answers.get(host.guid)
            if answer is not None and answer.status != PingStatus.UNREACHABLE:
                answered.add(host.id)
    return answered


def _chunks(ids: Sequence[int]) -> list[Sequence[int]]:
    return [ids[start : start + CHUNK] for start in range(0, len(ids), CHUNK)]


def _update(session: Session, ids: Sequence[int], *conditions: Any, **values: Any) -> None:
    for chunk in _chunks(ids):
        session.execute(
            update(Host)
            .where(Host.id.in_(chunk), *conditions)
            .values(**values)
            .execution_options(synchronize_session=False)
        )


def apply_pings(
    session: Session,
    hosts: Sequence[MonitoredHost],
    answered: set[int],
    settings: PingSettings,
    *,
    now: dt.datetime | None = None,
) -> TickResult:
    """Step 3: record the answers set-based and the resulting status changes as events.

    :param now: the database clock (read here when not given).
    """
    now = now or db_now(session)
    cutoff = now - settings.timeout
    result = TickResult(pinged=len(hosts), answered=len(answered))
    alive = [h.id for h in hosts if h.id in answered and h.status == HostStatus.UP]
    back = [h for h in hosts if h.id in answered and h.status != HostStatus.UP]
    silent = [h for h in hosts if h.id not in answered]
    to_alert = [
        h
        for h in silent
        if h.status in (HostStatus.UP, HostStatus.CONNECTING)
        and (h.last_ping is None or h.last_ping < cutoff)
    ]
    to_down = [
        h
        for h in silent
        if h.status == HostStatus.ALERT and (h.disconnected is None or h.disconnected < cutoff)
    ]
    if alive:
        _update(session, alive, Host.status == HostStatus.UP.value, last_ping=now)
    if back:
        _update(
            session,
            [h.id for h in back],
            Host.status.in_([s.value for s in MONITORED]),
            Host.removed.is_(None),
            status=HostStatus.UP.value,
            last_ping=now,
            disconnected=None,
        )
    if to_alert:
        _update(
            session,
            [h.id for h in to_alert],
            Host.status.in_([HostStatus.UP.value, HostStatus.CONNECTING.value]),
            status=HostStatus.ALERT.value,
            disconnected=now,
        )
    if to_down:
        _update(
            session,
            [h.id for h in to_down],
            Host.status == HostStatus.ALERT.value,
            status=HostStatus.DOWN.value,
        )
    for status, changed in (
        (HostStatus.UP, back),
        (HostStatus.ALERT, to_alert),
        (HostStatus.DOWN, to_down),
    ):
        if changed:
            result.changed[status.value] = [h.uuid for h in changed]
            _record(session, status, changed, now)
    return result


def _record(
    session: Session, status: HostStatus, hosts: Sequence[MonitoredHost], now: dt.datetime
) -> None:
    """One ``event`` row per changed host, all in one multi-row ``INSERT``.

    Not :func:`cumulo.events.record`: that adds ORM rows, which SQLite and MariaDB flush
    one ``INSERT`` per row, and a mass failure (a switch dying under 5,000 hosts) must
    not cost 5,000 statements. The rows are exactly what ``record`` writes for the
    ``system`` account; they are not published to ``cumulo_event`` observers (a batch
    publisher in :mod:`cumulo.events` would be the place for that).
    """
    owner = session.get(Account, SYSTEM_ACCOUNT_ID)
    if owner is None:  # pragma: no cover - seeded by setup-databases
        raise ValueError("the system account is missing; the database is not seeded")
    event_type, level = EVENT_TYPES[status]
    suffix = " answering pings" if status == HostStatus.UP else " after missing its pings"
    rows = [
        {
            "uuid": new_uuid(),
            "type": event_type,
            "state": "Completed",
            "description": (
                f"Host {host.name} ({host.uuid}) went from {host.status} to {status.value}" + suffix
            ),
            "user_id": SYSTEM_USER_ID,
            "account_id": owner.id,
            "domain_id": owner.domain_id,
            "created": now,
            "level": level,
            "start_id": 0,
            "archived": False,
        }
        for host in hosts
    ]
    # 12 parameters a row: chunks stay under SQLite's 32766-parameter limit.
    for start in range(0, len(rows), EVENT_CHUNK):
        session.execute(insert(Event).values(rows[start : start + EVENT_CHUNK]))
