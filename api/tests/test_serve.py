"""``cumulo serve`` as an operator runs it: real processes, real HTTP, real database.

A deployment is written the way ``setup-databases`` leaves one (migrated and seeded
database, ``db.properties`` with ``ENC()`` secrets, the key file), a throwaway plugin
distribution contributes an async ``testSleep`` command, and the real ``cumulo``
console script is started in its own process group. SQLite or MariaDB, as
``CUMULO_TEST_DB`` says.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from sqlalchemy import select

from cumulo.jobs.models import AsyncJob, ManagementServerHost
from cumulo.runtime import Runtime
from cumulo.testing.deployment import deploy_database, register_admin_keys
from cumulo_api.testing_server import (
    BLOCKING_JOB_MARKS_ENV,
    COMPACT_ARGS,
    ServeProcess,
    cumulo_executable,
    free_port,
    http_get,
)

MANAGEMENT_KEY = "serve-test-management-key"
DATABASE_KEY = "serve-test-database-key"
START_TIMEOUT = 60.0


@dataclass
class Deployment:
    """A configured management-server deployment and the admin's API keys."""

    url: str
    conf: Path
    marks: Path
    plugins: Path
    keys: tuple[str, str]

    def runtime(self) -> Runtime:
        return Runtime.for_url(self.url, DATABASE_KEY)

    def serve(self, log: Path, *args: str) -> ServeProcess:
        """A small ``cumulo serve`` of this deployment, with the test plugin; started,
        waited for as a context manager."""
        return ServeProcess(
            *COMPACT_ARGS,
            *args,
            log=log,
            env={"CUMULO_CONF_DIR": str(self.conf), BLOCKING_JOB_MARKS_ENV: str(self.marks)},
            python_path=[self.plugins],
            keys=self.keys,
            start_timeout=START_TIMEOUT,
        )


def deploy(url: str, root: Path, plugins: Path, config: dict[str, str]) -> Deployment:
    """Migrate and seed ``url``, set ``config``, write the configuration directory."""
    conf = root / "conf"
    deploy_database(
        url, conf, management_key=MANAGEMENT_KEY, database_key=DATABASE_KEY, settings=config
    )
    keys = register_admin_keys(url, DATABASE_KEY)
    marks = root / "marks"
    marks.mkdir()
    return Deployment(url, conf, marks, plugins, keys)


@pytest.fixture
def deployment(database_url: str, tmp_path: Path, blocking_job_plugin: Path) -> Deployment:
    return deploy(database_url, tmp_path, blocking_job_plugin, {})


def wait_for_job(server: ServeProcess, job: str, timeout: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, answer = server.call("queryAsyncJobResult", jobid=job)
        assert status == 200, answer
        if answer["jobstatus"] != 0:
            return answer
        time.sleep(0.1)
    pytest.fail(f"job {job} still in progress after {timeout:g} s:\n{server.tail()}")


# ---- tests -------------------------------------------------------------------------------------


def test_serve_answers_the_api_runs_jobs_and_stops_cleanly(
    deployment: Deployment, tmp_path: Path
) -> None:
    with deployment.serve(tmp_path / "serve.log") as server:
        assert http_get(f"{server.base}/healthz") == (200, b'{"status":"ok"}')
        status, answer = server.call("listAsyncJobs")
        assert (status, answer) == (200, {})
        status, answer = server.call("testSleep", seconds=0)
        assert status == 200 and list(answer) == ["jobid"]
        done = wait_for_job(server, answer["jobid"])
        assert (done["jobstatus"], done["jobresultcode"]) == (1, 0)
        worker_pid = done["jobresult"]["sleep"]["pid"]
        assert worker_pid != server.process.pid  # jobs run in the worker process
        status, answer = server.call("listAsyncJobs")
        assert answer["count"] == 1 and answer["asyncjobs"][0]["jobid"] == done["jobid"]
        runtime = deployment.runtime()
        try:
            with runtime.sessions() as session:
                (row,) = session.scalars(select(ManagementServerHost)).all()
                assert row.state == "Up"
            assert server.terminate() == 0
            assert not server.group_alive(), "a child outlived cumulo serve"
            with runtime.sessions() as session:
                assert session.scalar(select(ManagementServerHost.state)) == "Down"
        finally:
            runtime.close()
    assert "job worker" in server.tail()


def test_the_integration_port_is_local_and_runs_as_the_system_account(
    database_url: str, tmp_path: Path, blocking_job_plugin: Path
) -> None:
    port = free_port()
    deployment = deploy(
        database_url, tmp_path, blocking_job_plugin, {"integration.api.port": str(port)}
    )
    with deployment.serve(tmp_path / "serve.log") as server:
        base = f"http://127.0.0.1:{port}/client/api"
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                status, body = http_get(f"{base}?command=testSleep&seconds=0&response=json")
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"integration port never answered:\n{server.tail()}")
                time.sleep(0.2)
        assert status == 200, body
        job = json.loads(body)["testsleepresponse"]["jobid"]
        assert wait_for_job(server, job)["jobstatus"] == 1
        runtime = deployment.runtime()
        try:
            with runtime.sessions() as session:
                owner = session.execute(
                    select(AsyncJob.user_id, AsyncJob.account_id).where(AsyncJob.uuid == job)
                ).one()
        finally:
            runtime.close()
        assert tuple(owner) == (1, 1)  # the system user and account
        assert listening_addresses(port) == {"127.0.0.1"}
        unsigned = http_get(f"{server.base}/client/api?command=listAsyncJobs&response=json")
        assert unsigned[0] == 401  # the public port still wants a signature
    assert "integration API listens on 127.0.0.1" in server.tail()


def listening_addresses(port: int) -> set[str]:
    """Local addresses with a TCP socket listening on ``port`` (Linux /proc)."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, hex_port = local.split(":")
        if state == "0A" and int(hex_port, 16) == port:
            found.add(socket.inet_ntoa(bytes.fromhex(address)[::-1]))
    return found


def test_serve_refuses_a_missing_configuration(tmp_path: Path) -> None:
    done = subprocess.run(
        [cumulo_executable(), "serve"],
        env={**os.environ, "CUMULO_CONF_DIR": str(tmp_path / "nowhere")},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "db.properties not found" in done.stderr


def test_serve_embedded_creates_the_deployment_and_admin_can_log_in(tmp_path: Path) -> None:
    """The README's run command (``./dev run`` is ``cumulo serve --embedded``)."""
    with ServeProcess(
        "--embedded",
        "--workers",
        "1",
        log=tmp_path / "serve.log",
        env={"CUMULO_CONF_DIR": str(tmp_path / "conf")},
        start_timeout=START_TIMEOUT,
    ) as server:
        base = server.base
        assert (tmp_path / "data" / "cloud.db").exists()
        jar = http.cookiejar.CookieJar()
        browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        form = urlencode(
            {"command": "login", "username": "admin", "password": "password", "response": "json"}
        ).encode()
        with browser.open(f"{base}/client/api", data=form, timeout=30) as answer:
            login = json.loads(answer.read())["loginresponse"]
        assert login["username"] == "admin" and {c.name for c in jar} == {"JSESSIONID"}
        listed = f"{base}/client/api?command=listAsyncJobs&response=json"
        with browser.open(f"{listed}&sessionkey={quote(login['sessionkey'])}") as answer:
            assert json.loads(answer.read()) == {"listasyncjobsresponse": {}}
        with pytest.raises(urllib.error.HTTPError) as refused:
            browser.open(listed)  # the cookie alone is not enough
        assert refused.value.code == 401
        assert server.terminate(60) == 0
    assert "Successfully initialized the database." in server.log.read_text()
