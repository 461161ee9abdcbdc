"""Users: creation, updates, states, deletion, keys, and who may change whom."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from test_accounts_fixtures import DATABASE_KEY, Cloud, make_cloud

from cumulo.accounts import users
from cumulo.accounts.models import Account, AccountState, AccountType, User, UserState
from cumulo.auth.keys import register_user_keys
from cumulo.events.models import Event
from cumulo.sdk.errors import InvalidParameterValue, PermissionDenied
from cumulo.setup.passwords import encode_md5


@pytest.fixture
def cloud(db_session: Session) -> Cloud:
    """A freshly seeded cloud."""
    return make_cloud(db_session)


def _add_user(cloud: Cloud, account_name: str, username: str, **kwargs: object) -> User:
    ctx = kwargs.pop("ctx", cloud.admin)
    return users.create_user(
        ctx,  # type: ignore[arg-type]
        cloud.session,
        encode_password=encode_md5,
        account_name=account_name,
        domain=kwargs.pop("domain", None),  # type: ignore[arg-type]
        username=username,
        password="pw",
        email=f"{username}@example.org",
        firstname=username,
        lastname="Test",
        **kwargs,  # type: ignore[arg-type]
    )


def _update(cloud: Cloud, user: User, ctx: object = None, **kwargs: object) -> User:
    return users.update_user(
        ctx or cloud.admin,  # type: ignore[arg-type]
        cloud.session,
        user,
        encode_password=encode_md5,
        database_key=DATABASE_KEY,
        **kwargs,  # type: ignore[arg-type]
    )


def test_create_user_in_an_existing_account(cloud: Cloud) -> None:
    d1 = cloud.domain("D1")
    account, _ = cloud.account("team", domain=d1)
    second = _add_user(cloud, "team", "second", domain=d1, timezone="UTC")
    assert (second.account_id, second.timezone) == (account.id, "UTC")
    with pytest.raises(InvalidParameterValue, match="The user second already exists"):
        _add_user(cloud, "team", "second", domain=d1)
    with pytest.raises(InvalidParameterValue, match="Unable to find account team"):
        _add_user(cloud, "team", "elsewhere")  # ROOT has no account "team"
    with pytest.raises(PermissionDenied, match="system"):
        _add_user(cloud, "system", "intruder")
    account.state = AccountState.DISABLED.value
    with pytest.raises(InvalidParameterValue, match="Unable to find account team"):
        _add_user(cloud, "team", "third", domain=d1)


def test_update_user_fields_password_and_keys(cloud: Cloud) -> None:
    _, user = cloud.account("alice")
    cloud.account("bob")
    _update(
        cloud,
        user,
        firstname="Alicia",
        email="new@example.org",
        password="changed",
        username="alicia",
        api_key="my-api-key",
        secret_key="my-secret",
    )
    assert (user.firstname, user.email, user.username) == ("Alicia", "new@example.org", "alicia")
    assert user.password == encode_md5("changed")
    assert user.api_key == "my-api-key"
    assert user.secret_key is not None and user.secret_key.startswith("ENC(")
    assert user.reveal_secret_key(DATABASE_KEY) == "my-secret"
    with pytest.raises(InvalidParameterValue, match="userApiKey/userSecretKey pair"):
        _update(cloud, user, api_key="only-one")
    with pytest.raises(InvalidParameterValue, match="already exists in domain"):
        _update(cloud, user, username="bob")
    _, carol = cloud.account("carol")
    with pytest.raises(InvalidParameterValue, match="api key exists"):
        _update(cloud, carol, api_key="my-api-key", secret_key="x")


def test_a_user_changes_only_itself(cloud: Cloud) -> None:
    _, alice = cloud.account("team")
    colleague = _add_user(cloud, "team", "colleague")
    ctx = cloud.ctx(alice)
    _update(cloud, alice, ctx, firstname="Me")
    with pytest.raises(PermissionDenied):
        _update(cloud, colleague, ctx, firstname="Not me")
    with pytest.raises(PermissionDenied):
        users.register_keys(ctx, cloud.session, colleague, lambda user: ("a", "b"))
    assert colleague.firstname == "colleague"


def test_register_keys_checks_the_caller_then_generates(cloud: Cloud) -> None:
    _, alice = cloud.account("alice")
    api_key, secret_key = users.register_keys(
        cloud.ctx(alice),
        cloud.session,
        alice,
        lambda user: register_user_keys(cloud.session, user, DATABASE_KEY),
    )
    assert len(api_key) == 86 and alice.api_key == api_key
    assert alice.reveal_secret_key(DATABASE_KEY) == secret_key
    system = cloud.session.get(User, 1)
    assert system is not None
    with pytest.raises(PermissionDenied, match="system"):
        users.register_keys(cloud.admin, cloud.session, system, lambda user: ("a", "b"))
    events = cloud.session.scalars(select(Event).where(Event.type == "REGISTER.USER.KEY"))
    assert [event.user_id for event in events] == [alice.id]


def test_disable_enable_lock(cloud: Cloud) -> None:
    account, alice = cloud.account("team")
    second = _add_user(cloud, "team", "second")
    session, admin = cloud.session, cloud.admin
    users.disable_user(admin, session, alice)
    assert alice.state == UserState.DISABLED
    with pytest.raises(InvalidParameterValue, match="only an enabled user can be locked"):
        users.lock_user(admin, session, alice)
    users.lock_user(admin, session, second)
    # No enabled user is left in the account: the account is locked too.
    assert second.state == UserState.LOCKED and account.state == AccountState.LOCKED
    users.lock_user(admin, session, second)  # already locked: nothing changes
    alice.incorrect_login_attempts = 4
    users.enable_user(admin, session, alice)
    assert alice.state == UserState.ENABLED and alice.incorrect_login_attempts == 0
    assert account.state == AccountState.ENABLED


def test_lock_keeps_the_account_while_someone_is_enabled(cloud: Cloud) -> None:
    account, alice = cloud.account("team")
    _add_user(cloud, "team", "second")
    users.lock_user(cloud.admin, cloud.session, alice)
    assert account.state == AccountState.ENABLED


def test_delete_user(cloud: Cloud) -> None:
    account, alice = cloud.account("alice")
    users.delete_user(cloud.admin, cloud.session, alice)
    assert alice.removed is not None and account.removed is None
    with pytest.raises(InvalidParameterValue, match="doesn't exist"):
        users.delete_user(cloud.admin, cloud.session, alice)
    with pytest.raises(InvalidParameterValue, match="active user"):
        users.disable_user(cloud.admin, cloud.session, alice)
    _add_user(cloud, "alice", "alice")  # the username is free again


def test_the_last_root_admin_user_stays(cloud: Cloud) -> None:
    session, admin = cloud.session, cloud.admin
    for action in (users.delete_user, users.disable_user, users.lock_user):
        with pytest.raises(PermissionDenied, match="last enabled root admin"):
            action(admin, session, cloud.admin_user)
    helper = _add_user(cloud, "admin", "helper")
    users.disable_user(admin, session, cloud.admin_user)
    with pytest.raises(PermissionDenied, match="last enabled root admin"):
        users.delete_user(admin, session, helper)


def test_domain_admin_reaches_only_its_subtree(cloud: Cloud) -> None:
    d1 = cloud.domain("D1")
    d2 = cloud.domain("D2")
    _, d1admin = cloud.account("d1admin", AccountType.DOMAIN_ADMIN, d1)
    _, mine = cloud.account("mine", domain=d1)
    _, theirs = cloud.account("theirs", domain=d2)
    ctx = cloud.ctx(d1admin)
    users.disable_user(ctx, cloud.session, mine)
    for action in (users.disable_user, users.enable_user, users.lock_user):
        for target in (theirs, cloud.admin_user):
            with pytest.raises(PermissionDenied):
                action(ctx, cloud.session, target)
    with pytest.raises(PermissionDenied):
        _update(cloud, theirs, ctx, firstname="hacked")
    assert theirs.state == UserState.ENABLED and theirs.firstname == "Theirs"
    admin_account = cloud.session.get(Account, cloud.admin.account_id)
    assert admin_account is not None and admin_account.state == AccountState.ENABLED
