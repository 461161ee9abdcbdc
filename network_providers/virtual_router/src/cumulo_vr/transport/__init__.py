"""Transports, chosen by a router's :attr:`~cumulo.sdk.network.RouterRef.access_uri`.

- ``ssh://[user@]host[:port][?identity=key&dir=/var/lib/cumulo]``: SSH to a router VM
  (production; port 3922); daemons run;
- ``netns://<namespace>[?dir=/run/cumulo-vr/<namespace>]``: ``ip netns exec`` (tests);
  daemons run;
- ``file:///dir``: files only (routers on simulated hosts); no daemon.

Each provider gets its own sub-directory (``vr``, ``sg``) of the router's directory.
"""

from __future__ import annotations

import posixpath
from urllib.parse import parse_qs, unquote, urlsplit

from cumulo.sdk.network import ProviderRefused
from cumulo_vr.layout import CONTROL_SSH_PORT
from cumulo_vr.transport import netns, ssh
from cumulo_vr.transport.base import (
    GenerationConflict,
    Push,
    RouterTransport,
    Snapshot,
)
from cumulo_vr.transport.file import FileTransport
from cumulo_vr.transport.shell import ShellTransport

__all__ = [
    "FileTransport",
    "GenerationConflict",
    "Push",
    "RouterTransport",
    "ShellTransport",
    "Snapshot",
    "transport_for",
]


def _query(uri: str) -> dict[str, str]:
    return {key: values[-1] for key, values in parse_qs(urlsplit(uri).query).items()}


def transport_for(access_uri: str, component: str) -> RouterTransport:
    """The transport reaching ``component``'s directory on the router at
    ``access_uri``.

    :raises ProviderRefused: the URI's scheme is none of ``ssh``, ``netns``, ``file``.
    """
    parts = urlsplit(access_uri)
    query = _query(access_uri)
    if parts.scheme == "file":
        root = unquote(parts.path)
        if not root.startswith("/"):
            raise ProviderRefused(f"router access URI {access_uri!r} needs an absolute path")
        return FileTransport(posixpath.join(root, component))
    if parts.scheme == "netns":
        namespace = parts.netloc or parts.path.strip("/")
        root = query.get("dir") or posixpath.join(netns.DEFAULT_ROOT, namespace)
        return ShellTransport(netns.NetnsRunner(namespace), posixpath.join(root, component))
    if parts.scheme == "ssh":
        if not parts.hostname:
            raise ProviderRefused(f"router access URI {access_uri!r} has no host")
        runner = ssh.SshRunner(
            host=parts.hostname,
            port=parts.port or CONTROL_SSH_PORT,
            user=unquote(parts.username) if parts.username else "root",
            identity=query.get("identity"),
        )
        root = query.get("dir") or ssh.DEFAULT_ROOT
        # A router VM owns its /etc: the VPN may link strongSwan's files there.
        return ShellTransport(
            runner, posixpath.join(root, component), env={"CUMULO_VR_OWNS_ETC": "1"}
        )
    raise ProviderRefused(
        f"router access URI {access_uri!r}: unsupported scheme (ssh, netns or file)"
    )
