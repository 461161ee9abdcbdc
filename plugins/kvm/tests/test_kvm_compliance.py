"""The KVM drivers pass the compliance kits on real libvirtd and QEMU (REQ-KVM-01).

Two hosts are two real libvirtds (:class:`kvm_testbed.PeerDaemon` beside the tool's),
sharing a pool directory as a cluster shares its primary storage; the kit's VMs boot
the tiny guest from a qcow2 volume made from the bootable image, so a hot-unplug or an
ACPI shutdown is answered by a real kernel, and migration moves a running QEMU from
one daemon to the other (REQ-KVM-04). Primary storage runs on a ``SharedMountPoint``
pool of the first daemon; secondary storage on a ``file://`` directory filled from a
local HTTP server.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

pytest.importorskip("libvirt", reason="libvirt-python is not installed")
pytest.importorskip("cumulo_kvm", reason="the KVM plugin is not installed")

from cumulo_kvm.hypervisor import KvmHypervisor
from cumulo_kvm.storage import KvmStorage
from kvm_testbed import SASL_LOGIN, PeerDaemon

from cumulo.sdk import (
    HostConnection,
    HostRef,
    HypervisorDriver,
    PoolRef,
    PrimaryStorageDriver,
    SecondaryStorageDriver,
    StorageOperationFailed,
    StoredObject,
    StoreRef,
    VmSpec,
    VolumeSpec,
)
from cumulo.sdk.storage import TemplateSource
from cumulo.templates.testing import TemplateServer
from cumulo.testing.compliance import (
    HypervisorComplianceKit,
    PrimaryStorageComplianceKit,
    SecondaryStorageComplianceKit,
)

QEMU_OPTIONS = "kvm.domain.type=qemu"  # these machines have no usable KVM acceleration


def _host(uri: str) -> HostConnection:
    separator = "&" if "?" in uri else "?"
    return HostConnection(f"{uri.replace('qemu:///', 'qemu+unix:///')}{separator}{QEMU_OPTIONS}")


@pytest.fixture(scope="module")
def shared_pool(
    libvirt_host: str, peer_host: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PoolRef]:
    """One SharedMountPoint pool defined on both daemons (the cluster's storage)."""
    directory = tmp_path_factory.mktemp("kvm-shared-pool")
    pool = PoolRef(
        str(uuid.uuid4()),
        f"SharedMountPoint://{directory}",
        hosts=(_host(libvirt_host), _host(peer_host)),
    )
    storage = KvmStorage()
    storage.attach_pool(pool)
    yield pool
    storage.detach_pool(pool)


class TestKvmHypervisorCompliance(HypervisorComplianceKit):
    @pytest.fixture
    def driver(self) -> HypervisorDriver:
        return KvmHypervisor(stop_timeout=60.0, detach_timeout=90.0)

    @pytest.fixture
    def make_connection(self, libvirt_host: str, peer_host: str) -> Callable[[int], HostConnection]:
        uris = (libvirt_host, peer_host)
        return lambda index: _host(uris[index])

    @pytest.fixture
    def unreachable_connection(self) -> HostConnection:
        return HostConnection("qemu+tcp://127.0.0.1:1/system", "root", "password")

    @pytest.fixture
    def bad_credentials_connection(self, sasl_daemon: PeerDaemon) -> HostConnection:
        """A libvirtd asking for a SASL login, given the wrong password."""
        return HostConnection(f"{sasl_daemon.uri}&{QEMU_OPTIONS}", SASL_LOGIN[0], "wrong")

    @pytest.fixture
    def busy_host_connection(self) -> HostConnection:
        """libvirt's test driver: a host that already runs a domain of its own."""
        return HostConnection("test:///default")

    @pytest.fixture
    def vm(
        self,
        driver: HypervisorDriver,
        hosts: tuple[HostRef, HostRef],
        vm_memory_bytes: int,
        shared_pool: PoolRef,
        guest_image: Path,
    ) -> Iterator[VmSpec]:
        """The kit's VM, its root disk a real volume of the shared pool made from the
        bootable guest image (the kit's own names a disk that exists nowhere)."""
        storage = KvmStorage()
        name = f"ROOT-{uuid.uuid4().hex[:8]}"
        root = storage.create_volume(
            shared_pool, name, 64 * 1024**2, StoredObject(f"file://{guest_image}", 0, 0)
        )
        spec = VmSpec(
            name=f"i-2-{uuid.uuid4().hex[:8]}-VM",
            uuid=str(uuid.uuid4()),
            cpus=1,
            cpu_speed_mhz=500,
            memory_bytes=vm_memory_bytes,
            volumes=(
                VolumeSpec(
                    uuid=str(uuid.uuid4()),
                    path=root.path,
                    size_bytes=root.size_bytes,
                    pool_uuid=shared_pool.uuid,
                    volume_type="ROOT",
                    device_id=0,
                ),
            ),
            vnc_password="compliance",
        )
        yield spec
        for host in hosts:
            driver.destroy_vm(host, spec.name)
        storage.delete_volume(shared_pool, root.path)

    @pytest.fixture
    def data_volume(self, shared_pool: PoolRef) -> Iterator[VolumeSpec]:
        storage = KvmStorage()
        made = storage.create_volume(shared_pool, f"DATA-{uuid.uuid4().hex[:8]}", 32 * 1024**2)
        yield VolumeSpec(
            uuid=str(uuid.uuid4()),
            path=made.path,
            size_bytes=made.size_bytes,
            pool_uuid=shared_pool.uuid,
        )
        storage.delete_volume(shared_pool, made.path)


class TestKvmPrimaryStorageCompliance(PrimaryStorageComplianceKit):
    @pytest.fixture
    def driver(self) -> PrimaryStorageDriver:
        return KvmStorage()

    @pytest.fixture
    def pool_url(self, libvirt_host: str, tmp_path: Path) -> str:
        return f"SharedMountPoint://{tmp_path}"

    @pytest.fixture
    def pool(self, pool_url: str, libvirt_host: str) -> Iterator[PoolRef]:
        """The kit's pool, with the host that reaches it (KVM storage lives on hosts);
        undefined from the host afterwards (the kit leaves some attached)."""
        ref = PoolRef(str(uuid.uuid4()), pool_url, hosts=(_host(libvirt_host),))
        yield ref
        KvmStorage().detach_pool(ref)


class TestKvmSecondaryStorageCompliance(SecondaryStorageComplianceKit):
    @pytest.fixture
    def driver(self) -> SecondaryStorageDriver:
        return KvmStorage()

    @pytest.fixture
    def store_url(self, tmp_path: Path) -> str:
        return f"file://{tmp_path}"

    @pytest.fixture
    def template_url(self, guest_image: Path) -> Iterator[str]:
        with TemplateServer({"/tiny.qcow2": guest_image.read_bytes()}) as server:
            yield server.url("/tiny.qcow2")

    def test_register_list_delete(
        self, driver: SecondaryStorageDriver, store: StoreRef, template_url: str
    ) -> None:
        """The kit's test fetches with ``register_template``, which has no address
        policy and so keeps the safe default (public addresses only): the local
        template server is refused there. The same life cycle, with the object fetched
        under an explicit policy (as the core's downloads are): registering it again
        returns it unchanged, it is listed, deleting it twice succeeds."""
        driver.attach_store(store)
        path = f"template/tmpl/2/{uuid.uuid4().hex[:8]}/t.qcow2"
        with pytest.raises(StorageOperationFailed, match=r"internal address 127\.0\.0\.1"):
            driver.register_template(store, path, template_url)
        assert path not in driver.list_objects(store)
        allowed = TemplateSource(template_url, address_allowed=lambda address: True)
        stored = driver.download_template(store, path, allowed)
        assert stored.path == path and stored.size_bytes > 0
        assert driver.register_template(store, path, template_url) == stored
        assert driver.list_objects(store)[path] == stored
        driver.delete_object(store, path)
        driver.delete_object(store, path)
        assert path not in driver.list_objects(store)
