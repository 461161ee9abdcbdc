"""The argument syntax of ``cloudstack-setup-databases``.

``user:password@host[:port]`` names the database user the management server will use
and the server it lives on; ``--deploy-as=user:password`` names the privileged account
that creates databases and users. Passwords may be empty (``cloud:@db``,
``--deploy-as=root:``) and may contain ``:`` and ``@``: the user ends at the first
``:`` and the host starts after the last ``@``, because user and host names never hold
those characters while passwords may.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass, field

MYSQL_DEFAULT_PORT = 3306


class ArgumentError(ValueError):
    """An argument does not follow the syntax; the message says what is expected."""


@dataclass(frozen=True)
class Credentials:
    """A user name and its password (possibly empty). ``repr`` never shows the password."""

    user: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class DatabaseTarget:
    """The positional argument: who the management server connects as, and where."""

    credentials: Credentials
    host: str
    port: int = MYSQL_DEFAULT_PORT

    @property
    def location(self) -> str:
        """``host:port`` as shown in messages (IPv6 hosts in brackets)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def parse_credentials(text: str, *, what: str) -> Credentials:
    """Split ``user:password`` (or ``user`` alone: empty password).

    :param what: how the argument is named in the error message.
    :raises ArgumentError: the user name is empty.
    """
    user, _, password = text.partition(":")
    if not user:
        raise ArgumentError(f"{what} must look like user:password (the user is missing)")
    return Credentials(user=user, password=password)


def parse_target(text: str) -> DatabaseTarget:
    """Parse ``user:password@host[:port]``; ``[v6addr]:port`` is accepted for IPv6.

    :raises ArgumentError: no ``@``, an empty user or host, or a port that is not a
        number between 1 and 65535. The message never repeats the password.
    """
    login, at, address = text.rpartition("@")
    if not at:
        raise ArgumentError(
            "the database must be given as user:password@host[:port],"
            " e.g. cloud:<password>@localhost"
        )
    credentials = parse_credentials(login, what="the database login")
    host, port = _split_host_port(address)
    return DatabaseTarget(credentials=credentials, host=host, port=port)


def _split_host_port(address: str) -> tuple[str, int]:
    port_text = ""
    if address.startswith("["):
        host, bracket, rest = address[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise ArgumentError(f"malformed database host {address!r}: expected [address]:port")
        port_text = rest[1:]
    elif address.count(":") == 1:
        host, _, port_text = address.partition(":")
    else:
        # No colon, or a bare IPv6 address without a port.
        host = address
    if not host:
        raise ArgumentError("the database host is missing after '@'")
    if not port_text:
        return host, MYSQL_DEFAULT_PORT
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ArgumentError(f"database port must be a number from 1 to 65535, not {port_text!r}")
    return host, int(port_text)


def validate_ip(text: str) -> str:
    """The management-server IP (``-i``) in canonical form.

    :raises ArgumentError: ``text`` is not an IPv4 or IPv6 address.
    """
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise ArgumentError(f"-i must be an IP address, not {text!r}") from None


def local_ip() -> str:
    """This host's address as other management servers would see it.

    Asks the kernel which source address a datagram to a documentation address
    (TEST-NET-1, never routed, no packet is sent) would use; falls back to resolving
    the host name, then to ``127.0.0.1`` on a machine with no network at all.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))
            address = str(probe.getsockname()[0])
            if address and address != "0.0.0.0":
                return address
        except OSError:
            pass
    try:
        return socket.gethostbyname(socket.gethostname())
    except OSError:
        return "127.0.0.1"
