"""Secondary storage of a VMware zone, as the management server sees it: a directory
(``file:///path``, the embedded default, or an NFS export the operator mounted at that
path on the management server).

4.1 ran a secondary storage VM to fill stores; here the management server downloads
templates itself (through :func:`cumulo.sdk.storage.fetch_url`, so the address policy
holds) and :mod:`.templates` uploads a template's disk to a datastore through vCenter
when a volume is first made from it. Objects are files at 4.1's paths
(``template/tmpl/<account>/<id>/<file>``); a download goes to a hidden temporary file
renamed into place, so a failed one leaves nothing behind.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from urllib.parse import unquote

from cumulo.sdk import (
    InvalidStorageUrl,
    StorageCapacity,
    StorageOperationFailed,
    StorageUnreachable,
    StorageUrl,
    StoredObject,
    StoreRef,
)
from cumulo.sdk.storage import TemplateSource, fetch_url

TEMPORARY_PREFIX = ".download-"


def validate_store_url(url: str) -> StorageUrl:
    """``file:///path`` only (an NFS store is mounted by the operator and named by its
    mount point)."""
    parsed = StorageUrl.parse(url)
    if parsed.scheme != "file" or not parsed.path.startswith("/"):
        raise InvalidStorageUrl(
            f"url {url!r}: VMware secondary storage is a directory of the management server,"
            " file:///path (mount an NFS export there first)"
        )
    return parsed


def root(store: StoreRef) -> Path:
    """The store's directory.

    :raises StorageUnreachable: it does not exist (an unmounted export).
    """
    path = Path(unquote(validate_store_url(store.url).path))
    if not path.is_dir():
        raise StorageUnreachable(f"secondary storage {store.url}: {path} is not a directory")
    return path


def _inside(base: Path, path: str) -> Path:
    target = (base / path.lstrip("/")).resolve()
    if base.resolve() not in target.parents:
        raise StorageOperationFailed(f"{path!r} is outside the store")
    return target


def capacity(store: StoreRef) -> StorageCapacity:
    usage = shutil.disk_usage(root(store))
    return StorageCapacity(usage.total, usage.total - usage.free)


def download(store: StoreRef, path: str, source: TemplateSource) -> StoredObject:
    """Fetch ``source`` to ``path`` (replacing an earlier copy), with its digests."""
    target = _inside(root(store), path)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=TEMPORARY_PREFIX, dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as sink:
            fetched = fetch_url(source.url, sink, source)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return StoredObject(path, fetched.size_bytes, fetched.size_bytes, dict(fetched.digests))


def objects(store: StoreRef) -> dict[str, StoredObject]:
    base = root(store)
    found = {}
    for file in sorted(base.rglob("*")):
        if file.is_file() and not file.name.startswith(TEMPORARY_PREFIX):
            if file.name == "template.properties":
                continue
            relative = str(file.relative_to(base))
            size = file.stat().st_size
            found[relative] = StoredObject(relative, size, size)
    return found


def delete(store: StoreRef, path: str) -> None:
    target = _inside(root(store), path)
    if target.is_dir():
        shutil.rmtree(target, ignore_errors=True)
    else:
        target.unlink(missing_ok=True)
