"""A job whose worker is killed mid-run ends failed with a clear message — never stuck
in progress — whether the job worker alone dies (``cumulo serve`` restarts it under the
same msid) or the whole management server does (another server takes over once the
heartbeat threshold has passed).

Real ``cumulo serve`` processes over real HTTP, on SQLite or MariaDB as
``CUMULO_TEST_DB`` says; a throwaway plugin distribution contributes an async
``testSleep`` command that blocks until the test lets it go.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from sqlalchemy import make_url, select

from cumulo.accounts.models import User
from cumulo.auth.keys import register_user_keys
from cumulo.crypto import DEFAULT_ALGORITHM
from cumulo.db import migrate
from cumulo.jobs.models import ManagementServerHost
from cumulo.plugins import get_plugin_manager
from cumulo.runtime import Runtime
from cumulo.settings import DbProperties
from cumulo.setup.publish import publish
from cumulo.setup.seed import seed_cloud
from cumulo_api.testing import sign

MANAGEMENT_KEY = "takeover-test-management-key"
DATABASE_KEY = "takeover-test-database-key"
TIMEOUT = 60.0
# Short heartbeats so that a dead server is noticed within seconds, not 150 s.
FAST_HEARTBEAT = {"cluster.heartbeat.interval": "300", "cluster.heartbeat.threshold": "2000"}
MESSAGE = re.compile(
    r"^the management server \S+ \((\d+)\) stopped while running this job; "
    r"the job was not completed$"
)

SLEEP_PLUGIN = '''
"""Test-only async command: marks that it started, then blocks until released."""
import os
import time
from pathlib import Path

from cumulo import hookimpl
from cumulo.sdk.api import ALL_ROLES, Command, ObjectResult, Param, ParamType


def sleep(call):
    marks = Path(os.environ["CUMULO_JOBTEST_DIR"])
    (marks / f"{call.job_uuid}.started").write_text(str(os.getpid()))
    deadline = time.monotonic() + (call.get("seconds") or 0)
    while time.monotonic() < deadline and not (marks / "release").exists():
        time.sleep(0.05)
    return ObjectResult("sleep", {"pid": os.getpid()})


@hookimpl
def cumulo_api_commands():
    return [
        Command(
            "testSleep",
            sleep,
            params=(Param("seconds", ParamType.INTEGER),),
            roles=ALL_ROLES,
            is_async=True,
            java_class="org.example.cumulo.test.SleepCmd",
        )
    ]
'''


# ---- a deployment and its servers ------------------------------------------------------------


class Cloud:
    """A configured deployment: database, configuration directory, admin keys."""

    def __init__(self, url: str, root: Path, plugins: Path) -> None:
        self.url, self.root, self.plugins = url, root, plugins
        self.conf, self.marks = root / "conf", root / "marks"
        self.marks.mkdir()
        migrate.upgrade(url, get_plugin_manager())
        runtime = Runtime.for_url(url, DATABASE_KEY)
        try:
            with runtime.sessions.begin() as session:
                seed_cloud(session, DATABASE_KEY, DEFAULT_ALGORITHM)
                session.flush()
                admin = session.scalars(select(User).where(User.username == "admin")).one()
                self.keys = register_user_keys(session, admin, DATABASE_KEY, DEFAULT_ALGORITHM)
                for name, value in FAST_HEARTBEAT.items():
                    runtime.config_store(session).set(name, value)
        finally:
            runtime.close()
        publish(self.conf, self._properties(), MANAGEMENT_KEY)

    def _properties(self) -> DbProperties:
        parsed = make_url(self.url)
        common: dict[str, Any] = {"management_key": MANAGEMENT_KEY, "database_key": DATABASE_KEY}
        if parsed.get_backend_name() == "sqlite":
            return DbProperties.for_database(
                **common,
                driver="sqlite",
                name=str(parsed.database),
                usage_name=str(self.root / "cloud_usage.db"),
            )
        return DbProperties.for_database(
            **common,
            driver="mysql",
            host=parsed.host or "127.0.0.1",
            port=parsed.port,
            username=parsed.username or "root",
            password=parsed.password if isinstance(parsed.password, str) else "",
            name=str(parsed.database),
        )

    def servers(self) -> dict[int, str]:
        """``mshost``: state by msid."""
        runtime = Runtime.for_url(self.url, DATABASE_KEY)
        try:
            with runtime.sessions() as session:
                rows = session.execute(
                    select(ManagementServerHost.msid, ManagementServerHost.state)
                )
                return {msid: state for msid, state in rows}
        finally:
            runtime.close()


class Server:
    """A ``cumulo serve`` in a process group of its own."""

    def __init__(self, cloud: Cloud, name: str) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self.cloud = cloud
        self.log = cloud.root / f"{name}.log"
        env = {
            **os.environ,
            "CUMULO_CONF_DIR": str(cloud.conf),
            "CUMULO_JOBTEST_DIR": str(cloud.marks),
            "PYTHONPATH": os.pathsep.join([str(cloud.plugins), os.environ.get("PYTHONPATH", "")]),
        }
        cumulo = str(Path(sys.executable).with_name("cumulo"))
        with self.log.open("wb") as output:
            self.process = subprocess.Popen(
                [cumulo, "serve", "--bind", f"127.0.0.1:{self.port}", "--workers", "1",
                 "--threads", "2", "--job-threads", "2"],
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        self._wait_until_healthy()

    def _wait_until_healthy(self) -> None:
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"cumulo serve exited with {self.process.returncode}:\n{self.tail()}")
            health = f"http://127.0.0.1:{self.port}/healthz"
            with contextlib.suppress(OSError), urllib.request.urlopen(health, timeout=5):
                return
            time.sleep(0.2)
        pytest.fail(f"cumulo serve did not become healthy:\n{self.tail()}")

    @property
    def msid(self) -> int:
        found = re.search(r"\(management server (\d+)\)", self.log.read_text())
        assert found, self.tail()
        return int(found.group(1))

    def tail(self) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-40:])

    def call(self, command: str, **params: Any) -> dict[str, Any]:
        wire = {name: str(value) for name, value in params.items()}
        wire.update(command=command, apiKey=self.cloud.keys[0], response="json")
        wire["signature"] = sign(wire, self.cloud.keys[1])
        url = f"http://127.0.0.1:{self.port}/client/api?{urlencode(wire, quote_via=quote)}"
        try:
            with urllib.request.urlopen(url, timeout=30) as answer:
                (envelope,) = json.loads(answer.read()).values()
        except urllib.error.HTTPError as error:
            pytest.fail(f"{command}: {error.code} {error.read()!r}")
        assert isinstance(envelope, dict)
        return envelope

    def kill(self) -> None:
        """kill -9 the whole server: supervisor, gunicorn and job worker."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(10)


@pytest.fixture
def cloud(database_url: str, tmp_path: Path, make_distribution: Callable[..., Path]) -> Cloud:
    plugins = make_distribution(
        "cumulo-sleeptest",
        modules={"cumulo_sleeptest": SLEEP_PLUGIN},
        entry_points={"cumulo.plugins": {"sleeptest": "cumulo_sleeptest"}},
    )
    return Cloud(database_url, tmp_path, plugins)


@pytest.fixture
def servers(cloud: Cloud) -> Iterator[list[Server]]:
    started: list[Server] = []
    yield started
    (cloud.marks / "release").touch()
    for server in started:
        server.kill()


def start_blocking_job(server: Server) -> tuple[str, int]:
    """Submit a job that blocks for a minute; wait until it runs; ``(jobid, pid)``."""
    job = str(server.call("testSleep", seconds=60)["jobid"])
    started = server.cloud.marks / f"{job}.started"
    deadline = time.monotonic() + TIMEOUT
    while not started.exists():
        if time.monotonic() > deadline:
            pytest.fail(f"job {job} never started:\n{server.tail()}")
        time.sleep(0.05)
    assert server.call("queryAsyncJobResult", jobid=job)["jobstatus"] == 0
    return job, int(started.read_text())


def wait_for_end(server: Server, job: str, timeout: float = TIMEOUT) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = server.call("queryAsyncJobResult", jobid=job)
        if answer["jobstatus"] != 0:
            return answer
        time.sleep(0.1)
    pytest.fail(f"job {job} is stuck in progress:\n{server.tail()}")


def assert_failed_by_stop(answer: dict[str, Any], msid: int) -> None:
    assert (answer["jobstatus"], answer["jobresultcode"], answer["jobresulttype"]) == (
        2,
        530,
        "object",
    )
    result = answer["jobresult"]
    assert list(result) == ["errorcode", "errortext"] and result["errorcode"] == 530
    found = MESSAGE.match(result["errortext"])
    assert found, result["errortext"]
    assert int(found.group(1)) == msid


# ---- tests -----------------------------------------------------------------------------------


def test_a_killed_job_worker_is_restarted_and_its_job_failed_at_once(
    cloud: Cloud, servers: list[Server]
) -> None:
    server = Server(cloud, "server")
    servers.append(server)
    job, worker = start_blocking_job(server)
    assert worker != server.process.pid
    os.kill(worker, signal.SIGKILL)
    # The supervisor restarts the worker under the same msid; registering again fails
    # what the killed run left, without waiting for the heartbeat threshold.
    assert_failed_by_stop(wait_for_end(server, job, timeout=20), server.msid)
    assert "the job worker exited with -9; restarting" in server.tail()
    # The restarted worker takes new jobs.
    (cloud.marks / "release").touch()
    again = str(server.call("testSleep", seconds=0)["jobid"])
    assert wait_for_end(server, again)["jobstatus"] == 1


def test_a_dead_servers_job_is_taken_over_by_another_server(
    cloud: Cloud, servers: list[Server]
) -> None:
    first = Server(cloud, "first")
    servers.append(first)
    job, _ = start_blocking_job(first)
    dead = first.msid
    first.kill()
    assert cloud.servers()[dead] == "Up"  # it had no chance to sign off
    second = Server(cloud, "second")
    servers.append(second)
    answer = wait_for_end(second, job)
    assert_failed_by_stop(answer, dead)
    assert cloud.servers() == {dead: "Down", second.msid: "Up"}
