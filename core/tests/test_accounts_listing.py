"""listAccounts and listUsers: 4.1's scoping, paging, counts, and constant statements."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session
from test_accounts_fixtures import Cloud, count_statements, make_cloud

from cumulo.accounts.account_listing import list_accounts
from cumulo.accounts.models import Account, AccountType, User
from cumulo.accounts.user_listing import list_users
from cumulo.sdk.api import CallContext
from cumulo.sdk.errors import InvalidParameterValue, PermissionDenied


@pytest.fixture
def cloud(db_session: Session) -> Cloud:
    """A freshly seeded cloud."""
    return make_cloud(db_session)


def _accounts(cloud: Cloud, ctx: CallContext | None = None, **kwargs: object) -> list[str]:
    page = list_accounts(
        ctx or cloud.admin,
        cloud.session,
        max_page_size=500,
        **kwargs,  # type: ignore[arg-type]
    )
    return [account.account_name for account, _ in page.rows]


def _users(cloud: Cloud, ctx: CallContext | None = None, **kwargs: object) -> list[str]:
    rows, _ = list_users(
        ctx or cloud.admin,
        cloud.session,
        max_page_size=500,
        **kwargs,  # type: ignore[arg-type]
    )
    return [user.username for user, _, _ in rows]


def _world(cloud: Cloud) -> dict[str, object]:
    d1 = cloud.domain("D1")
    sub = cloud.domain("Sub", d1)
    d2 = cloud.domain("D2")
    _, d1admin = cloud.account("d1admin", AccountType.DOMAIN_ADMIN, d1)
    _, alice = cloud.account("alice", domain=d1)
    cloud.account("subuser", domain=sub)
    cloud.account("bob", domain=d2)
    return {"d1": d1, "sub": sub, "d2": d2, "dadmin": cloud.ctx(d1admin), "alice": alice}


def test_list_accounts_scoping_as_41(cloud: Cloud) -> None:
    w = _world(cloud)
    dadmin = w["dadmin"]
    alice = cloud.ctx(w["alice"])  # type: ignore[arg-type]
    # Without listall, domainid or id everyone sees only its own account.
    assert _accounts(cloud) == ["admin"]
    assert _accounts(cloud, dadmin) == ["d1admin"]  # type: ignore[arg-type]
    # The system account is never listed.
    assert _accounts(cloud, listall=True) == ["admin", "d1admin", "alice", "subuser", "bob"]
    assert _accounts(cloud, dadmin, listall=True) == ["d1admin", "alice", "subuser"]  # type: ignore[arg-type]
    assert _accounts(cloud, domain=w["d1"]) == ["d1admin", "alice"]
    assert _accounts(cloud, domain=w["d1"], isrecursive=True) == ["d1admin", "alice", "subuser"]
    assert _accounts(cloud, alice, listall=True) == ["alice"]
    assert _accounts(cloud, alice, domain=w["d1"]) == ["alice"]
    with pytest.raises(PermissionDenied):
        _accounts(cloud, dadmin, domain=w["d2"])  # type: ignore[arg-type]
    with pytest.raises(PermissionDenied):
        _accounts(cloud, alice, domain=w["sub"])


def test_list_accounts_filters(cloud: Cloud) -> None:
    w = _world(cloud)
    assert _accounts(cloud, listall=True, account_type=AccountType.DOMAIN_ADMIN) == ["d1admin"]
    assert _accounts(cloud, listall=True, keyword="ub") == ["subuser"]
    assert _accounts(cloud, listall=True, name="bob") == ["bob"]
    assert _accounts(cloud, listall=True, state="disabled") == []
    assert _accounts(cloud, listall=True, cleanup_required=False)[0] == "admin"
    assert _accounts(cloud, domain=w["d1"], name="alice") == ["alice"]
    with pytest.raises(InvalidParameterValue, match="Unable to find account by name nobody"):
        _accounts(cloud, domain=w["d1"], name="nobody")


def test_list_accounts_wildcards_in_values_match_literally(cloud: Cloud) -> None:
    # Filters are bound parameters of a statement built once per shape; the LIKE
    # patterns escape %, _ and \ themselves, so they still match only literally.
    odd = cloud.domain("a_%b")
    oddly = cloud.domain("axyb")
    cloud.account("under_score", domain=odd)
    cloud.account("underxscore", domain=oddly)
    cloud.account("back\\slash")
    assert _accounts(cloud, listall=True, keyword="_") == ["under_score"]
    assert _accounts(cloud, listall=True, keyword="%") == []
    assert _accounts(cloud, listall=True, keyword="k\\s") == ["back\\slash"]
    assert _accounts(cloud, domain=odd, isrecursive=True) == ["under_score"]
    assert _accounts(cloud, domain=oddly, isrecursive=True) == ["underxscore"]


def test_list_accounts_by_id_checks_access(cloud: Cloud) -> None:
    w = _world(cloud)
    page = list_accounts(cloud.admin, cloud.session, listall=True, max_page_size=500)
    by_name = {account.account_name: account for account, _ in page.rows}
    assert _accounts(cloud, w["dadmin"], account=by_name["alice"]) == ["alice"]  # type: ignore[arg-type]
    with pytest.raises(PermissionDenied):
        _accounts(cloud, w["dadmin"], account=by_name["bob"])  # type: ignore[arg-type]
    system = cloud.session.get(Account, 1)
    with pytest.raises(InvalidParameterValue, match="Unable to find account by id"):
        _accounts(cloud, account=system)


def test_list_accounts_paging_and_nested_users(cloud: Cloud) -> None:
    for index in range(7):
        cloud.account(f"acct{index}")
    page = list_accounts(
        cloud.admin, cloud.session, listall=True, page=2, pagesize=3, max_page_size=500
    )
    assert page.total == 8  # admin + 7
    assert [account.account_name for account, _ in page.rows] == ["acct2", "acct3", "acct4"]
    for account, domain in page.rows:
        assert [user.username for user in page.users[account.id]] == [account.account_name]
        assert domain.path == "/"
    empty = list_accounts(
        cloud.admin, cloud.session, listall=True, page=9, pagesize=3, max_page_size=500
    )
    assert (empty.rows, empty.total) == ([], 8)


@pytest.mark.parametrize("with_details", [False, True])
def test_list_accounts_costs_constant_statements(cloud: Cloud, with_details: bool) -> None:
    details = {"tier": "gold"} if with_details else None

    def statements_for_all() -> int:
        cloud.session.flush()
        cloud.session.expire_all()
        with count_statements(cloud.session) as seen:
            page = list_accounts(cloud.admin, cloud.session, listall=True, max_page_size=500)
            for account, _ in page.rows:
                assert page.users[account.id]
        return len(seen)

    for index in range(2):
        cloud.account(f"few{index}", details=details)
    few = statements_for_all()
    for index in range(38):
        cloud.account(f"many{index}", details=details)
        cloud.session.add(
            User(username=f"extra{index}", password="x", account_id=cloud.admin.account_id)
        )
    cloud.session.flush()
    many = statements_for_all()
    assert few == many == (3 if with_details else 2)


def test_list_users_scoping_as_41(cloud: Cloud) -> None:
    w = _world(cloud)
    dadmin = w["dadmin"]
    # Always the subtree of the caller's (or the given) domain; never the system user.
    assert _users(cloud) == ["admin", "d1admin", "alice", "subuser", "bob"]
    assert _users(cloud, dadmin) == ["d1admin", "alice", "subuser"]  # type: ignore[arg-type]
    assert _users(cloud, domain=w["sub"]) == ["subuser"]
    assert _users(cloud, account_name="alice", domain=w["d1"]) == ["alice"]
    assert _users(cloud, dadmin, account_name="bob") == []  # type: ignore[arg-type]
    assert _users(cloud, keyword="sub") == ["subuser"]
    assert _users(cloud, username="bob") == ["bob"]
    assert _users(cloud, account_type=AccountType.DOMAIN_ADMIN) == ["d1admin"]
    system = cloud.session.get(User, 1)
    assert system is not None
    assert _users(cloud, user=system) == []
    with pytest.raises(PermissionDenied):
        _users(cloud, dadmin, domain=w["d2"])  # type: ignore[arg-type]
    with pytest.raises(PermissionDenied):
        _users(cloud, dadmin, domain=cloud.root)  # type: ignore[arg-type]


def test_list_users_costs_one_statement(cloud: Cloud) -> None:
    def statements() -> int:
        cloud.session.flush()
        cloud.session.expire_all()
        with count_statements(cloud.session) as seen:
            rows, total = list_users(cloud.admin, cloud.session, max_page_size=500)
            assert len(rows) == total
            for user, account, domain in rows:
                assert account.id == user.account_id and domain.id == account.domain_id
        return len(seen)

    cloud.account("one")
    cloud.account("two")
    few = statements()
    for index in range(38):
        cloud.account(f"many{index}", domain=cloud.domain(f"D{index}"))
    assert statements() == few == 1
