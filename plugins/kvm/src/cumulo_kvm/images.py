"""What a disk image file is: qcow2 (its virtual size from the header) or raw.

Templates come from anyone who can register one, so a qcow2 image that points outside
itself is refused: a backing file (``/dev/sda`` as backing file would show the host's
disk to the guest) or an external data file. Read before an image is copied to a host.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from cumulo.sdk import StorageOperationFailed

QCOW2_MAGIC = b"QFI\xfb"
_HEADER = struct.Struct(">4sIQIIQ")  # magic, version, backing offset, size, bits, size
_INCOMPATIBLE_OFFSET = 72
_EXTERNAL_DATA_FILE = 1 << 2


@dataclass(frozen=True)
class ImageInfo:
    """An image's format (``qcow2`` or ``raw``), virtual and physical sizes."""

    format: str
    virtual_size: int
    physical_size: int


def probe(stream: BinaryIO, physical_size: int, name: str = "image") -> ImageInfo:
    """Read the image's header from ``stream`` (positioned at its start).

    :raises StorageOperationFailed: a qcow2 image with a backing file or an external
        data file, or a truncated qcow2 header.
    """
    head = stream.read(_INCOMPATIBLE_OFFSET + 8)
    if not head.startswith(QCOW2_MAGIC):
        return ImageInfo("raw", physical_size, physical_size)
    if len(head) < _HEADER.size:
        raise StorageOperationFailed(f"{name}: truncated qcow2 header")
    _, version, backing_offset, _, _, virtual_size = _HEADER.unpack_from(head)
    if backing_offset:
        raise StorageOperationFailed(
            f"{name}: qcow2 images with a backing file are refused (it could expose host files)"
        )
    if version >= 3 and len(head) >= _INCOMPATIBLE_OFFSET + 8:
        (incompatible,) = struct.unpack_from(">Q", head, _INCOMPATIBLE_OFFSET)
        if incompatible & _EXTERNAL_DATA_FILE:
            raise StorageOperationFailed(
                f"{name}: qcow2 images with an external data file are refused"
            )
    return ImageInfo("qcow2", int(virtual_size), physical_size)


def probe_file(path: Path) -> ImageInfo:
    """:func:`probe` a local file.

    :raises StorageOperationFailed: as :func:`probe`, or the file cannot be read.
    """
    try:
        with path.open("rb") as stream:
            return probe(stream, path.stat().st_size, path.name)
    except OSError as exc:
        raise StorageOperationFailed(f"cannot read image {path}: {exc}") from exc
