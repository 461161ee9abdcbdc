"""The ``Simulator`` hypervisor: hosts described by their URL, VMs in a shared state file.

Every operation first asks the rules (:mod:`cumulo_simulator.rules`) what to do on this
host: wait ``wait`` ms (latency), then go on (``ok``), fail (``OperationFailed``) or not
answer (``HostUnreachable``). VMs pass through the real intermediate states (Starting,
Stopping, Migrating) for the duration of the wait, committed to the state file so
another process's state sync sees them.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from typing import ClassVar
from urllib.parse import urlsplit

from cumulo.sdk import (
    ConsoleAccess,
    HostConnection,
    HostInfo,
    HostPing,
    HostRef,
    HostStatus,
    HostUnreachable,
    HypervisorDriver,
    InsufficientHostCapacity,
    InvalidHostCredentials,
    OperationFailed,
    SnapshotInfo,
    VmNotFound,
    VmSpec,
    VmState,
    VolumeSpec,
)
from cumulo.sdk.hypervisor import IsoSpec, LocalStorage
from cumulo_simulator.hosturl import (
    HostUrlError,
    SimulatedHardware,
    cluster_member_urls,
    host_guid,
    parse_host_url,
)
from cumulo_simulator.rules import Behaviour, Scope, choose
from cumulo_simulator.state import SimulatorState

# States in which a VM holds its host's memory.
_ACTIVE = (VmState.STARTING, VmState.RUNNING, VmState.STOPPING, VmState.MIGRATING)
_FIRST_CONSOLE_PORT = 5900
_OWN_VM_MEMORY = 512 * 1024**2
"""Memory of each VM a ``vms=N`` host runs of its own."""
ISO_PREFIX = "iso:"
"""An ISO in a VM's CD-ROM drive is an ``attachments`` row whose volume is
``iso:<ISO uuid>`` (the drive is one per VM: attaching another replaces it)."""
ISO_DEVICE_ID = 3
"""The CD-ROM's device id (4.1 puts the ISO on ``hdc``, device 3)."""


def _sleep(behaviour: Behaviour) -> None:
    if behaviour.wait_ms:
        time.sleep(behaviour.wait_ms / 1000)


def _scope(host: HostRef) -> Scope:
    conn = host.connection
    return Scope(conn.zone_id, conn.pod_id, conn.cluster_id, host.host_id, host.guid)


class SimulatorHypervisor(HypervisorDriver):
    """Simulated hosts (see README.md): cheap enough for tens of thousands of them.

    :param state: the shared state; default :class:`SimulatorState` at its default path.
    """

    name: ClassVar[str] = "Simulator"
    provides: ClassVar[tuple[str, ...]] = ("hypervisor:Simulator",)

    def __init__(self, state: SimulatorState | None = None) -> None:
        self.state = state or SimulatorState()

    # ---- rules -----------------------------------------------------------------------

    def _rule(self, operation: str, scope: Scope, what: str) -> Behaviour:
        """The behaviour that applies; a host that does not answer raises after the wait
        (a timeout takes time)."""
        behaviour = self.state.behaviour(operation, scope) or Behaviour()
        if behaviour.result == "unreachable":
            _sleep(behaviour)
            raise HostUnreachable(behaviour.message or f"simulated host {what} did not answer")
        return behaviour

    def _begin(self, operation: str, scope: Scope, what: str) -> Behaviour:
        """:meth:`_rule`, then its latency, for operations with no intermediate state."""
        behaviour = self._rule(operation, scope, what)
        _sleep(behaviour)
        return behaviour

    @staticmethod
    def _fail_if(behaviour: Behaviour, operation: str, what: str) -> None:
        if behaviour.result == "fail":
            raise OperationFailed(behaviour.message or f"simulated {operation} failed on {what}")

    def _hardware(self, conn: sqlite3.Connection, host: HostRef) -> SimulatedHardware:
        row = conn.execute("SELECT url FROM hosts WHERE guid = ?", (host.guid,)).fetchone()
        try:
            return parse_host_url(row[0] if row else host.connection.url)
        except HostUrlError as exc:
            raise OperationFailed(str(exc)) from exc

    def _vm(self, conn: sqlite3.Connection, host: HostRef, name: str) -> VmState | None:
        row = conn.execute(
            "SELECT state FROM vms WHERE name = ? AND host_guid = ?", (name, host.guid)
        ).fetchone()
        return VmState(row[0]) if row else None

    def _set_state(self, name: str, state: VmState) -> None:
        with self.state.write() as conn:
            conn.execute("UPDATE vms SET state = ? WHERE name = ?", (state, name))

    def _check_capacity(
        self, conn: sqlite3.Connection, host: HostRef, name: str, cpus: int, memory: int
    ) -> None:
        hardware = self._hardware(conn, host)
        (used,) = conn.execute(
            "SELECT COALESCE(SUM(memory), 0) FROM vms WHERE host_guid = ? AND name != ?"
            f" AND state IN ({', '.join('?' * len(_ACTIVE))})",
            (host.guid, name, *_ACTIVE),
        ).fetchone()
        if used + memory > hardware.memory_bytes or cpus > hardware.cpus:
            raise InsufficientHostCapacity(
                f"simulated host {hardware.name} cannot fit {name}: {cpus} vCPU and"
                f" {memory} bytes asked, {hardware.memory_bytes - used} bytes and"
                f" {hardware.cpus} cores available"
            )

    # ---- hosts -----------------------------------------------------------------------

    def connect(self, connection: HostConnection) -> HostInfo:
        """Discover the hardware written in the URL; remember the host."""
        guid = host_guid(connection.url)
        scope = Scope(connection.zone_id, connection.pod_id, connection.cluster_id, None, guid)
        behaviour = self._begin("connect", scope, connection.url)
        self._fail_if(behaviour, "connect", connection.url)
        try:
            hardware = parse_host_url(connection.url)
        except HostUrlError as exc:
            raise OperationFailed(str(exc)) from exc
        expected = hardware.expect_password
        if expected is not None and connection.password != expected:
            raise InvalidHostCredentials(
                f"simulated host {hardware.name} refused the credentials of"
                f" {connection.username or 'the user'}"
            )
        with self.state.write() as conn:
            # The host's own VMs (vms=N) are created at its very first connection and
            # then live like any VM (a disconnect does not bring destroyed ones back):
            # destroying them is what makes the host addable.
            first = conn.execute(
                "INSERT OR IGNORE INTO seeded_hosts (host_guid) VALUES (?)", (hardware.guid,)
            ).rowcount
            if hardware.vms and first:
                conn.executemany(
                    "INSERT OR IGNORE INTO vms (name, host_guid, state, cpus, speed, memory,"
                    " vnc_password, console_port) VALUES (?, ?, ?, 1, ?, ?, '', ?)",
                    [
                        (
                            f"{hardware.name}-vm{index}",
                            hardware.guid,
                            VmState.RUNNING,
                            hardware.speed_mhz,
                            _OWN_VM_MEMORY,
                            _FIRST_CONSOLE_PORT + index,
                        )
                        for index in range(hardware.vms)
                    ],
                )
            conn.execute(
                "INSERT OR REPLACE INTO hosts (guid, url, name, sockets, cpus, speed, memory,"
                " version) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    hardware.guid,
                    connection.url,
                    hardware.name,
                    hardware.sockets,
                    hardware.cpus,
                    hardware.speed_mhz,
                    hardware.memory_bytes,
                    hardware.version,
                ),
            )
            local = self._local_storage(conn, connection.url, hardware)
        return HostInfo(
            guid=hardware.guid,
            cpu_sockets=hardware.sockets,
            cpus=hardware.cpus,
            cpu_speed_mhz=hardware.speed_mhz,
            memory_bytes=hardware.memory_bytes,
            hypervisor_version=hardware.version,
            capabilities=("hvm",),
            name=hardware.name,
            local_storage=local,
        )

    @staticmethod
    def _local_storage(
        conn: sqlite3.Connection, url: str, hardware: SimulatedHardware
    ) -> tuple[LocalStorage, ...]:
        """The host's own disk (``localstorage=`` in its URL, 1 TiB by default), kept as
        a pool of the simulated storage under the uuid the host reports, so volumes the
        core puts on the host's local pool land there (and count as its use)."""
        if hardware.local_storage_bytes <= 0:
            return ()
        uuid, path = hardware.local_storage_uuid, hardware.local_storage_path
        server = urlsplit(url.strip()).hostname or "sim"
        conn.execute(
            "INSERT INTO pools (uuid, url, total) VALUES (?, ?, ?)"
            " ON CONFLICT (uuid) DO UPDATE SET total = excluded.total",
            (uuid, f"filesystem://{server}{path}", hardware.local_storage_bytes),
        )
        (used,) = conn.execute(
            "SELECT COALESCE(SUM(physical), 0) FROM objects WHERE pool_uuid = ?", (uuid,)
        ).fetchone()
        total = hardware.local_storage_bytes
        return (
            LocalStorage(
                uuid=uuid,
                path=path,
                total_bytes=total,
                used_bytes=min(int(used), total),
                pool_type="Filesystem",
                name=f"{hardware.name} local disk",
            ),
        )

    def discover_cluster_hosts(self, connection: HostConnection) -> list[HostConnection]:
        """The members of a simulated cluster manager (``hosts=N`` in the URL, see
        :mod:`cumulo_simulator.hosturl`), reached with the manager's login; the
        ``discover`` rules apply (latency, failure, no answer)."""
        guid = host_guid(connection.url)
        scope = Scope(connection.zone_id, connection.pod_id, connection.cluster_id, None, guid)
        behaviour = self._begin("discover", scope, connection.url)
        self._fail_if(behaviour, "discover", connection.url)
        try:
            urls = cluster_member_urls(connection.url)
            hardware = parse_host_url(connection.url)
        except HostUrlError as exc:
            raise OperationFailed(str(exc)) from exc
        if hardware.expect_password is not None and connection.password != hardware.expect_password:
            raise InvalidHostCredentials(
                f"simulated cluster manager {connection.url} refused the credentials"
            )
        return [
            HostConnection(url, connection.username, connection.password, connection.details)
            for url in urls
        ]

    def disconnect(self, host: HostRef) -> None:
        """Forget the host; its VMs stay in the state file, as on a real host."""
        with self.state.write() as conn:
            conn.execute("DELETE FROM hosts WHERE guid = ?", (host.guid,))

    def ping(self, host: HostRef, timeout: float) -> HostPing:
        """Answer from the rules only: no per-host row is read."""
        behaviour = self.state.behaviour("ping", _scope(host)) or Behaviour()
        wait = behaviour.wait_ms / 1000
        if wait:
            time.sleep(min(wait, timeout))
        if behaviour.result == "unreachable" or wait > timeout:
            raise HostUnreachable(
                behaviour.message or f"simulated host {host.guid} did not answer in {timeout}s"
            )
        return self._answer(host.guid, behaviour)

    def ping_hosts(self, hosts: Sequence[HostRef], timeout: float) -> dict[str, HostPing]:
        """One read of the ping rules for the whole batch; no sleeping per host."""
        rules = self.state.rules(("ping",))
        answers: dict[str, HostPing] = {}
        for host in hosts:
            rule = choose(rules, "ping", _scope(host)) if rules else None
            if rule is None:
                answers[host.guid] = HostPing(host.guid, HostStatus.UP)
                continue
            behaviour = rule.behaviour
            if behaviour.count is not None:
                behaviour = self.state.behaviour("ping", _scope(host)) or Behaviour()
            if behaviour.result == "unreachable" or behaviour.wait_ms / 1000 > timeout:
                message = behaviour.message or "did not answer"
                answers[host.guid] = HostPing(host.guid, HostStatus.UNREACHABLE, message)
            else:
                answers[host.guid] = self._answer(host.guid, behaviour)
        return answers

    @staticmethod
    def _answer(guid: str, behaviour: Behaviour) -> HostPing:
        if behaviour.result == "fail":
            return HostPing(guid, HostStatus.DEGRADED, behaviour.message or "simulated fault")
        return HostPing(guid, HostStatus.UP)

    def vm_states(self, host: HostRef) -> dict[str, VmState]:
        """Every VM recorded on the host."""
        self._fail_if(self._begin("vm_states", _scope(host), host.guid), "vm_states", host.guid)
        rows = self.state.read().execute(
            "SELECT name, state FROM vms WHERE host_guid = ?", (host.guid,)
        )
        return {name: VmState(state) for name, state in rows}

    # ---- VMs -------------------------------------------------------------------------

    def start_vm(self, host: HostRef, spec: VmSpec) -> None:
        """Starting for the rule's wait, then Running (or back to Stopped on a fault)."""
        behaviour = self._rule("start", _scope(host), host.guid)
        with self.state.write() as conn:
            row = conn.execute(
                "SELECT host_guid, state FROM vms WHERE name = ?", (spec.name,)
            ).fetchone()
            if row is not None and row[0] == host.guid and row[1] == VmState.RUNNING:
                return
            if row is not None and row[0] != host.guid and row[1] in _ACTIVE:
                raise OperationFailed(f"VM {spec.name} is {row[1]} on another host")
            self._check_capacity(conn, host, spec.name, spec.cpus, spec.memory_bytes)
            (port,) = conn.execute(
                "SELECT COALESCE(MAX(console_port) + 1, ?) FROM vms WHERE host_guid = ?",
                (_FIRST_CONSOLE_PORT, host.guid),
            ).fetchone()
            conn.execute(
                "INSERT OR REPLACE INTO vms (name, host_guid, state, cpus, speed, memory,"
                " vnc_password, console_port) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    spec.name,
                    host.guid,
                    VmState.STARTING,
                    spec.cpus,
                    spec.cpu_speed_mhz,
                    spec.memory_bytes,
                    spec.vnc_password,
                    port,
                ),
            )
            if spec.iso is not None:
                _insert_iso(conn, spec.name, spec.iso)
        _sleep(behaviour)
        if behaviour.result == "fail":
            self._set_state(spec.name, VmState.STOPPED)
            self._fail_if(behaviour, "start", spec.name)
        self._set_state(spec.name, VmState.RUNNING)

    def stop_vm(self, host: HostRef, name: str, force: bool = False) -> None:
        """Stopping, then Stopped; a stopped or missing VM is left as it is."""
        behaviour = self._rule("stop", _scope(host), host.guid)
        state = self._vm(self.state.read(), host, name)
        if state is None or state == VmState.STOPPED:
            return
        self._set_state(name, VmState.STOPPING)
        _sleep(behaviour)
        if behaviour.result == "fail" and not force:
            self._set_state(name, VmState.RUNNING)
            self._fail_if(behaviour, "stop", name)
        self._set_state(name, VmState.STOPPED)

    def reboot_vm(self, host: HostRef, name: str) -> None:
        """Rebooting keeps the VM Running; it must be running on the host."""
        behaviour = self._begin("reboot", _scope(host), host.guid)
        state = self._vm(self.state.read(), host, name)
        if state is None:
            raise VmNotFound(f"VM {name} is not on simulated host {host.guid}")
        if state != VmState.RUNNING:
            raise OperationFailed(f"VM {name} is {state}, not Running: cannot reboot")
        self._fail_if(behaviour, "reboot", name)

    def destroy_vm(self, host: HostRef, name: str) -> None:
        """Remove the VM and its attachments; a missing VM is fine."""
        behaviour = self._begin("destroy", _scope(host), host.guid)
        self._fail_if(behaviour, "destroy", name)
        with self.state.write() as conn:
            gone = conn.execute(
                "DELETE FROM vms WHERE name = ? AND host_guid = ?", (name, host.guid)
            ).rowcount
            if gone:
                conn.execute("DELETE FROM attachments WHERE vm_name = ?", (name,))

    def migrate_vm(self, source: HostRef, destination: HostRef, name: str) -> None:
        """Migrating for the rule's wait, then Running on the destination."""
        behaviour = self._rule("migrate", _scope(source), source.guid)
        # The destination must answer too: a migration to a dead host never starts.
        self._rule("ping", _scope(destination), destination.guid)
        with self.state.write() as conn:
            if self._vm(conn, source, name) != VmState.RUNNING:
                raise VmNotFound(f"VM {name} is not running on simulated host {source.guid}")
            cpus, memory = conn.execute(
                "SELECT cpus, memory FROM vms WHERE name = ?", (name,)
            ).fetchone()
            self._check_capacity(conn, destination, name, cpus, memory)
            conn.execute("UPDATE vms SET state = ? WHERE name = ?", (VmState.MIGRATING, name))
        _sleep(behaviour)
        if behaviour.result == "fail":
            self._set_state(name, VmState.RUNNING)
            self._fail_if(behaviour, "migrate", name)
        with self.state.write() as conn:
            conn.execute(
                "UPDATE vms SET state = ?, host_guid = ? WHERE name = ?",
                (VmState.RUNNING, destination.guid, name),
            )

    # ---- volumes, snapshots, console ---------------------------------------------------

    def attach_volume(self, host: HostRef, name: str, volume: VolumeSpec) -> int:
        """Record the attachment; the same volume again keeps its device id."""
        self._fail_if(self._begin("attach_volume", _scope(host), host.guid), "attach", name)
        with self.state.write() as conn:
            if self._vm(conn, host, name) is None:
                raise VmNotFound(f"VM {name} is not on simulated host {host.guid}")
            row = conn.execute(
                "SELECT device_id FROM attachments WHERE vm_name = ? AND volume_uuid = ?",
                (name, volume.uuid),
            ).fetchone()
            if row is not None:
                return int(row[0])
            device_id = volume.device_id
            if device_id is None:
                (device_id,) = conn.execute(
                    "SELECT COALESCE(MAX(device_id) + 1, 1) FROM attachments WHERE vm_name = ?",
                    (name,),
                ).fetchone()
            conn.execute(
                "INSERT INTO attachments (vm_name, volume_uuid, device_id) VALUES (?, ?, ?)",
                (name, volume.uuid, device_id),
            )
            return int(device_id)

    def detach_volume(self, host: HostRef, name: str, volume: VolumeSpec) -> None:
        """Forget the attachment, if any."""
        self._fail_if(self._begin("detach_volume", _scope(host), host.guid), "detach", name)
        with self.state.write() as conn:
            conn.execute(
                "DELETE FROM attachments WHERE vm_name = ? AND volume_uuid = ?",
                (name, volume.uuid),
            )

    def attach_iso(self, host: HostRef, name: str, iso: IsoSpec) -> None:
        """Put the ISO in the VM's drive (replacing another); the VM must be here."""
        self._fail_if(self._begin("attach_iso", _scope(host), host.guid), "attach ISO", name)
        with self.state.write() as conn:
            if self._vm(conn, host, name) is None:
                raise VmNotFound(f"VM {name} is not on simulated host {host.guid}")
            _insert_iso(conn, name, iso)

    def detach_iso(self, host: HostRef, name: str) -> None:
        """Empty the VM's drive; an empty drive or a missing VM is fine."""
        self._fail_if(self._begin("detach_iso", _scope(host), host.guid), "detach ISO", name)
        with self.state.write() as conn:
            conn.execute(
                "DELETE FROM attachments WHERE vm_name = ? AND volume_uuid LIKE ?",
                (name, f"{ISO_PREFIX}%"),
            )

    def attached_iso(self, name: str) -> str | None:
        """The uuid of the ISO in VM ``name``'s drive, or ``None`` (for tests and the
        simulator's own inspection)."""
        row = (
            self.state.read()
            .execute(
                "SELECT volume_uuid FROM attachments WHERE vm_name = ? AND volume_uuid LIKE ?",
                (name, f"{ISO_PREFIX}%"),
            )
            .fetchone()
        )
        return str(row[0])[len(ISO_PREFIX) :] if row is not None else None

    def snapshot_volume(
        self, host: HostRef, volume: VolumeSpec, snapshot_name: str
    ) -> SnapshotInfo:
        """A snapshot entry the size of the volume."""
        behaviour = self._begin("snapshot", _scope(host), host.guid)
        self._fail_if(behaviour, "snapshot", volume.uuid)
        path = f"snapshots/{volume.uuid}/{snapshot_name}"
        with self.state.write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO snapshots (path, volume_uuid, size) VALUES (?, ?, ?)",
                (path, volume.uuid, volume.size_bytes),
            )
        return SnapshotInfo(path, volume.size_bytes)

    def delete_snapshot(self, host: HostRef, snapshot: SnapshotInfo) -> None:
        """Forget the snapshot entry, if any."""
        behaviour = self._begin("delete_snapshot", _scope(host), host.guid)
        self._fail_if(behaviour, "delete_snapshot", snapshot.path)
        with self.state.write() as conn:
            conn.execute("DELETE FROM snapshots WHERE path = ?", (snapshot.path,))

    def console_access(self, host: HostRef, name: str) -> ConsoleAccess:
        """The host's address (from its URL) and the VM's VNC port."""
        self._fail_if(self._begin("console", _scope(host), host.guid), "console", name)
        row = (
            self.state.read()
            .execute(
                "SELECT console_port, vnc_password FROM vms WHERE name = ? AND host_guid = ?",
                (name, host.guid),
            )
            .fetchone()
        )
        if row is None:
            raise VmNotFound(f"VM {name} is not on simulated host {host.guid}")
        address = urlsplit(host.connection.url).hostname or "127.0.0.1"
        return ConsoleAccess(address=address, port=int(row[0]), password=row[1])

    def system_vm_access_uri(self, host: HostRef, name: str, control_ip: str) -> str:
        """A simulated host runs no VM to reach over SSH: a router's configuration is
        written to ``<state directory>/routers/<name>`` instead (``file://`` URI), where
        tests and operators read it."""
        return (self.state.path.parent.absolute() / "routers" / name).as_uri()


def _insert_iso(conn: sqlite3.Connection, name: str, iso: IsoSpec) -> None:
    """Record ``iso`` as the only ISO in VM ``name``'s drive."""
    conn.execute(
        "DELETE FROM attachments WHERE vm_name = ? AND volume_uuid LIKE ?",
        (name, f"{ISO_PREFIX}%"),
    )
    conn.execute(
        "INSERT INTO attachments (vm_name, volume_uuid, device_id) VALUES (?, ?, ?)",
        (name, f"{ISO_PREFIX}{iso.uuid}", ISO_DEVICE_ID),
    )
