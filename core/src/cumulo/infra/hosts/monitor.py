"""The heartbeat task: :mod:`cumulo.infra.hosts.lifecycle` every ``ping.interval``,
on one management server at a time (the ``host.ping`` lease).

Three short transactions per round: read the settings and take the lease; read the
hosts; apply the answers. The pings themselves run between the second and the third,
outside any transaction. A failing round is logged and retried at the next one.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading

from cumulo.infra.hosts import lifecycle
from cumulo.jobs import lease
from cumulo.runtime import Runtime

log = logging.getLogger(__name__)

LEASE = "host.ping"


class HostMonitor:
    """Pings the cloud's hosts from this management server while it holds the lease.

    :param runtime: the process's runtime (database, configuration, ``msid``).
    """

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.settings = lifecycle.PingSettings()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> lifecycle.TickResult | None:
        """One round now; ``None`` when another server holds the lease."""
        with self.runtime.sessions.begin() as session:
            values = self.runtime.config_store(session).values(
                [lifecycle.INTERVAL_KEY, lifecycle.TIMEOUT_KEY]
            )
            self.settings = lifecycle.PingSettings.from_values(
                values[lifecycle.INTERVAL_KEY], values[lifecycle.TIMEOUT_KEY]
            )
            # Held for a few rounds, so a server that dies hands it on soon.
            ttl = dt.timedelta(seconds=3 * self.settings.interval)
            if not lease.acquire(session, LEASE, self.runtime.msid, ttl):
                return None
        with self.runtime.sessions.begin() as session:
            hosts = lifecycle.monitored_hosts(session)
        answered = lifecycle.ping_hosts(hosts, self.settings.interval)
        with self.runtime.sessions.begin() as session:
            return lifecycle.apply_pings(session, hosts, answered, self.settings)

    def start(self) -> None:
        """Run rounds in a daemon thread until :meth:`stop`."""
        self._thread = threading.Thread(target=self._loop, name="cumulo-host-ping", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the rounds and give the lease up, so another server takes over at once."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        try:
            with self.runtime.sessions.begin() as session:
                lease.release(session, LEASE, self.runtime.msid)
        except Exception:
            log.exception("could not release the %s lease", LEASE)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:
                log.exception("host heartbeat round failed; retrying at the next round")
            self._stop.wait(self.settings.interval)
