"""listConfigurations and updateConfiguration at the service level.

The handlers run as the dispatcher runs them (a :class:`Call` in one session, committed
if the handler returns); a test plugin adds a secret key, a restart-only key and a
``Hidden`` one next to the core's keys. The API-level proofs (roles, 431 over HTTP,
event publication) are in api/tests/test_events_api.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pluggy
import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import select

from cumulo import crypto, hookimpl
from cumulo.accounts.models import Account, Domain, User
from cumulo.config.commands import LIST_CONFIGURATIONS, UPDATE_CONFIGURATION
from cumulo.config.models import Configuration
from cumulo.config.views import MASK, RESTART_NOTICE
from cumulo.events.models import Event
from cumulo.runtime import Runtime
from cumulo.sdk import ConfigKey, ValueType
from cumulo.sdk.api import Call, CallContext, Command, ListResult, ObjectResult, Role
from cumulo.sdk.errors import InvalidParameterValue
from cumulo.setup.seed import SSO_KEY, seed_cloud

DATABASE_KEY = "config-api-key"
SECRET = "s3cr3t-Value-for-the-test"


class ExtraKeys:
    """A plugin declaring keys the core has none of (secret, restart-only, hidden)."""

    @hookimpl
    def cumulo_configuration_keys(self) -> list[ConfigKey]:
        return [
            ConfigKey(
                "test.remote.password", ValueType.STRING, None,
                "Password of the remote test service.", "Secure", secret=True,
            ),
            ConfigKey(
                "test.worker.threads", ValueType.INTEGER, "4",
                "Threads of the test worker pool.", "Advanced",
                restart_required=True, minimum=1, maximum=64,
            ),
            ConfigKey("test.hidden.flag", ValueType.BOOLEAN, "false", "Internal.", "Hidden"),
        ]  # fmt: skip


class Admin:
    """Runs the configuration commands as the seeded root admin."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        with runtime.sessions() as session:
            user = session.scalars(select(User).where(User.username == "admin")).one()
            account = session.get(Account, user.account_id)
            assert account is not None
            domain = session.get(Domain, account.domain_id)
            assert domain is not None
            self.ctx = CallContext(
                user_id=user.id,
                account_id=account.id,
                domain_id=domain.id,
                domain_path=domain.path,
                account_type=account.type,
                user_uuid=user.uuid,
                account_uuid=account.uuid,
                account_name=account.account_name,
                username=user.username,
            )

    def run(self, command: Command, **params: Any) -> Any:
        """Run ``command`` in one transaction, committed only if it succeeds."""
        with self.runtime.sessions() as session:
            call = Call(
                command=command,
                ctx=self.ctx,
                session=session,
                params=params,
                pm=self.runtime.pm,
                services={"runtime": self.runtime, "config": self.runtime.config},
            )
            result = command.handler(call)
            session.commit()
        return result

    def listed(self, **params: Any) -> dict[str, dict[str, Any]]:
        result = self.run(LIST_CONFIGURATIONS, **params)
        assert isinstance(result, ListResult)
        assert result.object_name == "configuration"
        return {item["name"]: item for item in result.items}

    def events(self) -> list[Event]:
        with self.runtime.sessions() as session:
            return list(session.scalars(select(Event).order_by(Event.id)))

    def stored(self, name: str) -> str | None:
        with self.runtime.sessions() as session:
            row = session.get(Configuration, name)
            return None if row is None else row.value


@pytest.fixture
def admin(migrated_database_url: str, plugin_manager: pluggy.PluginManager) -> Iterator[Admin]:
    plugin_manager.register(ExtraKeys(), name="test-keys")
    runtime = Runtime.for_url(migrated_database_url, DATABASE_KEY, pm=plugin_manager)
    with runtime.sessions() as session:
        seed_cloud(session, DATABASE_KEY, crypto.DEFAULT_ALGORITHM)
        session.commit()
    yield Admin(runtime)
    runtime.close()


def test_commands_are_root_admin_only() -> None:
    # 4.1's bitmask 1: users, domain and resource admins get 432 before the handler.
    assert LIST_CONFIGURATIONS.roles == UPDATE_CONFIGURATION.roles == Role.ADMIN == 1
    assert [p.name for p in LIST_CONFIGURATIONS.params] == [
        "category", "name", "keyword", "page", "pagesize",
    ]  # fmt: skip
    assert [(p.name, p.required, p.length) for p in UPDATE_CONFIGURATION.params] == [
        ("name", True, 255),
        ("value", False, 4095),
    ]


# ---- listConfigurations ------------------------------------------------------------------


def test_lists_every_declared_key_by_name_with_its_value(admin: Admin) -> None:
    result = admin.run(LIST_CONFIGURATIONS)
    names = [item["name"] for item in result.items]
    assert names == sorted(names)
    assert result.count == len(names) == len(admin.runtime.config) - 1  # not the hidden one
    assert "test.hidden.flag" not in names
    page = admin.listed()["default.page.size"]
    assert page == {
        "category": "Advanced",
        "name": "default.page.size",
        "value": "500",
        "description": admin.runtime.config.get_key("default.page.size").description,
    }
    assert admin.listed()["test.remote.password"]["value"] is None  # unset: no value


def test_filters_and_paging(admin: Admin) -> None:
    assert set(admin.listed(name="page.size")) == {"default.page.size"}
    assert set(admin.listed(name="PAGE.SIZE")) == {"default.page.size"}
    assert set(admin.listed(category="secure")) == {SSO_KEY, "test.remote.password"}
    assert "test.worker.threads" in admin.listed(keyword="worker pool")  # description
    assert "default.page.size" in admin.listed(keyword="500")  # value
    assert "test.worker.threads" in admin.listed(keyword="DEFAULT")  # 4.1's instance column
    everything = admin.run(LIST_CONFIGURATIONS).items
    second = admin.run(LIST_CONFIGURATIONS, page=2, pagesize=5)
    assert second.count == len(everything)
    assert list(second.items) == list(everything[5:10])
    with pytest.raises(InvalidParameterValue):
        admin.run(LIST_CONFIGURATIONS, pagesize=5)


def test_secret_values_are_never_shown_nor_searchable(admin: Admin) -> None:
    admin.run(UPDATE_CONFIGURATION, name="test.remote.password", value=SECRET)

    listed = admin.listed()
    assert listed["test.remote.password"]["value"] == MASK
    assert listed[SSO_KEY]["value"] == MASK  # seeded by setup, encrypted
    assert admin.listed(keyword="s3cr3t") == {}
    # Stored encrypted under the database key, never in clear.
    stored = admin.stored("test.remote.password")
    assert stored is not None and stored.startswith("ENC(") and SECRET not in stored
    inner = crypto.unwrap_enc(stored)
    assert inner is not None
    assert crypto.decrypt(inner, DATABASE_KEY, crypto.DEFAULT_ALGORITHM) == SECRET


def test_a_listing_is_one_statement_however_many_values_are_set(admin: Admin) -> None:
    def statements() -> int:
        count = 0

        def counter(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            nonlocal count
            count += not statement.lstrip().upper().startswith("BEGIN")

        sa_event.listen(admin.runtime.engine, "before_cursor_execute", counter)
        try:
            admin.run(LIST_CONFIGURATIONS, keyword="a")
        finally:
            sa_event.remove(admin.runtime.engine, "before_cursor_execute", counter)
        return count

    before = statements()
    for name, value in (("default.page.size", "200"), ("test.worker.threads", "8")):
        admin.run(UPDATE_CONFIGURATION, name=name, value=value)
    admin.run(UPDATE_CONFIGURATION, name="test.remote.password", value=SECRET)
    assert statements() == before == 1


# ---- updateConfiguration ------------------------------------------------------------------


def test_update_stores_answers_and_records_an_event(admin: Admin) -> None:
    result = admin.run(UPDATE_CONFIGURATION, name="default.page.size", value=" 200 ")

    assert isinstance(result, ObjectResult)
    assert result.object_name == "configuration"
    assert result.fields["value"] == "200"  # validated and normalised
    assert admin.stored("default.page.size") == "200"
    assert admin.listed()["default.page.size"]["value"] == "200"
    [event] = admin.events()
    assert (event.type, event.level, event.account_id, event.user_id) == (
        "CONFIGURATION.VALUE.EDIT",
        "INFO",
        admin.ctx.account_id,
        admin.ctx.user_id,
    )
    assert "'default.page.size'" in event.description
    assert "'200'" in event.description


def test_secret_updates_show_no_value_anywhere(admin: Admin) -> None:
    result = admin.run(UPDATE_CONFIGURATION, name="test.remote.password", value=SECRET)

    assert result.fields["value"] == MASK
    [event] = admin.events()
    assert "test.remote.password" in event.description
    assert SECRET not in event.description
    assert "s3cr3t" not in repr(result)


def test_restart_required_keys_say_so(admin: Admin) -> None:
    result = admin.run(UPDATE_CONFIGURATION, name="test.worker.threads", value="8")

    assert result.fields["description"].endswith(RESTART_NOTICE)
    assert RESTART_NOTICE in admin.events()[0].description
    assert admin.listed()["test.worker.threads"]["description"].endswith(RESTART_NOTICE)
    assert RESTART_NOTICE not in admin.listed()["default.page.size"]["description"]


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("test.worker.threads", "65", r"'test.worker.threads': must be at most 64, got '65'"),
        ("test.worker.threads", "many", r"'test.worker.threads': expected an integer"),
        ("default.page.size", "0", r"'default.page.size': must be at least 1"),
        ("no.such.key", "1", r"invalid name: Unknown configuration parameter 'no.such.key'"),
    ],
)
def test_invalid_values_are_431_naming_the_key(
    admin: Admin, name: str, value: str, expected: str
) -> None:
    with pytest.raises(InvalidParameterValue, match=expected) as raised:
        admin.run(UPDATE_CONFIGURATION, name=name, value=value)

    assert raised.value.errorcode == 431
    assert "updateconfiguration" in raised.value.errortext
    assert admin.stored(name) is None
    assert admin.events() == []


def test_a_bad_secret_is_not_echoed_in_the_error(admin: Admin) -> None:
    admin.runtime.pm.register(SecretNumber(), name="secret-number")
    runtime = Runtime.for_url(admin.runtime.engine.url, DATABASE_KEY, pm=admin.runtime.pm)
    try:
        with pytest.raises(InvalidParameterValue) as raised:
            Admin(runtime).run(UPDATE_CONFIGURATION, name="test.secret.pin", value="secret-12")
    finally:
        runtime.close()
    assert "secret-12" not in raised.value.errortext


class SecretNumber:
    """A plugin declaring a secret integer, to see a bad secret value rejected."""

    @hookimpl
    def cumulo_configuration_keys(self) -> list[ConfigKey]:
        return [ConfigKey("test.secret.pin", ValueType.INTEGER, None, "A PIN.", secret=True)]


def test_empty_or_null_value_resets_and_no_value_answers(admin: Admin) -> None:
    admin.run(UPDATE_CONFIGURATION, name="default.page.size", value="200")

    unchanged = admin.run(UPDATE_CONFIGURATION, name="default.page.size")
    assert unchanged.fields["value"] == "200"
    assert len(admin.events()) == 1  # answering is not changing
    for clearing in ("", "null"):
        reset = admin.run(UPDATE_CONFIGURATION, name="default.page.size", value=clearing)
        assert reset.fields["value"] == "500"  # back to the declared default
        assert admin.stored("default.page.size") is None
    assert "reset to its default" in admin.events()[-1].description
