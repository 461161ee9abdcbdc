"""Checks of the management-server host that the seed asks the operator to make.

REQ-INST-01 (Seed §4.5.2): ``hostname --fqdn`` must return a fully qualified name, and
clocks must be synchronised (NTP), because management servers, hosts and the database
compare timestamps (heartbeats, job takeover, ``expires`` of signed requests). cumulo
warns; it does not refuse, since a trial on a laptop is legitimate.
"""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

# Files that exist while a time-sync daemon considers the clock synchronised.
_SYNC_MARKERS = (Path("/run/systemd/timesync/synchronized"),)
# Daemons whose running process means time is being synchronised, as the kernel names
# them (a process name is cut to 15 characters: systemd-timesyncd -> systemd-timesyn).
_SYNC_DAEMONS = ("chronyd", "ntpd", "openntpd", "systemd-timesyn")


def fqdn_warning(fqdn: str | None = None) -> str | None:
    """A warning when this host's fully qualified name is not qualified, else ``None``."""
    name = fqdn if fqdn is not None else socket.getfqdn()
    if "." in name.strip(".") and not name.startswith("localhost"):
        return None
    return (
        f"WARNING: this host's fully qualified name is {name!r}; CloudStack expects"
        " `hostname --fqdn` to return a name such as management1.lab.example.org"
        " (fix /etc/hosts)."
    )


def _time_sync_running() -> bool:
    if any(marker.exists() for marker in _SYNC_MARKERS):
        return True
    try:
        done = subprocess.run(
            ["pgrep", "-x", "|".join(_SYNC_DAEMONS)],
            capture_output=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def time_sync_warning(running: bool | None = None) -> str | None:
    """A warning when no time-sync daemon is running, else ``None``."""
    if running if running is not None else _time_sync_running():
        return None
    return (
        "WARNING: no time synchronisation (chrony, ntpd, openntpd or systemd-timesyncd)"
        " is running; management servers and hosts must keep their clocks in step."
    )


def host_warnings() -> list[str]:
    """Every warning that applies to this host (REQ-INST-01)."""
    return [w for w in (fqdn_warning(), time_sync_warning()) if w is not None]
