"""A deployment as ``cloudstack-setup-databases`` leaves one, for tests that start the
real management server (``cumulo serve``) or other processes reading ``db.properties``.

:func:`deploy_database` migrates and seeds an existing, empty database and writes the
configuration directory: ``db.properties`` with ``ENC()`` secrets and the
management-server key file (encryption type ``file``). :func:`register_admin_keys`
then gives the seeded ``admin`` user API keys, so that a test can sign requests.

The database URL is a SQLite file or a MariaDB/MySQL (or PostgreSQL) database, for
example the ``database_url`` fixture's; creating and dropping the database itself is
the caller's business.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pluggy
from sqlalchemy import make_url, select

from cumulo.accounts.models import User
from cumulo.auth.keys import register_user_keys
from cumulo.crypto import DEFAULT_ALGORITHM
from cumulo.db.engine import backend_name
from cumulo.db.migrate import upgrade
from cumulo.runtime import Runtime
from cumulo.settings import DbProperties
from cumulo.setup.publish import publish
from cumulo.setup.seed import ADMIN, seed_cloud

__all__ = ["database_properties", "deploy_database", "register_admin_keys"]


def database_properties(url: str, *, management_key: str, database_key: str) -> DbProperties:
    """The ``db.properties`` pointing at ``url``, secrets encrypted with ``management_key``.

    SQLite: ``db.cloud.name`` is the database file; the usage database is
    ``cloud_usage.db`` beside it. A server: host, port, user and password come from the
    URL (defaults ``127.0.0.1``, the driver's port, ``root``, no password), and the usage
    database is the same database as the cloud one, since tests create no other.

    :raises cumulo.db.engine.DatabaseConfigurationError: ``url`` is not a URL of a
        supported back end.
    """
    parsed = make_url(url)
    driver = backend_name(parsed)
    if driver == "sqlite":
        return DbProperties.for_database(
            management_key=management_key,
            database_key=database_key,
            driver="sqlite",
            name=str(parsed.database),
        )
    return DbProperties.for_database(
        management_key=management_key,
        database_key=database_key,
        driver=driver,
        host=parsed.host or "127.0.0.1",
        port=parsed.port,
        username=parsed.username or "root",
        password=parsed.password if isinstance(parsed.password, str) else "",
        name=str(parsed.database),
        usage_name=str(parsed.database),
    )


def deploy_database(
    url: str,
    conf: Path,
    *,
    management_key: str,
    database_key: str,
    pm: pluggy.PluginManager | None = None,
    settings: Mapping[str, str] | None = None,
) -> DbProperties:
    """Migrate and seed the empty database ``url``, then publish ``conf``.

    What a successful ``cumulo setup-databases`` leaves behind: the schema of the core
    and of every plugin of ``pm`` (default: the installed plugins, entry points loaded,
    as ``cumulo serve`` will see them), the seeded cloud (ROOT domain, system and
    ``admin`` accounts, admin password ``password``) with secrets encrypted with
    ``database_key``, and in ``conf`` (created if missing) the key file holding
    ``management_key`` and ``db.properties`` (see :func:`database_properties`).

    :param settings: configuration values (``name -> value``) stored in the seeding
        transaction, as an operator would set them before the first start.
    :return: the ``db.properties`` written.
    :raises cumulo.setup.errors.SetupError: ``conf`` cannot be written.
    """
    runtime = Runtime.for_url(url, database_key, pm=pm)
    try:
        upgrade(url, runtime.pm)
        with runtime.sessions.begin() as session:
            seed_cloud(session, database_key, DEFAULT_ALGORITHM)
            session.flush()
            store = runtime.config_store(session)
            for name, value in (settings or {}).items():
                store.set(name, value)
    finally:
        runtime.close()
    properties = database_properties(url, management_key=management_key, database_key=database_key)
    publish(conf, properties, management_key)
    return properties


def register_admin_keys(
    url: str, database_key: str, *, pm: pluggy.PluginManager | None = None
) -> tuple[str, str]:
    """Register a fresh ``(apikey, secretkey)`` pair for the seeded ``admin`` user of
    the deployed database ``url`` (committed) and return it."""
    runtime = Runtime.for_url(url, database_key, pm=pm)
    try:
        with runtime.sessions.begin() as session:
            admin = session.scalars(select(User).where(User.username == ADMIN)).one()
            return register_user_keys(session, admin, database_key, DEFAULT_ALGORITHM)
    finally:
        runtime.close()
