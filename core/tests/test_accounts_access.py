"""Domain scoping: who sees which accounts, and the checks other list commands reuse."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from test_accounts_fixtures import Cloud, make_cloud

from cumulo.accounts.access import (
    check_account_access,
    check_account_management,
    check_domain_access,
    check_list_scope,
    domain_subtree,
    domain_subtree_of,
    role_of,
    visible_account_ids,
    visible_accounts,
)
from cumulo.accounts.models import Account, AccountType, Domain
from cumulo.sdk.api import Role
from cumulo.sdk.errors import InvalidParameterValue, PermissionDenied


@pytest.fixture
def cloud(db_session: Session) -> Cloud:
    """A freshly seeded cloud."""
    return make_cloud(db_session)


def _names(cloud: Cloud, clause: object) -> set[str]:
    rows = cloud.session.scalars(select(Account.account_name).where(clause))  # type: ignore[arg-type]
    return set(rows)


def test_role_of_maps_types_as_41_does() -> None:
    assert role_of(1) == Role.ADMIN
    assert role_of(2) == Role.DOMAIN_ADMIN  # type 2 is bit 4 ...
    assert role_of(3) == Role.RESOURCE_ADMIN  # ... and type 3 is bit 2
    assert role_of(0) == Role.USER
    assert role_of(4) == Role(0)
    assert role_of(5) == Role(0)
    assert role_of(42) == Role(0)


def test_subtree_match_escapes_like_wildcards(cloud: Cloud) -> None:
    underscore = cloud.domain("a_b")
    lookalike = cloud.domain("aXb")
    child = cloud.domain("child", underscore)
    found = set(cloud.session.scalars(select(Domain.name).where(domain_subtree(underscore.path))))
    assert found == {"a_b", "child"}
    by_id = set(cloud.session.scalars(select(Domain.name).where(domain_subtree_of(underscore.id))))
    assert by_id == {"a_b", "child"}
    assert lookalike.name not in by_id and child.path == "/a_b/child/"


def test_visible_accounts_per_role(cloud: Cloud) -> None:
    d1 = cloud.domain("D1")
    d1sub = cloud.domain("Sub", d1)
    d2 = cloud.domain("D2")
    _, d1admin = cloud.account("d1admin", AccountType.DOMAIN_ADMIN, d1)
    _, alice = cloud.account("alice", AccountType.NORMAL, d1)
    cloud.account("subuser", AccountType.NORMAL, d1sub)
    cloud.account("bob", AccountType.NORMAL, d2)
    admin, dadmin, user = cloud.admin, cloud.ctx(d1admin), cloud.ctx(alice)

    everything = {"system", "admin", "d1admin", "alice", "subuser", "bob"}
    assert _names(cloud, visible_accounts(admin, listall=True)) == everything
    assert _names(cloud, visible_accounts(admin)) == {"admin"}
    assert _names(cloud, visible_accounts(dadmin, listall=True)) == {
        "d1admin",
        "alice",
        "subuser",
    }
    assert _names(cloud, visible_accounts(dadmin, domain_id=d1.id)) == {"d1admin", "alice"}
    assert _names(cloud, visible_accounts(dadmin, domain_id=d1.id, isrecursive=True)) == {
        "d1admin",
        "alice",
        "subuser",
    }
    # Never wider than the caller's own reach, even for an unchecked domain id.
    assert _names(cloud, visible_accounts(dadmin, domain_id=d2.id, listall=True)) == set()
    assert _names(cloud, visible_accounts(dadmin, account_name="bob", domain_id=d2.id)) == set()
    assert _names(cloud, visible_accounts(user, listall=True)) == {"alice"}
    assert _names(cloud, visible_accounts(user, account_name="d1admin")) == set()
    ids = set(cloud.session.scalars(visible_account_ids(dadmin, account_name="alice")))
    assert ids == {alice.account_id}


def test_domain_and_account_checks(cloud: Cloud) -> None:
    d1 = cloud.domain("D1")
    d2 = cloud.domain("D2")
    d1sub = cloud.domain("Sub", d1)
    _, d1admin = cloud.account("d1admin", AccountType.DOMAIN_ADMIN, d1)
    alice_account, alice = cloud.account("alice", AccountType.NORMAL, d1)
    bob_account, _ = cloud.account("bob", AccountType.NORMAL, d2)
    dadmin, user = cloud.ctx(d1admin), cloud.ctx(alice)
    session = cloud.session

    check_domain_access(dadmin, d1sub)
    with pytest.raises(PermissionDenied):
        check_domain_access(dadmin, d2)
    with pytest.raises(PermissionDenied):
        check_domain_access(dadmin, cloud.root)
    with pytest.raises(PermissionDenied):
        check_domain_access(user, d1sub)  # a user only within its own domain
    check_account_access(dadmin, session, alice_account)
    with pytest.raises(PermissionDenied):
        check_account_access(dadmin, session, bob_account)
    with pytest.raises(PermissionDenied):
        check_account_access(user, session, bob_account)
    check_account_access(user, session, alice_account)

    admin_account = session.get(Account, cloud.admin.account_id)
    assert admin_account is not None
    with pytest.raises(PermissionDenied):
        check_account_access(dadmin, session, admin_account)
    system = session.get(Account, 1)
    assert system is not None
    with pytest.raises(PermissionDenied, match="system"):
        check_account_management(cloud.admin, session, system)


def test_root_domain_admin_cannot_manage_root_admins(cloud: Cloud) -> None:
    _, rootdomadmin = cloud.account("rootdomadmin", AccountType.DOMAIN_ADMIN)
    ctx = cloud.ctx(rootdomadmin)
    admin_account = cloud.session.get(Account, cloud.admin.account_id)
    assert admin_account is not None
    check_account_access(ctx, cloud.session, admin_account)  # 4.1 lets it see them
    with pytest.raises(PermissionDenied, match="root admin"):
        check_account_management(ctx, cloud.session, admin_account)


def test_check_list_scope_answers_41_errors(cloud: Cloud) -> None:
    d1 = cloud.domain("D1")
    d2 = cloud.domain("D2")
    _, d1admin = cloud.account("d1admin", AccountType.DOMAIN_ADMIN, d1)
    alice_account, _ = cloud.account("alice", AccountType.NORMAL, d1)
    dadmin = cloud.ctx(d1admin)
    assert check_list_scope(dadmin, cloud.session, domain=d1, account_name="alice") == (
        alice_account
    )
    assert check_list_scope(dadmin, cloud.session, domain=d1) is None
    with pytest.raises(PermissionDenied):
        check_list_scope(dadmin, cloud.session, domain=d2)
    with pytest.raises(InvalidParameterValue, match="could not find account nobody"):
        check_list_scope(dadmin, cloud.session, domain=d1, account_name="nobody")
