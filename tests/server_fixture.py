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
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from sqlalchemy import Engine

from cumulo.testing.database import configured_server_url
from cumulo.testing.deployment import deploy_database
from cumulo_api.testing_server import ServeProcess

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


# ---- the database ----------------------------------------------------------------------


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


# ---- the admin's keys, over HTTP -------------------------------------------------------


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
    with _database(scratch, cumulo_database_server) as url:
        deploy_database(url, conf, management_key=MANAGEMENT_KEY, database_key=DATABASE_KEY)
        server = ServeProcess(
            log=scratch / "serve.log",
            env={"CUMULO_CONF_DIR": str(conf)},
            start_timeout=START_TIMEOUT,
        )
        try:
            server.wait_until_healthy()
            user_id, apikey, secretkey = _register_admin_keys(server.api_url)
            yield LiveServer(
                server.api_url,
                server.host,
                server.port,
                apikey,
                secretkey,
                admin_user_id=user_id,
                conf_dir=conf,
                log=server.log,
            )
        finally:
            server.stop(STOP_TIMEOUT)
