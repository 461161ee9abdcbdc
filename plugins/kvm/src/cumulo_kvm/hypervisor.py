"""The ``KVM`` hypervisor driver: hosts and VMs over libvirt (REQ-KVM-01..05).

Domains are transient, as 4.1's KVM agent made them: ``start_vm`` creates the domain
from the VM's spec (:mod:`cumulo_kvm.domain_xml`) and it disappears from the host when
it stops, so the management server alone remembers VMs and a stopped VM is simply
absent from :meth:`KvmHypervisor.vm_states`. Domains someone else defined persistently
are listed too (state sync must see them) and are undefined by ``destroy_vm`` only.

Stopping is graceful first (ACPI power button) and forced after ``stop_timeout``
seconds; a reboot is libvirt's ACPI reboot (the guest shuts down and libvirt starts it
again in the same QEMU process). A live migration goes from libvirtd to libvirtd
(``migrate3``) with the destination's libvirt migration ports (49152-49215 by default,
REQ-KVM-04) and a free console port of the destination. A snapshot of a running VM's
disk is a point-in-time copy QEMU writes while the guest runs (``virDomainBackupBegin``,
push mode) beside the volume; of a stopped VM's disk, a copy made by libvirt. Either is
a volume named ``<pool uuid>/<volume>-snap-<name>`` that primary storage can copy to
secondary storage or make a volume from.
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

import libvirt  # type: ignore[import-untyped]

from cumulo.sdk import (
    ConsoleAccess,
    HostConnection,
    HostInfo,
    HostPing,
    HostRef,
    HostStatus,
    HypervisorDriver,
    InsufficientHostCapacity,
    OperationFailed,
    SnapshotInfo,
    VmNotFound,
    VmSpec,
    VmState,
    VolumeSpec,
)
from cumulo.sdk.hypervisor import IsoSpec
from cumulo_kvm import hostdisks, volumes
from cumulo_kvm.connections import Connections, message_of, shared
from cumulo_kvm.discovery import capabilities, discover
from cumulo_kvm.domain_xml import (
    VNC_PORT_MAX,
    VNC_PORT_MIN,
    DomainPlan,
    cdrom_element,
    device_id_of,
    disk_element,
    read_domain,
    render,
    serial_log_path,
    to_xml,
    with_vnc_port,
)
from cumulo_kvm.hosturl import HostOptions, host_options
from cumulo_kvm.networks import nic_plans
from cumulo_kvm.pool_xml import pool_facts

log = logging.getLogger(__name__)
_T = TypeVar("_T")

_STATES = {
    libvirt.VIR_DOMAIN_NOSTATE: VmState.UNKNOWN,
    libvirt.VIR_DOMAIN_RUNNING: VmState.RUNNING,
    libvirt.VIR_DOMAIN_BLOCKED: VmState.RUNNING,
    libvirt.VIR_DOMAIN_PAUSED: VmState.RUNNING,  # 4.1 reports a paused domain Running
    libvirt.VIR_DOMAIN_SHUTDOWN: VmState.STOPPING,
    libvirt.VIR_DOMAIN_SHUTOFF: VmState.STOPPED,
    libvirt.VIR_DOMAIN_CRASHED: VmState.STOPPED,
    libvirt.VIR_DOMAIN_PMSUSPENDED: VmState.RUNNING,
}
_VNC_IN_USE = re.compile(r"address already in use|failed to bind socket", re.IGNORECASE)
_NO_MEMORY = re.compile(r"cannot allocate memory|cannot set up guest memory", re.IGNORECASE)
_SNAPSHOT_NAME = re.compile(r"[^A-Za-z0-9._-]")
START_ATTEMPTS = 5
REQUEST_REPEAT = 5.0
"""Seconds between repeated requests (unplug, power button) a guest has not acted on."""
POLL = 0.25


def _missing_domain(error: libvirt.libvirtError) -> bool:
    return bool(error.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN)


def find_domain(conn: Any, name: str) -> Any | None:
    """The domain named ``name`` on the host, or ``None``."""
    try:
        return conn.lookupByName(name)
    except libvirt.libvirtError as exc:
        if _missing_domain(exc):
            return None
        raise


def _active(domain: Any) -> bool:
    try:
        return bool(domain.isActive())
    except libvirt.libvirtError as exc:
        if _missing_domain(exc):  # a transient domain that just stopped
            return False
        raise


class KvmHypervisor(HypervisorDriver):
    """KVM hosts through libvirt (module doc).

    :param connections: the process's libvirt connections (default: shared with the
        plugin's storage driver).
    :param stop_timeout: seconds a graceful stop waits for the guest before forcing it.
    :param detach_timeout: seconds a disk's hot-unplug waits for the guest to let go.
    """

    name: ClassVar[str] = "KVM"
    provides: ClassVar[tuple[str, ...]] = ("hypervisor:KVM",)

    def __init__(
        self,
        connections: Connections | None = None,
        *,
        stop_timeout: float = 120.0,
        detach_timeout: float = 30.0,
    ) -> None:
        self.connections = connections or shared()
        self.stop_timeout = stop_timeout
        self.detach_timeout = detach_timeout

    def _on(self, host: HostRef | HostConnection, operation: Callable[[Any], _T]) -> _T:
        connection = host.connection if isinstance(host, HostRef) else host
        return self.connections.call(connection, operation)

    def _domain(self, conn: Any, name: str, *, running: bool = False) -> Any:
        domain = find_domain(conn, name)
        if domain is None or (running and not _active(domain)):
            state = "running " if running else ""
            raise VmNotFound(f"no {state}VM {name} on host {conn.getHostname()}")
        return domain

    # ---- hosts ------------------------------------------------------------------------

    def connect(self, connection: HostConnection) -> HostInfo:
        """Open the host's libvirt URI (:mod:`cumulo_kvm.hosturl`) and discover it
        (:mod:`cumulo_kvm.discovery`); a host asked to run ``kvm`` domains must offer
        KVM acceleration."""
        options = host_options(connection)

        def discover_host(conn: Any) -> HostInfo:
            info = discover(conn)
            offered = capabilities(conn.getCapabilities()).domain_types
            wanted = options.domain_type
            if wanted is not None and conn.getType().upper() == "QEMU" and wanted not in offered:
                raise OperationFailed(
                    f"host {options.address} offers domain types {', '.join(offered) or 'none'},"
                    f" not {wanted}; set kvm.domain.type=qemu for software emulation"
                )
            return info

        return self.connections.call(connection, discover_host, login=True)

    def disconnect(self, host: HostRef) -> None:
        """Close this process's connection to the host; never fails."""
        with contextlib.suppress(OperationFailed):  # a URL that never parsed opened nothing
            self.connections.forget(host_options(host.connection).uri)

    def ping(self, host: HostRef, timeout: float) -> HostPing:
        """One libvirt round trip within ``timeout`` (no credentials: the connection a
        process opened is reused; ``qemu+tcp`` and local hosts need none)."""
        self.connections.ping(host.connection, timeout)
        return HostPing(host.guid, HostStatus.UP)

    def vm_states(self, host: HostRef) -> dict[str, VmState]:
        """Every domain of the host (``getAllDomainStats``: one call), by name."""

        def states(conn: Any) -> dict[str, VmState]:
            stats = conn.getAllDomainStats(libvirt.VIR_DOMAIN_STATS_STATE, 0)
            return {
                domain.name(): _STATES.get(values.get("state.state"), VmState.UNKNOWN)
                for domain, values in stats
            }

        return self._on(host, states)

    # ---- VM lifecycle -----------------------------------------------------------------

    def _domain_type(self, conn: Any, options: HostOptions) -> str:
        if conn.getType().upper() != "QEMU":
            return "test"
        if options.domain_type is not None:
            return options.domain_type
        offered = capabilities(conn.getCapabilities()).domain_types
        return "kvm" if "kvm" in offered else "qemu"

    def _plan(self, conn: Any, options: HostOptions, spec: VmSpec, vnc_port: int) -> DomainPlan:
        disks = tuple(
            hostdisks.disk_plan(
                conn, volume, index if volume.device_id is None else volume.device_id
            )
            for index, volume in enumerate(spec.volumes)
        )
        cdrom = ""
        if spec.iso is not None:
            pool = next((v.pool_uuid for v in spec.volumes if v.pool_uuid), "")
            if not pool:
                raise OperationFailed(f"VM {spec.name} has no disk on a pool to hold its ISO")
            cdrom = hostdisks.iso_path(conn, spec.iso, pool)
        return DomainPlan(
            name=spec.name,
            uuid=spec.uuid,
            domain_type=self._domain_type(conn, options),
            memory_bytes=spec.memory_bytes,
            vcpus=spec.cpus,
            cpu_shares=spec.cpus * spec.cpu_speed_mhz,
            disks=disks,
            nics=nic_plans(spec.nics, options),
            vnc_port=vnc_port,
            vnc_password=spec.vnc_password,
            cdrom=cdrom,
            boot_cdrom=spec.iso is not None and spec.iso.bootable,
            description=spec.os_type,
            serial_log=serial_log_path(spec.name),
        )

    def start_vm(self, host: HostRef, spec: VmSpec) -> None:
        """Create the domain and return once it runs (module doc); a running one is
        left alone, a paused one resumed, a persistent stopped one replaced.

        :raises InsufficientHostCapacity: more memory than the host has free, or no free
            console port.
        """
        options = host_options(host.connection)

        def start(conn: Any) -> None:
            existing = find_domain(conn, spec.name)
            if existing is not None:
                state = existing.state()[0]
                if state in (libvirt.VIR_DOMAIN_RUNNING, libvirt.VIR_DOMAIN_BLOCKED):
                    return
                if state == libvirt.VIR_DOMAIN_PAUSED:
                    existing.resume()
                    return
                if _active(existing):
                    existing.destroy()
                if existing.isPersistent():
                    existing.undefine()
            free = available_memory(conn)
            if spec.memory_bytes > free:
                raise InsufficientHostCapacity(
                    f"VM {spec.name} needs {spec.memory_bytes} bytes of memory; host"
                    f" {options.address} has {free} free"
                )
            for attempt in range(START_ATTEMPTS):
                plan = self._plan(conn, options, spec, free_vnc_port(conn, skip=attempt))
                try:
                    conn.createXML(render(plan), 0)
                    return
                except libvirt.libvirtError as exc:
                    text = message_of(exc)
                    if _NO_MEMORY.search(text):
                        raise InsufficientHostCapacity(f"{options.address}: {text}") from exc
                    if not _VNC_IN_USE.search(text) or attempt == START_ATTEMPTS - 1:
                        raise
                    log.info("console port %d of %s was taken; retrying", plan.vnc_port, spec.name)

        self._on(host, start)

    def stop_vm(self, host: HostRef, name: str, force: bool = False) -> None:
        """ACPI shutdown, then (or at once with ``force``) power off; a stopped or
        missing VM is fine."""

        def stop(conn: Any) -> None:
            domain = find_domain(conn, name)
            if domain is None or not _active(domain):
                return
            if not force:
                deadline = time.monotonic() + self.stop_timeout
                asked = 0.0
                while time.monotonic() < deadline:
                    if not _active(domain):
                        return
                    if time.monotonic() - asked > REQUEST_REPEAT:
                        # Repeated: a guest still booting misses the power button.
                        asked = time.monotonic()
                        try:
                            domain.shutdown()
                        except libvirt.libvirtError as exc:
                            if _missing_domain(exc) or not _active(domain):
                                return
                            raise
                    time.sleep(POLL)
                log.info(
                    "VM %s ignored the shutdown for %g s; powering it off", name, self.stop_timeout
                )
            _power_off(domain)

        self._on(host, stop)

    def reboot_vm(self, host: HostRef, name: str) -> None:
        """libvirt's reboot of the running VM (the guest restarts in place)."""

        def reboot(conn: Any) -> None:
            self._domain(conn, name, running=True).reboot(0)

        self._on(host, reboot)

    def destroy_vm(self, host: HostRef, name: str) -> None:
        """Power off and undefine; volumes stay. A missing VM is fine."""

        def destroy(conn: Any) -> None:
            domain = find_domain(conn, name)
            if domain is None:
                return
            if _active(domain):
                _power_off(domain)
            try:
                if domain.isPersistent():
                    domain.undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA)
            except libvirt.libvirtError as exc:
                if not _missing_domain(exc):
                    raise

        self._on(host, destroy)

    def migrate_vm(self, source: HostRef, destination: HostRef, name: str) -> None:
        """Live-migrate from libvirtd to libvirtd (module doc); the source undefines it.

        :raises InsufficientHostCapacity: the destination lacks the VM's memory.
        """
        target = host_options(destination.connection)

        def from_source(sconn: Any) -> None:
            domain = self._domain(sconn, name, running=True)
            memory = int(domain.info()[1]) * 1024
            # UNSAFE: libvirt guesses shared storage from the filesystem type and cannot
            # see that a SharedMountPoint is mounted alike on every host; cumulo only
            # migrates within a cluster, whose pools are shared by definition (local
            # pools are not migrated), and disks use cache=none.
            flags = libvirt.VIR_MIGRATE_LIVE | libvirt.VIR_MIGRATE_UNSAFE
            if domain.isPersistent():
                flags |= libvirt.VIR_MIGRATE_PERSIST_DEST | libvirt.VIR_MIGRATE_UNDEFINE_SOURCE
            secure = libvirt.VIR_DOMAIN_XML_SECURE | libvirt.VIR_DOMAIN_XML_MIGRATABLE

            def to_destination(dconn: Any) -> None:
                free = available_memory(dconn)
                if memory > free:
                    raise InsufficientHostCapacity(
                        f"VM {name} needs {memory} bytes; host {target.address} has {free} free"
                    )
                address = "127.0.0.1" if target.local else target.address
                for attempt in range(START_ATTEMPTS):
                    port = free_vnc_port(dconn, skip=attempt)
                    params = {
                        libvirt.VIR_MIGRATE_PARAM_DEST_XML: with_vnc_port(
                            domain.XMLDesc(secure), port
                        ),
                        libvirt.VIR_MIGRATE_PARAM_URI: f"tcp://{address}",
                    }
                    try:
                        domain.migrate3(dconn, params, flags)
                        return
                    except libvirt.libvirtError as exc:
                        # The port was free of domains but taken by another process:
                        # the VM still runs on the source; try the next port.
                        if not _VNC_IN_USE.search(message_of(exc)) or attempt == START_ATTEMPTS - 1:
                            raise

            self._on(destination, to_destination)

        self._on(source, from_source)

    # ---- disks and CD-ROM -------------------------------------------------------------

    def _affect(self, domain: Any) -> int:
        flags = libvirt.VIR_DOMAIN_AFFECT_LIVE if _active(domain) else 0
        if domain.isPersistent():
            flags |= libvirt.VIR_DOMAIN_AFFECT_CONFIG
        return flags

    def attach_volume(self, host: HostRef, name: str, volume: VolumeSpec) -> int:
        """Hot-plug the volume as the next free ``vd*`` disk (or its own device id)."""

        def attach(conn: Any) -> int:
            domain = self._domain(conn, name)
            if not _active(domain) and not domain.isPersistent():
                raise VmNotFound(f"VM {name} is not running on host {conn.getHostname()}")
            live = read_domain(domain.XMLDesc(0))
            plan = hostdisks.disk_plan(conn, volume, 1)
            for disk in live.disks:
                found = device_id_of(disk.target)
                if (
                    disk.device == "disk"
                    and found is not None
                    and hostdisks.matches(plan, disk.source)
                ):
                    return found
            taken = {device_id_of(d.target) for d in live.disks}
            device = volume.device_id
            if device is None or device in taken:
                device = next(i for i in range(1, 1024) if i not in taken)
            plan = hostdisks.disk_plan(conn, volume, device)
            domain.attachDeviceFlags(to_xml(disk_element(plan)), self._affect(domain))
            return device

        return self._on(host, attach)

    def detach_volume(self, host: HostRef, name: str, volume: VolumeSpec) -> None:
        """Hot-unplug the volume and wait (``detach_timeout``) for the guest to release
        it; a detached volume or a missing VM is fine.

        :raises OperationFailed: the guest kept the disk.
        """

        def detach(conn: Any) -> None:
            domain = find_domain(conn, name)
            if domain is None:
                return
            plan = hostdisks.disk_plan(conn, volume, 1)

            def attached() -> str | None:
                live = read_domain(domain.XMLDesc(0))
                return next(
                    (
                        d.xml
                        for d in live.disks
                        if d.device == "disk" and hostdisks.matches(plan, d.source)
                    ),
                    None,
                )

            xml = attached()
            if xml is None:
                return
            domain.detachDeviceFlags(xml, self._affect(domain))
            deadline = time.monotonic() + self.detach_timeout
            asked = time.monotonic()
            while (xml := attached()) is not None:
                if time.monotonic() > deadline or not _active(domain):
                    raise OperationFailed(
                        f"VM {name} did not release disk {volume.path} within"
                        f" {self.detach_timeout:g} s"
                    )
                if time.monotonic() - asked > REQUEST_REPEAT:
                    # A guest still booting misses the unplug request (no ACPI yet):
                    # ask again; one that answers releases the disk at once.
                    asked = time.monotonic()
                    try:
                        domain.detachDeviceFlags(xml, libvirt.VIR_DOMAIN_AFFECT_LIVE)
                    except libvirt.libvirtError as exc:
                        log.debug("repeated unplug of %s: %s", volume.path, message_of(exc))
                time.sleep(POLL)

        self._on(host, detach)

    def _cdrom(self, domain: Any) -> str | None:
        live = read_domain(domain.XMLDesc(0))
        return next((d.source for d in live.disks if d.device == "cdrom"), None)

    def attach_iso(self, host: HostRef, name: str, iso: IsoSpec) -> None:
        """Insert the ISO (copied to the pool of the VM's first disk) into the CD-ROM."""

        def insert(conn: Any) -> None:
            domain = self._domain(conn, name)
            live = read_domain(domain.XMLDesc(0))
            first = next((d.source for d in live.disks if d.device == "disk" and d.source), "")
            if not first:
                raise OperationFailed(f"VM {name} has no disk on a pool to hold the ISO")
            path = hostdisks.iso_path(conn, iso, hostdisks.pool_of_path(conn, first))
            if self._cdrom(domain) == path:
                return
            domain.updateDeviceFlags(to_xml(cdrom_element(path)), self._affect(domain))

        self._on(host, insert)

    def detach_iso(self, host: HostRef, name: str) -> None:
        """Eject the CD-ROM; an empty drive or a missing VM is fine."""

        def eject(conn: Any) -> None:
            domain = find_domain(conn, name)
            if domain is None or not self._cdrom(domain):
                return
            domain.updateDeviceFlags(to_xml(cdrom_element("")), self._affect(domain))

        self._on(host, eject)

    # ---- snapshots and console --------------------------------------------------------

    def snapshot_volume(
        self, host: HostRef, volume: VolumeSpec, snapshot_name: str
    ) -> SnapshotInfo:
        """A point-in-time copy of the volume beside it (module doc)."""
        if not volume.pool_uuid:
            raise OperationFailed(f"volume {volume.path} is on no storage pool; cannot snapshot it")
        snapshot = f"{volume.path}-snap-{_SNAPSHOT_NAME.sub('_', snapshot_name)}"

        def take(conn: Any) -> SnapshotInfo:
            plan = hostdisks.disk_plan(conn, volume, 0)
            pool = volumes.lookup_pool(conn, volume.pool_uuid)
            source = volumes.lookup_volume(pool, volume.path)
            user = _domain_using(conn, plan.source)
            if user is None:
                copy = volumes.clone(pool, snapshot, source)
            else:
                copy = _backup(conn, pool, user, plan.source, snapshot)
            return SnapshotInfo(f"{volume.pool_uuid}/{snapshot}", volumes.physical_size(copy))

        return self._on(host, take)

    def delete_snapshot(self, host: HostRef, snapshot: SnapshotInfo) -> None:
        """Delete the snapshot's volume; a missing one (or pool) is fine."""
        where = volumes.split_pool_path(snapshot.path)
        if where is None:
            return

        def delete(conn: Any) -> None:
            pool = volumes.lookup_pool(conn, where[0])
            if pool is not None:
                volumes.delete_volume(pool, where[1])

        self._on(host, delete)

    def console_access(self, host: HostRef, name: str) -> ConsoleAccess:
        """The running VM's VNC port on the host, with its password."""
        options = host_options(host.connection)

        def console(conn: Any) -> ConsoleAccess:
            domain = self._domain(conn, name, running=True)
            live = read_domain(domain.XMLDesc(libvirt.VIR_DOMAIN_XML_SECURE))
            if live.vnc_port is None:
                raise OperationFailed(f"VM {name} has no VNC console")
            return ConsoleAccess(options.address, live.vnc_port, live.vnc_password, "vnc")

        return self._on(host, console)


def _power_off(domain: Any) -> None:
    try:
        domain.destroy()
    except libvirt.libvirtError as exc:
        if not _missing_domain(exc) and _active(domain):
            raise


def available_memory(conn: Any) -> int:
    """Bytes of memory the host can give a new VM now: free, plus the page cache and
    buffers the kernel gives back (libvirt's node memory statistics, in KiB), never more
    than the host's memory as discovered (``nodeinfo``, what the cloud counts); a host
    that cannot tell what is free (libvirt's test driver) offers its whole memory."""
    total = int(conn.getInfo()[1]) * 1024 * 1024
    try:
        stats = conn.getMemoryStats(libvirt.VIR_NODE_MEMORY_STATS_ALL_CELLS, 0)
    except libvirt.libvirtError as exc:
        if exc.get_error_code() != libvirt.VIR_ERR_NO_SUPPORT:
            raise
        return total
    free = sum(int(stats.get(key, 0)) for key in ("free", "buffers", "cached")) * 1024
    return min(free, total)


def free_vnc_port(conn: Any, skip: int = 0) -> int:
    """A console port in 5900-6100 that no running domain of the host uses (the
    ``skip``-th free one, for a retry after a race).

    :raises InsufficientHostCapacity: all 201 are taken.
    """
    used = set()
    for domain in conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE):
        try:
            port = read_domain(domain.XMLDesc(0)).vnc_port
        except libvirt.libvirtError:
            continue  # stopped meanwhile: its port is free
        if port is not None:
            used.add(port)
    free = [p for p in range(VNC_PORT_MIN, VNC_PORT_MAX + 1) if p not in used]
    if not free:
        raise InsufficientHostCapacity(f"no free console port in {VNC_PORT_MIN}-{VNC_PORT_MAX}")
    return free[min(skip, len(free) - 1)]


def _domain_using(conn: Any, source: str) -> Any | None:
    """The running domain with a disk whose source is ``source``."""
    for domain in conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE):
        try:
            disks = read_domain(domain.XMLDesc(0)).disks
        except libvirt.libvirtError:
            continue
        if any(d.device == "disk" and d.source == source for d in disks):
            return domain
    return None


def _backup(conn: Any, pool: Any, domain: Any, source: str, name: str) -> Any:
    """Copy the running domain's disk ``source`` to volume ``name`` of ``pool`` while
    the guest runs (``virDomainBackupBegin``, push mode), waiting for the job."""
    described = pool_facts(pool.XMLDesc(0))
    if not volumes.file_based(pool):
        raise OperationFailed(
            f"a running VM's disk on a {described.pool_type} pool cannot be snapshotted live;"
            " stop the VM first"
        )
    volumes.delete_volume(pool, name)
    directory = re.search(r"<target>\s*<path>([^<]+)</path>", pool.XMLDesc(0))
    if directory is None:  # pragma: no cover - file-based pools always have a target
        raise OperationFailed("the storage pool has no target directory")
    disks = []
    for disk in read_domain(domain.XMLDesc(0)).disks:
        if disk.device != "disk":
            continue
        if disk.source == source:
            target = f"{directory.group(1).rstrip('/')}/{name}"
            disks.append(
                f"<disk name='{disk.target}' type='file'><target file='{target}'/>"
                "<driver type='qcow2'/></disk>"
            )
        else:
            disks.append(f"<disk name='{disk.target}' backup='no'/>")
    domain.backupBegin(
        f"<domainbackup mode='push'><disks>{''.join(disks)}</disks></domainbackup>", None, 0
    )
    while domain.jobInfo()[0] != libvirt.VIR_DOMAIN_JOB_NONE:
        time.sleep(POLL)
    outcome = domain.jobStats(libvirt.VIR_DOMAIN_JOB_STATS_COMPLETED)
    if outcome.get("type") != libvirt.VIR_DOMAIN_JOB_COMPLETED:
        volumes.delete_volume(pool, name)
        raise OperationFailed(
            f"the live copy of {source} failed: {outcome.get('errmsg', 'unknown')}"
        )
    pool.refresh(0)
    copy = volumes.lookup_volume(pool, name)
    if copy is None:  # pragma: no cover - QEMU wrote it into the pool's directory
        raise OperationFailed(f"the live copy of {source} is not in the pool")
    return copy
