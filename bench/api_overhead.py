"""Benchmark: server CPU per API request, cumulo against a bare falcon app (B6).

Two gunicorn servers with the same configuration (sync worker class, one worker, one
per port) answer the same requests: ``cumulo_api.wsgi:application`` on a freshly
seeded database, and :func:`bare_app`, a falcon app with one resource that returns the
bytes cumulo answered for the same command (captured once at start). The client sends
signed ``listAccounts`` and ``queryAsyncJobResult`` requests (a finished job) in
interleaved ABBA blocks (the bare app gets proportionally more requests per block, so
that both sides span enough 10 ms clock ticks), a new connection per request as a sync
worker requires. Around
each block the benchmark reads the worker's utime+stime from ``/proc/<pid>/stat`` (and,
with ``--url`` on a local MariaDB/MySQL, the database server's too), so the figure is
what the server spent, not what the client or the scheduler did. One JSON line per
command: CPU microseconds per request of both servers, the median of the per-block
ratios ours/bare and its quartiles (target ≤1.5, see ../shared/spec/performance.md B6).

    .venv/bin/python bench/api_overhead.py [--blocks 12] [--requests 300]
        [--url mysql+pymysql://root@127.0.0.1/EMPTY_DB]

Without ``--url`` a SQLite file in a temporary directory is used.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import falcon
import falcon.testing
from sqlalchemy import event
from sqlalchemy.engine import make_url

from cumulo.plugins import get_plugin_manager
from cumulo.runtime import Runtime
from cumulo.testing.deployment import deploy_database, register_admin_keys
from cumulo_api.app import create_app
from cumulo_api.client.signer import sign
from cumulo_api.registry import CommandRegistry
from cumulo_api.testing_server import free_port
from cumulo_api.worker import run_pending

MANAGEMENT_KEY = "bench-management-key"
DATABASE_KEY = "bench-database-key"
PAYLOADS_ENV = "CUMULO_BENCH_PAYLOADS"
TARGET = 1.5
MAX_BARE_SCALE = 20
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# ---- the baseline: a bare falcon app serving captured bytes ---------------------------


class _Canned:
    def __init__(self, payloads: dict[str, tuple[str, bytes]]) -> None:
        self.payloads = payloads

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        content_type, body = self.payloads[req.get_param("command", default="")]
        resp.content_type = content_type
        resp.data = body


def bare_app() -> falcon.App[falcon.Request, falcon.Response]:
    """The baseline WSGI app (``gunicorn 'api_overhead:bare_app()'``): answers
    ``/client/api?command=X`` with the bytes stored for X in ``$CUMULO_BENCH_PAYLOADS``."""
    stored = json.loads(Path(os.environ[PAYLOADS_ENV]).read_text())
    payloads = {name: (kind, body.encode("utf-8")) for name, (kind, body) in stored.items()}
    app = falcon.App()
    app.add_route("/client/api", _Canned(payloads))
    return app


# ---- the floor: the irreducible work of the request, raw -------------------------------

FLOOR_ENV = "CUMULO_BENCH_FLOOR"
"""JSON: the database URL, the admin's API key and plain secret key."""

# The reads cumulo's requests make, by hand: the caller by API key (its user, account
# and domain state), then the command's own rows. Placeholders are filled in per driver.
_FLOOR_CALLER = (
    "SELECT u.id, u.state, a.state, a.type, d.path FROM user u"
    " JOIN account a ON a.id = u.account_id JOIN domain d ON d.id = a.domain_id"
    " WHERE u.api_key = {p} AND u.removed IS NULL"
)
_FLOOR_QUERIES = {
    "listAccounts": (
        "SELECT a.*, d.uuid, d.name, d.path FROM account a JOIN domain d ON d.id = a.domain_id"
        " WHERE a.removed IS NULL AND a.id != 1 AND d.path LIKE {p} ORDER BY a.id LIMIT 500",
        "SELECT * FROM user WHERE account_id IN ({ids}) AND removed IS NULL ORDER BY id",
    ),
    "queryAsyncJobResult": (
        "SELECT j.*, a.uuid, u.uuid, d.path FROM async_job j"
        " JOIN account a ON a.id = j.account_id JOIN user u ON u.id = j.user_id"
        " JOIN domain d ON d.id = a.domain_id WHERE j.uuid = {p}",
    ),
}


class _Floor:
    def __init__(self, payloads: dict[str, tuple[str, bytes]], setup: dict[str, str]) -> None:
        self.payloads = payloads
        self.api_key = setup["apikey"]
        self.secret = setup["secretkey"].encode()
        url = make_url(setup["url"])
        if url.get_backend_name() == "sqlite":
            import sqlite3

            self.connection: Any = sqlite3.connect(url.database or "", check_same_thread=False)
            self.marker = "?"
        else:
            import pymysql

            self.connection = pymysql.connect(
                host=url.host or "127.0.0.1", port=url.port or 3306, user=url.username or "root",
                password=url.password or "", database=url.database, autocommit=True,
            )  # fmt: skip
            self.marker = "%s"

    def _rows(self, sql: str, *args: object) -> list[tuple[Any, ...]]:
        cursor = self.connection.cursor()
        try:
            cursor.execute(sql.replace("{p}", self.marker), args)
            return list(cursor.fetchall())
        finally:
            cursor.close()

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        import base64
        import hashlib
        import hmac

        pairs = urllib.parse.parse_qsl(req.query_string, keep_blank_values=True)
        given = dict(pairs)
        signed = sorted((k.lower(), v) for k, v in pairs if k != "signature")
        text = "&".join(f"{k}={urllib.parse.quote(v, safe='*')}" for k, v in signed).lower()
        digest = hmac.new(self.secret, text.encode(), hashlib.sha1).digest()
        caller = self._rows(_FLOOR_CALLER, given.get("apiKey", ""))
        if not caller or not hmac.compare_digest(
            base64.b64encode(digest).decode(), given.get("signature", "")
        ):
            raise falcon.HTTPUnauthorized()
        command = given["command"]
        first, *rest = _FLOOR_QUERIES[command]
        if command == "listAccounts":
            accounts = self._rows(first, caller[0][4] + "%")
            ids = ",".join(str(int(row[0])) for row in accounts) or "0"
            self._rows(rest[0].replace("{ids}", ids))
        else:
            self._rows(first, given["jobid"])
        content_type, body = self.payloads[command]
        resp.content_type = content_type
        resp.data = body


def floor_app() -> falcon.App[falcon.Request, falcon.Response]:
    """The floor WSGI app (``gunicorn 'api_overhead:floor_app()'``): verifies the
    signature and makes the request's reads raw, then answers the captured bytes."""
    stored = json.loads(Path(os.environ[PAYLOADS_ENV]).read_text())
    payloads = {name: (kind, body.encode("utf-8")) for name, (kind, body) in stored.items()}
    app = falcon.App()
    app.add_route("/client/api", _Floor(payloads, json.loads(os.environ[FLOOR_ENV])))
    return app


# ---- servers ---------------------------------------------------------------------------


@dataclass
class Server:
    """A gunicorn arbiter we started and its single worker."""

    name: str
    process: subprocess.Popen[bytes]
    port: int
    worker: int = 0

    def cpu_seconds(self) -> float:
        """utime+stime of the worker so far."""
        return _process_cpu(self.worker)


def _process_cpu(pid: int) -> float:
    # Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()] if path.exists() else []


def _start(name: str, target: str, environment: dict[str, str]) -> Server:
    port = free_port()
    command = [
        str(Path(sys.executable).with_name("gunicorn")),
        "--worker-class", "sync", "--workers", "1",
        "--bind", f"127.0.0.1:{port}", "--log-level", "warning",
        "--pythonpath", str(Path(__file__).parent),
        target,
    ]  # fmt: skip
    process = subprocess.Popen(command, env=environment)
    server = Server(name, process, port)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{name} server exited with {process.returncode}")
        workers = _children(process.pid)
        if workers and _status(port, "/healthz") is not None:
            server.worker = workers[0]
            return server
        time.sleep(0.2)
    raise SystemExit(f"{name} server did not start")


def _status(port: int, path: str) -> int | None:
    with contextlib.suppress(OSError):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            connection.request("GET", path)
            return connection.getresponse().status
        finally:
            connection.close()
    return None


def _stop(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


def _get(port: int, query: str) -> tuple[int, str, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", f"/client/api?{query}")
        answer = connection.getresponse()
        return answer.status, answer.getheader("Content-Type") or "", answer.read()
    finally:
        connection.close()


# ---- the deployment ----------------------------------------------------------------------


@contextlib.contextmanager
def _deployment(scratch: Path, url: str | None) -> Iterator[tuple[Path, Runtime, str, str]]:
    """Migrate and seed a database, write ``db.properties``, register admin keys."""
    url = url or f"sqlite:///{scratch / 'cloud.db'}"
    pm = get_plugin_manager()
    conf = scratch / "conf"
    deploy_database(url, conf, management_key=MANAGEMENT_KEY, database_key=DATABASE_KEY, pm=pm)
    apikey, secretkey = register_admin_keys(url, DATABASE_KEY, pm=pm)
    runtime = Runtime.for_url(url, DATABASE_KEY, pm=pm)
    try:
        yield conf, runtime, apikey, secretkey
    finally:
        runtime.close()


def _database_server_pid(url: str | None) -> int | None:
    """The local mariadbd/mysqld, whose CPU is the server's too (``--url`` only)."""
    if url is None or make_url(url).get_backend_name() == "sqlite":
        return None
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError):
            if entry.name.isdigit() and (entry / "comm").read_text().strip() in (
                "mariadbd",
                "mysqld",
            ):
                return int(entry.name)
    return None


# ---- measuring ---------------------------------------------------------------------------


def _block(server: Server, query: str, requests: int, database: int | None) -> tuple[float, float]:
    """CPU seconds per request over ``requests`` GETs of ``query``: the worker's, and
    the database server's (0 without one)."""
    worker = server.cpu_seconds()
    db = _process_cpu(database) if database else 0.0
    for _ in range(requests):
        status, _, _ = _get(server.port, query)
        if status != 200:
            raise SystemExit(f"{server.name}: HTTP {status} for {query[:60]}")
    worker = server.cpu_seconds() - worker
    db = (_process_cpu(database) if database else 0.0) - db
    return worker / requests, db / requests


def _signed(command: str, params: list[tuple[str, str]], apikey: str, secretkey: str) -> str:
    wire = sign([("command", command), *params, ("response", "json")], apikey, secretkey)
    return urllib.parse.urlencode(wire)


def _finished_job(runtime: Runtime, port: int, apikey: str, secretkey: str) -> str:
    """The id of a finished ``deleteDomain`` job, run here by the job worker code."""
    status, _, body = _get(port, _signed("createDomain", [("name", "bench")], apikey, secretkey))
    assert status == 200, body
    domain = json.loads(body)["createdomainresponse"]["domain"]["id"]
    query = _signed("deleteDomain", [("id", domain)], apikey, secretkey)
    status, _, body = _get(port, query)
    assert status == 200, body
    jobid = str(json.loads(body)["deletedomainresponse"]["jobid"])
    run_pending(runtime, CommandRegistry.build(runtime.pm))
    return jobid


def _quartiles(values: list[float]) -> tuple[float, float]:
    if len(values) < 2:
        return values[0], values[0]
    q1, _, q3 = statistics.quantiles(values, n=4)
    return q1, q3


def _machine() -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "gunicorn": version("gunicorn"),
        "falcon": version("falcon"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--url", help="an EMPTY MariaDB/MySQL database to migrate and use")
    parser.add_argument("--blocks", type=int, default=12, help="measured blocks per server")
    parser.add_argument("--requests", type=int, default=300, help="requests per block")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        scratch = Path(temporary)
        with _deployment(scratch, args.url) as (conf, runtime, apikey, secretkey):
            environment = {**os.environ, "CUMULO_CONF_DIR": str(conf)}
            servers = [_start("cumulo", "cumulo_api.wsgi:application", environment)]
            try:
                ours = servers[0]
                jobid = _finished_job(runtime, ours.port, apikey, secretkey)
                cases = {
                    "listAccounts": [("listall", "true")],
                    "queryAsyncJobResult": [("jobid", jobid)],
                }
                payloads = {}
                for command, params in cases.items():
                    query = _signed(command, params, apikey, secretkey)
                    status, kind, body = _get(ours.port, query)
                    assert status == 200, body
                    payloads[command] = (kind, body.decode("utf-8"))
                (scratch / "payloads.json").write_text(json.dumps(payloads))
                environment[PAYLOADS_ENV] = str(scratch / "payloads.json")
                url = args.url or f"sqlite:///{scratch / 'cloud.db'}"
                environment[FLOOR_ENV] = json.dumps(
                    {"url": url, "apikey": apikey, "secretkey": secretkey}
                )
                servers.append(_start("bare", "api_overhead:bare_app()", environment))
                servers.append(_start("floor", "api_overhead:floor_app()", environment))
                database = _database_server_pid(args.url)
                statements = _statements(runtime, cases, apikey, secretkey)
                for command, params in cases.items():
                    measured = _measure(command, params, servers, database, args, apikey, secretkey)
                    print(
                        json.dumps({**measured, "sql_statements": statements[command]}), flush=True
                    )
            finally:
                for server in servers:
                    _stop(server)


def _statements(
    runtime: Runtime, cases: dict[str, list[tuple[str, str]]], apikey: str, secretkey: str
) -> dict[str, int]:
    """SQL statements one request of each case costs (deterministic: counted in process
    on the same application, with a ``before_cursor_execute`` listener)."""
    client = falcon.testing.TestClient(create_app(runtime))
    executed = 0

    def count(*_: object) -> None:
        nonlocal executed
        executed += 1

    event.listen(runtime.engine, "before_cursor_execute", count)
    try:
        counts = {}
        for command, params in cases.items():
            query = _signed(command, params, apikey, secretkey)
            for _ in range(2):  # the second request counts: nothing is cold any more
                executed = 0
                answer = client.simulate_get("/client/api", query_string=query)
                assert answer.status_code == 200, answer.text
            counts[command] = executed
    finally:
        event.remove(runtime.engine, "before_cursor_execute", count)
    return counts


def _measure(
    command: str,
    params: list[tuple[str, str]],
    servers: list[Server],
    database: int | None,
    args: argparse.Namespace,
    apikey: str,
    secretkey: str,
) -> dict[str, Any]:
    """Interleave ``command`` on cumulo, the bare app and the floor (in that list's
    order, then reversed: ABCCBA...); the JSON line's fields (no statements)."""
    requests = {server.name: args.requests for server in servers}
    spent_by: dict[str, list[float]] = {server.name: [] for server in servers}
    database_share: list[float] = []
    for index in range(args.blocks + 1):  # block 0 warms the servers up
        # Signed afresh per block so that expires never runs out on a slow machine.
        query = _signed(command, params, apikey, secretkey)
        order = servers if index % 2 == 0 else servers[::-1]
        measured = {s.name: _block(s, query, requests[s.name], database) for s in order}
        # Server CPU: the worker's plus, with MariaDB/MySQL, the database server's.
        spent = {name: worker + db for name, (worker, db) in measured.items()}
        if index == 0:
            # /proc counts in clock ticks (10 ms): give the cheaper apps proportionally
            # more requests so that every side of a block spans as many ticks.
            for name in requests:
                scale = spent["cumulo"] / max(spent[name], 1e-9)
                requests[name] = args.requests * min(max(round(scale), 1), MAX_BARE_SCALE)
            continue
        for name, value in spent.items():
            spent_by[name].append(value)
        database_share.append(measured["cumulo"][1])
    ratios = _block_ratios(spent_by, "cumulo", "bare")
    floor = _block_ratios(spent_by, "floor", "bare")
    to_floor = _block_ratios(spent_by, "cumulo", "floor")
    median = statistics.median(ratios)
    return {
        "bench": "api_overhead",
        "case": command,
        "backend": make_url(args.url).get_backend_name() if args.url else "sqlite",
        "cpu_us_per_request_ours": _us(spent_by["cumulo"]),
        "cpu_us_per_request_bare": _us(spent_by["bare"]),
        "cpu_us_per_request_floor": _us(spent_by["floor"]),
        "of_which_database_server_us": _us(database_share),
        "ratio_median": round(median, 3),
        "ratio_iqr": [round(q, 3) for q in _quartiles(ratios)],
        "floor_ratio_median": round(statistics.median(floor), 3),
        "floor_ratio_iqr": [round(q, 3) for q in _quartiles(floor)],
        "ratio_to_floor_median": round(statistics.median(to_floor), 3),
        "target": TARGET,
        "meets_target": median <= TARGET,
        "blocks": args.blocks,
        "requests_per_block": requests,  # per server
        "includes_database_server_cpu": database is not None,
        "machine": _machine(),
    }


def _block_ratios(spent: dict[str, list[float]], ours: str, base: str) -> list[float]:
    return [a / max(b, 1e-9) for a, b in zip(spent[ours], spent[base], strict=True)]


def _us(values: list[float]) -> int:
    return round(statistics.median(values) * 1e6)


if __name__ == "__main__":
    main()
