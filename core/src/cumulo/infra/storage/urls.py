"""Storage URLs: what each protocol's URL must look like, parsed into stored columns.

Pure functions, no database. Every refusal is a 431 whose text starts with the
parameter name (``url``), says what was wrong and shows the expected form, so an
operator fixes the request without reading code.

Primary storage (``createStoragePool url=``; REQUIREMENTS CAP-14 §17.1, field sets of
the CloudStack API reference for CLVM and RBD, A-12):

=====================================  ==================  ============================
URL                                    pool type           hypervisors
=====================================  ==================  ============================
``nfs://server/path``                  NetworkFilesystem   XenServer, KVM, VMware
``iscsi://target/iqn/lun``             IscsiLUN            XenServer
``presetup://server/SR name-label``    PreSetup            XenServer
``SharedMountPoint:///path``           SharedMountPoint    KVM
``clvm:///volume-group``               CLVM                KVM
``rbd://user:secret@monitor/pool``     RBD                 KVM
``vmfs://vcenter/datacenter/store``    VMFS                VMware
``filesystem:///path`` (``file:``)     Filesystem (local)  every hypervisor
=====================================  ==================  ============================

The ``Simulator`` hypervisor accepts every protocol: it stands in for all of them.
Default ports are 4.1's (NFS 2049, iSCSI 3260, RBD 6789; 0 where none applies).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from urllib.parse import SplitResult, unquote, urlsplit

from cumulo.sdk.errors import InvalidParameterValue

URL_PARAM = "url"
LOCALHOST = "localhost"  # 4.1 stores this host for protocols served by every host itself


class PoolType(enum.StrEnum):
    """``storage_pool.pool_type``: 4.1's ``StoragePoolType`` names."""

    NETWORK_FILESYSTEM = "NetworkFilesystem"
    ISCSI_LUN = "IscsiLUN"
    SHARED_MOUNT_POINT = "SharedMountPoint"
    RBD = "RBD"
    CLVM = "CLVM"
    PRE_SETUP = "PreSetup"
    VMFS = "VMFS"
    FILESYSTEM = "Filesystem"


# What the operator knows each pool type as (the seed's protocol names), for messages.
PROTOCOL_NAMES: dict[PoolType, str] = {
    PoolType.NETWORK_FILESYSTEM: "NFS",
    PoolType.ISCSI_LUN: "iSCSI",
    PoolType.SHARED_MOUNT_POINT: "SharedMountPoint",
    PoolType.RBD: "RBD",
    PoolType.CLVM: "CLVM",
    PoolType.PRE_SETUP: "PreSetup",
    PoolType.VMFS: "VMFS",
    PoolType.FILESYSTEM: "Filesystem",
}

# URL scheme (lower case) -> pool type. ``file`` is 4.1's spelling of local storage.
_SCHEMES: dict[str, PoolType] = {
    "nfs": PoolType.NETWORK_FILESYSTEM,
    "iscsi": PoolType.ISCSI_LUN,
    "presetup": PoolType.PRE_SETUP,
    "sharedmountpoint": PoolType.SHARED_MOUNT_POINT,
    "clvm": PoolType.CLVM,
    "rbd": PoolType.RBD,
    "vmfs": PoolType.VMFS,
    "filesystem": PoolType.FILESYSTEM,
    "file": PoolType.FILESYSTEM,
}

# The seed's protocol table (§17.1) per hypervisor; local storage works everywhere.
HYPERVISOR_PROTOCOLS: dict[str, frozenset[PoolType]] = {
    "XenServer": frozenset(
        {PoolType.NETWORK_FILESYSTEM, PoolType.ISCSI_LUN, PoolType.PRE_SETUP, PoolType.FILESYSTEM}
    ),
    "KVM": frozenset(
        {
            PoolType.NETWORK_FILESYSTEM,
            PoolType.SHARED_MOUNT_POINT,
            PoolType.CLVM,
            PoolType.RBD,
            PoolType.FILESYSTEM,
        }
    ),
    "VMware": frozenset({PoolType.NETWORK_FILESYSTEM, PoolType.VMFS, PoolType.FILESYSTEM}),
    "Simulator": frozenset(PoolType),
}

_DEFAULT_PORTS = {PoolType.NETWORK_FILESYSTEM: 2049, PoolType.ISCSI_LUN: 3260, PoolType.RBD: 6789}
# iSCSI qualified names: iqn.yyyy-mm.reversed.domain[:anything], eui.<16 hex>, naa.<hex>.
_ISCSI_NAME = re.compile(r"^(iqn\.\d{4}-\d{2}\.[^\s/]+|eui\.[0-9A-Fa-f]{16}|naa\.[0-9A-Fa-f]+)$")
_VG_NAME = re.compile(r"^[A-Za-z0-9+_.\-]+$")

_FORMS = {
    PoolType.NETWORK_FILESYSTEM: "nfs://server/path",
    PoolType.ISCSI_LUN: "iscsi://target/iqn/lun",
    PoolType.PRE_SETUP: "presetup://server/SR name-label",
    PoolType.SHARED_MOUNT_POINT: "SharedMountPoint:///path",
    PoolType.CLVM: "clvm:///volume-group",
    PoolType.RBD: "rbd://user:secret@monitor/pool",
    PoolType.VMFS: "vmfs://vcenter/datacenter/datastore",
    PoolType.FILESYSTEM: "filesystem:///path",
}


@dataclass(frozen=True)
class PoolLocation:
    """Where a primary storage pool is, as ``storage_pool`` stores it.

    :param pool_type: the protocol.
    :param host_address: the server (NFS server, iSCSI target, Ceph monitor, vCenter),
        or ``localhost`` for protocols every host serves itself.
    :param path: the export, ``/iqn/lun``, SR name-label, mount point, volume group, Ceph
        pool, or ``/datacenter/datastore``, without percent-encoding.
    :param port: the protocol port (0 where none applies).
    :param user_info: RBD's ``user:secret`` (a secret: stored encrypted, never shown).
    """

    pool_type: PoolType
    host_address: str
    path: str
    port: int
    user_info: str | None = None

    @property
    def protocol(self) -> str:
        """The protocol as the seed names it (``NFS``, ``iSCSI`` ...)."""
        return PROTOCOL_NAMES[self.pool_type]


def _bad(pool_type: PoolType | None, url: str, why: str) -> InvalidParameterValue:
    form = f"; expected {_FORMS[pool_type]}" if pool_type is not None else ""
    return InvalidParameterValue(f"{URL_PARAM}: '{_shown(url)}' is not valid: {why}{form}")


def _shown(url: str) -> str:
    """``url`` with any user info (an RBD secret) masked, for messages and events."""
    return re.sub(r"//[^/@]*@", "//***@", url)


def masked(url: str) -> str:
    """:func:`_shown`, public: a storage URL safe to log or record in an event."""
    return _shown(url)


def _split(url: str) -> tuple[SplitResult, str]:
    text = url.strip()
    if "://" not in text:
        raise InvalidParameterValue(
            f"{URL_PARAM}: '{_shown(text)}' has no protocol; add one such as nfs:// as a prefix"
        )
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - urlsplit checks the port only when it is read
    except ValueError as exc:
        raise InvalidParameterValue(f"{URL_PARAM}: '{_shown(text)}' is not a URL: {exc}") from exc
    return parts, text


def _path_segments(parts: SplitResult) -> list[str]:
    return [unquote(segment) for segment in parts.path.split("/") if segment]


def parse_pool_url(url: str) -> PoolLocation:
    """Parse a ``createStoragePool`` URL (the table in this module's docstring).

    :raises InvalidParameterValue: no or unknown protocol, or a part the protocol needs
        is missing or malformed (431 naming ``url``).
    """
    parts, text = _split(url)
    scheme = parts.scheme.lower()
    pool_type = _SCHEMES.get(scheme)
    if pool_type is None:
        known = ", ".join(sorted({f"{s}://" for s in _SCHEMES}))
        raise InvalidParameterValue(
            f"{URL_PARAM}: unknown storage protocol '{parts.scheme}'; expected one of {known}"
        )
    host = unquote(parts.hostname or "")
    segments = _path_segments(parts)
    port = parts.port if parts.port is not None else _DEFAULT_PORTS.get(pool_type, 0)
    if pool_type is not PoolType.RBD and parts.username is not None:
        raise _bad(pool_type, text, "only rbd:// URLs carry a user name")

    if pool_type is PoolType.NETWORK_FILESYSTEM:
        if not host or not segments:
            raise _bad(pool_type, text, "the server and the exported path are both required")
        return PoolLocation(pool_type, host, "/" + "/".join(segments), port)
    if pool_type is PoolType.ISCSI_LUN:
        return _iscsi(text, host, segments, port)
    if pool_type is PoolType.PRE_SETUP:
        if len(segments) != 1:
            raise _bad(pool_type, text, "the SR name-label must be one path element")
        return PoolLocation(pool_type, host or LOCALHOST, "/" + segments[0], port)
    if pool_type in (PoolType.SHARED_MOUNT_POINT, PoolType.FILESYSTEM):
        if not segments:
            raise _bad(pool_type, text, "the mount point path is required")
        return PoolLocation(pool_type, host or LOCALHOST, "/" + "/".join(segments), port)
    if pool_type is PoolType.CLVM:
        if len(segments) != 1 or not _VG_NAME.match(segments[0]):
            raise _bad(pool_type, text, "one LVM volume group name is required")
        return PoolLocation(pool_type, host or LOCALHOST, segments[0], port)
    if pool_type is PoolType.RBD:
        return _rbd(text, parts, host, segments, port)
    # VMFS: the server is the vCenter; the path names its datacenter and datastore.
    if not host or len(segments) != 2:
        raise _bad(pool_type, text, "the vCenter server, datacenter and datastore are required")
    return PoolLocation(pool_type, host, "/" + "/".join(segments), port)


def _iscsi(text: str, host: str, segments: list[str], port: int) -> PoolLocation:
    pool_type = PoolType.ISCSI_LUN
    if not host or len(segments) != 2:
        raise _bad(pool_type, text, "the target, its IQN and the LUN are required")
    iqn, lun = segments
    if not _ISCSI_NAME.match(iqn):
        raise _bad(pool_type, text, f"'{iqn}' is not an iSCSI qualified name (iqn.yyyy-mm.…)")
    if not lun.isdigit():
        raise _bad(pool_type, text, f"the LUN '{lun}' is not a number")
    return PoolLocation(pool_type, host, f"/{iqn}/{int(lun)}", port)


def _rbd(text: str, parts: SplitResult, host: str, segments: list[str], port: int) -> PoolLocation:
    pool_type = PoolType.RBD
    if not host or len(segments) != 1:
        raise _bad(pool_type, text, "the Ceph monitor and one pool name are required")
    user_info = None
    if parts.username is not None:
        user, secret = unquote(parts.username), unquote(parts.password or "")
        if not user or not secret:
            raise _bad(pool_type, text, "give both the cephx user and its secret, or neither")
        user_info = f"{user}:{secret}"
    return PoolLocation(pool_type, host, segments[0], port, user_info)


def check_hypervisor(location: PoolLocation, hypervisor_type: str) -> None:
    """Refuse a protocol the cluster's hypervisor cannot use (seed table, §17.1).

    Hypervisors the table does not name (``BareMetal``, ``Ovm`` ...) are not checked.

    :raises InvalidParameterValue: 431 naming ``url`` and listing what would work.
    """
    allowed = HYPERVISOR_PROTOCOLS.get(hypervisor_type)
    if allowed is None or location.pool_type in allowed:
        return
    usable = ", ".join(sorted(PROTOCOL_NAMES[pool_type] for pool_type in allowed))
    raise InvalidParameterValue(
        f"{URL_PARAM}: {location.protocol} storage cannot be used by a {hypervisor_type}"
        f" cluster; {hypervisor_type} supports {usable}"
    )


@dataclass(frozen=True)
class SecondaryLocation:
    """An NFS export (``nfs://server/path``) or, for the embedded default, a local
    directory of the management server (``file:///path``).

    :param scheme: ``nfs`` or ``file``.
    :param host_address: the NFS server (``localhost`` for a directory).
    :param path: the exported path or the directory.
    :param url: the URL normalised (scheme lower case, no trailing slash).
    """

    scheme: str
    host_address: str
    path: str
    url: str


def parse_secondary_url(url: str) -> SecondaryLocation:
    """Parse an ``addSecondaryStorage`` URL.

    :raises InvalidParameterValue: 431 naming ``url``.
    """
    parts, text = _split(url)
    scheme = parts.scheme.lower()
    segments = _path_segments(parts)
    path = "/" + "/".join(segments)
    if parts.username is not None:
        raise InvalidParameterValue(
            f"{URL_PARAM}: secondary storage URLs carry no user name or password"
        )
    if scheme == "nfs":
        host = unquote(parts.hostname or "")
        if not host or not segments:
            raise InvalidParameterValue(
                f"{URL_PARAM}: '{text}' is not valid: the NFS server and the exported path are"
                " both required; expected nfs://server/path"
            )
        netloc = host if parts.port is None else f"{host}:{parts.port}"
        return SecondaryLocation("nfs", host, path, f"nfs://{netloc}{path}")
    if scheme == "file":
        if parts.hostname not in (None, "", LOCALHOST) or not segments:
            raise InvalidParameterValue(
                f"{URL_PARAM}: '{text}' is not valid: a local directory of the management"
                " server is required; expected file:///path"
            )
        return SecondaryLocation("file", LOCALHOST, path, f"file://{path}")
    raise InvalidParameterValue(
        f"{URL_PARAM}: secondary storage must be NFS (nfs://server/path) or a local"
        f" directory (file:///path), not '{parts.scheme}'"
    )


def parse_swift_url(url: str) -> str:
    """Check a Swift endpoint (``http(s)://host[:port]/...``) and return it stripped.

    :raises InvalidParameterValue: 431 naming ``url``.
    """
    parts, text = _split(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise InvalidParameterValue(
            f"{URL_PARAM}: '{_shown(text)}' is not a Swift endpoint; expected"
            " http(s)://host[:port]/auth/v1.0"
        )
    if parts.username is not None:
        raise InvalidParameterValue(
            f"{URL_PARAM}: give the Swift user and key as username and key, not in the URL"
        )
    return text
