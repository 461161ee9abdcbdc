"""Alerts (issue 4 item 1): host failures found by the heartbeat become ``alert`` rows
(4.1 ``ALERT_TYPE_HOST`` = 7), listed by ``listAlerts`` (admins only), in one query per
page; and the host rules that need a real driver (REQ-CL-03 import of a cluster's hosts,
REQ-CL-04 a host running VMs is refused) over the API with the simulator."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import falcon.testing
import pytest
from cumulo_simulator.hosturl import host_guid
from cumulo_simulator.hypervisor import SimulatorHypervisor
from cumulo_simulator.rules import Behaviour, Scope
from cumulo_simulator.state import ENV_STATE, SimulatorState
from sqlalchemy import select, update

from cumulo.alerts.models import Alert
from cumulo.infra.hosts.models import Host
from cumulo.infra.hosts.monitor import HostMonitor
from cumulo.infra.models import Pod, Zone
from cumulo.runtime import Runtime
from cumulo.sdk.hypervisor import HostConnection, HostRef
from cumulo_api.testing import signed_request

Keys = tuple[str, str]
CLUSTER_URL = "http://sim/vcenter/dc1/cluster1?hosts=3&cpus=8&memory=16GiB"


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SimulatorState:
    path = tmp_path / "simulator.sqlite"
    monkeypatch.setenv(ENV_STATE, str(path))
    return SimulatorState(path)


@pytest.fixture
def zone_pod(runtime: Runtime) -> tuple[str, str]:
    with runtime.sessions.begin() as session:
        zone = Zone(name="z1", dns1="8.8.8.8", internal_dns1="10.0.0.2", networktype="Basic")
        session.add(zone)
        session.flush()
        pod = Pod(
            name="p1", data_center_id=zone.id, gateway="10.1.0.1", cidr_address="10.1.0.0",
            cidr_size=24, description="10.1.0.10-10.1.0.20", reserved_start_num=10,
            reserved_end_num=20,
        )  # fmt: skip
        session.add(pod)
        session.flush()
        return zone.uuid, pod.uuid


def _call(api: falcon.testing.TestClient, keys: Keys, command: str, **params: Any) -> Any:
    result = signed_request(api, keys, command, **params)
    assert result.status_code == 200, result.text
    (answer,) = json.loads(result.content).values()
    return answer


def _fail(api: falcon.testing.TestClient, keys: Keys, command: str, **params: Any) -> Any:
    result = signed_request(api, keys, command, **params)
    assert result.status_code >= 400, result.text
    (answer,) = json.loads(result.content).values()
    return answer


def _import_cluster(api: falcon.testing.TestClient, keys: Keys, zone: str, pod: str) -> Any:
    return _call(
        api, keys, "addCluster", zoneid=zone, podid=pod, clustername="sim1",
        hypervisor="Simulator", clustertype="CloudManaged", url=CLUSTER_URL,
        username="admin", password="pw",
    )  # fmt: skip


def test_req_cl_03_add_cluster_imports_its_hosts(
    api: falcon.testing.TestClient, admin_keys: Keys, zone_pod: tuple[str, str],
    state: SimulatorState,
) -> None:  # fmt: skip
    """REQ-CL-03: addCluster with a cluster manager URL adds every host the driver
    discovers in it (the simulator's cluster manager: hosts=3), discovered and checked
    like addHost's; none is added when the manager does not answer."""
    zone, pod = zone_pod
    state.add_rule("discover", Scope(host_guid=host_guid(CLUSTER_URL)), Behaviour("unreachable"))
    answer = _fail(
        api, admin_keys, "addCluster", zoneid=zone, podid=pod, clustername="sim1",
        hypervisor="Simulator", clustertype="CloudManaged", url=CLUSTER_URL,
        username="admin", password="pw",
    )  # fmt: skip
    assert answer["errorcode"] == 534
    assert _call(api, admin_keys, "listClusters").get("count", 0) == 0  # nothing half-added
    state.clear_rules("discover")
    cluster = _import_cluster(api, admin_keys, zone, pod)["cluster"][0]
    hosts = _call(api, admin_keys, "listHosts", clusterid=cluster["id"])
    assert hosts["count"] == 3
    assert sorted(h["name"] for h in hosts["host"]) == ["host0", "host1", "host2"]
    assert {h["cpunumber"] for h in hosts["host"]} == {8}
    assert {h["state"] for h in hosts["host"]} == {"Up"}


def test_req_cl_04_host_running_vms_is_refused(
    api: falcon.testing.TestClient, admin_keys: Keys, zone_pod: tuple[str, str],
    state: SimulatorState,
) -> None:  # fmt: skip
    """REQ-CL-04 / REQ-HOST-05: a host that already runs VMs is refused with a 431
    naming url and the VMs; once they are gone it is added."""
    zone, pod = zone_pod
    url = "http://sim/busy/h1?vms=2"
    params = dict(
        zoneid=zone, podid=pod, clustername="c1", hypervisor="Simulator", url=url,
        username="root", password="pw",
    )  # fmt: skip
    answer = _fail(api, admin_keys, "addHost", **params)
    assert answer["errorcode"] == 431
    assert "url" in answer["errortext"] and "REQ-CL-04" in answer["errortext"]
    assert "h1-vm0" in answer["errortext"] and "2 VM(s)" in answer["errortext"]
    assert _call(api, admin_keys, "listHosts", type="Routing").get("count", 0) == 0
    driver = SimulatorHypervisor(state)
    ref = HostRef(host_guid(url), HostConnection(url))
    for name in driver.vm_states(ref):
        driver.destroy_vm(ref, name)
    added = _call(api, admin_keys, "addHost", **params)
    assert added["host"][0]["state"] == "Up"


def test_host_failures_are_alerts_listed_by_list_alerts(
    api: falcon.testing.TestClient, admin_keys: Keys, user_keys: Keys,
    zone_pod: tuple[str, str], state: SimulatorState, runtime: Runtime,
) -> None:  # fmt: skip
    """Issue 4 item 1: a simulated host that stops answering goes Alert at the next
    round past the timeout, and an alert of type 7 (4.1 ALERT_TYPE_HOST) names it;
    listAlerts filters by type, keyword and id; users may not list alerts."""
    zone, pod = zone_pod
    _import_cluster(api, admin_keys, zone, pod)
    with runtime.sessions() as session:
        silent = session.scalars(select(Host).where(Host.name == "host1")).one()
        silent_id, silent_uuid = silent.id, silent.uuid
    state.add_rule("ping", Scope(host_id=silent_id), Behaviour("unreachable"))
    with runtime.sessions.begin() as session:
        session.execute(
            update(Host).values(last_ping=dt.datetime.now(dt.UTC).replace(tzinfo=None)
                                - dt.timedelta(seconds=200))
        )  # fmt: skip
    result = HostMonitor(runtime).tick()
    assert result is not None and result.changed == {"Alert": [silent_uuid]}
    listed = _call(api, admin_keys, "listAlerts")
    assert listed["count"] == 1
    (alert,) = listed["alert"]
    assert alert["type"] == 7 and "host1" in alert["description"]
    assert alert["description"].startswith("Host disconnected") and alert["sent"]
    assert _call(api, admin_keys, "listAlerts", type="7")["count"] == 1
    assert _call(api, admin_keys, "listAlerts", type="0").get("count", 0) == 0
    assert _call(api, admin_keys, "listAlerts", keyword="host1")["count"] == 1
    assert _call(api, admin_keys, "listAlerts", keyword="host2").get("count", 0) == 0
    assert _call(api, admin_keys, "listAlerts", id=alert["id"])["alert"][0] == alert
    assert _fail(api, admin_keys, "listAlerts", type="99")["errorcode"] == 431
    denied = signed_request(api, user_keys, "listAlerts")
    assert denied.status_code != 200


def test_list_alerts_statements_per_page_are_constant(
    api: falcon.testing.TestClient, admin_keys: Keys, zone_pod: tuple[str, str],
    runtime: Runtime, statements: Any,
) -> None:  # fmt: skip
    """listAlerts costs the same statements for a page of 2 and of 200 alerts."""
    with runtime.sessions.begin() as session:
        zone_id = session.scalars(select(Zone.id)).one()
    from cumulo.alerts.service import NewAlert, raise_alerts

    def cost(count: int) -> int:
        with runtime.sessions.begin() as session:
            raise_alerts(session, [NewAlert(7, zone_id, f"a{i}") for i in range(count)])
        statements.reset()
        answer = _call(api, admin_keys, "listAlerts", page=1, pagesize=200)
        assert len(answer["alert"]) == min(200, answer["count"])
        return int(statements.count)

    _call(api, admin_keys, "listAlerts")  # warm: configuration cached, statements compiled
    assert cost(2) == cost(300)
    with runtime.sessions() as session:
        assert len(session.scalars(select(Alert.id)).all()) == 302
