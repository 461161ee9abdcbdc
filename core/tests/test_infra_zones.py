"""Zones and pods over the API: CAP-10/CAP-11 rules with their requirement ids,
isolation of non-admin callers, and one query per list page.

:class:`Cloud` (a signed client for the topology commands, running async jobs at once)
is shared with the other ``test_infra_*`` modules.
"""

from __future__ import annotations

import json
from typing import Any

import falcon.testing
import pytest
from sqlalchemy import event, select

from cumulo.accounts.models import Account, Domain, User
from cumulo.auth.keys import register_user_keys
from cumulo.runtime import Runtime
from cumulo_api.registry import CommandRegistry
from cumulo_api.testing import signed_request
from cumulo_api.worker import run_pending

Keys = tuple[str, str]


class Cloud:
    """Signed calls to the API as one caller; async commands are run to completion."""

    def __init__(self, api: falcon.testing.TestClient, runtime: Runtime, keys: Keys) -> None:
        self.api, self.runtime, self.keys = api, runtime, keys

    def as_(self, keys: Keys) -> Cloud:
        return Cloud(self.api, self.runtime, keys)

    def call(self, command: str, **params: Any) -> Any:
        """The answer of ``command`` (the job result for async commands)."""
        result = signed_request(self.api, self.keys, command, **params)
        assert result.status_code == 200, result.text
        answer = json.loads(result.content)
        (body,) = answer.values()
        if "jobid" not in body or command == "queryAsyncJobResult":
            return body
        run_pending(self.runtime, CommandRegistry.build(self.runtime.pm))
        job = self.call("queryAsyncJobResult", jobid=body["jobid"])
        assert job["jobstatus"] == 1, job
        return job["jobresult"]

    def error(self, command: str, **params: Any) -> tuple[int, str]:
        """``(errorcode, errortext)`` of a call that must fail (at once or in its job)."""
        result = signed_request(self.api, self.keys, command, **params)
        (body,) = json.loads(result.content).values()
        if result.status_code == 200 and "jobid" in body:
            run_pending(self.runtime, CommandRegistry.build(self.runtime.pm))
            job = self.call("queryAsyncJobResult", jobid=body["jobid"])
            assert job["jobstatus"] == 2, job
            return job["jobresult"]["errorcode"], job["jobresult"]["errortext"]
        assert result.status_code >= 400, result.text
        return body["errorcode"], body["errortext"]

    def zone(self, name: str = "z1", networktype: str = "Basic", **params: Any) -> Any:
        params.setdefault("dns1", "8.8.8.8")
        params.setdefault("internaldns1", "10.0.0.2")
        answer = self.call("createZone", name=name, networktype=networktype, **params)
        return answer["zone"]

    def pod(self, zone: Any, name: str = "p1", **params: Any) -> Any:
        params.setdefault("gateway", "192.168.10.1")
        params.setdefault("netmask", "255.255.255.0")
        params.setdefault("startip", "192.168.10.10")
        params.setdefault("endip", "192.168.10.20")
        return self.call("createPod", zoneid=zone["id"], name=name, **params)["pod"]


def make_caller(runtime: Runtime, name: str, account_type: int, domain: str = "/") -> Keys:
    """Keys of a new account of ``account_type`` in the domain with path ``domain``."""
    with runtime.sessions() as session:
        parent = session.scalars(select(Domain).where(Domain.path == domain)).one()
        account = Account(account_name=name, type=account_type, domain_id=parent.id)
        session.add(account)
        session.flush()
        user = User(username=name, password="x", account_id=account.id)
        session.add(user)
        session.flush()
        keys = register_user_keys(session, user, runtime.database_key, runtime.algorithm)
        session.commit()
    return keys


@pytest.fixture
def cloud(api: falcon.testing.TestClient, runtime: Runtime, admin_keys: Keys) -> Cloud:
    return Cloud(api, runtime, admin_keys)


def test_create_zone_answers_zone_response(cloud: Cloud) -> None:
    zone = cloud.zone(
        "basic1",
        dns2="8.8.4.4",
        internaldns2="10.0.0.3",
        domain="cloud.example",
        localstorageenabled=True,
    )
    assert zone["name"] == "basic1" and zone["networktype"] == "Basic"
    assert zone["dns1"] == "8.8.8.8" and zone["dns2"] == "8.8.4.4"
    assert zone["internaldns1"] == "10.0.0.2" and zone["internaldns2"] == "10.0.0.3"
    assert zone["domain"] == "cloud.example" and zone["localstorageenabled"] is True
    assert zone["securitygroupsenabled"] is False and zone["allocationstate"] == "Disabled"
    assert len(zone["id"]) == 36 and zone["zonetoken"]


def test_req_zone_03_network_type_cannot_change(cloud: Cloud) -> None:
    """REQ-ZONE-03 / REQ-OM-19: updateZone has no networktype; a value sent anyway
    changes nothing, and the service refuses a different one with 431."""
    zone = cloud.zone("fixed", "Basic")
    updated = cloud.call("updateZone", id=zone["id"], networktype="Advanced", name="fixed2")
    assert updated["zone"]["networktype"] == "Basic" and updated["zone"]["name"] == "fixed2"
    from cumulo.infra import zones
    from cumulo.infra.lookup import find_zone
    from cumulo.sdk.errors import InvalidParameterValue

    with cloud.runtime.sessions() as session:
        row = find_zone(session, zone["id"])
        with pytest.raises(InvalidParameterValue, match="networktype"):
            zones.update_zone(None, row, {"networktype": "Advanced"})  # type: ignore[arg-type]


def test_req_zone_02_security_groups_only_at_creation(cloud: Cloud) -> None:
    """REQ-ZONE-02: securitygroupenabled is decided by createZone and cannot be
    switched on later."""
    zone = cloud.zone("sg", "Basic", securitygroupenabled=True)
    assert zone["securitygroupsenabled"] is True
    plain = cloud.zone("nosg", "Basic")
    updated = cloud.call("updateZone", id=plain["id"], securitygroupenabled=True)
    assert updated["zone"]["securitygroupsenabled"] is False
    from cumulo.infra import zones
    from cumulo.infra.lookup import find_zone
    from cumulo.sdk.errors import InvalidParameterValue

    with (
        cloud.runtime.sessions() as session,
        pytest.raises(InvalidParameterValue, match="securitygroupenabled"),
    ):
        zones.update_zone(None, find_zone(session, plain["id"]), {"securitygroupenabled": True})  # type: ignore[arg-type]


def test_zone_rules_are_431_naming_the_parameter(cloud: Cloud) -> None:
    cloud.zone("dup")
    assert cloud.error(
        "createZone", name="x", networktype="Hybrid", dns1="8.8.8.8", internaldns1="1.1.1.1"
    ) == (
        431,
        "Invalid value 'Hybrid' for parameter networktype; valid values are Basic, Advanced",
    )
    code, text = cloud.error(
        "createZone", name="dup", networktype="Basic", dns1="8.8.8.8", internaldns1="1.1.1.1"
    )
    assert code == 431 and "dup" in text
    code, text = cloud.error(
        "createZone", name="y", networktype="Basic", dns1="nope", internaldns1="1.1.1.1"
    )
    assert code == 431 and "dns1" in text
    code, text = cloud.error(
        "createZone",
        name="y",
        networktype="Advanced",
        dns1="8.8.8.8",
        internaldns1="1.1.1.1",
        guestcidraddress="8.8.0.0/16",
    )
    assert code == 431 and "guestcidraddress" in text
    code, text = cloud.error(
        "createZone",
        name="y",
        networktype="Basic",
        dns1="8.8.8.8",
        internaldns1="1.1.1.1",
        allocationstate="Maybe",
    )
    assert code == 431 and "allocationstate" in text


def test_req_om_09_private_zone_visible_only_to_its_domain(cloud: Cloud, runtime: Runtime) -> None:
    """REQ-OM-09: a zone private to a domain is listed for users of that domain (and
    sub-domains) only; public zones for everyone; disabled zones for no user."""
    sales = cloud.call("createDomain", name="Sales")["domain"]
    cloud.zone("public", allocationstate="Enabled")
    cloud.zone("private", allocationstate="Enabled", domainid=sales["id"])
    cloud.zone("off")
    outsider = cloud.as_(make_caller(runtime, "out", 0))
    insider = cloud.as_(make_caller(runtime, "in", 0, "/Sales/"))
    names = lambda c: sorted(z["name"] for z in c.call("listZones", available=True).get("zone", []))  # noqa: E731
    assert names(outsider) == ["public"]
    assert names(insider) == ["private", "public"]
    assert names(cloud) == ["off", "private", "public"]
    (private,) = cloud.call("listZones", name="private")["zone"]
    assert private["domainid"] == sales["id"] and private["domainname"] == "Sales"
    # Users do not see DNS servers.
    assert "dns1" not in outsider.call("listZones")["zone"][0]


def test_admin_commands_are_432_for_non_admins(cloud: Cloud, runtime: Runtime) -> None:
    user = cloud.as_(make_caller(runtime, "u", 0))
    zone = cloud.zone()
    for command, params in (
        (
            "createZone",
            {"name": "n", "networktype": "Basic", "dns1": "8.8.8.8", "internaldns1": "1.1.1.1"},
        ),
        ("deleteZone", {"id": zone["id"]}),
        ("listPods", {}),
        (
            "createPod",
            {
                "zoneid": zone["id"],
                "name": "p",
                "gateway": "10.1.1.1",
                "netmask": "255.255.255.0",
                "startip": "10.1.1.5",
            },
        ),
        ("listPhysicalNetworks", {}),
        ("listVlanIpRanges", {}),
    ):
        assert user.error(command, **params)[0] == 432, command


def test_req_pod_02_reserved_range_in_pod_subnet(cloud: Cloud) -> None:
    """REQ-POD-02: the reserved system range lies in the pod's subnet and does not
    contain the gateway."""
    zone = cloud.zone()
    pod = cloud.pod(
        zone,
        gateway="192.168.10.1",
        netmask="255.255.255.0",
        startip="192.168.10.2",
        endip="192.168.10.7",
    )
    assert (pod["gateway"], pod["netmask"], pod["startip"], pod["endip"]) == (
        "192.168.10.1",
        "255.255.255.0",
        "192.168.10.2",
        "192.168.10.7",
    )
    assert pod["zoneid"] == zone["id"] and pod["zonename"] == zone["name"]
    code, text = cloud.error(
        "createPod",
        zoneid=zone["id"],
        name="p2",
        gateway="10.2.0.1",
        netmask="255.255.255.0",
        startip="10.2.0.10",
        endip="10.3.0.20",
    )
    assert code == 431 and "startip-endip" in text
    code, text = cloud.error(
        "createPod",
        zoneid=zone["id"],
        name="p3",
        gateway="10.4.0.5",
        netmask="255.255.255.0",
        startip="10.4.0.2",
        endip="10.4.0.9",
    )
    assert code == 431 and "gateway" in text


def test_req_om_18_reserved_ranges_unique_across_zones(cloud: Cloud) -> None:
    """REQ-OM-18 / REQ-POD-02: two pods, even in different zones, never share a
    reserved system address."""
    first = cloud.zone("a")
    second = cloud.zone("b")
    cloud.pod(first, startip="192.168.10.10", endip="192.168.10.20")
    code, text = cloud.error(
        "createPod",
        zoneid=second["id"],
        name="p",
        gateway="192.168.10.1",
        netmask="255.255.255.0",
        startip="192.168.10.15",
        endip="192.168.10.30",
    )
    assert code == 431 and "unique across the cloud" in text
    cloud.pod(second, startip="192.168.10.21", endip="192.168.10.30")


def test_pod_update_delete_and_zone_delete(cloud: Cloud) -> None:
    zone = cloud.zone()
    pod = cloud.pod(zone)
    updated = cloud.call("updatePod", id=pod["id"], name="renamed", endip="192.168.10.40")["pod"]
    assert updated["name"] == "renamed" and updated["endip"] == "192.168.10.40"
    code, text = cloud.error("deleteZone", id=zone["id"])
    assert code == 530 and "pods" in text
    assert cloud.call("deletePod", id=pod["id"])["success"] == "true"
    assert cloud.call("deleteZone", id=zone["id"])["success"] == "true"
    assert cloud.call("listZones") == {}


def _count(runtime: Runtime, action: Any) -> int:
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(runtime.engine, "before_cursor_execute", count)
    try:
        action()
    finally:
        event.remove(runtime.engine, "before_cursor_execute", count)
    control = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")
    return sum(not s.lstrip().upper().startswith(control) for s in statements)


def test_list_zones_and_pods_cost_one_query_per_page(cloud: Cloud, runtime: Runtime) -> None:
    """DESIGN §3: the statements of a list page do not grow with its rows."""
    zone = cloud.zone("z0")
    cloud.pod(zone, "p0", startip="192.168.10.2", endip="192.168.10.3")
    cloud.call("listZones")  # warm the caller's cached authentication
    one_zone = _count(runtime, lambda: cloud.call("listZones"))
    one_pod = _count(runtime, lambda: cloud.call("listPods"))
    for i in range(1, 6):
        more = cloud.zone(f"z{i}")
        cloud.pod(more, f"p{i}", gateway=f"10.{i}.0.1", startip=f"10.{i}.0.2", endip=f"10.{i}.0.3")
    assert _count(runtime, lambda: cloud.call("listZones")) == one_zone
    assert _count(runtime, lambda: cloud.call("listPods")) == one_pod
    assert cloud.call("listPods", pagesize=2, page=2)["count"] == 6
    # One statement for the page, plus the caller's authentication.
    assert one_zone <= 3 and one_pod <= 3
