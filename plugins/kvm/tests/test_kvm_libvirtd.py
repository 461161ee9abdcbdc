"""The KVM drivers on a real libvirtd with QEMU, beyond the compliance kits: templates
reaching a pool from secondary storage, volumes leaving it, snapshots of running and
stopped VMs, ISOs, a forced stop, refused images (REQ-KVM-01, REQ-KVM-08, CAP-14).
"""

from __future__ import annotations

import hashlib
import logging
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

libvirt = pytest.importorskip("libvirt", reason="libvirt-python is not installed")
pytest.importorskip("cumulo_kvm", reason="the KVM plugin is not installed")

from cumulo_kvm.connections import Connections  # noqa: E402
from cumulo_kvm.hypervisor import KvmHypervisor  # noqa: E402
from cumulo_kvm.images import probe_file  # noqa: E402
from cumulo_kvm.storage import KvmStorage  # noqa: E402
from kvm_testbed import GUEST_READY, SASL_LOGIN, PeerDaemon, wait_for_text  # noqa: E402

from cumulo.sdk import (  # noqa: E402
    HostConnection,
    HostRef,
    HostStatus,
    InvalidHostCredentials,
    PoolRef,
    StorageOperationFailed,
    StoredObject,
    StoreRef,
    VmSpec,
    VolumeSpec,
)
from cumulo.sdk.hypervisor import IsoSpec  # noqa: E402
from cumulo.sdk.storage import TemplateSource  # noqa: E402
from cumulo.templates.testing import TemplateServer  # noqa: E402

MIB = 1024**2
HOST = HostConnection("qemu+unix://localhost/system?kvm.domain.type=qemu")


@pytest.fixture
def pool(libvirt_host: str, tmp_path: Path) -> Iterator[PoolRef]:
    directory = tmp_path / "primary"
    directory.mkdir()
    ref = PoolRef(str(uuid.uuid4()), f"SharedMountPoint://{directory}", hosts=(HOST,))
    KvmStorage().attach_pool(ref)
    yield ref
    KvmStorage().detach_pool(ref)


@pytest.fixture
def store(tmp_path: Path) -> StoreRef:
    directory = tmp_path / "secondary"
    directory.mkdir()
    return StoreRef(str(uuid.uuid4()), f"file://{directory}")


@pytest.fixture
def template(guest_image: Path, store: StoreRef) -> StoredObject:
    """The bootable image on the store, as a template's install URL names it."""
    relative = f"template/tmpl/2/201/{uuid.uuid4()}.qcow2"
    target = Path(store.url.removeprefix("file://")) / relative
    target.parent.mkdir(parents=True)
    target.write_bytes(guest_image.read_bytes())
    image = probe_file(target)
    return StoredObject(f"{store.url}/{relative}", image.virtual_size, image.physical_size)


def _pool_volumes(pool: PoolRef) -> dict[str, str]:
    """Volume name → its backing file (``""`` for none), as libvirt sees the pool."""
    conn = libvirt.open("qemu:///system")
    try:
        found = conn.storagePoolLookupByUUIDString(pool.uuid)
        found.refresh(0)
        result = {}
        for volume in found.listAllVolumes(0):
            xml = volume.XMLDesc(0)
            start = xml.find("<backingStore>")
            backing = ""
            if start >= 0:
                section = xml[start:]
                backing = section[section.find("<path>") + 6 : section.find("</path>")]
            result[volume.name()] = backing
        return result
    finally:
        conn.close()


def _spec(pool: PoolRef, root: str, memory: int = 256 * MIB) -> VmSpec:
    return VmSpec(
        name=f"i-2-{uuid.uuid4().hex[:6]}-VM",
        uuid=str(uuid.uuid4()),
        cpus=1,
        cpu_speed_mhz=500,
        memory_bytes=memory,
        volumes=(VolumeSpec(str(uuid.uuid4()), root, 64 * MIB, pool.uuid, "ROOT", 0),),
        vnc_password="pw",
    )


def test_root_disks_are_overlays_on_one_copy_of_the_template(
    pool: PoolRef, template: StoredObject
) -> None:
    storage = KvmStorage()
    first = storage.create_volume(pool, "root-a", 10 * MIB, template)
    second = storage.create_volume(pool, "root-b", 2 * 1024**3, template)
    copy = template.path.rsplit("/", 1)[-1]
    volumes = _pool_volumes(pool)
    assert volumes[copy] == ""  # the template's copy stands alone
    assert volumes["root-a"].endswith(f"/{copy}") and volumes["root-b"].endswith(f"/{copy}")
    # At least the template's virtual size; more when asked.
    assert first.size_bytes == template.size_bytes and second.size_bytes == 2 * 1024**3
    storage.delete_volume(pool, "root-a")
    storage.delete_volume(pool, "root-a")
    assert "root-a" not in _pool_volumes(pool)


def test_an_interrupted_template_copy_is_redone(pool: PoolRef, template: StoredObject) -> None:
    copy = template.path.rsplit("/", 1)[-1]
    conn = libvirt.open("qemu:///system")
    try:
        found = conn.storagePoolLookupByUUIDString(pool.uuid)
        found.createXML(f"<volume><name>{copy}</name><capacity>4096</capacity></volume>", 0)
    finally:
        conn.close()
    KvmStorage().create_volume(pool, "root-c", MIB, template)
    directory = Path(pool.url.removeprefix("SharedMountPoint://"))
    source = Path(template.path.removeprefix("file://"))
    assert (directory / copy).read_bytes() == source.read_bytes()


def test_a_template_with_a_backing_file_is_refused(
    pool: PoolRef, store: StoreRef, tmp_path: Path
) -> None:
    """A template pointing at a host file would show it to the guest."""
    evil = tmp_path / "secondary" / "template" / "evil.qcow2"
    evil.parent.mkdir(parents=True)
    subprocess.run(
        ["qemu-img", "create", "-f", "qcow2", "-F", "raw", "-b", "/etc/hostname", str(evil)],
        check=True,
        capture_output=True,
    )
    with pytest.raises(StorageOperationFailed, match="backing file"):
        KvmStorage().create_volume(pool, "root-evil", MIB, StoredObject(f"file://{evil}", 0, 0))
    with TemplateServer({"/evil.qcow2": evil.read_bytes()}) as server:
        source = TemplateSource(server.url("/evil.qcow2"), address_allowed=lambda a: True)
        with pytest.raises(StorageOperationFailed, match="backing file"):
            KvmStorage().download_template(store, "template/tmpl/2/9/evil.qcow2", source)
    assert not (tmp_path / "secondary/template/tmpl/2/9/evil.qcow2").exists()


def test_a_volume_leaves_for_secondary_storage_as_a_standalone_image(
    pool: PoolRef, template: StoredObject, store: StoreRef
) -> None:
    storage = KvmStorage()
    storage.create_volume(pool, "root-x", 128 * MIB, template)
    seen: list[int] = []
    stored = storage.copy_to_store(
        pool, "root-x", store, "template/tmpl/2/300/x.qcow2", lambda done, _: seen.append(done)
    )
    written = Path(store.url.removeprefix("file://")) / "template/tmpl/2/300/x.qcow2"
    image = probe_file(written)  # refuses an image with a backing file: this is flat
    assert (image.format, image.virtual_size) == ("qcow2", 128 * MIB)
    assert (stored.size_bytes, stored.physical_size_bytes) == (128 * MIB, written.stat().st_size)
    assert stored.digests["md5"] == hashlib.md5(written.read_bytes()).hexdigest()
    assert seen and seen == sorted(seen)
    # The export's temporary copy is gone; the store's image makes volumes again.
    assert set(_pool_volumes(pool)) == {"root-x", template.path.rsplit("/", 1)[-1]}
    again = storage.create_volume(
        pool, "root-y", MIB, StoredObject(f"{store.url}/{stored.path}", 0, 0)
    )
    assert again.size_bytes == 128 * MIB


def test_resize_grows_and_shrinks(pool: PoolRef) -> None:
    storage = KvmStorage()
    storage.create_volume(pool, "data-r", 64 * MIB)
    assert storage.resize_volume(pool, "data-r", 256 * MIB).size_bytes == 256 * MIB
    assert storage.resize_volume(pool, "data-r", 256 * MIB).size_bytes == 256 * MIB
    storage.resize_volume(pool, "data-r", 32 * MIB)
    conn = libvirt.open("qemu:///system")
    try:
        volume = conn.storagePoolLookupByUUIDString(pool.uuid).storageVolLookupByName("data-r")
        assert volume.info()[1] == 32 * MIB
    finally:
        conn.close()
    with pytest.raises(StorageOperationFailed, match="not on storage pool"):
        storage.resize_volume(pool, "missing", MIB)


def test_a_pool_missing_on_the_host_is_defined_again_from_its_url(pool: PoolRef) -> None:
    """A host added after the pool (or a libvirtd that lost it) gets it on first use."""
    conn = libvirt.open("qemu:///system")
    try:
        found = conn.storagePoolLookupByUUIDString(pool.uuid)
        found.destroy()
        found.undefine()
    finally:
        conn.close()
    assert KvmStorage().create_volume(pool, "data-again", MIB).size_bytes == MIB
    assert KvmStorage().pool_capacity(pool).total_bytes > 0


def test_snapshots_of_running_and_stopped_vms_make_volumes(
    pool: PoolRef, template: StoredObject, store: StoreRef
) -> None:
    """Running: QEMU copies the disk while the guest runs; stopped: libvirt copies it.
    Either snapshot backs up to secondary storage and makes a new volume."""
    storage, hypervisor = KvmStorage(), KvmHypervisor(stop_timeout=60)
    host = HostRef(hypervisor.connect(HOST).guid, HOST)
    storage.create_volume(pool, "root-s", 64 * MIB, template)
    spec = _spec(pool, "root-s")
    hypervisor.start_vm(host, spec)
    try:
        live = hypervisor.snapshot_volume(host, spec.volumes[0], "hourly 1")
        assert live.path == f"{pool.uuid}/root-s-snap-hourly_1" and live.size_bytes > 0
        hypervisor.stop_vm(host, spec.name, force=True)
        cold = hypervisor.snapshot_volume(host, spec.volumes[0], "daily")
    finally:
        hypervisor.destroy_vm(host, spec.name)
    backup = storage.copy_to_store(pool, live.path, store, "snapshots/2/7/s1")
    assert backup.size_bytes == 64 * MIB  # the volume's size, not the template's
    made = storage.create_volume(pool, "from-snap", MIB, StoredObject(cold.path, 0, 0))
    assert made.size_bytes == 64 * MIB
    assert _pool_volumes(pool)["from-snap"] == ""  # a copy: deleting the snapshot is safe
    hypervisor.delete_snapshot(host, live)
    hypervisor.delete_snapshot(host, live)
    hypervisor.delete_snapshot(host, cold)
    assert not {"root-s-snap-hourly_1", "root-s-snap-daily"} & set(_pool_volumes(pool))


def test_a_guest_that_ignores_the_power_button_is_forced_off(pool: PoolRef) -> None:
    """An empty disk: SeaBIOS finds nothing to boot and no OS answers ACPI."""
    storage, hypervisor = KvmStorage(), KvmHypervisor(stop_timeout=3)
    host = HostRef(hypervisor.connect(HOST).guid, HOST)
    storage.create_volume(pool, "blank", 16 * MIB)
    spec = _spec(pool, "blank", memory=64 * MIB)
    hypervisor.start_vm(host, spec)
    hypervisor.stop_vm(host, spec.name)
    assert spec.name not in hypervisor.vm_states(host)


def test_an_iso_is_copied_to_the_pool_and_inserted_and_ejected(
    pool: PoolRef, template: StoredObject, store: StoreRef
) -> None:
    iso = Path(store.url.removeprefix("file://")) / "template/tmpl/2/202/tools.iso"
    iso.parent.mkdir(parents=True)
    iso.write_bytes(b"CD001".rjust(64 * 1024, b"\0"))
    storage, hypervisor = KvmStorage(), KvmHypervisor(stop_timeout=60)
    host = HostRef(hypervisor.connect(HOST).guid, HOST)
    storage.create_volume(pool, "root-i", 64 * MIB, template)
    spec = _spec(pool, "root-i")
    hypervisor.start_vm(host, spec)
    conn = libvirt.open("qemu:///system")
    try:
        cdrom = IsoSpec(str(uuid.uuid4()), f"{store.url}/template/tmpl/2/202/tools.iso")
        hypervisor.attach_iso(host, spec.name, cdrom)
        hypervisor.attach_iso(host, spec.name, cdrom)
        xml = conn.lookupByName(spec.name).XMLDesc(0)
        assert f"{pool.url.removeprefix('SharedMountPoint://')}/tools.iso" in xml
        hypervisor.detach_iso(host, spec.name)
        hypervisor.detach_iso(host, spec.name)
        assert "tools.iso" not in conn.lookupByName(spec.name).XMLDesc(0)
    finally:
        conn.close()
        hypervisor.destroy_vm(host, spec.name)


def test_the_guest_boots_from_the_template_and_logs_its_console(
    pool: PoolRef, template: StoredObject
) -> None:
    storage, hypervisor = KvmStorage(), KvmHypervisor(stop_timeout=60)
    host = HostRef(hypervisor.connect(HOST).guid, HOST)
    storage.create_volume(pool, "root-b", 64 * MIB, template)
    spec = _spec(pool, "root-b")
    hypervisor.start_vm(host, spec)
    try:
        log = Path(f"/var/log/libvirt/qemu/{spec.name}-serial.log")
        assert wait_for_text(log, GUEST_READY, 180), log.read_text(errors="replace")[-2000:]
    finally:
        hypervisor.destroy_vm(host, spec.name)


def test_a_host_asking_for_a_login_gets_the_addhost_credentials(
    sasl_daemon: PeerDaemon, caplog: pytest.LogCaptureFixture
) -> None:
    """libvirt's SASL login is answered with the addHost user and password; a wrong one
    is refused even while this process holds a connection opened with the right one; a
    heartbeat, which has no password, still learns the host is alive; the password is
    in no log line and no error."""
    caplog.set_level(logging.DEBUG)
    url = f"{sasl_daemon.uri}&kvm.domain.type=qemu"
    driver = KvmHypervisor(Connections())
    with pytest.raises(InvalidHostCredentials) as refused:
        driver.connect(HostConnection(url, SASL_LOGIN[0], "wrong-password"))
    info = driver.connect(HostConnection(url, *SASL_LOGIN))
    with pytest.raises(InvalidHostCredentials):
        driver.connect(HostConnection(url, SASL_LOGIN[0], "wrong-password"))
    host = HostRef(info.guid, HostConnection(url))
    assert KvmHypervisor(Connections()).ping(host, timeout=30).status is HostStatus.UP
    shown = caplog.text + str(refused.value)
    assert SASL_LOGIN[1] not in shown and "wrong-password" not in shown
