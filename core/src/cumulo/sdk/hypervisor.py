"""The hypervisor contract: what the management server asks of a KVM, XenServer, VMware
or simulated host, and the value objects exchanged.

One :class:`HypervisorDriver` subclass per hypervisor type, registered under the
entry-point group ``cumulo.hypervisors`` with the type's name (``KVM``, ``XenServer``,
``VMware``, ``Simulator``). The core instantiates it once per process, with no
arguments, and calls it from many threads and from several processes (API server, job
worker) at once: a driver keeps no per-host state in memory that another process would
need, and opens vendor connections lazily (libvirt over SSH/TLS, a XenAPI session to the
pool master, a pyVmomi ``ServiceInstance`` to vCenter).

Blocking: every method except :meth:`HypervisorDriver.ping` may block for as long as the
hypervisor needs (a VMware clone or a XenServer VM start can take minutes); callers run
them in job workers, never in an API request. ``ping`` must answer within its
``timeout`` because heartbeats of thousands of hosts depend on it.

Idempotence (a retried job must not fail because the first try half-succeeded): starting
a running VM, stopping a stopped or missing VM, destroying a missing VM, detaching a
detached volume, deleting a missing snapshot and disconnecting a disconnected host all
succeed and change nothing.

Errors: every failure is a :class:`HypervisorError`. :class:`HostUnreachable` means the
host did not answer at all (network, agent down, timeout): the management server counts
it against the host and moves it to Alert, then Down, through its ping logic; it says
nothing about the VM. :class:`OperationFailed` means the host answered and refused or
failed; the host is healthy and the operation may be retried elsewhere. Its subclasses
narrow the reason. Value objects are frozen dataclasses: never ORM rows.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from cumulo.sdk.driver import Driver

# ---- errors --------------------------------------------------------------------------


class HypervisorError(Exception):
    """Base of every error a hypervisor driver raises; ``str()`` is one line for an
    operator (it ends up in events and job results)."""


class HostUnreachable(HypervisorError):
    """The host did not answer (connection refused, timeout, agent not running).

    KVM: the libvirt connection or SSH fails; XenServer: the XenAPI call to the pool
    master times out; VMware: vCenter reports the ESXi host ``notResponding`` or vCenter
    itself does not answer. The management server marks the host Alert/Down via pings;
    it does not mean the operation failed on the host, only that nobody knows.
    """


class OperationFailed(HypervisorError):
    """The host answered and the operation failed (bad spec, vendor error, missing image).

    The host itself is fine; the caller may retry on another host.
    """


class InvalidHostCredentials(OperationFailed):
    """``connect`` was refused: wrong user name or password (or certificate)."""


class InsufficientHostCapacity(OperationFailed):
    """The host cannot fit the VM now (memory, CPU, or a vendor admission-control refusal:
    VMware HA admission control, XenServer ``HOST_NOT_ENOUGH_FREE_MEMORY``)."""


class VmNotFound(OperationFailed):
    """The VM named does not exist on the host, for operations that need it (reboot,
    migrate, attach, console); stop and destroy succeed instead."""


# ---- value objects -------------------------------------------------------------------


class VmState(enum.StrEnum):
    """A VM's power state as the host reports it (4.1's ``VirtualMachine.State`` names
    used by state sync). A VM absent from :meth:`HypervisorDriver.vm_states` is not on
    the host (KVM undefines stopped domains; XenServer and VMware keep them Stopped)."""

    STARTING = "Starting"
    RUNNING = "Running"
    STOPPING = "Stopping"
    STOPPED = "Stopped"
    MIGRATING = "Migrating"
    ERROR = "Error"
    UNKNOWN = "Unknown"


class HostStatus(enum.StrEnum):
    """What a ping learned: ``Up`` (answered, healthy), ``Degraded`` (answered but
    reports a problem, e.g. a storage heartbeat failing), ``Unreachable`` (no answer;
    only in batch answers — a single :meth:`~HypervisorDriver.ping` raises)."""

    UP = "Up"
    DEGRADED = "Degraded"
    UNREACHABLE = "Unreachable"


@dataclass(frozen=True)
class HostConnection:
    """How to reach a host, as ``addHost`` gave it.

    :param url: the host URL (``http://10.1.1.5``, ``https://vcenter/dc/cluster/host``).
    :param username: the account on the host (``root``; vCenter user for VMware).
    :param password: its password; drivers never log it.
    :param details: driver-specific extras (e.g. ``vmware.datacenter``).
    :param zone_id: the management server's id of the host's zone, when known: for
        logging and for simulators that scope behaviour; real drivers may ignore it.
    :param pod_id: likewise, the pod.
    :param cluster_id: likewise, the cluster.
    """

    url: str
    username: str = ""
    password: str = field(default="", repr=False)
    details: Mapping[str, str] = field(default_factory=dict)
    zone_id: int | None = None
    pod_id: int | None = None
    cluster_id: int | None = None


@dataclass(frozen=True)
class LocalStorage:
    """Disk space of the host itself that can hold VM volumes (host-local primary
    storage, REQ-PS-06); 4.1's ``StoragePoolInfo`` of a local pool.

    The management server turns each into a primary storage pool of scope ``HOST``,
    named ``<host name> Local Storage``, and finds it again on every later
    :meth:`HypervisorDriver.connect` by :attr:`uuid`: the pool's id *is* that uuid, so a
    storage driver given a :class:`~cumulo.sdk.storage.PoolRef` of a local pool sees
    the host's own identity of the storage.

    - KVM: a libvirt directory pool such as ``/var/lib/libvirt/images`` (``uuid`` the
      libvirt pool UUID, ``path`` its target directory, ``pool_type`` ``Filesystem``);
    - XenServer: the host's local SR (``uuid`` the SR uuid, ``path`` the SR uuid or its
      device, ``pool_type`` ``LVM`` or ``EXT`` as the SR type says);
    - VMware: each local VMFS datastore of the ESXi host (``uuid`` the datastore's
      vSphere uuid, ``path`` ``[<datastore name>]``, ``pool_type`` ``VMFS``).

    :param uuid: stable identity of the storage: the same storage gives the same uuid at
        every connect, and no other storage in the cloud has it (hosts cloned from one
        image can share a libvirt pool UUID: the management server refuses the second).
        At most 40 characters; a UUID in its canonical form is best.
    :param path: where it lives on the host (shown as the pool's ``path``).
    :param total_bytes: its size (>= 0).
    :param used_bytes: what is used on it now, VM volumes or not (0..``total_bytes``).
    :param pool_type: 4.1's ``StoragePoolType`` name: ``Filesystem``, ``LVM``, ``EXT``,
        ``VMFS``.
    :param name: the storage's own label on the host, for messages (may be empty).
    """

    uuid: str
    path: str
    total_bytes: int
    used_bytes: int = 0
    pool_type: str = "Filesystem"
    name: str = ""


@dataclass(frozen=True)
class HostInfo:
    """What :meth:`HypervisorDriver.connect` discovered.

    :param guid: stable identity of the host: the same physical host always gives the
        same guid (libvirt host UUID, XenServer host UUID, vSphere MOR + vCenter UUID).
    :param cpu_sockets: physical CPU sockets (>= 1).
    :param cpus: CPU cores in total (>= ``cpu_sockets``).
    :param cpu_speed_mhz: speed of one core in MHz (> 0).
    :param memory_bytes: physical memory usable for VMs, in bytes (> 0).
    :param hypervisor_version: e.g. ``6.0.2``, ``5.1``, ``qemu 1.5``.
    :param capabilities: e.g. ``("hvm",)``, ``("hvm", "pv")``.
    :param name: the host's own name (shown as the host name by default).
    :param local_storage: the host's own storage for VM volumes (:class:`LocalStorage`),
        each one reported at every connect; empty when the host has none or the driver
        does not tell (KVM: its local directory pool; XenServer: its local SR; VMware:
        its local datastores).
    """

    guid: str
    cpu_sockets: int
    cpus: int
    cpu_speed_mhz: int
    memory_bytes: int
    hypervisor_version: str
    capabilities: tuple[str, ...] = ()
    name: str = ""
    local_storage: tuple[LocalStorage, ...] = ()


@dataclass(frozen=True)
class HostRef:
    """A connected host, as every call after :meth:`HypervisorDriver.connect` names it.

    :param guid: :attr:`HostInfo.guid`.
    :param connection: how it was reached.
    :param host_id: the management server's id of the host (scoping, logging).
    """

    guid: str
    connection: HostConnection
    host_id: int | None = None


@dataclass(frozen=True)
class HostPing:
    """One host's heartbeat answer.

    :param guid: the host.
    :param status: see :class:`HostStatus`.
    :param message: why it is degraded or unreachable (empty when Up).
    """

    guid: str
    status: HostStatus
    message: str = ""


@dataclass(frozen=True)
class VolumeSpec:
    """A disk as the hypervisor sees it.

    :param uuid: the volume's public id.
    :param path: its location on the pool (file name, LUN, VDI uuid, VMDK path).
    :param size_bytes: virtual size.
    :param pool_uuid: the primary storage pool holding it.
    :param volume_type: ``ROOT`` or ``DATADISK``.
    :param device_id: the disk slot (0 for ROOT); ``None``: next free.
    """

    uuid: str
    path: str
    size_bytes: int
    pool_uuid: str = ""
    volume_type: str = "DATADISK"
    device_id: int | None = None


@dataclass(frozen=True)
class NicSpec:
    """A virtual NIC: ``broadcast_uri`` is ``vlan://100``, ``vlan://untagged`` ...

    :param traffic_type: the NIC's traffic (``Guest``, ``Public``, ``Management``,
        ``Control``, ``Storage``); empty means ``Guest`` (drivers written before it).
    :param network_label: the zone's traffic label for that traffic on the NIC's
        physical network, for the host's hypervisor (``kvmnetworklabel``: the KVM
        bridge; ``xennetworklabel``: the XenServer network; ``vmwarenetworklabel``:
        the vSwitch); empty: the host's default for the traffic (REQ-KVM-05).
    """

    mac_address: str
    ip_address: str = ""
    netmask: str = ""
    gateway: str = ""
    broadcast_uri: str = ""
    device_id: int = 0
    is_default: bool = False
    traffic_type: str = ""
    network_label: str = ""


@dataclass(frozen=True)
class IsoSpec:
    """An ISO image presented to a VM as its CD-ROM (``attachIso``, or the boot medium
    of a VM deployed from an ISO).

    :param uuid: the ISO's public id.
    :param url: where its bits are on secondary storage (``nfs://server/export/
        template/tmpl/2/201/<uuid>.iso``); the host mounts or copies it from there.
    :param size_bytes: its size, when known (0 otherwise).
    :param bootable: whether the VM boots from it.
    """

    uuid: str
    url: str
    size_bytes: int = 0
    bootable: bool = True


@dataclass(frozen=True)
class VmSpec:
    """Everything needed to start a VM (4.1's ``VirtualMachineTO``).

    :param name: the instance name on the hypervisor (``i-2-10-VM``): the key of every
        later call and of :meth:`HypervisorDriver.vm_states`.
    :param uuid: the VM's public id.
    :param cpus: virtual CPUs.
    :param cpu_speed_mhz: guaranteed speed per vCPU (shares/reservation).
    :param memory_bytes: memory.
    :param os_type: the guest OS type name.
    :param volumes: disks, ROOT first.
    :param nics: NICs, the default one included.
    :param vnc_password: console password.
    :param details: driver-specific extras.
    :param iso: the ISO in the VM's CD-ROM drive, if any (the boot medium of a VM
        deployed from an ISO); drivers written before it may ignore it.
    """

    name: str
    uuid: str
    cpus: int
    cpu_speed_mhz: int
    memory_bytes: int
    os_type: str = ""
    volumes: tuple[VolumeSpec, ...] = ()
    nics: tuple[NicSpec, ...] = ()
    vnc_password: str = field(default="", repr=False)
    details: Mapping[str, str] = field(default_factory=dict)
    iso: IsoSpec | None = None


@dataclass(frozen=True)
class SnapshotInfo:
    """A snapshot taken by :meth:`HypervisorDriver.snapshot_volume`.

    :param path: where it lives (a handle :meth:`~HypervisorDriver.delete_snapshot`
        accepts).
    :param size_bytes: its physical size.
    """

    path: str
    size_bytes: int


@dataclass(frozen=True)
class ConsoleAccess:
    """How the console proxy reaches a VM's console.

    :param address: host address to connect to.
    :param port: the VNC (or other) port.
    :param password: console password, when the protocol uses one.
    :param protocol: ``vnc`` (KVM, XenServer, VMware VNC) or ``webmks`` (VMware ticket).
    :param ticket: a one-off ticket (VMware ``AcquireTicket``), else empty.
    """

    address: str
    port: int
    password: str = field(default="", repr=False)
    protocol: str = "vnc"
    ticket: str = field(default="", repr=False)


# ---- the contract --------------------------------------------------------------------


class HypervisorDriver(Driver):
    """The contract of a hypervisor plugin. Every method raises :class:`HostUnreachable`
    when the host does not answer and :class:`OperationFailed` (or a subclass) when it
    answers with a failure; nothing else escapes.
    """

    def connect(self, connection: HostConnection) -> HostInfo:
        """Reach the host, check the credentials and discover its hardware.

        Blocks for a round trip or a few (KVM: SSH + libvirt ``getInfo``; XenServer:
        ``session.login_with_password`` + ``host.get_record``; VMware: vCenter login and
        the host's ``summary.hardware``). Repeatable: connecting an already connected
        host returns the same :attr:`HostInfo.guid`, and the same
        :attr:`LocalStorage.uuid` for each local storage, with its current size and use
        (``addHost`` and ``reconnectHost`` create or refresh the host's local pools from
        it).

        :raises InvalidHostCredentials: the host refused the credentials.
        :raises HostUnreachable: nothing answered at ``connection.url``.
        """
        raise NotImplementedError

    def discover_cluster_hosts(self, connection: HostConnection) -> list[HostConnection]:
        """The hosts of the cluster that ``connection`` names, for ``addCluster`` to add
        them all at once (REQ-CL-03). Optional: the default raises
        :class:`NotImplementedError`, meaning "this hypervisor's hosts are added one by
        one with ``addHost``".

        ``connection`` is what ``addCluster`` was given: VMware, the vCenter cluster's
        URL (``https://vcenter/datacenter/cluster``) with the vCenter login — list the
        cluster's ``HostSystem`` objects; XenServer, the pool master's URL and login —
        ``host.get_all`` of the pool. Blocks for one or a few round trips; changes
        nothing. Each returned connection is something :meth:`connect` accepts (URL,
        login, ``details``), in a stable order; the core then connects each one.

        :raises InvalidHostCredentials: the cluster manager refused the login.
        :raises HostUnreachable: nothing answered at ``connection.url``.
        :raises OperationFailed: the URL names no cluster there.
        """
        raise NotImplementedError

    def enable_multipath(self, host: HostRef) -> None:
        """Turn on iSCSI multipath on a host being added, when ``xen.setup.multipath``
        is true (REQ-PS-09). Optional: the default raises :class:`NotImplementedError`.

        XenServer: set ``other-config:multipathing=true`` and
        ``other-config:multipathhandle=dmp`` on the host (with the host in
        maintenance, as XenCenter does, since it is not running VMs yet); KVM and
        VMware configure multipath outside the management server and need not
        implement it. Idempotent; harmless for NFS-only deployments.

        :raises OperationFailed: the host refused.
        """
        raise NotImplementedError

    def disconnect(self, host: HostRef) -> None:
        """Forget the host (``deleteHost``): close sessions, release agents. Idempotent;
        never raises :class:`HostUnreachable` (a dead host is disconnected already)."""
        raise NotImplementedError

    def ping(self, host: HostRef, timeout: float) -> HostPing:
        """Check that the host answers, within ``timeout`` seconds at most.

        Must be cheap: thousands of hosts are pinged every ``ping.interval``. A driver
        that cannot answer in time raises :class:`HostUnreachable` rather than block.

        :raises HostUnreachable: no answer within ``timeout``.
        """
        raise NotImplementedError

    def ping_hosts(self, hosts: Sequence[HostRef], timeout: float) -> dict[str, HostPing]:
        """Ping many hosts; the default calls :meth:`ping` one by one.

        Drivers that can ask once for many hosts (one vCenter property collector query,
        one XenAPI ``host_metrics`` call per pool, a simulator's table) override this.

        :return: one answer per host guid; hosts that did not answer are
            :attr:`HostStatus.UNREACHABLE` instead of raising.
        """
        answers: dict[str, HostPing] = {}
        for host in hosts:
            try:
                answers[host.guid] = self.ping(host, timeout)
            except HostUnreachable as exc:
                answers[host.guid] = HostPing(host.guid, HostStatus.UNREACHABLE, str(exc))
        return answers

    def vm_states(self, host: HostRef) -> dict[str, VmState]:
        """The power state of every VM the host knows, by instance name (state sync).

        One call to the host (libvirt ``listAllDomains``, XenAPI ``VM.get_all_records``,
        a property collector query). VMs the management server does not know are
        included: it decides what to do with them. ``addHost`` calls it right after
        :meth:`connect` and refuses a host that already runs VMs (REQ-CL-04), so it
        must work on a host not yet added (``host.host_id`` is ``None``); a driver
        that cannot tell raises :class:`NotImplementedError` and the check is skipped.
        """
        raise NotImplementedError

    def start_vm(self, host: HostRef, spec: VmSpec) -> None:
        """Define and power on ``spec`` on ``host``; return once it runs.

        Blocks until the hypervisor reports the VM Running (XenServer ``VM.start``;
        VMware ``PowerOnVM_Task`` completion). Starting a VM already running on this host
        succeeds without change; a stopped VM of the same name is started again.

        :raises InsufficientHostCapacity: the host cannot fit it.
        :raises OperationFailed: anything else the host refused.
        """
        raise NotImplementedError

    def stop_vm(self, host: HostRef, name: str, force: bool = False) -> None:
        """Power the VM off: a clean guest shutdown, or an immediate power-off when
        ``force`` (or when the clean shutdown times out). Blocks until it is off.
        Stopping a stopped or missing VM succeeds. After it, :meth:`vm_states` shows the
        VM Stopped or not at all."""
        raise NotImplementedError

    def reboot_vm(self, host: HostRef, name: str) -> None:
        """Reboot a running VM; blocks until it runs again.

        :raises VmNotFound: no such VM on the host.
        """
        raise NotImplementedError

    def destroy_vm(self, host: HostRef, name: str) -> None:
        """Power off (forcibly) and undefine the VM; its volumes stay on storage.
        Destroying a missing VM succeeds. Afterwards the VM is absent from
        :meth:`vm_states`."""
        raise NotImplementedError

    def migrate_vm(self, source: HostRef, destination: HostRef, name: str) -> None:
        """Live-migrate a running VM; blocks until the destination runs it (libvirt
        ``migrateToURI``, XenAPI ``VM.pool_migrate``, VMware ``MigrateVM_Task``).
        Afterwards the source no longer lists it as Running.

        :raises VmNotFound: the VM is not on ``source``.
        :raises InsufficientHostCapacity: the destination cannot fit it.
        :raises HostUnreachable: either host did not answer (the message says which).
        """
        raise NotImplementedError

    def attach_volume(self, host: HostRef, name: str, volume: VolumeSpec) -> int:
        """Hot-plug ``volume`` into the VM; attaching it again is a no-op.

        :return: the device id the disk got.
        :raises VmNotFound: no such VM on the host.
        """
        raise NotImplementedError

    def detach_volume(self, host: HostRef, name: str, volume: VolumeSpec) -> None:
        """Hot-unplug ``volume`` from the VM; detaching a detached volume (or from a
        missing VM) succeeds."""
        raise NotImplementedError

    def attach_iso(self, host: HostRef, name: str, iso: IsoSpec) -> None:
        """Insert ``iso`` into the running VM's CD-ROM drive (``attachIso``); inserting
        the same ISO again is a no-op, another ISO replaces it. Blocks until done.
        Optional: the default refuses (drivers written before ISOs keep working for
        everything else).

        :raises VmNotFound: no such VM on the host.
        :raises OperationFailed: the host cannot reach the ISO, or the driver cannot
            attach ISOs.
        """
        raise OperationFailed(f"{self.name or type(self).__name__} hosts cannot attach ISOs")

    def detach_iso(self, host: HostRef, name: str) -> None:
        """Eject whatever ISO the VM's CD-ROM drive holds (``detachIso``); ejecting an
        empty drive, or from a missing VM, succeeds. Optional: the default refuses.

        :raises OperationFailed: the host refused, or the driver cannot detach ISOs.
        """
        raise OperationFailed(f"{self.name or type(self).__name__} hosts cannot detach ISOs")

    def snapshot_volume(
        self, host: HostRef, volume: VolumeSpec, snapshot_name: str
    ) -> SnapshotInfo:
        """Take a crash-consistent snapshot of ``volume`` (qemu-img / libvirt snapshot,
        XenAPI ``VDI.snapshot``, VMware ``CreateSnapshot_Task``); blocks until taken.

        :raises OperationFailed: the storage or hypervisor refused.
        """
        raise NotImplementedError

    def delete_snapshot(self, host: HostRef, snapshot: SnapshotInfo) -> None:
        """Delete a snapshot; deleting a missing one succeeds."""
        raise NotImplementedError

    def console_access(self, host: HostRef, name: str) -> ConsoleAccess:
        """Where and how the console proxy reaches the VM's console (a running VM).

        :raises VmNotFound: no such VM on the host.
        """
        raise NotImplementedError

    def system_vm_access_uri(self, host: HostRef, name: str, control_ip: str) -> str:
        """How the management server reaches a system VM it started on ``host`` (a
        virtual router: its configuration is pushed there), given the VM's instance name
        and its link-local control address. Optional: the default is 4.1's,
        ``ssh://<control_ip>:3922`` (the system VM's SSH daemon on its control NIC, which
        the management server reaches through the host).

        A driver whose hosts cannot route to the control network overrides it (a
        simulator, which runs no VM, answers a ``file://`` directory where the
        configuration is written instead). Never blocks; never raises.
        """
        return f"ssh://{control_ip}:3922"
