"""Regions over the API (REQUIREMENTS §12: REQ-REG-01, REQ-REG-04, REQ-REG-05): the
default region, adding the other regions of the full mesh, renaming, removing, who may
do what, and one statement per list page."""

from __future__ import annotations

import falcon.testing
import pytest
from sqlalchemy import select
from test_infra_zones import Cloud, Keys, _count, make_caller

from cumulo.accounts.models import Account, Domain, User
from cumulo.events.models import Event
from cumulo.infra import regions
from cumulo.infra.models import Region
from cumulo.runtime import Runtime
from cumulo.sdk.api import Call, CallContext, Command, RawResult
from cumulo.sdk.errors import InvalidParameterValue

EAST = "http://10.2.0.1:8080/client"


@pytest.fixture
def cloud(api: falcon.testing.TestClient, runtime: Runtime, admin_keys: Keys) -> Cloud:
    return Cloud(api, runtime, admin_keys)


def test_req_reg_01_default_region_one(cloud: Cloud) -> None:
    """REQ-REG-01: a fresh cloud has exactly region 1, and its zones belong to it."""
    listed = cloud.call("listRegions")
    assert listed["count"] == 1
    (local,) = listed["region"]
    assert local["id"] == 1 and local["name"] == "Local" and local["endpoint"]
    zone = cloud.zone("z")
    with cloud.runtime.sessions() as session:
        from cumulo.infra.lookup import find_zone

        assert find_zone(session, zone["id"]).region_id == 1


def test_req_reg_05_add_region_with_its_id_name_endpoint(cloud: Cloud) -> None:
    """REQ-REG-05: each region registers the others under their own ids."""
    added = cloud.call("addRegion", id=2, name="Eastern", endpoint=EAST)["region"]
    assert added == {"id": 2, "name": "Eastern", "endpoint": EAST}
    cloud.call("addRegion", id=3, name="Western", endpoint="https://west.example/client")
    listed = cloud.call("listRegions")
    assert listed["count"] == 3
    assert [r["id"] for r in listed["region"]] == [1, 2, 3]
    assert cloud.call("listRegions", id=2)["region"] == [added]
    assert cloud.call("listRegions", name="Western")["region"][0]["id"] == 3
    assert cloud.call("listRegions", keyword="ster")["count"] == 2
    assert cloud.call("listRegions", id=9) == {}


def test_region_ids_and_names_are_unique(cloud: Cloud) -> None:
    """REQ-REG-05: region ids are the installations' ids, so one id is one region."""
    cloud.call("addRegion", id=2, name="Eastern", endpoint=EAST)
    code, text = cloud.error("addRegion", id=2, name="Other", endpoint=EAST)
    assert code == 431 and "id 2" in text and "already exists" in text
    code, text = cloud.error("addRegion", id=1, name="Other", endpoint=EAST)
    assert code == 431 and "already exists" in text
    code, text = cloud.error("addRegion", id=4, name="Eastern", endpoint=EAST)
    assert code == 431 and "name Eastern" in text
    code, text = cloud.error("updateRegion", id=1, name="Eastern")
    assert code == 431 and "name Eastern" in text
    assert cloud.call("listRegions")["count"] == 2


def test_add_region_validates_id_and_endpoint(cloud: Cloud) -> None:
    for region_id in (0, -3):
        code, text = cloud.error("addRegion", id=region_id, name="R", endpoint=EAST)
        assert code == 431 and "(id)" in text, region_id
    for endpoint in ("10.2.0.1:8080/client", "ftp://10.2.0.1/", "http://"):
        code, text = cloud.error("addRegion", id=5, name="R", endpoint=endpoint)
        assert code == 431 and "endpoint" in text, endpoint
    assert cloud.call("listRegions")["count"] == 1


def test_update_region_renames_the_default_region(cloud: Cloud) -> None:
    """§12.3: updateRegion changes the name and/or endpoint, e.g. of region 1."""
    renamed = cloud.call("updateRegion", id=1, name="Northern")["region"]
    assert renamed["name"] == "Northern" and renamed["endpoint"] == (
        "http://localhost:8080/client/"
    )
    moved = cloud.call("updateRegion", id=1, endpoint="http://10.1.0.1:8080/client")["region"]
    assert moved == {"id": 1, "name": "Northern", "endpoint": "http://10.1.0.1:8080/client"}
    code, text = cloud.error("updateRegion", id=7, name="x")
    assert code == 431 and "doesn't exist" in text


def test_remove_region_but_never_the_local_one(cloud: Cloud) -> None:
    """§12.3: removeRegion unregisters another region; the local region stays."""
    cloud.call("addRegion", id=2, name="Eastern", endpoint=EAST)
    code, text = cloud.error("removeRegion", id=1)
    assert code == 431 and "local region" in text
    assert cloud.call("removeRegion", id=2)["success"] == "true"
    assert [r["id"] for r in cloud.call("listRegions")["region"]] == [1]
    code, text = cloud.error("removeRegion", id=2)
    assert code == 431 and "doesn't exist" in text
    # Removed means gone: the id may be registered again.
    cloud.call("addRegion", id=2, name="Eastern", endpoint=EAST)


def _admin_call(session: object, runtime: Runtime, services: dict[str, object]) -> Call:
    from sqlalchemy.orm import Session

    assert isinstance(session, Session)
    admin = session.scalars(select(User).where(User.username == "admin")).one()
    account = session.get_one(Account, admin.account_id)
    domain = session.get_one(Domain, account.domain_id)
    ctx = CallContext(
        user_id=admin.id,
        account_id=account.id,
        domain_id=domain.id,
        domain_path=domain.path,
        account_type=account.type,
    )
    command = Command(name="removeRegion", handler=lambda call: RawResult({}))
    return Call(command, ctx, session, {}, runtime.pm, services=services)


def test_local_region_is_this_installations_region_id(cloud: Cloud, runtime: Runtime) -> None:
    """On an installation set up with ``-r 2`` region 2 is the local one: it cannot be
    removed, and region 1 can once no zone belongs to it."""
    cloud.call("addRegion", id=2, name="Eastern", endpoint=EAST)
    with runtime.sessions() as session:
        call = _admin_call(session, runtime, {"region_id": 2})
        assert regions.local_region_id(call) == 2
        with pytest.raises(InvalidParameterValue, match="local region"):
            regions.remove_region(call, regions.find_region(session, 2))
        regions.remove_region(call, regions.find_region(session, 1))
        assert session.scalars(select(Region.id)).all() == [2]
        session.rollback()


def test_region_with_zones_cannot_be_removed(cloud: Cloud, runtime: Runtime) -> None:
    cloud.zone("z")
    with runtime.sessions() as session:
        call = _admin_call(session, runtime, {"region_id": 2})
        with pytest.raises(InvalidParameterValue, match="zones"):
            regions.remove_region(call, regions.find_region(session, 1))


def test_region_changes_are_recorded_as_events(cloud: Cloud, runtime: Runtime) -> None:
    cloud.call("addRegion", id=2, name="Eastern", endpoint=EAST)
    cloud.call("updateRegion", id=2, name="East")
    cloud.call("removeRegion", id=2)
    with runtime.sessions() as session:
        recorded = session.execute(
            select(Event.type, Event.description)
            .where(Event.type.like("REGION.%"))
            .order_by(Event.id)
        ).all()
    assert [row[0] for row in recorded] == ["REGION.ADD", "REGION.UPDATE", "REGION.REMOVE"]
    assert "Eastern" in recorded[0][1] and "East" in recorded[1][1]


def test_req_reg_04_users_list_regions_admins_change_them(cloud: Cloud, runtime: Runtime) -> None:
    """REQ-REG-04: regions are visible to end users; only root admins change them."""
    for account_type, name in ((0, "user"), (2, "domadmin")):
        other = cloud.as_(make_caller(runtime, name, account_type))
        assert other.call("listRegions")["region"][0]["id"] == 1
        for command, params in (
            ("addRegion", {"id": 2, "name": "E", "endpoint": EAST}),
            ("updateRegion", {"id": 1, "name": "N"}),
            ("removeRegion", {"id": 1}),
        ):
            assert other.error(command, **params)[0] == 432, (name, command)
    assert cloud.call("listRegions")["region"][0]["name"] == "Local"


def test_list_regions_costs_one_query_per_page(cloud: Cloud, runtime: Runtime) -> None:
    """DESIGN §3: the statements of a list page do not grow with its rows."""
    cloud.call("listRegions")  # warm the caller's cached authentication
    one = _count(runtime, lambda: cloud.call("listRegions"))
    for region_id in range(2, 12):
        cloud.call("addRegion", id=region_id, name=f"r{region_id}", endpoint=EAST)
    assert _count(runtime, lambda: cloud.call("listRegions")) == one
    assert cloud.call("listRegions", page=2, pagesize=4)["count"] == 11
    assert one <= 3
