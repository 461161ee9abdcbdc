"""Resource limits over the API: what an account or a domain sees (defaults, -1 for
unlimited), who may change limits (admins, domain admins below themselves, never
users), limits enforced by reserve after an update, and recounting through the
counters registry."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

import falcon.testing
import pytest
from api_test_commands import make_caller
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cumulo.accounts.models import Account, AccountType, Domain, User
from cumulo.auth.keys import register_user_keys
from cumulo.keypairs.models import SSHKeyPair
from cumulo.limits import counters, service
from cumulo.limits.types import ResourceType
from cumulo.runtime import Runtime
from cumulo.sdk.errors import AccountLimitExceeded
from cumulo_api.testing import signed_request

Keys = tuple[str, str]


def _call(api: falcon.testing.TestClient, keys: Keys, command: str, **params: Any) -> Any:
    result = signed_request(api, keys, command, **params)
    assert result.status_code == 200, result.text
    (envelope, answer), *_ = json.loads(result.content).items()
    assert envelope == command.lower() + "response"
    return answer


def _error(
    api: falcon.testing.TestClient, keys: Keys, command: str, **params: Any
) -> tuple[int, str]:
    result = signed_request(api, keys, command, **params)
    assert result.status_code >= 400, result.text
    (answer,) = json.loads(result.content).values()
    return result.status_code, answer["errortext"]


def _maxes(answer: dict[str, Any]) -> dict[str, int]:
    return {item["resourcetype"]: item["max"] for item in answer["resourcelimit"]}


@pytest.fixture
def tree(runtime: Runtime) -> dict[str, Any]:
    """ROOT/Sales with domain admin ``sam`` and user ``carl`` in Sales; their keys and
    the public ids of ROOT and Sales."""
    with runtime.sessions() as session:
        root = session.scalars(select(Domain).where(Domain.path == "/")).one()
        sales = Domain(name="Sales", parent=root.id, owner=2, path="/Sales/", level=1)
        session.add(sales)
        session.flush()
        found = {"root": root.uuid, "sales": sales.uuid}
        for name, kind in (("sam", AccountType.DOMAIN_ADMIN), ("carl", AccountType.NORMAL)):
            account = Account(account_name=name, type=kind, domain_id=sales.id)
            session.add(account)
            session.flush()
            user = User(
                username=name,
                password="!",
                account_id=account.id,
                firstname=name,
                lastname="t",
                email=f"{name}@example.org",
            )
            session.add(user)
            session.flush()
            found[name] = register_user_keys(session, user, runtime.database_key, runtime.algorithm)
        session.commit()
    return found


def _account_id(session: Session, name: str) -> int:
    return session.scalars(select(Account.id).where(Account.account_name == name)).one()


def test_a_user_sees_its_own_limits_with_defaults(
    api: falcon.testing.TestClient, user_keys: Keys, tree: dict[str, Any]
) -> None:
    answer = _call(api, user_keys, "listResourceLimits")
    assert answer["count"] == 8
    first = answer["resourcelimit"][0]
    assert first == {
        "account": "alice",
        "domainid": tree["root"],
        "domain": "ROOT",
        "resourcetype": "0",
        "max": 20,
    }
    assert _maxes(answer) == {
        "0": 20,
        "1": 20,
        "2": 20,
        "3": 20,
        "4": 20,
        "5": -1,
        "6": 20,
        "7": 20,
    }
    # Asking for someone else's shows the caller's own, as in 4.1.
    other = _call(api, user_keys, "listResourceLimits", account="carl", domainid=tree["sales"])
    assert {item["account"] for item in other["resourcelimit"]} == {"alice"}
    one = _call(api, user_keys, "listResourceLimits", resourcetype=2)
    assert [(i["resourcetype"], i["max"]) for i in one["resourcelimit"]] == [("2", 20)]
    paged = _call(api, user_keys, "listResourceLimits", page=2, pagesize=3)
    assert paged["count"] == 8 and [i["resourcetype"] for i in paged["resourcelimit"]] == [
        "3",
        "4",
        "5",
    ]
    status, text = _error(api, user_keys, "listResourceLimits", resourcetype=9)
    assert status == 431 and "resourcetype" in text


def test_a_user_cannot_change_limits_or_counts(
    api: falcon.testing.TestClient, user_keys: Keys, tree: dict[str, Any]
) -> None:
    for command, params in (
        ("updateResourceLimit", {"resourcetype": 0, "max": 100}),
        (
            "updateResourceLimit",
            {"resourcetype": 0, "max": 100, "account": "alice", "domainid": tree["root"]},
        ),
        ("updateResourceCount", {"domainid": tree["root"]}),
    ):
        status, _ = _error(api, user_keys, command, **params)
        assert status == 432
    assert _maxes(_call(api, user_keys, "listResourceLimits"))["0"] == 20


def test_admin_sets_an_account_limit_that_reserve_enforces(
    api: falcon.testing.TestClient,
    admin_keys: Keys,
    user_keys: Keys,
    runtime: Runtime,
    tree: dict[str, Any],
) -> None:
    updated = _call(
        api,
        admin_keys,
        "updateResourceLimit",
        resourcetype=0,
        max=1,
        account="alice",
        domainid=tree["root"],
    )
    assert updated == {
        "resourcelimit": {
            "account": "alice",
            "domainid": tree["root"],
            "domain": "ROOT",
            "resourcetype": "0",
            "max": 1,
        }
    }
    assert _maxes(_call(api, user_keys, "listResourceLimits"))["0"] == 1
    with runtime.sessions() as session:
        alice = _account_id(session, "alice")
        service.reserve(session, alice, ResourceType.USER_VM)
        with pytest.raises(AccountLimitExceeded) as refused:
            service.reserve(session, alice, ResourceType.USER_VM)
        session.commit()
    assert refused.value.errorcode == 532 and "user_vm" in refused.value.errortext
    status, text = _error(
        api,
        admin_keys,
        "updateResourceLimit",
        resourcetype=0,
        max=-5,
        account="alice",
        domainid=tree["root"],
    )
    assert status == 431 and "max" in text
    status, text = _error(
        api, admin_keys, "updateResourceLimit", resourcetype=0, max=5, account="alice"
    )
    assert status == 431 and "domainId" in text
    status, text = _error(
        api, admin_keys, "updateResourceLimit", resourcetype=0, max=5, domainid=tree["root"]
    )
    assert status == 531 and "ROOT" in text


def test_domain_admin_limits_below_itself_only(
    api: falcon.testing.TestClient, admin_keys: Keys, runtime: Runtime, tree: dict[str, Any]
) -> None:
    sam = tree["sam"]
    done = _call(
        api,
        sam,
        "updateResourceLimit",
        resourcetype=2,
        max=7,
        account="carl",
        domainid=tree["sales"],
    )
    assert done["resourcelimit"]["max"] == 7
    seen = _call(
        api, sam, "listResourceLimits", account="carl", domainid=tree["sales"], resourcetype=2
    )
    assert seen["resourcelimit"][0]["max"] == 7
    status, text = _error(
        api,
        sam,
        "updateResourceLimit",
        resourcetype=2,
        max=70,
        account="sam",
        domainid=tree["sales"],
    )
    assert status == 531 and "own account" in text
    status, _ = _error(
        api, sam, "updateResourceLimit", resourcetype=2, max=70, domainid=tree["sales"]
    )
    assert status == 531
    make_caller(runtime, "rooted", 0)
    status, _ = _error(
        api,
        sam,
        "updateResourceLimit",
        resourcetype=2,
        max=70,
        account="rooted",
        domainid=tree["root"],
    )
    assert status == 531
    status, _ = _error(api, sam, "listResourceLimits", domainid=tree["root"])
    assert status == 531
    # The root admin limits Sales; a domain's list shows its limits, without account.
    _call(api, admin_keys, "updateResourceLimit", resourcetype=2, max=10, domainid=tree["sales"])
    domain_view = _call(api, admin_keys, "listResourceLimits", domainid=tree["sales"])
    assert all("account" not in item for item in domain_view["resourcelimit"])
    assert _maxes(domain_view)["2"] == 10 and _maxes(domain_view)["0"] == -1


def _keypairs_per_account(session: Session, account_ids: Sequence[int]) -> dict[int, int]:
    rows = session.execute(
        select(SSHKeyPair.account_id, func.count())
        .where(SSHKeyPair.account_id.in_(account_ids))
        .group_by(SSHKeyPair.account_id)
    )
    return {account_id: count for account_id, count in rows}


@pytest.fixture
def keypairs_as_projects() -> Iterator[None]:
    """Count key pairs as the ``project`` type (no area counts projects) for one test."""
    saved = counters.counter_for(ResourceType.PROJECT)
    counters.register(ResourceType.PROJECT, _keypairs_per_account)
    try:
        yield
    finally:
        counters.unregister(ResourceType.PROJECT)
        if saved is not None:
            counters.register(ResourceType.PROJECT, saved)


def test_update_resource_count_recounts_through_the_registry(
    api: falcon.testing.TestClient,
    admin_keys: Keys,
    runtime: Runtime,
    tree: dict[str, Any],
    keypairs_as_projects: None,
) -> None:
    carl, sam = tree["carl"], tree["sam"]
    for name in ("a", "b", "c"):
        _call(api, carl, "createSSHKeyPair", name=name)
    _call(api, sam, "createSSHKeyPair", name="s")
    bob = make_caller(runtime, "bob", 0)  # in ROOT, outside Sales
    _call(api, bob, "createSSHKeyPair", name="b")
    answer = _call(api, admin_keys, "updateResourceCount", domainid=tree["sales"], resourcetype=5)
    assert answer == {
        "count": 1,
        "resourcecount": [
            {"domainid": tree["sales"], "domain": "Sales", "resourcetype": "5", "resourcecount": 4}
        ],
    }
    one = _call(api, sam, "updateResourceCount", domainid=tree["sales"], account="carl")
    assert one["count"] == 8
    (project,) = [item for item in one["resourcecount"] if item["resourcetype"] == "5"]
    assert (project["account"], project["resourcecount"]) == ("carl", 3)
    everything = _call(
        api, admin_keys, "updateResourceCount", domainid=tree["root"], resourcetype=5
    )
    assert everything["resourcecount"][0]["resourcecount"] == 5
    status, _ = _error(api, sam, "updateResourceCount", domainid=tree["root"])
    assert status == 531
