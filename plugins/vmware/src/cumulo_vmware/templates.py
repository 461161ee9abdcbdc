"""Templates on datastores: a template's VMDK is uploaded once per datastore
(``[<datastore>] cumulo-templates/<digest>.vmdk``) and volumes are copies of it.

The template comes as the management server stored it on secondary storage
(:attr:`StoredObject.path` is its install URL):

- a datastore path (``[ds] folder/x.vmdk``): used as it is;
- a ``file://`` URL of an OVA (the disk is its first ``.vmdk`` member) or of a VMDK on
  a store this process can read (``file://`` secondary storage, or an NFS store
  mounted at the same path): the disk is uploaded through vCenter's datastore HTTP
  interface (``PUT /folder/<path>?dcPath=..&dsName=..`` with the session cookie) as the flat
  extent of a disk created for it.

Limits, said plainly: the bytes are written as a flat (raw) extent, right for a raw
disk image; a stream-optimized VMDK from a real OVA must be imported through an OVF
import lease (``ImportVApp``) instead, which this driver does not do yet. vcsim stores
whatever bytes it is given and copies them.
"""

from __future__ import annotations

import hashlib
import http.client
import ssl
import tarfile
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote, unquote, urlsplit

from cumulo.sdk import OperationFailed, StoredObject
from cumulo_vmware import disks

TEMPLATE_FOLDER = "cumulo-templates"
UPLOAD_TIMEOUT = 600.0


def seed(instance: Any, datacenter: Any, datastore: str, template: StoredObject) -> str:
    """The datastore path of ``template``'s VMDK on ``datastore``, uploaded if absent.

    :raises OperationFailed: the template is not something this driver can read, or the
        upload failed.
    """
    if template.path.startswith("["):
        return template.path
    source = _local_file(template.path)
    digest = hashlib.sha256(template.path.encode()).hexdigest()[:32]
    target = f"[{datastore}] {TEMPLATE_FOLDER}/{digest}.vmdk"
    if disks.disk_exists(instance, datacenter, target):
        return target
    with _disk_stream(source) as (stream, size):
        # A disk of the template's size (descriptor and flat extent), its extent then
        # overwritten with the template's disk bytes; removed again if the upload fails,
        # so a retry starts over.
        disks.ensure_disk(instance, datacenter, target, max(size, template.size_bytes))
        try:
            extent = f"{TEMPLATE_FOLDER}/{digest}-flat.vmdk"
            _upload(instance, datacenter.name, datastore, extent, stream, size)
        except BaseException:
            disks.delete_disk(instance, datacenter, target)
            raise
    return target


def _local_file(url: str) -> Path:
    parts = urlsplit(url)
    if parts.scheme not in ("file", ""):
        raise OperationFailed(
            f"template {url}: only file:// templates (or datastore paths) can be copied to a"
            " datastore by this driver"
        )
    path = Path(unquote(parts.path))
    if not path.is_file():
        raise OperationFailed(f"template {url}: {path} is not readable from this server")
    return path


class _disk_stream:
    """The VMDK bytes of ``source`` (its first ``.vmdk`` member if it is an OVA) and
    their size."""

    def __init__(self, source: Path) -> None:
        self.source = source
        self._closers: list[Any] = []

    def __enter__(self) -> tuple[IO[bytes], int]:
        if tarfile.is_tarfile(self.source):
            archive = tarfile.open(self.source)
            self._closers.append(archive)
            for member in archive.getmembers():
                if member.isfile() and member.name.lower().endswith(".vmdk"):
                    stream = archive.extractfile(member)
                    if stream is not None:
                        return stream, member.size
            raise OperationFailed(f"template {self.source}: the OVA holds no .vmdk disk")
        handle = self.source.open("rb")
        self._closers.append(handle)
        return handle, self.source.stat().st_size

    def __exit__(self, *_: object) -> None:
        for closer in self._closers:
            closer.close()


def _upload(
    instance: Any, datacenter: str, datastore: str, path: str, stream: IO[bytes], size: int
) -> None:
    stub = instance._stub
    host, _, port = stub.host.rpartition(":") if ":" in stub.host else (stub.host, "", "443")
    target = f"/folder/{quote(path)}?dcPath={quote(datacenter)}&dsName={quote(datastore)}"
    connection = http.client.HTTPSConnection(
        host,
        int(port or 443),
        timeout=UPLOAD_TIMEOUT,
        context=ssl._create_unverified_context(),
    )
    try:
        connection.putrequest("PUT", target)
        connection.putheader("Cookie", stub.cookie)
        connection.putheader("Content-Type", "application/octet-stream")
        connection.putheader("Content-Length", str(size))
        connection.endheaders()
        while chunk := stream.read(1024 * 1024):
            connection.send(chunk)
        response = connection.getresponse()
        response.read()
        if response.status not in (200, 201, 204):
            raise OperationFailed(
                f"uploading the template to [{datastore}] {path}: HTTP {response.status}"
                f" {response.reason}"
            )
    except (OSError, http.client.HTTPException) as exc:
        raise OperationFailed(f"uploading the template to [{datastore}] {path}: {exc}") from exc
    finally:
        connection.close()
