"""Domains: paths, renames, deletion with and without cleanup, listing and scoping."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from test_accounts_fixtures import Cloud, make_cloud

from cumulo.accounts import domains
from cumulo.accounts.models import Account, AccountType, Domain, DomainState, User
from cumulo.events.models import Event
from cumulo.sdk.errors import InvalidParameterValue, PermissionDenied, ResourceInUse


@pytest.fixture
def cloud(db_session: Session) -> Cloud:
    """A freshly seeded cloud."""
    return make_cloud(db_session)


def _list(cloud: Cloud, **kwargs: object) -> list[str]:
    rows, _ = domains.list_domains(
        kwargs.pop("ctx", cloud.admin),  # type: ignore[arg-type]
        cloud.session,
        max_page_size=500,
        **kwargs,  # type: ignore[arg-type]
    )
    return [domain.path for domain, _ in rows]


def test_create_builds_path_level_and_counts_children(cloud: Cloud) -> None:
    sales = cloud.domain("Sales")
    emea = domains.create_domain(
        cloud.admin, cloud.session, name="EMEA", parent=sales, network_domain="emea.example"
    )
    assert (sales.path, sales.level) == ("/Sales/", 1)
    assert (emea.path, emea.level, emea.parent) == ("/Sales/EMEA/", 2, sales.id)
    assert emea.network_domain == "emea.example"
    cloud.session.refresh(sales)
    cloud.session.refresh(cloud.root)
    assert sales.child_count == 1 and cloud.root.child_count == 1
    assert emea.owner == cloud.admin.account_id
    recorded = cloud.session.scalars(select(Event.type).where(Event.type == "DOMAIN.CREATE"))
    assert len(list(recorded)) == 2


@pytest.mark.parametrize(
    ("name", "network_domain", "message"),
    [
        ("a/b", None, "without '/'"),
        ("  ", None, "empty"),
        ("ok", "-bad-.example", "Invalid network domain"),
        ("x" * 254, None, "longer than 255"),
    ],
)
def test_create_refuses_bad_values(
    cloud: Cloud, name: str, network_domain: str | None, message: str
) -> None:
    with pytest.raises(InvalidParameterValue, match=message):
        domains.create_domain(cloud.admin, cloud.session, name=name, network_domain=network_domain)


def test_sibling_names_are_unique_but_cousins_may_share(cloud: Cloud) -> None:
    a = cloud.domain("A")
    b = cloud.domain("B")
    cloud.domain("Same", a)
    cloud.domain("Same", b)
    with pytest.raises(InvalidParameterValue, match="already exists"):
        cloud.domain("Same", a)


def test_given_uuid_is_used_once(cloud: Cloud) -> None:
    wanted = "0b1f2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
    made = domains.create_domain(cloud.admin, cloud.session, name="Copied", uuid=wanted)
    assert made.uuid == wanted
    with pytest.raises(InvalidParameterValue, match="already exists"):
        domains.create_domain(cloud.admin, cloud.session, name="Again", uuid=wanted)
    with pytest.raises(InvalidParameterValue, match="lower-case UUID"):
        domains.create_domain(cloud.admin, cloud.session, name="Bad", uuid="NOT-A-UUID")


def test_rename_rewrites_the_subtree_paths(cloud: Cloud) -> None:
    sales = cloud.domain("Sales")
    emea = cloud.domain("EMEA", sales)
    paris = cloud.domain("Paris", emea)
    other = cloud.domain("SalesTeam")
    domains.update_domain(cloud.admin, cloud.session, sales, name="Revenue", network_domain="")
    assert [d.path for d in (sales, emea, paris, other)] == [
        "/Revenue/",
        "/Revenue/EMEA/",
        "/Revenue/EMEA/Paris/",
        "/SalesTeam/",
    ]
    with pytest.raises(InvalidParameterValue, match="ROOT domain can not be edited"):
        domains.update_domain(cloud.admin, cloud.session, cloud.root, name="TOP")
    with pytest.raises(InvalidParameterValue, match="already exists"):
        domains.update_domain(cloud.admin, cloud.session, sales, name="SalesTeam")


def test_delete_without_cleanup_refuses_a_domain_in_use(cloud: Cloud) -> None:
    d1 = cloud.domain("D1")
    cloud.account("alice", domain=d1)
    with pytest.raises(ResourceInUse, match="make sure all users and sub domains"):
        domains.delete_domain(cloud.admin, cloud.session, d1, cleanup=False)
    d2 = cloud.domain("D2")
    cloud.domain("child", d2)
    with pytest.raises(ResourceInUse):
        domains.delete_domain(cloud.admin, cloud.session, d2, cleanup=False)
    with pytest.raises(PermissionDenied, match="ROOT"):
        domains.delete_domain(cloud.admin, cloud.session, cloud.root, cleanup=True)


def test_delete_with_cleanup_removes_subtree_accounts_and_users(cloud: Cloud) -> None:
    d1 = cloud.domain("D1")
    sub = cloud.domain("Sub", d1)
    keep = cloud.domain("D1x")
    cloud.account("alice", domain=d1)
    cloud.account("bob", domain=sub)
    cloud.account("carol", domain=keep)
    domains.delete_domain(cloud.admin, cloud.session, d1, cleanup=True)
    session = cloud.session
    live_domains = set(session.scalars(select(Domain.name).where(Domain.removed.is_(None))))
    assert live_domains == {"ROOT", "D1x"}
    removed = session.scalars(select(Domain).where(Domain.name.in_(["D1", "Sub"]))).all()
    assert all(d.state == DomainState.INACTIVE for d in removed)
    live_accounts = set(
        session.scalars(select(Account.account_name).where(Account.removed.is_(None)))
    )
    assert live_accounts == {"system", "admin", "carol"}
    live_users = set(session.scalars(select(User.username).where(User.removed.is_(None))))
    assert live_users == {"system", "admin", "carol"}
    session.refresh(cloud.root)
    assert cloud.root.child_count == 1
    with pytest.raises(InvalidParameterValue, match="domain not found"):
        domains.delete_domain(cloud.admin, session, d1, cleanup=True)
    # The name is free again.
    assert cloud.domain("D1").path == "/D1/"


def test_empty_domain_deletes_without_cleanup(cloud: Cloud) -> None:
    d1 = cloud.domain("D1")
    domains.delete_domain(cloud.admin, cloud.session, d1, cleanup=False)
    assert d1.removed is not None
    count = cloud.session.scalar(
        select(func.count()).select_from(Event).where(Event.type == "DOMAIN.DELETE")
    )
    assert count == 1


def test_list_domains_scoping(cloud: Cloud) -> None:
    d1 = cloud.domain("D1")
    sub = cloud.domain("Sub", d1)
    cloud.domain("D2")
    _, d1admin = cloud.account("d1admin", AccountType.DOMAIN_ADMIN, d1)
    dadmin = cloud.ctx(d1admin)
    assert _list(cloud) == ["/", "/D1/", "/D1/Sub/", "/D2/"]
    assert _list(cloud, ctx=dadmin) == ["/D1/"]
    assert _list(cloud, ctx=dadmin, listall=True) == ["/D1/", "/D1/Sub/"]
    assert _list(cloud, ctx=dadmin, domain=sub) == ["/D1/Sub/"]
    assert _list(cloud, level=1) == ["/D1/", "/D2/"]
    assert _list(cloud, name="Sub") == ["/D1/Sub/"]
    assert _list(cloud, keyword="D") == ["/D1/", "/D2/"]
    with pytest.raises(PermissionDenied):
        _list(cloud, ctx=dadmin, domain=cloud.root)
    rows, total = domains.list_domains(
        cloud.admin, cloud.session, page=2, pagesize=3, max_page_size=500
    )
    assert total == 4 and [d.path for d, _ in rows] == ["/D2/"]
    parents = {
        d.path: p.path if p else None
        for d, p in domains.list_domains(cloud.admin, cloud.session, max_page_size=500)[0]
    }
    assert parents == {"/": None, "/D1/": "/", "/D1/Sub/": "/D1/", "/D2/": "/"}


def test_list_domain_children(cloud: Cloud) -> None:
    d1 = cloud.domain("D1")
    sub = cloud.domain("Sub", d1)
    cloud.domain("Leaf", sub)
    cloud.domain("D2")
    _, d1admin = cloud.account("d1admin", AccountType.DOMAIN_ADMIN, d1)

    def children(**kwargs: object) -> list[str]:
        ctx = kwargs.pop("ctx", cloud.admin)
        rows, _ = domains.list_domain_children(
            ctx,  # type: ignore[arg-type]
            cloud.session,
            max_page_size=500,
            **kwargs,  # type: ignore[arg-type]
        )
        return [domain.path for domain, _ in rows]

    assert children() == ["/D1/", "/D2/"]
    assert children(domain=d1) == ["/D1/Sub/"]
    assert children(domain=d1, isrecursive=True) == ["/D1/Sub/", "/D1/Sub/Leaf/"]
    assert children(ctx=cloud.ctx(d1admin)) == ["/D1/Sub/"]
    assert children(domain=d1, name="ea") == []
    assert children(domain=sub, name="ea") == ["/D1/Sub/Leaf/"]
    with pytest.raises(PermissionDenied):
        children(ctx=cloud.ctx(d1admin), domain=cloud.root)
