"""High availability (issue 5 item 9) on the demo zone of simulated hosts, over the real
API: a host that stops answering pings goes Down through the real heartbeat task, and the
HA round restarts its HA-enabled VMs on other hosts (an ``ha.tag`` host first) and marks
the others Stopped — capacity, events and alerts checked; a restart that cannot be placed
is retried and then given up with an alert; two servers running rounds at once restart a
VM once; a server that dies mid-restart is taken over; maintenance migrates VMs away."""

# The shared fixtures are imported from test_compute_lifecycle, then named as arguments.
# ruff: noqa: F811

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pluggy
import pytest
from sqlalchemy import event, select, update
from test_compute_lifecycle import (  # noqa: F401 - fixtures
    Cloud,
    Keys,
    alice,
    cloud,
    make_user,
    offering,
    template,
    zone,
)

import cumulo.ha.commands
from cumulo.alerts.models import Alert
from cumulo.compute.models import VirtualMachine
from cumulo.events.models import Event
from cumulo.ha import restart, task
from cumulo.ha.models import HaWork
from cumulo.infra.hosts.models import Host, HostType, ResourceState
from cumulo.infra.hosts.monitor import HostMonitor
from cumulo.jobs.models import ManagementServerHost
from cumulo.runtime import Runtime
from cumulo_api.testing import TEST_DATABASE_KEY

pytest.importorskip("cumulo_simulator")

from cumulo_simulator.state import SimulatorState


@pytest.fixture
def plugin_manager(plugin_manager: pluggy.PluginManager) -> pluggy.PluginManager:
    """The built-in plugins with HA's settings (``cumulo.ha.commands``) and the
    simulator's ``configureSimulator`` (its entry point is not autoloaded in tests)."""
    import cumulo_simulator.plugin

    if not plugin_manager.has_plugin("cumulo.ha.commands"):
        plugin_manager.register(cumulo.ha.commands, name="cumulo.ha.commands")
    if not plugin_manager.is_registered(cumulo_simulator.plugin):
        plugin_manager.register(cumulo_simulator.plugin, name="simulator")
    return plugin_manager


@pytest.fixture
def admin(runtime: Runtime, alice: Keys) -> Keys:
    """A root admin (and alice, the owner of the VMs it deploys)."""
    return make_user(runtime, "ops", account_type=1)


@pytest.fixture
def ha_offering(cloud: Cloud, admin: Keys) -> str:
    """A public offering with HA (1 vCPU, 500 MHz, 512 MB)."""
    created = cloud.call(
        admin, "createServiceOffering", name="HA Small", displaytext="HA small",
        cpunumber=1, cpuspeed=500, memory=512, offerha="true",
    )  # fmt: skip
    return str(created["serviceoffering"]["id"])


@pytest.fixture
def hosts(runtime: Runtime, zone: str) -> list[Host]:
    """The demo zone's four hypervisor hosts, by id."""
    with runtime.sessions() as session:
        return list(
            session.scalars(
                select(Host).where(Host.type == HostType.ROUTING.value).order_by(Host.id)
            )
        )


def _set(cloud: Cloud, admin: Keys, **values: str) -> None:
    for name, value in values.items():
        cloud.call(admin, "updateConfiguration", name=name, value=value)


def _deploy(
    cloud: Cloud, admin: Keys, zone: str, template: str, offering: str, host: Host, name: str
) -> dict[str, Any]:
    """A VM of alice on ``host`` (``hostid`` is the admin's to give)."""
    vm: dict[str, Any] = cloud.ok(
        admin, "deployVirtualMachine", zoneid=zone, templateid=template,
        serviceofferingid=offering, hostid=host.uuid, name=name, account="alice",
        domainid=_root_domain(cloud.runtime),
    )["virtualmachine"]  # fmt: skip
    assert vm["hostid"] == host.uuid and vm["state"] == "Running"
    return vm


def _root_domain(runtime: Runtime) -> str:
    from cumulo.accounts.models import Domain

    with runtime.sessions() as session:
        return str(session.scalars(select(Domain.uuid).where(Domain.path == "/")).one())


def _age(runtime: Runtime, seconds: float) -> None:
    """Pretend every ping and disconnection happened ``seconds`` earlier."""
    delta = dt.timedelta(seconds=seconds)
    with runtime.sessions.begin() as session:
        for row in session.execute(select(Host.id, Host.last_ping, Host.disconnected)).all():
            session.execute(
                update(Host)
                .where(Host.id == row.id)
                .values(
                    last_ping=row.last_ping and row.last_ping - delta,
                    disconnected=row.disconnected and row.disconnected - delta,
                )
            )


def _fail_host(runtime: Runtime, cloud: Cloud, admin: Keys, host: Host) -> None:
    """The host stops answering pings (``configureSimulator``); the real heartbeat
    rounds (ping.timeout 2.5 x 60 s, time aged in between) take it Up → Alert → Down."""
    cloud.call(admin, "configureSimulator", name="ping", hostid=host.id,
               value="result:unreachable")  # fmt: skip
    monitor = HostMonitor(runtime)
    for expected in ("Alert", "Down"):
        _age(runtime, 151)
        monitor.tick()
        assert _host(runtime, host.id).status == expected


def _host(runtime: Runtime, host_id: int) -> Host:
    with runtime.sessions() as session:
        found = session.get(Host, host_id)
        assert found is not None
        return found


def _vm(runtime: Runtime, uuid: str) -> VirtualMachine:
    with runtime.sessions() as session:
        return session.scalars(select(VirtualMachine).where(VirtualMachine.uuid == uuid)).one()


def _events(runtime: Runtime, uuid: str | None = None) -> list[tuple[str, str, str]]:
    with runtime.sessions() as session:
        rows = session.execute(
            select(Event.type, Event.level, Event.description)
            .where(Event.type.in_(("VM.START", "VM.STOP")))
            .order_by(Event.id)
        ).all()
    return [(t, lvl, d) for t, lvl, d in rows if uuid is None or uuid in d]


def _alerts(runtime: Runtime, kind: int = 8) -> list[str]:
    with runtime.sessions() as session:
        rows = session.scalars(select(Alert.subject).where(Alert.type == kind).order_by(Alert.id))
        return [str(subject) for subject in rows]


def _simulated_host_of(vm_uuid: str, runtime: Runtime) -> list[tuple[str, str]]:
    """(host guid, state) of every simulator record of the VM's instance."""
    name = _vm(runtime, vm_uuid).instance_name
    rows = (
        SimulatorState().read().execute("SELECT host_guid, state FROM vms WHERE name = ?", (name,))
    )
    return [(str(guid), str(state)) for guid, state in rows]


# ---- the Must show -------------------------------------------------------------------


def test_host_failure_restarts_ha_vms_elsewhere_and_stops_the_others(
    runtime: Runtime, cloud: Cloud, admin: Keys, alice: Keys, zone: str, template: str,
    offering: str, ha_offering: str, hosts: list[Host],
) -> None:  # fmt: skip
    failed, spare, _, reserved = hosts
    # The smallest host is kept for HA restarts: tagged with ha.tag.
    _set(cloud, admin, **{"ha.tag": "ha-spare"})
    cloud.call(admin, "updateHost", id=reserved.uuid, hosttags="ha-spare")
    ha_vm = _deploy(cloud, admin, zone, template, ha_offering, failed, "ha-1")
    plain_vm = _deploy(cloud, admin, zone, template, offering, failed, "plain-1")
    assert ha_vm["haenable"] is True and plain_vm["haenable"] is False
    # The ha.tag host takes no ordinary placement, even when an admin names it.
    refused = cloud.job(
        admin, "deployVirtualMachine", zoneid=zone, templateid=template,
        serviceofferingid=offering, hostid=reserved.uuid,
    )  # fmt: skip
    assert refused["jobstatus"] == 2 and refused["jobresult"]["errorcode"] == 533
    assert "ha.tag" in refused["jobresult"]["errortext"]
    before = {h.id: _host(runtime, h.id) for h in hosts}
    reserved_mem = _vm(runtime, ha_vm["id"]).reserved_memory
    assert reserved_mem == 512 * 1024**2

    _fail_host(runtime, cloud, admin, failed)
    outcome = task.run_ha_round(runtime)

    assert outcome.fenced is not None
    assert outcome.fenced.restarts == [ha_vm["id"]] and outcome.fenced.stopped == [plain_vm["id"]]
    assert sorted(outcome.outcomes.values()) == ["restarted", "stopped"]
    # The HA VM runs again, on the ha.tag host; the other is Stopped.
    seen = cloud.call(admin, "listVirtualMachines", listall="true", id=ha_vm["id"])
    (moved,) = seen["virtualmachine"]
    assert moved["state"] == "Running" and moved["hostid"] == reserved.uuid
    (stopped,) = cloud.call(alice, "listVirtualMachines", id=plain_vm["id"])["virtualmachine"]
    assert stopped["state"] == "Stopped"
    # Capacity: the failed host got both reservations back, the ha.tag host lost one.
    after = {h.id: _host(runtime, h.id) for h in hosts}
    assert after[failed.id].free_memory == before[failed.id].free_memory + 2 * reserved_mem
    assert after[failed.id].free_cpu == before[failed.id].free_cpu + 2 * 500
    assert after[reserved.id].free_memory == before[reserved.id].free_memory - reserved_mem
    assert after[reserved.id].free_cpu == before[reserved.id].free_cpu - 500
    assert after[spare.id].free_memory == before[spare.id].free_memory
    assert _vm(runtime, ha_vm["id"]).reserved_memory == reserved_mem
    assert _vm(runtime, plain_vm["id"]).host_id is None
    # The simulator: the HA VM runs on the ha.tag host only; the stray copy of the other
    # was stopped on the failed host (it still answers stop calls: only pings fail).
    assert _simulated_host_of(ha_vm["id"], runtime) == [(str(reserved.guid), "Running")]
    assert _simulated_host_of(plain_vm["id"], runtime) == [(str(failed.guid), "Stopped")]
    # Events: each VM marked Stopped (WARN); the HA restart is a VM.START naming HA.
    ha_events = _events(runtime, ha_vm["id"])[-2:]
    assert [(t, lvl) for t, lvl, _ in ha_events] == [("VM.STOP", "WARN"), ("VM.START", "INFO")]
    assert "HA restart" in ha_events[0][2] and "is Down" in ha_events[0][2]
    assert ha_events[1][2].startswith("HA: restarted") and reserved.name in ha_events[1][2]
    plain_events = _events(runtime, plain_vm["id"])
    assert plain_events[-1][:2] == ("VM.STOP", "WARN") and "HA is not" in plain_events[-1][2]
    # The tenant sees the events of her VMs.
    listed = cloud.call(alice, "listEvents", type="VM.START")["event"]
    assert any(e["description"].startswith("HA: restarted") for e in listed)
    # ... and nobody else does.
    bob = make_user(runtime, "bob")
    assert cloud.call(bob, "listEvents", type="VM.START") == {}
    assert cloud.call(bob, "listEvents", type="VM.STOP") == {}
    # 4.1's alert for the VM without HA; none for the restarted one.
    (alert,) = _alerts(runtime)
    assert "stopped unexpectedly" in alert and plain_vm["id"] in alert
    # Work items: both closed; nothing left to take.
    with runtime.sessions() as session:
        steps = session.execute(select(HaWork.type, HaWork.step).order_by(HaWork.id)).all()
    assert [tuple(row) for row in steps] == [("HA", "Done"), ("Stop", "Done")]
    assert task.run_ha_round(runtime).outcomes == {}


def test_restart_without_room_is_retried_then_succeeds(
    runtime: Runtime, cloud: Cloud, admin: Keys, alice: Keys, zone: str, template: str,
    ha_offering: str, hosts: list[Host],
) -> None:  # fmt: skip
    failed, *others = hosts
    _set(cloud, admin, **{"restart.retry.interval": "0", "ha.max.retries": "3"})
    vm = _deploy(cloud, admin, zone, template, ha_offering, failed, "ha-2")
    for other in others:
        cloud.call(admin, "updateHost", id=other.uuid, allocationstate="Disable")
    _fail_host(runtime, cloud, admin, failed)

    first = task.run_ha_round(runtime)
    assert list(first.outcomes.values()) == ["retry"]
    assert _vm(runtime, vm["id"]).state == "Stopped"
    (alert,) = _alerts(runtime)
    assert alert.startswith("Unable to restart VM") and "try 1 of 3" in alert
    assert "no host can run it" in alert  # placement's explanation
    # Room again: the next try restarts it.
    cloud.call(admin, "updateHost", id=others[1].uuid, allocationstate="Enable")
    second = task.run_ha_round(runtime)
    assert list(second.outcomes.values()) == ["restarted"]
    running = _vm(runtime, vm["id"])
    assert running.state == "Running" and running.host_id == others[1].id
    with runtime.sessions() as session:
        (item,) = session.scalars(select(HaWork)).all()
    assert (item.step, item.tried, item.open_instance_id) == ("Done", 1, None)


def test_restart_impossible_gives_up_with_an_alert(
    runtime: Runtime, cloud: Cloud, admin: Keys, zone: str, template: str, ha_offering: str,
    hosts: list[Host],
) -> None:  # fmt: skip
    failed, *others = hosts
    _set(cloud, admin, **{"restart.retry.interval": "0", "ha.max.retries": "2"})
    vm = _deploy(cloud, admin, zone, template, ha_offering, failed, "ha-3")
    for other in others:
        cloud.call(admin, "updateHost", id=other.uuid, allocationstate="Disable")
    before = _host(runtime, failed.id).free_memory
    _fail_host(runtime, cloud, admin, failed)

    assert list(task.run_ha_round(runtime).outcomes.values()) == ["retry"]
    assert list(task.run_ha_round(runtime).outcomes.values()) == ["gave up"]
    assert task.run_ha_round(runtime).outcomes == {}  # nothing more to try
    stopped = _vm(runtime, vm["id"])
    assert stopped.state == "Stopped" and stopped.host_id is None
    assert _host(runtime, failed.id).free_memory == before + 512 * 1024**2
    alerts = _alerts(runtime)
    assert len(alerts) == 2 and "HA gave up after 2 tries" in alerts[-1]
    last = _events(runtime, vm["id"])[-1]
    assert last[:2] == ("VM.START", "ERROR") and "gave up" in last[2]
    with runtime.sessions() as session:
        (item,) = session.scalars(select(HaWork)).all()
    assert item.step == "Error" and item.open_instance_id is None


# ---- several management servers --------------------------------------------------------


def _second_server(runtime: Runtime, msid: int) -> Runtime:
    other = Runtime.for_url(runtime.engine.url, TEST_DATABASE_KEY, pm=runtime.pm)
    other.msid = msid
    return other


def test_two_servers_running_rounds_at_once_restart_a_vm_once(
    runtime: Runtime, cloud: Cloud, admin: Keys, zone: str, template: str, ha_offering: str,
    hosts: list[Host],
) -> None:  # fmt: skip
    failed = hosts[0]
    vms = [_deploy(cloud, admin, zone, template, ha_offering, failed, f"ha-c{i}") for i in range(3)]
    _fail_host(runtime, cloud, admin, failed)
    servers = [_second_server(runtime, 1001), _second_server(runtime, 1002)]
    results: list[task.RoundResult] = []
    barrier = threading.Barrier(len(servers))

    def run(server: Runtime) -> None:
        barrier.wait()
        results.append(task.run_ha_round(server))
        results.append(task.run_ha_round(server))

    threads = [threading.Thread(target=run, args=(server,)) for server in servers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for server in servers:
        server.close()

    restarted = [o for r in results for o in r.outcomes.values() if o == "restarted"]
    assert len(restarted) == 3  # one restart per VM, whoever did it
    assert sum(1 for r in results if r.fenced is not None and r.fenced.restarts) == 1
    total_reserved = 0
    for vm in vms:
        row = _vm(runtime, vm["id"])
        assert row.state == "Running" and row.host_id != failed.id
        assert len([e for e in _events(runtime, vm["id"]) if "HA: restarted" in e[2]]) == 1
        assert [s for _, s in _simulated_host_of(vm["id"], runtime) if s == "Running"] == [
            "Running"
        ]
        total_reserved += row.reserved_memory
    # Capacity claimed once per VM across the healthy hosts.
    healthy_free = sum(_host(runtime, h.id).free_memory for h in hosts[1:])
    healthy_total = sum(h.total_memory or 0 for h in hosts[1:])
    assert healthy_total - healthy_free == total_reserved


class Crash(BaseException):
    """A management server dying mid-restart (not an error any handler catches)."""


def test_a_restart_left_by_a_dead_server_is_resumed_by_another(
    runtime: Runtime, cloud: Cloud, admin: Keys, zone: str, template: str, ha_offering: str,
    hosts: list[Host], monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    failed = hosts[0]
    vm = _deploy(cloud, admin, zone, template, ha_offering, failed, "ha-4")
    _fail_host(runtime, cloud, admin, failed)
    dying, taking_over = _second_server(runtime, 2001), _second_server(runtime, 2002)

    def crash(*_args: Any) -> None:
        raise Crash

    # The first server dies once the new host is claimed, before the hypervisor call.
    with monkeypatch.context() as patch:
        patch.setattr(restart, "create_on_storage", crash)
        with pytest.raises(Crash):
            task.run_ha_round(dying)
    half = _vm(runtime, vm["id"])
    assert half.state == "Starting" and half.host_id not in (None, failed.id)
    claimed_host = half.host_id
    assert claimed_host is not None
    claimed_free = _host(runtime, claimed_host).free_memory
    # While its holder lives, nobody else takes the item.
    assert task.run_ha_round(taking_over).outcomes == {}
    # The takeover marks the dead server Down in mshost: its item is free at once.
    with runtime.sessions.begin() as session:
        session.add(
            ManagementServerHost(
                msid=2001, name="dead", state="Down", last_heartbeat=dt.datetime(2026, 1, 1)
            )
        )
    resumed = task.run_ha_round(taking_over)
    assert list(resumed.outcomes.values()) == ["restarted"]
    done = _vm(runtime, vm["id"])
    assert done.state == "Running" and done.host_id not in (None, failed.id)
    # The abandoned claim was given back before the new one: no capacity leaked.
    if done.host_id == claimed_host:
        assert _host(runtime, claimed_host).free_memory == claimed_free
    else:
        assert _host(runtime, claimed_host).free_memory == claimed_free + done.reserved_memory
    with runtime.sessions() as session:
        (item,) = session.scalars(select(HaWork)).all()
    assert item.step == "Done" and item.mgmt_server_id is None
    for server in (dying, taking_over):
        server.close()


# ---- set-based fencing -------------------------------------------------------------------


def _fence_statements(runtime: Runtime) -> int:
    """The statements of one fence pass (the transaction's own BEGIN aside)."""
    from cumulo.ha import fencing
    from cumulo.jobs.clock import db_now

    seen: list[str] = []

    def counter(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        if not statement.startswith("BEGIN"):
            seen.append(statement)

    with runtime.sessions.begin() as session:
        now = db_now(session)
        event.listen(runtime.engine, "before_cursor_execute", counter)
        try:
            fencing.fence_down_hosts(session, now)
        finally:
            event.remove(runtime.engine, "before_cursor_execute", counter)
    return len(seen)


@pytest.mark.parametrize("vm_count", [2, 6])
def test_fencing_costs_the_same_statements_for_any_number_of_vms(
    runtime: Runtime, cloud: Cloud, admin: Keys, zone: str, template: str, offering: str,
    ha_offering: str, hosts: list[Host], vm_count: int,
) -> None:  # fmt: skip
    failed = hosts[0]
    for i in range(vm_count):
        chosen = ha_offering if i % 2 else offering
        _deploy(cloud, admin, zone, template, chosen, failed, f"f-{i}")
    _fail_host(runtime, cloud, admin, failed)
    # select VMs, mark them, release the host, close other work, insert the items,
    # the account's events (owner read + insert) and the alerts: 8, whatever the count.
    assert _fence_statements(runtime) == 8
    with runtime.sessions() as session:
        assert len(session.scalars(select(HaWork)).all()) == vm_count


# ---- maintenance -------------------------------------------------------------------------


def test_maintenance_migrates_running_vms_away_then_enters_maintenance(
    runtime: Runtime, cloud: Cloud, admin: Keys, zone: str, template: str, offering: str,
    ha_offering: str, hosts: list[Host],
) -> None:  # fmt: skip
    emptied = hosts[1]
    vms = [
        _deploy(cloud, admin, zone, template, chosen, emptied, f"m-{i}")
        for i, chosen in enumerate((offering, ha_offering))
    ]
    # prepareHostForMaintenance leaves the host in PrepareForMaintenance with one
    # Migration item per running VM; the HA round moves them and finishes the job.
    cloud.ok(admin, "prepareHostForMaintenance", id=emptied.uuid)
    assert _host(runtime, emptied.id).resource_state == (
        ResourceState.PREPARE_FOR_MAINTENANCE.value
    )
    outcome = task.run_ha_round(runtime)
    assert sorted(outcome.outcomes.values()) == ["migrated", "migrated"]
    for vm in vms:
        moved = _vm(runtime, vm["id"])
        assert moved.state == "Running" and moved.host_id not in (None, emptied.id)
    host = _host(runtime, emptied.id)
    assert host.resource_state == ResourceState.MAINTENANCE.value
    assert host.free_memory == host.total_memory
