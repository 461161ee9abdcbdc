"""Public IP addresses over the real API (falcon test client, signed requests, jobs run
by the worker) on the demo's advanced zone: associateIpAddress answers the address's id
at once and the job associates it (REQ-IP-01), disassociateIpAddress releases it but
never the source-NAT address (REQ-IP-02), listPublicIpAddresses lists an account's
addresses with 4.1's filters (REQ-IP-03); the ``public_ip`` limit, ranges dedicated to
an account, and tenants kept apart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import falcon.testing
import pytest
from network_world import ISOLATED, Cloud, Keys, advanced_zone, make_user, offering_id
from sqlalchemy import event, select

from cumulo.infra.models import IpState, UserIpAddress
from cumulo.network.networks import lifecycle
from cumulo.network.networks.models import Network
from cumulo.runtime import Runtime

pytest.importorskip("cumulo_simulator")


@pytest.fixture
def zone(runtime: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("CUMULO_SIMULATOR_STATE", str(tmp_path / "simulator.sqlite"))
    return advanced_zone(runtime, tmp_path / "data")


@pytest.fixture
def cloud(runtime: Runtime, api: falcon.testing.TestClient) -> Cloud:
    return Cloud(runtime, api)


@pytest.fixture
def alice(runtime: Runtime) -> Keys:
    return make_user(runtime, "alice")


@pytest.fixture
def bob(runtime: Runtime) -> Keys:
    return make_user(runtime, "bob")


def _network(cloud: Cloud, keys: Keys, zone: str, name: str = "net") -> dict[str, Any]:
    created = cloud.call(
        keys, "createNetwork", name=name, displaytext=name,
        networkofferingid=offering_id(cloud, keys, ISOLATED), zoneid=zone,
    )  # fmt: skip
    return dict(created["network"])


def _listed(cloud: Cloud, keys: Keys, **params: Any) -> list[dict[str, Any]]:
    return list(cloud.call(keys, "listPublicIpAddresses", **params).get("publicipaddress", []))


def test_associate_answers_the_id_at_once_and_the_job_allocates_it(
    cloud: Cloud, alice: Keys, zone: str
) -> None:
    """REQ-IP-01: the address is Allocating until the job has told the network."""
    network = _network(cloud, alice, zone)
    answer = cloud.call(alice, "associateIpAddress", networkid=network["id"])
    assert set(answer) == {"id", "jobid"}
    (pending,) = _listed(cloud, alice, id=answer["id"])
    assert pending["state"] == "Allocating" and pending["associatednetworkid"] == network["id"]
    job = cloud.call(alice, "queryAsyncJobResult", jobid=answer["jobid"])
    assert job["jobstatus"] == 0
    from cumulo_api.worker import run_pending

    run_pending(cloud.runtime, cloud.registry)
    job = cloud.call(alice, "queryAsyncJobResult", jobid=answer["jobid"])
    ip = job["jobresult"]["ipaddress"]
    assert job["jobinstancetype"] == "IpAddress" and job["jobinstanceid"] == answer["id"]
    assert ip["id"] == answer["id"] and ip["state"] == "Allocated"
    assert ip["ipaddress"].startswith("203.0.113.") and ip["issourcenat"] is False
    assert ip["forvirtualnetwork"] is True and ip["account"] == "alice"
    assert ip["associatednetworkname"] == "net" and "vlanid" not in ip  # admins only


def test_zone_only_association_picks_the_accounts_isolated_network(
    cloud: Cloud, alice: Keys, zone: str
) -> None:
    refused = cloud.fail(alice, "associateIpAddress", zoneid=zone)
    assert refused["errorcode"] == 431 and "doesn't have virtual networks" in refused["errortext"]
    network = _network(cloud, alice, zone)
    ip = cloud.ok(alice, "associateIpAddress", zoneid=zone)["ipaddress"]
    assert ip["associatednetworkid"] == network["id"]
    _network(cloud, alice, zone, "second")
    several = cloud.fail(alice, "associateIpAddress", zoneid=zone)
    assert several["errorcode"] == 431 and "more than one" in several["errortext"]
    missing = cloud.fail(alice, "associateIpAddress")
    assert missing["errorcode"] == 431 and "networkid" in missing["errortext"]


def test_disassociate_releases_the_address_but_never_the_source_nat_one(
    runtime: Runtime, cloud: Cloud, alice: Keys, zone: str
) -> None:
    """REQ-IP-02."""
    network = _network(cloud, alice, zone)
    with runtime.sessions() as session:
        network_id = session.scalars(select(Network.id).where(Network.uuid == network["id"])).one()
        lifecycle.ensure_resources(session, network_id)  # its source-NAT address
        session.commit()
    (snat,) = _listed(cloud, alice, issourcenat=True)
    refused = cloud.fail(alice, "disassociateIpAddress", id=snat["id"])
    assert refused["errorcode"] == 431 and "source nat" in refused["errortext"]
    ip = cloud.ok(alice, "associateIpAddress", networkid=network["id"])["ipaddress"]
    assert cloud.ok(alice, "disassociateIpAddress", id=ip["id"]) == {"success": True}
    assert [a["id"] for a in _listed(cloud, alice)] == [snat["id"]]
    with runtime.sessions() as session:
        row = session.scalars(select(UserIpAddress).where(UserIpAddress.uuid == ip["id"])).one()
        assert row.state == IpState.FREE.value and row.account_id is None
        assert row.associated_with_network_id is None
    gone = cloud.fail(alice, "disassociateIpAddress", id=ip["id"])
    assert gone["errorcode"] == 431 and "id" in gone["errortext"]
    assert _listed(cloud, alice, id=ip["id"]) == []  # free again: nobody's


def test_the_public_ip_limit_is_honoured(
    cloud: Cloud, admin_keys: Keys, alice: Keys, zone: str
) -> None:
    network = _network(cloud, alice, zone)
    domain = cloud.call(admin_keys, "listDomains", name="ROOT")["domain"][0]["id"]
    cloud.call(
        admin_keys, "updateResourceLimit", account="alice", domainid=domain, resourcetype=1, max=1
    )
    cloud.ok(alice, "associateIpAddress", networkid=network["id"])
    over = cloud.fail(alice, "associateIpAddress", networkid=network["id"])
    assert over["errorcode"] == 532 and "public_ip" in over["errortext"]
    assert len(_listed(cloud, alice)) == 1


def test_a_full_zone_answers_533(
    runtime: Runtime, cloud: Cloud, admin_keys: Keys, zone: str
) -> None:
    network = _network(cloud, admin_keys, zone)
    with runtime.sessions.begin() as session:
        session.execute(
            UserIpAddress.__table__.update()  # type: ignore[attr-defined]
            .where(UserIpAddress.state == IpState.FREE.value)
            .values(state=IpState.ALLOCATED.value, account_id=1, domain_id=1)
        )
    full = cloud.fail(admin_keys, "associateIpAddress", networkid=network["id"])
    assert full["errorcode"] == 533 and "Insufficient address capacity" in full["errortext"]


def test_an_accounts_dedicated_range_is_used_first(
    cloud: Cloud, admin_keys: Keys, alice: Keys, bob: Keys, zone: str
) -> None:
    """createVlanIpRange account=: 4.1 fetchNewPublicIp prefers the owner's ranges."""
    domain = cloud.call(admin_keys, "listDomains", name="ROOT")["domain"][0]["id"]
    cloud.call(
        admin_keys, "createVlanIpRange", zoneid=zone, forvirtualnetwork=True,
        gateway="198.51.100.1", netmask="255.255.255.0", startip="198.51.100.10",
        endip="198.51.100.11", account="alice", domainid=domain,
    )  # fmt: skip
    alices = _network(cloud, alice, zone)
    first = cloud.ok(alice, "associateIpAddress", networkid=alices["id"])["ipaddress"]
    second = cloud.ok(alice, "associateIpAddress", networkid=alices["id"])["ipaddress"]
    third = cloud.ok(alice, "associateIpAddress", networkid=alices["id"])["ipaddress"]
    assert {first["ipaddress"], second["ipaddress"]} == {"198.51.100.10", "198.51.100.11"}
    assert third["ipaddress"].startswith("203.0.113.")  # her range is full: the zone's
    bobs = _network(cloud, bob, zone, "bobs")
    for _ in range(3):
        ip = cloud.ok(bob, "associateIpAddress", networkid=bobs["id"])["ipaddress"]
        assert ip["ipaddress"].startswith("203.0.113.")  # never alice's range


def test_list_filters(cloud: Cloud, admin_keys: Keys, alice: Keys, zone: str) -> None:
    """REQ-IP-03, with 4.1's filters; admins see ranges' VLANs and free addresses."""
    network = _network(cloud, alice, zone)
    ip = cloud.ok(alice, "associateIpAddress", networkid=network["id"])["ipaddress"]
    assert [a["id"] for a in _listed(cloud, alice, ipaddress=ip["ipaddress"])] == [ip["id"]]
    assert [a["id"] for a in _listed(cloud, alice, associatednetworkid=network["id"])] == [ip["id"]]
    assert _listed(cloud, alice, issourcenat=True) == []
    assert _listed(cloud, alice, isstaticnat=True) == []
    assert _listed(cloud, alice, forvirtualnetwork=False) == []
    assert len(_listed(cloud, alice, forvirtualnetwork=True, zoneid=zone)) == 1
    assert _listed(cloud, alice, vpcid=network["id"]) == []
    assert _listed(cloud, alice, keyword="203.0.113.") != []
    assert _listed(cloud, admin_keys) == []  # listall=false: the admin's own
    (seen,) = _listed(cloud, admin_keys, listall=True)
    assert seen["vlanname"] == "untagged" and "vlanid" in seen
    everything = cloud.call(admin_keys, "listPublicIpAddresses", allocatedonly=False, listall=True)
    assert everything["count"] == 90  # the demo range .10-.99, free ones included
    mine_only = cloud.call(alice, "listPublicIpAddresses", allocatedonly=False)
    assert mine_only["count"] == 1  # users never see free addresses


def test_list_is_one_statement_per_page(
    runtime: Runtime, cloud: Cloud, admin_keys: Keys, alice: Keys, zone: str
) -> None:
    network = _network(cloud, alice, zone)
    for _ in range(5):
        cloud.ok(alice, "associateIpAddress", networkid=network["id"])
    counted: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        counted.append(statement)

    def queries() -> int:
        control = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")
        return sum(not s.lstrip().upper().startswith(control) for s in counted)

    cloud.call(alice, "listPublicIpAddresses")  # warm caches (keys, configuration)
    event.listen(runtime.engine, "before_cursor_execute", count)
    try:
        small = cloud.call(alice, "listPublicIpAddresses", page=1, pagesize=2)
        baseline = queries()
        counted.clear()
        full = cloud.call(alice, "listPublicIpAddresses")
        assert queries() == baseline
    finally:
        event.remove(runtime.engine, "before_cursor_execute", count)
    assert len(small["publicipaddress"]) == 2 and small["count"] == 5
    assert len(full["publicipaddress"]) == 5


def test_tenants_cannot_see_or_touch_each_others_addresses(
    cloud: Cloud, alice: Keys, bob: Keys, zone: str
) -> None:
    network = _network(cloud, alice, zone)
    ip = cloud.ok(alice, "associateIpAddress", networkid=network["id"])["ipaddress"]
    assert _listed(cloud, bob) == [] and _listed(cloud, bob, listall=True) == []
    assert _listed(cloud, bob, id=ip["id"]) == []
    release = cloud.fail(bob, "disassociateIpAddress", id=ip["id"])
    assert release["errorcode"] == 531
    into = cloud.fail(bob, "associateIpAddress", networkid=network["id"])
    assert into["errorcode"] == 531 and "networkid" in into["errortext"]
    assert len(_listed(cloud, alice)) == 1
