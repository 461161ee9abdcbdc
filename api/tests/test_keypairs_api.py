"""SSH key pairs over the API, signed as 4.1 clients sign, on a real database:
4.1's envelopes and object names, the private key returned once and stored nowhere,
tenant isolation, 431s naming the parameter, and one statement per list page."""

from __future__ import annotations

import json
from typing import Any

import falcon.testing
import pytest
from api_test_commands import StatementCounter, make_caller
from sqlalchemy import select

from cumulo.accounts.models import Account, Domain
from cumulo.events.models import Event
from cumulo.keypairs import keys
from cumulo.keypairs.lookup import public_key_for
from cumulo.keypairs.models import SSHKeyPair
from cumulo.runtime import Runtime
from cumulo.sdk.errors import InvalidParameterValue
from cumulo_api.testing import signed_request

Keys = tuple[str, str]


def _call(api: falcon.testing.TestClient, keys_: Keys, command: str, **params: Any) -> Any:
    result = signed_request(api, keys_, command, **params)
    assert result.status_code == 200, result.text
    (envelope, answer), *_ = json.loads(result.content).items()
    assert envelope == command.lower() + "response"
    return answer


def _error(
    api: falcon.testing.TestClient, keys_: Keys, command: str, **params: Any
) -> tuple[int, str]:
    result = signed_request(api, keys_, command, **params)
    assert result.status_code >= 400, result.text
    (answer,) = json.loads(result.content).values()
    return result.status_code, answer["errortext"]


@pytest.fixture(scope="module")
def public_key() -> str:
    """A public key to register."""
    return keys.generate().public_key


@pytest.fixture
def root_id(runtime: Runtime) -> str:
    """ROOT's public id."""
    with runtime.sessions() as session:
        return session.scalars(select(Domain.uuid).where(Domain.path == "/")).one()


def test_create_returns_the_private_key_once_and_stores_none(
    api: falcon.testing.TestClient, user_keys: Keys, runtime: Runtime
) -> None:
    created = _call(api, user_keys, "createSSHKeyPair", name="laptop")["keypair"]
    assert list(created) == ["name", "fingerprint", "privatekey"]
    assert created["name"] == "laptop"
    assert created["privatekey"].startswith("-----BEGIN RSA PRIVATE KEY-----")
    listed = _call(api, user_keys, "listSSHKeyPairs")
    assert listed == {
        "count": 1,
        "sshkeypair": [{"name": "laptop", "fingerprint": created["fingerprint"]}],
    }
    secret_line = created["privatekey"].splitlines()[1]
    with runtime.sessions() as session:
        (row,) = session.scalars(select(SSHKeyPair)).all()
        assert row.public_key.startswith("ssh-rsa ") and "PRIVATE" not in row.public_key
        assert keys.parse_public_key(row.public_key).fingerprint == created["fingerprint"]
        texts = session.scalars(select(Event.description)).all()
        (event_type,) = session.scalars(
            select(Event.type).where(Event.description.contains("laptop"))
        ).all()
    assert event_type == "REGISTER.SSH.KEYPAIR"
    assert not any(secret_line in text for text in texts)
    status, text = _error(api, user_keys, "createSSHKeyPair", name="laptop")
    assert (status, text) == (431, "A key pair with name 'laptop' already exists.")


def test_register_validates_the_public_key(
    api: falcon.testing.TestClient, user_keys: Keys, public_key: str, runtime: Runtime
) -> None:
    registered = _call(
        api, user_keys, "registerSSHKeyPair", name="mine", publickey=public_key + " me@home"
    )["keypair"]
    assert registered == {
        "name": "mine",
        "fingerprint": keys.parse_public_key(public_key).fingerprint,
    }
    status, text = _error(api, user_keys, "registerSSHKeyPair", name="bad", publickey="ssh-rsa x")
    assert status == 431 and "publickey" in text
    status, text = _error(api, user_keys, "registerSSHKeyPair", name="bad2")
    assert status == 431 and "publickey" in text  # missing
    # The same key material under another name is fine (4.1 allows it).
    _call(api, user_keys, "registerSSHKeyPair", name="again", publickey=public_key)
    listed = _call(api, user_keys, "listSSHKeyPairs", fingerprint=registered["fingerprint"])
    assert [item["name"] for item in listed["sshkeypair"]] == ["mine", "again"]
    assert _call(api, user_keys, "listSSHKeyPairs", keyword="ai")["count"] == 1
    assert _call(api, user_keys, "listSSHKeyPairs", name="mine")["count"] == 1
    with runtime.sessions() as session:
        owner = session.scalars(select(Account.id).where(Account.account_name == "alice")).one()
        assert public_key_for(session, owner, "mine") == public_key + " me@home"
        with pytest.raises(InvalidParameterValue, match="keypair"):
            public_key_for(session, owner, "nope")


def test_a_user_cannot_see_or_delete_another_accounts_key_pair(
    api: falcon.testing.TestClient,
    runtime: Runtime,
    user_keys: Keys,
    admin_keys: Keys,
    public_key: str,
    root_id: str,
) -> None:
    _call(api, user_keys, "registerSSHKeyPair", name="alice-key", publickey=public_key)
    bob = make_caller(runtime, "bob", 0)
    assert _call(api, bob, "listSSHKeyPairs") == {}
    assert _call(api, bob, "listSSHKeyPairs", listall=True) == {}
    assert _call(api, bob, "listSSHKeyPairs", name="alice-key", listall=True) == {}
    status, text = _error(api, bob, "deleteSSHKeyPair", name="alice-key")
    assert status == 431 and "does not exist for account bob" in text
    status, _ = _error(
        api, bob, "deleteSSHKeyPair", name="alice-key", account="alice", domainid=root_id
    )
    assert status == 531
    status, _ = _error(api, bob, "listSSHKeyPairs", account="alice", domainid=root_id)
    assert status == 531
    status, _ = _error(
        api,
        bob,
        "registerSSHKeyPair",
        name="planted",
        publickey=public_key,
        account="alice",
        domainid=root_id,
    )
    assert status == 531
    assert _call(api, user_keys, "listSSHKeyPairs")["count"] == 1  # still there
    # Admins see and manage it, by owner.
    assert _call(api, admin_keys, "listSSHKeyPairs") == {}  # own account by default
    assert _call(api, admin_keys, "listSSHKeyPairs", listall=True)["count"] == 1
    seen = _call(api, admin_keys, "listSSHKeyPairs", account="alice", domainid=root_id)
    assert seen["sshkeypair"][0]["name"] == "alice-key"
    status, text = _error(api, admin_keys, "deleteSSHKeyPair", name="alice-key", account="alice")
    assert status == 431 and "together" in text
    deleted = _call(
        api, admin_keys, "deleteSSHKeyPair", name="alice-key", account="alice", domainid=root_id
    )
    assert deleted == {"success": "true"}
    assert _call(api, user_keys, "listSSHKeyPairs") == {}


def test_projects_and_bad_paging_are_431(api: falcon.testing.TestClient, user_keys: Keys) -> None:
    project = "11111111-2222-4333-8444-555555555555"
    status, text = _error(api, user_keys, "createSSHKeyPair", name="p", projectid=project)
    assert status == 431 and "projectid" in text
    assert _call(api, user_keys, "listSSHKeyPairs", projectid="-1") == {}
    status, text = _error(api, user_keys, "listSSHKeyPairs", page=1)
    assert status == 431 and "pagesize" in text


def test_list_costs_the_same_statements_for_few_and_many_pairs(
    api: falcon.testing.TestClient,
    runtime: Runtime,
    admin_keys: Keys,
    statements: StatementCounter,
) -> None:
    def add(count: int, start: int) -> None:
        with runtime.sessions() as session:
            account = session.scalars(select(Account).where(Account.account_name == "admin")).one()
            for index in range(start, start + count):
                material = keys.generate(1024).public_key  # smaller: only shape matters
                public = keys.parse_public_key(material)
                session.add(
                    SSHKeyPair(
                        account_id=account.id,
                        domain_id=account.domain_id,
                        name=f"k{index}",
                        fingerprint=public.fingerprint,
                        public_key=public.text,
                    )
                )
            session.commit()

    def cost() -> tuple[int, int]:
        _call(api, admin_keys, "listSSHKeyPairs", listall=True)  # configuration cached
        statements.reset()
        answer = _call(api, admin_keys, "listSSHKeyPairs", listall=True, page=1, pagesize=25)
        return statements.queries, len(answer["sshkeypair"])

    add(2, 0)
    few, shown = cost()
    assert shown == 2
    add(30, 2)
    many, shown = cost()
    assert shown == 25
    assert few == many
    # The caller (authentication) and the page with its total; nothing per row.
    assert many == 2, statements.statements
