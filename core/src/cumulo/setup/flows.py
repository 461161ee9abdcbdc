"""The three ways ``setup-databases`` runs, each all-or-nothing.

- :func:`deploy_mysql` (``--deploy-as``): create databases and user, migrate, seed,
  then write the configuration. A failure drops what the run created.
- :func:`configure_additional_server` (no ``--deploy-as``): verify the existing
  database works with the given login and keys, then write the configuration.
- :func:`deploy_embedded` (``--embedded``): the same as the first on SQLite files,
  built aside and swapped in at the end.

Only ``cloud`` is migrated and seeded; ``cloud_usage`` (database or file) is created
empty and reachable by the same user, and gets its tables from the usage server's own
migrations when that arrives.

Order matters for "nothing half-written": everything that can be checked without
side effects (keys, configuration directory, existing deployment) is checked first;
``db.properties`` and the key file are written last (:mod:`cumulo.setup.publish`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pluggy
import sqlalchemy as sa

from cumulo.crypto import CryptoError, encrypt
from cumulo.db import migrate
from cumulo.db.engine import DatabaseConfigurationError, create_engine, session_factory
from cumulo.settings import DbProperties, SettingsError
from cumulo.setup import deploy, sqlite, verify
from cumulo.setup.arguments import Credentials, DatabaseTarget
from cumulo.setup.errors import SetupError
from cumulo.setup.publish import check_conf_dir, publish
from cumulo.setup.seed import seed_cloud

ENCRYPTION_TYPES = ("file", "web")


@dataclass(frozen=True)
class Keys:
    """The key hierarchy chosen at installation (REQUIREMENTS §7.2).

    :param encryption_type: how the server obtains the management key: ``file``/``web``.
    :param management_key: ``-m``: encrypts the secrets of ``db.properties``.
    :param database_key: ``-k``: encrypts the secrets stored in tables.
    :param algorithm: the jasypt algorithm of both.
    """

    encryption_type: str
    management_key: str = field(repr=False)
    database_key: str = field(repr=False)
    algorithm: str

    def check(self) -> None:
        """Fail before any work when a key or the algorithm cannot be used.

        :raises SetupError: unknown encryption type or algorithm, or a key jasypt
            rejects (empty, not printable ASCII); the message names the option only.
        """
        if self.encryption_type not in ENCRYPTION_TYPES:
            raise SetupError(
                f"-e must be one of {', '.join(ENCRYPTION_TYPES)}, not {self.encryption_type!r}"
            )
        for option, key in (("-m", self.management_key), ("-k", self.database_key)):
            try:
                encrypt("", key, self.algorithm)
            except CryptoError as exc:
                raise SetupError(f"{option}: {exc}") from None

    @property
    def key_to_store(self) -> str | None:
        """The management key for the key file (``file``), ``None`` for ``web``."""
        return self.management_key if self.encryption_type == "file" else None


@dataclass(frozen=True)
class Node:
    """This management server: ``-i`` and ``-r``."""

    management_ip: str
    region_id: int


@dataclass(frozen=True)
class DatabaseNames:
    """The two MySQL databases (``--database-name``, ``--usage-database-name``)."""

    cloud: str = "cloud"
    usage: str = "cloud_usage"


@dataclass(frozen=True)
class Outcome:
    """What a successful run wrote, for the command's report (never a secret)."""

    properties_path: Path
    key_file: Path | None
    cloud: str
    usage: str
    seeded: bool


# ---- with --deploy-as on MySQL/MariaDB ---------------------------------------------


def deploy_mysql(
    target: DatabaseTarget,
    deploy_as: Credentials,
    keys: Keys,
    node: Node,
    names: DatabaseNames,
    conf: Path,
    pm: pluggy.PluginManager,
    *,
    recreate: bool = False,
) -> Outcome:
    """Create the databases and the user, migrate, seed, write the configuration.

    :param recreate: drop an existing deployment (both databases, the user) first;
        without it an existing one is refused and nothing changes.
    :raises SetupError: one line; every database object this run created is dropped.
    """
    check_conf_dir(conf)
    keys.check()
    databases = [deploy.check_database_name(names.cloud), deploy.check_database_name(names.usage)]
    if names.cloud == names.usage:
        raise SetupError("the cloud and usage databases must have different names")
    deploy.check_user_name(target.credentials.user, deploy_as.user)
    server = deploy.MysqlServer(target.host, target.port, deploy_as)
    created = deploy.Provisioned()
    try:
        with server.connection() as conn:
            if recreate:
                deploy.drop_deployment(server, conn, databases, target.credentials.user)
            else:
                deploy.refuse_existing(server, conn, databases, target.credentials.user)
            deploy.provision(server, conn, databases, target.credentials, created)
        properties = _mysql_properties(target, keys, node, names)
        cloud_url = properties.cloud_url(keys.management_key)
        # Migrating and seeding as the new user proves its login and grants work.
        _migrate_and_seed(cloud_url, keys, pm, location=server.location)
        verify.check_login(properties.usage_url(keys.management_key), location=server.location)
        path = publish(conf, properties, keys.key_to_store)
    except BaseException:
        deploy.undo(server, created)
        raise
    finally:
        server.dispose()
    return Outcome(
        path,
        _key_file(conf, keys),
        f"{names.cloud} on {server.location}",
        f"{names.usage} on {server.location}",
        seeded=True,
    )


# ---- without --deploy-as: an additional management server ------------------------


def configure_additional_server(
    target: DatabaseTarget,
    keys: Keys,
    node: Node,
    names: DatabaseNames,
    conf: Path,
    pm: pluggy.PluginManager,
) -> Outcome:
    """Verify the existing deployment with this login and keys, then write the client
    configuration (REQ-INST-04, REQ-INST-07).

    :raises SetupError: the login fails, a database is missing or not migrated, or
        ``-k`` does not decrypt the stored secrets; nothing is written then.
    """
    check_conf_dir(conf)
    keys.check()
    properties = _mysql_properties(target, keys, node, names)
    with _operator_errors(target.location):
        cloud_url = properties.cloud_url(keys.management_key)
        verify.check_login(cloud_url, location=target.location)
        verify.check_login(properties.usage_url(keys.management_key), location=target.location)
        verify.check_migrated(cloud_url, pm, database=names.cloud, location=target.location)
        verify.check_secrets(cloud_url, keys.database_key, keys.algorithm, location=target.location)
    path = publish(conf, properties, keys.key_to_store)
    return Outcome(
        path,
        _key_file(conf, keys),
        f"{names.cloud} on {target.location}",
        f"{names.usage} on {target.location}",
        seeded=False,
    )


# ---- --embedded: SQLite files ------------------------------------------------------


def deploy_embedded(
    files: sqlite.EmbeddedFiles,
    keys: Keys,
    node: Node,
    conf: Path,
    pm: pluggy.PluginManager,
    *,
    recreate: bool = False,
) -> Outcome:
    """Create ``cloud.db`` and ``cloud_usage.db``, migrate, seed, write the configuration.

    :param recreate: replace existing files; without it files holding tables are
        refused. Either way the old files stay in place until the new ones are ready.
    :raises SetupError: one line; the data and configuration directories are as before.
    """
    check_conf_dir(conf)
    sqlite.check_data_dir(files.data_dir)
    keys.check()
    if not recreate:
        sqlite.refuse_existing(files)
    properties = DbProperties.for_database(
        management_key=keys.management_key,
        database_key=keys.database_key,
        encryption_type=keys.encryption_type,
        driver="sqlite",
        name=str(files.cloud),
        usage_name=str(files.usage),
        cluster_node_ip=node.management_ip,
        region_id=node.region_id,
        algorithm=keys.algorithm,
    )
    with sqlite.StagedDatabases(files) as staged:
        _migrate_and_seed(sqlite.sqlite_url(staged.cloud), keys, pm, location=str(files.cloud))
        staged.install()
        path = publish(conf, properties, keys.key_to_store)
    return Outcome(path, _key_file(conf, keys), str(files.cloud), str(files.usage), seeded=True)


# ---- shared steps ------------------------------------------------------------------


def _mysql_properties(
    target: DatabaseTarget, keys: Keys, node: Node, names: DatabaseNames
) -> DbProperties:
    return DbProperties.for_database(
        management_key=keys.management_key,
        database_key=keys.database_key,
        encryption_type=keys.encryption_type,
        driver="mysql",
        host=target.host,
        port=target.port,
        username=target.credentials.user,
        password=target.credentials.password,
        name=names.cloud,
        usage_name=names.usage,
        cluster_node_ip=node.management_ip,
        region_id=node.region_id,
        algorithm=keys.algorithm,
    )


def migrate_database(url: sa.URL, pm: pluggy.PluginManager, *, location: str) -> None:
    """Run every installed branch's migrations up to its head on ``url``.

    :raises SetupError: a migration or the connection failed (one line).
    """
    with _operator_errors(location):
        migrate.upgrade(url, pm)


def _migrate_and_seed(url: sa.URL, keys: Keys, pm: pluggy.PluginManager, *, location: str) -> None:
    migrate_database(url, pm, location=location)
    with _operator_errors(location):
        engine = create_engine(url)
        try:
            with session_factory(engine)() as session, session.begin():
                seed_cloud(session, keys.database_key, keys.algorithm)
        finally:
            engine.dispose()


def _key_file(conf: Path, keys: Keys) -> Path | None:
    from cumulo.secret_key import key_file_path

    return key_file_path(conf) if keys.key_to_store is not None else None


@contextmanager
def _operator_errors(location: str) -> Iterator[None]:
    """The errors of the layers below as one-line :class:`SetupError` messages."""
    try:
        yield
    except sa.exc.DBAPIError as exc:
        raise SetupError(deploy.describe_mysql_error(exc, user="", location=location)) from None
    except (migrate.MigrationError, DatabaseConfigurationError, SettingsError, CryptoError) as exc:
        raise SetupError(f"{location}: {_first_line(exc)}") from None
    except sa.exc.SQLAlchemyError as exc:
        raise SetupError(f"{location}: {_first_line(exc)}") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
