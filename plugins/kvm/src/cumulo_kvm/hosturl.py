"""From an ``addHost`` URL to the libvirt URI the driver opens, and the host's options.

4.1 adds a KVM host as ``http://<address>`` (its agent then connected back); cumulo
has no agent and talks to the host's libvirtd directly, so the URL decides how:

==========================================  =============================================
``addHost url=``                            libvirt URI opened
==========================================  =============================================
``http://10.1.1.5`` (or ``10.1.1.5``)       ``qemu+tcp://10.1.1.5/system`` (port 16509,
                                            the seed's ``listen_tcp`` libvirtd set-up)
``http://10.1.1.5?libvirt.transport=ssh``   ``qemu+ssh://<username>@10.1.1.5/system``
``qemu+tcp://10.1.1.5:16509/system``        as given (any libvirt URI of the ``qemu``
``qemu+ssh://root@10.1.1.5/system``         driver: ``+tcp``, ``+tls``, ``+ssh``,
``qemu+libssh://10.1.1.5/system``           ``+libssh``; libvirt's own query parameters
                                            such as ``keyfile`` or ``socket`` pass through)
``qemu+unix://localhost/system``            ``qemu+unix:///system``: the management
``http://localhost?libvirt.transport=unix`` server's own libvirtd (single-box install,
                                            REQ-KVM-09; the test bed)
==========================================  =============================================

``libvirt.transport`` is one of ``tcp`` (default), ``tls``, ``ssh``, ``libssh``, ``unix``.
The ``addHost`` user name becomes the SSH user when the URL names none; the password is
offered to libvirt when it asks for one (SASL on ``tcp``, ``libssh``) and never appears
in a URI or a log line.

The host's own settings, 4.1's ``agent.properties`` keys, ride in the same query (they
are removed before libvirt sees the URI) or in :attr:`HostConnection.details`; the URL
wins:

- ``kvm.domain.type``: ``kvm`` (hardware acceleration, production) or ``qemu``
  (software emulation, for hosts without usable KVM). Unset: ``kvm`` when the host's
  libvirt offers it, else ``qemu``.
- ``network.bridge.type``: ``native`` (Linux bridges, default) or ``openvswitch``
  (REQ-KVM-02, REQ-HOST-04).
- ``public.network.device`` (default ``cloudbr0``), ``private.network.device``
  (``cloudbr1``), ``guest.network.device`` (the private one): the bridges used when a
  NIC's traffic carries no label (REQ-KVM-05).

libvirt's ``test:///...`` URIs are accepted too (development and unit tests).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from cumulo.sdk import HostConnection, OperationFailed

TRANSPORT_KEY = "libvirt.transport"
DOMAIN_TYPE_KEY = "kvm.domain.type"
BRIDGE_TYPE_KEY = "network.bridge.type"
PUBLIC_DEVICE_KEY = "public.network.device"
PRIVATE_DEVICE_KEY = "private.network.device"
GUEST_DEVICE_KEY = "guest.network.device"
OPTION_KEYS = frozenset(
    {
        TRANSPORT_KEY,
        DOMAIN_TYPE_KEY,
        BRIDGE_TYPE_KEY,
        PUBLIC_DEVICE_KEY,
        PRIVATE_DEVICE_KEY,
        GUEST_DEVICE_KEY,
    }
)
TRANSPORTS = ("tcp", "tls", "ssh", "libssh", "unix")
DOMAIN_TYPES = ("kvm", "qemu")
BRIDGE_TYPES = ("native", "openvswitch")
DEFAULT_PUBLIC_BRIDGE = "cloudbr0"
DEFAULT_PRIVATE_BRIDGE = "cloudbr1"
LOCAL_ADDRESS = "localhost"


class HostUrlError(OperationFailed):
    """The ``addHost`` URL or a host option is not usable (the message names which)."""


@dataclass(frozen=True)
class HostOptions:
    """How to reach a KVM host and how to build its domains.

    :param uri: the libvirt URI to open (never carries a password).
    :param address: the host's address as the management server and the console proxy
        reach it (the URL's server; ``localhost`` for the local libvirtd).
    :param local: the URI opens the management server's own libvirtd.
    :param domain_type: ``kvm``, ``qemu``, or ``None`` to pick from the host's
        capabilities.
    :param bridge_type: ``native`` or ``openvswitch``.
    :param public_bridge: the bridge of public traffic without a label.
    :param private_bridge: the bridge of management/private traffic without a label.
    :param guest_bridge: the bridge of guest traffic without a label.
    """

    uri: str
    address: str
    local: bool = False
    domain_type: str | None = None
    bridge_type: str = "native"
    public_bridge: str = DEFAULT_PUBLIC_BRIDGE
    private_bridge: str = DEFAULT_PRIVATE_BRIDGE
    guest_bridge: str = DEFAULT_PRIVATE_BRIDGE

    @property
    def openvswitch(self) -> bool:
        """NICs plug into Open vSwitch bridges (``network.bridge.type=openvswitch``)."""
        return self.bridge_type == "openvswitch"


def _choice(options: Mapping[str, str], key: str, allowed: tuple[str, ...]) -> str | None:
    value = options.get(key, "").strip().lower()
    if not value:
        return None
    if value not in allowed:
        raise HostUrlError(f"{key}={value!r} is not one of {', '.join(allowed)}")
    return value


def _bridge(options: Mapping[str, str], key: str, default: str) -> str:
    value = options.get(key, "").strip()
    if not value:
        return default
    if any(c.isspace() or c in "/'\"<>&" for c in value) or len(value) > 15:
        # Linux interface names: at most 15 bytes, no slash or blank.
        raise HostUrlError(f"{key}={value!r} is not a network interface name")
    return value


def _netloc(user: str, host: str, port: int | None) -> str:
    shown = f"[{host}]" if ":" in host else host
    prefix = f"{quote(user, safe='')}@" if user else ""
    return f"{prefix}{shown}{f':{port}' if port else ''}"


def host_options(connection: HostConnection) -> HostOptions:
    """Read ``connection`` (module doc) into :class:`HostOptions`.

    :raises HostUrlError: an unknown scheme or transport, a URL naming no host where
        one is needed, or an invalid option value.
    """
    text = connection.url.strip()
    if not text:
        raise HostUrlError("the host URL is empty")
    parts = urlsplit(text if "://" in text else f"http://{text}")
    scheme = parts.scheme.lower()
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    options = {k: v for k, v in connection.details.items() if k in OPTION_KEYS}
    options.update({k: v for k, v in pairs if k in OPTION_KEYS})
    passthrough = [(k, v) for k, v in pairs if k not in OPTION_KEYS]
    try:
        port = parts.port
    except ValueError as exc:
        raise HostUrlError(f"the host URL {text!r} has an invalid port") from exc
    host = parts.hostname or ""
    user = parts.username or connection.username
    if scheme in ("http", "https"):
        if not host:
            raise HostUrlError(f"the host URL {text!r} names no host")
        transport = _choice(options, TRANSPORT_KEY, TRANSPORTS) or "tcp"
        driver_path, port = "/system", None  # http's port is not libvirt's
    elif scheme == "qemu" or scheme.startswith("qemu+"):
        transport = scheme.partition("+")[2] or ("tls" if host else "unix")
        if transport not in TRANSPORTS:
            raise HostUrlError(
                f"libvirt transport {transport!r} is not one of {', '.join(TRANSPORTS)}"
            )
        driver_path = parts.path or "/system"
    elif scheme == "test" or scheme.startswith("test+"):
        query = f"?{urlencode(passthrough)}" if passthrough else ""
        return _finish(f"{scheme}://{parts.netloc}{parts.path}{query}", host, True, options)
    else:
        raise HostUrlError(
            f"the host URL {text!r} is neither http://<host> nor a qemu libvirt URI"
            " (qemu+tcp://, qemu+ssh://, qemu+libssh://, qemu+tls://, qemu+unix://)"
        )
    query = f"?{urlencode(passthrough)}" if passthrough else ""
    if transport == "unix":
        # libvirt refuses a server name with the unix transport: the name is ours.
        return _finish(f"qemu+unix://{driver_path}{query}", host, True, options)
    if not host:
        raise HostUrlError(f"the host URL {text!r} names no host for transport {transport}")
    login = user if transport in ("ssh", "libssh") else ""
    uri = f"qemu+{transport}://{_netloc(login, host, port)}{driver_path}{query}"
    return _finish(uri, host, False, options)


def _finish(uri: str, host: str, local: bool, options: Mapping[str, str]) -> HostOptions:
    private = _bridge(options, PRIVATE_DEVICE_KEY, DEFAULT_PRIVATE_BRIDGE)
    return HostOptions(
        uri=uri,
        address=host or LOCAL_ADDRESS,
        local=local,
        domain_type=_choice(options, DOMAIN_TYPE_KEY, DOMAIN_TYPES),
        bridge_type=_choice(options, BRIDGE_TYPE_KEY, BRIDGE_TYPES) or "native",
        public_bridge=_bridge(options, PUBLIC_DEVICE_KEY, DEFAULT_PUBLIC_BRIDGE),
        private_bridge=private,
        guest_bridge=_bridge(options, GUEST_DEVICE_KEY, private),
    )
