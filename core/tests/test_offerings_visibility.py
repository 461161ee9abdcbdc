"""Who sees which offering: domain scoping in the list services and in the lookups other
areas use, one statement per list page, and ``virtualmachineid``."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from test_accounts_fixtures import Cloud, count_statements, make_cloud

from cumulo.accounts.models import AccountType, Domain
from cumulo.compute.models import VirtualMachine
from cumulo.infra.models import Zone
from cumulo.offerings import disk_offerings, service_offerings
from cumulo.offerings.listing import (
    DiskOfferingFilter,
    ServiceOfferingFilter,
    list_disk_offerings,
    list_service_offerings,
)
from cumulo.offerings.lookup import (
    current_offering_of_vm,
    disk_offering_for,
    service_offering_for,
)
from cumulo.offerings.models import ServiceOffering
from cumulo.offerings.visibility import ancestor_paths, may_see
from cumulo.sdk.api import CallContext
from cumulo.sdk.errors import InvalidParameterValue, PermissionDenied


@dataclass
class Scoped:
    """A cloud with domains ROOT > Sales > EMEA and ROOT > Other, one user per domain,
    a Sales domain admin, and one service and one disk offering per scope."""

    cloud: Cloud
    domains: dict[str, Domain]
    ctx: dict[str, CallContext]
    service: dict[str, str]  # scope -> offering uuid
    disk: dict[str, str]


@pytest.fixture
def scoped(db_session: Session) -> Scoped:
    cloud = make_cloud(db_session)
    sales = cloud.domain("Sales")
    domains = {"sales": sales, "emea": cloud.domain("EMEA", sales), "other": cloud.domain("Other")}
    ctx = {"admin": cloud.admin}
    for name, domain, kind in (
        ("salesuser", "sales", AccountType.NORMAL),
        ("emeauser", "emea", AccountType.NORMAL),
        ("otheruser", "other", AccountType.NORMAL),
        ("salesadmin", "sales", AccountType.DOMAIN_ADMIN),
    ):
        _, user = cloud.account(name, kind, domains[domain])
        ctx[name] = cloud.ctx(user)
    service, disk = {}, {}
    for scope in ("public", "sales", "emea", "other"):
        owner = domains.get(scope)
        service[scope] = service_offerings.create_service_offering(
            db_session,
            name=f"so-{scope}",
            display_text=f"compute for {scope}",
            cpu=1,
            speed=1000,
            memory=1024,
            domain=owner,
        ).uuid
        disk[scope] = disk_offerings.create_disk_offering(
            db_session,
            name=f"do-{scope}",
            display_text=f"disk for {scope}",
            disk_size_gb=10,
            domain=owner,
        ).uuid
    return Scoped(cloud, domains, ctx, service, disk)


def _service_names(session: Session, ctx: CallContext, **filters: object) -> set[str]:
    rows, total = list_service_offerings(session, ctx, ServiceOfferingFilter(**filters))  # type: ignore[arg-type]
    assert total == len(rows)
    return {row.offering.name for row in rows}


def _disk_names(session: Session, ctx: CallContext, **filters: object) -> set[str]:
    rows, total = list_disk_offerings(session, ctx, DiskOfferingFilter(**filters))  # type: ignore[arg-type]
    assert total == len(rows)
    return {row.offering.name for row in rows}


SEEDED_SERVICE = {"Small Instance", "Medium Instance"}
SEEDED_DISK = {"Small", "Medium", "Large", "Custom"}

# Who sees which scoped offering: public ones, those of the own domain and its
# ancestors; a domain admin also those of its subtree; the root admin everything.
EXPECTED = {
    "admin": {"public", "sales", "emea", "other"},
    "salesuser": {"public", "sales"},
    "emeauser": {"public", "sales", "emea"},
    "otheruser": {"public", "other"},
    "salesadmin": {"public", "sales", "emea"},
}


def test_ancestor_paths_walk_up_to_root() -> None:
    assert ancestor_paths("/") == ["/"]
    assert ancestor_paths("/Sales/EMEA/") == ["/", "/Sales/", "/Sales/EMEA/"]


@pytest.mark.parametrize("who", sorted(EXPECTED))
def test_lists_show_public_ancestor_and_administered_offerings(scoped: Scoped, who: str) -> None:
    session, ctx = scoped.cloud.session, scoped.ctx[who]
    assert _service_names(session, ctx) == SEEDED_SERVICE | {f"so-{s}" for s in EXPECTED[who]}
    assert _disk_names(session, ctx) == SEEDED_DISK | {f"do-{s}" for s in EXPECTED[who]}


@pytest.mark.parametrize("who", sorted(EXPECTED))
def test_lookups_follow_the_same_rule_and_hide_the_rest(scoped: Scoped, who: str) -> None:
    session, ctx = scoped.cloud.session, scoped.ctx[who]
    for scope, uuid in scoped.service.items():
        if scope in EXPECTED[who]:
            assert service_offering_for(session, ctx, uuid).uuid == uuid
            assert disk_offering_for(session, ctx, scoped.disk[scope]).uuid == scoped.disk[scope]
        else:
            with pytest.raises(InvalidParameterValue, match="serviceofferingid"):
                service_offering_for(session, ctx, uuid)
            with pytest.raises(InvalidParameterValue, match="diskofferingid"):
                disk_offering_for(session, ctx, scoped.disk[scope])


def test_may_see_agrees_with_the_sql_rule(scoped: Scoped) -> None:
    paths = {scope: d.path for scope, d in scoped.domains.items()} | {"public": None}
    for who, visible in EXPECTED.items():
        assert {s for s, path in paths.items() if may_see(scoped.ctx[who], path)} == visible


def test_lookups_refuse_removed_and_system_offerings_and_accept_internal_ids(
    scoped: Scoped,
) -> None:
    session, user = scoped.cloud.session, scoped.ctx["salesuser"]
    offering = session.scalars(
        select(ServiceOffering).where(ServiceOffering.uuid == scoped.service["public"])
    ).one()
    assert service_offering_for(session, user, offering.id).id == offering.id
    assert service_offering_for(session, user, str(offering.id)).id == offering.id
    router = session.scalars(
        select(ServiceOffering).where(ServiceOffering.vm_type == "domainrouter")
    ).one()
    with pytest.raises(InvalidParameterValue, match="serviceofferingid"):
        service_offering_for(session, scoped.ctx["admin"], router.uuid)
    assert service_offering_for(session, user, router.uuid, allow_system=True).id == router.id
    service_offerings.delete_service_offering(session, offering)
    with pytest.raises(InvalidParameterValue, match="serviceofferingid"):
        service_offering_for(session, scoped.ctx["admin"], offering.uuid)
    for bogus in ("no-such-offering", 0, 2**64, "-1"):
        with pytest.raises(InvalidParameterValue, match="templateid"):
            service_offering_for(session, user, bogus, param="templateid")


def test_system_offerings_are_listed_only_when_asked_for(scoped: Scoped) -> None:
    session, admin = scoped.cloud.session, scoped.ctx["admin"]
    system = _service_names(session, admin, is_system=True)
    assert system == {
        "System Offering For Software Router",
        "System Offering For Console Proxy",
        "System Offering For Secondary Storage VM",
    }
    assert not system & _service_names(session, admin)
    assert _service_names(session, admin, is_system=True, system_vm_type="consoleproxy") == {
        "System Offering For Console Proxy"
    }


def test_list_filters_id_name_keyword_and_domain(scoped: Scoped) -> None:
    session, admin = scoped.cloud.session, scoped.ctx["admin"]
    assert _service_names(session, admin, id=scoped.service["emea"]) == {"so-emea"}
    assert _service_names(session, admin, name="so-other") == {"so-other"}
    assert _service_names(session, admin, name="so-") == set()  # exact, as 4.1
    assert _service_names(session, admin, keyword="compute for s") == {"so-sales"}
    assert _service_names(session, admin, keyword="Medium") == {"Medium Instance"}
    assert _disk_names(session, admin, domain_id=scoped.domains["emea"].id) == {"do-emea"}
    assert _disk_names(session, admin, keyword="%") == set()  # wildcards are literal
    # A user naming its parent's domain still sees only what it may see.
    user = scoped.ctx["emeauser"]
    assert _disk_names(session, user, domain_id=scoped.domains["sales"].id) == {"do-sales"}
    assert _disk_names(session, scoped.ctx["salesuser"], domain_id=scoped.domains["emea"].id) == (
        set()
    )


def test_sort_key_orders_the_list_then_id(scoped: Scoped) -> None:
    session, admin = scoped.cloud.session, scoped.ctx["admin"]
    offering = session.scalars(
        select(ServiceOffering).where(ServiceOffering.uuid == scoped.service["other"])
    ).one()
    service_offerings.update_service_offering(session, offering, sort_key=5)

    def order(ascending: bool) -> list[str]:
        rows, _ = list_service_offerings(
            session, admin, ServiceOfferingFilter(), ascending=ascending
        )
        return [row.offering.name for row in rows]

    descending = order(False)
    assert descending[0] == "so-other"  # 4.1's default: highest sort key first
    assert order(True)[-1] == "so-other"
    assert descending[1:] == ["Small Instance", "Medium Instance"] + [
        f"so-{s}" for s in ("public", "sales", "emea")
    ]


def test_paging_counts_every_visible_row(scoped: Scoped) -> None:
    session, user = scoped.cloud.session, scoped.ctx["emeauser"]
    rows, total = list_service_offerings(session, user, ServiceOfferingFilter(), page=2, pagesize=2)
    assert total == 5  # two seeded, public, sales, emea
    assert len(rows) == 2


def test_a_list_page_is_one_statement_however_many_offerings(scoped: Scoped) -> None:
    session, user = scoped.cloud.session, scoped.ctx["emeauser"]

    def statements() -> int:
        with count_statements(session) as seen:
            list_service_offerings(session, user, ServiceOfferingFilter())
            list_disk_offerings(session, user, DiskOfferingFilter())
        return len(seen)

    few = statements()
    for index in range(30):
        for scope in ("sales", "emea", "other"):
            service_offerings.create_service_offering(
                session,
                name=f"extra-{scope}-{index}",
                display_text="x",
                cpu=1,
                speed=100,
                memory=64,
                domain=scoped.domains[scope],
            )
            disk_offerings.create_disk_offering(
                session,
                name=f"extra-{scope}-{index}",
                display_text="x",
                disk_size_gb=1,
                domain=scoped.domains[scope],
            )
    session.flush()
    session.expire_all()
    assert statements() == few == 2
    rows, total = list_service_offerings(session, user, ServiceOfferingFilter())
    assert total == len(rows) == 5 + 60  # the "other" ones stay hidden


def test_virtualmachineid_gives_the_offerings_a_vm_can_change_to(scoped: Scoped) -> None:
    session = scoped.cloud.session
    zone = Zone(name="z1", dns1="8.8.8.8", internal_dns1="10.0.0.2", networktype="Basic")
    session.add(zone)
    session.flush()
    current = service_offering_for(session, scoped.ctx["emeauser"], scoped.service["sales"])
    local = service_offerings.create_service_offering(
        session, name="local", display_text="l", cpu=1, speed=1, memory=32, storage_type="local"
    )
    user = scoped.ctx["emeauser"]
    vm = VirtualMachine(
        name="vm1",
        instance_name="i-2-1-VM",
        account_id=user.account_id,
        domain_id=user.domain_id,
        service_offering_id=current.id,
        data_center_id=zone.id,
        vnc_password="x",
    )
    session.add(vm)
    session.flush()
    assert current_offering_of_vm(session, user, vm.uuid) == (current.id, False)
    names = _service_names(session, user, exclude_id=current.id, use_local_storage=False)
    assert "so-sales" not in names and local.name not in names
    assert "so-emea" in names
    with pytest.raises(PermissionDenied):
        current_offering_of_vm(session, scoped.ctx["otheruser"], vm.uuid)
    assert current_offering_of_vm(session, scoped.ctx["salesadmin"], vm.uuid)[0] == current.id
    with pytest.raises(InvalidParameterValue, match="virtualmachineid"):
        current_offering_of_vm(session, user, "00000000-0000-4000-8000-000000000000")
