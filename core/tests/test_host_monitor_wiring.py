"""The host heartbeat in the job worker's background tasks, and the batch event
recorder it reports through (issue 4 item 3).

- :class:`cumulo.jobs.scheduler.BackgroundTasks` runs :class:`HostMonitor` rounds every
  ``ping.interval`` (a configuration value) from ``start`` to ``stop``, and gives the
  ``host.ping`` lease up on ``stop``;
- :func:`cumulo.events.recorder.record_many` writes a batch in one ``INSERT`` and
  publishes each event after commit, none after a rollback;
- a heartbeat round's statements do not grow with the hosts changing state.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pluggy
import pytest
from sqlalchemy import event, select, update
from test_hosts_support import (
    FakeHypervisor,
    add_kvm_host,
    fake_hypervisors,
    make_zone,
    seeded_runtime,
)

from cumulo import hookimpl
from cumulo.events.models import Event
from cumulo.events.recorder import NewEvent, record_many
from cumulo.events.types import ALERT_COMPUTE_HOST, is_known
from cumulo.infra.hosts import lifecycle
from cumulo.infra.hosts.models import Host, HostStatus
from cumulo.infra.hosts.monitor import LEASE
from cumulo.jobs.models import Lease
from cumulo.jobs.scheduler import BackgroundTasks
from cumulo.runtime import Runtime
from cumulo.sdk.events import Event as PublishedEvent


@dataclass(eq=False)  # pluggy keeps plugins in sets
class Observer:
    """A ``cumulo_event`` plugin remembering what it heard."""

    seen: list[PublishedEvent] = field(default_factory=list)

    @hookimpl
    def cumulo_event(self, event: PublishedEvent) -> None:
        self.seen.append(event)


@pytest.fixture
def runtime(migrated_database_url: str, plugin_manager: pluggy.PluginManager) -> Iterator[Runtime]:
    built = seeded_runtime(migrated_database_url, plugin_manager)
    with fake_hypervisors():
        yield built
    built.close()


@pytest.fixture
def observer(runtime: Runtime) -> Observer:
    watcher = Observer()
    runtime.pm.register(watcher, name="test-observer")
    return watcher


def _inserts_into_event(runtime: Runtime) -> tuple[list[str], object]:
    seen: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO EVENT"):
            seen.append(statement)

    event.listen(runtime.engine, "before_cursor_execute", count)
    return seen, count


def test_record_many_is_one_insert_published_after_commit(
    runtime: Runtime, observer: Observer
) -> None:
    """Fifty events: one INSERT, fifty rows, fifty publications — only after commit."""
    batch = [
        NewEvent(ALERT_COMPUTE_HOST, f"host {i} went Alert", level="WARN", resource_uuid=str(i))
        for i in range(50)
    ]
    inserts, listener = _inserts_into_event(runtime)
    try:
        with runtime.sessions.begin() as session:
            ids = record_many(session, batch)
            assert observer.seen == []  # not before the commit
    finally:
        event.remove(runtime.engine, "before_cursor_execute", listener)
    assert len(inserts) == 1
    assert [e.details["id"] for e in observer.seen] == ids
    assert {e.level for e in observer.seen} == {"WARN"}
    assert observer.seen[3].resource_uuid == "3"
    with runtime.sessions() as session:
        rows = session.scalars(select(Event).where(Event.type == ALERT_COMPUTE_HOST)).all()
    assert sorted(r.uuid for r in rows) == sorted(ids)
    assert {(r.account_id, r.user_id, r.state) for r in rows} == {(1, 1, "Completed")}


def test_record_many_rolled_back_publishes_nothing(runtime: Runtime, observer: Observer) -> None:
    with runtime.sessions() as session:
        record_many(session, [NewEvent(ALERT_COMPUTE_HOST, "x", level="ERROR")])
        session.rollback()
    assert observer.seen == []
    with runtime.sessions() as session:
        assert session.scalar(select(Event.id).where(Event.type == ALERT_COMPUTE_HOST)) is None


def test_record_many_rejects_a_bad_level_before_writing(runtime: Runtime) -> None:
    with runtime.sessions() as session, pytest.raises(ValueError, match="level"):
        record_many(session, [NewEvent(ALERT_COMPUTE_HOST, "x", level="LOUD")])


def test_host_event_type_is_listed() -> None:
    """The name heartbeat events carry is one listEventTypes shows."""
    assert is_known(ALERT_COMPUTE_HOST)


def _wait_for(what: str, check: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _status(runtime: Runtime, host_id: int) -> str:
    with runtime.sessions() as session:
        return str(session.scalar(select(Host.status).where(Host.id == host_id)))


def test_background_tasks_run_the_heartbeat_at_ping_interval(
    runtime: Runtime, observer: Observer
) -> None:
    """With ``ping.interval`` 1 s and ``ping.timeout`` 1 (a multiplier), the job worker's
    background tasks move a silent host to Alert then Down, and back Up once it
    answers, publishing each change; ``stop`` releases the ``host.ping`` lease."""
    with runtime.sessions.begin() as session:
        store = runtime.config_store(session)
        store.set(lifecycle.INTERVAL_KEY, "1")
        store.set(lifecycle.TIMEOUT_KEY, "1")
        zone, pod = make_zone(session, cidr="10.2.0.0/16")
        host_id = add_kvm_host(session, zone, pod, "10.2.0.1").id
    FakeHypervisor.silent = {"10.2.0.1"}
    tasks = BackgroundTasks(runtime)
    assert tasks.host_monitor is not None
    started = time.monotonic()
    tasks.start()
    try:
        _wait_for("Down", lambda: _status(runtime, host_id) == HostStatus.DOWN)
        # Alert after 1 s silent, Down 1 s after that: rounds ran every second or so,
        # not at the 4.1 default of 60 s.
        assert time.monotonic() - started < 10
        FakeHypervisor.silent = set()
        _wait_for("Up", lambda: _status(runtime, host_id) == HostStatus.UP)
    finally:
        tasks.stop()
    assert tasks.host_monitor.settings == lifecycle.PingSettings(1.0, 1.0)
    assert [(e.type, e.level) for e in observer.seen] == [
        (ALERT_COMPUTE_HOST, "WARN"),
        (ALERT_COMPUTE_HOST, "ERROR"),
        (ALERT_COMPUTE_HOST, "INFO"),
    ]
    assert [e.details["to"] for e in observer.seen] == ["Alert", "Down", "Up"]
    with runtime.sessions() as session:
        lease = session.get(Lease, LEASE)
        expires = session.scalar(select(Lease.expires).where(Lease.name == LEASE))
        assert lease is not None and expires is not None
        now = lifecycle.db_now(session)
    assert expires < now  # given up: another server may ping at once


def test_background_tasks_without_monitor(runtime: Runtime) -> None:
    """Tests driving rounds themselves turn the monitor off."""
    assert BackgroundTasks(runtime, host_monitor=False).host_monitor is None


@pytest.mark.parametrize("count", [4, 40])
def test_round_statements_are_constant(runtime: Runtime, count: int) -> None:
    """A round where every host changes state (Up → Alert) costs the same statements
    for 4 and 40 hosts: one SELECT, the clock, set-based UPDATEs, the owner, ONE event
    INSERT and ONE alert INSERT."""
    with runtime.sessions.begin() as session:
        zone, pod = make_zone(session, cidr="10.2.0.0/16")
        for i in range(count):
            add_kvm_host(session, zone, pod, f"10.2.0.{i + 1}")
        session.flush()
        # Last heard of long ago: every silent host is past its timeout.
        session.execute(update(Host).values(last_ping=dt.datetime(2000, 1, 1)))
    FakeHypervisor.silent = {f"10.2.0.{i + 1}" for i in range(count)}
    settings = lifecycle.PingSettings(interval=60, multiplier=2.5)
    statements: list[str] = []

    def note(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement.lstrip().split()[0].upper())

    with runtime.sessions.begin() as session:
        hosts = lifecycle.monitored_hosts(session)
    answered = lifecycle.ping_hosts(hosts, 1.0)
    event.listen(runtime.engine, "before_cursor_execute", note)
    try:
        with runtime.sessions.begin() as session:
            result = lifecycle.apply_pings(session, hosts, answered, settings)
    finally:
        event.remove(runtime.engine, "before_cursor_execute", note)
    assert len(result.changed["Alert"]) == count
    work = [s for s in statements if s not in ("BEGIN", "COMMIT")]
    assert work == ["SELECT", "UPDATE", "SELECT", "INSERT", "INSERT"], work
