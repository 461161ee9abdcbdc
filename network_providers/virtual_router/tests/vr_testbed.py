"""Network namespaces for the virtual router's packet tests (after
``../shared/tools/netns-selftest``): namespaces, veth pairs, bridges, processes in
them, and a :class:`NetworkContext` whose router is a namespace.

Every name carries this process's id and a counter, so parallel test workers never
meet; :meth:`NetnsBed.close` kills what it started (by pid, and whatever still runs in
its namespaces) and deletes its namespaces and files.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from cumulo.sdk.network import NetworkContext, NetworkRef, RouterRef

BUSYBOX = next((p for p in ("/bin/busybox", "/usr/bin/busybox") if os.path.exists(p)), "busybox")
TOOLS = ("ip", "iptables", "iptables-restore", "dnsmasq", "haproxy", "curl", "python3", "flock")
_COUNTER = itertools.count()

UDHCPC_SCRIPT = """#!/bin/sh
case "$1" in
  deconfig) ip addr flush dev "$interface"; ip link set "$interface" up ;;
  bound|renew)
    ip addr flush dev "$interface"; ip addr add "$ip/$mask" dev "$interface"
    [ -n "$router" ] && ip route replace default via ${router%% *} dev "$interface"
    echo "lease ip=$ip mask=$mask router=$router dns=$dns domain=$domain" ;;
esac
exit 0
"""


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def require_netns() -> None:
    """Skip (fail under CI) unless this process may create network namespaces and the
    router's tools are installed (``.ci/run`` installs them)."""
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if not os.path.exists(BUSYBOX):
        missing.append("busybox (udhcpc, nslookup)")
    reason = ""
    if missing:
        reason = f"missing tools: {', '.join(missing)}"
    else:
        probe = f"n6dprobe{os.getpid()}"
        result = subprocess.run(["ip", "netns", "add", probe], capture_output=True, check=False)
        if result.returncode != 0:
            reason = f"cannot create network namespaces: {result.stderr.decode().strip()}"
        else:
            subprocess.run(["ip", "netns", "del", probe], check=False)
    if reason:
        if in_ci():
            pytest.fail(f"the packet tests must run in CI: {reason}")
        pytest.skip(f"packet tests need root and ip netns: {reason}")


class NetnsBed:
    """Namespaces and processes of one test (or module)."""

    def __init__(self) -> None:
        self.tag = f"n6d{os.getpid() % 100000}x{next(_COUNTER)}"
        self.namespaces: list[str] = []
        self.processes: list[subprocess.Popen[bytes]] = []
        self.work = Path(tempfile.mkdtemp(prefix=f"cumulo-{self.tag}-"))

    # ---- topology -----------------------------------------------------------------

    def namespace(self, role: str) -> str:
        name = f"{self.tag}-{role}"
        subprocess.run(["ip", "netns", "add", name], check=True)
        self.namespaces.append(name)
        self.run(name, "ip", "link", "set", "lo", "up")
        return name

    def veth(self, ns_a: str, if_a: str, ns_b: str, if_b: str, mac: str | None = None) -> None:
        address = ["address", mac] if mac else []
        subprocess.run(
            [
                "ip",
                "link",
                "add",
                "name",
                if_a,
                "netns",
                ns_a,
                *address,
                "type",
                "veth",
                "peer",
                "name",
                if_b,
                "netns",
                ns_b,
            ],
            check=True,
        )
        self.run(ns_a, "ip", "link", "set", if_a, "up")
        self.run(ns_b, "ip", "link", "set", if_b, "up")

    def bridge(self, ns: str, name: str = "br0") -> str:
        self.run(ns, "ip", "link", "add", name, "type", "bridge")
        self.run(ns, "ip", "link", "set", name, "up")
        return name

    def plug(self, switch: str, port: str, bridge: str = "br0") -> None:
        self.run(switch, "ip", "link", "set", port, "master", bridge)

    def address(self, ns: str, interface: str, cidr: str) -> None:
        self.run(ns, "ip", "addr", "add", cidr, "dev", interface)

    # ---- commands -----------------------------------------------------------------

    def run(
        self, ns: str, *argv: str, check: bool = True, timeout: float = 30
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["ip", "netns", "exec", ns, *argv],
            capture_output=True,
            text=True,
            check=check,
            timeout=timeout,
        )

    def spawn(self, ns: str, argv: Sequence[str], log: str) -> subprocess.Popen[bytes]:
        out = open(self.work / log, "wb")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(
            ["ip", "netns", "exec", ns, *argv], stdout=out, stderr=subprocess.STDOUT
        )
        out.close()
        self.processes.append(process)
        return process

    def http_server(self, ns: str, address: str, port: int, body: str) -> Path:
        """A python ``http.server`` on ``port`` of every address of ``ns`` answering
        ``body`` at ``/``, checked at ``address``; returns its log (which names each
        client address). It binds the wildcard address: http.server looks a specific
        one up in DNS, which hangs where no resolver answers."""
        root = self.work / f"www-{ns}-{port}"
        root.mkdir()
        (root / "index.html").write_text(body + "\n")
        log = f"http-{ns}-{port}.log"
        self.spawn(
            ns,
            [
                "python3",
                "-m",
                "http.server",
                "--bind",
                "0.0.0.0",
                "--directory",
                str(root),
                str(port),
            ],
            log,
        )
        url = f"http://{address}:{port}/"
        self.wait_for(lambda: self.curl(ns, url) == body, url)
        return self.work / log

    def curl(self, ns: str, url: str, *options: str, timeout: float = 2) -> str | None:
        """The body at ``url`` from ``ns``, or ``None`` when no connection succeeds."""
        result = self.run(
            ns,
            "curl",
            "-s",
            "-f",
            "--connect-timeout",
            str(timeout),
            "-m",
            str(timeout + 1),
            *options,
            url,
            check=False,
            timeout=timeout + 10,
        )
        return result.stdout.strip() if result.returncode == 0 else None

    def dhcp(self, ns: str, interface: str = "eth0") -> str:
        """Run udhcpc once in ``ns``; returns its ``lease ...`` line ('' if none)."""
        script = self.work / "udhcpc.sh"
        if not script.exists():
            script.write_text(UDHCPC_SCRIPT)
            script.chmod(0o755)
        result = self.run(
            ns,
            BUSYBOX,
            "udhcpc",
            "-i",
            interface,
            "-n",
            "-q",
            "-t",
            "5",
            "-T",
            "1",
            "-s",
            str(script),
            check=False,
            timeout=30,
        )
        return next((line for line in result.stdout.splitlines() if line.startswith("lease")), "")

    def resolve(self, ns: str, name: str, server: str) -> str:
        return self.run(ns, BUSYBOX, "nslookup", name, server, check=False).stdout

    @staticmethod
    def wait_for(condition: Callable[[], bool], what: str, seconds: float = 10) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if condition():
                return
            time.sleep(0.1)
        raise AssertionError(f"{what} did not come up within {seconds} s")

    # ---- cleanup ------------------------------------------------------------------

    def close(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
        for ns in self.namespaces:
            # Daemons the provider started in our namespaces (it stops them on destroy;
            # this is the safety net when a test failed before that).
            pids = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True)
            for pid in pids.stdout.split():
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(pid), signal.SIGKILL)
            subprocess.run(["ip", "netns", "del", ns], check=False)
        shutil.rmtree(self.work, ignore_errors=True)


class NamespaceContext(NetworkContext):
    """The test's stand-in for the core: the network's router is a namespace that
    already exists (the test made it); destroying it only forgets it."""

    def __init__(self, router: RouterRef) -> None:
        self.router: RouterRef | None = router
        self.ensured = 0

    def ensure_router(self, network: NetworkRef) -> RouterRef:
        assert self.router is not None, "the test destroyed its router"
        self.ensured += 1
        return self.router

    def find_router(self, network: NetworkRef) -> RouterRef | None:
        return self.router

    def destroy_router(self, network: NetworkRef) -> None:
        self.router = None
