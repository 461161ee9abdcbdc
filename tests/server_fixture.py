"""A real cumulo management server for client tests: ``cumulo serve`` over real HTTP.

The ``live_server`` fixture (session scope) builds a deployment the way an operator's
would look: a migrated and seeded database (a SQLite file, or a fresh MariaDB/MySQL
database on the ``CUMULO_TEST_DB`` server), a ``db.properties`` with ``ENC()`` secrets
and the management-server key file in a temporary ``CUMULO_CONF_DIR``. It then starts
``cumulo serve`` (gunicorn plus the job worker) on a free 127.0.0.1 port, waits for
``/healthz``, and registers the admin's API keys *over HTTP*: ``login`` as
admin/password, ``listUsers`` and ``registerUserKeys`` with the session key, ``logout``.
The fixture talks to the server with ``requests``, not with the client under test, so
that a bug in ``cumulo api`` cannot hide behind its own fixture.

Test modules use it with ``pytest_plugins = ("server_fixture",)``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from sqlalchemy import Engine, make_url

from cumulo.crypto import DEFAULT_ALGORITHM
from cumulo.db import migrate
from cumulo.db.engine import create_engine, session_factory
from cumulo.plugins import get_plugin_manager
from cumulo.settings import DbProperties
from cumulo.setup.publish import publish
from cumulo.setup.seed import seed_cloud
from cumulo.testing.database import configured_server_url

MANAGEMENT_KEY = "client-tests-management-key"
DATABASE_KEY = "client-tests-database-key"
ADMIN_PASSWORD = "password"  # what a fresh cloud's admin has (seed_cloud)
START_TIMEOUT = 90.0
STOP_TIMEOUT = 30.0


@dataclass(frozen=True)
class LiveServer:
    """A running ``cumulo serve`` and the admin keys registered on it.

    :param url: the API endpoint, ``http://127.0.0.1:<port>/client/api``.
    :param apikey: the seeded admin user's API key.
    :param secretkey: its secret key.
    :param admin_user_id: the admin user's uuid.
    :param conf_dir: the deployment's ``CUMULO_CONF_DIR``.
    :param log: the server's combined output (read it when a test fails).
    """

    url: str
    host: str
    port: int
    apikey: str
    secretkey: str = field(repr=False)
    admin_user_id: str = ""
    conf_dir: Path = Path()
    log: Path = Path()

    @property
    def base(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://{self.host}:{self.port}"


def free_port() -> int:
    """A TCP port nobody listens on right now (the kernel's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cumulo_executable() -> str:
    """The ``cumulo`` console script of the interpreter running the tests."""
    return str(Path(sys.executable).with_name("cumulo"))


# ---- the database and the configuration directory --------------------------------------


@contextlib.contextmanager
def _database(scratch: Path, server: Engine | None) -> Iterator[str]:
    """A fresh empty database URL: a SQLite file, or ``cumulo_c_<hex>`` on the server."""
    if server is None:
        yield f"sqlite:///{scratch / 'cloud.db'}"
        return
    name = "cumulo_c_" + uuid.uuid4().hex[:16]
    with server.connect() as connection:
        connection.exec_driver_sql(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    configured = configured_server_url()
    assert configured is not None
    try:
        yield configured.set(database=name).render_as_string(hide_password=False)
    finally:
        with server.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS `{name}`")


def _deploy(url: str, conf: Path) -> None:
    """Migrate and seed ``url`` as ``setup-databases`` does; write ``db.properties``."""
    pm = get_plugin_manager()
    migrate.upgrade(url, pm)
    engine = create_engine(url)
    try:
        with session_factory(engine)() as session, session.begin():
            seed_cloud(session, DATABASE_KEY, DEFAULT_ALGORITHM)
    finally:
        engine.dispose()
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        properties = DbProperties.for_database(
            management_key=MANAGEMENT_KEY,
            database_key=DATABASE_KEY,
            driver="sqlite",
            name=str(parsed.database),
            usage_name=str(conf.parent / "cloud_usage.db"),
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
            usage_name=str(parsed.database),
        )
    publish(conf, properties, MANAGEMENT_KEY)


# ---- the server process ----------------------------------------------------------------


def _wait_until_healthy(process: subprocess.Popen[bytes], base: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"cumulo serve exited with {process.returncode}:\n{_tail(log)}")
        with contextlib.suppress(requests.RequestException):
            if requests.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    pytest.fail(f"cumulo serve did not answer /healthz in {START_TIMEOUT:g} s:\n{_tail(log)}")


def _tail(log: Path, lines: int = 60) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM (what an operator's service manager sends), then SIGKILL the process
    group this fixture created if it has not stopped in time."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=STOP_TIMEOUT)
    # Whatever is left of the group started for this server (gunicorn workers, the job
    # worker) goes too; the group id is this fixture's own child's pid.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=5)


def _register_admin_keys(api: str) -> tuple[str, str, str]:
    """Log in as admin over HTTP and register its API keys; returns (id, key, secret)."""
    with requests.Session() as http:
        answer = http.post(
            api,
            data={
                "command": "login",
                "username": "admin",
                "password": ADMIN_PASSWORD,
                "domain": "/",
                "response": "json",
            },
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
        assert "JSESSIONID" in http.cookies, "login did not set the JSESSIONID cookie"
        sessionkey = answer.json()["loginresponse"]["sessionkey"]

        def call(command: str, **params: str) -> dict[str, object]:
            reply = http.get(
                api,
                params={"command": command, "sessionkey": sessionkey, "response": "json", **params},
                timeout=30,
            )
            assert reply.status_code == 200, f"{command}: {reply.status_code} {reply.text}"
            body = reply.json()
            assert list(body) == [f"{command.lower()}response"], body
            result: dict[str, object] = body[f"{command.lower()}response"]
            return result

        users = call("listUsers", username="admin", listall="true")["user"]
        assert isinstance(users, list) and len(users) == 1, users
        user_id = str(users[0]["id"])
        keys = call("registerUserKeys", id=user_id)["userkeys"]
        assert isinstance(keys, dict)
        call("logout")
    return user_id, str(keys["apikey"]), str(keys["secretkey"])


@pytest.fixture(scope="session")
def live_server(
    tmp_path_factory: pytest.TempPathFactory, cumulo_database_server: Engine | None
) -> Iterator[LiveServer]:
    """``cumulo serve`` on a seeded database with the admin's keys registered over HTTP."""
    scratch = tmp_path_factory.mktemp("live-server")
    conf = scratch / "conf"
    log = scratch / "serve.log"
    with _database(scratch, cumulo_database_server) as url:
        _deploy(url, conf)
        host, port = "127.0.0.1", free_port()
        environment = {**os.environ, "CUMULO_CONF_DIR": str(conf)}
        with log.open("wb") as output:
            process = subprocess.Popen(
                [cumulo_executable(), "serve", "--bind", f"{host}:{port}"],
                env=environment,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: teardown ends it all
            )
        try:
            base = f"http://{host}:{port}"
            _wait_until_healthy(process, base, log)
            api = f"{base}/client/api"
            user_id, apikey, secretkey = _register_admin_keys(api)
            yield LiveServer(api, host, port, apikey, secretkey, user_id, conf, log)
        finally:
            _stop(process)
