"""``ssh://[user@]host[:port]``: a router VM reached on its control address.

4.1's management server configures its routers over SSH on port 3922 of their
link-local control address, with its own key and without keeping host keys (a router
is redeployed with new ones); cumulo does the same with the OpenSSH client. The key is
the URI's ``identity`` query parameter, else ``$CUMULO_VR_SSH_KEY``, else the ``ssh``
defaults of the management server's user. The router needs ``sh``, GNU ``tar`` and
coreutils, ``flock`` (util-linux), ``iptables``, ``dnsmasq``, ``haproxy``,
``python3`` (the metadata server) and, for the VPN, strongSwan and ``xl2tpd``; its
files live under ``/var/lib/cumulo`` (``dir`` query parameter to change).
"""

from __future__ import annotations

import os
import subprocess

from cumulo_vr.layout import CONTROL_SSH_PORT
from cumulo_vr.transport.shell import Runner

SSH_KEY_ENV = "CUMULO_VR_SSH_KEY"
DEFAULT_ROOT = "/var/lib/cumulo"
CONNECT_TIMEOUT_SECONDS = 10


class SshRunner(Runner):
    """Runs commands on ``user@host`` through the ``ssh`` binary."""

    def __init__(
        self,
        host: str,
        port: int = CONTROL_SSH_PORT,
        user: str = "root",
        identity: str | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.user = user
        self.identity = identity or os.environ.get(SSH_KEY_ENV) or None

    def argv(self, command: str) -> list[str]:
        argv = [
            "ssh",
            "-p",
            str(self.port),
            "-o",
            "BatchMode=yes",
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            f"ConnectTimeout={CONNECT_TIMEOUT_SECONDS}",
            "-o",
            "ServerAliveInterval=15",
            "-o",
            "LogLevel=ERROR",
        ]
        if self.identity:
            argv += ["-i", self.identity, "-o", "IdentitiesOnly=yes"]
        return [*argv, f"{self.user}@{self.host}", command]

    def describe(self) -> str:
        return f"router ssh {self.host}:{self.port}"

    def unreachable(self, result: subprocess.CompletedProcess[bytes]) -> bool:
        # ssh itself exits 255 when it could not connect or authenticate.
        return result.returncode == 255
