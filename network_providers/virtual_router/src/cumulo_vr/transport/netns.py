"""``netns://<namespace>``: a router living in a Linux network namespace of this host.

Used by the packet tests (and by anyone who wants a router without a VM): commands run
with ``ip netns exec <namespace>``, so ``iptables-restore``, dnsmasq, haproxy and the
metadata server act on that namespace's interfaces and tables only. The router's
files live in a directory of this host, ``/run/cumulo-vr/<namespace>`` unless the URI
names another (``netns://cst-vr-1?dir=/tmp/x``). Needs root (``CAP_NET_ADMIN``,
``CAP_SYS_ADMIN``).
"""

from __future__ import annotations

import os
import subprocess

from cumulo.sdk.network import ProviderUnreachable
from cumulo_vr.transport.shell import Runner

NETNS_DIR = "/run/netns"
DEFAULT_ROOT = "/run/cumulo-vr"


class NetnsRunner(Runner):
    """Runs commands in the network namespace ``namespace``."""

    def __init__(self, namespace: str) -> None:
        if not namespace or "/" in namespace or namespace in (".", ".."):
            raise ProviderUnreachable(f"invalid network namespace name {namespace!r}")
        self.namespace = namespace

    def argv(self, command: str) -> list[str]:
        return ["ip", "netns", "exec", self.namespace, "sh", "-c", command]

    def describe(self) -> str:
        return f"router netns {self.namespace}"

    def check_reachable(self) -> None:
        if not os.path.exists(os.path.join(NETNS_DIR, self.namespace)):
            raise ProviderUnreachable(f"network namespace {self.namespace} does not exist")

    def unreachable(self, result: subprocess.CompletedProcess[bytes]) -> bool:
        return b"Cannot open network namespace" in result.stderr
