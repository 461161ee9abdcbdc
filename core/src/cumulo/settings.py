"""``db.properties`` and the configuration directory, as CloudStack 4.1 lays them out.

The file is a Java properties file with CloudStack's keys (``db.cloud.username``,
``db.cloud.password``, ``db.cloud.host``, ``db.cloud.port``, ``db.cloud.name``,
``db.cloud.encryption.type``, ``db.cloud.encrypt.secret``, the ``db.usage.*`` twins,
``region.id``, ``cluster.node.IP``, the DBCP pool keys) plus cumulo's
``db.cloud.driver`` / ``db.usage.driver`` (``mysql`` | ``sqlite`` | ``postgresql``). An
operator who moves from CloudStack keeps the file; one who edits it by hand (REQ-DB-04,
failover by editing and restarting) uses the syntax they know.

Key hierarchy (REQUIREMENTS §7.2): ``db.cloud.password``, ``db.usage.password`` and
``db.cloud.encrypt.secret`` are ``ENC(...)`` values encrypted with the *management server
key*; the decrypted ``db.cloud.encrypt.secret`` is the *database key*, which encrypts
secrets stored in tables.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL

from cumulo.crypto import DEFAULT_ALGORITHM, CryptoError, decrypt, encrypt, unwrap_enc, wrap_enc
from cumulo.javaprops import (
    PropertiesSyntaxError,
    atomic_write,
    format_properties,
    parse_properties,
    read_text,
)

DEFAULT_CONF_DIR = Path("/etc/cloud/management")
DB_PROPERTIES = "db.properties"
ENCRYPTION_TYPES = ("file", "web", "none")
DRIVERS = {"mysql": "mysql+pymysql", "postgresql": "postgresql+psycopg", "sqlite": "sqlite"}
DEFAULT_PORTS = {"mysql": 3306, "postgresql": 5432}
# REQ-DB-02: MySQL's max_connections is sized as 350 per management server.
MAX_POOL_CONNECTIONS = 350
# Not a CloudStack key: written only when the secrets use a non-default algorithm, so a
# file CloudStack wrote (always PBEWithMD5AndDES) needs nothing new.
ALGORITHM_KEY = "db.cloud.encryption.algorithm"


def _keys(prefix: str, names: str) -> tuple[str, ...]:
    return tuple(prefix + name for name in names.split())


# The order ``write`` uses, grouped as CloudStack's db.properties.in groups them; keys not
# listed here follow, sorted, under "other settings".
_LAYOUT: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("management server clustering", ("cluster.node.IP", "cluster.servlet.port", "region.id")),
    ("cloud database", _keys("db.cloud.", "driver username password host port name")),
    (
        "encryption: ENC() values are encrypted with the management server key",
        ("db.cloud.encryption.type", "db.cloud.encrypt.secret", ALGORITHM_KEY),
    ),
    (
        "cloud database connection pool",
        _keys(
            "db.cloud.",
            "maxActive maxIdle maxWait autoReconnect validationQuery testOnBorrow testWhileIdle"
            " timeBetweenEvictionRunsMillis minEvictableIdleTimeMillis removeAbandoned"
            " removeAbandonedTimeout logAbandoned poolPreparedStatements url.params",
        ),
    ),
    ("usage database", _keys("db.usage.", "driver username password host port name")),
    (
        "usage database connection pool",
        _keys("db.usage.", "maxActive maxIdle maxWait autoReconnect"),
    ),
)

# CloudStack 4.1's client/tomcatconf/db.properties.in values, written by ``for_database``.
_CLOUD_POOL_DEFAULTS = {
    "maxActive": "250",
    "maxIdle": "30",
    "maxWait": "10000",
    "autoReconnect": "true",
    "testOnBorrow": "true",
    "minEvictableIdleTimeMillis": "240000",
}
_USAGE_POOL_DEFAULTS = {
    "maxActive": "100",
    "maxIdle": "30",
    "maxWait": "10000",
    "autoReconnect": "true",
}


class SettingsError(Exception):
    """db.properties is missing, unreadable or inconsistent; the message says which key
    and file, never a secret value."""


def conf_dir() -> Path:
    """The configuration directory: ``$CUMULO_CONF_DIR`` if set and non-empty, else
    ``/etc/cloud/management`` (CloudStack's location, Seed §9.3.1)."""
    configured = os.environ.get("CUMULO_CONF_DIR", "").strip()
    return Path(configured).expanduser() if configured else DEFAULT_CONF_DIR


def load_db_properties(conf: Path | None = None) -> DbProperties:
    """Read ``<conf>/db.properties`` (``conf`` defaults to :func:`conf_dir`).

    :raises SettingsError: the file is missing (naming the path and how to create it) or
        malformed.
    """
    path = (conf if conf is not None else conf_dir()) / DB_PROPERTIES
    if not path.is_file():
        raise SettingsError(
            f"{path} not found: run 'cumulo setup-databases' or set CUMULO_CONF_DIR"
        )
    return DbProperties.read(path)


# ---- the file as an object -----------------------------------------------------------


class DbProperties(Mapping[str, str]):
    """The contents of a ``db.properties`` file: a mapping of raw strings.

    Raw means as written: secret values stay ``ENC(...)``; the methods that need a secret
    take the management server key and decrypt on demand, so a ``DbProperties`` never
    holds a plaintext password it was not given.
    """

    def __init__(self, values: Mapping[str, str] | None = None, path: Path | None = None):
        """:param values: initial key/value strings. :param path: the file they came from
        (relative SQLite paths are resolved against its directory)."""
        self._values: dict[str, str] = dict(values or {})
        self.path = path

    # -- Mapping ------------------------------------------------------------------------

    def __getitem__(self, key: str) -> str:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        # Never print values: even ENC() text should not end up in logs by accident.
        return f"DbProperties(path={self.path!r}, keys={sorted(self._values)!r})"

    def set(self, key: str, value: str) -> None:
        """Set ``key`` to the raw string ``value`` (wrap secrets with ``ENC()`` first)."""
        if not isinstance(value, str):
            raise TypeError(f"db.properties values are strings, got {type(value).__name__}")
        self._values[key] = value

    # -- reading and writing ------------------------------------------------------------

    @classmethod
    def parse(cls, text: str, path: Path | None = None) -> DbProperties:
        """Properties from Java-properties ``text`` (see :func:`parse_properties`)."""
        try:
            return cls(parse_properties(text), path)
        except PropertiesSyntaxError as error:
            raise SettingsError(str(error)) from None

    @classmethod
    def read(cls, path: Path) -> DbProperties:
        """Read ``path``. UTF-8 is tried first, then ISO-8859-1 (what Java writes).

        :raises SettingsError: the file cannot be read or is malformed.
        """
        try:
            text = read_text(path)
        except OSError as error:
            raise SettingsError(f"cannot read {path}: {error.strerror or error}") from None
        try:
            return cls.parse(text, path)
        except SettingsError as error:
            raise SettingsError(f"{path}: {error}") from None

    def render(self) -> str:
        """The file's text, deterministic (see :func:`format_properties`)."""
        return format_properties(
            self._values,
            "db.properties: database settings of the cumulo management server",
            _LAYOUT,
        )

    def write(self, path: Path) -> None:
        """Write atomically (temporary file + rename, fsynced) with mode 0600, creating
        the parent directory if needed. A reader sees the old file or the new one, never
        half of either."""
        atomic_write(path, self.render())
        self.path = path

    # -- CloudStack semantics -----------------------------------------------------------

    @property
    def encryption_type(self) -> str:
        """``db.cloud.encryption.type``: ``file``, ``web`` or ``none`` (CloudStack treats
        a missing key as ``none``)."""
        value = self._values.get("db.cloud.encryption.type", "none").strip() or "none"
        if value not in ENCRYPTION_TYPES:
            raise SettingsError(
                f"db.cloud.encryption.type is {value!r}{self._where()}; "
                f"expected one of {', '.join(ENCRYPTION_TYPES)}"
            )
        return value

    @property
    def algorithm(self) -> str:
        """The jasypt algorithm of the ``ENC()`` values (CloudStack: PBEWithMD5AndDES)."""
        return self._values.get(ALGORITHM_KEY, "").strip() or DEFAULT_ALGORITHM

    @property
    def region_id(self) -> int:
        """``region.id``, default 1 (the default region)."""
        return self._integer("region.id", 1)

    @property
    def cluster_node_ip(self) -> str | None:
        """``cluster.node.IP``: this management server's address in the cluster."""
        return self._values.get("cluster.node.IP") or None

    def secret(self, key: str, management_key: str) -> str | None:
        """The plaintext of ``key``: an ``ENC(...)`` value decrypted with the management
        server key, a plain value as is, ``None`` when the key is absent.

        :raises SettingsError: the value cannot be decrypted (wrong key or corrupt text);
            the message names the key and file, not the value.
        """
        raw = self._values.get(key)
        if raw is None:
            return None
        inner = unwrap_enc(raw)
        if inner is None:
            return raw
        try:
            return decrypt(inner, management_key, self.algorithm)
        except CryptoError as error:
            raise SettingsError(
                f"cannot decrypt {key}{self._where()} with the management server key: {error}"
            ) from None

    def database_key(self, management_key: str) -> str:
        """The database key: ``db.cloud.encrypt.secret`` decrypted with the management key.

        :raises SettingsError: the key is missing or cannot be decrypted.
        """
        value = self.secret("db.cloud.encrypt.secret", management_key)
        if value is None:
            raise SettingsError(f"db.cloud.encrypt.secret is missing{self._where()}")
        return value

    def check_management_key(self, management_key: str) -> None:
        """Prove ``management_key`` decrypts every ``ENC()`` value (REQ-INST-07).

        :raises SettingsError: naming the first value it cannot decrypt.
        """
        for key in sorted(self._values):
            self.secret(key, management_key)

    def cloud_url(self, management_key: str) -> URL:
        """SQLAlchemy URL of the ``cloud`` database (passwords decrypted)."""
        return self._url("cloud", management_key)

    def usage_url(self, management_key: str) -> URL:
        """SQLAlchemy URL of the ``cloud_usage`` database. A ``db.usage.*`` key that is
        absent falls back to its ``db.cloud.*`` twin (same server and user), except the
        name: ``cloud_usage``, or ``cloud_usage.db`` beside the cloud file for SQLite."""
        return self._url("usage", management_key)

    def driver(self, database: str = "cloud") -> str:
        """``db.<database>.driver`` (``mysql`` | ``sqlite`` | ``postgresql``; default
        ``mysql``, the only database CloudStack knows)."""
        value = self._lookup(database, "driver") or "mysql"
        if value not in DRIVERS:
            raise SettingsError(
                f"db.{database}.driver is {value!r}{self._where()}; "
                f"expected one of {', '.join(DRIVERS)}"
            )
        return value

    def engine_options(self, database: str = "cloud") -> dict[str, Any]:
        """``create_engine`` keyword arguments from CloudStack's DBCP pool keys.

        ``maxActive`` (most connections) becomes ``pool_size + max_overflow`` with
        ``pool_size`` = ``maxIdle`` (connections kept open); ``maxWait`` (ms) becomes
        ``pool_timeout`` (s; DBCP's -1, wait forever, keeps SQLAlchemy's default);
        ``testOnBorrow`` or ``autoReconnect`` turns on ``pool_pre_ping``;
        ``minEvictableIdleTimeMillis`` becomes ``pool_recycle`` (s), so connections are
        renewed before MySQL's ``wait_timeout`` drops them. Keys that are absent leave
        the engine's defaults. SQLite gets no pool options.

        :raises SettingsError: a value is not a number, or ``maxActive`` exceeds 350
            (REQ-DB-02: MySQL's ``max_connections`` is 350 per management server).
        """
        if self.driver(database) == "sqlite":
            return {}
        prefix = f"db.{database}."
        options: dict[str, Any] = {}
        active = self._optional_integer(prefix + "maxActive")
        idle = self._optional_integer(prefix + "maxIdle")
        if active is not None:
            if not 1 <= active <= MAX_POOL_CONNECTIONS:
                raise SettingsError(
                    f"{prefix}maxActive is {active}{self._where()}; it must be between 1 and "
                    f"{MAX_POOL_CONNECTIONS} (MySQL max_connections is 350 per server)"
                )
            size = min(idle, active) if idle is not None and idle > 0 else active
            options.update(pool_size=size, max_overflow=active - size)
        elif idle is not None and idle > 0:
            options["pool_size"] = min(idle, MAX_POOL_CONNECTIONS)
        wait = self._optional_integer(prefix + "maxWait")
        if wait is not None and wait >= 0:
            options["pool_timeout"] = wait / 1000
        if self._flag(prefix + "testOnBorrow") or self._flag(prefix + "autoReconnect"):
            options["pool_pre_ping"] = True
        evict = self._optional_integer(prefix + "minEvictableIdleTimeMillis")
        if evict is not None and evict > 0:
            options["pool_recycle"] = max(1, evict // 1000)
        return options

    # -- rendering a new file -----------------------------------------------------------

    @classmethod
    def for_database(
        cls,
        *,
        management_key: str,
        database_key: str,
        encryption_type: str = "file",
        driver: str = "mysql",
        host: str = "localhost",
        port: int | None = None,
        username: str = "cloud",
        password: str = "",
        name: str = "cloud",
        usage_name: str | None = None,
        cluster_node_ip: str = "127.0.0.1",
        region_id: int = 1,
        algorithm: str = DEFAULT_ALGORITHM,
    ) -> DbProperties:
        """The db.properties ``cloudstack-setup-databases`` writes, for these values.

        ``password`` (also the usage password) and ``database_key`` are stored as
        ``ENC(...)`` encrypted with ``management_key``, unless ``encryption_type`` is
        ``none`` (then they are stored plain, as CloudStack does). For MySQL and
        PostgreSQL the CloudStack 4.1 pool defaults are written too. For ``sqlite``,
        ``name`` / ``usage_name`` are file paths (default ``usage_name``:
        ``cloud_usage.db`` beside ``name``); host, port and user are not written.

        :raises SettingsError: unknown ``driver`` or ``encryption_type``.
        :raises cumulo.crypto.CryptoError: unknown ``algorithm``.
        """
        if driver not in DRIVERS:
            raise SettingsError(f"unknown database driver {driver!r}; use {', '.join(DRIVERS)}")
        if encryption_type not in ENCRYPTION_TYPES:
            raise SettingsError(
                f"unknown encryption type {encryption_type!r}; use {', '.join(ENCRYPTION_TYPES)}"
            )

        def protect(plaintext: str) -> str:
            if encryption_type == "none":
                return plaintext
            return wrap_enc(encrypt(plaintext, management_key, algorithm))

        values = {
            "cluster.node.IP": cluster_node_ip,
            "cluster.servlet.port": "9090",
            "region.id": str(region_id),
            "db.cloud.encryption.type": encryption_type,
            "db.cloud.encrypt.secret": protect(database_key),
        }
        if algorithm != DEFAULT_ALGORITHM:
            values[ALGORITHM_KEY] = algorithm
        if driver == "sqlite":
            usage = usage_name or str(Path(name).with_name("cloud_usage.db"))
            values.update(
                {
                    "db.cloud.driver": driver,
                    "db.cloud.name": name,
                    "db.usage.driver": driver,
                    "db.usage.name": usage,
                }
            )
            return cls(values)
        server_port = str(port or DEFAULT_PORTS[driver])
        for database, db_name, pool in (
            ("cloud", name, _CLOUD_POOL_DEFAULTS),
            ("usage", usage_name or "cloud_usage", _USAGE_POOL_DEFAULTS),
        ):
            values.update(
                {
                    f"db.{database}.driver": driver,
                    f"db.{database}.username": username,
                    # Encrypted once per key: a fresh salt each, so the file does not
                    # show that the two passwords are equal.
                    f"db.{database}.password": protect(password),
                    f"db.{database}.host": host,
                    f"db.{database}.port": server_port,
                    f"db.{database}.name": db_name,
                }
            )
            values.update({f"db.{database}.{key}": value for key, value in pool.items()})
        return cls(values)

    # -- helpers ------------------------------------------------------------------------

    def _where(self) -> str:
        return f" in {self.path}" if self.path is not None else ""

    def _key(self, database: str, field: str) -> str:
        """The key holding ``field``: a missing ``db.usage.*`` falls back to its
        ``db.cloud.*`` twin (usage normally lives on the same server), except the name."""
        key = f"db.{database}.{field}"
        if key not in self._values and database == "usage" and field != "name":
            return f"db.cloud.{field}"
        return key

    def _lookup(self, database: str, field: str) -> str | None:
        value = self._values.get(self._key(database, field))
        return value.strip() if value is not None else None

    def _url(self, database: str, management_key: str) -> URL:
        driver = self.driver(database)
        name = self._lookup(database, "name")
        if driver == "sqlite":
            if name:
                return URL.create("sqlite", database=self._resolve(name))
            if database == "usage" and self._lookup("cloud", "name"):
                cloud = Path(self._resolve(self._lookup("cloud", "name") or ""))
                return URL.create("sqlite", database=str(cloud.with_name("cloud_usage.db")))
            raise SettingsError(f"db.{database}.name (the SQLite file) is missing{self._where()}")
        return URL.create(
            DRIVERS[driver],
            username=self._lookup(database, "username") or "cloud",
            password=self.secret(self._key(database, "password"), management_key) or None,
            host=self._lookup(database, "host") or "localhost",
            port=self._port(database, driver),
            database=name or ("cloud" if database == "cloud" else "cloud_usage"),
        )

    def _resolve(self, name: str) -> str:
        # A relative SQLite path is relative to db.properties, not to whatever directory
        # the server happened to start in.
        path = Path(name).expanduser()
        if not path.is_absolute() and self.path is not None:
            path = self.path.parent / path
        return str(path)

    def _port(self, database: str, driver: str) -> int:
        key = self._key(database, "port")
        port = self._integer(key, DEFAULT_PORTS[driver])
        if not 1 <= port <= 65535:
            raise SettingsError(f"{key} is {port}{self._where()}; expected 1-65535")
        return port

    def _optional_integer(self, key: str) -> int | None:
        raw = self._values.get(key, "").strip()
        if not raw:
            return None
        try:
            return int(raw)
        except ValueError:
            raise SettingsError(f"{key} is {raw!r}{self._where()}; expected an integer") from None

    def _integer(self, key: str, default: int) -> int:
        value = self._optional_integer(key)
        return default if value is None else value

    def _flag(self, key: str) -> bool:
        return self._values.get(key, "").strip().lower() == "true"
