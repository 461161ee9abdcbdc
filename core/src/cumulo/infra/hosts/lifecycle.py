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
   once the round commits; and one multi-row ``INSERT`` of an ``alert`` row
   (``ALERT_TYPE_HOST``, 7) per host that went ``Alert`` or ``Down``, which
   ``listAlerts`` shows.

The ``last_ping`` refresh names the shorter of "the hosts that answered" and "the
hosts that did not" (usually none), so a healthy round carries no 10,000-id list;
the drivers' host references are kept between rounds (:func:`_ping_refs`).

Each ``UPDATE`` repeats its condition on status and age, so a host whose state another
server changed meanwhile (a reconnect, a delete) is not overwritten. ID lists are
chunked at :data:`CHUNK` to stay within every database's parameter limit.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from cumulo.alerts.models import AlertType
from cumulo.alerts.service import NewAlert, raise_alerts
from cumulo.events.recorder import NewEvent, record_many
from cumulo.events.types import ALERT_COMPUTE_HOST
from cumulo.infra.hosts.connection import driver_for, ping_ref
from cumulo.infra.hosts.models import Cluster, Host, HostStatus, HostType, ManagedState
from cumulo.jobs.clock import db_now
from cumulo.sdk.errors import InvalidParameterValue
from cumulo.sdk.hypervisor import HostPing, HostRef
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


class MonitoredHost(NamedTuple):
    """What the heartbeat needs of one host: a plain tuple, built straight from the
    database row (10,000 of them per round)."""

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
    data_center_id: int
    pod_id: int | None


@dataclass
class TickResult:
    """What one heartbeat round changed (host uuids by new status)."""

    pinged: int = 0
    answered: int = 0
    changed: dict[str, list[str]] = field(default_factory=dict)


def _managed_clusters() -> Any:
    return select(Cluster.id).where(Cluster.managed_state == ManagedState.MANAGED.value)


def _monitored() -> tuple[Any, ...]:
    """The conditions naming the hosts the heartbeat watches."""
    return (
        Host.removed.is_(None),
        Host.type == HostType.ROUTING.value,
        Host.cluster_id.in_(_managed_clusters()),
    )


_MONITORED_HOSTS = (
    select(
        Host.id,
        Host.uuid,
        Host.name,
        func.coalesce(Host.guid, ""),
        func.coalesce(Host.url, ""),
        func.coalesce(Host.hypervisor_type, ""),
        Host.cluster_id,
        Host.status,
        Host.last_ping,
        Host.disconnected,
        Host.data_center_id,
        Host.pod_id,
    )
    .where(*_monitored(), Host.status.in_([status.value for status in MONITORED]))
    .order_by(Host.id)
)


def monitored_hosts(session: Session) -> list[MonitoredHost]:
    """Step 1: the hosts to ping, in one ``SELECT``.

    Run on the session's connection, not through the ORM: the rows are plain values
    and the ORM's per-row loading would cost more than the query itself.
    """
    rows = session.connection().execute(_MONITORED_HOSTS).fetchall()
    make = MonitoredHost._make
    return [make(row) for row in rows]


def ping_hosts(hosts: Sequence[MonitoredHost], timeout: float) -> set[int]:
    """Step 2: ping ``hosts`` (one batch per hypervisor); the ids of those that answered.

    A driver that cannot be loaded or that fails as a whole counts as "no answer" for
    its hosts: their pings are what decides their fate, and it is logged.
    """
    by_hypervisor: dict[str, tuple[list[MonitoredHost], list[HostRef]]] = {}
    for host, ref in zip(hosts, _ping_refs(hosts), strict=True):
        hosts_of, refs_of = by_hypervisor.setdefault(host.hypervisor, ([], []))
        hosts_of.append(host)
        refs_of.append(ref)
    answered: set[int] = set()
    for hypervisor, (group, refs) in by_hypervisor.items():
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


_REFS: dict[int, HostRef] = {}
_REFS_LOCK = threading.Lock()


def _ping_refs(hosts: Sequence[MonitoredHost]) -> list[HostRef]:
    """The :func:`ping_ref` of each host, kept from one round to the next.

    A ``HostRef`` is two frozen dataclasses; building 10,000 of them was a third of a
    round's CPU. The cache is keyed by host id and a ref is rebuilt when the host's
    guid, URL or cluster changed, so it is never stale; hosts no longer monitored drop
    out once they are more than the monitored hosts (bounded memory).
    """
    refs: list[HostRef] = []
    with _REFS_LOCK:
        for host in hosts:
            ref = _REFS.get(host.id)
            if (
                ref is None
                or ref.guid != host.guid
                or ref.connection.url != host.url
                or ref.connection.cluster_id != host.cluster_id
            ):
                ref = _REFS[host.id] = ping_ref(host.id, host.guid, host.url, host.cluster_id)
            refs.append(ref)
        if len(_REFS) > 2 * len(hosts) + 1024:
            # Hosts deleted or no longer monitored: forget their entries.
            keep = {host.id for host in hosts}
            for host_id in [key for key in _REFS if key not in keep]:
                del _REFS[host_id]
    return refs


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


def _refresh_alive(
    session: Session, hosts: Sequence[MonitoredHost], alive: list[int], now: dt.datetime
) -> None:
    """``last_ping = now`` for the ``alive`` hosts (Up and answering) in ONE statement.

    In a healthy cloud nearly every monitored host is alive, so the statement names the
    few that are not (``id NOT IN``, usually an empty list: no list at all) within the
    round's snapshot (``id <= `` the highest id pinged, so a host added meanwhile is
    not touched); when most hosts are silent it names the alive ones (``id IN``).
    Either way the list is the shorter one and the condition on ``Up`` is repeated.
    """
    alive_set = set(alive)
    others = [host.id for host in hosts if host.id not in alive_set]
    if len(others) < len(alive) and len(others) <= CHUNK:
        conditions: list[Any] = [*_monitored(), Host.id <= max(host.id for host in hosts)]
        if others:
            conditions.append(Host.id.not_in(others))
        session.execute(
            update(Host)
            .where(Host.status == HostStatus.UP.value, *conditions)
            .values(last_ping=now)
            .execution_options(synchronize_session=False)
        )
        return
    _update(session, alive, Host.status == HostStatus.UP.value, last_ping=now)


def apply_pings(
    session: Session,
    hosts: Sequence[MonitoredHost],
    answered: set[int],
    settings: PingSettings,
    *,
    now: dt.datetime | None = None,
) -> TickResult:
    """Step 3: record the answers set-based, the resulting status changes as events,
    and the failures as alerts (one ``INSERT`` for all the hosts that failed).

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
        _refresh_alive(session, hosts, alive, now)
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
    # Failures are also alerts (4.1 ALERT_TYPE_HOST), a row per host, in one INSERT.
    raise_alerts(
        session,
        [_alert(status, host) for status, changed in changes[1:] for host in changed],
        now=now,
    )
    return result


def _alert(status: HostStatus, host: MonitoredHost) -> NewAlert:
    """The alert raised when ``host`` goes ``Alert`` or ``Down``: 4.1's subjects
    ("Host disconnected, ..." / "Host is down, ...") naming the host."""
    what = "Host disconnected" if status == HostStatus.ALERT else "Host is down"
    return NewAlert(
        type=AlertType.HOST,
        data_center_id=host.data_center_id,
        pod_id=host.pod_id,
        cluster_id=host.cluster_id,
        subject=(
            f"{what}, name: {host.name} (id: {host.uuid}), hypervisor: {host.hypervisor},"
            f" no answer to pings since {host.last_ping or 'it was added'} (was {host.status})"
        ),
    )


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
