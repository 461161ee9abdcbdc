"""Simulated hosts report their own disk as local storage (REQ-PS-06): 1 TiB by
default as 4.1's simulator, sized by ``localstorage=`` in the URL, none with
``localstorage=0``; the same identity at every connect, its use what the simulated
storage holds for it."""

from __future__ import annotations

import pytest
from cumulo_simulator.hosturl import DEFAULT_LOCAL_STORAGE, HostUrlError, parse_host_url
from cumulo_simulator.hypervisor import SimulatorHypervisor
from cumulo_simulator.state import SimulatorState
from cumulo_simulator.storage import SimulatorStorage

from cumulo.sdk import HostConnection, PoolRef

GIB = 1024**3


def test_the_url_sizes_the_local_disk() -> None:
    assert parse_host_url("http://sim/h1").local_storage_bytes == DEFAULT_LOCAL_STORAGE == 1024**4
    assert parse_host_url("http://sim/h1?localstorage=500G").local_storage_bytes == 500 * GIB
    assert parse_host_url("http://sim/h1?localstorage=0").local_storage_bytes == 0
    with pytest.raises(HostUrlError, match="localstorage"):
        parse_host_url("http://sim/h1?localstorage=lots")


def test_connect_reports_the_same_local_storage_each_time(state: SimulatorState) -> None:
    driver = SimulatorHypervisor(state)
    (first,) = driver.connect(
        HostConnection("http://10.1.0.5/h1?localstorage=200GiB")
    ).local_storage
    assert (first.total_bytes, first.used_bytes, first.pool_type) == (200 * GIB, 0, "Filesystem")
    assert first.path == f"/mnt/{first.uuid}" and len(first.uuid) == 36
    (again,) = driver.connect(
        HostConnection("http://10.1.0.5/h1?localstorage=300GiB")
    ).local_storage
    assert again.uuid == first.uuid and again.total_bytes == 300 * GIB  # grown disk
    (other,) = driver.connect(HostConnection("http://10.1.0.5/h2")).local_storage
    assert other.uuid != first.uuid and other.total_bytes == 1024**4
    assert driver.connect(HostConnection("http://10.1.0.5/h3?localstorage=0")).local_storage == ()


def test_volumes_on_the_local_pool_count_as_its_use(state: SimulatorState) -> None:
    """The core addresses the local pool by the uuid the host reported: the storage
    driver creates volumes there, and the next connect reports them as used."""
    driver, storage = SimulatorHypervisor(state), SimulatorStorage(state)
    url = "http://10.1.0.5/h1?localstorage=10GiB"
    (disk,) = driver.connect(HostConnection(url)).local_storage
    pool = PoolRef(disk.uuid, f"filesystem://10.1.0.5{disk.path}")
    storage.create_volume(pool, "ROOT-7", 4 * GIB)
    assert storage.pool_capacity(pool).used_bytes == 4 * GIB
    (after,) = driver.connect(HostConnection(url)).local_storage
    assert (after.total_bytes, after.used_bytes) == (10 * GIB, 4 * GIB)
