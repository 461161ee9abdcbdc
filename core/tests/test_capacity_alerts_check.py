"""Capacity threshold alerts (4.1's capacity checker): a cluster, pod or zone whose
capacity crosses its ``*.capacity.notificationthreshold`` raises one alert of 4.1's
type number, once per crossing; the check is a constant number of statements; it runs
as a periodic task once per ``capacity.check.period``; ``listAlerts`` shows the alerts.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

import falcon.testing
import pluggy
import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from test_hosts_support import (
    StatementCounter,
    add_kvm_host,
    fake_hypervisors,
    make_zone,
)
from test_hosts_support import seeded_runtime as _seeded

from cumulo.alerts import capacity_check, service
from cumulo.alerts.models import Alert, AlertType
from cumulo.alerts.settings import ALERT_KEYS, PERIOD_KEY, THRESHOLDS
from cumulo.config.store import ConfigStore
from cumulo.infra.hosts.models import Cluster, Host, HostDetail, HostType
from cumulo.infra.models import Pod, Zone
from cumulo.infra.storage.models import StoragePool
from cumulo.jobs.models import Lease
from cumulo.jobs.scheduler import PERIODIC_TASKS
from cumulo.runtime import Runtime
from cumulo_api.testing import signed_request

GB = 1024**3
MEMORY_KEY = "cluster.memory.allocated.capacity.notificationthreshold"


@pytest.fixture
def runtime(migrated_database_url: str, plugin_manager: pluggy.PluginManager) -> Iterator[Runtime]:
    built = _seeded(migrated_database_url, plugin_manager)
    with fake_hypervisors():
        yield built
    built.close()


def _check(runtime: Runtime) -> capacity_check.CheckOutcome:
    with runtime.sessions.begin() as session:
        return capacity_check.check_capacity(session, runtime.config_store(session))


def _use_memory(session: Session, host_id: int, fraction: float) -> None:
    host = session.get_one(Host, host_id)
    host.free_memory = int((host.total_memory or 0) * (1 - fraction))


def _alerts(runtime: Runtime) -> list[tuple[int, int | None, bool]]:
    """``(type, cluster, resolved)`` of every alert, oldest first."""
    with runtime.sessions() as session:
        rows = session.execute(
            select(Alert.type, Alert.cluster_id, Alert.resolved).order_by(Alert.id)
        )
        return [(kind, cluster, resolved is not None) for kind, cluster, resolved in rows]


def _cluster_with_host(session: Session, zone: Zone, pod: Pod, name: str, address: str) -> Host:
    return add_kvm_host(session, zone, pod, address, cluster=name)


def test_the_settings_are_4_1s() -> None:
    """Names, defaults and category of 4.1's ``Config.java``."""
    declared = {key.name: key for key in ALERT_KEYS}
    assert declared[PERIOD_KEY].default == "300000"
    for threshold in THRESHOLDS.values():
        key = declared[threshold.key]
        assert (key.default, key.category, key.minimum, key.maximum) == ("0.75", "Alert", 0, 1)
    assert {int(t.alert_type) for t in THRESHOLDS.values()} == {0, 1, 2, 3, 4, 5, 6, 18, 24, 25}


def test_a_crossing_raises_one_alert_until_it_ends(runtime: Runtime) -> None:
    """A cluster whose allocated memory passes 75 % gets one MEMORY alert (type 0),
    not one per check; back under the threshold the alert is resolved; the next
    crossing raises a new one."""
    with runtime.sessions.begin() as session:
        zone, pod = make_zone(session)
        host = _cluster_with_host(session, zone, pod, "c1", "10.1.0.5")
        _use_memory(session, host.id, 0.80)
        cluster_id = host.cluster_id
    first = _check(runtime)
    assert (first.raised, first.resolved, first.short) == (1, 0, 1)
    assert _alerts(runtime) == [(int(AlertType.MEMORY), cluster_id, False)]
    with runtime.sessions() as session:
        subject = session.scalars(select(Alert.subject)).one()
    assert subject is not None
    assert subject.startswith("System Alert: Low Available Memory in cluster c1 pod zone1-pod1")
    assert "availability zone zone1" in subject and "(80.00%)" in subject
    again = _check(runtime)
    assert (again.raised, again.resolved, again.short) == (0, 0, 1)
    assert len(_alerts(runtime)) == 1
    with runtime.sessions.begin() as session:
        _use_memory(session, host.id, 0.50)
    assert _check(runtime).resolved == 1
    assert _alerts(runtime) == [(0, cluster_id, True)]
    with runtime.sessions.begin() as session:
        _use_memory(session, host.id, 0.90)
    assert _check(runtime).raised == 1
    assert _alerts(runtime) == [(0, cluster_id, True), (0, cluster_id, False)]


def test_each_level_and_type_has_its_alert(runtime: Runtime) -> None:
    """CPU (1), primary storage used (2) and allocated (3), host-local storage (25) per
    cluster; secondary storage (6) per zone; nothing for what is under its threshold."""
    with runtime.sessions.begin() as session:
        zone, pod = make_zone(session)
        host = _cluster_with_host(session, zone, pod, "c1", "10.1.0.5")
        host.free_cpu = (host.cpus or 0) * (host.speed or 0) // 10  # 90 % allocated
        common = {"data_center_id": zone.id, "pod_id": pod.id, "cluster_id": host.cluster_id}
        session.add_all(
            [
                StoragePool(
                    name="nfs", pool_type="NetworkFilesystem", host_address="10.1.1.1",
                    path="/a", capacity_bytes=100 * GB, used_bytes=80 * GB,
                    allocated_bytes=90 * GB, **common,
                ),
                StoragePool(
                    name="local", pool_type="Filesystem", host_address="10.1.0.5", path="/l",
                    scope="HOST", host_id=host.id, capacity_bytes=10 * GB,
                    used_bytes=9 * GB, **common,
                ),
            ]
        )  # fmt: skip
        store = Host(
            name="nfs://s/sec", type=HostType.SECONDARY_STORAGE.value, data_center_id=zone.id,
            status="Up", resource_state="Enabled", url="nfs://s/sec", private_ip_address="s",
        )  # fmt: skip
        session.add(store)
        session.flush()
        session.add_all(
            [
                HostDetail(host_id=store.id, name="total_size", value=str(100 * GB)),
                HostDetail(host_id=store.id, name="used_size", value=str(99 * GB)),
            ]
        )
    outcome = _check(runtime)
    kinds = {(kind, cluster is not None) for kind, cluster, _ in _alerts(runtime)}
    assert kinds == {(1, True), (2, True), (3, True), (25, True), (6, False)}
    assert outcome.raised == 5


def test_a_threshold_set_for_one_cluster_applies_to_it_alone(runtime: Runtime) -> None:
    """The cluster thresholds may be overridden per cluster (scope ``cluster``): the
    same 80 % raises an alert in one cluster and not in the other."""
    with runtime.sessions.begin() as session:
        zone, pod = make_zone(session)
        strict = _cluster_with_host(session, zone, pod, "strict", "10.1.0.5")
        lenient = _cluster_with_host(session, zone, pod, "lenient", "10.1.0.6")
        for host in (strict, lenient):
            _use_memory(session, host.id, 0.80)
        runtime.config_store(session).set(MEMORY_KEY, "0.9", "cluster", lenient.cluster_id)
    _check(runtime)
    assert _alerts(runtime) == [(0, strict.cluster_id, False)]
    with runtime.sessions.begin() as session:
        runtime.config_store(session).set(MEMORY_KEY, "0.85")
    assert _check(runtime).resolved == 1  # the global threshold moved above 80 %


@pytest.mark.parametrize("clusters", [2, 12])
def test_the_check_is_a_constant_number_of_statements(runtime: Runtime, clusters: int) -> None:
    """Set-based: the same statements for 2 clusters as for 12, all short at once."""
    with runtime.sessions.begin() as session:
        for number in range(2):
            zone, pod = make_zone(session, f"z{number}", cidr=f"10.{number + 1}.0.0/16")
            for index in range(clusters // 2):
                host = _cluster_with_host(
                    session, zone, pod, f"c{number}-{index}", f"10.{number + 1}.{index}.5"
                )
                _use_memory(session, host.id, 0.95)
    counter = StatementCounter()
    with runtime.sessions.begin() as session, counter.on(runtime.engine):
        store = ConfigStore(runtime.config, session, runtime.database_key)  # no cache
        outcome = capacity_check.check_capacity(session, store)
    assert outcome.raised == clusters
    # BEGIN (SQLite), thresholds, overrides, capacities, open alerts, INSERT.
    assert counter.count <= 6, counter.count
    counter_again = StatementCounter()
    with runtime.sessions.begin() as session, counter_again.on(runtime.engine):
        store = ConfigStore(runtime.config, session, runtime.database_key)
        assert capacity_check.check_capacity(session, store).raised == 0
    assert counter_again.count <= 5  # nothing to write


def test_a_removed_cluster_resolves_its_alert(runtime: Runtime) -> None:
    with runtime.sessions.begin() as session:
        zone, pod = make_zone(session)
        host = _cluster_with_host(session, zone, pod, "c1", "10.1.0.5")
        _use_memory(session, host.id, 0.80)
    _check(runtime)
    with runtime.sessions.begin() as session:
        session.execute(
            update(Host).where(Host.id == host.id).values(removed=dt.datetime(2026, 1, 1))
        )
        session.execute(
            update(Cluster)
            .where(Cluster.id == host.cluster_id)
            .values(removed=dt.datetime(2026, 1, 1))
        )
    assert _check(runtime).resolved == 1


def test_the_periodic_task_checks_once_per_period(runtime: Runtime) -> None:
    """Registered in PERIODIC_TASKS; polled often, it checks once per
    capacity.check.period (the lease's expiry says when the next is due)."""
    (task,) = [t for t in PERIODIC_TASKS if t.lease == capacity_check.LEASE]
    assert task.resolve() is capacity_check.run_capacity_check
    with runtime.sessions.begin() as session:
        zone, pod = make_zone(session)
        host = _cluster_with_host(session, zone, pod, "c1", "10.1.0.5")
        _use_memory(session, host.id, 0.80)
    first = capacity_check.run_capacity_check(runtime)
    assert first is not None and first.raised == 1
    assert capacity_check.run_capacity_check(runtime) is None  # not due yet
    with runtime.sessions.begin() as session:
        lease = session.get_one(Lease, capacity_check.LEASE)
        assert lease.owner == runtime.msid
        lease.expires = lease.expires - dt.timedelta(seconds=301)  # a period later
    again = capacity_check.run_capacity_check(runtime)
    assert again is not None and (again.raised, again.short) == (0, 1)


def test_list_alerts_shows_capacity_alerts_with_their_type(
    runtime: Runtime, api: falcon.testing.TestClient, admin_keys: tuple[str, str]
) -> None:
    """``listAlerts type=1`` shows the CPU alert a check raised, as 4.1 numbers it."""
    with runtime.sessions.begin() as session:
        zone, pod = make_zone(session)
        host = _cluster_with_host(session, zone, pod, "c1", "10.1.0.5")
        host.free_cpu = 0
    _check(runtime)
    result = signed_request(api, admin_keys, "listAlerts", type=1)
    assert result.status_code == 200, result.text
    (answer,) = json.loads(result.content).values()
    (alert,) = answer["alert"]
    assert alert["type"] == 1 and "Low Unallocated CPU in cluster c1" in alert["description"]
    with runtime.sessions() as session:
        rows, total = service.list_alerts(session, alert_type=0)
    assert (rows, total) == ([], 0)
