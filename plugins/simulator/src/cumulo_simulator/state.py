"""The simulator's shared state: one SQLite file every process opens.

The API server (``configureSimulator``), the job worker (VM operations) and tests in
another process must see the same hosts, VMs and rules, so nothing lives in memory: the
file is ``$CUMULO_SIMULATOR_STATE`` if set, else ``<conf>/../data/simulator.sqlite``
beside the embedded database (``<conf>`` is ``$CUMULO_CONF_DIR`` or
``/etc/cloud/management``). WAL mode lets readers (pings, state sync) run while a writer
commits; writers take the lock at ``BEGIN IMMEDIATE`` so two processes never deadlock
upgrading a read lock.

Cost: a ping is one indexed read of the small ``rules`` table and nothing else, so
10,000 simulated hosts need no thread and no row each to answer.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cumulo_simulator.rules import Behaviour, Rule, Scope, choose

ENV_STATE = "CUMULO_SIMULATOR_STATE"
STATE_FILE = "simulator.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS rules (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    operation TEXT NOT NULL,
    zone_id INTEGER, pod_id INTEGER, cluster_id INTEGER, host_id INTEGER, host_guid TEXT,
    result TEXT NOT NULL, wait_ms INTEGER NOT NULL, message TEXT NOT NULL,
    remaining INTEGER
);
CREATE INDEX IF NOT EXISTS rules_operation ON rules (operation);
CREATE TABLE IF NOT EXISTS hosts (
    guid TEXT PRIMARY KEY, url TEXT NOT NULL, name TEXT NOT NULL,
    sockets INTEGER NOT NULL, cpus INTEGER NOT NULL, speed INTEGER NOT NULL,
    memory INTEGER NOT NULL, version TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS vms (
    name TEXT PRIMARY KEY, host_guid TEXT NOT NULL, state TEXT NOT NULL,
    cpus INTEGER NOT NULL, speed INTEGER NOT NULL, memory INTEGER NOT NULL,
    vnc_password TEXT NOT NULL, console_port INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS vms_host ON vms (host_guid);
CREATE TABLE IF NOT EXISTS seeded_hosts (host_guid TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS attachments (
    vm_name TEXT NOT NULL, volume_uuid TEXT NOT NULL, device_id INTEGER NOT NULL,
    PRIMARY KEY (vm_name, volume_uuid)
);
CREATE TABLE IF NOT EXISTS snapshots (
    path TEXT PRIMARY KEY, volume_uuid TEXT NOT NULL, size INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS pools (
    uuid TEXT PRIMARY KEY, url TEXT NOT NULL, total INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS objects (
    pool_uuid TEXT NOT NULL, path TEXT NOT NULL, size INTEGER NOT NULL,
    physical INTEGER NOT NULL, PRIMARY KEY (pool_uuid, path)
);
"""

_local = threading.local()


def default_state_path() -> Path:
    """Where the state file is when nothing says otherwise (see the module doc)."""
    configured = os.environ.get(ENV_STATE, "").strip()
    if configured:
        return Path(configured)
    conf = os.environ.get("CUMULO_CONF_DIR", "").strip() or "/etc/cloud/management"
    return Path(conf).absolute().parent / "data" / STATE_FILE


class SimulatorState:
    """The simulator's state file; cheap to create (connections open on first use, one
    per thread and process).

    :param path: the SQLite file (created with its directory if missing); default
        :func:`default_state_path`, read when first used.
    """

    def __init__(self, path: Path | str | None = None) -> None:
        self._path = Path(path) if path is not None else None

    @property
    def path(self) -> Path:
        """The state file."""
        return self._path if self._path is not None else default_state_path()

    def _connection(self) -> sqlite3.Connection:
        # One connection per (thread, process, file): sqlite3 connections must not cross
        # threads, and a forked worker must not reuse its parent's file handle.
        key = (os.getpid(), str(self.path))
        cache: dict[tuple[int, str], sqlite3.Connection] = _local.__dict__.setdefault("c", {})
        conn = cache.get(key)
        if conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.executescript(_SCHEMA)
            cache[key] = conn
        return conn

    def read(self) -> sqlite3.Connection:
        """A connection for reads outside a transaction (each statement sees the latest
        committed state)."""
        return self._connection()

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction: committed on exit, rolled back on an exception."""
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    # ---- rules -----------------------------------------------------------------------

    def add_rule(self, operation: str, scope: Scope, behaviour: Behaviour) -> int:
        """Store a rule (see :mod:`cumulo_simulator.rules`); returns its id."""
        with self.write() as conn:
            cursor = conn.execute(
                "INSERT INTO rules (operation, zone_id, pod_id, cluster_id, host_id,"
                " host_guid, result, wait_ms, message, remaining)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    operation,
                    scope.zone_id,
                    scope.pod_id,
                    scope.cluster_id,
                    scope.host_id,
                    scope.host_guid,
                    behaviour.result,
                    behaviour.wait_ms,
                    behaviour.message,
                    behaviour.count,
                ),
            )
            return int(cursor.lastrowid or 0)

    def clear_rules(self, operation: str | None = None, scope: Scope | None = None) -> int:
        """Remove the rules of ``operation`` (``*`` or ``None``: every operation) with
        exactly ``scope`` (``None``: any scope); returns how many went."""
        clauses, args = [], []
        if operation not in (None, "*"):
            clauses.append("operation = ?")
            args.append(operation)
        if scope is not None:
            for column in ("zone_id", "pod_id", "cluster_id", "host_id", "host_guid"):
                value = getattr(scope, column)
                clauses.append(f"{column} IS ?")
                args.append(value)
        where = " WHERE " + " AND ".join(clauses) if clauses else ""
        with self.write() as conn:
            return conn.execute(f"DELETE FROM rules{where}", args).rowcount

    def rules(self, operations: tuple[str, ...] = ()) -> list[Rule]:
        """Stored rules, of ``operations`` and ``*`` only when given."""
        sql = (
            "SELECT id, operation, zone_id, pod_id, cluster_id, host_id, host_guid,"
            " result, wait_ms, message, remaining FROM rules"
        )
        args: tuple[str, ...] = ()
        if operations:
            sql += f" WHERE operation IN ({', '.join('?' * (len(operations) + 1))})"
            args = (*operations, "*")
        return [
            Rule(row[0], row[1], Scope(*row[2:7]), Behaviour(row[7], row[8], row[9], row[10]))
            for row in self.read().execute(sql, args)
        ]

    def behaviour(self, operation: str, host: Scope) -> Behaviour | None:
        """The behaviour of the rule that applies now, consuming one of its ``count``."""
        rule = choose(self.rules((operation,)), operation, host)
        if rule is None:
            return None
        if rule.behaviour.count is not None:
            # Consume under the write lock: another process may have used the last one.
            with self.write() as conn:
                taken = conn.execute(
                    "UPDATE rules SET remaining = remaining - 1 WHERE id = ? AND remaining > 0",
                    (rule.id,),
                ).rowcount
                conn.execute("DELETE FROM rules WHERE id = ? AND remaining <= 0", (rule.id,))
            if not taken:
                return self.behaviour(operation, host)
        return rule.behaviour
