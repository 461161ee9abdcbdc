"""The KVM driver against libvirt's own ``test:///default`` driver: the libvirt calls and
their error mapping without a daemon (every machine with libvirt-python runs these).

The test driver keeps one in-memory host per process (a host with a ``test`` domain
running), so each test uses VM names of its own.
"""

from __future__ import annotations

import threading
import uuid

import pytest

pytest.importorskip("libvirt", reason="libvirt-python is not installed")
pytest.importorskip("cumulo_kvm", reason="the KVM plugin is not installed")

from cumulo_kvm.connections import Connections
from cumulo_kvm.hypervisor import KvmHypervisor

from cumulo.sdk import (
    HostConnection,
    HostRef,
    HostStatus,
    HostUnreachable,
    InsufficientHostCapacity,
    NicSpec,
    OperationFailed,
    VmNotFound,
    VmSpec,
    VmState,
    VolumeSpec,
)

TEST_HOST = HostConnection("test:///default", "root", "password")


@pytest.fixture
def driver() -> KvmHypervisor:
    return KvmHypervisor(Connections(), stop_timeout=2.0)


@pytest.fixture
def host(driver: KvmHypervisor) -> HostRef:
    return HostRef(driver.connect(TEST_HOST).guid, TEST_HOST)


def _vm(memory: int = 256 * 1024**2) -> VmSpec:
    return VmSpec(
        name=f"i-2-{uuid.uuid4().hex[:6]}-VM",
        uuid=str(uuid.uuid4()),
        cpus=1,
        cpu_speed_mhz=1000,
        memory_bytes=memory,
        volumes=(VolumeSpec(str(uuid.uuid4()), "/images/root.qcow2", 1024**3, device_id=0),),
        nics=(NicSpec("06:00:00:00:aa:01", broadcast_uri="vlan://untagged", is_default=True),),
        vnc_password="console-password",
    )


def test_connect_discovers_the_host_and_is_repeatable(driver: KvmHypervisor) -> None:
    info = driver.connect(TEST_HOST)
    assert info.guid.endswith("-LibvirtComputingResource")
    assert driver.connect(TEST_HOST).guid == info.guid
    # 2 NUMA nodes of 2 sockets, 16 logical CPUs in all.
    assert (info.cpu_sockets, info.cpus, info.cpu_speed_mhz) == (4, 16, 1400)
    assert info.memory_bytes == 3 * 1024**3 and info.hypervisor_version.startswith("test ")


def test_ping_answers_up_and_state_sync_lists_every_domain(
    driver: KvmHypervisor, host: HostRef
) -> None:
    assert driver.ping(host, timeout=5.0).status is HostStatus.UP
    states = driver.vm_states(host)
    # The test host's own domain, which cumulo never started, is listed too (REQ-CL-04).
    assert states["test"] is VmState.RUNNING


def test_lifecycle_on_the_test_driver(driver: KvmHypervisor, host: HostRef) -> None:
    spec = _vm()
    driver.stop_vm(host, spec.name)  # stopping or destroying a missing VM is fine
    driver.destroy_vm(host, spec.name)
    driver.start_vm(host, spec)
    driver.start_vm(host, spec)  # already running: nothing changes
    assert driver.vm_states(host)[spec.name] is VmState.RUNNING
    driver.reboot_vm(host, spec.name)
    console = driver.console_access(host, spec.name)
    assert 5900 <= console.port <= 6100 and console.password == "console-"
    driver.stop_vm(host, spec.name, force=True)
    assert spec.name not in driver.vm_states(host)  # transient: gone once stopped
    driver.destroy_vm(host, spec.name)
    driver.destroy_vm(host, spec.name)


def test_each_running_vm_gets_its_own_console_port(driver: KvmHypervisor, host: HostRef) -> None:
    first, second = _vm(), _vm()
    driver.start_vm(host, first)
    driver.start_vm(host, second)
    try:
        ports = {driver.console_access(host, vm.name).port for vm in (first, second)}
        assert len(ports) == 2
    finally:
        for vm in (first, second):
            driver.destroy_vm(host, vm.name)


def test_missing_vms_raise_vm_not_found(driver: KvmHypervisor, host: HostRef) -> None:
    for operation in (
        lambda: driver.reboot_vm(host, "i-9-9-VM"),
        lambda: driver.console_access(host, "i-9-9-VM"),
        lambda: driver.attach_volume(host, "i-9-9-VM", VolumeSpec("u", "/x", 1)),
    ):
        with pytest.raises(VmNotFound):
            operation()
    driver.detach_volume(host, "i-9-9-VM", VolumeSpec("u", "/x", 1))  # fine
    driver.detach_iso(host, "i-9-9-VM")


def test_more_memory_than_the_host_has_free_is_insufficient_capacity(
    driver: KvmHypervisor, host: HostRef
) -> None:
    spec = _vm(memory=64 * 1024**3)
    with pytest.raises(InsufficientHostCapacity, match="memory"):
        driver.start_vm(host, spec)
    assert spec.name not in driver.vm_states(host)


def test_a_host_that_does_not_answer_is_unreachable(driver: KvmHypervisor) -> None:
    silent = HostConnection("qemu+tcp://127.0.0.1:1/system", "root", "password")
    with pytest.raises(HostUnreachable, match=r"127\.0\.0\.1"):
        driver.connect(silent)
    with pytest.raises(HostUnreachable):
        driver.ping(HostRef("guid", silent), timeout=5.0)
    driver.disconnect(HostRef("guid", silent))  # never fails


def test_a_ping_that_hangs_answers_unreachable_within_its_timeout() -> None:
    """A host that accepts the connection and then says nothing (a hung libvirtd)."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    accepted: list[socket.socket] = []
    threading.Thread(target=lambda: accepted.append(listener.accept()[0]), daemon=True).start()
    port = listener.getsockname()[1]
    driver = KvmHypervisor(Connections())
    hung = HostRef("guid", HostConnection(f"qemu+tcp://127.0.0.1:{port}/system"))
    try:
        with pytest.raises(HostUnreachable, match=r"no answer within 0\.5 s"):
            driver.ping(hung, timeout=0.5)
        # The first ping is still stuck: the next one does not pile up another thread.
        with pytest.raises(HostUnreachable, match="earlier ping"):
            driver.ping(hung, timeout=0.5)
    finally:
        for conn in accepted:
            conn.close()
        listener.close()


def test_a_bad_url_is_an_operation_failure_naming_it(driver: KvmHypervisor) -> None:
    with pytest.raises(OperationFailed, match=r"libvirt\.transport"):
        driver.connect(HostConnection("http://10.1.1.5?libvirt.transport=pigeon"))
