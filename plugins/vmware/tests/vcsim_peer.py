"""Starting and stopping vcsim, the vCenter simulator (``../shared/tools/vcsim``), for
the VMware plugin's tests.

vcsim speaks the real vSphere SOAP API that pyVmomi uses, with an in-memory inventory
(default: datacenter ``DC0``, cluster ``DC0_C0`` of three hosts, datastore
``LocalDS_0`` backed by a temporary directory, networks ``VM Network`` and
``DC0_DVPG0``). Each test session starts its own instance on a free port.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

_SHARED = Path(__file__).resolve().parents[3].parent / "shared"
TOOL = Path(os.environ.get("CUMULO_SHARED", str(_SHARED))) / "tools" / "vcsim"
HOW = "needs vcsim: run ../shared/tools/vcsim install (CI does)"


@dataclass(frozen=True)
class Vcsim:
    """A running vcsim: its address and login."""

    host: str
    port: int
    username: str
    password: str

    @property
    def netloc(self) -> str:
        return f"{self.host}:{self.port}"

    def cluster_url(self, datacenter: str = "DC0", cluster: str = "DC0_C0") -> str:
        return f"https://{self.netloc}/{datacenter}/{cluster}"


def binary() -> Path:
    """Where ``vcsim install`` puts the binary (the tool's own rule, read without
    running ``vcsim path``, which would install it)."""
    base = os.environ.get("VCSIM_HOME")
    if not base:
        cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        base = str(Path(cache) / "cumulo-vcsim")
    return Path(base) / "bin" / "vcsim"


def missing() -> str | None:
    """Why vcsim cannot run here, or ``None``."""
    if not TOOL.exists():
        return f"{TOOL} does not exist"
    if shutil.which("bash") is None:
        return "bash is missing"
    if not binary().exists():
        return f"vcsim is not built ({binary()} is missing)"
    return None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start(*extra: str) -> Vcsim:
    """Start vcsim on a free port (``extra`` flags go to the binary, e.g. ``-vm 0``)."""
    port = free_port()
    args = [str(TOOL), "start", "--port", str(port)]
    if extra:
        args += ["--", *extra]
    out = subprocess.run(args, capture_output=True, text=True, check=True, timeout=120).stdout
    values = dict(line.split("=", 1) for line in out.splitlines() if line.startswith("VCSIM_"))
    return Vcsim(
        values["VCSIM_HOST"],
        int(values["VCSIM_PORT"]),
        values["VCSIM_USER"],
        values["VCSIM_PASSWORD"],
    )


def stop(peer: Vcsim) -> None:
    subprocess.run(
        [str(TOOL), "stop", "--port", str(peer.port)], capture_output=True, check=False, timeout=60
    )
