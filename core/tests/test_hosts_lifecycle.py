"""Host heartbeats (issue 4 item 3): Up → Alert → Down when a host stops answering,
back to Up when it answers again, events for each change, and a bounded number of
statements per round whatever the number of hosts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pluggy
import pytest
from sqlalchemy import event, select, update
from test_hosts_support import (
    FakeHypervisor,
    StatementCounter,
    add_kvm_host,
    fake_hypervisors,
    make_zone,
    seeded_runtime,
)

from cumulo.alerts.models import Alert
from cumulo.events.models import Event
from cumulo.infra.hosts import clusters, lifecycle
from cumulo.infra.hosts.models import Cluster, Host, HostStatus
from cumulo.infra.hosts.monitor import HostMonitor
from cumulo.infra.models import Pod, Zone
from cumulo.runtime import Runtime

SETTINGS = lifecycle.PingSettings(interval=60, multiplier=2.5)  # timeout 150 s


@pytest.fixture
def runtime(migrated_database_url: str, plugin_manager: pluggy.PluginManager) -> Iterator[Runtime]:
    built = seeded_runtime(migrated_database_url, plugin_manager)
    with fake_hypervisors():
        yield built
    built.close()


def _hosts(runtime: Runtime, count: int) -> list[int]:
    with runtime.sessions.begin() as session:
        zone, pod = make_zone(session, cidr="10.2.0.0/16")
        return [add_kvm_host(session, zone, pod, f"10.2.{i // 250}.{i % 250 + 1}").id
                for i in range(count)]  # fmt: skip


def _age(runtime: Runtime, seconds: float) -> None:
    """Pretend every ping and disconnection happened ``seconds`` earlier."""
    delta = dt.timedelta(seconds=seconds)
    with runtime.sessions.begin() as session:
        rows = session.execute(select(Host.id, Host.last_ping, Host.disconnected)).all()
        session.execute(
            update(Host),
            [
                {
                    "id": row.id,
                    "last_ping": row.last_ping and row.last_ping - delta,
                    "disconnected": row.disconnected and row.disconnected - delta,
                }
                for row in rows
            ],
        )


def _round(runtime: Runtime) -> lifecycle.TickResult:
    with runtime.sessions.begin() as session:
        monitored = lifecycle.monitored_hosts(session)
    answered = lifecycle.ping_hosts(monitored, 1.0)
    with runtime.sessions.begin() as session:
        return lifecycle.apply_pings(session, monitored, answered, SETTINGS)


def _status(runtime: Runtime, host_id: int) -> str:
    with runtime.sessions() as session:
        return str(session.scalar(select(Host.status).where(Host.id == host_id)))


def _events(runtime: Runtime) -> list[tuple[str, str]]:
    with runtime.sessions() as session:
        rows = session.execute(select(Event.type, Event.level).order_by(Event.id))
        return [(row.type, row.level) for row in rows]


def test_silent_host_goes_alert_then_down_and_recovers_with_events(runtime: Runtime) -> None:
    """A host whose driver stops answering is Alert once ``ping.interval * ping.timeout``
    has passed since its last ping, Down a further timeout later, each change an event;
    when it answers again it is Up (issue 4, item 3; REQ-OM-08)."""
    first, second = _hosts(runtime, 2)
    FakeHypervisor.silent = {"10.2.0.1"}
    assert _round(runtime).changed == {}  # silent, but not for long yet
    assert _status(runtime, first) == HostStatus.UP
    _age(runtime, 151)
    result = _round(runtime)
    assert _status(runtime, first) == HostStatus.ALERT
    assert _status(runtime, second) == HostStatus.UP  # it answered: last_ping refreshed
    assert list(result.changed) == ["Alert"]
    _age(runtime, 100)
    _round(runtime)
    assert _status(runtime, first) == HostStatus.ALERT  # not yet a timeout since Alert
    _age(runtime, 51)
    _round(runtime)
    assert _status(runtime, first) == HostStatus.DOWN
    assert _status(runtime, second) == HostStatus.UP
    FakeHypervisor.silent = set()
    _round(runtime)
    assert _status(runtime, first) == HostStatus.UP
    assert _events(runtime) == [("ALERT.COMPUTE.HOST", "WARN"), ("ALERT.COMPUTE.HOST", "ERROR"),
                                ("ALERT.COMPUTE.HOST", "INFO")]  # fmt: skip
    # The two failures are also alerts (4.1 ALERT_TYPE_HOST = 7); recovery is not.
    alerts = _alerts(runtime)
    assert [(kind, subject.split(",")[0]) for kind, subject in alerts] == [
        (7, "Host disconnected"),
        (7, "Host is down"),
    ]


def test_healthy_round_refreshes_last_ping_without_an_id_list(runtime: Runtime) -> None:
    """Issue 4 item 8: when every host answers, the last_ping refresh names no host id
    (the shorter list is the silent hosts: none), and only hosts pinged that round are
    touched; with a silent host, it is excluded and stays behind."""
    ids = _hosts(runtime, 5)
    _age(runtime, 30)
    statements: list[str] = []

    def keep(_conn, _cursor, statement, parameters, *_rest):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("UPDATE HOST"):
            statements.append(statement)

    event.listen(runtime.engine, "before_cursor_execute", keep)
    try:
        with runtime.sessions.begin() as session:
            monitored = lifecycle.monitored_hosts(session)
        late = add_late_host(runtime)
        statements.clear()
        answered = lifecycle.ping_hosts(monitored, 1.0)
        with runtime.sessions.begin() as session:
            lifecycle.apply_pings(session, monitored, answered, SETTINGS)
        (refresh,) = statements
        assert "HOST.ID IN" not in refresh.upper()
        assert "NOT IN" not in refresh.upper()
        pings = _pings(runtime)
        assert len({pings[host] for host in ids}) == 1  # all refreshed together
        assert pings[late] < pings[ids[0]]  # added after the snapshot: untouched
        FakeHypervisor.silent = {"10.2.0.1"}
        _age(runtime, 30)
        statements.clear()
        _round(runtime)
        (refresh,) = statements
        assert "NOT IN" in refresh.upper()
        pings = _pings(runtime)
        assert pings[ids[0]] < pings[ids[1]]  # the silent one is not refreshed
    finally:
        event.remove(runtime.engine, "before_cursor_execute", keep)
        FakeHypervisor.silent = set()


def add_late_host(runtime: Runtime) -> int:
    """A host added (with an old last_ping) after a round's SELECT."""
    with runtime.sessions.begin() as session:
        zone = session.scalars(select(Zone)).first()
        pod = session.scalars(select(Pod)).first()
        assert zone is not None and pod is not None
        host = add_kvm_host(session, zone, pod, "10.2.9.9")
        host.last_ping = host.last_ping - dt.timedelta(seconds=40)  # type: ignore[operator]
        return host.id


def _pings(runtime: Runtime) -> dict[int, dt.datetime]:
    with runtime.sessions() as session:
        return {row.id: row.last_ping for row in session.execute(select(Host.id, Host.last_ping))}


def _alerts(runtime: Runtime) -> list[tuple[int, str]]:
    with runtime.sessions() as session:
        rows = session.execute(select(Alert.type, Alert.subject).order_by(Alert.id))
        return [(row.type, row.subject) for row in rows]


def test_unmanaged_cluster_hosts_are_not_pinged(runtime: Runtime) -> None:
    """REQ-CL-06: unmanaging a cluster disconnects its hosts and the heartbeat leaves
    them alone; managing it again brings them back Up at the next round."""
    (host_id,) = _hosts(runtime, 1)
    with runtime.sessions.begin() as session:
        cluster = session.scalars(select(Cluster)).one()
        clusters.update_cluster(session, cluster, managed_state="Unmanaged")
    assert _status(runtime, host_id) == HostStatus.DISCONNECTED
    assert _round(runtime).pinged == 0
    with runtime.sessions.begin() as session:
        cluster = session.scalars(select(Cluster)).one()
        clusters.update_cluster(session, cluster, managed_state="Managed")
    assert _status(runtime, host_id) == HostStatus.CONNECTING
    _round(runtime)
    assert _status(runtime, host_id) == HostStatus.UP


def _statements_of_round(runtime: Runtime, silent: set[str]) -> int:
    FakeHypervisor.silent = silent
    _age(runtime, 151)
    counter = StatementCounter()
    with counter.on(runtime.engine):
        result = _round(runtime)
    assert result.changed  # the round did change states
    return counter.count


@pytest.mark.parametrize("count", [10, 200])
def test_statements_per_round_do_not_grow_with_hosts(runtime: Runtime, count: int) -> None:
    """A heartbeat round costs the same statements for 10 and 200 hosts, half of them
    going Alert (with their events and alerts): set-based updates, one INSERT of the
    events and one of the alerts, whatever the count."""
    _hosts(runtime, count)
    silent = {f"10.2.{i // 250}.{i % 250 + 1}" for i in range(0, count, 2)}
    statements = _statements_of_round(runtime, silent)
    assert statements <= 9, statements
    assert len(_alerts(runtime)) == count // 2


def test_monitor_tick_takes_the_lease_and_applies(runtime: Runtime) -> None:
    """The task runs under the ``host.ping`` lease: a second server gets nothing to do."""
    (host_id,) = _hosts(runtime, 1)
    FakeHypervisor.silent = {"10.2.0.1"}
    _age(runtime, 151)
    result = HostMonitor(runtime).tick()
    assert result is not None and result.changed == {"Alert": [result.changed["Alert"][0]]}
    assert _status(runtime, host_id) == HostStatus.ALERT
    other = Runtime.for_url(runtime.engine.url, "k", pm=runtime.pm)
    other.msid = runtime.msid + 1
    try:
        assert HostMonitor(other).tick() is None
    finally:
        other.close()
