"""A job whose worker is killed mid-run ends failed with a clear message — never stuck
in progress — whether the job worker alone dies (``cumulo serve`` restarts it under the
same msid) or the whole management server does (another server takes over once the
heartbeat threshold has passed).

Real ``cumulo serve`` processes over real HTTP, on SQLite or MariaDB as
``CUMULO_TEST_DB`` says; a throwaway plugin distribution contributes an async
``testSleep`` command that blocks until the test lets it go.
"""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from cumulo.jobs.models import ManagementServerHost
from cumulo.runtime import Runtime
from cumulo.testing.deployment import deploy_database, register_admin_keys
from cumulo_api.testing_server import BLOCKING_JOB_MARKS_ENV, COMPACT_ARGS, ServeProcess

MANAGEMENT_KEY = "takeover-test-management-key"
DATABASE_KEY = "takeover-test-database-key"
TIMEOUT = 60.0
# Short heartbeats so that a dead server is noticed within seconds, not 150 s.
FAST_HEARTBEAT = {"cluster.heartbeat.interval": "300", "cluster.heartbeat.threshold": "2000"}
MESSAGE = re.compile(
    r"^the management server \S+ \((\d+)\) stopped while running this job; "
    r"the job was not completed$"
)


# ---- a deployment and its servers ------------------------------------------------------------


class Cloud:
    """A configured deployment: database, configuration directory, admin keys."""

    def __init__(self, url: str, root: Path, plugins: Path) -> None:
        self.url, self.root, self.plugins = url, root, plugins
        self.conf, self.marks = root / "conf", root / "marks"
        self.marks.mkdir()
        deploy_database(
            url,
            self.conf,
            management_key=MANAGEMENT_KEY,
            database_key=DATABASE_KEY,
            settings=FAST_HEARTBEAT,
        )
        self.keys = register_admin_keys(url, DATABASE_KEY)

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
    """A ``cumulo serve`` of ``cloud`` in a process group of its own, healthy."""

    def __init__(self, cloud: Cloud, name: str) -> None:
        self.cloud = cloud
        self.serve = ServeProcess(
            *COMPACT_ARGS,
            log=cloud.root / f"{name}.log",
            env={"CUMULO_CONF_DIR": str(cloud.conf), BLOCKING_JOB_MARKS_ENV: str(cloud.marks)},
            python_path=[cloud.plugins],
            keys=cloud.keys,
            start_timeout=TIMEOUT,
        )
        self.process = self.serve.process
        try:
            self.serve.wait_until_healthy()
        except BaseException:
            self.serve.stop()
            raise

    @property
    def msid(self) -> int:
        found = re.search(r"\(management server (\d+)\)", self.serve.log.read_text())
        assert found, self.tail()
        return int(found.group(1))

    def tail(self) -> str:
        return self.serve.tail()

    def call(self, command: str, **params: Any) -> dict[str, Any]:
        status, envelope = self.serve.call(command, **params)
        if status != 200:
            pytest.fail(f"{command}: {status} {envelope!r}")
        return envelope

    def kill(self) -> None:
        """kill -9 the whole server: supervisor, gunicorn and job worker."""
        self.serve.kill()


@pytest.fixture
def cloud(database_url: str, tmp_path: Path, blocking_job_plugin: Path) -> Cloud:
    return Cloud(database_url, tmp_path, blocking_job_plugin)


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
