"""IPv4 arithmetic for ranges, as every infrastructure rule needs it.

Addresses are compared as 32-bit numbers; every parse error is a 431 naming the
parameter the text came from, so services can validate by calling these directly.
"""

from __future__ import annotations

import ipaddress

from cumulo.sdk.errors import InvalidParameterValue


def address(text: str, param: str) -> int:
    """``text`` (dotted IPv4) as a number; 431 naming ``param`` if it is not one."""
    try:
        return int(ipaddress.IPv4Address(text.strip()))
    except ValueError:
        raise InvalidParameterValue(f"Please specify a valid IP address for {param}") from None


def dotted(number: int) -> str:
    """The dotted form of an address number."""
    return str(ipaddress.IPv4Address(number))


def prefix_of(netmask: str, param: str = "netmask") -> int:
    """The prefix length of a dotted ``netmask``; 431 if it is not contiguous."""
    try:
        return ipaddress.IPv4Network(f"0.0.0.0/{netmask.strip()}").prefixlen
    except ValueError:
        raise InvalidParameterValue(f"Please specify a valid netmask for {param}") from None


def netmask_of(prefix: int) -> str:
    """The dotted netmask of a prefix length."""
    return str(ipaddress.IPv4Network(f"0.0.0.0/{prefix}").netmask)


def network_of(ip: int, prefix: int) -> ipaddress.IPv4Network:
    """The subnet of ``ip`` with ``prefix`` bits."""
    return ipaddress.IPv4Network((ip, prefix), strict=False)


def cidr(text: str, param: str) -> ipaddress.IPv4Network:
    """``a.b.c.d/n`` as a network (host bits allowed, as 4.1); 431 naming ``param``."""
    try:
        if "/" not in text:
            raise ValueError(text)
        return ipaddress.IPv4Network(text.strip(), strict=False)
    except ValueError:
        raise InvalidParameterValue(f"Please specify a valid CIDR for {param}") from None


def ip_range(
    start: str, end: str | None, *, start_param: str = "startip", end_param: str = "endip"
) -> tuple[int, int]:
    """``(start, end)`` numbers of a range; ``end`` defaults to ``start``.

    :raises InvalidParameterValue: a bad address, or end before start.
    """
    first = address(start, start_param)
    last = address(end, end_param) if end else first
    if last < first:
        raise InvalidParameterValue(f"Please specify a valid IP range: {end_param} < {start_param}")
    return first, last


def check_in_subnet(subnet: ipaddress.IPv4Network, first: int, last: int, what: str) -> None:
    """431 unless ``first``..``last`` lies inside ``subnet`` (``what`` names the range)."""
    low, high = int(subnet.network_address), int(subnet.broadcast_address)
    if not (low <= first <= last <= high):
        raise InvalidParameterValue(f"The {what} must be in the subnet {subnet}")
