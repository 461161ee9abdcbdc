"""Checks every rule command applies to its ports, protocol, ICMP fields and CIDRs, with
4.1's rules and a 431 naming the parameter. Shared by firewall, port forwarding, load
balancing and security groups (whose ports may be 0, as 4.1 allows there)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from cumulo.sdk.errors import InvalidParameterValue

TCP, UDP, ICMP, ALL = "tcp", "udp", "icmp", "all"
MAX_PORT = 65535
ANY = -1
"""ICMP type or code meaning "any" (4.1)."""


def protocol(value: str | None, allowed: Iterable[str], param: str = "protocol") -> str:
    """``value`` in lower case, if it is one of ``allowed``.

    :raises InvalidParameterValue: missing or not allowed (431 naming ``param``).
    """
    choices = tuple(allowed)
    text = (value or "").strip().lower()
    if text not in choices:
        raise InvalidParameterValue(
            f"{param}: invalid protocol {value!r}; valid values are {', '.join(choices)}"
        )
    return text


def port(value: int | None, param: str, *, minimum: int = 1) -> int | None:
    """``value`` if it is a port number (``None`` passes).

    :raises InvalidParameterValue: outside ``minimum``..65535.
    """
    if value is not None and not minimum <= value <= MAX_PORT:
        raise InvalidParameterValue(
            f"{param}: {value} is an invalid port; give a number from {minimum} to {MAX_PORT}"
        )
    return value


def port_range(
    start: int | None,
    end: int | None,
    start_param: str,
    end_param: str,
    *,
    minimum: int = 1,
) -> tuple[int | None, int | None]:
    """``(start, end)`` with ``end`` defaulting to ``start`` (4.1's commands do so).

    :raises InvalidParameterValue: a bad port, an end without a start, or start > end.
    """
    port(start, start_param, minimum=minimum)
    port(end, end_param, minimum=minimum)
    if start is None:
        if end is not None:
            raise InvalidParameterValue(f"{start_param}: required when {end_param} is given")
        return None, None
    if end is None:
        end = start
    if start > end:
        raise InvalidParameterValue(
            f"{start_param}: the start port {start} can't be bigger than the end port {end}"
        )
    return start, end


@dataclass(frozen=True)
class Icmp:
    """An ICMP type and code (``-1``: any)."""

    type: int
    code: int


def icmp(kind: int | None, code: int | None) -> Icmp:
    """4.1's ICMP fields: missing ones mean any (-1); a type 0..255, a code 0..15, and no
    code without a type.

    :raises InvalidParameterValue: naming ``icmptype`` or ``icmpcode``.
    """
    kind = ANY if kind is None else kind
    code = ANY if code is None else code
    if kind != ANY and not 0 <= kind <= 255:
        raise InvalidParameterValue(f"icmptype: invalid ICMP type {kind}; give -1 or 0 to 255")
    if code != ANY and not 0 <= code <= 15:
        raise InvalidParameterValue(f"icmpcode: invalid ICMP code {code}; give -1 or 0 to 15")
    if kind == ANY and code != ANY:
        raise InvalidParameterValue(
            f"icmpcode: an ICMP code ({code}) needs an ICMP type; give icmptype too"
        )
    return Icmp(kind, code)


def no_ports_for(proto: str, start: int | None, end: int | None) -> None:
    """ICMP and "all" rules take no ports (4.1).

    :raises InvalidParameterValue: naming ``startport``.
    """
    if start is not None or end is not None:
        raise InvalidParameterValue(
            f"startport: ports are only valid with protocol tcp or udp, not {proto}"
        )


def no_icmp_for(proto: str, kind: int | None, code: int | None) -> None:
    """Only ICMP rules take an ICMP type and code (4.1).

    :raises InvalidParameterValue: naming ``icmptype``.
    """
    if kind is not None or code is not None:
        raise InvalidParameterValue(
            f"icmptype: icmptype and icmpcode are only valid with protocol icmp, not {proto}"
        )


def cidr(text: str, param: str = "cidrlist") -> str:
    """``text`` as a normalised IPv4 network (``10.1.1.0/24``; a bare address is /32).

    :raises InvalidParameterValue: not a CIDR, host bits set, or not IPv4.
    """
    value = text.strip()
    try:
        network = ipaddress.ip_network(value if "/" in value else f"{value}/32", strict=True)
    except ValueError:
        raise InvalidParameterValue(f"{param}: {value!r} is not a valid CIDR") from None
    if network.version != 4:
        raise InvalidParameterValue(f"{param}: {value!r} is not an IPv4 CIDR")
    return str(network)


def cidrs(values: Iterable[str] | None, param: str = "cidrlist") -> tuple[str, ...]:
    """The CIDRs of a ``cidrlist`` (a comma-separated list), normalised, duplicates
    dropped, order kept; ``()`` for none given.

    :raises InvalidParameterValue: one of them is not a valid IPv4 CIDR.
    """
    found: dict[str, None] = {}
    for value in values or ():
        for item in str(value).split(","):
            if item.strip():
                found[cidr(item, param)] = None
    return tuple(found)


def within(inner: str, outer: str) -> bool:
    """Whether network ``inner`` lies inside network ``outer``."""
    a, b = ipaddress.ip_network(inner), ipaddress.ip_network(outer)
    return a.version == b.version and a.subnet_of(b)  # type: ignore[arg-type]


def overlaps(a_start: int, a_end: int, b_start: int, b_end: int) -> bool:
    """Whether two inclusive port ranges share a port."""
    return a_start <= b_end and b_start <= a_end
