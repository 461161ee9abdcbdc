"""Secondary storage as the management server sees it: a directory.

4.1 ran a secondary storage VM to fill and read NFS stores; cumulo's KVM plugin does
that work in the management server itself, and the bytes reach hosts through libvirt
streams (:mod:`cumulo_kvm.volumes`), so a host never needs to reach the store:

- ``file:///path``: a directory of the management server (the embedded default);
- ``nfs://server/export``: mounted on the management server (as REQ-INST §5.8 has it
  mounted for the system VM templates), under ``$CUMULO_KVM_MOUNT_DIR`` (default
  ``/var/lib/cumulo/kvm/mnt``) in a directory named after the export, with
  ``mount -t nfs`` (the management server runs as root and has an NFS client).

Objects are files at their 4.1 paths (``template/tmpl/<account>/<id>/<file>``,
``snapshots/...``); downloads go to a hidden temporary file renamed into place, so a
failed one leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote, urlsplit

from cumulo.sdk import StorageCapacity, StorageOperationFailed, StorageUnreachable, StorageUrl
from cumulo.sdk.storage import FetchResult

MOUNT_DIR_ENV = "CUMULO_KVM_MOUNT_DIR"
DEFAULT_MOUNT_DIR = "/var/lib/cumulo/kvm/mnt"
TEMPORARY_PREFIX = ".download-"
MOUNT_TIMEOUT = 120.0
# 4.1's top-level directories of a store: what follows the export in an object's URL.
_LAYOUT = ("/template/", "/snapshots/", "/volumes/", "/iso/")


def mount_root() -> Path:
    """Where NFS stores are mounted."""
    return Path(os.environ.get(MOUNT_DIR_ENV) or DEFAULT_MOUNT_DIR)


def _mount_point(server: str, export: str) -> Path:
    digest = hashlib.sha1(f"{server}:{export}".encode(), usedforsecurity=False).hexdigest()
    return mount_root() / digest[:16]


def _mounted(point: Path) -> bool:
    return os.path.ismount(point)


def mount_nfs(server: str, export: str) -> Path:
    """The local mount of ``server:export``, mounting it if needed.

    :raises StorageUnreachable: the mount failed or timed out.
    """
    point = _mount_point(server, export)
    if _mounted(point):
        return point
    point.mkdir(parents=True, exist_ok=True)
    command = ["mount", "-t", "nfs", "-o", "soft,timeo=133,retrans=2", f"{server}:{export}"]
    try:
        subprocess.run(
            [*command, str(point)],
            check=True,
            capture_output=True,
            text=True,
            timeout=MOUNT_TIMEOUT,
        )
    except subprocess.TimeoutExpired as exc:
        raise StorageUnreachable(f"mounting {server}:{export} timed out") from exc
    except (OSError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", "") or str(exc)
        raise StorageUnreachable(f"mounting {server}:{export} failed: {detail.strip()}") from exc
    return point


def store_directory(url: str) -> Path:
    """The directory of the store at ``url`` (``file://`` or ``nfs://``, mounted).

    :raises StorageOperationFailed: another scheme, or a missing directory.
    :raises StorageUnreachable: the NFS export could not be mounted.
    """
    parsed = StorageUrl.parse(url)
    if parsed.scheme == "file":
        directory = Path(parsed.path)
    elif parsed.scheme == "nfs":
        directory = mount_nfs(parsed.host, parsed.path.rstrip("/") or "/")
    else:
        raise StorageOperationFailed(f"secondary storage {url!r} is neither file:// nor nfs://")
    if not directory.is_dir():
        raise StorageOperationFailed(f"store directory {directory} does not exist")
    return directory


def object_file(url: str) -> Path:
    """The local file of an object given by its full URL (a template's install URL:
    the store's URL joined with the object's path).

    :raises StorageOperationFailed: not a file:// or nfs:// URL, or no such file.
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    path = unquote(parts.path)
    if scheme == "file":
        found = Path(path)
    elif scheme == "nfs":
        cut = min((i for i in (path.find(m) for m in _LAYOUT) if i > 0), default=-1)
        if cut < 0:
            raise StorageOperationFailed(f"{url}: cannot tell the NFS export from the path")
        found = mount_nfs(parts.hostname or "", path[:cut]) / path[cut + 1 :]
    else:
        raise StorageOperationFailed(f"{url} is not on file:// or nfs:// secondary storage")
    if not found.is_file():
        raise StorageOperationFailed(f"{url}: no such file on secondary storage")
    return found


def inside(directory: Path, path: str) -> Path:
    """``directory/path``, refusing a path that would leave the directory."""
    target = (directory / path.lstrip("/")).resolve()
    if not target.is_relative_to(directory.resolve()):
        raise StorageOperationFailed(f"object path {path!r} leaves the store directory")
    return target


def capacity(directory: Path) -> StorageCapacity:
    """The filesystem's size and use."""
    usage = shutil.disk_usage(directory)
    return StorageCapacity(total_bytes=usage.total, used_bytes=usage.used)


def write_atomically(target: Path, fill: Callable[[BinaryIO], FetchResult]) -> FetchResult:
    """Run ``fill`` on a temporary file beside ``target`` and rename it into place.

    :raises StorageOperationFailed: the write failed (nothing is left behind).
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=TEMPORARY_PREFIX)
    try:
        with os.fdopen(handle, "wb") as sink:
            result = fill(sink)
        os.replace(temporary, target)
        return result
    except OSError as exc:
        raise StorageOperationFailed(f"writing {target} failed: {exc}") from exc
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


class HashingWriter:
    """A sink that hashes (md5, sha256) and counts what goes through it."""

    def __init__(self, sink: BinaryIO, progress: Callable[[int], None] | None = None) -> None:
        self.sink = sink
        self.size = 0
        self.progress = progress
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._sha256 = hashlib.sha256()

    def write(self, data: bytes) -> int:
        """Write, hash and count ``data``."""
        self.sink.write(data)
        self._md5.update(data)
        self._sha256.update(data)
        self.size += len(data)
        if self.progress is not None:
            self.progress(self.size)
        return len(data)

    def result(self) -> FetchResult:
        """The size and digests of everything written."""
        return FetchResult(
            self.size, {"md5": self._md5.hexdigest(), "sha256": self._sha256.hexdigest()}
        )
