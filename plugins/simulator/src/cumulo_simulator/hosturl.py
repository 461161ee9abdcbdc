"""Simulated host URLs: the hardware of a simulated host is written in its URL.

``http://sim/host1?cpus=8&sockets=2&speed=2400&memory=16GiB&version=4.1`` is a host
with 2 sockets, 8 cores in total at 2400 MHz and 16 GiB of memory. Any scheme and
server are accepted, as CloudStack's simulator does; the path names the host (two URLs
that differ only in their query are the same host). Unset values are the defaults
below, or, with ``seed=N``, drawn from a repeatable pseudo-random profile so a large
fleet is varied without writing every URL by hand. ``expectpassword=secret`` makes
``connect`` refuse any other password (to exercise credential errors). ``vms=N``
makes the host already run N VMs of its own when first connected (named
``<host>-vm<i>``, Running), as a host taken from another management tool would:
``addHost`` must refuse it (REQ-CL-04). ``localstorage=500GiB`` sizes the host's own
disk, reported as its local storage (REQ-PS-06) at ``/mnt/<uuid>`` with a uuid derived
from the host's identity; like 4.1's simulator, every host has 1 TiB unless told
otherwise, and ``localstorage=0`` gives it none.

A URL with ``hosts=N`` names a simulated *cluster manager* (a vCenter cluster or a
XenServer pool): :func:`cluster_member_urls` gives its N hosts,
``<url path>/host<i>`` with the same query (minus ``hosts``), so their hardware options
apply to every member.

Memory takes a plain byte count or a binary unit: ``K``/``KiB``, ``M``/``MiB``,
``G``/``GiB``, ``T``/``TiB``.
"""

from __future__ import annotations

import random
import re
import uuid
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

DEFAULT_SOCKETS = 1
DEFAULT_CPUS = 4
DEFAULT_SPEED_MHZ = 2400
DEFAULT_MEMORY = 16 * 1024**3
DEFAULT_VERSION = "4.1"
DEFAULT_LOCAL_STORAGE = 1024**4
"""4.1's simulator gives every host 1 TiB of local storage (``MockStorageManager
.DEFAULT_HOST_STORAGE_SIZE``)."""

_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
_SIZE = re.compile(r"^\s*(\d+)\s*([kmgt]?)(?:i?b)?\s*$", re.IGNORECASE)


class HostUrlError(ValueError):
    """The URL's options are not valid (message names the option)."""


@dataclass(frozen=True)
class SimulatedHardware:
    """The hardware a simulated host URL describes."""

    guid: str
    name: str
    sockets: int
    cpus: int
    speed_mhz: int
    memory_bytes: int
    version: str
    expect_password: str | None
    vms: int = 0
    local_storage_bytes: int = DEFAULT_LOCAL_STORAGE

    @property
    def local_storage_uuid(self) -> str:
        """The identity of the host's local storage: fixed for the host (its guid)."""
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.guid}/local-storage"))

    @property
    def local_storage_path(self) -> str:
        """Where the simulated disk is mounted, as 4.1's simulator names it."""
        return f"/mnt/{self.local_storage_uuid}"


def parse_size(text: str) -> int:
    """``16GiB`` → bytes; :class:`HostUrlError` when it is not a size."""
    match = _SIZE.match(text)
    if match is None:
        raise HostUrlError(f"{text!r} is not a size (e.g. 16GiB, 512M, 1073741824)")
    return int(match.group(1)) * _UNITS[match.group(2).lower()]


def host_guid(url: str) -> str:
    """The stable identity of the host at ``url``: its server and path, not its query."""
    parts = urlsplit(url.strip())
    identity = f"{(parts.hostname or '').lower()}{parts.path.rstrip('/') or '/'}"
    return f"sim-{uuid.uuid5(uuid.NAMESPACE_URL, identity)}"


def parse_host_url(url: str) -> SimulatedHardware:
    """Read a simulated host's hardware from its URL (see the module doc).

    :raises HostUrlError: an option is not a positive number or a size, or cores are
        fewer than sockets.
    """
    parts = urlsplit(url.strip())
    options = {key.lower(): value for key, value in parse_qsl(parts.query)}
    profile = _seeded(options["seed"]) if "seed" in options else {}

    def number(key: str, default: int) -> int:
        text = options.get(key)
        if text is None:
            return profile.get(key, default)
        if not text.isdigit() or int(text) < 1:
            raise HostUrlError(f"host url option {key}={text!r} must be a positive integer")
        return int(text)

    sockets = number("sockets", DEFAULT_SOCKETS)
    cpus = number("cpus", max(DEFAULT_CPUS, sockets))
    if cpus < sockets:
        raise HostUrlError(f"host url option cpus={cpus} is fewer than sockets={sockets}")
    if "memory" in options:
        memory = parse_size(options["memory"])
    else:
        memory = profile.get("memory", DEFAULT_MEMORY)
    if memory < 1:
        raise HostUrlError("host url option memory must be positive")
    vms = options.get("vms", "0")
    if not vms.isdigit():
        raise HostUrlError(f"host url option vms={vms!r} must be a whole number")
    local = options.get("localstorage")
    try:
        local_bytes = DEFAULT_LOCAL_STORAGE if local is None else parse_size(local)
    except HostUrlError as exc:
        raise HostUrlError(f"host url option localstorage: {exc}") from None
    name = parts.path.strip("/").rsplit("/", 1)[-1] or parts.hostname or "simulator"
    return SimulatedHardware(
        guid=host_guid(url),
        name=name,
        sockets=sockets,
        cpus=cpus,
        speed_mhz=number("speed", DEFAULT_SPEED_MHZ),
        memory_bytes=memory,
        version=options.get("version", DEFAULT_VERSION),
        expect_password=options.get("expectpassword"),
        vms=int(vms),
        local_storage_bytes=local_bytes,
    )


def cluster_member_urls(url: str) -> list[str]:
    """The host URLs of the simulated cluster manager at ``url`` (``hosts=N``).

    :raises HostUrlError: ``url`` has no positive ``hosts`` option.
    """
    parts = urlsplit(url.strip())
    pairs = parse_qsl(parts.query)
    counts = [value for key, value in pairs if key.lower() == "hosts"]
    if not counts or not counts[-1].isdigit() or int(counts[-1]) < 1:
        raise HostUrlError(
            f"{url} names no simulated cluster: give hosts=N (a positive number) in its query"
        )
    query = urlencode([(key, value) for key, value in pairs if key.lower() != "hosts"])
    base = parts.path.rstrip("/")
    return [
        urlunsplit((parts.scheme, parts.netloc, f"{base}/host{index}", query, ""))
        for index in range(int(counts[-1]))
    ]


def _seeded(seed: str) -> dict[str, int]:
    """A repeatable hardware profile for ``seed`` (any text)."""
    rng = random.Random(seed)
    sockets = rng.choice((1, 2, 4))
    return {
        "sockets": sockets,
        "cpus": sockets * rng.choice((2, 4, 8, 16)),
        "speed": rng.choice((2000, 2400, 2800, 3200)),
        "memory": rng.choice((8, 16, 32, 64, 128)) * 1024**3,
    }
