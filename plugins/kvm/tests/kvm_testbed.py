"""The KVM plugin's real peers: libvirtd with QEMU, a second libvirtd, a bootable guest.

- The first libvirtd is the one ``../shared/tools/libvirt start-daemon`` runs (in its
  network namespace, ``qemu:///system``); CI starts it, a developer may too.
- :class:`PeerDaemon` is a second libvirtd beside it — a second KVM *host* for the
  compliance kit's two hosts and for live migration: the same network namespace (so
  QEMU can migrate to QEMU over 127.0.0.1), a mount namespace of its own that gives it
  private ``/etc/libvirt``, ``/run/libvirt``, ``/var/lib/libvirt``, ``/var/log/libvirt``,
  its own host UUID and migration ports, and its socket in a directory both can see.
- :func:`boot_disk` turns the tool's tiny guest (a kernel and a busybox initramfs,
  not a disk) into a bootable disk image: a FAT filesystem with SYSLINUX, the kernel,
  the initramfs and a ``syslinux.cfg``, converted to qcow2 — what an operator would
  register as a template; SeaBIOS boots it.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import uuid
from pathlib import Path

TOOL_ENV = "CUMULO_LIBVIRT_TOOL"
STATE_DIR = Path("/run/cumulo-libvirt")
"""Where the tool keeps the first daemon's pid file and network namespace name."""
PRIMARY_URI = "qemu:///system"
BOOT_TOOLS = ("mkfs.vfat", "syslinux", "mcopy", "qemu-img")
GUEST_READY = "CUMULO-TINY-GUEST: ready"
GUEST_BOOTED = "CUMULO-TINY-GUEST: init started"
SASL_LOGIN = ("cumulo-admin", "a-libvirt-password")
"""The user and password of the libvirtd that asks for a login (``sasl_daemon``)."""


def repository_root() -> Path:
    """The checkout (this file is ``plugins/kvm/tests/kvm_testbed.py``)."""
    return Path(__file__).resolve().parents[3]


def libvirt_tool() -> Path | None:
    """``$CUMULO_LIBVIRT_TOOL``, else ``../shared/tools/libvirt`` beside the checkout."""
    for candidate in (os.environ.get(TOOL_ENV), repository_root().parent / "shared/tools/libvirt"):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return Path(candidate)
    return None


def primary_netns() -> str | None:
    """The network namespace the tool started the first libvirtd in, if any."""
    try:
        return (STATE_DIR / "netns").read_text().strip() or None
    except OSError:
        return None


def tiny_guest(directory: Path) -> Path:
    """The tool's tiny guest (``vmlinuz``, ``initramfs.img``) in ``directory``, built
    once (the tool keeps an existing image)."""
    tool = libvirt_tool()
    if tool is None:
        raise RuntimeError("../shared/tools/libvirt (or $CUMULO_LIBVIRT_TOOL) is missing")
    subprocess.run([str(tool), "tiny-guest-image", str(directory)], check=True, capture_output=True)
    return directory


def missing_boot_tools() -> list[str]:
    """The commands :func:`boot_disk` needs that are not installed."""
    return [tool for tool in BOOT_TOOLS if shutil.which(tool) is None]


SYSLINUX_CFG = """DEFAULT linux
PROMPT 0
TIMEOUT 0
LABEL linux
  KERNEL vmlinuz
  APPEND initrd=initrd.img console=ttyS0 panic=-1 quiet
"""


def boot_disk(guest: Path, target: Path) -> Path:
    """A bootable qcow2 disk image of the tiny guest at ``target`` (module doc)."""
    if target.exists():
        return target
    work = target.with_suffix(".work")
    work.mkdir(parents=True, exist_ok=True)
    raw = work / "disk.img"
    raw.unlink(missing_ok=True)
    (work / "syslinux.cfg").write_text(SYSLINUX_CFG)
    steps = [
        ["mkfs.vfat", "-C", "-n", "CUMULO", str(raw), "32768"],
        ["syslinux", "--install", str(raw)],
        ["mcopy", "-i", str(raw), str(guest / "vmlinuz"), "::vmlinuz"],
        ["mcopy", "-i", str(raw), str(guest / "initramfs.img"), "::initrd.img"],
        ["mcopy", "-i", str(raw), str(work / "syslinux.cfg"), "::syslinux.cfg"],
        ["qemu-img", "convert", "-c", "-O", "qcow2", str(raw), str(work / "disk.qcow2")],
    ]
    for step in steps:
        subprocess.run(step, check=True, capture_output=True)
    os.replace(work / "disk.qcow2", target)
    shutil.rmtree(work, ignore_errors=True)
    return target


class PeerDaemon:
    """A second libvirtd (module doc), started by :meth:`start`, stopped by :meth:`stop`.

    :param root: its private state (configuration, runtime, logs, socket).
    :param port_base: the first of its 64 migration ports (distinct from the first
        daemon's 49152-49215).
    """

    def __init__(
        self, root: Path, port_base: int = 49300, login: tuple[str, str] | None = None
    ) -> None:
        self.root = root
        self.port_base = port_base
        self.login = login
        self.host_uuid = str(uuid.uuid4())
        self.socket = root / "sock" / "libvirt-sock"
        self.pidfile = root / "libvirtd.pid"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def uri(self) -> str:
        """How the drivers reach it: the local unix transport on its own socket."""
        return f"qemu+unix:///system?socket={self.socket}"

    def start(self, timeout: float = 180.0) -> None:
        """Start it and wait until it answers.

        :raises RuntimeError: it did not answer in time (its log is in the message).
        """
        for name in ("etc", "run", "lib", "cache", "log/qemu", "sock"):
            (self.root / name).mkdir(parents=True, exist_ok=True)
        # A configuration of its own (nothing of the first daemon's: its pools, networks):
        # kept across restarts, as a host keeps /etc/libvirt.
        capabilities = Path("/var/cache/libvirt/qemu/capabilities")
        if capabilities.is_dir():
            # QEMU's capabilities, as the first daemon probed them on this machine: a
            # fresh daemon would otherwise start every emulator first (slow under load).
            shutil.copytree(capabilities, self.root / "cache/qemu/capabilities", dirs_exist_ok=True)
        settings = f'unix_sock_dir = "{self.socket.parent}"\nhost_uuid = "{self.host_uuid}"\n'
        if self.login is not None:
            settings += 'auth_unix_rw = "sasl"\nauth_unix_ro = "sasl"\n'
            self._sasl_users(*self.login)
        (self.root / "etc" / "libvirtd.conf").write_text(settings)
        (self.root / "etc" / "qemu.conf").write_text(
            'user = "root"\ngroup = "root"\nstdio_handler = "file"\n'
            f"migration_port_min = {self.port_base}\n"
            f"migration_port_max = {self.port_base + 63}\n"
        )
        mounts = " && ".join(
            f"mount --bind {self.root / source} {target}"
            for source, target in (
                ("etc", "/etc/libvirt"),
                ("run", "/run/libvirt"),
                ("lib", "/var/lib/libvirt"),
                ("cache", "/var/cache/libvirt"),
                ("log", "/var/log/libvirt"),
            )
        )
        inner = (
            f"{mounts} && exec /usr/sbin/libvirtd -f /etc/libvirt/libvirtd.conf -p {self.pidfile}"
        )
        command = ["unshare", "--mount", "--propagation", "private", "sh", "-c", inner]
        netns = primary_netns()
        if netns:
            command = ["ip", "netns", "exec", netns, *command]
        log = (self.root / "libvirtd.log").open("wb")
        # libvirtd reads its SASL configuration (libvirt.conf) from SASL_CONF_PATH.
        env = {**os.environ, "SASL_CONF_PATH": str(self.root / "sasl2")}
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.socket.exists() and self._answers():
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"the second libvirtd did not start:\n{self.log()}")

    def _sasl_users(self, user: str, password: str) -> None:
        """A SASL user database (SCRAM-SHA-256) holding ``user``, as a host whose
        libvirtd asks for a login (REQ-HOST: the addHost user name and password)."""
        directory = self.root / "sasl2"
        directory.mkdir(exist_ok=True)
        database = directory / "passwd.db"
        (directory / "libvirt.conf").write_text(
            f"mech_list: scram-sha-256\nsasldb_path: {database}\n"
        )
        subprocess.run(
            ["saslpasswd2", "-a", "libvirt", "-f", str(database), "-p", "-c", user],
            input=password.encode(),
            check=True,
            capture_output=True,
        )

    def _answers(self) -> bool:
        if self.login is not None:
            return self.socket.exists()  # virsh has no password to give
        try:
            done = subprocess.run(
                ["virsh", "-q", "-c", self.uri, "version"], capture_output=True, timeout=60
            )
        except subprocess.TimeoutExpired:
            return False  # still probing QEMU's capabilities
        return done.returncode == 0

    def serial_log(self, name: str) -> Path:
        """Where the serial console of this daemon's domain ``name`` is logged (its
        ``/var/log/libvirt`` is private)."""
        return self.root / "log" / "qemu" / f"{name}-serial.log"

    def log(self) -> str:
        """The daemon's output so far."""
        try:
            return (self.root / "libvirtd.log").read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def kill(self) -> None:
        """SIGKILL the daemon, as a crash would end it (its guests keep running)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.process = None

    def stop(self) -> None:
        """Destroy its guests and stop it."""
        if self.process is None:
            return
        if self.process.poll() is None:
            virsh = ["virsh", "-q", "-c", self.uri]
            try:
                listed = subprocess.run(
                    [*virsh, "list", "--name"], capture_output=True, text=True, timeout=30
                )
                for name in listed.stdout.split():
                    subprocess.run([*virsh, "destroy", name], capture_output=True, timeout=30)
            except subprocess.TimeoutExpired:
                pass  # a daemon that does not answer is stopped all the same
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


def wait_for_text(path: Path, text: str, timeout: float, count: int = 1) -> bool:
    """Poll ``path`` until it holds ``text`` ``count`` times (a guest's serial log)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if path.read_text(errors="replace").count(text) >= count:
                return True
        except OSError:
            pass
        time.sleep(0.5)
    return False


def ensure_bridges(names: tuple[str, ...]) -> list[str]:
    """Linux bridges ``names``, up, in the test bed's network namespace (as an operator
    prepares ``cloudbr0``/``cloudbr1`` on a host, REQ-KVM-05); the ones it created."""
    netns = primary_netns()
    if netns is None:
        raise RuntimeError("the test bed's libvirtd runs in no network namespace of its own")
    created = []
    for name in names:
        present = subprocess.run(["ip", "-n", netns, "link", "show", name], capture_output=True)
        if present.returncode != 0:
            subprocess.run(
                ["ip", "-n", netns, "link", "add", name, "type", "bridge"],
                check=True,
                capture_output=True,
            )
            created.append(name)
        subprocess.run(
            ["ip", "-n", netns, "link", "set", name, "up"], check=True, capture_output=True
        )
    return created
