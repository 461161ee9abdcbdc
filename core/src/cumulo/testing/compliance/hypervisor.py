"""The hypervisor compliance kit: what every :class:`cumulo.sdk.HypervisorDriver` must do.

Subclass :class:`HypervisorComplianceKit` in a class named ``Test...`` and override:

- ``driver``: the driver under test;
- ``make_connection``: a callable giving the :class:`HostConnection` of host ``0`` and
  host ``1`` (two distinct hosts, for migration), each with room for a few small VMs;
- ``bad_credentials_connection`` (optional): a host reached with a wrong password;
  ``None`` skips that test;
- ``unreachable_connection`` (optional): an address where nothing answers; ``None``
  skips that test;
- ``vm_memory_bytes`` (optional): the memory of the kit's test VMs (256 MiB);
- ``busy_host_connection`` (optional): a host that already runs VMs the management
  server did not start (``addHost`` must see them, REQ-CL-04); ``None`` skips;
- ``cluster_connection`` (optional): a cluster manager (vCenter cluster, XenServer
  pool master) whose hosts :meth:`discover_cluster_hosts` lists (REQ-CL-03); ``None``
  skips, as for hypervisors whose hosts are added one by one.

Every test uses fresh VM names, so a kit run leaves nothing that breaks the next run;
VMs it starts are destroyed at the end of each test.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest

from cumulo.sdk import (
    ConsoleAccess,
    HostConnection,
    HostInfo,
    HostRef,
    HostStatus,
    HostUnreachable,
    HypervisorDriver,
    InsufficientHostCapacity,
    InvalidHostCredentials,
    SnapshotInfo,
    VmNotFound,
    VmSpec,
    VmState,
    VolumeSpec,
)

_STOPPED_OR_GONE = (VmState.STOPPED, None)


class HypervisorComplianceKit:
    """Tests every hypervisor driver passes; see the module doc for the fixtures."""

    # ---- fixtures the plugin overrides --------------------------------------------------

    @pytest.fixture
    def driver(self) -> HypervisorDriver:
        """The driver under test (override)."""
        raise NotImplementedError("override the driver fixture")

    @pytest.fixture
    def make_connection(self) -> Callable[[int], HostConnection]:
        """Host ``0`` and host ``1`` (override)."""
        raise NotImplementedError("override the make_connection fixture")

    @pytest.fixture
    def bad_credentials_connection(self) -> HostConnection | None:
        """A host reached with wrong credentials, or ``None`` to skip."""
        return None

    @pytest.fixture
    def unreachable_connection(self) -> HostConnection | None:
        """An address where no host answers, or ``None`` to skip."""
        return None

    @pytest.fixture
    def vm_memory_bytes(self) -> int:
        """Memory of the kit's test VMs."""
        return 256 * 1024**2

    @pytest.fixture
    def busy_host_connection(self) -> HostConnection | None:
        """A host already running VMs of its own, or ``None`` to skip."""
        return None

    @pytest.fixture
    def cluster_connection(self) -> HostConnection | None:
        """A cluster manager whose hosts can be discovered, or ``None`` to skip."""
        return None

    # ---- the kit's own fixtures ---------------------------------------------------------

    @pytest.fixture
    def hosts(
        self, driver: HypervisorDriver, make_connection: Callable[[int], HostConnection]
    ) -> Iterator[tuple[HostRef, HostRef]]:
        """Hosts 0 and 1, connected; disconnected afterwards."""
        refs = []
        for index in (0, 1):
            connection = make_connection(index)
            refs.append(HostRef(driver.connect(connection).guid, connection))
        yield refs[0], refs[1]
        for ref in refs:
            driver.disconnect(ref)

    @pytest.fixture
    def vm(
        self, driver: HypervisorDriver, hosts: tuple[HostRef, HostRef], vm_memory_bytes: int
    ) -> Iterator[VmSpec]:
        """A fresh VM spec (not started); destroyed on both hosts afterwards."""
        spec = VmSpec(
            name=f"i-2-{uuid.uuid4().hex[:8]}-VM",
            uuid=str(uuid.uuid4()),
            cpus=1,
            cpu_speed_mhz=500,
            memory_bytes=vm_memory_bytes,
            volumes=(
                VolumeSpec(
                    uuid=str(uuid.uuid4()),
                    path="ROOT-test",
                    size_bytes=1024**3,
                    volume_type="ROOT",
                    device_id=0,
                ),
            ),
            vnc_password="compliance",
        )
        yield spec
        for host in hosts:
            driver.destroy_vm(host, spec.name)

    @pytest.fixture
    def data_volume(self) -> VolumeSpec:
        """A data disk to attach."""
        return VolumeSpec(uuid=str(uuid.uuid4()), path="DATA-test", size_bytes=1024**3)

    # ---- hosts --------------------------------------------------------------------------

    def test_connect_discovers_sane_hardware(
        self, driver: HypervisorDriver, make_connection: Callable[[int], HostConnection]
    ) -> None:
        """connect returns positive sockets, cores >= sockets, speed, memory, a guid."""
        info = driver.connect(make_connection(0))
        assert isinstance(info, HostInfo)
        assert info.guid
        assert info.cpu_sockets >= 1
        assert info.cpus >= info.cpu_sockets
        assert info.cpu_speed_mhz > 0
        assert info.memory_bytes > 0
        assert isinstance(info.hypervisor_version, str)

    def test_connect_is_repeatable(
        self, driver: HypervisorDriver, make_connection: Callable[[int], HostConnection]
    ) -> None:
        """Connecting the same host twice gives the same guid; two hosts differ."""
        first = driver.connect(make_connection(0)).guid
        assert driver.connect(make_connection(0)).guid == first
        assert driver.connect(make_connection(1)).guid != first

    def test_bad_credentials_are_refused(
        self, driver: HypervisorDriver, bad_credentials_connection: HostConnection | None
    ) -> None:
        """Wrong credentials raise InvalidHostCredentials."""
        if bad_credentials_connection is None:
            pytest.skip("the plugin gave no bad_credentials_connection")
        with pytest.raises(InvalidHostCredentials):
            driver.connect(bad_credentials_connection)

    def test_unreachable_host_raises_host_unreachable(
        self, driver: HypervisorDriver, unreachable_connection: HostConnection | None
    ) -> None:
        """Nothing answering raises HostUnreachable, not a vendor exception."""
        if unreachable_connection is None:
            pytest.skip("the plugin gave no unreachable_connection")
        with pytest.raises(HostUnreachable):
            driver.connect(unreachable_connection)

    def test_ping_answers_up(
        self, driver: HypervisorDriver, hosts: tuple[HostRef, HostRef]
    ) -> None:
        """A connected, healthy host answers Up, alone and in a batch."""
        answer = driver.ping(hosts[0], timeout=10.0)
        assert (answer.guid, answer.status) == (hosts[0].guid, HostStatus.UP)
        batch = driver.ping_hosts(list(hosts), timeout=10.0)
        assert {guid: ping.status for guid, ping in batch.items()} == {
            hosts[0].guid: HostStatus.UP,
            hosts[1].guid: HostStatus.UP,
        }

    def test_disconnect_is_idempotent(
        self, driver: HypervisorDriver, make_connection: Callable[[int], HostConnection]
    ) -> None:
        """Disconnecting twice succeeds."""
        connection = make_connection(0)
        ref = HostRef(driver.connect(connection).guid, connection)
        driver.disconnect(ref)
        driver.disconnect(ref)

    def test_vm_states_of_a_host_not_yet_added(
        self, driver: HypervisorDriver, make_connection: Callable[[int], HostConnection]
    ) -> None:
        """addHost asks vm_states right after connect, before the host has an id: it
        answers (a dict of VmState) or raises NotImplementedError (cannot tell)."""
        connection = make_connection(0)
        ref = HostRef(driver.connect(connection).guid, connection)
        try:
            states = driver.vm_states(ref)
        except NotImplementedError:
            pytest.skip("the driver cannot list a host's VMs")
        assert all(isinstance(state, VmState) for state in states.values())

    def test_busy_host_reports_its_vms(
        self, driver: HypervisorDriver, busy_host_connection: HostConnection | None
    ) -> None:
        """A host running VMs of its own shows them (not Stopped) right after connect,
        so addHost can refuse it (REQ-CL-04)."""
        if busy_host_connection is None:
            pytest.skip("the plugin gave no busy_host_connection")
        ref = HostRef(driver.connect(busy_host_connection).guid, busy_host_connection)
        states = driver.vm_states(ref)
        assert any(state != VmState.STOPPED for state in states.values())

    def test_discover_cluster_hosts(
        self, driver: HypervisorDriver, cluster_connection: HostConnection | None
    ) -> None:
        """The hosts of a cluster manager: at least one, each one connectable, distinct
        guids, the same answer twice (REQ-CL-03)."""
        if cluster_connection is None:
            pytest.skip("the plugin gave no cluster_connection")
        members = driver.discover_cluster_hosts(cluster_connection)
        assert members
        assert all(isinstance(member, HostConnection) for member in members)
        guids = [driver.connect(member).guid for member in members]
        assert len(set(guids)) == len(guids)
        again = driver.discover_cluster_hosts(cluster_connection)
        assert [member.url for member in again] == [member.url for member in members]

    # ---- VM lifecycle -------------------------------------------------------------------

    def test_vm_lifecycle_and_state_sync(
        self, driver: HypervisorDriver, hosts: tuple[HostRef, HostRef], vm: VmSpec
    ) -> None:
        """start → Running, reboot → Running, stop → Stopped or absent, start again,
        destroy → absent; vm_states reflects every step."""
        host = hosts[0]
        assert vm.name not in driver.vm_states(host)
        driver.start_vm(host, vm)
        assert driver.vm_states(host)[vm.name] == VmState.RUNNING
        driver.reboot_vm(host, vm.name)
        assert driver.vm_states(host)[vm.name] == VmState.RUNNING
        driver.stop_vm(host, vm.name)
        assert driver.vm_states(host).get(vm.name) in _STOPPED_OR_GONE
        driver.start_vm(host, vm)
        assert driver.vm_states(host)[vm.name] == VmState.RUNNING
        driver.stop_vm(host, vm.name, force=True)
        assert driver.vm_states(host).get(vm.name) in _STOPPED_OR_GONE
        driver.destroy_vm(host, vm.name)
        assert vm.name not in driver.vm_states(host)

    def test_lifecycle_operations_are_idempotent(
        self, driver: HypervisorDriver, hosts: tuple[HostRef, HostRef], vm: VmSpec
    ) -> None:
        """Start of a running VM, stop of a stopped or missing VM, destroy of a missing
        VM all succeed."""
        host = hosts[0]
        driver.stop_vm(host, vm.name)
        driver.destroy_vm(host, vm.name)
        driver.start_vm(host, vm)
        driver.start_vm(host, vm)
        assert driver.vm_states(host)[vm.name] == VmState.RUNNING
        driver.stop_vm(host, vm.name)
        driver.stop_vm(host, vm.name)
        driver.destroy_vm(host, vm.name)
        driver.destroy_vm(host, vm.name)
        assert vm.name not in driver.vm_states(host)

    def test_missing_vm_raises_vm_not_found(
        self, driver: HypervisorDriver, hosts: tuple[HostRef, HostRef], vm: VmSpec
    ) -> None:
        """reboot, migrate and console of a VM that is not there raise VmNotFound."""
        with pytest.raises(VmNotFound):
            driver.reboot_vm(hosts[0], vm.name)
        with pytest.raises(VmNotFound):
            driver.migrate_vm(hosts[0], hosts[1], vm.name)
        with pytest.raises(VmNotFound):
            driver.console_access(hosts[0], vm.name)

    def test_vm_larger_than_host_is_refused(
        self,
        driver: HypervisorDriver,
        hosts: tuple[HostRef, HostRef],
        make_connection: Callable[[int], HostConnection],
        vm: VmSpec,
    ) -> None:
        """A VM with twice the host's memory raises InsufficientHostCapacity."""
        memory = driver.connect(make_connection(0)).memory_bytes
        huge = VmSpec(vm.name, vm.uuid, vm.cpus, vm.cpu_speed_mhz, memory * 2)
        with pytest.raises(InsufficientHostCapacity):
            driver.start_vm(hosts[0], huge)
        assert driver.vm_states(hosts[0]).get(vm.name) in _STOPPED_OR_GONE

    def test_migrate_moves_the_running_vm(
        self, driver: HypervisorDriver, hosts: tuple[HostRef, HostRef], vm: VmSpec
    ) -> None:
        """After migrate, the destination runs the VM and the source does not."""
        source, destination = hosts
        driver.start_vm(source, vm)
        driver.migrate_vm(source, destination, vm.name)
        assert driver.vm_states(destination)[vm.name] == VmState.RUNNING
        assert driver.vm_states(source).get(vm.name) != VmState.RUNNING

    # ---- volumes, snapshots, console ----------------------------------------------------

    def test_attach_and_detach_volume(
        self,
        driver: HypervisorDriver,
        hosts: tuple[HostRef, HostRef],
        vm: VmSpec,
        data_volume: VolumeSpec,
    ) -> None:
        """attach gives a device id other than the root disk's; attaching again keeps
        it; detach twice succeeds; a missing VM raises VmNotFound."""
        host = hosts[0]
        with pytest.raises(VmNotFound):
            driver.attach_volume(host, vm.name, data_volume)
        driver.start_vm(host, vm)
        device = driver.attach_volume(host, vm.name, data_volume)
        assert device >= 1
        assert driver.attach_volume(host, vm.name, data_volume) == device
        driver.detach_volume(host, vm.name, data_volume)
        driver.detach_volume(host, vm.name, data_volume)

    def test_snapshot_and_delete(
        self, driver: HypervisorDriver, hosts: tuple[HostRef, HostRef], vm: VmSpec
    ) -> None:
        """A snapshot has a path and a size; deleting it twice succeeds."""
        host = hosts[0]
        driver.start_vm(host, vm)
        snapshot = driver.snapshot_volume(host, vm.volumes[0], f"snap-{uuid.uuid4().hex[:6]}")
        assert isinstance(snapshot, SnapshotInfo)
        assert snapshot.path
        assert snapshot.size_bytes >= 0
        driver.delete_snapshot(host, snapshot)
        driver.delete_snapshot(host, snapshot)

    def test_console_access(
        self, driver: HypervisorDriver, hosts: tuple[HostRef, HostRef], vm: VmSpec
    ) -> None:
        """A running VM's console has an address and a port."""
        driver.start_vm(hosts[0], vm)
        console = driver.console_access(hosts[0], vm.name)
        assert isinstance(console, ConsoleAccess)
        assert console.address
        assert 0 < console.port < 65536
