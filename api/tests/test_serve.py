"""``cumulo serve`` as an operator runs it: real processes, real HTTP, real database.

A deployment is written the way ``setup-databases`` leaves one (migrated and seeded
database, ``db.properties`` with ``ENC()`` secrets, the key file), a throwaway plugin
distribution contributes an async ``testSleep`` command, and the real ``cumulo``
console script is started in its own process group. SQLite or MariaDB, as
``CUMULO_TEST_DB`` says.
"""

from __future__ import annotations

import contextlib
import http.cookiejar
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from sqlalchemy import make_url, select

from cumulo.accounts.models import User
from cumulo.auth.keys import register_user_keys
from cumulo.crypto import DEFAULT_ALGORITHM
from cumulo.db import migrate
from cumulo.db.engine import create_engine, session_factory
from cumulo.jobs.models import AsyncJob, ManagementServerHost
from cumulo.plugins import get_plugin_manager
from cumulo.runtime import Runtime
from cumulo.settings import DbProperties
from cumulo.setup.publish import publish
from cumulo.setup.seed import seed_cloud
from cumulo_api.testing import sign

MANAGEMENT_KEY = "serve-test-management-key"
DATABASE_KEY = "serve-test-database-key"
START_TIMEOUT = 60.0

JOBTEST_SOURCE = '''
"""Test-only async command: sleeps, leaving a mark when it starts."""
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
    return ObjectResult("sleep", {"seconds": call.get("seconds") or 0, "pid": os.getpid()})


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

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "CUMULO_CONF_DIR": str(self.conf),
            "CUMULO_JOBTEST_DIR": str(self.marks),
            "PYTHONPATH": os.pathsep.join([str(self.plugins), os.environ.get("PYTHONPATH", "")]),
        }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def deploy(url: str, root: Path, plugins: Path, config: dict[str, str]) -> Deployment:
    """Migrate and seed ``url``, set ``config``, write the configuration directory."""
    migrate.upgrade(url, get_plugin_manager())
    engine = create_engine(url)
    try:
        runtime = Runtime.for_url(url, DATABASE_KEY)
        with session_factory(engine).begin() as session:
            seed_cloud(session, DATABASE_KEY, DEFAULT_ALGORITHM)
            session.flush()
            admin = session.scalars(select(User).where(User.username == "admin")).one()
            keys = register_user_keys(session, admin, DATABASE_KEY, DEFAULT_ALGORITHM)
            for name, value in config.items():
                runtime.config_store(session).set(name, value)
        runtime.close()
    finally:
        engine.dispose()
    parsed = make_url(url)
    conf = root / "conf"
    if parsed.get_backend_name() == "sqlite":
        properties = DbProperties.for_database(
            management_key=MANAGEMENT_KEY,
            database_key=DATABASE_KEY,
            driver="sqlite",
            name=str(parsed.database),
            usage_name=str(root / "cloud_usage.db"),
        )
    else:
        properties = DbProperties.for_database(
            management_key=MANAGEMENT_KEY,
            database_key=DATABASE_KEY,
            driver="mysql",
            host=parsed.host or "127.0.0.1",
            port=parsed.port,
            username=parsed.username or "root",
            password=parsed.password if isinstance(parsed.password, str) else "",
            name=str(parsed.database),
        )
    publish(conf, properties, MANAGEMENT_KEY)
    marks = root / "marks"
    marks.mkdir()
    return Deployment(url, conf, marks, plugins, keys)


@pytest.fixture
def jobtest_plugin(make_distribution: Callable[..., Path]) -> Path:
    return make_distribution(
        "cumulo-jobtest",
        modules={"cumulo_jobtest": JOBTEST_SOURCE},
        entry_points={"cumulo.plugins": {"jobtest": "cumulo_jobtest"}},
    )


@pytest.fixture
def deployment(database_url: str, tmp_path: Path, jobtest_plugin: Path) -> Deployment:
    return deploy(database_url, tmp_path, jobtest_plugin, {})


# ---- the server process ------------------------------------------------------------------------


class Server:
    """A running ``cumulo serve``, in a process group of its own."""

    def __init__(self, deployment: Deployment, log: Path, *args: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        cumulo = str(Path(sys.executable).with_name("cumulo"))
        with log.open("ab") as output:
            self.process = subprocess.Popen(
                [cumulo, "serve", "--bind", f"127.0.0.1:{self.port}", "--workers", "1",
                 "--threads", "2", "--job-threads", "2", *args],
                env=deployment.env(),
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        self.keys = deployment.keys

    def wait_until_healthy(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"cumulo serve exited with {self.process.returncode}:\n{self.tail()}")
            with contextlib.suppress(OSError):
                if get(f"{self.base}/healthz")[0] == 200:
                    return
            time.sleep(0.2)
        pytest.fail(f"cumulo serve did not become healthy:\n{self.tail()}")

    def tail(self) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-40:])

    def call(self, command: str, **params: Any) -> tuple[int, dict[str, Any]]:
        """A signed API call as the admin; ``(status, envelope contents)``."""
        return signed_get(f"{self.base}/client/api", self.keys, command, **params)

    def stop(self, timeout: float = 60.0) -> int:
        """SIGTERM, as a service manager sends it; the exit status."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def kill(self) -> None:
        """Whatever is left of the process group goes."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(10)


@contextlib.contextmanager
def serving(deployment: Deployment, log: Path, *args: str) -> Iterator[Server]:
    server = Server(deployment, log, *args)
    try:
        server.wait_until_healthy()
        yield server
    finally:
        server.kill()


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as answer:
            return int(answer.status), answer.read()
    except urllib.error.HTTPError as error:
        return int(error.code), error.read()


def signed_get(
    url: str, keys: tuple[str, str], command: str, **params: Any
) -> tuple[int, dict[str, Any]]:
    wire = {name: str(value) for name, value in params.items()}
    wire.update(command=command, apiKey=keys[0], response="json")
    wire["signature"] = sign(wire, keys[1])
    status, body = get(f"{url}?{urlencode(wire, quote_via=quote)}")
    (envelope,) = json.loads(body).values()
    return status, envelope


def wait_for_job(server: Server, job: str, timeout: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, answer = server.call("queryAsyncJobResult", jobid=job)
        assert status == 200, answer
        if answer["jobstatus"] != 0:
            return answer
        time.sleep(0.1)
    pytest.fail(f"job {job} still in progress after {timeout:g} s:\n{server.tail()}")


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


# ---- tests -------------------------------------------------------------------------------------


def test_serve_answers_the_api_runs_jobs_and_stops_cleanly(
    deployment: Deployment, tmp_path: Path
) -> None:
    with serving(deployment, tmp_path / "serve.log") as server:
        assert get(f"{server.base}/healthz") == (200, b'{"status":"ok"}')
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
            assert server.stop() == 0
            assert not group_alive(server.process.pid), "a child outlived cumulo serve"
            with runtime.sessions() as session:
                assert session.scalar(select(ManagementServerHost.state)) == "Down"
        finally:
            runtime.close()
    assert "job worker" in server.tail()


def test_the_integration_port_is_local_and_runs_as_the_system_account(
    database_url: str, tmp_path: Path, jobtest_plugin: Path
) -> None:
    port = free_port()
    deployment = deploy(database_url, tmp_path, jobtest_plugin, {"integration.api.port": str(port)})
    with serving(deployment, tmp_path / "serve.log") as server:
        base = f"http://127.0.0.1:{port}/client/api"
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                status, body = get(f"{base}?command=testSleep&seconds=0&response=json")
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
        unsigned = get(f"{server.base}/client/api?command=listAsyncJobs&response=json")
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
    cumulo = str(Path(sys.executable).with_name("cumulo"))
    done = subprocess.run(
        [cumulo, "serve"],
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
    port = free_port()
    cumulo = str(Path(sys.executable).with_name("cumulo"))
    log = tmp_path / "serve.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [cumulo, "serve", "--embedded", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
            env={**os.environ, "CUMULO_CONF_DIR": str(tmp_path / "conf")},
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            with contextlib.suppress(OSError):
                if get(f"{base}/healthz")[0] == 200:
                    break
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
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
        process.send_signal(signal.SIGTERM)
        assert process.wait(60) == 0
    finally:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
    assert "Successfully initialized the database." in log.read_text()
