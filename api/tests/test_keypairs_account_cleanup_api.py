"""Key pairs of removed accounts are deleted: ``deleteAccount`` and ``deleteDomain
cleanup=true`` remove the accounts' SSH key pairs in the transaction that removes the
accounts, and touch no other account's; over the API on a real database."""

from __future__ import annotations

import json
from typing import Any

import falcon.testing
from sqlalchemy import select

from cumulo.accounts.models import Account
from cumulo.keypairs import keys
from cumulo.keypairs.models import SSHKeyPair
from cumulo.runtime import Runtime
from cumulo_api.registry import CommandRegistry
from cumulo_api.testing import signed_request
from cumulo_api.worker import run_pending

Keys = tuple[str, str]


def _call(api: falcon.testing.TestClient, keys_: Keys, command: str, **params: Any) -> Any:
    result = signed_request(api, keys_, command, **params)
    assert result.status_code == 200, result.text
    (answer,) = json.loads(result.content).values()
    return answer


def _job(api: falcon.testing.TestClient, runtime: Runtime, keys_: Keys, command: str,
         **params: Any) -> Any:  # fmt: skip
    started = _call(api, keys_, command, **params)
    run_pending(runtime, CommandRegistry.build(runtime.pm))
    answer = _call(api, keys_, "queryAsyncJobResult", jobid=started["jobid"])
    assert answer["jobstatus"] == 1, answer
    return answer["jobresult"]


def _account(
    api: falcon.testing.TestClient, admin_keys: Keys, name: str, domain_id: str | None = None
) -> tuple[str, Keys]:
    """An account made through createAccount; its id and its user's API keys."""
    account = _call(
        api, admin_keys, "createAccount", username=name, password="s3cret pass",
        email=f"{name}@example.org", firstname=name, lastname="Test", accounttype=0,
        domainid=domain_id,
    )["account"]  # fmt: skip
    made = _call(api, admin_keys, "registerUserKeys", id=account["user"][0]["id"])["userkeys"]
    return account["id"], (made["apikey"], made["secretkey"])


def _pairs(runtime: Runtime) -> dict[str, list[str]]:
    """Every stored key pair's name, by owner account name."""
    with runtime.sessions() as session:
        rows = session.execute(
            select(Account.account_name, SSHKeyPair.name)
            .join(Account, Account.id == SSHKeyPair.account_id)
            .order_by(SSHKeyPair.id)
        ).all()
    found: dict[str, list[str]] = {}
    for account, name in rows:
        found.setdefault(account, []).append(name)
    return found


def test_delete_account_deletes_its_key_pairs(
    api: falcon.testing.TestClient, runtime: Runtime, admin_keys: Keys
) -> None:
    gone, gone_keys = _account(api, admin_keys, "leaving")
    _, kept_keys = _account(api, admin_keys, "staying")
    _call(api, gone_keys, "createSSHKeyPair", name="laptop")
    _call(api, gone_keys, "registerSSHKeyPair", name="desk", publickey=keys.generate().public_key)
    _call(api, kept_keys, "createSSHKeyPair", name="laptop")
    assert _pairs(runtime) == {"leaving": ["laptop", "desk"], "staying": ["laptop"]}
    assert _job(api, runtime, admin_keys, "deleteAccount", id=gone) == {"success": True}
    assert _pairs(runtime) == {"staying": ["laptop"]}
    listed = _call(api, admin_keys, "listSSHKeyPairs", listall=True)["sshkeypair"]
    assert [p["name"] for p in listed] == ["laptop"]


def test_delete_domain_with_cleanup_deletes_its_accounts_key_pairs(
    api: falcon.testing.TestClient, runtime: Runtime, admin_keys: Keys
) -> None:
    domain = _call(api, admin_keys, "createDomain", name="Closing")["domain"]
    sub = _call(api, admin_keys, "createDomain", name="Sub", parentdomainid=domain["id"])["domain"]
    _, inside = _account(api, admin_keys, "inside", domain["id"])
    _, deeper = _account(api, admin_keys, "deeper", sub["id"])
    _, outside = _account(api, admin_keys, "outside")
    for caller in (inside, deeper, outside):
        _call(api, caller, "createSSHKeyPair", name="k")
    assert _job(api, runtime, admin_keys, "deleteDomain", id=domain["id"], cleanup=True) == {
        "success": True
    }
    assert _pairs(runtime) == {"outside": ["k"]}
