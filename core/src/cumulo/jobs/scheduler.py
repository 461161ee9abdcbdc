"""The background loop of a job-running management server.

Every ``cluster.heartbeat.interval`` the loop

1. refreshes this server's heartbeat (re-registering if its ``mshost`` row vanished);
2. under the ``takeover`` lease: marks servers with stale heartbeats ``Down`` and fails
   the in-progress jobs of every stopped server (:func:`cumulo.jobs.mshost.take_over`);

and every :data:`PURGE_EVERY` seconds, under the ``purge`` lease, deletes jobs finished
more than ``job.expire.minutes`` ago and expired login sessions. The domains' own
periodic tasks (:data:`PERIODIC_TASKS`: snapshot policies, VM expunge …) run in a
thread of their own, since they call drivers that may block, each when due, under its
own lease and in its own transactions. Beside that loop, in a
thread of its own, the host heartbeat (:class:`cumulo.infra.hosts.monitor.HostMonitor`)
pings the cloud's hosts every ``ping.interval`` under the ``host.ping`` lease: a round
may wait up to a ping timeout on silent hosts, which must not delay this server's own
heartbeat past ``cluster.heartbeat.threshold``. Each step is its own
short transaction, so one failing (the database restarting, say) is logged and retried
at the next round without stopping the loop. Leases make each singleton task run on
one server at a time however many share the database.
"""

from __future__ import annotations

import datetime as dt
import functools
import importlib
import logging
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass

from sqlalchemy.orm import Session

from cumulo.infra.hosts.monitor import HostMonitor
from cumulo.jobs import lease, mshost
from cumulo.jobs.purge import EXPIRE_KEY, purge_expired
from cumulo.runtime import Runtime

log = logging.getLogger(__name__)

INTERVAL_KEY = "cluster.heartbeat.interval"
THRESHOLD_KEY = "cluster.heartbeat.threshold"
TAKEOVER_LEASE = "takeover"
PURGE_LEASE = "purge"
PURGE_EVERY = 60.0
"""Seconds between purges (4.1 collects expired jobs every 10 s, 100 rows at a time;
one set-based DELETE a minute keeps up with far more)."""


PERIODIC_POLL = 1.0
"""Seconds between two looks at which periodic tasks are due."""


@dataclass(frozen=True)
class PeriodicTask:
    """A domain's singleton background task, run every ``every`` seconds.

    :param name: what the log calls it.
    :param target: ``"module:function"``; the function takes the :class:`Runtime`,
        acquires ``lease`` itself (so one server at a time runs it), uses short
        transactions of its own and never raises for one item's failure. Resolved at
        its first run, so that the domain modules are not imported by this one.
    :param every: seconds between two runs on this server.
    :param lease: the lease it holds, given up when the server signs off.
    :param every_key: a setting (seconds) that overrides ``every`` when set, read
        before each wait so that a change applies without a restart.
    """

    name: str
    target: str
    every: float
    lease: str
    every_key: str | None = None

    def resolve(self) -> Callable[[Runtime], object]:
        """The function ``target`` names."""
        module, _, attribute = self.target.partition(":")
        function: Callable[[Runtime], object] = getattr(importlib.import_module(module), attribute)
        return function


PERIODIC_TASKS: tuple[PeriodicTask, ...] = (
    PeriodicTask(
        "snapshot policies",
        "cumulo.volumes.scheduler:run_scheduled_snapshots",
        60.0,
        "snapshot.policies",
    ),
    PeriodicTask(
        "VM expunge",
        "cumulo.compute.expunge:expunge_due",
        86400.0,
        "expunge",
        every_key="expunge.interval",
    ),
    PeriodicTask("HA", "cumulo.ha.task:run_ha_round", 10.0, "ha"),
    PeriodicTask(
        "network GC",
        "cumulo.network.networks.gc:collect_networks",
        600.0,
        "network.gc",
        every_key="network.gc.interval",
    ),
    PeriodicTask("template sync", "cumulo.templates.sync:sync_templates", 60.0, "template.sync"),
    PeriodicTask(
        "capacity check", "cumulo.alerts.capacity_check:run_capacity_check", 60.0, "capacity.check"
    ),
)
"""The core domains' periodic tasks, in the order a round runs them."""


@dataclass(frozen=True)
class Timing:
    """The loop's periods, read from the configuration.

    :param interval: seconds between heartbeats (``cluster.heartbeat.interval``).
    :param threshold: heartbeat age after which a server is dead
        (``cluster.heartbeat.threshold``), at least three intervals so that a live
        server is never declared dead for one slow round.
    :param expire: how long finished jobs are kept (``job.expire.minutes``).
    """

    interval: float
    threshold: dt.timedelta
    expire: dt.timedelta

    @classmethod
    def read(cls, runtime: Runtime, session: Session) -> Timing:
        """The current values, in one statement."""
        values = runtime.config_store(session).values([INTERVAL_KEY, THRESHOLD_KEY, EXPIRE_KEY])
        interval = int(values[INTERVAL_KEY] or 1500) / 1000
        threshold = max(int(values[THRESHOLD_KEY] or 150000) / 1000, 3 * interval)
        return cls(
            interval=interval,
            threshold=dt.timedelta(seconds=threshold),
            expire=dt.timedelta(minutes=int(values[EXPIRE_KEY] or 1440)),
        )


class BackgroundTasks:
    """Heartbeat, takeover, purge and host pings for one management server
    (``runtime.msid``).

    :param runtime: the process's runtime; its ``msid`` and ``server_name`` identify
        the server in ``mshost``.
    :param ip: the address shown in ``mshost.ip``.
    :param host_monitor: also run the host heartbeat from :meth:`start` to :meth:`stop`
        (off for tests that drive :class:`HostMonitor` rounds themselves).
    """

    def __init__(
        self, runtime: Runtime, ip: str | None = None, *, host_monitor: bool = True
    ) -> None:
        self.runtime = runtime
        self.ip = ip
        self.host_monitor = HostMonitor(runtime) if host_monitor else None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._periodic_thread: threading.Thread | None = None
        self._next_purge = 0.0
        self._next_run = {task.name: 0.0 for task in PERIODIC_TASKS}
        with self._transaction() as session:
            self.timing = Timing.read(runtime, session)

    # -- lifecycle ----------------------------------------------------------------------

    def register(self) -> None:
        """Record this server as ``Up`` (and fail what a previous run under the same
        msid left in progress); call before claiming any job."""
        with self._transaction() as session:
            mshost.register(session, self.runtime.msid, self.runtime.server_name, self.ip)

    def start(self) -> None:
        """Register, then run the loop in a daemon thread until :meth:`stop`, the
        periodic tasks in another and the host heartbeat in a third."""
        self.register()
        self._thread = threading.Thread(target=self._loop, name="cumulo-background", daemon=True)
        self._thread.start()
        self._periodic_thread = threading.Thread(
            target=self._periodic_loop, name="cumulo-periodic", daemon=True
        )
        self._periodic_thread.start()
        if self.host_monitor is not None:
            self.host_monitor.start()

    def stop(self) -> None:
        """Stop the loop and the host heartbeat, mark this server ``Down`` and give its
        leases up, so another server takes over at once what this one leaves unfinished."""
        self._stop.set()
        if self.host_monitor is not None:
            # Releases ``host.ping`` itself: another server pings at its next round.
            self.host_monitor.stop()
        for thread in (self._thread, self._periodic_thread):
            if thread is not None:
                thread.join()
        self._guarded("shutdown", self._sign_off)

    # -- one round ----------------------------------------------------------------------

    def tick(self) -> None:
        """Run one round now: heartbeat, takeover, and the purge when it is due."""
        self._guarded("heartbeat", self._heartbeat)
        self._guarded("takeover", self._take_over)
        if time.monotonic() >= self._next_purge:
            self._next_purge = time.monotonic() + PURGE_EVERY
            self._guarded("purge", self._purge)

    def run_periodic(self) -> None:
        """Run the periodic tasks that are due now (each at most once)."""
        for task in PERIODIC_TASKS:
            if time.monotonic() >= self._next_run[task.name]:
                self._guarded(task.name, functools.partial(self._run_periodic, task))
                self._next_run[task.name] = time.monotonic() + self._every(task)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.tick()
            self._stop.wait(self.timing.interval)

    def _periodic_loop(self) -> None:
        while not self._stop.is_set():
            self.run_periodic()
            self._stop.wait(PERIODIC_POLL)

    def _every(self, task: PeriodicTask) -> float:
        if task.every_key is None:
            return task.every
        try:
            with self._transaction() as session:
                configured = self.runtime.config_store(session).integer(task.every_key)
        except Exception:  # the database may be restarting: keep the default this time
            log.exception("could not read %s; using %s s", task.every_key, task.every)
            return task.every
        return float(configured) if configured else task.every

    def _heartbeat(self) -> None:
        with self._transaction() as session:
            if not mshost.heartbeat(session, self.runtime.msid):
                mshost.register(session, self.runtime.msid, self.runtime.server_name, self.ip)

    def _take_over(self) -> None:
        with self._transaction() as session:
            held = lease.acquire(session, TAKEOVER_LEASE, self.runtime.msid, self.timing.threshold)
        if not held:
            return
        with self._transaction() as session:
            done = mshost.take_over(session, self.runtime.msid, self.timing.threshold)
        for msid in done.marked_down:
            log.warning("management server %s stopped heartbeating; marked Down", msid)
        for msid, count in done.failed_jobs.items():
            log.warning("failed %d job(s) left in progress by management server %s", count, msid)

    def _purge(self) -> None:
        with self._transaction() as session:
            self.timing = Timing.read(self.runtime, session)
            held = lease.acquire(
                session, PURGE_LEASE, self.runtime.msid, dt.timedelta(seconds=5 * PURGE_EVERY)
            )
        if not held:
            return
        with self._transaction() as session:
            jobs = purge_expired(session, self.timing.expire)
            sessions = _purge_login_sessions(session)
        if jobs or sessions:
            log.info("purged %d expired job(s) and %d expired login session(s)", jobs, sessions)

    def _run_periodic(self, task: PeriodicTask) -> None:
        task.resolve()(self.runtime)

    def _sign_off(self) -> None:
        with self._transaction() as session:
            mshost.mark_down(session, self.runtime.msid)
            for name in (TAKEOVER_LEASE, PURGE_LEASE, *(task.lease for task in PERIODIC_TASKS)):
                lease.release(session, name, self.runtime.msid)

    # -- helpers --------------------------------------------------------------------------

    def _transaction(self) -> AbstractContextManager[Session]:
        # A session in one transaction: committed on success, rolled back on error.
        return self.runtime.sessions.begin()

    def _guarded(self, what: str, step: Callable[[], None]) -> None:
        # A background step must survive a database hiccup: log it, retry next round.
        try:
            step()
        except Exception:
            log.exception("background task %r failed; retrying at the next round", what)


def _purge_login_sessions(session: Session) -> int:
    """Expired ``api_session`` rows, when the auth package that owns them is installed."""
    try:
        from cumulo.auth.sessions import purge_expired as purge_sessions
    except ImportError:  # pragma: no cover - the core ships it; a trimmed build may not
        return 0
    return int(purge_sessions(session))
