"""Checks of values that end up inside configuration files.

Everything rendered comes from the core, which validated it for the API; these checks
are the router's own line of defence: a value that would change the meaning of a
configuration line (a space, a quote, a newline in an address or a name) is refused
with :class:`ProviderRefused` instead of being written.
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache

from cumulo.sdk.network import ProviderRefused

_TOKEN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@-]*$")
_DURATION = re.compile(r"^[0-9]+(ms|s|m|h|d)?$")
_SIZE = re.compile(r"^[0-9]+[kmg]?$", re.IGNORECASE)


# Addresses repeat across rules (a VM's address in its NIC, forwarding and balancing
# rules): parsing each once keeps rendering linear and cheap.
@lru_cache(maxsize=65536)
def check_ip(address: str) -> str:
    """An IPv4 address, as given."""
    try:
        ipaddress.IPv4Address(address)
    except ValueError:
        raise ProviderRefused(f"invalid IPv4 address {address!r}") from None
    return address


@lru_cache(maxsize=65536)
def check_cidr(cidr: str) -> str:
    """An IPv4 CIDR, normalised to its network (``10.1.1.5/24`` → ``10.1.1.0/24``)."""
    try:
        return str(ipaddress.IPv4Network(cidr, strict=False))
    except ValueError:
        raise ProviderRefused(f"invalid CIDR {cidr!r}") from None


def prefix_length(netmask: str) -> int:
    """``255.255.255.0`` → 24."""
    try:
        return ipaddress.IPv4Network(f"0.0.0.0/{netmask}").prefixlen
    except ValueError:
        raise ProviderRefused(f"invalid netmask {netmask!r}") from None


def check_protocol(protocol: str, allowed: tuple[str, ...]) -> str:
    """A protocol name among ``allowed``, lower-cased."""
    value = protocol.lower()
    if value not in allowed:
        raise ProviderRefused(f"protocol {protocol!r} is not supported (use {', '.join(allowed)})")
    return value


def check_token(value: str, what: str) -> str:
    """A name, id or cookie name: letters, digits and ``._:@-``, no spaces."""
    if not _TOKEN.match(value) or len(value) > 255:
        raise ProviderRefused(f"invalid {what} {value!r}")
    return value


def check_duration(value: str, what: str) -> str:
    """An haproxy duration: ``30m``, ``3h``, ``20s``, ``1d`` or milliseconds."""
    if not _DURATION.match(value):
        raise ProviderRefused(f"invalid {what} {value!r} (e.g. 30m, 3h, 1d)")
    return value


def check_size(value: str, what: str) -> str:
    """An haproxy table size: ``200k``, ``1m``."""
    if not _SIZE.match(value):
        raise ProviderRefused(f"invalid {what} {value!r} (e.g. 200k)")
    return value


def check_secret(value: str, what: str) -> str:
    """A secret written between double quotes: no quote, backslash or line break."""
    if not value or any(c in value for c in '"\\\n\r\0'):
        raise ProviderRefused(f"the {what} contains a character the router cannot store")
    return value
