"""Guest network commands over the real API on the demo's advanced zone: createNetwork's
4.1 rules each answered with a clear error naming the parameter, listNetworks' filters
and its statement count, updateNetwork, and tenants kept apart (REQ-GN-07, REQ-GN-10,
REQ-GN-11, REQ-GN-16, REQ-DNS-04)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import falcon.testing
import pytest
from network_world import ISOLATED, Cloud, Keys, advanced_zone, make_user, offering_id
from sqlalchemy import event

from cumulo.runtime import Runtime

pytest.importorskip("cumulo_simulator")

SHARED = "DefaultSharedNetworkOffering"


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


def _create(cloud: Cloud, keys: Keys, zone: str, name: str = "net", **params: Any) -> Any:
    params.setdefault("networkofferingid", offering_id(cloud, keys, ISOLATED))
    return cloud.call(keys, "createNetwork", name=name, displaytext=name, zoneid=zone, **params)[
        "network"
    ]


def _root_domain(cloud: Cloud) -> str:
    from sqlalchemy import select

    from cumulo.accounts.models import Domain

    with cloud.runtime.sessions() as session:
        return str(session.scalars(select(Domain.uuid).where(Domain.path == "/")).one())


def _refused(cloud: Cloud, keys: Keys, zone: str, **params: Any) -> Any:
    params.setdefault("networkofferingid", offering_id(cloud, keys, ISOLATED))
    return cloud.fail(keys, "createNetwork", name="x", displaytext="x", zoneid=zone, **params)


def test_users_create_isolated_networks_with_their_own_cidr_and_domain(
    cloud: Cloud, alice: Keys, zone: str
) -> None:
    """REQ-GN-07, REQ-GN-16, REQ-DNS-04: any number of networks, each its DNS suffix."""
    first = _create(cloud, alice, zone, networkdomain="web.example")
    second = _create(cloud, alice, zone, name="db", gateway="192.168.7.1", netmask="255.255.255.0")
    assert first["networkdomain"] == "web.example" and first["cidr"] == "10.1.1.0/24"
    assert second["cidr"] == "192.168.7.0/24" and second["gateway"] == "192.168.7.1"
    assert second["networkdomain"].startswith("cs") and second["networkdomain"].endswith(
        "cloud.internal"
    )
    assert first["acltype"] == "Account" and first["canusefordeploy"] is True
    services = {s["name"] for s in first["service"]}
    assert {"SourceNat", "Firewall", "PortForwarding", "Dhcp"} <= services
    assert "Gateway" not in services  # 4.1 leaves it out
    lb = next(s for s in first["service"] if s["name"] == "Lb")
    assert "SupportedStickinessMethods" in {c["name"] for c in lb["capability"]}


def test_create_rules_are_431_naming_the_parameter(
    cloud: Cloud, admin_keys: Keys, alice: Keys, zone: str
) -> None:
    shared = offering_id(cloud, admin_keys, SHARED)
    for params, code, words in (
        (
            {"networkofferingid": shared},
            431,
            "Only Admins can create network with guest type Shared",
        ),
        ({"acltype": "Domain"}, 531, "acltype"),
        ({"vlan": "150"}, 431, "specifyVlan=false"),
        ({"gateway": "10.9.9.1"}, 431, "gateway and netmask"),
        ({"gateway": "8.8.8.1", "netmask": "255.255.255.0"}, 431, "RFC1918"),
        ({"startip": "10.1.1.5"}, 431, "startip"),
        ({"networkdomain": "bad_domain!"}, 431, "networkdomain"),
        ({"vpcid": zone}, 431, "vpcid"),
        ({"ip6cidr": "fc00::/64"}, 431, "ip6cidr"),
        ({"subdomainaccess": True}, 431, "subdomainaccess"),
    ):
        refused = _refused(cloud, alice, zone, **params)
        assert refused["errorcode"] == code, (params, refused)
        assert words in refused["errortext"], (params, refused)
    unknown = cloud.fail(
        alice, "createNetwork", name="x", displaytext="x", zoneid=zone, networkofferingid=zone
    )
    assert unknown["errorcode"] == 431 and "networkofferingid" in unknown["errortext"]


def test_admins_create_shared_networks_with_their_ip_range(
    runtime: Runtime, cloud: Cloud, admin_keys: Keys, alice: Keys, zone: str
) -> None:
    """REQ-GN-10: a zone-wide shared network; its range becomes guest addresses."""
    shared = offering_id(cloud, admin_keys, SHARED)
    needs_vlan = cloud.fail(
        admin_keys, "createNetwork", name="s", displaytext="s", zoneid=zone,
        networkofferingid=shared, gateway="172.16.5.1", netmask="255.255.255.0",
        startip="172.16.5.10", endip="172.16.5.20",
    )  # fmt: skip
    assert needs_vlan["errorcode"] == 431 and "specifyVlan=true" in needs_vlan["errortext"]
    network = cloud.call(
        admin_keys, "createNetwork", name="s", displaytext="s", zoneid=zone,
        networkofferingid=shared, gateway="172.16.5.1", netmask="255.255.255.0",
        startip="172.16.5.10", endip="172.16.5.20", vlan="300",
    )["network"]  # fmt: skip
    assert network["type"] == "Shared" and network["acltype"] == "Domain"
    assert network["state"] == "Setup" and network["broadcasturi"] == "vlan://300"
    assert network["subdomainaccess"] is True and "account" not in network
    # Zone-wide: alice sees it and may deploy into it.
    (seen,) = [n for n in cloud.call(alice, "listNetworks")["network"] if n["id"] == network["id"]]
    assert seen["canusefordeploy"] is True
    taken = cloud.fail(
        admin_keys, "createNetwork", name="t", displaytext="t", zoneid=zone,
        networkofferingid=shared, gateway="172.16.6.1", netmask="255.255.255.0",
        startip="172.16.6.10", vlan="300",
    )  # fmt: skip
    assert taken["errorcode"] == 431 and "vlan" in taken["errortext"]
    inside = cloud.fail(
        admin_keys, "createNetwork", name="u", displaytext="u", zoneid=zone,
        networkofferingid=shared, gateway="172.16.7.1", netmask="255.255.255.0",
        startip="172.16.7.1", vlan="301",
    )  # fmt: skip
    assert inside["errorcode"] == 431 and "gateway" in inside["errortext"]
    # A user cannot change a network shared with the whole zone.
    changed = cloud.fail(alice, "updateNetwork", id=network["id"], name="mine")
    assert changed["errorcode"] == 531


def test_list_filters(cloud: Cloud, admin_keys: Keys, alice: Keys, zone: str) -> None:
    mine = _create(cloud, alice, zone)
    shared = cloud.call(
        admin_keys, "createNetwork", name="s", displaytext="s", zoneid=zone,
        networkofferingid=offering_id(cloud, admin_keys, SHARED), gateway="172.16.5.1",
        netmask="255.255.255.0", startip="172.16.5.10", endip="172.16.5.10", vlan="300",
    )["network"]  # fmt: skip

    def ids(**params: Any) -> set[str]:
        return {n["id"] for n in cloud.call(alice, "listNetworks", **params).get("network", [])}

    both = {mine["id"], shared["id"]}
    assert ids() == both and ids(zoneid=zone) == both
    assert ids(type="Isolated") == {mine["id"]} and ids(type="shared") == {shared["id"]}
    assert ids(acltype="Domain") == {shared["id"]} and ids(acltype="Account") == {mine["id"]}
    assert ids(supportedservices="SourceNat") == {mine["id"]}
    assert ids(supportedservices="Dhcp,Dns") == both
    assert ids(traffictype="Guest") == both and ids(traffictype="Public") == set()
    assert ids(restartrequired=False) == both and ids(restartrequired=True) == set()
    assert ids(specifyipranges=True) == {shared["id"]}
    assert ids(keyword="s") == {shared["id"]}
    assert ids(issystem=True) == set() and ids(forvpc=True) == set()
    assert ids(canusefordeploy=True) == both
    # The shared network's one address taken: no longer usable for a deploy.
    with cloud.runtime.sessions.begin() as session:
        from cumulo.infra.models import IpState, UserIpAddress

        session.execute(
            UserIpAddress.__table__.update()  # type: ignore[attr-defined]
            .where(UserIpAddress.public_ip_address == "172.16.5.10")
            .values(state=IpState.ALLOCATED.value, account_id=1, domain_id=1)
        )
    assert ids(canusefordeploy=True) == {mine["id"]}
    assert ids(canusefordeploy=False) == {shared["id"]}
    bad = cloud.fail(alice, "listNetworks", type="Bogus")
    assert bad["errorcode"] == 431 and "type" in bad["errortext"]


def test_list_is_a_fixed_number_of_statements_per_page(
    runtime: Runtime, cloud: Cloud, alice: Keys, zone: str
) -> None:
    """One statement for the page and one for its services, however many networks."""
    for index in range(6):
        _create(cloud, alice, zone, name=f"n{index}")
    counted: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        counted.append(statement)

    def queries() -> int:
        control = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")
        return sum(not s.lstrip().upper().startswith(control) for s in counted)

    cloud.call(alice, "listNetworks")
    event.listen(runtime.engine, "before_cursor_execute", count)
    try:
        one = cloud.call(alice, "listNetworks", page=1, pagesize=1)
        baseline = queries()
        counted.clear()
        all_of_them = cloud.call(alice, "listNetworks")
        assert queries() == baseline
    finally:
        event.remove(runtime.engine, "before_cursor_execute", count)
    assert len(one["network"]) == 1 and one["count"] == 6
    assert len(all_of_them["network"]) == 6
    assert all(n["service"] for n in all_of_them["network"])


def test_update_names_domain_and_offering(
    cloud: Cloud, admin_keys: Keys, alice: Keys, zone: str
) -> None:
    """REQ-GN-11: the offering of an isolated network can be changed."""
    network = _create(cloud, alice, zone)
    updated = cloud.ok(
        alice, "updateNetwork", id=network["id"], name="renamed", displaytext="new text",
        networkdomain="new.example",
    )["network"]  # fmt: skip
    assert (updated["name"], updated["displaytext"]) == ("renamed", "new text")
    assert updated["networkdomain"] == "new.example"
    services = "Dhcp,Dns,UserData,SourceNat,Firewall,PortForwarding"
    providers: dict[str, str] = {}
    for index, service in enumerate(services.split(",")):
        providers[f"serviceproviderlist[{index}].service"] = service
        providers[f"serviceproviderlist[{index}].provider"] = "VirtualRouter"
    smaller = cloud.call(
        admin_keys, "createNetworkOffering", name="nolb", displaytext="no LB",
        guestiptype="Isolated", traffictype="GUEST", supportedservices=services, **providers,
    )["networkoffering"]  # fmt: skip
    cloud.call(admin_keys, "updateNetworkOffering", id=smaller["id"], state="Enabled")
    moved = cloud.ok(alice, "updateNetwork", id=network["id"], networkofferingid=smaller["id"])
    assert moved["network"]["networkofferingname"] == "nolb"
    assert "Lb" not in {s["name"] for s in moved["network"]["service"]}
    shared = offering_id(cloud, admin_keys, SHARED)
    refused = cloud.fail(alice, "updateNetwork", id=network["id"], networkofferingid=shared)
    assert refused["errorcode"] == 431 and "networkofferingid" in refused["errortext"]


def test_tenants_cannot_see_or_touch_each_others_networks(
    cloud: Cloud, alice: Keys, bob: Keys, zone: str
) -> None:
    network = _create(cloud, alice, zone)
    assert cloud.call(bob, "listNetworks") == {}
    assert cloud.call(bob, "listNetworks", listall=True) == {}
    assert cloud.call(bob, "listNetworks", id=network["id"]) == {}
    for command in ("updateNetwork", "restartNetwork", "deleteNetwork"):
        refused = cloud.fail(bob, command, id=network["id"])
        assert refused["errorcode"] == 531, (command, refused)
    for_alice = cloud.fail(
        bob, "createNetwork", name="x", displaytext="x", zoneid=zone,
        networkofferingid=offering_id(cloud, bob, ISOLATED), account="alice",
        domainid=_root_domain(cloud),
    )  # fmt: skip
    assert for_alice["errorcode"] == 531
    assert [n["id"] for n in cloud.call(alice, "listNetworks")["network"]] == [network["id"]]


def test_a_vlan_the_admin_gives_is_kept_out_of_the_guest_pool(
    runtime: Runtime, cloud: Cloud, admin_keys: Keys, zone: str
) -> None:
    """A specified VLAN of the physical network's guest range is never handed out to
    another network by the pool, and given back when its network is deleted."""
    from sqlalchemy import select

    from cumulo.infra.models import VnetAllocation

    services = "Dhcp,Dns,UserData,SourceNat,Firewall,PortForwarding"
    providers: dict[str, str] = {}
    for index, service in enumerate(services.split(",")):
        providers[f"serviceproviderlist[{index}].service"] = service
        providers[f"serviceproviderlist[{index}].provider"] = "VirtualRouter"
    offering = cloud.call(
        admin_keys, "createNetworkOffering", name="tagged", displaytext="tagged",
        guestiptype="Isolated", traffictype="GUEST", supportedservices=services,
        specifyvlan=True, **providers,
    )["networkoffering"]  # fmt: skip
    cloud.call(admin_keys, "updateNetworkOffering", id=offering["id"], state="Enabled")
    tagged = _create(
        cloud, admin_keys, zone, "tagged", networkofferingid=offering["id"], vlan="150"
    )
    assert tagged["broadcasturi"] == "vlan://150" and tagged["vlan"] == "150"

    def taken() -> set[str]:
        with runtime.sessions() as session:
            rows = select(VnetAllocation.vnet).where(VnetAllocation.taken.is_not(None))
            return set(session.scalars(rows))

    assert taken() == {"150"}
    again = cloud.fail(
        admin_keys, "createNetwork", name="again", displaytext="again", zoneid=zone,
        networkofferingid=offering["id"], vlan="150",
    )  # fmt: skip
    assert again["errorcode"] == 431 and "vlan" in again["errortext"]
    assert cloud.ok(admin_keys, "deleteNetwork", id=tagged["id"]) == {"success": True}
    assert taken() == set()
