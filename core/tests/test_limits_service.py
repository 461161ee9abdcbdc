"""Resource limits: reserve/release against account and domain limits, defaults,
count rows created on first use, the counters registry and recounting, and the race
proof: concurrent reserves in separate sessions never pass a limit together.

Runs on SQLite, or on MariaDB with ``CUMULO_TEST_DB`` (the concurrency tests then hold
real InnoDB row locks under READ COMMITTED, the isolation the engine uses).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from test_accounts_fixtures import Cloud, count_statements, make_cloud

from cumulo.accounts.models import Account, AccountType, Domain
from cumulo.config.models import Configuration
from cumulo.db.engine import create_engine, session_factory
from cumulo.keypairs.models import SSHKeyPair
from cumulo.limits import admin, counters, recount, service
from cumulo.limits.models import ResourceCount, ResourceLimit
from cumulo.limits.types import ResourceType
from cumulo.sdk.errors import AccountLimitExceeded, InvalidParameterValue, PermissionDenied

VM = ResourceType.USER_VM


@pytest.fixture
def cloud(db_session: Session) -> Cloud:
    """A freshly seeded cloud."""
    return make_cloud(db_session)


@pytest.fixture
def sessions(migrated_database_url: str) -> Iterator[sessionmaker[Session]]:
    """Independent sessions (own connections) on the migrated database."""
    engine = create_engine(migrated_database_url)
    try:
        yield session_factory(engine)
    finally:
        engine.dispose()


def _count(
    session: Session, kind: ResourceType, *, account: int | None = None, domain: int | None = None
) -> int | None:
    owner = ResourceCount.account_id == account if account else ResourceCount.domain_id == domain
    return session.scalar(
        select(ResourceCount.count).where(owner, ResourceCount.type == kind.label)
    )


def _limit(
    session: Session,
    kind: ResourceType,
    value: int,
    *,
    account: int | None = None,
    domain: int | None = None,
) -> None:
    session.add(ResourceLimit(type=kind.label, account_id=account, domain_id=domain, max=value))
    session.flush()


def test_reserve_counts_the_account_and_every_domain_above_it(cloud: Cloud) -> None:
    sales = cloud.domain("Sales")
    emea = cloud.domain("EMEA", sales)
    alice, _ = cloud.account("alice", domain=emea)
    service.reserve(cloud.session, alice.id, VM, 2)
    service.reserve(cloud.session, alice.id, "user_vm")
    for owner in ({"account": alice.id}, {"domain": emea.id}, {"domain": sales.id}):
        assert _count(cloud.session, VM, **owner) == 3
    # ROOT keeps no running count: every reservation would wait on its row.
    assert _count(cloud.session, VM, domain=cloud.root.id) is None
    service.release(cloud.session, alice.id, VM, 2)
    assert _count(cloud.session, VM, account=alice.id) == 1
    assert _count(cloud.session, VM, domain=emea.id) == 1
    service.release(cloud.session, alice.id, VM, 5)  # never below zero
    assert _count(cloud.session, VM, domain=sales.id) == 0
    assert _count(cloud.session, ResourceType.VOLUME, account=alice.id) is None  # untouched
    assert _count(cloud.session, VM, domain=cloud.root.id) is None


def test_account_default_limit_comes_from_max_account_settings(cloud: Cloud) -> None:
    alice, _ = cloud.account("alice")
    service.reserve(cloud.session, alice.id, VM, 20)  # max.account.user.vms = 20
    with pytest.raises(AccountLimitExceeded, match="'user_vm' for account name=alice") as err:
        service.reserve(cloud.session, alice.id, VM)
    assert err.value.errorcode == 532
    cloud.session.add(Configuration(name="max.account.user.vms", value="21"))
    cloud.session.flush()
    service.reserve(cloud.session, alice.id, VM)
    assert _count(cloud.session, VM, account=alice.id) == 21


def test_explicit_account_limit_wins_and_failures_change_nothing(cloud: Cloud) -> None:
    alice, _ = cloud.account("alice")
    _limit(cloud.session, ResourceType.VOLUME, 2, account=alice.id)
    service.reserve(cloud.session, alice.id, ResourceType.VOLUME, 2)
    with pytest.raises(AccountLimitExceeded, match="'volume'"):
        service.reserve(cloud.session, alice.id, ResourceType.VOLUME)
    assert _count(cloud.session, ResourceType.VOLUME, account=alice.id) == 2


def test_domain_limits_apply_to_every_account_below_and_undo_partial_increments(
    cloud: Cloud,
) -> None:
    sales = cloud.domain("Sales")
    emea = cloud.domain("EMEA", sales)
    alice, _ = cloud.account("alice", domain=emea)
    bob, _ = cloud.account("bob", domain=sales)
    _limit(cloud.session, VM, 3, domain=sales.id)
    service.reserve(cloud.session, alice.id, VM, 2)
    service.reserve(cloud.session, bob.id, VM)
    with pytest.raises(AccountLimitExceeded, match=f"domain id={sales.uuid}"):
        service.reserve(cloud.session, alice.id, VM)
    # The account (and EMEA) were incremented before Sales refused; that was undone.
    assert _count(cloud.session, VM, account=alice.id) == 2
    assert _count(cloud.session, VM, domain=emea.id) == 2
    assert _count(cloud.session, VM, domain=sales.id) == 3
    service.release(cloud.session, bob.id, VM)
    service.reserve(cloud.session, alice.id, VM)
    assert _count(cloud.session, VM, domain=sales.id) == 3


def test_max_domain_default_applies_below_root_only(cloud: Cloud) -> None:
    sales = cloud.domain("Sales")
    alice, _ = cloud.account("alice", domain=sales)
    rooted, _ = cloud.account("rooted")
    cloud.session.add(Configuration(name="max.domain.templates", value="1"))
    cloud.session.flush()
    service.reserve(cloud.session, alice.id, ResourceType.TEMPLATE)
    with pytest.raises(AccountLimitExceeded, match=f"domain id={sales.uuid}"):
        service.reserve(cloud.session, alice.id, ResourceType.TEMPLATE)
    service.reserve(cloud.session, rooted.id, ResourceType.TEMPLATE, 2)  # ROOT: unlimited


def test_root_admins_are_unlimited_but_counted(cloud: Cloud) -> None:
    admin_account = cloud.admin.account_id
    service.reserve(cloud.session, admin_account, VM, 50)
    assert _count(cloud.session, VM, account=admin_account) == 50
    assert _count(cloud.session, VM, domain=cloud.root.id) is None  # ROOT: by aggregate


def test_root_is_counted_by_aggregate_when_asked(cloud: Cloud) -> None:
    """ROOT's count is what updateResourceCount sums from its accounts (recount),
    never a row that every reservation updates."""
    sales = cloud.domain("Sales")
    alice, _ = cloud.account("alice", domain=sales)
    bob, _ = cloud.account("bob")
    service.reserve(cloud.session, alice.id, ResourceType.VPC, 2)  # VPC: no counter
    service.reserve(cloud.session, bob.id, ResourceType.VPC, 3)
    (total,) = recount.recount(cloud.session, cloud.root, types=(ResourceType.VPC,))
    assert (total.count, total.domain) == (5, cloud.root)
    assert _count(cloud.session, ResourceType.VPC, domain=cloud.root.id) is None
    assert _count(cloud.session, ResourceType.VPC, domain=sales.id) == 2


def test_bad_arguments(cloud: Cloud) -> None:
    with pytest.raises(InvalidParameterValue, match="resourcetype"):
        service.reserve(cloud.session, cloud.admin.account_id, 9)
    with pytest.raises(InvalidParameterValue, match="account id=999999"):
        service.reserve(cloud.session, 999999, VM)
    with pytest.raises(ValueError, match="negative"):
        service.reserve(cloud.session, cloud.admin.account_id, VM, -1)


def test_a_reserve_costs_a_handful_of_statements_once_rows_exist(cloud: Cloud) -> None:
    sales = cloud.domain("Sales")
    alice, _ = cloud.account("alice", domain=cloud.domain("EMEA", sales))
    _limit(cloud.session, VM, 10, domain=sales.id)
    service.reserve(cloud.session, alice.id, VM)  # creates the count rows
    with count_statements(cloud.session) as statements:
        service.reserve(cloud.session, alice.id, VM)
    # The account, the UPDATEs of the domains' and of the account's count rows, the
    # read-back of counts and limits (the check).
    assert len(statements) == 4, statements
    with count_statements(cloud.session) as statements:
        service.release(cloud.session, alice.id, VM)
    assert len(statements) == 3, statements
    # In ROOT, or one level below it (the domain's row in the same UPDATE): one fewer.
    bob, _ = cloud.account("bob")
    carol, _ = cloud.account("carol", domain=sales)
    for owner in (bob, carol):
        service.reserve(cloud.session, owner.id, VM)
        with count_statements(cloud.session) as statements:
            service.reserve(cloud.session, owner.id, VM)
        assert len(statements) == 3, statements
        with count_statements(cloud.session) as statements:
            service.release(cloud.session, owner.id, VM)
        assert len(statements) == 2, statements
    assert _count(cloud.session, VM, account=carol.id) == 1
    # A VM and its volumes: the same four statements for two types (rows existing).
    service.reserve(cloud.session, alice.id, ResourceType.VOLUME)
    service.release(cloud.session, alice.id, ResourceType.VOLUME)
    with count_statements(cloud.session) as statements:
        service.reserve_many(cloud.session, alice.id, {VM: 1, ResourceType.VOLUME: 2})
    assert len(statements) == 4, statements
    assert _count(cloud.session, ResourceType.VOLUME, account=alice.id) == 2
    assert _count(cloud.session, ResourceType.VOLUME, domain=sales.id) == 2


def test_reserve_many_is_all_or_nothing(cloud: Cloud) -> None:
    """A VM fits but its volumes do not: neither is counted, and the error names the
    volume limit; a reserve of both that fits counts both at every level."""
    sales = cloud.domain("Sales")
    alice, _ = cloud.account("alice", domain=sales)
    _limit(cloud.session, ResourceType.VOLUME, 2, account=alice.id)
    with pytest.raises(AccountLimitExceeded) as failed:
        service.reserve_many(cloud.session, alice.id, {VM: 1, ResourceType.VOLUME: 3})
    assert "'volume'" in str(failed.value) and "account name=alice" in str(failed.value)
    for kind in (VM, ResourceType.VOLUME):
        assert _count(cloud.session, kind, account=alice.id) == 0
        assert _count(cloud.session, kind, domain=sales.id) == 0
    service.reserve_many(cloud.session, alice.id, {VM: 1, ResourceType.VOLUME: 2, "snapshot": 0})
    assert _count(cloud.session, VM, account=alice.id) == 1
    assert _count(cloud.session, ResourceType.VOLUME, domain=sales.id) == 2


def test_count_rows_are_created_once(cloud: Cloud) -> None:
    alice, _ = cloud.account("alice")
    service.ensure_count_rows(cloud.session, VM, account_ids=[alice.id], domain_ids=[cloud.root.id])
    service.ensure_count_rows(cloud.session, VM, account_ids=[alice.id], domain_ids=[cloud.root.id])
    service.reserve(cloud.session, alice.id, VM)
    rows = cloud.session.scalar(
        select(func.count()).select_from(ResourceCount).where(ResourceCount.type == VM.label)
    )
    assert rows == 2 and _count(cloud.session, VM, account=alice.id) == 1


# ---- concurrency -------------------------------------------------------------------


def _committed_cloud(sessions: sessionmaker[Session], limit: int | None) -> tuple[int, int]:
    """Seed, create account alice (limit on user_vm when given); commit; ids of alice
    and ROOT."""
    with sessions() as session:
        cloud = make_cloud(session)
        alice, _ = cloud.account("alice")
        if limit is not None:
            _limit(session, VM, limit, account=alice.id)
        session.commit()
        return alice.id, cloud.root.id


def test_two_sessions_cannot_both_pass_a_limit_of_one(sessions: sessionmaker[Session]) -> None:
    """The first reserve holds its increment uncommitted while the second runs: the
    second must wait and then fail, not read the old count and pass."""
    alice, root = _committed_cloud(sessions, limit=1)
    first_reserved = threading.Event()
    outcome: dict[str, str] = {}

    def first() -> None:
        with sessions() as session:
            service.reserve(session, alice, VM)
            first_reserved.set()
            time.sleep(0.5)  # the second reserve runs (and must wait) meanwhile
            session.commit()
            outcome["first"] = "passed"

    def second() -> None:
        first_reserved.wait(10)
        with sessions() as session:
            try:
                service.reserve(session, alice, VM)
                session.commit()
                outcome["second"] = "passed"
            except AccountLimitExceeded:
                session.rollback()
                outcome["second"] = "refused"

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert outcome == {"first": "passed", "second": "refused"}
    with sessions() as session:
        assert _count(session, VM, account=alice) == 1
        assert _count(session, VM, domain=root) is None


def test_many_concurrent_reserves_pass_exactly_the_limit(sessions: sessionmaker[Session]) -> None:
    """Eight sessions race (from a barrier) on a fresh account with a limit of 3, whose
    count row does not exist yet: exactly three pass, one row is created (ROOT keeps
    none)."""
    alice, root = _committed_cloud(sessions, limit=3)
    barrier = threading.Barrier(8)
    results: list[str] = []
    lock = threading.Lock()

    def worker() -> None:
        barrier.wait(10)
        with sessions() as session:
            try:
                service.reserve(session, alice, VM)
                time.sleep(0.05)  # hold the row lock a little, as a deploy would
                session.commit()
                verdict = "passed"
            except AccountLimitExceeded:
                session.rollback()
                verdict = "refused"
        with lock:
            results.append(verdict)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(results) == ["passed"] * 3 + ["refused"] * 5
    with sessions() as session:
        assert _count(session, VM, account=alice) == 3
        assert _count(session, VM, domain=root) is None
        rows = session.scalar(
            select(func.count()).select_from(ResourceCount).where(ResourceCount.type == VM.label)
        )
        assert rows == 1


# ---- limits admin and recount ------------------------------------------------------


def _keypairs_per_account(session: Session, account_ids: Sequence[int]) -> dict[int, int]:
    """A real set-based counter: SSH key pairs per account."""
    rows = session.execute(
        select(SSHKeyPair.account_id, func.count())
        .where(SSHKeyPair.account_id.in_(account_ids))
        .group_by(SSHKeyPair.account_id)
    )
    return {account_id: count for account_id, count in rows}


@pytest.fixture
def keypair_counter() -> Iterator[None]:
    """Counts key pairs as the ``project`` type, and leaves ``vpc`` without a counter,
    for this test only (the areas' own registrations are restored afterwards)."""
    saved = counters.registered()
    counters.register(ResourceType.PROJECT, _keypairs_per_account)
    counters.unregister(ResourceType.VPC)
    try:
        yield
    finally:
        for kind in (ResourceType.PROJECT, ResourceType.VPC):
            counters.unregister(kind)
            if kind in saved:
                counters.register(kind, saved[kind])


def _keypair(session: Session, account: Account, name: str) -> None:
    session.add(
        SSHKeyPair(
            account_id=account.id,
            domain_id=account.domain_id,
            name=name,
            fingerprint="00",
            public_key="ssh-rsa AAAA",
        )
    )
    session.flush()


def test_recount_sets_accounts_from_counters_and_domains_from_accounts(
    cloud: Cloud, keypair_counter: None
) -> None:
    kind = ResourceType.PROJECT
    sales = cloud.domain("Sales")
    emea = cloud.domain("EMEA", sales)
    alice, _ = cloud.account("alice", domain=emea)
    bob, _ = cloud.account("bob", domain=sales)
    for name in ("a", "b", "c"):
        _keypair(cloud.session, alice, name)
    _keypair(cloud.session, bob, "x")
    service.reserve(cloud.session, alice.id, kind, 7)  # drifted counts
    service.reserve(cloud.session, bob.id, ResourceType.VPC, 4)  # no counter: kept
    counts = recount.recount(cloud.session, sales, types=(kind, ResourceType.VPC))
    by_type = {count.resource_type: count.count for count in counts}
    assert by_type == {kind: 4, ResourceType.VPC: 4}
    assert _count(cloud.session, kind, account=alice.id) == 3
    assert _count(cloud.session, kind, domain=emea.id) == 3
    assert _count(cloud.session, kind, domain=sales.id) == 4
    (only,) = recount.recount(cloud.session, emea, account=alice, types=(kind,))
    assert (only.count, only.account) == (3, alice)


def test_update_limit_rules(cloud: Cloud) -> None:
    sales = cloud.domain("Sales")
    emea = cloud.domain("EMEA", sales)
    alice, _ = cloud.account("alice", domain=emea)
    dadmin, dadmin_user = cloud.account("dadmin", AccountType.DOMAIN_ADMIN, sales)
    other, _ = cloud.account("other", domain=cloud.domain("Other"))
    root_admin = cloud.session.get(Account, cloud.admin.account_id)
    assert root_admin is not None
    ctx = cloud.ctx(dadmin_user)
    limit = admin.update_limit(ctx, cloud.session, resource_type=VM, max_value=5, account=alice)
    assert (limit.max, limit.account, limit.domain) == (5, alice, emea)
    assert admin.account_limits(cloud.session, alice, (VM,))[0].max == 5
    with pytest.raises(PermissionDenied, match="his own account"):
        admin.update_limit(ctx, cloud.session, resource_type=VM, max_value=5, account=dadmin)
    with pytest.raises(PermissionDenied, match="permission denied"):
        admin.update_limit(ctx, cloud.session, resource_type=VM, max_value=5, domain=sales)
    with pytest.raises(PermissionDenied):
        admin.update_limit(ctx, cloud.session, resource_type=VM, max_value=5, account=other)
    with pytest.raises(InvalidParameterValue, match="max"):
        admin.update_limit(ctx, cloud.session, resource_type=VM, max_value=-2, account=alice)
    with pytest.raises(InvalidParameterValue, match="Root Admin"):
        admin.update_limit(
            cloud.admin, cloud.session, resource_type=VM, max_value=3, account=root_admin
        )
    with pytest.raises(PermissionDenied, match="ROOT"):
        admin.update_limit(
            cloud.admin, cloud.session, resource_type=VM, max_value=3, domain=cloud.root
        )
    admin.update_limit(cloud.admin, cloud.session, resource_type=VM, max_value=10, domain=sales)
    admin.update_limit(ctx, cloud.session, resource_type=VM, max_value=8, domain=emea)
    with pytest.raises(InvalidParameterValue, match="less that or equal to 10"):
        admin.update_limit(ctx, cloud.session, resource_type=VM, max_value=11, domain=emea)
    # A domain without its own limit shows its nearest ancestor's; ROOT none.
    child = cloud.domain("Child", sales)
    assert admin.domain_limits(cloud.session, child, (VM,))[0].max == 10
    assert admin.domain_limits(cloud.session, cloud.root, (VM,))[0].max == -1
    rows = cloud.session.scalar(select(func.count()).select_from(ResourceLimit))
    assert rows == 3  # alice, Sales, EMEA: updating twice keeps one row each
    admin.update_limit(ctx, cloud.session, resource_type=VM, max_value=None, account=alice)
    assert admin.account_limits(cloud.session, alice, (VM,))[0].max == -1
    assert cloud.session.scalar(select(func.count()).select_from(ResourceLimit)) == 3


def test_list_limits_users_see_their_own(cloud: Cloud) -> None:
    alice, alice_user = cloud.account("alice")
    bob, _ = cloud.account("bob")
    _limit(cloud.session, VM, 2, account=bob.id)
    limits = admin.list_limits(cloud.ctx(alice_user), cloud.session, account=bob)
    assert {limit.account for limit in limits} == {alice}
    by_type = {limit.resource_type: limit.max for limit in limits}
    assert by_type[VM] == 20 and by_type[ResourceType.PROJECT] == -1
    assert len(limits) == len(ResourceType)
    seen = admin.list_limits(
        cloud.admin, cloud.session, account=bob, domain=cloud.root, resource_type=VM
    )
    assert [(limit.account, limit.max) for limit in seen] == [(bob, 2)]
    own = admin.list_limits(cloud.admin, cloud.session)
    assert {limit.max for limit in own} == {-1}  # root admin: unlimited
    domain_rows = admin.list_limits(cloud.admin, cloud.session, domain=cloud.domain("D"))
    assert all(limit.account is None for limit in domain_rows)
    row_id = cloud.session.scalar(
        select(ResourceLimit.id).where(ResourceLimit.account_id == bob.id)
    )
    assert row_id is not None
    assert [lim.max for lim in admin.list_limits(cloud.admin, cloud.session, limit_id=row_id)] == [
        2
    ]


def test_named_account_rules(cloud: Cloud) -> None:
    sales = cloud.domain("Sales")
    alice, _ = cloud.account("alice", domain=sales)
    assert admin.named_account(cloud.session, "alice", sales) == alice
    assert admin.named_account(cloud.session, None, sales) is None
    with pytest.raises(InvalidParameterValue, match="domainId"):
        admin.named_account(cloud.session, "alice", None)
    with pytest.raises(InvalidParameterValue, match="Unable to find account"):
        admin.named_account(cloud.session, "alice", cloud.session.get(Domain, cloud.root.id))
