"""cumulo.config.ConfigStore: overrides in the database, on SQLite and on MariaDB.

Runs on the migrated database of ``db_session``, so the migration is tested with the
models: the same suite runs twice in CI (``CUMULO_TEST_DB`` unset / MariaDB).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pluggy
import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from cumulo import crypto, hookimpl
from cumulo.config import ConfigRegistry, ConfigStore, InvalidConfigValue, UnknownConfigKey
from cumulo.config.models import Configuration, ScopedConfiguration
from cumulo.config.store import ScopeNotAllowed
from cumulo.sdk import ConfigKey, Scope, ValueType

DATABASE_KEY = "database-key"

TEST_KEYS = [
    ConfigKey(
        "test.zone.limit",
        ValueType.INTEGER,
        "10",
        "A per-zone limit.",
        "Test",
        scopes=frozenset({Scope.ZONE, Scope.CLUSTER}),
        minimum=0,
    ),
    ConfigKey(
        "test.account.flag",
        ValueType.BOOLEAN,
        "false",
        "A per-account switch.",
        "Test",
        scopes=frozenset({Scope.ACCOUNT}),
    ),
    ConfigKey(
        "test.pool.factor",
        ValueType.FLOAT,
        "2",
        "A per-pool factor.",
        "Test",
        scopes=frozenset({Scope.STORAGE_POOL}),
    ),
    ConfigKey(
        "test.smtp.password",
        ValueType.STRING,
        None,
        "A secret.",
        "Secure",
        scopes=frozenset({Scope.ACCOUNT}),
        secret=True,
    ),
]


class _TestKeys:
    @staticmethod
    @hookimpl
    def cumulo_configuration_keys() -> list[ConfigKey]:
        return TEST_KEYS


@pytest.fixture
def registry(plugin_manager: pluggy.PluginManager) -> ConfigRegistry:
    plugin_manager.register(_TestKeys, name="store_test_keys")
    return ConfigRegistry.build(plugin_manager)


@pytest.fixture
def store(registry: ConfigRegistry, db_session: Session) -> ConfigStore:
    return ConfigStore(registry, db_session, DATABASE_KEY)


@contextmanager
def count_statements(session: Session) -> Iterator[list[str]]:
    """Collect the SQL statements the session's connection sends while inside."""
    session.execute(select(1))  # connect and let the dialect initialise first
    connection = session.connection()
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(args[2])

    event.listen(connection, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(connection, "before_cursor_execute", record)


def _rows(session: Session, model: type[Any]) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


# ---- global values ----------------------------------------------------------------------


def test_default_until_overridden(store: ConfigStore, db_session: Session) -> None:
    assert store.value("default.page.size") == "500"
    assert store.value("integration.api.port") is None
    assert store.set("default.page.size", " 200 ") == "200"
    assert store.value("default.page.size") == "200"
    assert store.integer("default.page.size") == 200
    row = db_session.get(Configuration, "default.page.size")
    assert row is not None
    assert (row.value, row.category, row.component) == (
        "200",
        "Advanced",
        "management-server",
    )
    assert row.description == store.registry.get_key("default.page.size").description
    assert row.updated is not None


def test_set_twice_updates_one_row(store: ConfigStore, db_session: Session) -> None:
    store.set("enable.ec2.api", "TRUE")
    store.set("enable.ec2.api", "false")
    store.set("test.zone.limit", "5", Scope.ZONE, 7)
    store.set("test.zone.limit", "6", Scope.ZONE, 7)
    assert _rows(db_session, Configuration) == 1
    assert _rows(db_session, ScopedConfiguration) == 1
    assert store.boolean("enable.ec2.api") is False
    assert store.value("test.zone.limit", Scope.ZONE, 7) == "6"


def test_values_survive_commit(store: ConfigStore, db_session: Session) -> None:
    store.set("host", "10.0.0.5")
    store.set("test.account.flag", "True", "account", 42)
    db_session.commit()
    assert db_session.get(Configuration, "test.account.flag") is None  # scoped table only
    store.set("test.zone.limit", "3")
    plugin_row = db_session.get(Configuration, "test.zone.limit")
    assert plugin_row is not None and plugin_row.component == "store_test_keys"
    db_session.commit()
    with Session(db_session.get_bind()) as other:
        fresh = ConfigStore(store.registry, other, DATABASE_KEY)
        assert fresh.value("host") == "10.0.0.5"
        assert fresh.boolean("test.account.flag", Scope.ACCOUNT, 42) is True


def test_reset_falls_back_to_default(store: ConfigStore) -> None:
    store.set("guest.vlan.bits", "10")
    assert store.reset("guest.vlan.bits") is True
    assert store.reset("guest.vlan.bits") is False
    assert store.value("guest.vlan.bits") == "12"


def test_alias_reads_and_writes_the_cloudstack_name(store: ConfigStore) -> None:
    store.set("endpoint.url", "http://10.102.102.22:8080/client/api")
    assert store.value("endpointe.url") == "http://10.102.102.22:8080/client/api"
    assert store.values(["endpoint.url"]) == {
        "endpoint.url": "http://10.102.102.22:8080/client/api"
    }


def test_invalid_value_writes_nothing(store: ConfigStore, db_session: Session) -> None:
    with pytest.raises(InvalidConfigValue, match=r"parameter 'test\.zone\.limit'"):
        store.set("test.zone.limit", "many", Scope.ZONE, 1)
    with pytest.raises(InvalidConfigValue, match=r"parameter 'management\.network\.cidr'"):
        store.set("management.network.cidr", "192.168.3.1/24")
    with pytest.raises(UnknownConfigKey):
        store.set("no.such.key", "1")
    with pytest.raises(UnknownConfigKey):
        store.value("no.such.key")
    assert _rows(db_session, Configuration) == _rows(db_session, ScopedConfiguration) == 0


# ---- scopes -------------------------------------------------------------------------------


def test_scoped_lookup_falls_back_to_global_then_default(store: ConfigStore) -> None:
    assert store.value("test.zone.limit", Scope.ZONE, 1) == "10"  # default
    store.set("test.zone.limit", "20")
    assert store.value("test.zone.limit", Scope.ZONE, 1) == "20"  # global override
    store.set("test.zone.limit", "30", Scope.ZONE, 1)
    assert store.value("test.zone.limit", Scope.ZONE, 1) == "30"  # zone override
    assert store.value("test.zone.limit", Scope.ZONE, 2) == "20"  # other zone: global
    assert store.value("test.zone.limit", Scope.CLUSTER, 1) == "20"  # cluster 1 is not zone 1
    assert store.value("test.zone.limit") == "20"
    store.reset("test.zone.limit")
    assert store.value("test.zone.limit", Scope.ZONE, 2) == "10"
    assert store.value("test.zone.limit", Scope.ZONE, 1) == "30"
    assert store.reset("test.zone.limit", Scope.ZONE, 1) is True
    assert store.value("test.zone.limit", Scope.ZONE, 1) == "10"


@pytest.mark.parametrize(
    ("name", "scope", "scope_id", "message"),
    [
        ("default.page.size", Scope.ZONE, 1, "cannot be set per zone; its scopes are: global"),
        ("test.zone.limit", Scope.ACCOUNT, 1, "its scopes are: global, cluster, zone"),
        ("test.pool.factor", Scope.CLUSTER, 1, "cannot be set per cluster"),
        ("test.zone.limit", Scope.ZONE, None, "needs the zone id"),
        ("test.zone.limit", Scope.GLOBAL, 3, "takes no scope id"),
        ("test.zone.limit", "region", 1, "Unknown scope 'region'"),
    ],
)
def test_refused_scopes(
    store: ConfigStore, name: str, scope: Scope | str, scope_id: int | None, message: str
) -> None:
    for attempt in (
        lambda: store.set(name, "1", scope, scope_id),
        lambda: store.value(name, scope, scope_id),
        lambda: store.values([name], scope, scope_id),
        lambda: store.reset(name, scope, scope_id),
    ):
        with pytest.raises(ScopeNotAllowed, match=message):
            attempt()


def test_all_values_lists_the_keys_of_a_scope(store: ConfigStore) -> None:
    store.set("test.pool.factor", "1.5", Scope.STORAGE_POOL, 9)
    store.set("host", "10.9.9.9")
    assert store.all_values(Scope.STORAGE_POOL, 9) == {"test.pool.factor": "1.5"}
    assert store.all_values(Scope.STORAGE_POOL, 8) == {"test.pool.factor": "2"}
    everything = store.all_values()
    assert everything["host"] == "10.9.9.9"
    assert everything["test.pool.factor"] == "2"
    assert set(everything) == {key.name for key in store.registry}


# ---- secrets --------------------------------------------------------------------------------


def test_secret_is_stored_encrypted_with_the_database_key(
    store: ConfigStore, db_session: Session
) -> None:
    store.set("test.smtp.password", "pässword", Scope.ACCOUNT, 3)
    raw = db_session.scalar(select(ScopedConfiguration.value))
    assert raw is not None and "pässword" not in raw
    inner = crypto.unwrap_enc(raw)
    assert inner is not None
    assert crypto.decrypt(inner, DATABASE_KEY) == "pässword"
    assert store.value("test.smtp.password", Scope.ACCOUNT, 3) == "pässword"
    assert store.value("test.smtp.password", Scope.ACCOUNT, 4) is None

    wrong = ConfigStore(store.registry, db_session, "another-key")
    with pytest.raises(crypto.CryptoError, match=r"parameter 'test\.smtp\.password'") as raised:
        wrong.value("test.smtp.password", Scope.ACCOUNT, 3)
    assert "pässword" not in str(raised.value)


# ---- statements -------------------------------------------------------------------------------


def test_values_is_one_statement(store: ConfigStore, db_session: Session) -> None:
    names = ["test.zone.limit", "default.page.size", "host", "guest.vlan.bits", "ha.tag"]
    store.set("test.zone.limit", "4", Scope.CLUSTER, 5)
    store.set("default.page.size", "100")
    store.set("test.zone.limit", "8")
    with count_statements(db_session) as statements:
        global_values = store.values(names)
    assert len(statements) == 1
    assert global_values == {
        "test.zone.limit": "8",
        "default.page.size": "100",
        "host": "localhost",
        "guest.vlan.bits": "12",
        "ha.tag": None,
    }
    with count_statements(db_session) as statements:
        scoped = store.values(["test.zone.limit"], Scope.CLUSTER, 5)
        single = store.value("test.zone.limit", Scope.CLUSTER, 6)
        listing = store.all_values(Scope.CLUSTER, 5)
        nothing = store.values([])
    assert len(statements) == 3
    assert (scoped, single, nothing) == ({"test.zone.limit": "4"}, "8", {})
    # The listing shows the cluster's own value and every other key settable per
    # cluster at its effective value (e.g. the capacity notification thresholds).
    assert listing["test.zone.limit"] == "4"
    assert listing == {
        key.name: store.value(key.name, Scope.CLUSTER, 5)
        for key in store.registry
        if Scope.CLUSTER in key.scopes
    }


def test_set_is_one_statement(store: ConfigStore, db_session: Session) -> None:
    with count_statements(db_session) as statements:
        store.set("swift.enable", "true")
        store.set("swift.enable", "false")
        store.set("test.account.flag", "true", Scope.ACCOUNT, 1)
    assert len(statements) == 3


def test_without_database_key_secrets_are_plain(
    registry: ConfigRegistry, db_session: Session
) -> None:
    # Encryption type "none": CloudStack stores secrets as they are.
    plain = ConfigStore(registry, db_session, None)
    plain.set("test.smtp.password", "open", Scope.ACCOUNT, 1)
    assert db_session.scalar(select(ScopedConfiguration.value)) == "open"
    assert plain.value("test.smtp.password", Scope.ACCOUNT, 1) == "open"
