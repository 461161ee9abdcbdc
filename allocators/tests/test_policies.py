"""Each standard planner, filter, weigher and pool allocator, through the core's real
placement service over a database (SQLite, or MariaDB with ``CUMULO_TEST_DB``)."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from cumulo.accounts.models import Domain
from cumulo.infra.storage.models import StoragePool
from cumulo.sdk.errors import InsufficientCapacity
from cumulo.setup.seed import seed_cloud
from cumulo.testing.compliance.allocators_world import GB, PlacementWorld

FIRST_FIT = "AvoidList,HostState,Dedicated,Hypervisor,HostTags,HaHosts,HostCapacity,FirstFit"


@pytest.fixture
def world(db_session: Session) -> PlacementWorld:
    """A zone with FirstFit weighing (deterministic: lowest id first in a cluster)."""
    made = PlacementWorld(db_session)
    made.configure("host.allocators.order", FIRST_FIT)
    return made


def _fails(world: PlacementWorld, **request: object) -> str:
    with pytest.raises(InsufficientCapacity) as failure:
        world.place(**request)
    return failure.value.errortext


# ---- filters -------------------------------------------------------------------------------


def test_host_state_keeps_only_up_and_enabled_hosts(world: PlacementWorld) -> None:
    world.add_host("down", status="Down")
    world.add_host("maint", resource_state="Maintenance")
    world.add_host("off", resource_state="Disabled")
    world.add_host("ok")
    assert world.host_name(world.place().host_id) == "ok"
    world.add_cluster("c-off", enabled=False)
    world.add_host("in-disabled-cluster", cluster="c-off")
    text = _fails(world, cluster_id=world.clusters["c-off"])
    assert "1 host in a disabled cluster" in text


def test_hypervisor_filter_follows_the_template(world: PlacementWorld) -> None:
    world.add_host("sim")
    world.add_cluster("kvm", hypervisor="KVM")
    world.add_host("kvm1", cluster="kvm")
    assert world.host_name(world.place(hypervisor="KVM").host_id) == "kvm1"
    text = _fails(world, hypervisor="XenServer")
    assert "2 hosts not running XenServer" in text


def test_host_tags_filter(world: PlacementWorld) -> None:
    world.add_host("plain")
    world.add_host("fast", tags=("fast",))
    assert world.host_name(world.place(host_tag="fast").host_id) == "fast"
    text = _fails(world, host_tag="gpu")
    assert "2 hosts lacking host tag 'gpu'" in text


def test_capacity_with_overprovisioning(world: PlacementWorld) -> None:
    """A 2 x 1500 MHz VM does not fit 2000 MHz free; with factor 2 it is charged 1500
    MHz and fits; memory likewise with mem.overprovisioning.factor."""
    world.add_host("small", cpus=1, speed=2000, memory_gb=2)
    text = _fails(world, cpu=2, speed=1500)
    assert "1 host without 3000 MHz free CPU" in text
    world.configure("cpu.overprovisioning.factor", "2")
    placed = world.place(cpu=2, speed=1500, memory_mb=1024)
    assert placed.cpu_mhz == 1500 and world.free("small") == (500, 1 * GB)
    assert "without 3072 MB free memory" in _fails(world, memory_mb=3072, speed=100)
    world.configure("mem.overprovisioning.factor", "4")
    assert world.place(memory_mb=3072, speed=100).memory_bytes == 768 * 1024 * 1024


def test_ha_hosts_are_kept_for_ha_restarts_which_prefer_them(world: PlacementWorld) -> None:
    world.configure("ha.tag", "ha")
    world.add_host("reserved", tags=("ha",))
    world.add_host("ordinary")
    assert world.host_name(world.place().host_id) == "ordinary"
    assert world.host_name(world.place(for_ha_restart=True).host_id) == "reserved"
    text = _fails(world, host_id=world.hosts["reserved"])
    assert "1 host reserved for HA restarts (ha.tag 'ha')" in text


def test_dedicated_zone_takes_only_its_domain(world: PlacementWorld, db_session: Session) -> None:
    seed_cloud(db_session, "k", "PBEWithMD5AndDES")
    sales = Domain(parent=1, name="Sales", owner=1, path="/Sales/", level=1)
    emea = Domain(parent=None, name="EMEA", owner=1, path="/Sales/EMEA/", level=2)
    other = Domain(parent=1, name="Ops", owner=1, path="/Ops/", level=1)
    db_session.add_all([sales, emea, other])
    db_session.flush()
    world.add_host("h1")
    world.dedicate(sales.id)
    assert world.place(domain_id=emea.id).host_id == world.hosts["h1"]
    assert "1 host in a zone dedicated to another domain" in _fails(world, domain_id=other.id)
    assert world.place(domain_id=other.id, system_vm=True).host_id == world.hosts["h1"]


def test_avoid_list(world: PlacementWorld) -> None:
    world.add_host("h1")
    world.add_host("h2")
    assert world.host_name(world.place(avoid_host_ids=frozenset({world.hosts["h1"]})).host_id) == (
        "h2"
    )
    text = _fails(world, avoid_cluster_ids=frozenset({world.clusters["cluster1"]}))
    assert "2 hosts in the avoid list" in text


def test_filters_run_in_the_configured_order(world: PlacementWorld) -> None:
    """The first filter in host.allocators.order that rejects a host gets the count."""
    world.add_host("h1")
    world.configure("host.allocators.order", "HostTags,Hypervisor,FirstFit")
    assert "lacking host tag 'x'" in _fails(world, host_tag="x", hypervisor="KVM")
    world.configure("host.allocators.order", "Hypervisor,HostTags,FirstFit")
    assert "not running KVM" in _fails(world, host_tag="x", hypervisor="KVM")


# ---- weighers ------------------------------------------------------------------------------


def test_most_free_weigher_balances(world: PlacementWorld) -> None:
    world.configure("host.allocators.order", "HostState,HostCapacity,MostFree")
    world.add_host("busy", memory_gb=8, free_memory=2 * GB)
    world.add_host("idle", memory_gb=8)
    assert world.host_name(world.place().host_id) == "idle"


def test_random_weigher_spreads(world: PlacementWorld) -> None:
    world.configure("host.allocators.order", "HostState,HostCapacity,Random")
    for number in range(4):
        world.add_host(f"h{number}")
    chosen = {world.explain().chosen.host_id for _ in range(40)}
    assert len(chosen) >= 2


# ---- planners ------------------------------------------------------------------------------


def test_first_fit_planner_prefers_the_cluster_with_most_room(world: PlacementWorld) -> None:
    world.add_host("small", memory_gb=4)
    world.add_cluster("big")
    world.add_host("large", cluster="big", memory_gb=64)
    assert world.host_name(world.place().host_id) == "large"


def test_user_dispersing_spreads_an_accounts_vms(
    world: PlacementWorld, db_session: Session
) -> None:
    seed_cloud(db_session, "k", "PBEWithMD5AndDES")
    world.add_host("a1", memory_gb=64)
    world.add_host("a2", memory_gb=64)
    world.add_cluster("c2")
    world.add_host("b1", cluster="c2", memory_gb=8)
    world.add_vm("a1", account_id=2, domain_id=1)
    # FirstFit would take cluster1 (most room); dispersion takes the empty cluster.
    assert world.host_name(world.place(account_id=2).host_id) == "a1"
    explained = world.explain(account_id=2, planner="UserDispersing")
    assert world.host_name(explained.chosen.host_id) == "b1"
    # Within a cluster, the host without the account's VMs first.
    placed = world.place(
        account_id=2, planner="UserDispersing", cluster_id=world.clusters["cluster1"]
    )
    assert world.host_name(placed.host_id) == "a2"
    # Weight 0: capacity only.
    world.configure("vm.user.dispersion.weight", "0")
    explained = world.explain(account_id=2, planner="UserDispersing")
    assert world.host_name(explained.chosen.host_id) in ("a1", "a2")


def test_user_concentrated_pod_keeps_vms_together(
    world: PlacementWorld, db_session: Session
) -> None:
    seed_cloud(db_session, "k", "PBEWithMD5AndDES")
    world.add_host("p1-host", memory_gb=64)
    world.add_pod("pod2")
    world.add_cluster("c2", pod="pod2")
    world.add_host("p2-host", cluster="c2", memory_gb=8)
    world.add_vm("p2-host", account_id=2, domain_id=1)
    placed = world.place(account_id=2, planner="UserConcentratedPod")
    assert world.host_name(placed.host_id) == "p2-host"
    world.configure("vm.deployment.planner", "UserConcentratedPod")
    assert world.host_name(world.place(account_id=1).host_id) == "p1-host"


# ---- storage -------------------------------------------------------------------------------


def _used(session: Session, pool: int) -> int:
    return int(
        session.execute(
            select(StoragePool.allocated_bytes).where(StoragePool.id == pool)
        ).scalar_one()
    )


def test_first_fit_storage_with_tags_and_overprovisioning(
    world: PlacementWorld, db_session: Session
) -> None:
    world.add_host("h1")
    world.add_pool("plain", capacity_gb=100)
    world.add_pool("ssd", capacity_gb=100, tags=("ssd",))
    placed = world.place(root_disk_bytes=10 * GB, storage_tags=("ssd",))
    assert placed.root_pool_id == world.pools["ssd"]
    assert _used(db_session, world.pools["ssd"]) == 10 * GB
    # NFS is over-provisioned by storage.overprovisioning.factor (2): 150 GB fits 100.
    placed = world.place(root_disk_bytes=150 * GB, data_disk_bytes=20 * GB)
    assert (
        placed.root_pool_id == world.pools["plain"] and placed.data_pool_id == world.pools["plain"]
    )
    assert _used(db_session, world.pools["plain"]) == 170 * GB
    text = _fails(world, root_disk_bytes=10 * GB, storage_tags=("gold",))
    assert "1 host without a suitable storage pool" in text
    assert "2 pools lacking storage tag 'gold'" in text


def test_local_storage(world: PlacementWorld) -> None:
    world.add_host("no-local")
    world.add_host("with-local")
    world.add_pool("shared", capacity_gb=10)
    world.add_pool("local", local_to="with-local", capacity_gb=500)
    placed = world.place(root_disk_bytes=5 * GB, use_local_storage=True)
    assert world.host_name(placed.host_id) == "with-local"
    assert placed.root_pool_id == world.pools["local"]
    # A shared disk too big for the shared pool: only use.local.storage lets it go local.
    assert "without a suitable storage pool" in _fails(world, root_disk_bytes=100 * GB)
    world.configure("use.local.storage", "true")
    assert world.place(root_disk_bytes=100 * GB).root_pool_id == world.pools["local"]


def test_system_vms_on_local_storage_when_required(world: PlacementWorld) -> None:
    world.add_host("h1")
    world.add_pool("shared", capacity_gb=100)
    world.add_pool("local", local_to="h1", capacity_gb=100)
    assert world.place(root_disk_bytes=GB, system_vm=True).root_pool_id == world.pools["shared"]
    world.configure("system.vm.local.storage.required", "true")
    assert world.place(root_disk_bytes=GB, system_vm=True).root_pool_id == world.pools["local"]
    assert world.place(root_disk_bytes=GB).root_pool_id == world.pools["shared"]
