"""Benchmark: host heartbeat rounds at 10,000 simulated hosts (B8 shape).

A migrated and seeded cloud (a SQLite file in a temporary directory, or ``--url`` on an
EMPTY MariaDB/MySQL database) gets 10,000 ``Simulator`` hosts, Up and just pinged,
inserted set-based (``hosts_listing.seed_hosts``; four clusters). The real simulator
driver answers the pings, its state file in the temporary directory
(``$CUMULO_SIMULATOR_STATE``). One **round** is ``HostMonitor.tick()`` of
``cumulo.infra.hosts.monitor``, exactly what the job worker runs every ``ping.interval``
(default 60 s): read the settings and take the ``host.ping`` lease, select the
monitored hosts, ping them through the driver in one batch, apply the answers
set-based.

Each case interleaves, in ABBA blocks of one round each, our round with a **baseline**:
the bare batched round of B8 (../shared/spec/performance.md) on a raw DBAPI connection,
``SELECT id`` of the same hosts then ``UPDATE host SET last_ping = ? WHERE id IN (…)``
in chunks of 10,000 and one commit. The figure is CPU: this process's
(``time.process_time``; it includes SQLite's work) plus, with ``--url`` on a local
MariaDB/MySQL server, the database server's (``/proc/<pid>/stat``). Per case it prints
one JSON line: CPU seconds per round of both (medians), CPU seconds per second at the
default 60 s interval and µs per ping, the median of the per-round ratios
ours/baseline with quartiles, and the statements and commits one round costs (counted
with engine listeners: deterministic; bounded means the same at any number of hosts).

Cases: ``steady`` (every host answers), ``cluster_unreachable`` (a simulator rule makes
one cluster, a quarter of the hosts, not answer: rules are matched per host), and
``mass_alert`` (that quarter has been silent past ``ping.interval * ping.timeout``:
one round moves 2,500 hosts to Alert and records 2,500 events and 2,500 alerts; measured once, as it
happens once).

    .venv/bin/python bench/host_heartbeat.py [--hosts 10000] [--rounds 12]
        [--url mysql+pymysql://root@127.0.0.1:3306/EMPTY_DB]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import event, select, update
from sqlalchemy.engine import Engine, make_url

sys.path.insert(0, str(Path(__file__).parent))  # hosts_listing, beside this script

from hosts_listing import deployment, machine, quartiles, seed_hosts

from cumulo.infra.hosts.models import Cluster, Host
from cumulo.infra.hosts.monitor import HostMonitor
from cumulo.jobs.clock import db_now
from cumulo.runtime import Runtime

INTERVAL = 60.0
"""4.1's default ``ping.interval`` (seconds): the rounds per second are 1/60."""
CHUNK = 10_000
STATE_ENV = "CUMULO_SIMULATOR_STATE"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# ---- CPU and statements ---------------------------------------------------------------------


def _process_cpu(pid: int) -> float:
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def database_server_pid(url: str | None) -> int | None:
    """The local mariadbd/mysqld, whose CPU the round costs too (``--url`` only)."""
    if url is None:
        return None
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError):
            if entry.name.isdigit() and (entry / "comm").read_text().strip() in (
                "mariadbd",
                "mysqld",
            ):
                return int(entry.name)
    return None


def cpu_of(operation: Callable[[], object], database: int | None) -> tuple[float, float]:
    """CPU seconds ``operation`` cost: this process's, and the database server's."""
    server = _process_cpu(database) if database else 0.0
    start = time.process_time()
    operation()
    spent = time.process_time() - start
    return spent, (_process_cpu(database) - server) if database else 0.0


def counted(engine: Engine, operation: Callable[[], object]) -> tuple[int, int]:
    """Statements and commits ``operation`` sends through ``engine``'s pool."""
    statements = commits = 0

    def statement(*_: object) -> None:
        nonlocal statements
        statements += 1

    def commit(*_: object) -> None:
        nonlocal commits
        commits += 1

    event.listen(engine, "before_cursor_execute", statement)
    event.listen(engine, "commit", commit)
    try:
        operation()
    finally:
        event.remove(engine, "before_cursor_execute", statement)
        event.remove(engine, "commit", commit)
    return statements, commits


# ---- the two sides ---------------------------------------------------------------------------


def our_round(monitor: HostMonitor, expected: int) -> Callable[[], object]:
    """One heartbeat round as the job worker runs it; checks it pinged every host."""

    def call() -> object:
        result = monitor.tick()
        if result is None or result.pinged != expected:
            raise SystemExit(f"the round pinged {result and result.pinged}, not {expected}")
        return result

    return call


BARE_SELECT = (
    "SELECT h.id FROM host h JOIN cluster c ON h.cluster_id = c.id"
    " WHERE h.removed IS NULL AND h.type = 'Routing'"
    " AND h.status IN ('Up', 'Connecting', 'Alert', 'Down') AND c.managed_state = 'Managed'"
)


def bare_round(engine: Engine, silent_cluster: int | None) -> Callable[[], object]:
    """The baseline: the same hosts selected, the answering ones' ``last_ping`` set in
    chunked ``UPDATE … WHERE id IN (…)``, one commit; no pings, no status logic."""
    sqlite = engine.dialect.name == "sqlite"
    marker = "?" if sqlite else "%s"
    select_sql = BARE_SELECT + (
        f" AND h.cluster_id <> {int(silent_cluster)}" if silent_cluster is not None else ""
    )

    def call() -> object:
        connection = engine.raw_connection()
        try:
            cursor = connection.cursor()
            cursor.execute(select_sql)
            ids = [row[0] for row in cursor.fetchall()]
            cursor.execute("SELECT CURRENT_TIMESTAMP")
            (now,) = cursor.fetchone() or (None,)
            for start in range(0, len(ids), CHUNK):
                chunk = ids[start : start + CHUNK]
                cursor.execute(
                    f"UPDATE host SET last_ping = {marker} WHERE id IN"
                    f" ({', '.join([marker] * len(chunk))})",
                    (now, *chunk),
                )
            cursor.close()
            connection.commit()
        finally:
            connection.close()
        return len(ids)

    return call


# ---- cases -----------------------------------------------------------------------------------


def interleave(
    ours: Callable[[], object], bare: Callable[[], object], rounds: int, database: int | None
) -> dict[str, Any]:
    """ABBA rounds after one warm-up pair: CPU per round (ours, of which the database
    server's, bare) and the ratio ours/bare per pair."""
    spent: dict[str, list[float]] = {"ours": [], "database": [], "bare": []}
    ratios: list[float] = []
    for index in range(rounds + 1):
        sides = (("ours", ours), ("bare", bare))
        block = {name: cpu_of(call, database) for name, call in sides[:: 1 if index % 2 else -1]}
        if index == 0:
            continue
        ours_cpu = sum(block["ours"])
        bare_cpu = sum(block["bare"])
        spent["ours"].append(ours_cpu)
        spent["database"].append(block["ours"][1])
        spent["bare"].append(bare_cpu)
        ratios.append(ours_cpu / max(bare_cpu, 1e-9))
    q1, q3 = quartiles(ratios)
    cpu_round = statistics.median(spent["ours"])
    return {
        "cpu_s_per_round_ours": round(cpu_round, 4),
        "of_which_database_server_s": round(statistics.median(spent["database"]), 4),
        "cpu_s_per_round_bare": round(statistics.median(spent["bare"]), 4),
        "ratio_median": round(statistics.median(ratios), 3),
        "ratio_iqr": [round(q1, 3), round(q3, 3)],
        "rounds": rounds,
    }


def _per_interval(cpu_round: float, hosts: int) -> dict[str, Any]:
    return {
        "cpu_s_per_s_at_60s_interval": round(cpu_round / INTERVAL, 5),
        "share_of_one_core_pct": round(cpu_round / INTERVAL * 100, 3),
        "cpu_us_per_ping": round(cpu_round / hosts * 1e6, 2),
    }


def _age_cluster(runtime: Runtime, cluster_id: int) -> None:
    """The cluster's hosts last answered 151 s ago (past 60 s times 2.5, the timeout)."""
    with runtime.sessions.begin() as session:
        session.execute(
            update(Host)
            .where(Host.cluster_id == cluster_id)
            .values(last_ping=db_now(session) - dt.timedelta(seconds=151))
        )


def run_cases(runtime: Runtime, hosts: int, args: argparse.Namespace) -> list[dict[str, Any]]:
    """The JSON lines of the three cases, in order (they share one cloud)."""
    from cumulo_simulator.rules import Behaviour, Scope
    from cumulo_simulator.state import SimulatorState

    database = database_server_pid(args.url)
    monitor = HostMonitor(runtime)
    ours = our_round(monitor, hosts)
    with runtime.sessions() as session:
        silent = session.scalars(select(Cluster.id).order_by(Cluster.id)).first() or 0
        silent_hosts = len(session.scalars(select(Host.id).where(Host.cluster_id == silent)).all())
    lines = []
    for case in ("steady", "cluster_unreachable"):
        if case == "cluster_unreachable":
            SimulatorState().add_rule(
                "ping", Scope(cluster_id=silent), Behaviour(result="unreachable")
            )
        bare = bare_round(runtime.engine, silent if case == "cluster_unreachable" else None)
        ours()  # warm: drivers loaded, statements compiled
        statements, commits = counted(runtime.engine, ours)
        measured = interleave(ours, bare, args.rounds, database)
        lines.append(
            {
                "case": case,
                "answering": hosts - (silent_hosts if case == "cluster_unreachable" else 0),
                **measured,
                **_per_interval(measured["cpu_s_per_round_ours"], hosts),
                "sql_statements_per_round": statements,
                "commits_per_round": commits,
            }
        )
    # The silent quarter's timeout passes: one round moves it to Alert, with events.
    _age_cluster(runtime, silent)
    cpu: tuple[float, float] = (0.0, 0.0)

    def alert_round() -> None:
        nonlocal cpu
        cpu = cpu_of(ours, database)

    statements, commits = counted(runtime.engine, alert_round)
    with runtime.sessions() as session:
        alerted = len(session.scalars(select(Host.id).where(Host.status == "Alert")).all())
    if alerted != silent_hosts:
        raise SystemExit(f"{alerted} hosts went Alert, not {silent_hosts}")
    lines.append(
        {
            "case": "mass_alert",
            "answering": hosts - silent_hosts,
            "went_alert": alerted,
            "cpu_s_per_round_ours": round(sum(cpu), 4),
            "of_which_database_server_s": round(cpu[1], 4),
            "sql_statements_per_round": statements,
            "commits_per_round": commits,
        }
    )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--url", help="an EMPTY MariaDB/MySQL database to migrate and use")
    parser.add_argument("--hosts", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=12, help="measured rounds per side")
    args = parser.parse_args()
    if args.url and make_url(args.url).get_backend_name() == "sqlite":
        parser.error("--url is for MariaDB/MySQL; SQLite runs in a temporary directory")
    with tempfile.TemporaryDirectory() as temporary:
        scratch = Path(temporary)
        # Before any driver is loaded: the simulator reads its state file from here.
        os.environ[STATE_ENV] = str(scratch / "simulator.sqlite")
        with deployment(scratch, args.url) as (runtime, _, _):
            started = time.perf_counter()
            seed_hosts(runtime, args.hosts)
            seeded = time.perf_counter() - started
            for line in run_cases(runtime, args.hosts, args):
                print(
                    json.dumps(
                        {
                            "bench": "host_heartbeat",
                            "backend": runtime.engine.dialect.name,
                            "hosts": args.hosts,
                            "ping_interval_s": INTERVAL,
                            **line,
                            "seed_seconds": round(seeded, 2),
                            "includes_database_server_cpu": database_server_pid(args.url)
                            is not None,
                            "machine": machine(),
                        }
                    ),
                    flush=True,
                )


if __name__ == "__main__":
    main()
