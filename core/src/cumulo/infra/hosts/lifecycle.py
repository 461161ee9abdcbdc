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
   silent a further timeout after they went ``Alert``; and one multi-row ``INSERT`` of
   the events recording every change (:func:`cumulo.events.recorder.record_many`, type
   ``ALERT.COMPUTE.HOST`` — 4.1's ``ALERT_TYPE_HOST`` —, level ``WARN`` for Alert,
   ``ERROR`` for Down, ``INFO`` for back Up), published to ``cumulo_event`` observers
   once the round commits.

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

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from cumulo.events.recorder import NewEvent, record_many
from cumulo.events.types import ALERT_COMPUTE_HOST
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

MONITORED = (HostStatus.UP, HostStatus.CONNECTING, HostStatus.ALERT, HostStatus.DOWN)

EVENT_LEVELS = {
    HostStatus.ALERT: "WARN",
    HostStatus.DOWN: "ERROR",
    HostStatus.UP: "INFO",
}
"""The level of the ``ALERT.COMPUTE.HOST`` event recorded when a host enters each
status (4.1 has one alert type for all three; the level and text tell them apart)."""


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
    changes = ((HostStatus.UP, back), (HostStatus.ALERT, to_alert), (HostStatus.DOWN, to_down))
    for status, changed in changes:
        if changed:
            result.changed[status.value] = [h.uuid for h in changed]
    # Every change of the round in one INSERT, published after the round commits.
    record_many(
        session,
        [_event(status, host) for status, changed in changes for host in changed],
        created=now,
    )
    return result


def _event(status: HostStatus, host: MonitoredHost) -> NewEvent:
    """The event recording that ``host`` entered ``status``; 4.1's alert subjects say
    "Host disconnected" / "Host is down", with the host's name and id."""
    suffix = " answering pings" if status == HostStatus.UP else " after missing its pings"
    return NewEvent(
        type=ALERT_COMPUTE_HOST,
        level=EVENT_LEVELS[status],
        description=(
            f"Host {host.name} ({host.uuid}) went from {host.status} to {status.value}" + suffix
        ),
        resource_type="Host",
        resource_uuid=host.uuid,
        details={"from": host.status, "to": status.value, "hypervisor": host.hypervisor},
    )
