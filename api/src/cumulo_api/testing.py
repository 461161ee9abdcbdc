"""The ``cumulo_api`` pytest plugin (entry point ``pytest11``): an API over a real
database, for the API's own tests and for any plugin contributing commands.

Fixtures:

- ``runtime``: a :class:`cumulo.runtime.Runtime` on a migrated and seeded database
  (``migrated_database_url`` of the core's plugin, so SQLite or MariaDB as
  ``CUMULO_TEST_DB`` says), with the ``plugin_manager`` fixture's plugins plus this
  distribution's hook module; events are published after commit;
- ``api``: a ``falcon.testing.TestClient`` on ``create_app(runtime)``;
- ``admin_keys``: an ``(apikey, secretkey)`` pair registered for the seeded ``admin``;
- ``blocking_job_plugin``: the directory of a throwaway distribution contributing the
  async ``testSleep`` command that blocks until released
  (:data:`cumulo_api.testing_server.BLOCKING_JOB_PLUGIN`), for real ``cumulo serve``
  processes started with :class:`cumulo_api.testing_server.ServeProcess`.

Helper: :func:`signed_request` signs a request exactly as CloudStack 4.1 verifies it
(api-reference.md §a) and sends it through a test client. A plugin's tests override
``plugin_manager`` to register their plugin; its commands then answer over ``api``.

pytest loads this module in every test session of an environment where cumulo-api is
installed, so the application itself is imported only when a fixture is used.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import falcon.testing
import pluggy
import pytest
from sqlalchemy import select

from cumulo.runtime import Runtime

__all__ = [
    "TEST_DATABASE_KEY",
    "admin_keys",
    "api",
    "blocking_job_plugin",
    "java_url_encode",
    "runtime",
    "sign",
    "signed_request",
]

TEST_DATABASE_KEY = "cumulo-test-database-key"
"""The database key of the ``runtime`` fixture's cloud."""


@pytest.fixture
def runtime(migrated_database_url: str, plugin_manager: pluggy.PluginManager) -> Iterator[Runtime]:
    """A runtime on a freshly migrated and seeded database (ROOT, system, admin)."""
    import cumulo_api.plugin
    from cumulo.setup.seed import seed_cloud
    from cumulo_api.dispatch import install_event_publishing

    if not plugin_manager.is_registered(cumulo_api.plugin):
        plugin_manager.register(cumulo_api.plugin, name="api")
    built = Runtime.for_url(migrated_database_url, TEST_DATABASE_KEY, pm=plugin_manager)
    with built.sessions() as session:
        seed_cloud(session, built.database_key, built.algorithm)
        session.commit()
    install_event_publishing(built)
    try:
        yield built
    finally:
        built.close()


@pytest.fixture
def api(runtime: Runtime) -> falcon.testing.TestClient:
    """A test client on the API application of ``runtime``."""
    from cumulo_api.app import create_app

    return falcon.testing.TestClient(create_app(runtime))


@pytest.fixture
def admin_keys(runtime: Runtime) -> tuple[str, str]:
    """``(apikey, secretkey)`` freshly registered for the seeded ``admin`` user."""
    from cumulo.accounts.models import User
    from cumulo.auth.keys import register_user_keys
    from cumulo.setup.seed import ADMIN

    with runtime.sessions() as session:
        admin = session.scalars(select(User).where(User.username == ADMIN)).one()
        keys = register_user_keys(session, admin, runtime.database_key, runtime.algorithm)
        session.commit()
    return keys


@pytest.fixture
def blocking_job_plugin(make_distribution: Callable[..., Path]) -> Path:
    """:func:`cumulo_api.testing_server.write_blocking_job_plugin` for this test."""
    from cumulo_api.testing_server import write_blocking_job_plugin

    return write_blocking_job_plugin(make_distribution)


def java_url_encode(value: str) -> str:
    """``URLEncoder.encode(value, "UTF-8")`` with ``+`` turned into ``%20``, as 4.1's
    canonical string has it: only ``a-z A-Z 0-9 . - * _`` stay as they are (so ``~`` is
    ``%7E``), hex digits upper-case."""
    return quote(value, safe="-_.*").replace("~", "%7E")


def sign(params: dict[str, str], secret_key: str) -> str:
    """The signature 4.1 expects for ``params`` (which must not contain ``signature``).

    Names sorted case-sensitively as received, ``name=encoded value`` joined with
    ``&``, the whole string lower-cased, HMAC-SHA1 keyed with the secret key, standard
    Base64 (CS41:server/src/com/cloud/api/ApiServer.java ``verifyRequest``).
    """
    canonical = "&".join(f"{name}={java_url_encode(params[name])}" for name in sorted(params))
    digest = hmac.new(
        secret_key.encode("utf-8"), canonical.lower().encode("utf-8"), hashlib.sha1
    ).digest()
    return base64.b64encode(digest).decode("ascii")


def signed_request(
    client: falcon.testing.TestClient, keys: tuple[str, str], command: str, **params: Any
) -> falcon.testing.Result:
    """Send ``command`` with ``params`` signed with ``keys`` (GET, ``response=json``
    unless ``response`` is given). Values are sent as ``str(value)``; booleans as
    ``true``/``false``; ``None`` values are left out."""
    api_key, secret_key = keys
    wire = {
        name: ("true" if value else "false") if isinstance(value, bool) else str(value)
        for name, value in params.items()
        if value is not None
    }
    wire.setdefault("response", "json")
    wire.update(command=command, apiKey=api_key)
    wire["signature"] = sign(wire, secret_key)
    return client.simulate_get("/client/api", query_string=urlencode(wire, quote_via=quote))
