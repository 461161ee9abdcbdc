"""Primary storage, secondary storage and Swift over the API, signed as 4.1 clients sign,
on a real database, with a fake storage driver standing in for the hypervisor's."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar

import falcon.testing
import pytest
from api_test_commands import StatementCounter
from sqlalchemy import select

from cumulo.events.models import Event
from cumulo.infra.hosts.models import Cluster, Host, HostType
from cumulo.infra.models import Pod, Zone
from cumulo.infra.storage.capacity import pool_capacity_totals
from cumulo.infra.storage.models import StoragePool, Swift
from cumulo.runtime import Runtime
from cumulo.sdk.storage import (
    PoolRef,
    PrimaryStorageDriver,
    SecondaryStorageDriver,
    StorageCapacity,
    StorageUrl,
    StoreRef,
)
from cumulo.testing.fakes import registered_drivers
from cumulo_api.registry import CommandRegistry
from cumulo_api.testing import signed_request
from cumulo_api.worker import run_pending

Keys = tuple[str, str]
GB = 1000**3


class FakeStorage(PrimaryStorageDriver, SecondaryStorageDriver):
    """Every pool holds 500 GB with 100 GB used; every store 2 TB with 1 TB used."""

    name: ClassVar[str] = "Simulator"
    detached: ClassVar[list[str]] = []

    def validate_url(self, url: str, details: Mapping[str, str]) -> StorageUrl:
        return StorageUrl.parse(url)

    def attach_pool(self, pool: PoolRef) -> StorageCapacity:
        return StorageCapacity(500 * GB, 100 * GB)

    def detach_pool(self, pool: PoolRef) -> None:
        self.detached.append(pool.uuid)

    def attach_store(self, store: StoreRef) -> StorageCapacity:
        return StorageCapacity(2000 * GB, 1000 * GB)


@pytest.fixture(autouse=True)
def fake_storage() -> Iterator[None]:
    with registered_drivers("cumulo.storage", {"Simulator": FakeStorage, "KVM": FakeStorage}):
        yield


@pytest.fixture
def cloud(runtime: Runtime) -> dict[str, str]:
    """A zone with one pod, two Simulator clusters with a host each, a KVM cluster
    with a host, and an empty cluster; their UUIDs by name."""
    with runtime.sessions() as session:
        zone = Zone(name="z1", dns1="8.8.8.8", internal_dns1="10.0.0.2", networktype="Basic")
        session.add(zone)
        session.flush()
        pod = Pod(
            name="p1",
            data_center_id=zone.id,
            gateway="10.1.0.1",
            cidr_address="10.1.0.0",
            cidr_size=24,
            reserved_start_num=167837954,
            reserved_end_num=167837960,
        )
        session.add(pod)
        session.flush()
        ids = {"zone": zone.uuid, "pod": pod.uuid}
        for name, hypervisor, hosts in (
            ("c1", "Simulator", 1),
            ("c2", "Simulator", 1),
            ("kvm", "KVM", 1),
            ("empty", "Simulator", 0),
        ):
            cluster = Cluster(
                name=name, pod_id=pod.id, data_center_id=zone.id, hypervisor_type=hypervisor
            )
            session.add(cluster)
            session.flush()
            ids[name] = cluster.uuid
            for index in range(hosts):
                session.add(
                    Host(
                        name=f"{name}-h{index}",
                        type=HostType.ROUTING.value,
                        data_center_id=zone.id,
                        pod_id=pod.id,
                        cluster_id=cluster.id,
                        hypervisor_type=hypervisor,
                        guid=f"{name}-h{index}",
                    )
                )
        session.commit()
    return ids


def _call(api: falcon.testing.TestClient, keys: Keys, command: str, **params: Any) -> Any:
    result = signed_request(api, keys, command, **params)
    assert result.status_code == 200, result.text
    (answer,) = json.loads(result.content).values()  # envelopes differ (4.1's names)
    return answer


def _error(
    api: falcon.testing.TestClient, keys: Keys, command: str, **params: Any
) -> tuple[int, str]:
    result = signed_request(api, keys, command, **params)
    assert result.status_code >= 400, result.text
    (answer,) = json.loads(result.content).values()
    return result.status_code, answer["errortext"]


def _pool(
    api: falcon.testing.TestClient,
    keys: Keys,
    cloud: dict[str, str],
    cluster: str = "c1",
    url: str = "nfs://10.1.1.2/export/primary",
    **extra: Any,
) -> Any:
    params = {
        "zoneid": cloud["zone"],
        "podid": cloud["pod"],
        "clusterid": cloud[cluster],
        "name": f"ps-{cluster}-{abs(hash(url)) % 10000}",
        "url": url,
        **extra,
    }
    return _call(api, keys, "createStoragePool", **params)["storagepool"]


def _run_job(
    api: falcon.testing.TestClient, runtime: Runtime, keys: Keys, command: str, **params: Any
) -> Any:
    started = _call(api, keys, command, **params)
    assert run_pending(runtime, CommandRegistry.build(runtime.pm)) >= 1
    answer = _call(api, keys, "queryAsyncJobResult", jobid=started["jobid"])
    return answer


def test_create_and_list_storage_pool(
    api: falcon.testing.TestClient, admin_keys: Keys, cloud: dict[str, str], runtime: Runtime
) -> None:
    """StoragePoolResponse fields in 4.1's order (then 4.2's ``scope``), UUID ids,
    capacity from the driver."""
    pool = _pool(
        api, admin_keys, cloud, tags="ssd, fast,ssd", details=None, **{"details[0].a": "1"}
    )
    assert list(pool) == [
        "id", "zoneid", "zonename", "podid", "podname", "name", "ipaddress", "path",
        "created", "type", "clusterid", "clustername", "disksizetotal", "disksizeallocated",
        "disksizeused", "tags", "state", "scope",
    ]  # fmt: skip
    assert pool["scope"] == "CLUSTER"
    assert pool["zoneid"] == cloud["zone"] and pool["clusterid"] == cloud["c1"]
    assert (pool["type"], pool["ipaddress"], pool["path"]) == (
        "NetworkFilesystem",
        "10.1.1.2",
        "/export/primary",
    )
    assert (pool["disksizetotal"], pool["disksizeused"], pool["state"]) == (
        500 * GB,
        100 * GB,
        "Up",
    )
    assert pool["tags"] == "fast,ssd"
    listed = _call(api, admin_keys, "listStoragePools", zoneid=cloud["zone"])
    assert listed["count"] == 1 and listed["storagepool"][0] == pool
    assert _call(api, admin_keys, "listStoragePools", name="nomatch") == {}
    assert _call(api, admin_keys, "listStoragePools", ipaddress="10.1.1.2")["count"] == 1


def test_req_ps_04_adding_storage_warns_that_data_is_destroyed(
    api: falcon.testing.TestClient, admin_keys: Keys, cloud: dict[str, str], runtime: Runtime
) -> None:
    """REQ-PS-04: the description says it and a WARN event tells the operator."""
    pool = _pool(api, admin_keys, cloud)
    with runtime.sessions() as session:
        warnings = session.scalars(
            select(Event.description).where(Event.level == "WARN", Event.type.like("STORAGE.%"))
        ).all()
    assert any("REQ-PS-04" in text and "must be empty" in text for text in warnings)
    apis = _call(api, admin_keys, "listApis", name="createStoragePool")["api"][0]
    assert "must be empty" in apis["description"]
    assert pool["state"] == "Up"


def test_req_ps_02_cluster_without_hosts_gets_no_primary_storage(
    api: falcon.testing.TestClient, admin_keys: Keys, cloud: dict[str, str]
) -> None:
    """REQ-PS-02: primary storage can be added only to a cluster that has hosts."""
    status, text = _error(
        api,
        admin_keys,
        "createStoragePool",
        zoneid=cloud["zone"],
        podid=cloud["pod"],
        clusterid=cloud["empty"],
        name="ps",
        url="nfs://10.1.1.2/export/p",
    )
    assert status == 431 and text.startswith("clusterid:") and "REQ-PS-02" in text


def test_req_ps_01_a_cluster_may_have_several_pools(
    api: falcon.testing.TestClient, admin_keys: Keys, cloud: dict[str, str]
) -> None:
    """REQ-PS-01: at least one and possibly several pools per cluster; one export is
    one pool cloud-wide."""
    _pool(api, admin_keys, cloud, url="nfs://10.1.1.2/export/a")
    _pool(api, admin_keys, cloud, url="nfs://10.1.1.2/export/b")
    assert _call(api, admin_keys, "listStoragePools", clusterid=cloud["c1"])["count"] == 2
    status, text = _error(
        api,
        admin_keys,
        "createStoragePool",
        zoneid=cloud["zone"],
        podid=cloud["pod"],
        clusterid=cloud["c2"],
        name="again",
        url="nfs://10.1.1.2/export/a",
    )
    assert status == 431 and text.startswith("url:") and "already used" in text


def test_url_and_protocol_are_checked_through_the_api(
    api: falcon.testing.TestClient, admin_keys: Keys, cloud: dict[str, str]
) -> None:
    """CAP-14 §17.1: malformed URLs and protocols the hypervisor cannot use are 431s."""
    base = {"zoneid": cloud["zone"], "podid": cloud["pod"], "name": "bad"}
    for cluster, url, says in (
        ("c1", "nfs://10.1.1.2", "nfs://server/path"),
        ("c1", "gopher://x/y", "unknown storage protocol"),
        ("kvm", "iscsi://10.1.1.3/iqn.2013-01.org.example:t/1", "KVM supports"),
    ):
        status, text = _error(
            api, admin_keys, "createStoragePool", clusterid=cloud[cluster], url=url, **base
        )
        assert status == 431 and text.startswith("url:") and says in text
    # The KVM protocols are accepted on the KVM cluster; the RBD secret is not shown.
    pool = _pool(api, admin_keys, cloud, cluster="kvm", url="rbd://admin:s3cr3t@mon1/rbd")
    assert pool["type"] == "RBD" and "s3cr3t" not in json.dumps(pool)


def test_req_om_01_pod_and_cluster_must_belong_together(
    api: falcon.testing.TestClient, admin_keys: Keys, cloud: dict[str, str], runtime: Runtime
) -> None:
    """REQ-OM-01: the cluster is in the pod, the pod in the zone."""
    with runtime.sessions() as session:
        other = Zone(name="z2", dns1="8.8.8.8", internal_dns1="10.0.0.2", networktype="Basic")
        session.add(other)
        session.commit()
        other_uuid = other.uuid
    status, text = _error(
        api,
        admin_keys,
        "createStoragePool",
        zoneid=other_uuid,
        podid=cloud["pod"],
        clusterid=cloud["c1"],
        name="x",
        url="nfs://10.1.1.2/export/x",
    )
    assert status == 431 and text.startswith("podid:")


def test_req_ps_03_tag_sets_match_across_clusters_of_a_zone(
    api: falcon.testing.TestClient, admin_keys: Keys, cloud: dict[str, str], runtime: Runtime
) -> None:
    """REQ-PS-03: a cluster whose tags diverge from the zone's is refused (431 naming
    tags); converging differences are allowed and recorded as WARN events."""
    first = _pool(api, admin_keys, cloud, url="nfs://s/a", tags="T1,T2")
    status, text = _error(
        api,
        admin_keys,
        "createStoragePool",
        zoneid=cloud["zone"],
        podid=cloud["pod"],
        clusterid=cloud["c2"],
        name="diverging",
        url="nfs://s/b",
        tags="T3",
    )
    assert status == 431 and text.startswith("tags:") and "REQ-PS-03" in text
    # Building up cluster c2 towards {T1, T2}: allowed, with a warning.
    second = _pool(api, admin_keys, cloud, cluster="c2", url="nfs://s/c", tags="T1")
    with runtime.sessions() as session:
        warnings = session.scalars(
            select(Event.description).where(Event.level == "WARN", Event.type.like("STORAGE.%"))
        ).all()
    assert any("lacks [T2]" in text for text in warnings)
    # A new zone-wide tag starts in one cluster that already has everything the others do.
    updated = _call(api, admin_keys, "updateStoragePool", id=first["id"], tags="T1,T2,T4")
    assert updated["storagepool"]["tags"] == "T1,T2,T4"
    # Re-tagging c2's pool away from the zone's tags diverges: refused.
    status, text = _error(api, admin_keys, "updateStoragePool", id=second["id"], tags="T9")
    assert status == 431 and text.startswith("tags:")
    completed = _call(api, admin_keys, "updateStoragePool", id=second["id"], tags="T1,T2,T4")
    assert completed["storagepool"]["tags"] == "T1,T2,T4"


def test_maintenance_and_delete(
    api: falcon.testing.TestClient, admin_keys: Keys, cloud: dict[str, str], runtime: Runtime
) -> None:
    """Maintenance is asynchronous; a pool must be in maintenance to be deleted."""
    pool = _pool(api, admin_keys, cloud)
    status, text = _error(api, admin_keys, "deleteStoragePool", id=pool["id"])
    assert status == 431 and "maintenance" in text
    entered = _run_job(api, runtime, admin_keys, "enableStorageMaintenance", id=pool["id"])
    assert entered["jobstatus"] == 1, entered
    assert entered["jobresult"]["storagepool"]["state"] == "Maintenance"
    cancelled = _run_job(api, runtime, admin_keys, "cancelStorageMaintenance", id=pool["id"])
    assert cancelled["jobresult"]["storagepool"]["state"] == "Up"
    again = _run_job(api, runtime, admin_keys, "cancelStorageMaintenance", id=pool["id"])
    assert again["jobstatus"] == 2 and again["jobresult"]["errorcode"] == 431
    _run_job(api, runtime, admin_keys, "enableStorageMaintenance", id=pool["id"])
    assert _call(api, admin_keys, "deleteStoragePool", id=pool["id"])["success"] == "true"
    assert pool["id"] in FakeStorage.detached
    assert _call(api, admin_keys, "listStoragePools") == {}
    # The export is free again.
    _pool(api, admin_keys, cloud)


def test_list_storage_pools_statements_do_not_grow_with_rows(
    api: falcon.testing.TestClient,
    admin_keys: Keys,
    cloud: dict[str, str],
    statements: StatementCounter,
) -> None:
    """One query per page (DESIGN.md §3), whatever the page holds."""

    def cost() -> int:
        _call(api, admin_keys, "listStoragePools")
        statements.reset()
        _call(api, admin_keys, "listStoragePools")
        return statements.count

    _pool(api, admin_keys, cloud, url="nfs://s/0", tags="a,b")
    few = cost()
    for index in range(1, 8):
        _pool(api, admin_keys, cloud, url=f"nfs://s/{index}", tags="a,b")
    assert cost() == few


def test_non_admins_get_432(
    api: falcon.testing.TestClient,
    user_keys: Keys,
    domain_admin_keys: Keys,
    cloud: dict[str, str],
) -> None:
    for keys in (user_keys, domain_admin_keys):
        for command in ("listStoragePools", "createStoragePool", "addSecondaryStorage", "addSwift"):
            status, _ = _error(api, keys, command, url="nfs://s/x")
            assert status == 432


def test_pool_capacity_feeds_list_capacity_totals(
    api: falcon.testing.TestClient, admin_keys: Keys, cloud: dict[str, str], runtime: Runtime
) -> None:
    """Types 2/3 of listCapacity come from one GROUP BY over materialised columns."""
    _pool(api, admin_keys, cloud, url="nfs://s/1")
    _pool(api, admin_keys, cloud, cluster="c2", url="nfs://s/2")
    with runtime.sessions() as session:
        (zone_total,) = pool_capacity_totals(session)
        per_cluster = pool_capacity_totals(session, by="cluster")
    assert (zone_total.total_bytes, zone_total.used_bytes) == (1000 * GB, 200 * GB)
    assert zone_total.pod_id is None and zone_total.cluster_id is None
    assert [row.total_bytes for row in per_cluster] == [500 * GB, 500 * GB]


def test_add_secondary_storage_local_directory_and_nfs(
    api: falcon.testing.TestClient,
    admin_keys: Keys,
    cloud: dict[str, str],
    runtime: Runtime,
    tmp_path: Path,
) -> None:
    """REQ-SS-03: stores are added per zone at any time, as SecondaryStorage hosts."""
    # REQ-SS-05: the zone has a KVM cluster, so its system VM template must be there.
    (tmp_path / "template/tmpl/1/3").mkdir(parents=True)
    (tmp_path / "template/tmpl/1/3/systemvm.qcow2").write_bytes(b"")
    local = _call(
        api, admin_keys, "addSecondaryStorage", url=f"file://{tmp_path}", zoneid=cloud["zone"]
    )["secondarystorage"]
    assert (local["type"], local["state"], local["zoneid"]) == (
        "SecondaryStorage",
        "Up",
        cloud["zone"],
    )
    assert local["name"] == f"file://{tmp_path}" and local["disksizetotal"] > 0
    nfs = _call(
        api, admin_keys, "addSecondaryStorage", url="nfs://10.1.1.5/sec", zoneid=cloud["zone"]
    )["secondarystorage"]
    assert nfs["disksizetotal"] == 2000 * GB and nfs["ipaddress"] == "10.1.1.5"
    with runtime.sessions() as session:
        stored = session.scalars(
            select(Host.uuid).where(Host.type == "SecondaryStorage").order_by(Host.id)
        ).all()
    assert stored == [local["id"], nfs["id"]]


def test_req_ss_02_04_secondary_storage_rules(
    api: falcon.testing.TestClient,
    admin_keys: Keys,
    cloud: dict[str, str],
    runtime: Runtime,
    tmp_path: Path,
) -> None:
    """REQ-SS-02 (a zone; 100 GB warned), REQ-SS-04 (data loss warned), one URL once."""
    status, text = _error(api, admin_keys, "addSecondaryStorage", url="nfs://10.1.1.5/sec")
    assert status == 431 and text.startswith("zoneid:")
    status, text = _error(
        api, admin_keys, "addSecondaryStorage", url="smb://x/y", zoneid=cloud["zone"]
    )
    assert status == 431 and text.startswith("url:")
    status, text = _error(
        api,
        admin_keys,
        "addSecondaryStorage",
        url=f"file://{tmp_path}/missing",
        zoneid=cloud["zone"],
    )
    assert status == 431 and "does not exist" in text
    _call(api, admin_keys, "addSecondaryStorage", url="nfs://10.1.1.5/sec", zoneid=cloud["zone"])
    status, text = _error(
        api, admin_keys, "addSecondaryStorage", url="nfs://10.1.1.5/sec/", zoneid=cloud["zone"]
    )
    assert status == 431 and "already secondary storage" in text
    with runtime.sessions() as session:
        warnings = session.scalars(
            select(Event.description).where(
                Event.level == "WARN", Event.type == "SECONDARY.STORAGE.ADD"
            )
        ).all()
    assert any("REQ-SS-04" in text for text in warnings)


def _enable_swift(runtime: Runtime) -> None:
    with runtime.sessions() as session:
        runtime.config_store(session).set("swift.enable", "true")
        session.commit()
    runtime.config_cache.invalidate()


def test_req_ss_06_swift_needs_swift_enable(
    api: falcon.testing.TestClient, admin_keys: Keys, runtime: Runtime
) -> None:
    """REQ-SS-06: only with swift.enable=true."""
    status, text = _error(api, admin_keys, "addSwift", url="http://swift/auth/v1.0")
    assert status == 431 and "swift.enable" in text
    status, text = _error(api, admin_keys, "listSwifts")
    assert status == 431 and "swift.enable" in text


def test_req_zone_01_swift_added_before_zones_key_encrypted(
    api: falcon.testing.TestClient, admin_keys: Keys, runtime: Runtime
) -> None:
    """REQ-ZONE-01: Swift comes before any zone; its key is encrypted and never shown."""
    _enable_swift(runtime)
    added = _call(
        api,
        admin_keys,
        "addSwift",
        url="http://swift.example.org:8080/auth/v1.0",
        account="acct",
        username="user",
        key="the-swift-key",
    )["swift"]
    assert added["url"] == "http://swift.example.org:8080/auth/v1.0"
    assert "the-swift-key" not in json.dumps(added)
    with runtime.sessions() as session:
        key = session.scalars(select(Swift.key)).one()
        assert key is not None and key.startswith("ENC(") and "the-swift-key" not in key
        session.add(Zone(name="z", dns1="8.8.8.8", internal_dns1="10.0.0.2", networktype="Basic"))
        session.commit()
    listed = _call(api, admin_keys, "listSwifts")
    assert listed["count"] == 1 and listed["swift"][0]["id"] == added["id"]
    status, text = _error(api, admin_keys, "addSwift", url="http://other/auth/v1.0")
    assert status == 431 and "REQ-ZONE-01" in text


def test_pool_rows_are_soft_deleted(runtime: Runtime) -> None:
    """The storage_pool table exists with its materialised capacity columns."""
    with runtime.sessions() as session:
        assert session.scalars(select(StoragePool)).all() == []
