"""Infrastructure rules proven below the API or across two installations:
``use.local.storage`` in the allocator chain (REQ-PS-06) and the copy of accounts into
a new region's database (REQ-REG-03, REQ-REG-06, REQ-REG-07).

The region tests run two real installations: the ``runtime`` fixture's database (SQLite,
or MariaDB with ``CUMULO_TEST_DB``) is region 1, a SQLite file set up with another
database key is the new region; each is served by its own API application.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import falcon.testing
import pluggy
import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from cumulo.accounts.models import Account, AccountType, Domain, User
from cumulo.accounts.region_copy import RegionCopyError, copy_region_accounts
from cumulo.config.validation import InvalidConfigValue
from cumulo.db.migrate import upgrade
from cumulo.runtime import Runtime
from cumulo.sdk.errors import InsufficientCapacity
from cumulo.setup.seed import seed_cloud
from cumulo.testing.compliance.allocators_world import GB, PlacementWorld
from cumulo_api.app import create_app
from cumulo_api.testing import TEST_DATABASE_KEY, signed_request

Keys = tuple[str, str]
NEW_REGION_KEY = "second-region-database-key"


# ---- REQ-PS-06: use.local.storage -------------------------------------------------


def test_req_ps_06_use_local_storage_decides_for_data_disks(
    runtime: Runtime, db_session: Session
) -> None:
    """REQ-PS-06: with use.local.storage false (its default) a shared-storage data disk
    never goes to a host's local pool, even when no shared pool has room (533); once
    the operator sets it true, the same request is placed with the data disk on the
    host-local pool (the root disk stays on shared storage)."""
    store = runtime.config_store(db_session)
    assert (store.value("use.local.storage") or "").lower() == "false"
    world = PlacementWorld(db_session)
    world.add_host("h1")
    world.add_pool("shared", capacity_gb=30)
    world.add_pool("local", local_to="h1", capacity_gb=500)
    request = {"root_disk_bytes": 5 * GB, "data_disk_bytes": 200 * GB}
    with pytest.raises(InsufficientCapacity):
        world.place(**request)
    with pytest.raises(InvalidConfigValue, match=r"use\.local\.storage"):
        store.set("use.local.storage", "sometimes")
    store.set("use.local.storage", "true")
    db_session.flush()
    placed = world.place(**request)
    assert placed.root_pool_id == world.pools["shared"]
    assert placed.data_pool_id == world.pools["local"]


# ---- regions: REQ-REG-03, REQ-REG-06, REQ-REG-07 ------------------------------------


def _call(api: falcon.testing.TestClient, keys: Keys, command: str, **params: Any) -> Any:
    result = signed_request(api, keys, command, **params)
    assert result.status_code == 200, result.text
    (answer,) = json.loads(result.content).values()
    return answer


@pytest.fixture
def new_region(tmp_path: Path, plugin_manager: pluggy.PluginManager) -> Iterator[Runtime]:
    """A second installation: migrated, seeded under its own database key."""
    url = f"sqlite:///{tmp_path / 'region2.db'}"
    upgrade(url, plugin_manager)
    built = Runtime.for_url(url, NEW_REGION_KEY, pm=plugin_manager)
    with built.sessions.begin() as session:
        seed_cloud(session, built.database_key, built.algorithm)
    try:
        yield built
    finally:
        built.close()


@pytest.fixture
def region_one(
    runtime: Runtime, api: falcon.testing.TestClient, admin_keys: Keys
) -> dict[str, Any]:
    """Region 1 with a domain, a user account with API keys and a default zone, and a
    project account."""
    sales = _call(api, admin_keys, "createDomain", name="Sales")["domain"]
    account = _call(
        api, admin_keys, "createAccount", accounttype=0, domainid=sales["id"],
        username="alice", password="secret", email="alice@example.com",
        firstname="Alice", lastname="Liddell",
    )["account"]  # fmt: skip
    user = account["user"][0]
    keys = _call(api, admin_keys, "registerUserKeys", id=user["id"])["userkeys"]
    with runtime.sessions.begin() as session:
        session.execute(
            update(Account).where(Account.uuid == account["id"]).values(default_zone_id=7)
        )
        domain = session.scalars(select(Domain).where(Domain.uuid == sales["id"])).one()
        project = Account(account_name="PrjAcct-p1", type=int(AccountType.PROJECT),
                          domain_id=domain.id)  # fmt: skip
        session.add(project)
    return {
        "domain": sales["id"],
        "account": account["id"],
        "user": user["id"],
        "keys": (keys["apikey"], keys["secretkey"]),
    }


def _copy(runtime: Runtime, target: Runtime, source_key: str = TEST_DATABASE_KEY) -> Any:
    with runtime.sessions() as source, target.sessions() as session:
        copied = copy_region_accounts(
            source, session, source_key=source_key, target_key=target.database_key
        )
        session.commit()
    return copied


def test_req_reg_06_accounts_copied_into_a_new_region(
    runtime: Runtime, new_region: Runtime, region_one: dict[str, Any]
) -> None:
    """REQ-REG-06: the seed's steps 4-6 as one helper over SQLAlchemy (here from the
    fixture's back end into SQLite): domain, account and user rows copied, project
    accounts left out, default zones cleared."""
    copied = _copy(runtime, new_region)
    assert (copied.domains, copied.accounts, copied.users, copied.projects_skipped) == (2, 3, 3, 1)
    with new_region.sessions() as session:
        accounts = {a.account_name: a for a in session.scalars(select(Account))}
        assert set(accounts) == {"system", "admin", "alice"}
        assert all(a.default_zone_id is None for a in accounts.values())
        assert accounts["alice"].uuid == region_one["account"]
        names = {d.name for d in session.scalars(select(Domain))}
        assert names == {"ROOT", "Sales"}


def test_req_reg_03_req_reg_07_identifiers_and_keys_stay_valid(
    runtime: Runtime, new_region: Runtime, region_one: dict[str, Any]
) -> None:
    """REQ-REG-03 / REQ-REG-07: after the copy the user's API keys (their secret
    re-encrypted under the new region's database key) sign requests to the new
    region, which answers with the same account, user and domain ids as region 1; an
    account the new region creates afterwards gets ids of its own, past the copied
    ones."""
    _copy(runtime, new_region)
    there = falcon.testing.TestClient(create_app(new_region))
    (account,) = _call(there, region_one["keys"], "listAccounts")["account"]
    assert account["id"] == region_one["account"] and account["domainid"] == region_one["domain"]
    assert account["user"][0]["id"] == region_one["user"]
    with new_region.sessions() as session:
        admin = session.scalars(select(User).where(User.username == "admin")).one()
        from cumulo.auth.keys import register_user_keys

        admin_keys = register_user_keys(session, admin, new_region.database_key)
        session.commit()
        copied_max = max(session.scalars(select(Account.id)).all())
    created = _call(
        there, admin_keys, "createAccount", accounttype=0, username="bob", password="pw",
        email="bob@example.com", firstname="Bob", lastname="B",
    )["account"]  # fmt: skip
    with new_region.sessions() as session:
        bob = session.scalars(select(Account).where(Account.uuid == created["id"])).one()
        assert bob.id > copied_max


def test_req_reg_07_a_region_with_accounts_of_its_own_is_refused(
    runtime: Runtime, new_region: Runtime, region_one: dict[str, Any]
) -> None:
    """REQ-REG-07: copying into a region that already created accounts of its own
    could give two accounts one id, so it is refused, naming the table; so is a copy
    whose source key does not decrypt the source's secrets."""
    with pytest.raises(RegionCopyError, match="database key"):
        _copy(runtime, new_region, source_key="not-the-key")
    _copy(runtime, new_region)
    with pytest.raises(RegionCopyError, match=r"domain table.*REQ-REG-07"):
        _copy(runtime, new_region)
