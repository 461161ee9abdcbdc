"""Host-local primary storage as services (REQ-PS-06): ``addHost`` and
``reconnectHost`` turn what the driver reports into HOST-scope pools, idempotently,
keyed by the storage's uuid; conflicts and bad reports are refused; ``deleteHost``
removes the pools unless volumes live on them; the same disk added again gets its pool
back. The driver is the hosts tests' fake (the API test runs the real simulator)."""

from __future__ import annotations

from collections.abc import Iterator

import pluggy
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from test_hosts_support import FakeHypervisor, add_kvm_host, fake_hypervisors, make_zone
from test_hosts_support import seeded_runtime as _seeded

from cumulo.accounts.models import Account
from cumulo.infra.hosts import hosts, maintenance
from cumulo.infra.hosts.models import Host
from cumulo.infra.models import Pod, Zone
from cumulo.infra.storage import pools as shared_pools
from cumulo.infra.storage.local import local_pool_name, sync_local_pools
from cumulo.infra.storage.models import StoragePool
from cumulo.runtime import Runtime
from cumulo.sdk.errors import InternalError, InvalidParameterValue
from cumulo.sdk.hypervisor import LocalStorage
from cumulo.volumes.models import Volume

GB = 1024**3
DISK = "6f1c1f0e-0000-4000-8000-00000000000"
"""Local storage uuids of the tests: DISK + one digit."""


def _disk(digit: int, *, path: str = "", total: int = 100 * GB, used: int = 0) -> LocalStorage:
    return LocalStorage(
        uuid=f"{DISK}{digit}",
        path=path or f"/var/lib/libvirt/images{digit}",
        total_bytes=total,
        used_bytes=used,
        pool_type="Filesystem",
        name=f"disk{digit}",
    )


@pytest.fixture
def runtime(migrated_database_url: str, plugin_manager: pluggy.PluginManager) -> Iterator[Runtime]:
    built = _seeded(migrated_database_url, plugin_manager)
    with fake_hypervisors():
        yield built
    built.close()


def _local(session: Session, host: Host) -> list[StoragePool]:
    stmt = select(StoragePool).where(StoragePool.host_id == host.id).order_by(StoragePool.id)
    return list(session.scalars(stmt))


def test_req_ps_06_add_host_creates_a_host_pool_per_local_storage(runtime: Runtime) -> None:
    """REQ-PS-06: each storage the host reports becomes a HOST-scope pool named
    ``<host> Local Storage``, Up, in the host's zone, pod and cluster, at its address,
    its size and use materialised; made whether or not the zone enables local
    storage (as 4.1), whose uuid is the storage's own."""
    FakeHypervisor.local_storage = {
        "10.1.0.5": (_disk(1, total=500 * GB, used=20 * GB), _disk(2, total=GB, used=5 * GB))
    }
    with runtime.sessions.begin() as session:
        zone, pod = make_zone(session)
        assert not zone.is_local_storage_enabled
        host = add_kvm_host(session, zone, pod, "10.1.0.5")
        found = _local(session, host)
        assert [(p.uuid, p.name, p.scope, p.status, p.pool_type) for p in found] == [
            (f"{DISK}1", "10.1.0.5 Local Storage", "HOST", "Up", "Filesystem"),
            (f"{DISK}2", "10.1.0.5 Local Storage", "HOST", "Up", "Filesystem"),
        ]
        assert [(p.capacity_bytes, p.used_bytes, p.allocated_bytes) for p in found] == [
            (500 * GB, 20 * GB, 0),
            (GB, GB, 0),  # used is capped at the size
        ]
        assert {(p.data_center_id, p.pod_id, p.cluster_id) for p in found} == {
            (zone.id, pod.id, host.cluster_id)
        }
        assert {(p.host_address, p.port) for p in found} == {("10.1.0.5", 0)}
        assert [p.path for p in found] == ["/var/lib/libvirt/images1", "/var/lib/libvirt/images2"]
        # A cluster's shared-pool count (REQ-PS-01) ignores them.
        assert shared_pools.live_pool_count(session, host.cluster_id or 0) == 0


def test_a_host_without_local_storage_gets_no_pool(runtime: Runtime) -> None:
    with runtime.sessions.begin() as session:
        zone, pod = make_zone(session)
        host = add_kvm_host(session, zone, pod, "10.1.0.6")
        assert _local(session, host) == []


def test_req_ps_06_reconnect_refreshes_the_same_pools(runtime: Runtime) -> None:
    """Reconnecting finds the pools by uuid: their size and use follow the report,
    their state is kept (a pool in maintenance stays in it), no second pool is made,
    and a storage the host no longer reports is left alone."""
    FakeHypervisor.local_storage = {"10.1.0.5": (_disk(1), _disk(2))}
    with runtime.sessions.begin() as session:
        zone, pod = make_zone(session)
        host = add_kvm_host(session, zone, pod, "10.1.0.5")
        first, second = _local(session, host)
        shared_pools.enable_maintenance(session, first)
    FakeHypervisor.local_storage = {
        "10.1.0.5": (_disk(1, total=200 * GB, used=50 * GB, path="/data/images"),)
    }
    with runtime.sessions.begin() as session:
        host = session.get_one(Host, host.id)
        maintenance.reconnect(session, host, database_key="hosts-test-key")
        again = _local(session, host)
        assert [p.id for p in again] == [first.id, second.id]
        assert (again[0].capacity_bytes, again[0].used_bytes, again[0].path) == (
            200 * GB,
            50 * GB,
            "/data/images",
        )
        assert again[0].status == "Maintenance" and again[1].status == "Up"
        assert again[1].capacity_bytes == 100 * GB  # not reported: unchanged


def test_a_storage_uuid_of_another_host_is_refused(runtime: Runtime) -> None:
    """Hosts cloned from one image report the same storage uuid: the second host is
    refused with a 431 naming url and the pool of the first, and nothing is added."""
    FakeHypervisor.local_storage = {"10.1.0.5": (_disk(1),), "10.1.0.6": (_disk(1),)}
    with runtime.sessions.begin() as session:
        zone, pod = make_zone(session)
        add_kvm_host(session, zone, pod, "10.1.0.5")
    refused = pytest.raises(InvalidParameterValue, match=r"url.*already storage pool.*10\.1\.0\.5")
    with refused, runtime.sessions.begin() as session:
        zone = session.scalars(select(Zone)).one()
        pod = session.scalars(select(Pod)).one()
        add_kvm_host(session, zone, pod, "10.1.0.6")
    with runtime.sessions() as session:
        assert session.scalars(select(Host.private_ip_address)).all() == ["10.1.0.5"]


def test_a_path_already_pooled_at_the_address_is_refused(runtime: Runtime) -> None:
    FakeHypervisor.local_storage = {"10.1.0.5": (_disk(1, path="/export"),)}
    with runtime.sessions.begin() as session:
        zone, pod = make_zone(session)
        session.add(
            StoragePool(
                name="nfs", pool_type="NetworkFilesystem", data_center_id=zone.id,
                host_address="10.1.0.5", path="/export", port=0,
            )
        )  # fmt: skip
        session.flush()
        with pytest.raises(InvalidParameterValue, match=r"path /export of 10\.1\.0\.5.*'nfs'"):
            add_kvm_host(session, zone, pod, "10.1.0.5")


@pytest.mark.parametrize(
    "report",
    [
        (_disk(1), _disk(1)),  # the same storage twice
        (LocalStorage(uuid="", path="/x", total_bytes=1),),
        (LocalStorage(uuid="u" * 41, path="/x", total_bytes=1),),
        (LocalStorage(uuid="u1", path=" ", total_bytes=1),),
        (LocalStorage(uuid="u1", path="/x", total_bytes=-1),),
    ],
)
def test_an_unusable_report_is_a_driver_error(
    runtime: Runtime, report: tuple[LocalStorage, ...]
) -> None:
    FakeHypervisor.local_storage = {"10.1.0.5": report}
    with runtime.sessions.begin() as session:
        zone, pod = make_zone(session)
        with pytest.raises(InternalError, match="driver reported local storage"):
            add_kvm_host(session, zone, pod, "10.1.0.5")


def _volume_on(session: Session, pool: StoragePool, state: str = "Ready") -> Volume:
    admin = session.scalars(select(Account).where(Account.account_name == "admin")).one()
    volume = Volume(
        name="ROOT-1", account_id=admin.id, domain_id=admin.domain_id,
        data_center_id=pool.data_center_id, pool_id=pool.id, volume_type="ROOT",
        state=state, size=GB,
    )  # fmt: skip
    session.add(volume)
    session.flush()
    return volume


def test_delete_host_removes_its_local_pools_unless_volumes_live_there(
    runtime: Runtime,
) -> None:
    """deleteHost: a local pool still holding a volume makes it a 431 naming id (cumulo
    never destroys user data as a side effect); once the volume is expunged the host
    goes and its pools with it; the same disk added again gets its pool back, Up,
    under the same id, nothing claimed on it."""
    FakeHypervisor.local_storage = {"10.1.0.5": (_disk(1),)}
    with runtime.sessions.begin() as session:
        zone, pod = make_zone(session)
        host = add_kvm_host(session, zone, pod, "10.1.0.5")
        (pool,) = _local(session, host)
        volume = _volume_on(session, pool)
        pool.allocated_bytes = GB
        with pytest.raises(InvalidParameterValue, match=r"id.*'10\.1\.0\.5 Local Storage' holds 1"):
            hosts.delete_host(session, host, forced=True)
        volume.state = "Expunged"
        hosts.delete_host(session, host, forced=True)
        session.refresh(pool)
        assert (pool.status, pool.removed_key) == ("Removed", pool.id)
        assert pool.removed is not None
        again = add_kvm_host(session, zone, pod, "10.1.0.5")
        (back,) = _local(session, again)
        assert (back.id, back.status, back.removed, back.removed_key) == (pool.id, "Up", None, 0)
        assert back.allocated_bytes == 0 and back.host_id == again.id


def test_sync_without_storage_touches_nothing(runtime: Runtime) -> None:
    with runtime.sessions.begin() as session:
        zone, pod = make_zone(session)
        host = add_kvm_host(session, zone, pod, "10.1.0.5")
        assert sync_local_pools(session, host, ()) == []
        assert local_pool_name("x" * 300).endswith(" Local Storage")
        assert len(local_pool_name("x" * 300)) == 255
