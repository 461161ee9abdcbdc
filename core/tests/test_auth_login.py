"""Login rules (cumulo.auth.login) and the password chains (cumulo.auth.passwords):
domains, states, lockout after failed attempts, re-encoding on login, events.

Runs on a migrated, seeded database: SQLite, and MariaDB in the second pass.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from cumulo import crypto
from cumulo.accounts.models import Account, AccountType, Domain, User
from cumulo.auth import passwords, sessions
from cumulo.auth.authenticators import (
    Md5Authenticator,
    Pbkdf2Authenticator,
    Sha256SaltAuthenticator,
)
from cumulo.auth.login import (
    LoginAttempt,
    LoginSuccess,
    login_user,
    logout_user,
    normalise_domain_path,
    timezone_offset,
)
from cumulo.events.models import Event
from cumulo.runtime import Runtime
from cumulo.sdk.auth import UserAuthenticator
from cumulo.sdk.errors import AuthenticationFailed, LoginFailed
from cumulo.setup.seed import seed_cloud
from cumulo.testing.fakes import registered_drivers

DATABASE_KEY = "login-test-key"


@dataclass
class World:
    """A seeded cloud with a sub-domain ``/Sales/`` holding a user ``alice``."""

    runtime: Runtime
    session: Session
    sales: Domain
    alice: User
    admin: User

    def login(self, username: str, password: str | None, **kw: object) -> LoginSuccess:
        attempt = LoginAttempt(username=username, password=password, **kw)  # type: ignore[arg-type]
        return login_user(self.session, self.runtime.config_store(self.session), attempt)

    def refuse(self, username: str, password: str | None, **kw: object) -> str:
        """Attempt a login that must fail; commit as the API does; return the text."""
        with pytest.raises(LoginFailed) as failure:
            self.login(username, password, **kw)
        self.session.commit()
        return failure.value.errortext

    def events(self, level: str | None = None) -> list[Event]:
        query = select(Event).where(Event.type == "USER.LOGIN").order_by(Event.id)
        if level is not None:
            query = query.where(Event.level == level)
        return list(self.session.scalars(query))


@pytest.fixture
def world(migrated_database_url: str, plugin_manager: object) -> Iterator[World]:
    runtime = Runtime.for_url(migrated_database_url, DATABASE_KEY, pm=plugin_manager)  # type: ignore[arg-type]
    session = runtime.sessions()
    rows = seed_cloud(session, DATABASE_KEY, crypto.DEFAULT_ALGORITHM)
    sales = Domain(name="Sales", parent=rows.root_domain_id, path="/Sales/", level=1, owner=0)
    session.add(sales)
    session.flush()
    account = Account(account_name="alice-acct", type=int(AccountType.NORMAL), domain_id=sales.id)
    session.add(account)
    session.flush()
    alice = User(
        username="alice",
        password=Md5Authenticator().encode("wonderland"),
        account_id=account.id,
        firstname="Alice",
        lastname="Liddell",
        timezone="Asia/Kolkata",
    )
    session.add(alice)
    session.commit()
    admin = session.get(User, rows.admin_user_id)
    assert admin is not None
    try:
        yield World(runtime, session, sales, alice, admin)
    finally:
        session.close()
        runtime.close()


def test_admin_logs_in_to_root_with_the_seeded_md5_password(world: World) -> None:
    success = world.login("admin", "password", remote_addr="192.0.2.7")
    fields = success.response_fields()
    assert set(fields) == {
        "timeout",
        "sessionkey",
        "username",
        "userid",
        "domainid",
        "type",
        "account",
        "firstname",
        "lastname",
        "registered",
    }
    assert all(isinstance(value, str) for value in fields.values())
    assert (fields["timeout"], fields["username"], fields["type"]) == ("1800", "admin", "1")
    assert (fields["account"], fields["registered"]) == ("admin", "false")
    assert fields["userid"] == world.admin.uuid
    assert fields["sessionkey"] == success.session.session_key
    world.session.commit()
    [event] = world.events()
    assert event.description == "user has logged in from IP Address 192.0.2.7"
    assert (event.user_id, event.level) == (world.admin.id, "INFO")
    row = sessions.find_session(world.session, success.session.cookie)
    assert row is not None and row.user_id == world.admin.id


def test_domain_path_rules(world: World) -> None:
    for domain in ("/Sales/", "Sales", "/Sales", "Sales/"):
        fields = world.login("alice", "wonderland", domain_path=domain).response_fields()
        assert fields["domainid"] == world.sales.uuid
    assert normalise_domain_path("ROOT") == "/ROOT/"
    # "ROOT" is /ROOT/, not ROOT's path "/": 4.1 refuses it.
    assert world.refuse("admin", "password", domain_path="ROOT") == (
        "Unable to find the domain from the path /ROOT/"
    )
    # Without a domain, ROOT: alice lives in /Sales/, so she is not found there.
    assert "Failed to authenticate user alice" in world.refuse("alice", "wonderland")
    assert world.login("admin", "password", domain_path="/").response_fields()["type"] == "1"
    assert world.login("admin", "password", domain_path="").response_fields()["type"] == "1"


def test_domain_id_as_uuid_or_number(world: World) -> None:
    assert world.login("alice", "wonderland", domain_id=world.sales.uuid)
    assert world.login("alice", "wonderland", domain_id=str(world.sales.id))
    # domainid wins over domain, as 4.1 resolves it first.
    assert world.login("alice", "wonderland", domain_id=world.sales.uuid, domain_path="/")
    for bad in ("not-an-id", "00000000-0000-0000-0000-000000000000"):
        with pytest.raises(AuthenticationFailed, match="Invalid domain id entered"):
            world.login("alice", "wonderland", domain_id=bad)
    assert "Failed to authenticate" in world.refuse("alice", "wonderland", domain_id="999999")


def test_timezone_fields_and_registration_token(world: World) -> None:
    world.alice.registration_token = "token-123"
    fields = world.login("alice", "wonderland", domain_path="/Sales/").response_fields()
    assert (fields["timezone"], fields["timezoneoffset"]) == ("Asia/Kolkata", "5.5")
    assert fields["registrationtoken"] == "token-123"
    assert (fields["firstname"], fields["lastname"], fields["type"]) == ("Alice", "Liddell", "0")
    winter = dt.datetime(2026, 1, 15, 12, 0)
    assert timezone_offset("America/New_York", winter) == "-5.0"
    assert timezone_offset("No/Such_Zone", winter) == "0.0"  # Java's TimeZone: GMT


def test_wrong_password_unknown_user_and_system_user_are_alike(world: World) -> None:
    wrong = world.refuse("admin", "nope")
    assert (
        wrong == "Failed to authenticate user admin in domain /; please provide valid credentials"
    )
    assert world.refuse("ghost", "password").startswith("Failed to authenticate user ghost")
    assert world.refuse("system", "").startswith("Failed to authenticate user system")
    # Single sign-on without a verified signature is refused, and not counted.
    assert world.refuse("admin", None).startswith("Failed to authenticate")
    assert world.refuse("admin", "").startswith("Failed to authenticate")  # empty: never


def test_lockout_after_allowed_failures_and_reset_on_success(world: World) -> None:
    store = world.runtime.config_store(world.session)
    store.set("incorrect.login.attempts.allowed", "3")
    world.session.commit()
    sales = {"domain_path": "/Sales/"}
    world.refuse("alice", "bad", **sales)
    world.refuse("alice", "bad", **sales)
    world.session.refresh(world.alice)
    assert world.alice.incorrect_login_attempts == 2
    world.login("alice", "wonderland", **sales)  # a success resets the count
    world.session.commit()
    world.session.refresh(world.alice)
    assert world.alice.incorrect_login_attempts == 0
    opened = world.login("alice", "wonderland", **sales)
    world.session.commit()
    for _ in range(3):
        world.refuse("alice", "bad", **sales)
    world.session.refresh(world.alice)
    assert (world.alice.state, world.alice.incorrect_login_attempts) == ("disabled", 3)
    # Disabled: her sessions ended, and even the right password no longer works.
    assert sessions.find_session(world.session, opened.session.cookie) is None
    assert "is disabled/locked" in world.refuse("alice", "wonderland", **sales)
    failures = world.events(level="ERROR")
    assert len(failures) == 5
    assert failures[-1].description.endswith("disabled after 3 failed login attempts")


def test_root_admins_are_never_locked_out(world: World) -> None:
    for _ in range(7):
        world.refuse("admin", "bad")
    world.session.refresh(world.admin)
    assert (world.admin.state, world.admin.incorrect_login_attempts) == ("enabled", 0)
    assert world.login("admin", "password")


def test_disabled_or_locked_user_or_account_cannot_log_in(world: World) -> None:
    sales = {"domain_path": "/Sales/"}
    for state in ("disabled", "locked"):
        world.alice.state = state
        world.session.commit()
        assert "is disabled/locked" in world.refuse("alice", "wonderland", **sales)
    world.alice.state = "enabled"
    world.alice.account.state = "disabled"
    world.session.commit()
    assert "(or account is disabled/locked)" in world.refuse("alice", "wonderland", **sales)


def test_login_re_encodes_old_hashes_with_pbkdf2(world: World) -> None:
    assert world.alice.password == Md5Authenticator().encode("wonderland")
    world.login("alice", "wonderland", domain_path="/Sales/")
    world.session.commit()
    world.session.refresh(world.alice)
    assert world.alice.password.startswith("pbkdf2_sha256$")
    # Next time the PBKDF2 value is used as it is.
    stored = world.alice.password
    world.login("alice", "wonderland", domain_path="/Sales/")
    world.session.commit()
    world.session.refresh(world.alice)
    assert world.alice.password == stored


def test_plaintext_and_sha256salt_rows_log_in_and_are_upgraded(world: World) -> None:
    for stored in ("wonderland", Sha256SaltAuthenticator().encode("wonderland")):
        world.alice.password = stored
        world.session.commit()
        world.login("alice", "wonderland", domain_path="/Sales/")
        world.session.commit()
        world.session.refresh(world.alice)
        assert world.alice.password.startswith("pbkdf2_sha256$")


def test_configured_orders_are_honoured(world: World) -> None:
    store = world.runtime.config_store(world.session)
    store.set("user.password.encoders.order", "MD5")
    store.set("user.authenticators.order", "MD5")
    world.session.commit()
    assert passwords.encode_password(world.runtime.pm, "x", world.session) == (
        Md5Authenticator().encode("x")
    )
    # Without a session: the default order, PBKDF2 first.
    assert passwords.encode_password(world.runtime.pm, "x").startswith("pbkdf2_sha256$")
    # MD5 is both the only authenticator and the first encoder: nothing to upgrade.
    world.login("alice", "wonderland", domain_path="/Sales/")
    world.session.commit()
    world.session.refresh(world.alice)
    assert world.alice.password == Md5Authenticator().encode("wonderland")
    # A PLAINTEXT row is not accepted when PLAINTEXT is not in the chain.
    world.alice.password = "wonderland"
    world.session.commit()
    world.refuse("alice", "wonderland", domain_path="/Sales/")


def test_weaker_pbkdf2_rows_are_strengthened(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Pbkdf2Authenticator, "iterations", 1000)
    world.alice.password = Pbkdf2Authenticator().encode("wonderland")
    world.session.commit()
    monkeypatch.setattr(Pbkdf2Authenticator, "iterations", 2000)
    world.login("alice", "wonderland", domain_path="/Sales/")
    world.session.commit()
    world.session.refresh(world.alice)
    assert world.alice.password.startswith("pbkdf2_sha256$2000$")


class Directory(UserAuthenticator):
    """A directory-backed authenticator: accepts alice/wonderland, stores nothing."""

    name = "DIRECTORY"
    stores_password = False

    def authenticate(self, username: str, password: str, stored: str) -> bool:
        return (username, password) == ("alice", "looking-glass")


def test_directory_logins_never_rewrite_the_stored_value(world: World) -> None:
    passwords.clear_cache()
    try:
        with registered_drivers(
            "cumulo.authenticators", {"DIRECTORY": Directory, "PBKDF2": Pbkdf2Authenticator}
        ):
            store = world.runtime.config_store(world.session)
            store.set("user.authenticators.order", "DIRECTORY")
            store.set("user.password.encoders.order", "PBKDF2")
            world.session.commit()
            before = world.alice.password
            world.login("alice", "looking-glass", domain_path="/Sales/")
            world.session.commit()
            world.session.refresh(world.alice)
            assert world.alice.password == before
    finally:
        passwords.clear_cache()


def test_logout_ends_the_session_and_records_it(world: World) -> None:
    success = world.login("admin", "password")
    world.session.commit()
    row = sessions.find_session(world.session, success.session.cookie)
    assert row is not None
    logout_user(world.session, row)
    world.session.commit()
    assert sessions.find_session(world.session, success.session.cookie) is None
    [event] = world.session.scalars(select(Event).where(Event.type == "USER.LOGOUT"))
    assert (event.description, event.user_id) == ("user has logged out", world.admin.id)
