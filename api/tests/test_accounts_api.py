"""Domains, accounts and users over the API: real requests, signed as 4.1 clients sign
them, on a real database; isolation between tenants; async deletion through a job."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any

import falcon.testing
import pytest
from api_test_commands import StatementCounter

from cumulo.accounts import account_service
from cumulo.accounts.models import Domain
from cumulo.accounts.views import ACCOUNT_FIELDS, USER_FIELDS
from cumulo.runtime import Runtime
from cumulo.sdk.api import CallContext
from cumulo.setup.passwords import encode_md5
from cumulo_api.registry import CommandRegistry
from cumulo_api.testing import signed_request
from cumulo_api.worker import run_pending

Keys = tuple[str, str]


def _call(api: falcon.testing.TestClient, keys: Keys, command: str, **params: Any) -> Any:
    """The JSON answer of ``command``; fails the test on an error status."""
    result = signed_request(api, keys, command, **params)
    assert result.status_code == 200, result.text
    return json.loads(result.content)[f"{command.lower()}response"]


def _error(
    api: falcon.testing.TestClient, keys: Keys, command: str, **params: Any
) -> tuple[int, str]:
    """``(status, errortext)`` of a request expected to fail."""
    result = signed_request(api, keys, command, **params)
    assert result.status_code >= 400, result.text
    body = json.loads(result.content)
    (answer,) = body.values()
    assert answer["errorcode"] == result.status_code
    return result.status_code, answer["errortext"]


def _run_jobs(runtime: Runtime) -> None:
    assert run_pending(runtime, CommandRegistry.build(runtime.pm)) >= 1


def _job(api: falcon.testing.TestClient, keys: Keys, started: dict[str, Any]) -> Any:
    return _call(api, keys, "queryAsyncJobResult", jobid=started["jobid"])


def _new_account(
    api: falcon.testing.TestClient,
    admin_keys: Keys,
    name: str,
    account_type: int = 0,
    domain_id: str | None = None,
    extra: dict[str, str] | None = None,
) -> tuple[dict[str, Any], Keys]:
    """An account made through createAccount, and keys registered for its user."""
    account = _call(
        api,
        admin_keys,
        "createAccount",
        username=name,
        password="s3cret pass",
        email=f"{name}@example.org",
        firstname=name.title(),
        lastname="Test",
        accounttype=account_type,
        domainid=domain_id,
        **(extra or {}),
    )["account"]
    keys = _call(api, admin_keys, "registerUserKeys", id=account["user"][0]["id"])["userkeys"]
    return account, (keys["apikey"], keys["secretkey"])


def _domain(api: falcon.testing.TestClient, admin_keys: Keys, name: str, **params: Any) -> Any:
    return _call(api, admin_keys, "createDomain", name=name, **params)["domain"]


def test_domain_account_user_keys_and_async_delete(
    api: falcon.testing.TestClient, runtime: Runtime, admin_keys: Keys
) -> None:
    sales = _domain(api, admin_keys, "Sales", networkdomain="sales.example")
    assert sales["path"] == "ROOT/Sales" and sales["level"] == 1
    assert sales["parentdomainname"] == "ROOT" and sales["haschild"] is False
    account, keys = _new_account(
        api, admin_keys, "alice", domain_id=sales["id"], extra={"accountdetails[0].tier": "gold"}
    )
    assert account["accountdetails"] == {"tier": "gold"}
    assert account["domain"] == "Sales" and account["accounttype"] == 0
    user = _call(
        api,
        admin_keys,
        "createUser",
        account="alice",
        domainid=sales["id"],
        username="alice2",
        password="pw",
        email="a2@example.org",
        firstname="A",
        lastname="Two",
    )["user"]
    assert user["account"] == "alice" and user["accountid"] == account["id"]
    assert "secretkey" not in user and "password" not in user

    # The new user signs its own requests and sees its own account with both users.
    own = _call(api, keys, "listAccounts")
    assert own["count"] == 1
    (listed,) = own["account"]
    assert [u["username"] for u in listed["user"]] == ["alice", "alice2"]
    assert listed["user"][0]["secretkey"] == keys[1]  # its own secret, 4.1's field
    assert "secretkey" not in listed["user"][1]  # never a colleague's

    started = _call(api, admin_keys, "deleteAccount", id=account["id"])
    assert set(started) == {"jobid"}
    pending = _job(api, admin_keys, started)
    assert pending["jobstatus"] == 0 and pending["jobinstancetype"] == "Account"
    _run_jobs(runtime)
    done = _job(api, admin_keys, started)
    assert done["jobstatus"] == 1 and done["jobresult"] == {"success": True}
    assert done["cmd"] == "org.apache.cloudstack.api.command.admin.account.DeleteAccountCmd"
    assert _call(api, admin_keys, "listAccounts", domainid=sales["id"]) == {}
    assert signed_request(api, keys, "listAccounts").status_code == 401


def test_list_accounts_answer_shape(api: falcon.testing.TestClient, admin_keys: Keys) -> None:
    answer = _call(api, admin_keys, "listAccounts")
    assert answer["count"] == 1
    (admin,) = answer["account"]
    assert list(admin) == [name for name in ACCOUNT_FIELDS if name in admin]
    assert admin["name"] == "admin" and admin["accounttype"] == 1 and admin["state"] == "enabled"
    assert admin["vmlimit"] == "Unlimited" and admin["vmtotal"] == 0
    assert admin["iscleanuprequired"] is False and "accountdetails" not in admin
    (user,) = admin["user"]
    assert list(user) == [name for name in USER_FIELDS if name in user]
    assert user["iscallerchilddomain"] is True and user["apikey"]
    assert user["created"].endswith("+0000")


def test_xml_answer_with_nested_users_and_details(
    api: falcon.testing.TestClient, admin_keys: Keys
) -> None:
    _new_account(api, admin_keys, "xmlcase", extra={"accountdetails[0].tier": "gold"})
    result = signed_request(
        api, admin_keys, "listAccounts", name="xmlcase", listall=True, response="xml"
    )
    assert result.status_code == 200
    root = ET.fromstring(result.content)
    assert root.tag == "listaccountsresponse" and root.findtext("count") == "1"
    account = root.find("account")
    assert account is not None and account.findtext("name") == "xmlcase"
    assert account.findtext("user/username") == "xmlcase"
    assert account.findtext("accountdetails/tier") == "gold"


def test_list_paging_and_count(api: falcon.testing.TestClient, admin_keys: Keys) -> None:
    domain = _domain(api, admin_keys, "Paged")
    for index in range(5):
        _call(
            api,
            admin_keys,
            "createAccount",
            username=f"p{index}",
            password="pw",
            email="p@example.org",
            firstname="P",
            lastname="Q",
            accounttype=0,
            domainid=domain["id"],
        )
    page = _call(api, admin_keys, "listAccounts", domainid=domain["id"], page=2, pagesize=2)
    assert page["count"] == 5 and [a["name"] for a in page["account"]] == ["p2", "p3"]
    users = _call(api, admin_keys, "listUsers", domainid=domain["id"], page=3, pagesize=2)
    assert users["count"] == 5 and [u["username"] for u in users["user"]] == ["p4"]
    status, text = _error(api, admin_keys, "listAccounts", page=1)
    assert status == 431 and "pagesize" in text


def test_missing_and_bad_parameters_are_431(
    api: falcon.testing.TestClient, admin_keys: Keys
) -> None:
    status, text = _error(
        api,
        admin_keys,
        "createAccount",
        password="x",
        email="e",
        firstname="f",
        lastname="l",
        accounttype=0,
    )
    assert status == 431 and text.endswith("missing parameter username")
    status, text = _error(api, admin_keys, "updateDomain", id="not-a-domain")
    assert status == 431 and "Invalid parameter id value=not-a-domain" in text
    status, text = _error(api, admin_keys, "listDomains", id="9" * 25)
    assert status == 431 and "Invalid parameter id" in text
    # 4.1 still takes internal ids for parameters older than 3.0.
    assert _call(api, admin_keys, "listDomains", id="1")["domain"][0]["path"] == "ROOT"
    status, text = _error(
        api,
        admin_keys,
        "createAccount",
        username="u",
        password="x",
        email="e",
        firstname="f",
        lastname="l",
        accounttype=7,
    )
    assert status == 431 and "Invalid account type 7" in text


def test_a_user_cannot_call_admin_commands(
    api: falcon.testing.TestClient, admin_keys: Keys
) -> None:
    _, keys = _new_account(api, admin_keys, "plain")
    for command, params in (
        (
            "createAccount",
            {
                "username": "x",
                "password": "x",
                "email": "e",
                "firstname": "f",
                "lastname": "l",
                "accounttype": 0,
            },
        ),
        ("listUsers", {}),
        ("listDomains", {}),
        ("deleteAccount", {"id": "11111111-2222-4333-8444-555555555555"}),
        ("createDomain", {"name": "mine"}),
    ):
        status, text = _error(api, keys, command, **params)
        assert status == 432, (command, text)


def test_a_user_cannot_see_or_touch_another_account(
    api: falcon.testing.TestClient, admin_keys: Keys
) -> None:
    alice, alice_keys = _new_account(api, admin_keys, "alice")
    bob, _ = _new_account(api, admin_keys, "bob")
    bob_user = bob["user"][0]["id"]
    listed = _call(api, alice_keys, "listAccounts", listall=True)
    assert [a["name"] for a in listed["account"]] == ["alice"]
    assert _error(api, alice_keys, "listAccounts", id=bob["id"])[0] == 531
    assert _error(api, alice_keys, "updateUser", id=bob_user, firstname="pwned")[0] == 531
    assert _error(api, alice_keys, "registerUserKeys", id=bob_user)[0] == 531
    # Its own user is its own to change.
    me = _call(api, alice_keys, "updateUser", id=alice["user"][0]["id"], firstname="Ally")
    assert me["user"]["firstname"] == "Ally"
    bob_now = _call(api, admin_keys, "listUsers", id=bob_user)["user"][0]
    assert bob_now["firstname"] == "Bob"


def test_domain_admin_stays_in_its_subtree(
    api: falcon.testing.TestClient, runtime: Runtime, admin_keys: Keys
) -> None:
    d1 = _domain(api, admin_keys, "D1")
    d2 = _domain(api, admin_keys, "D2")
    sub = _domain(api, admin_keys, "Sub", parentdomainid=d1["id"])
    _, dadmin = _new_account(api, admin_keys, "d1admin", 2, d1["id"])
    mine, _ = _new_account(api, admin_keys, "mine", 0, sub["id"])
    theirs, _ = _new_account(api, admin_keys, "theirs", 0, d2["id"])

    listed = _call(api, dadmin, "listAccounts", listall=True)
    assert [a["name"] for a in listed["account"]] == ["d1admin", "mine"]
    users = _call(api, dadmin, "listUsers")
    assert [u["username"] for u in users["user"]] == ["d1admin", "mine"]
    assert "secretkey" not in users["user"][1]  # not the domain admin's to read
    domains = _call(api, dadmin, "listDomains", listall=True)
    assert [d["path"] for d in domains["domain"]] == ["ROOT/D1", "ROOT/D1/Sub"]

    assert _error(api, dadmin, "listAccounts", domainid=d2["id"])[0] == 531
    assert _error(api, dadmin, "listUsers", domainid=runtime_root(runtime))[0] == 531
    assert _error(api, dadmin, "listDomains", id=d2["id"])[0] == 531
    assert _error(api, dadmin, "lockAccount", account="theirs", domainid=d2["id"])[0] == 531
    assert _error(api, dadmin, "enableUser", id=theirs["user"][0]["id"])[0] == 531
    admin_user = _call(api, admin_keys, "listUsers", username="admin")["user"][0]["id"]
    assert _error(api, dadmin, "updateUser", id=admin_user, firstname="x")[0] == 531
    assert _error(api, dadmin, "deleteAccount", id=theirs["id"])[0] == 432  # role bits

    # An async command outside the subtree fails in its job, with 531.
    started = _call(api, dadmin, "disableUser", id=theirs["user"][0]["id"])
    _run_jobs(runtime)
    failed = _job(api, dadmin, started)
    assert failed["jobstatus"] == 2 and failed["jobresult"]["errorcode"] == 531
    # Inside it works.
    started = _call(api, dadmin, "disableAccount", id=mine["id"], lock=False)
    _run_jobs(runtime)
    done = _job(api, dadmin, started)
    assert done["jobstatus"] == 1 and done["jobresult"]["account"]["state"] == "disabled"
    still = _call(api, admin_keys, "listAccounts", id=theirs["id"])["account"][0]
    assert still["state"] == "enabled" and still["user"][0]["state"] == "enabled"


def runtime_root(runtime: Runtime) -> str:
    """The public id of ROOT."""
    with runtime.sessions() as session:
        from sqlalchemy import select

        return session.scalars(select(Domain.uuid).where(Domain.parent.is_(None))).one()


def test_delete_domain_job_with_and_without_cleanup(
    api: falcon.testing.TestClient, runtime: Runtime, admin_keys: Keys
) -> None:
    d1 = _domain(api, admin_keys, "D1")
    _new_account(api, admin_keys, "inside", 0, d1["id"])
    started = _call(api, admin_keys, "deleteDomain", id=d1["id"])
    _run_jobs(runtime)
    refused = _job(api, admin_keys, started)
    assert refused["jobstatus"] == 2 and refused["jobresult"]["errorcode"] == 536
    started = _call(api, admin_keys, "deleteDomain", id=d1["id"], cleanup=True)
    _run_jobs(runtime)
    assert _job(api, admin_keys, started)["jobresult"] == {"success": True}
    assert _call(api, admin_keys, "listDomainChildren") == {}


def test_mark_default_zone_for_account(
    api: falcon.testing.TestClient, runtime: Runtime, admin_keys: Keys
) -> None:
    root = runtime_root(runtime)
    unknown = _call(
        api,
        admin_keys,
        "markDefaultZoneForAccount",
        account="admin",
        domainid=root,
        zoneid="11111111-2222-4333-8444-555555555555",
    )
    _run_jobs(runtime)
    failed = _job(api, admin_keys, unknown)
    assert failed["jobresult"]["errorcode"] == 431
    assert "zoneid" in failed["jobresult"]["errortext"]

    zone = _call(
        api,
        admin_keys,
        "createZone",
        name="Marked",
        dns1="8.8.8.8",
        internaldns1="10.0.0.2",
        networktype="Basic",
    )["zone"]
    marked = _call(
        api,
        admin_keys,
        "markDefaultZoneForAccount",
        account="admin",
        domainid=root,
        zoneid=zone["id"],
    )
    _run_jobs(runtime)
    account = _job(api, admin_keys, marked)["jobresult"]["account"]
    assert account["name"] == "admin" and account["defaultzoneid"] == zone["id"]
    [listed] = _call(api, admin_keys, "listAccounts", name="admin")["account"]
    assert listed["defaultzoneid"] == zone["id"]


def test_get_user_by_api_key(api: falcon.testing.TestClient, admin_keys: Keys) -> None:
    _, keys = _new_account(api, admin_keys, "keyed")
    found = _call(api, admin_keys, "getUser", userapikey=keys[0])["user"]
    assert found["username"] == "keyed" and found["secretkey"] == keys[1]  # root admin
    status, text = _error(api, admin_keys, "getUser", userapikey="nope")
    assert status == 431 and "does not exist" in text


@pytest.mark.parametrize("command", ["listAccounts", "listUsers"])
def test_list_statements_do_not_grow_with_rows(
    api: falcon.testing.TestClient,
    runtime: Runtime,
    admin_keys: Keys,
    statements: StatementCounter,
    command: str,
) -> None:
    def add_accounts(count: int, start: int) -> None:
        with runtime.sessions() as session:
            admin = _admin_context(session)
            for index in range(start, start + count):
                account_service.create_account(
                    admin,
                    session,
                    encode_password=encode_md5,
                    username=f"bulk{index}",
                    password="pw",
                    email="b@example.org",
                    firstname="B",
                    lastname="K",
                    account_type=0,
                    details={"n": str(index)},
                )
            session.commit()

    def cost() -> int:
        _call(api, admin_keys, command, listall=True)  # configuration cached, as in use
        statements.reset()
        answer = _call(api, admin_keys, command, listall=True)
        assert answer["count"] >= 3
        return statements.count

    add_accounts(2, 0)
    few = cost()
    add_accounts(38, 2)
    many = cost()
    assert few == many
    # listAccounts: the caller, the page, its users, their details; listUsers: the
    # caller, the page. default.page.size comes from the process's cache.
    assert statements.queries == {"listAccounts": 4, "listUsers": 2}[command]


def _job_of(runtime: Runtime, account_uuid: str) -> dict[str, str]:
    """A finished job of the account (of its first user), as ``{"jobid": uuid}``."""
    from sqlalchemy import select

    from cumulo.accounts.models import Account, User
    from cumulo.jobs.models import AsyncJob

    with runtime.sessions() as session:
        account = session.scalars(select(Account).where(Account.uuid == account_uuid)).one()
        user = session.scalars(select(User).where(User.account_id == account.id)).first()
        assert user is not None
        job = AsyncJob(
            user_id=user.id,
            account_id=account.id,
            cmd="org.example.TestCmd",
            command="testCommand",
            params="{}",
            status=1,
            result='{"success": true}',
        )
        session.add(job)
        session.commit()
        return {"jobid": job.uuid}


def test_query_async_job_result_is_two_queries_and_checks_the_owner(
    api: falcon.testing.TestClient,
    runtime: Runtime,
    admin_keys: Keys,
    statements: StatementCounter,
) -> None:
    d1 = _domain(api, admin_keys, "D1")
    d2 = _domain(api, admin_keys, "D2")
    _, dadmin = _new_account(api, admin_keys, "d1admin", 2, d1["id"])
    mine, mine_keys = _new_account(api, admin_keys, "mine", 0, d1["id"])
    theirs, theirs_keys = _new_account(api, admin_keys, "theirs", 0, d2["id"])
    in_d1, in_d2 = _job_of(runtime, mine["id"]), _job_of(runtime, theirs["id"])

    for keys, started in ((admin_keys, in_d1), (admin_keys, in_d2), (dadmin, in_d1)):
        statements.reset()
        assert _job(api, keys, started)["jobid"] == started["jobid"]
        # The caller, then the job with its owner's ids and domain: no access query.
        assert statements.queries == 2, statements.statements
    for keys, started in ((dadmin, in_d2), (mine_keys, in_d2), (theirs_keys, in_d1)):
        status, text = _error(api, keys, "queryAsyncJobResult", jobid=started["jobid"])
        assert status == 531 and "does not have permission" in text


def _admin_context(session: Any) -> CallContext:
    from sqlalchemy import select

    from cumulo.accounts.models import Account, User

    user, account, domain = session.execute(
        select(User, Account, Domain)
        .join(Account, User.account_id == Account.id)
        .join(Domain, Account.domain_id == Domain.id)
        .where(User.username == "admin")
    ).one()
    return CallContext(user.id, account.id, domain.id, domain.path, account.type)
