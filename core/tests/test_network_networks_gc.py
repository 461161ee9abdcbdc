"""The network garbage collector and persistence (CAP-34) on the demo's advanced zone:
a round is set-based (the same statements for one network or many); changing a
network's offering to a persistent one implements it at once (REQ-PN-06), back to a
non-persistent one lets the collector take it (REQ-PN-07); a network whose rules keep
its addresses cannot be deleted nor its address released under them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import falcon.testing
import pytest
from network_world import ISOLATED, Cloud, Keys, advanced_zone, make_user, offering_id
from sqlalchemy import event, select, update

from cumulo.network.networks import gc
from cumulo.network.networks.gc import collect_networks
from cumulo.network.networks.models import Network, NetworkState
from cumulo.runtime import Runtime

pytest.importorskip("cumulo_simulator")
pytest.importorskip("cumulo_vr")


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


def _create(cloud: Cloud, keys: Keys, zone: str, name: str, offering: str) -> dict[str, Any]:
    created = cloud.call(
        keys, "createNetwork", name=name, displaytext=name, zoneid=zone, networkofferingid=offering
    )
    return dict(created["network"])


def _persistent_offering(cloud: Cloud, admin: Keys) -> str:
    services = "Dhcp,Dns,UserData,SourceNat,StaticNat,PortForwarding,Firewall,Lb,Vpn"
    providers: dict[str, str] = {}
    for index, service in enumerate(services.split(",")):
        providers[f"serviceproviderlist[{index}].service"] = service
        providers[f"serviceproviderlist[{index}].provider"] = "VirtualRouter"
    offering = cloud.call(
        admin, "createNetworkOffering", name="persistent", displaytext="persistent",
        guestiptype="Isolated", traffictype="GUEST", supportedservices=services,
        ispersistent=True, **providers,
    )["networkoffering"]  # fmt: skip
    cloud.call(admin, "updateNetworkOffering", id=offering["id"], state="Enabled")
    return str(offering["id"])


def test_a_collector_round_is_set_based(
    runtime: Runtime, cloud: Cloud, alice: Keys, zone: str
) -> None:
    """Three statements find the idle networks, whether there is one or five."""
    isolated = offering_id(cloud, alice, ISOLATED)

    def implemented(count: int) -> None:
        for index in range(count):
            _create(cloud, alice, zone, f"n{index}-{count}", isolated)
        with runtime.sessions.begin() as session:
            session.execute(
                update(Network)
                .where(Network.state == NetworkState.ALLOCATED.value)
                .values(state=NetworkState.IMPLEMENTED.value)
            )

    def statements_of_a_round() -> tuple[int, int]:
        counted: list[str] = []

        def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK")):
                counted.append(statement)

        event.listen(runtime.engine, "before_cursor_execute", count)
        try:
            with runtime.sessions.begin() as session:
                due = gc.due_networks(session, wait=3600)
        finally:
            event.remove(runtime.engine, "before_cursor_execute", count)
        return len(counted), len(due)

    implemented(1)
    one = statements_of_a_round()
    implemented(4)
    five = statements_of_a_round()
    assert one == (3, 0) and five == (3, 0)  # marked idle, not yet due
    with runtime.sessions() as session:
        marked = session.execute(select(gc.OpNetwork.idle_since)).scalars().all()
    assert len(marked) == 5 and all(value is not None for value in marked)


def test_persistence_follows_the_networks_offering(
    runtime: Runtime, cloud: Cloud, admin_keys: Keys, alice: Keys, zone: str
) -> None:
    """REQ-PN-06/07: to a persistent offering, implemented at once; back, collected."""
    network = _create(cloud, alice, zone, "web", offering_id(cloud, alice, ISOLATED))
    assert network["state"] == "Allocated"
    persistent = cloud.ok(
        alice, "updateNetwork", id=network["id"],
        networkofferingid=_persistent_offering(cloud, admin_keys),
    )["network"]  # fmt: skip
    assert persistent["state"] == "Implemented" and persistent["ispersistent"] is True
    assert persistent["broadcasturi"].startswith("vlan://")
    cloud.call(admin_keys, "updateConfiguration", name="network.gc.wait", value="0")
    assert collect_networks(runtime) == 0
    back = cloud.ok(
        alice, "updateNetwork", id=network["id"],
        networkofferingid=offering_id(cloud, alice, ISOLATED),
    )["network"]  # fmt: skip
    assert back["state"] == "Implemented" and back["ispersistent"] is False
    assert collect_networks(runtime) == 1
    (collected,) = cloud.call(alice, "listNetworks", id=network["id"])["network"]
    assert collected["state"] == "Allocated" and "broadcasturi" not in collected


def test_rules_hold_their_address_and_network(
    runtime: Runtime, cloud: Cloud, alice: Keys, zone: str
) -> None:
    """An address is never freed under its rules, nor a network deleted under them:
    either the rules area removes them first (4.1 revokes them), or the release is
    refused (REQ-IP-02: the IP is released once its last rule is gone)."""
    network = _create(cloud, alice, zone, "web", offering_id(cloud, alice, ISOLATED))
    ip = cloud.ok(alice, "associateIpAddress", networkid=network["id"])["ipaddress"]
    rule = cloud.ok(
        alice, "createFirewallRule", ipaddressid=ip["id"], protocol="tcp", startport=22,
        endport=22, cidrlist="0.0.0.0/0",
    )["firewallrule"]  # fmt: skip
    status, body = cloud.answer(alice, "disassociateIpAddress", id=ip["id"])
    from cumulo_api.worker import run_pending

    run_pending(runtime, cloud.registry)
    job = cloud.call(alice, "queryAsyncJobResult", jobid=body["jobid"])
    rules = cloud.call(alice, "listFirewallRules").get("firewallrule", [])
    listed = cloud.call(alice, "listPublicIpAddresses", id=ip["id"]).get("publicipaddress", [])
    if job["jobstatus"] == 2:
        assert job["jobresult"]["errorcode"] == 431
        assert "delete them first" in job["jobresult"]["errortext"]
        assert [r["id"] for r in rules] == [rule["id"]] and len(listed) == 1
        cloud.ok(alice, "deleteFirewallRule", id=rule["id"])
        assert cloud.ok(alice, "disassociateIpAddress", id=ip["id"]) == {"success": True}
    else:
        assert status == 200 and rules == [] and listed == []
    # Deleting the network removes its addresses' rules as releasing them does.
    other = cloud.ok(alice, "associateIpAddress", networkid=network["id"])["ipaddress"]
    cloud.ok(
        alice, "createFirewallRule", ipaddressid=other["id"], protocol="udp", startport=53,
        endport=53, cidrlist="10.0.0.0/8",
    )  # fmt: skip
    assert cloud.ok(alice, "deleteNetwork", id=network["id"]) == {"success": True}
    assert cloud.call(alice, "listFirewallRules") == {}
    assert cloud.call(alice, "listPublicIpAddresses") == {}
