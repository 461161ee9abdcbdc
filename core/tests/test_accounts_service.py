"""Accounts: creation rules, updates, state changes, deletion and the last root admin."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from test_accounts_fixtures import Cloud, make_cloud

from cumulo.accounts import account_service
from cumulo.accounts.account_listing import details_of
from cumulo.accounts.models import Account, AccountState, AccountType, User
from cumulo.events.models import Event
from cumulo.sdk.errors import InvalidParameterValue, PermissionDenied
from cumulo.setup.passwords import encode_md5


@pytest.fixture
def cloud(db_session: Session) -> Cloud:
    """A freshly seeded cloud."""
    return make_cloud(db_session)


def _events(cloud: Cloud, event_type: str) -> list[Event]:
    return list(cloud.session.scalars(select(Event).where(Event.type == event_type)))


def test_create_account_with_its_first_user(cloud: Cloud) -> None:
    d1 = cloud.domain("D1")
    account, user = cloud.account(
        "alice",
        AccountType.NORMAL,
        d1,
        network_domain="alice.example",
        timezone="Europe/Paris",
        details={"tier": "gold"},
    )
    assert (account.account_name, account.type, account.domain_id) == ("alice", 0, d1.id)
    assert account.state == AccountState.ENABLED and account.network_domain == "alice.example"
    assert (user.username, user.account_id, user.timezone) == ("alice", account.id, "Europe/Paris")
    assert user.password == encode_md5("secret")  # the given encoder, never the plain text
    assert details_of(cloud.session, [account.id]) == {account.id: {"tier": "gold"}}
    (created,) = _events(cloud, "ACCOUNT.CREATE")
    assert created.account_id == account.id and created.user_id == cloud.admin.user_id


def test_account_name_defaults_to_username_and_ids_can_be_given(cloud: Cloud) -> None:
    account_uuid = "11111111-2222-4333-8444-555555555555"
    user_uuid = "66666666-7777-4888-9999-000000000000"
    account, user = cloud.account(
        "ignored",
        username="bob",
        account_name=None,
        account_uuid=account_uuid,
        user_uuid=user_uuid,
    )
    assert account.account_name == "bob"
    assert (account.uuid, user.uuid) == (account_uuid, user_uuid)
    with pytest.raises(InvalidParameterValue, match="accountid"):
        cloud.account("carol", account_uuid=account_uuid)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"account_type": 4}, "Invalid account type 4"),
        ({"account_type": 5}, "Invalid account type 5"),
        ({"network_domain": "bad_domain"}, "Invalid network domain"),
        ({"timezone": "x" * 31}, "timezone"),
        ({"username": " "}, "Username is empty"),
    ],
)
def test_create_account_refuses_bad_values(
    cloud: Cloud, kwargs: dict[str, object], message: str
) -> None:
    account_type = kwargs.pop("account_type", AccountType.NORMAL)
    with pytest.raises(InvalidParameterValue, match=message):
        cloud.account("x", account_type, **kwargs)  # type: ignore[arg-type]


def test_root_admins_only_in_root_and_only_by_root_admins(cloud: Cloud) -> None:
    d1 = cloud.domain("D1")
    with pytest.raises(InvalidParameterValue, match="Invalid account type 1 given for an"):
        cloud.account("admin2", AccountType.ADMIN, d1)
    _, resource_admin = cloud.account("res", AccountType.RESOURCE_DOMAIN_ADMIN)
    assert resource_admin.registration_token is not None
    with pytest.raises(PermissionDenied, match="root admin"):
        account_service.create_account(
            cloud.ctx(resource_admin),
            cloud.session,
            encode_password=encode_md5,
            username="sneaky",
            password="pw",
            email="s@example.org",
            firstname="S",
            lastname="N",
            account_type=AccountType.ADMIN,
        )


def test_duplicates_are_refused_per_domain(cloud: Cloud) -> None:
    d1 = cloud.domain("D1")
    d2 = cloud.domain("D2")
    cloud.account("alice", domain=d1)
    with pytest.raises(InvalidParameterValue, match="The user alice already exists"):
        cloud.account("other", domain=d1, username="alice")
    with pytest.raises(InvalidParameterValue, match="account: alice already exists"):
        cloud.account("alice", domain=d1, username="alice2")
    cloud.account("alice", domain=d2)  # another domain: fine


def test_update_account_renames_and_upserts_details(cloud: Cloud) -> None:
    account, _ = cloud.account("alice", details={"a": "1", "b": "2"})
    cloud.account("taken")
    account_service.update_account(
        cloud.admin, cloud.session, account, new_name="alicia", details={"b": "3", "c": "4"}
    )
    assert account.account_name == "alicia"
    assert details_of(cloud.session, [account.id])[account.id] == {"a": "1", "b": "3", "c": "4"}
    with pytest.raises(InvalidParameterValue, match="already exists an account"):
        account_service.update_account(cloud.admin, cloud.session, account, new_name="taken")
    system = cloud.session.get(Account, 1)
    assert system is not None
    with pytest.raises(InvalidParameterValue, match="system account"):
        account_service.update_account(cloud.admin, cloud.session, system, new_name="x")
    assert len(_events(cloud, "ACCOUNT.UPDATE")) == 1


def test_disable_lock_enable(cloud: Cloud) -> None:
    account, _ = cloud.account("alice")
    session, admin = cloud.session, cloud.admin
    account_service.disable_account(admin, session, account, lock=True)
    assert account.state == AccountState.LOCKED
    account_service.disable_account(admin, session, account)
    assert account.state == AccountState.DISABLED
    with pytest.raises(InvalidParameterValue, match="only an enabled account can be locked"):
        account_service.disable_account(admin, session, account, lock=True)
    account.cleanup_needed = True
    account_service.enable_account(admin, session, account)
    assert account.state == AccountState.ENABLED and not account.cleanup_needed
    assert len(_events(cloud, "ACCOUNT.DISABLE")) == 2
    assert len(_events(cloud, "ACCOUNT.ENABLE")) == 1


def test_delete_account_removes_its_users(cloud: Cloud) -> None:
    account, user = cloud.account("alice")
    account_service.delete_account(cloud.admin, cloud.session, account)
    assert account.removed is not None and user.removed is not None
    account_service.delete_account(cloud.admin, cloud.session, account)  # again: success
    assert len(_events(cloud, "ACCOUNT.DELETE")) == 1
    cloud.account("alice")  # the name is free again


def test_the_last_root_admin_stays(cloud: Cloud) -> None:
    session, admin = cloud.session, cloud.admin
    admin_account = session.get(Account, admin.account_id)
    assert admin_account is not None
    for action in (
        lambda: account_service.delete_account(admin, session, admin_account),
        lambda: account_service.disable_account(admin, session, admin_account),
        lambda: account_service.disable_account(admin, session, admin_account, lock=True),
    ):
        with pytest.raises(PermissionDenied, match="last enabled root admin"):
            action()
    # With a second root admin, the first may go.
    cloud.account("admin2", AccountType.ADMIN)
    account_service.delete_account(admin, session, admin_account)
    assert admin_account.removed is not None


def test_system_account_is_never_changed(cloud: Cloud) -> None:
    system = cloud.session.get(Account, 1)
    assert system is not None
    with pytest.raises(PermissionDenied, match="system"):
        account_service.delete_account(cloud.admin, cloud.session, system)
    with pytest.raises(PermissionDenied, match="system"):
        account_service.disable_account(cloud.admin, cloud.session, system)


def test_domain_admin_manages_only_its_subtree(cloud: Cloud) -> None:
    d1 = cloud.domain("D1")
    d2 = cloud.domain("D2")
    _, d1admin = cloud.account("d1admin", AccountType.DOMAIN_ADMIN, d1)
    mine, _ = cloud.account("mine", domain=cloud.domain("Sub", d1))
    theirs, _ = cloud.account("theirs", domain=d2)
    ctx = cloud.ctx(d1admin)
    account_service.disable_account(ctx, cloud.session, mine)
    for target in (theirs, cloud.session.get(Account, cloud.admin.account_id)):
        assert target is not None
        with pytest.raises(PermissionDenied):
            account_service.disable_account(ctx, cloud.session, target)
        with pytest.raises(PermissionDenied):
            account_service.enable_account(ctx, cloud.session, target)
    assert theirs.state == AccountState.ENABLED


def test_find_account_by_name_or_id(cloud: Cloud) -> None:
    d1 = cloud.domain("D1")
    account, _ = cloud.account("alice", domain=d1)
    find = account_service.find_account_by_name_or_id
    assert find(cloud.session, account=account, name=None, domain=None) is account
    assert find(cloud.session, account=None, name="alice", domain=d1) is account
    with pytest.raises(InvalidParameterValue, match="Unable to find account"):
        find(cloud.session, account=None, name="alice", domain=cloud.root)
    with pytest.raises(InvalidParameterValue, match="Unable to find account"):
        find(cloud.session, account=None, name="alice", domain=None)
    user_count = cloud.session.scalar(select(User.id).where(User.account_id == account.id))
    assert user_count is not None
