"""``listCapacity`` beyond CPU and memory (issue 4 item 3): primary storage (types 2
and 3), public IPs (4), a pod's reserved system IPs (5) and direct-attached IPs (8),
over the API, each computed set-based — the listing costs the same statements for a
few pools and addresses as for many."""

from __future__ import annotations

import json
import uuid
from typing import Any

import falcon.testing
from api_test_commands import StatementCounter

from cumulo.infra.hosts.models import Cluster
from cumulo.infra.models import IpState, Pod, UserIpAddress, VlanIpRange, VlanType, Zone
from cumulo.infra.storage.models import PoolScope, StoragePool, StoragePoolStatus
from cumulo.runtime import Runtime
from cumulo_api.testing import signed_request

Keys = tuple[str, str]
GB = 1000**3


def _zone(runtime: Runtime) -> dict[str, int]:
    """A zone with one pod (reserved system range of 7 addresses) and one cluster."""
    with runtime.sessions.begin() as session:
        zone = Zone(name="z1", dns1="8.8.8.8", internal_dns1="10.0.0.2", networktype="Basic")
        session.add(zone)
        session.flush()
        pod = Pod(
            name="p1",
            data_center_id=zone.id,
            gateway="10.1.0.1",
            cidr_address="10.1.0.0",
            cidr_size=24,
            reserved_start_num=167837954,  # 10.1.0.2
            reserved_end_num=167837960,  # 10.1.0.8
        )
        session.add(pod)
        session.flush()
        cluster = Cluster(
            name="c1", pod_id=pod.id, data_center_id=zone.id, hypervisor_type="Simulator"
        )
        session.add(cluster)
        session.flush()
        return {"zone": zone.id, "pod": pod.id, "cluster": cluster.id}


def _pools(runtime: Runtime, ids: dict[str, int], count: int, **extra: Any) -> None:
    """``count`` cluster-wide pools of 100 GB with 30 GB used."""
    with runtime.sessions.begin() as session:
        for _ in range(count):
            session.add(
                StoragePool(
                    name="ps",
                    pool_type="NetworkFilesystem",
                    data_center_id=ids["zone"],
                    pod_id=ids["pod"],
                    cluster_id=ids["cluster"],
                    capacity_bytes=100 * GB,
                    used_bytes=30 * GB,
                    host_address="10.1.1.2",
                    path=f"/export/{uuid.uuid4().hex}",
                    **extra,
                )
            )


def _range(
    runtime: Runtime, ids: dict[str, int], vlan_type: VlanType, first: int, count: int, used: int
) -> None:
    """A range of ``count`` addresses from ``10.9.<first>.x``, ``used`` of them taken."""
    with runtime.sessions.begin() as session:
        vlan = VlanIpRange(
            vlan_type=vlan_type.value,
            data_center_id=ids["zone"],
            pod_id=ids["pod"] if vlan_type == VlanType.DIRECT_ATTACHED else None,
            vlan_id="untagged",
        )
        session.add(vlan)
        session.flush()
        for index in range(count):
            session.add(
                UserIpAddress(
                    public_ip_address=f"10.9.{first}.{index + 1}",
                    ip_num=index,
                    data_center_id=ids["zone"],
                    vlan_db_id=vlan.id,
                    state=(IpState.ALLOCATED if index < used else IpState.FREE).value,
                )
            )


def _capacity(api: falcon.testing.TestClient, keys: Keys, **params: Any) -> dict[int, Any]:
    answer = signed_request(api, keys, "listCapacity", **params)
    assert answer.status_code == 200, answer.text
    body = json.loads(answer.content)["listcapacityresponse"]
    return {row["type"]: row for row in body.get("capacity", [])}


def test_storage_and_ip_types_are_listed(
    api: falcon.testing.TestClient, admin_keys: Keys, runtime: Runtime
) -> None:
    """Types 2, 3 sum the live shared pools (a removed one and a host-local one do not
    count); 4 and 8 count addresses by range type, used being those not Free; 5 is the
    pod's reserved system range."""
    ids = _zone(runtime)
    _pools(runtime, ids, 2)
    _pools(runtime, ids, 1, status=StoragePoolStatus.REMOVED.value)
    _pools(runtime, ids, 1, scope=PoolScope.HOST.value)
    _range(runtime, ids, VlanType.VIRTUAL_NETWORK, 1, 10, used=3)
    _range(runtime, ids, VlanType.VIRTUAL_NETWORK, 2, 5, used=1)
    _range(runtime, ids, VlanType.DIRECT_ATTACHED, 3, 4, used=2)
    rows = _capacity(api, admin_keys)
    assert (rows[2]["capacityused"], rows[2]["capacitytotal"]) == (60 * GB, 200 * GB)
    assert rows[2]["percentused"] == "30.00"
    assert (rows[3]["capacityused"], rows[3]["capacitytotal"]) == (0, 200 * GB)
    assert (rows[4]["capacityused"], rows[4]["capacitytotal"]) == (4, 15)
    assert (rows[5]["capacityused"], rows[5]["capacitytotal"]) == (0, 7)
    assert (rows[8]["capacityused"], rows[8]["capacitytotal"]) == (2, 4)
    # One type asked for: only that one.
    assert list(_capacity(api, admin_keys, type=4)) == [4]
    # Per pod: the pod-level types; public IPs belong to the zone, not a pod (as 4.1).
    zone_uuid = rows[2]["zoneid"]
    with runtime.sessions() as session:
        pod_uuid = session.get(Pod, ids["pod"]).uuid  # type: ignore[union-attr]
    per_pod = _capacity(api, admin_keys, zoneid=zone_uuid, podid=pod_uuid)
    assert {2, 3, 5, 8} <= set(per_pod) and 4 not in per_pod
    assert per_pod[5]["podid"] == pod_uuid


def test_capacity_costs_constant_statements(
    api: falcon.testing.TestClient,
    admin_keys: Keys,
    runtime: Runtime,
    statements: StatementCounter,
) -> None:
    """Ten times the pools and addresses: the same statements (set-based sources)."""
    ids = _zone(runtime)
    _pools(runtime, ids, 2)
    _range(runtime, ids, VlanType.VIRTUAL_NETWORK, 1, 5, used=1)
    _capacity(api, admin_keys)  # warm caches (keys, configuration)
    statements.reset()
    _capacity(api, admin_keys)
    few = statements.queries
    _pools(runtime, ids, 18)
    _range(runtime, ids, VlanType.VIRTUAL_NETWORK, 2, 45, used=20)
    statements.reset()
    rows = _capacity(api, admin_keys)
    assert rows[2]["capacitytotal"] == 20 * 100 * GB
    assert (rows[4]["capacityused"], rows[4]["capacitytotal"]) == (21, 50)
    assert statements.queries == few, statements.statements
