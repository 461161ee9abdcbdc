"""Storage URLs of every protocol (CAP-14 §17.1, CAP-15 §18.1): what is accepted, what
is stored, and a 431 naming ``url`` for everything else."""

from __future__ import annotations

import pytest

from cumulo.infra.storage.urls import (
    PoolLocation,
    PoolType,
    check_hypervisor,
    masked,
    parse_pool_url,
    parse_secondary_url,
    parse_swift_url,
)
from cumulo.sdk.errors import InvalidParameterValue


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "nfs://10.1.1.2/export/primary",
            PoolLocation(PoolType.NETWORK_FILESYSTEM, "10.1.1.2", "/export/primary", 2049),
        ),
        (
            "nfs://nfs.example.org:2050/export",
            PoolLocation(PoolType.NETWORK_FILESYSTEM, "nfs.example.org", "/export", 2050),
        ),
        (
            "iscsi://10.1.1.3/iqn.1986-03.com.sun:02:01ec9bb549-1271378984/3",
            PoolLocation(
                PoolType.ISCSI_LUN,
                "10.1.1.3",
                "/iqn.1986-03.com.sun:02:01ec9bb549-1271378984/3",
                3260,
            ),
        ),
        (
            "presetup://10.1.1.4/My SR",
            PoolLocation(PoolType.PRE_SETUP, "10.1.1.4", "/My SR", 0),
        ),
        (
            "presetup:///fc-sr",
            PoolLocation(PoolType.PRE_SETUP, "localhost", "/fc-sr", 0),
        ),
        (
            "SharedMountPoint:///mnt/primary",
            PoolLocation(PoolType.SHARED_MOUNT_POINT, "localhost", "/mnt/primary", 0),
        ),
        ("clvm:///vg0", PoolLocation(PoolType.CLVM, "localhost", "vg0", 0)),
        (
            "rbd://admin:c2VjcmV0@ceph-mon.example.org/rbdpool",
            PoolLocation(PoolType.RBD, "ceph-mon.example.org", "rbdpool", 6789, "admin:c2VjcmV0"),
        ),
        ("rbd://10.1.1.9:6790/pool", PoolLocation(PoolType.RBD, "10.1.1.9", "pool", 6790)),
        (
            "vmfs://vcenter.example.org/cloud.dc.VM/cluster1datastore",
            PoolLocation(PoolType.VMFS, "vcenter.example.org", "/cloud.dc.VM/cluster1datastore", 0),
        ),
        (
            "filesystem:///var/lib/cumulo/local",
            PoolLocation(PoolType.FILESYSTEM, "localhost", "/var/lib/cumulo/local", 0),
        ),
        ("file:///srv/local", PoolLocation(PoolType.FILESYSTEM, "localhost", "/srv/local", 0)),
    ],
)
def test_valid_pool_urls_of_every_protocol(url: str, expected: PoolLocation) -> None:
    assert parse_pool_url(url) == expected


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("10.1.1.2/export", "no protocol"),
        ("", "no protocol"),
        ("ftp://10.1.1.2/export", "unknown storage protocol"),
        ("nfs://10.1.1.2", "nfs://server/path"),
        ("nfs:///export", "nfs://server/path"),
        ("nfs://10.1.1.2:notaport/export", "not a URL"),
        ("nfs://user:pw@10.1.1.2/export", "only rbd://"),
        ("iscsi://10.1.1.3/iqn.1986-03.com.sun:02:01", "iscsi://target/iqn/lun"),
        ("iscsi://10.1.1.3/notaniqn/3", "not an iSCSI qualified name"),
        ("iscsi://10.1.1.3/iqn.1986-03.com.sun:02:01/x", "is not a number"),
        ("iscsi:///iqn.1986-03.com.sun:02:01/3", "iscsi://target/iqn/lun"),
        ("presetup://10.1.1.4/", "presetup://server/SR name-label"),
        ("presetup://10.1.1.4/a/b", "presetup://server/SR name-label"),
        ("SharedMountPoint://", "SharedMountPoint:///path"),
        ("clvm:///", "clvm:///volume-group"),
        ("clvm:///vg0/extra", "clvm:///volume-group"),
        ("clvm:///bad name!", "clvm:///volume-group"),
        ("rbd:///pool", "rbd://user:secret@monitor/pool"),
        ("rbd://mon/", "rbd://user:secret@monitor/pool"),
        ("rbd://admin@mon/pool", "give both the cephx user and its secret"),
        ("vmfs://vcenter/onlydatacenter", "vmfs://vcenter/datacenter/datastore"),
        ("vmfs:///dc/store", "vmfs://vcenter/datacenter/datastore"),
        ("filesystem://", "filesystem:///path"),
    ],
)
def test_invalid_pool_urls_are_431_naming_url(url: str, says: str) -> None:
    with pytest.raises(InvalidParameterValue) as raised:
        parse_pool_url(url)
    assert raised.value.errorcode == 431
    assert raised.value.errortext.startswith("url: ")
    assert says in raised.value.errortext


def test_rbd_secret_never_appears_in_messages() -> None:
    with pytest.raises(InvalidParameterValue) as raised:
        parse_pool_url("rbd://admin:topsecret@mon/")
    assert "topsecret" not in raised.value.errortext
    assert masked("rbd://admin:topsecret@mon/pool") == "rbd://***@mon/pool"


@pytest.mark.parametrize(
    ("url", "hypervisor", "allowed"),
    [
        ("nfs://s/p", "XenServer", True),
        ("nfs://s/p", "KVM", True),
        ("nfs://s/p", "VMware", True),
        ("iscsi://t/iqn.2013-01.org.example:t/0", "XenServer", True),
        ("iscsi://t/iqn.2013-01.org.example:t/0", "KVM", False),
        ("presetup://s/sr", "XenServer", True),
        ("presetup://s/sr", "VMware", False),
        ("SharedMountPoint:///mnt/p", "KVM", True),
        ("SharedMountPoint:///mnt/p", "XenServer", False),
        ("clvm:///vg", "KVM", True),
        ("clvm:///vg", "VMware", False),
        ("rbd://mon/pool", "KVM", True),
        ("rbd://mon/pool", "XenServer", False),
        ("vmfs://vc/dc/ds", "VMware", True),
        ("vmfs://vc/dc/ds", "KVM", False),
        ("vmfs://vc/dc/ds", "Simulator", True),
        ("rbd://mon/pool", "BareMetal", True),  # not in the seed's table: not checked
    ],
)
def test_protocols_per_hypervisor_follow_the_seed_table(
    url: str, hypervisor: str, allowed: bool
) -> None:
    """CAP-14 §17.1: each protocol is offered only for the hypervisors that use it."""
    location = parse_pool_url(url)
    if allowed:
        check_hypervisor(location, hypervisor)
        return
    with pytest.raises(InvalidParameterValue) as raised:
        check_hypervisor(location, hypervisor)
    assert raised.value.errortext.startswith("url: ")
    assert f"{hypervisor} supports" in raised.value.errortext


def test_secondary_storage_urls_nfs_and_local_directory() -> None:
    """CAP-15 §18.1: NFS server and path; a local directory for the embedded default."""
    nfs = parse_secondary_url("NFS://10.1.1.5/export/secondary/")
    assert (nfs.scheme, nfs.host_address, nfs.path) == ("nfs", "10.1.1.5", "/export/secondary")
    assert nfs.url == "nfs://10.1.1.5/export/secondary"
    local = parse_secondary_url("file:///var/lib/cumulo/secondary")
    assert (local.scheme, local.host_address, local.url) == (
        "file",
        "localhost",
        "file:///var/lib/cumulo/secondary",
    )


@pytest.mark.parametrize(
    "url",
    ["nfs://10.1.1.5", "nfs:///export", "file://otherhost/dir", "file:///", "iscsi://t/x/1"],
)
def test_invalid_secondary_urls_are_431_naming_url(url: str) -> None:
    with pytest.raises(InvalidParameterValue) as raised:
        parse_secondary_url(url)
    assert raised.value.errortext.startswith("url: ")


def test_swift_urls() -> None:
    assert parse_swift_url(" http://swift.example.org:8080/auth/v1.0 ") == (
        "http://swift.example.org:8080/auth/v1.0"
    )
    for bad in ("swift.example.org", "ftp://swift/", "http://u:k@swift/auth"):
        with pytest.raises(InvalidParameterValue) as raised:
            parse_swift_url(bad)
        assert raised.value.errortext.startswith("url: ")
