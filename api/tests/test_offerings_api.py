"""Service and disk offerings over the API, signed as 4.1 clients sign, on a real
database: the seeded rows, root-admin changes with their events, the rules as 431s
naming the parameter, roles, domain scoping, and one statement per list page."""

from __future__ import annotations

import json
from typing import Any

import falcon.testing
import pytest
from api_test_commands import StatementCounter
from sqlalchemy import select

from cumulo.accounts.models import Account, Domain, User
from cumulo.auth.keys import register_user_keys
from cumulo.events.models import Event
from cumulo.runtime import Runtime
from cumulo_api.testing import signed_request

Keys = tuple[str, str]


def _call(api: falcon.testing.TestClient, keys: Keys, command: str, **params: Any) -> Any:
    result = signed_request(api, keys, command, **params)
    assert result.status_code == 200, result.text
    (answer,) = json.loads(result.content).values()
    return answer


def _error(
    api: falcon.testing.TestClient, keys: Keys, command: str, **params: Any
) -> tuple[int, str]:
    result = signed_request(api, keys, command, **params)
    assert result.status_code >= 400, result.text
    (answer,) = json.loads(result.content).values()
    assert answer["errorcode"] == result.status_code
    return result.status_code, answer["errortext"]


def _names(api: falcon.testing.TestClient, keys: Keys, command: str, **params: Any) -> set[str]:
    answer = _call(api, keys, command, **params)
    items = answer.get("serviceoffering", answer.get("diskoffering", []))
    assert answer.get("count", 0) == len(items)
    return {item["name"] for item in items}


def _events(runtime: Runtime, prefix: str) -> list[tuple[str, str]]:
    with runtime.sessions() as session:
        rows = session.execute(
            select(Event.type, Event.description)
            .where(Event.type.like(f"{prefix}%"))
            .order_by(Event.id)
        ).all()
    return [(row.type, row.description) for row in rows]


def _caller_in(runtime: Runtime, name: str, account_type: int, domain_uuid: str) -> Keys:
    """An account of ``account_type`` in the domain ``domain_uuid``, with API keys."""
    with runtime.sessions() as session:
        domain = session.scalars(select(Domain).where(Domain.uuid == domain_uuid)).one()
        account = Account(account_name=name, type=account_type, domain_id=domain.id)
        session.add(account)
        session.flush()
        user = User(
            username=name,
            password="!",
            account_id=account.id,
            firstname=name,
            lastname="test",
            email=f"{name}@example.com",
        )
        session.add(user)
        session.flush()
        keys = register_user_keys(session, user, runtime.database_key, runtime.algorithm)
        session.commit()
    return keys


@pytest.fixture
def domains(api: falcon.testing.TestClient, admin_keys: Keys) -> dict[str, str]:
    """ROOT > Sales > EMEA and ROOT > Other, by name."""
    sales = _call(api, admin_keys, "createDomain", name="Sales")["domain"]["id"]
    emea = _call(api, admin_keys, "createDomain", name="EMEA", parentdomainid=sales)
    other = _call(api, admin_keys, "createDomain", name="Other")["domain"]["id"]
    return {"sales": sales, "emea": emea["domain"]["id"], "other": other}


def test_seeded_offerings_answer_with_41_fields(
    api: falcon.testing.TestClient, user_keys: Keys
) -> None:
    listed = _call(api, user_keys, "listServiceOfferings")
    by_name = {item["name"]: item for item in listed["serviceoffering"]}
    assert set(by_name) == {"Small Instance", "Medium Instance"}  # no system offerings
    small = by_name["Small Instance"]
    assert list(small) == [
        "id",
        "name",
        "displaytext",
        "cpunumber",
        "cpuspeed",
        "memory",
        "created",
        "storagetype",
        "offerha",
        "limitcpuuse",
        "issystem",
        "defaultuse",
    ]
    assert (small["cpunumber"], small["cpuspeed"], small["memory"]) == (1, 500, 512)
    assert (small["storagetype"], small["offerha"], small["issystem"]) == ("shared", False, False)
    assert by_name["Medium Instance"]["cpuspeed"] == 1000
    disks = _call(api, user_keys, "listDiskOfferings")
    assert disks["count"] == 4
    sizes = {d["name"]: (d["disksize"], d["iscustomized"]) for d in disks["diskoffering"]}
    assert sizes == {
        "Small": (5, False),
        "Medium": (20, False),
        "Large": (100, False),
        "Custom": (0, True),
    }


def test_admin_creates_updates_and_deletes_a_service_offering(
    api: falcon.testing.TestClient, admin_keys: Keys, runtime: Runtime, domains: dict[str, str]
) -> None:
    created = _call(
        api,
        admin_keys,
        "createServiceOffering",
        name="Fast",
        displaytext="Fast Instance",
        cpunumber=2,
        cpuspeed=2000,
        memory=4096,
        storagetype="local",
        tags="ssd,fast",
        hosttags="gpu",
        offerha=True,
        limitcpuuse=True,
        networkrate=200,
        domainid=domains["sales"],
    )["serviceoffering"]
    assert created["cpunumber"] == 2 and created["memory"] == 4096
    assert created["storagetype"] == "local" and created["tags"] == "ssd,fast"
    assert created["hosttags"] == "gpu" and created["networkrate"] == 200
    assert created["offerha"] is True and created["limitcpuuse"] is True
    assert created["domainid"] == domains["sales"] and created["domain"] == "Sales"

    updated = _call(
        api, admin_keys, "updateServiceOffering", id=created["id"], name="Faster", sortkey=3
    )["serviceoffering"]
    assert updated["name"] == "Faster" and updated["cpuspeed"] == 2000
    listed = _call(api, admin_keys, "listServiceOfferings", id=created["id"])
    assert listed["count"] == 1 and listed["serviceoffering"][0]["name"] == "Faster"

    assert _call(api, admin_keys, "deleteServiceOffering", id=created["id"]) == {"success": "true"}
    assert _call(api, admin_keys, "listServiceOfferings", id=created["id"]) == {}
    status, text = _error(api, admin_keys, "deleteServiceOffering", id=created["id"])
    assert status == 431 and "Invalid parameter id" in text
    assert [kind for kind, _ in _events(runtime, "SERVICE.OFFERING.")] == [
        "SERVICE.OFFERING.CREATE",
        "SERVICE.OFFERING.EDIT",
        "SERVICE.OFFERING.DELETE",
    ]


def test_admin_creates_updates_and_deletes_a_disk_offering(
    api: falcon.testing.TestClient, admin_keys: Keys, runtime: Runtime
) -> None:
    sized = _call(
        api,
        admin_keys,
        "createDiskOffering",
        name="Huge",
        displaytext="Huge Disk, 500 GB",
        disksize=500,
        tags="ssd",
        storagetype="shared",
    )["diskoffering"]
    assert (sized["disksize"], sized["iscustomized"], sized["tags"]) == (500, False, "ssd")
    custom = _call(
        api, admin_keys, "createDiskOffering", name="Any", displaytext="Any", customized=True
    )["diskoffering"]
    assert (custom["disksize"], custom["iscustomized"]) == (0, True)
    updated = _call(api, admin_keys, "updateDiskOffering", id=sized["id"], displaytext="Big")
    assert updated["diskoffering"]["displaytext"] == "Big"
    assert _call(api, admin_keys, "deleteDiskOffering", id=custom["id"]) == {"success": "true"}
    assert _names(api, admin_keys, "listDiskOfferings") == {
        "Small",
        "Medium",
        "Large",
        "Custom",
        "Huge",
    }
    assert [kind for kind, _ in _events(runtime, "DISK.OFFERING.")] == [
        "DISK.OFFERING.CREATE",
        "DISK.OFFERING.CREATE",
        "DISK.OFFERING.EDIT",
        "DISK.OFFERING.DELETE",
    ]


@pytest.mark.parametrize(
    ("command", "params", "param"),
    [
        ("createServiceOffering", {"memory": 16}, "memory"),
        ("createServiceOffering", {"cpunumber": 0}, "cpunumber"),
        ("createServiceOffering", {"cpuspeed": 2**31}, "cpuspeed"),
        ("createServiceOffering", {"storagetype": "nfs"}, "storagetype"),
        ("createServiceOffering", {"systemvmtype": "consoleproxy"}, "systemvmtype"),
        ("createServiceOffering", {"issystem": True, "systemvmtype": "x"}, "systemvmtype"),
        (
            "createServiceOffering",
            {"issystem": True, "systemvmtype": "secondarystoragevm", "networkrate": 5},
            "networkrate",
        ),
        ("createServiceOffering", {"name": " "}, "name"),
        ("createDiskOffering", {"disksize": None}, "disksize"),
        ("createDiskOffering", {"disksize": 0}, "disksize"),
        ("createDiskOffering", {"disksize": 2001}, "disksize"),
        ("createDiskOffering", {"customized": True}, "disksize"),
        ("createDiskOffering", {"storagetype": "iscsi"}, "storagetype"),
    ],
)
def test_rules_answer_431_naming_the_parameter(
    api: falcon.testing.TestClient,
    admin_keys: Keys,
    command: str,
    params: dict[str, Any],
    param: str,
) -> None:
    base: dict[str, Any] = {"name": "n", "displaytext": "d"}
    if command == "createServiceOffering":
        base.update(cpunumber=1, cpuspeed=100, memory=128)
    else:
        base.update(disksize=10)
    status, text = _error(api, admin_keys, command, **{**base, **params})
    assert status == 431
    assert text.startswith(f"{param}:"), text


def test_only_root_admins_change_offerings(
    api: falcon.testing.TestClient, user_keys: Keys, domain_admin_keys: Keys, admin_keys: Keys
) -> None:
    small = _call(api, admin_keys, "listServiceOfferings", name="Small Instance")
    small_id = small["serviceoffering"][0]["id"]
    for keys in (user_keys, domain_admin_keys):
        for command, params in (
            ("createServiceOffering", {"name": "x", "displaytext": "x", "cpunumber": 1}),
            ("updateServiceOffering", {"id": small_id, "name": "mine"}),
            ("deleteServiceOffering", {"id": small_id}),
            ("createDiskOffering", {"name": "x", "displaytext": "x", "disksize": 1}),
            ("deleteDiskOffering", {"id": small_id}),
        ):
            assert _error(api, keys, command, **params)[0] == 432
        assert "Small Instance" in _names(api, keys, "listServiceOfferings")
        assert "Small" in _names(api, keys, "listDiskOfferings")


def test_system_offerings_are_for_admins_and_the_defaults_stay(
    api: falcon.testing.TestClient, admin_keys: Keys, user_keys: Keys
) -> None:
    system = _call(api, admin_keys, "listServiceOfferings", issystem=True)["serviceoffering"]
    assert {(o["systemvmtype"], o["memory"], o["defaultuse"]) for o in system} == {
        ("domainrouter", 128, True),
        ("consoleproxy", 1024, True),
        ("secondarystoragevm", 256, True),
    }
    routers = _call(
        api, admin_keys, "listServiceOfferings", issystem=True, systemvmtype="domainrouter"
    )
    assert routers["count"] == 1
    status, text = _error(
        api, admin_keys, "deleteServiceOffering", id=routers["serviceoffering"][0]["id"]
    )
    assert status == 431 and text.startswith("id:") and "cannot be deleted" in text
    status, text = _error(api, user_keys, "listServiceOfferings", issystem=True)
    assert status == 431 and text.startswith("issystem:")
    status, text = _error(api, admin_keys, "listServiceOfferings", systemvmtype="consoleproxy")
    assert status == 431 and text.startswith("systemvmtype:")


def test_a_domain_offering_is_invisible_to_other_domains(
    api: falcon.testing.TestClient, admin_keys: Keys, runtime: Runtime, domains: dict[str, str]
) -> None:
    for scope in ("sales", "other"):
        _call(
            api,
            admin_keys,
            "createServiceOffering",
            name=f"so-{scope}",
            displaytext=scope,
            cpunumber=1,
            cpuspeed=100,
            memory=128,
            domainid=domains[scope],
        )
        _call(
            api,
            admin_keys,
            "createDiskOffering",
            name=f"do-{scope}",
            displaytext=scope,
            disksize=1,
            domainid=domains[scope],
        )
    emea_user = _caller_in(runtime, "emma", 0, domains["emea"])
    other_user = _caller_in(runtime, "olga", 0, domains["other"])
    assert _names(api, emea_user, "listServiceOfferings") == {
        "Small Instance",
        "Medium Instance",
        "so-sales",  # the parent domain's offering reaches down
    }
    assert "do-other" not in _names(api, emea_user, "listDiskOfferings")
    assert "so-sales" not in _names(api, other_user, "listServiceOfferings")
    assert "do-sales" not in _names(api, other_user, "listDiskOfferings")
    assert "do-other" in _names(api, other_user, "listDiskOfferings")
    status, _ = _error(api, other_user, "listDiskOfferings", domainid=domains["sales"])
    assert status == 531
    # Even by id, another domain's offering is not there for the user.
    sales_id = _call(api, admin_keys, "listServiceOfferings", name="so-sales")
    assert (
        _call(api, other_user, "listServiceOfferings", id=sales_id["serviceoffering"][0]["id"])
        == {}
    )
    status, text = _error(
        api,
        other_user,
        "listServiceOfferings",
        virtualmachineid="00000000-0000-4000-8000-000000000000",
    )
    assert status == 431 and "virtualmachineid" in text


def test_sortkey_algorithm_orders_the_list(
    api: falcon.testing.TestClient, admin_keys: Keys
) -> None:
    medium = _call(api, admin_keys, "listServiceOfferings", name="Medium Instance")
    _call(
        api,
        admin_keys,
        "updateServiceOffering",
        id=medium["serviceoffering"][0]["id"],
        sortkey=9,
    )
    first = _call(api, admin_keys, "listServiceOfferings")["serviceoffering"][0]["name"]
    assert first == "Medium Instance"  # descending by default, as 4.1
    _call(api, admin_keys, "updateConfiguration", name="sortkey.algorithm", value="true")
    first = _call(api, admin_keys, "listServiceOfferings")["serviceoffering"][0]["name"]
    assert first == "Small Instance"


def test_a_list_page_costs_the_same_statements_however_many_offerings(
    api: falcon.testing.TestClient,
    admin_keys: Keys,
    user_keys: Keys,
    statements: StatementCounter,
) -> None:
    def cost(command: str) -> int:
        statements.reset()
        _call(api, user_keys, command)
        return statements.queries

    cost("listServiceOfferings")  # the first request of a caller warms its caches
    few = (cost("listServiceOfferings"), cost("listDiskOfferings"))
    for index in range(25):
        _call(
            api,
            admin_keys,
            "createServiceOffering",
            name=f"so-{index}",
            displaytext="x",
            cpunumber=1,
            cpuspeed=100,
            memory=128,
        )
        _call(
            api, admin_keys, "createDiskOffering", name=f"do-{index}", displaytext="x", disksize=1
        )
    assert _call(api, user_keys, "listServiceOfferings")["count"] == 27
    assert (cost("listServiceOfferings"), cost("listDiskOfferings")) == few
    # The caller's authentication and the page itself, rows and count together.
    assert few == (2, 2)
