"""libvirt pool and volume definitions for KVM's protocols, image checks and version
checks (no libvirt needed). REQ-KVM-08 (NFS, SharedMountPoint, CLVM, RBD), the seed's
minimum versions (CAP-37 §40.1).
"""

from __future__ import annotations

import io
import struct
import xml.etree.ElementTree as ET

import pytest

pytest.importorskip("cumulo_kvm", reason="the KVM plugin is not installed")

from cumulo_kvm.discovery import capabilities, check_versions
from cumulo_kvm.images import probe
from cumulo_kvm.pool_xml import (
    pool_facts,
    pool_source,
    pool_xml,
    secret_uuid,
    secret_xml,
    volume_facts,
    volume_xml,
)

from cumulo.sdk import InvalidStorageUrl, OperationFailed, StorageOperationFailed

POOL = "5f0c1d2e-3a4b-4c5d-8e6f-7a8b9c0d1e2f"


def test_nfs_is_a_netfs_pool_mounted_on_mnt_uuid() -> None:
    root = ET.fromstring(pool_xml(POOL, pool_source("nfs://10.1.1.2/export/primary")))
    assert root.get("type") == "netfs"
    assert (root.findtext("name"), root.findtext("uuid")) == (POOL, POOL)
    assert root.find("source/host").get("name") == "10.1.1.2"
    assert root.find("source/dir").get("path") == "/export/primary"
    assert root.find("source/format").get("type") == "nfs"
    assert root.findtext("target/path") == f"/mnt/{POOL}"


@pytest.mark.parametrize(
    "url", ["SharedMountPoint:///mnt/primary", "SharedMountPoint://localhost/mnt/primary"]
)
def test_a_shared_mount_point_is_a_directory_pool(url: str) -> None:
    source = pool_source(url)
    root = ET.fromstring(pool_xml(POOL, source))
    assert root.get("type") == "dir" and root.findtext("target/path") == "/mnt/primary"
    assert source.file_based


def test_clvm_is_a_logical_pool_on_its_volume_group() -> None:
    source = pool_source("clvm://localhost/vg_cloud")
    root = ET.fromstring(pool_xml(POOL, source))
    assert root.get("type") == "logical" and not source.file_based
    assert root.findtext("source/name") == "vg_cloud"
    assert root.find("source/format").get("type") == "lvm2"
    assert root.findtext("target/path") == "/dev/vg_cloud"


def test_rbd_names_monitor_pool_and_a_private_secret_for_the_key() -> None:
    source = pool_source("rbd://admin:QVFCa2V5MTIzNA%3D%3D@ceph-mon:6789/cloudstack")
    assert (source.user, source.secret) == ("admin", "QVFCa2V5MTIzNA==")
    root = ET.fromstring(pool_xml(POOL, source))
    assert root.get("type") == "rbd" and root.find("target") is None
    assert (root.find("source/host").get("name"), root.find("source/host").get("port")) == (
        "ceph-mon",
        "6789",
    )
    assert root.findtext("source/name") == "cloudstack"
    auth = root.find("source/auth")
    assert (auth.get("type"), auth.get("username")) == ("ceph", "admin")
    assert auth.find("secret").get("uuid") == secret_uuid(POOL)
    assert "QVFCa2V5" not in pool_xml(POOL, source)  # the key goes into the secret only
    secret = ET.fromstring(secret_xml(POOL))
    assert (secret.get("private"), secret.findtext("uuid")) == ("yes", secret_uuid(POOL))
    assert secret_uuid(POOL) == secret_uuid(POOL) != secret_uuid(POOL[::-1])
    facts = pool_facts(ET.tostring(root, encoding="unicode"))
    assert (facts.pool_type, facts.source_name, facts.hosts, facts.auth_user) == (
        "rbd",
        "cloudstack",
        (("ceph-mon", 6789),),
        "admin",
    )


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("iscsi://10.1.1.3/iqn.2013-01.org.example:t/1", "not a KVM primary"),
        ("nfs:///export", "names no server"),
        ("nfs://10.1.1.2", "no path"),
        ("clvm://localhost/vg/extra", "one volume group"),
        ("rbd:///cloudstack", "names no server"),
    ],
)
def test_unusable_pool_urls_are_refused(url: str, message: str) -> None:
    with pytest.raises(InvalidStorageUrl, match=message):
        pool_source(url)


def test_volumes_are_thin_and_overlays_name_their_backing_file() -> None:
    plain = ET.fromstring(volume_xml("v1", 1024**3, "qcow2"))
    assert (plain.findtext("capacity"), plain.findtext("allocation")) == (str(1024**3), "0")
    assert plain.find("target/format").get("type") == "qcow2"
    overlay = ET.fromstring(volume_xml("v2", 2 * 1024**3, "qcow2", backing=("/p/t.qcow2", "qcow2")))
    assert overlay.findtext("backingStore/path") == "/p/t.qcow2"
    block = ET.fromstring(volume_xml("v3", 1024**3, None, allocation=None))
    assert block.find("target") is None and block.find("allocation") is None
    described = volume_facts(
        "<volume><name>v</name><capacity>10</capacity><allocation>4</allocation>"
        "<target><path>/p/v</path><format type='qcow2'/></target>"
        "<backingStore><path>/p/t</path></backingStore></volume>"
    )
    assert (described.path, described.format, described.capacity, described.backing) == (
        "/p/v",
        "qcow2",
        10,
        "/p/t",
    )


def _qcow2(virtual: int, backing_offset: int = 0, version: int = 3, incompatible: int = 0) -> bytes:
    header = struct.pack(">4sIQIIQ", b"QFI\xfb", version, backing_offset, 0, 16, virtual)
    return header.ljust(72, b"\0") + struct.pack(">Q", incompatible) + b"\0" * 32


def test_images_are_probed_for_format_and_virtual_size() -> None:
    image = probe(io.BytesIO(_qcow2(10 * 1024**3)), 4096)
    assert (image.format, image.virtual_size, image.physical_size) == ("qcow2", 10 * 1024**3, 4096)
    raw = probe(io.BytesIO(b"\xeb\x3c\x90mkfs.fat" + b"\0" * 100), 1000)
    assert (raw.format, raw.virtual_size) == ("raw", 1000)


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (_qcow2(1024, backing_offset=512), "backing file"),
        (_qcow2(1024, incompatible=1 << 2), "external data file"),
        (b"QFI\xfb\0\0", "truncated"),
    ],
)
def test_images_pointing_outside_themselves_are_refused(header: bytes, message: str) -> None:
    with pytest.raises(StorageOperationFailed, match=message):
        probe(io.BytesIO(header), len(header))


@pytest.mark.parametrize(
    ("libvirt_version", "qemu_version", "message"),
    [
        (9_003, 1_000_000, "libvirt 0.9.3; cumulo needs libvirt 0.9.4"),
        (9_004, 15_000, "QEMU 0.15.0; cumulo needs QEMU 1.0.0"),
    ],
)
def test_hosts_older_than_the_seeds_minimums_are_refused(
    libvirt_version: int, qemu_version: int, message: str
) -> None:
    with pytest.raises(OperationFailed, match=message):
        check_versions(libvirt_version, qemu_version)


def test_the_minimum_versions_themselves_are_accepted() -> None:
    check_versions(9_004, 1_000_000)
    check_versions(9_000_000, 7_002_022)
    check_versions(9_004, None)  # the libvirt test driver has no QEMU


def test_capabilities_give_the_host_uuid_and_the_domain_types() -> None:
    caps = capabilities(
        "<capabilities><host><uuid>e68cd8be-4345-4507-a2e9-bc77d4f7aec8</uuid></host>"
        "<guest><os_type>hvm</os_type><arch name='i686'><domain type='qemu'/></arch></guest>"
        "<guest><os_type>hvm</os_type><arch name='x86_64'><domain type='qemu'/>"
        "<domain type='kvm'/></arch></guest></capabilities>"
    )
    assert caps.host_uuid == "e68cd8be-4345-4507-a2e9-bc77d4f7aec8"
    assert caps.domain_types == ("qemu", "kvm")
