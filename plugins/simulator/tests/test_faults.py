"""Latency and faults: rules, host URLs, and injection across processes."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from cumulo_simulator.hosturl import HostUrlError, parse_host_url
from cumulo_simulator.hypervisor import SimulatorHypervisor
from cumulo_simulator.rules import Behaviour, RuleError, Scope, operation_name, parse_behaviour
from cumulo_simulator.state import SimulatorState

from cumulo.sdk import (
    HostConnection,
    HostRef,
    HostStatus,
    HostUnreachable,
    InsufficientHostCapacity,
    OperationFailed,
    VmSpec,
    VmState,
)


def _host(
    driver: SimulatorHypervisor, name: str, host_id: int, cluster_id: int | None = None
) -> HostRef:
    connection = HostConnection(
        f"http://sim/{name}?memory=2GiB", "root", "x", cluster_id=cluster_id
    )
    return HostRef(driver.connect(connection).guid, connection, host_id=host_id)


def _vm(name: str, memory: int = 512 * 1024**2) -> VmSpec:
    return VmSpec(name=name, uuid=name, cpus=1, cpu_speed_mhz=500, memory_bytes=memory)


def test_host_url_gives_the_hardware() -> None:
    hardware = parse_host_url("http://sim/rack1/h7?cpus=8&sockets=2&speed=2600&memory=32GiB")
    assert (hardware.name, hardware.sockets, hardware.cpus) == ("h7", 2, 8)
    assert (hardware.speed_mhz, hardware.memory_bytes) == (2600, 32 * 1024**3)
    assert parse_host_url("http://sim/a?memory=512M").memory_bytes == 512 * 1024**2


def test_seeded_hosts_are_repeatable_and_explicit_options_win() -> None:
    first = parse_host_url("http://sim/a?seed=42")
    assert parse_host_url("http://sim/b?seed=42").memory_bytes == first.memory_bytes
    assert parse_host_url("http://sim/a?seed=42&cpus=64").cpus == 64


@pytest.mark.parametrize(
    "url", ["http://sim/a?cpus=0", "http://sim/a?memory=lots", "http://sim/a?sockets=4&cpus=2"]
)
def test_bad_host_url_options_are_refused(url: str) -> None:
    with pytest.raises(HostUrlError):
        parse_host_url(url)


def test_rule_text_parses_like_cloudstack() -> None:
    assert parse_behaviour("result:fail;wait:200;message:boom;count:2") == Behaviour(
        "fail", 200, "boom", 2
    )
    assert parse_behaviour("wait:50") == Behaviour("ok", 50)
    assert parse_behaviour("result:timeout") == Behaviour("unreachable")
    assert parse_behaviour("clear") is None
    assert operation_name("PingCommand") == "ping"
    assert operation_name("StartCommand") == "start"
    for bad in ("result:maybe", "wait:soon", "colour:blue", "nonsense", "count:0"):
        with pytest.raises(RuleError) as failure:
            parse_behaviour(bad)
        assert failure.value.param == "value"
    with pytest.raises(RuleError) as failure:
        operation_name("FlyCommand")
    assert failure.value.param == "name"


def test_narrowest_scope_wins(state: SimulatorState) -> None:
    driver = SimulatorHypervisor(state)
    in_cluster = _host(driver, "h1", 1, cluster_id=3)
    other = _host(driver, "h2", 2, cluster_id=3)
    state.add_rule("ping", Scope(cluster_id=3), Behaviour("unreachable"))
    state.add_rule("ping", Scope(host_id=2), Behaviour("ok"))
    with pytest.raises(HostUnreachable):
        driver.ping(in_cluster, timeout=1)
    assert driver.ping(other, timeout=1).status == HostStatus.UP
    state.clear_rules("ping", Scope(cluster_id=3))
    assert driver.ping(in_cluster, timeout=1).status == HostStatus.UP


def test_counted_rule_applies_that_many_times(state: SimulatorState) -> None:
    driver = SimulatorHypervisor(state)
    host = _host(driver, "h1", 1)
    state.add_rule("start", Scope(), Behaviour("fail", message="flaky", count=1))
    with pytest.raises(OperationFailed, match="flaky"):
        driver.start_vm(host, _vm("i-1"))
    assert driver.vm_states(host)["i-1"] == VmState.STOPPED
    driver.start_vm(host, _vm("i-1"))
    assert driver.vm_states(host)["i-1"] == VmState.RUNNING
    assert state.rules() == []


def test_ping_batch_and_timeout(state: SimulatorState) -> None:
    driver = SimulatorHypervisor(state)
    hosts = [_host(driver, f"h{i}", i) for i in range(1, 4)]
    state.add_rule("ping", Scope(host_id=2), Behaviour("unreachable"))
    state.add_rule("ping", Scope(host_id=3), Behaviour("ok", wait_ms=5000))
    answers = driver.ping_hosts(hosts, timeout=0.05)
    assert [answers[h.guid].status for h in hosts] == [
        HostStatus.UP,
        HostStatus.UNREACHABLE,
        HostStatus.UNREACHABLE,
    ]
    started = time.monotonic()
    with pytest.raises(HostUnreachable):
        driver.ping(hosts[2], timeout=0.05)
    assert time.monotonic() - started < 1.0, "a ping never blocks past its timeout"


def test_ten_thousand_hosts_ping_in_one_batch(state: SimulatorState) -> None:
    """Pings are answered from the rules alone: no row, no thread per host."""
    driver = SimulatorHypervisor(state)
    refs = [HostRef(f"sim-{i}", HostConnection(f"http://sim/h{i}"), i) for i in range(10_000)]
    state.add_rule("ping", Scope(host_id=77), Behaviour("unreachable"))
    started = time.monotonic()
    answers = driver.ping_hosts(refs, timeout=1)
    assert time.monotonic() - started < 2.0
    down = [guid for guid, ping in answers.items() if ping.status != HostStatus.UP]
    assert down == ["sim-77"]


def test_memory_is_accounted_per_host(state: SimulatorState) -> None:
    driver = SimulatorHypervisor(state)
    host = _host(driver, "small", 1)  # 2 GiB
    driver.start_vm(host, _vm("i-a", 1024**3))
    driver.start_vm(host, _vm("i-b", 1024**3))
    with pytest.raises(InsufficientHostCapacity):
        driver.start_vm(host, _vm("i-c", 1024**3))
    driver.stop_vm(host, "i-a")
    driver.start_vm(host, _vm("i-c", 1024**3))


def test_intermediate_states_are_visible_while_an_operation_waits(state: SimulatorState) -> None:
    driver = SimulatorHypervisor(state)
    host = _host(driver, "h1", 1)
    state.add_rule("start", Scope(), Behaviour("ok", wait_ms=400))
    starter = threading.Thread(target=driver.start_vm, args=(host, _vm("i-slow")))
    starter.start()
    time.sleep(0.15)
    assert driver.vm_states(host)["i-slow"] == VmState.STARTING
    starter.join()
    assert driver.vm_states(host)["i-slow"] == VmState.RUNNING


_OTHER_PROCESS = """
import sys
from cumulo_simulator.rules import Behaviour, Scope
from cumulo_simulator.state import SimulatorState
state = SimulatorState(sys.argv[1])
if sys.argv[2] == "down":
    state.add_rule("ping", Scope(host_id=int(sys.argv[3])), Behaviour("unreachable"))
else:
    state.clear_rules("ping", Scope(host_id=int(sys.argv[3])))
"""


def _other_process(path: Path, action: str, host_id: int) -> None:
    subprocess.run(
        [sys.executable, "-c", _OTHER_PROCESS, str(path), action, str(host_id)],
        check=True,
        timeout=60,
    )


def test_fault_injected_by_another_process(state: SimulatorState, state_path: Path) -> None:
    """A fault set in one process (the API server) is seen by another (the job worker)."""
    driver = SimulatorHypervisor(state)
    host = _host(driver, "h1", 41)
    assert driver.ping(host, timeout=1).status == HostStatus.UP
    _other_process(state_path, "down", 41)
    with pytest.raises(HostUnreachable):
        driver.ping(host, timeout=1)
    _other_process(state_path, "up", 41)
    assert driver.ping(host, timeout=1).status == HostStatus.UP


def test_vm_started_in_another_process_is_seen_by_state_sync(
    state: SimulatorState, state_path: Path
) -> None:
    driver = SimulatorHypervisor(state)
    host = _host(driver, "h1", 1)
    script = (
        "import sys\n"
        "from cumulo.sdk import HostConnection, HostRef, VmSpec\n"
        "from cumulo_simulator.hypervisor import SimulatorHypervisor\n"
        "from cumulo_simulator.state import SimulatorState\n"
        "driver = SimulatorHypervisor(SimulatorState(sys.argv[1]))\n"
        f"host = HostRef({host.guid!r}, HostConnection({host.connection.url!r}))\n"
        "driver.start_vm(host, VmSpec('i-remote', 'u', 1, 500, 256 * 1024**2))\n"
    )
    subprocess.run([sys.executable, "-c", script, str(state_path)], check=True, timeout=60)
    assert driver.vm_states(host) == {"i-remote": VmState.RUNNING}
