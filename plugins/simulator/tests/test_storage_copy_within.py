"""The simulator's secondary storage copies an object to another path of its store
(``createTemplate`` from a snapshot's backup): the file of a ``file://`` store with its
digests, the entry of a simulated store; a failed or missing copy leaves nothing."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from cumulo_simulator.rules import Behaviour, Scope
from cumulo_simulator.state import SimulatorState
from cumulo_simulator.storage import SimulatorStorage

from cumulo.sdk import PoolRef, StorageOperationFailed, StoreRef

GIB = 1024**3


def _backed_up(driver: SimulatorStorage, store: StoreRef) -> str:
    """A simulated volume's snapshot backed up to ``store``; its path there."""
    pool = PoolRef(uuid="pool-1", url="nfs://10.0.0.1/primary")
    driver.attach_pool(pool)
    driver.create_volume(pool, "vol-1", 3 * GIB)
    driver.copy_to_store(pool, "vol-1", store, "snapshots/2/7/snap-1")
    return "snapshots/2/7/snap-1"


def test_copy_within_a_file_store_keeps_the_virtual_size(
    state: SimulatorState, tmp_path: Path
) -> None:
    driver = SimulatorStorage(state)
    (tmp_path / "secondary").mkdir()
    store = StoreRef(uuid="store-1", url=f"file://{tmp_path / 'secondary'}")
    source = _backed_up(driver, store)
    reports: list[tuple[int, int | None]] = []
    copied = driver.copy_within_store(
        store, source, "template/tmpl/2/9/t.vhd", lambda done, total: reports.append((done, total))
    )
    original = (tmp_path / "secondary" / source).read_bytes()
    written = tmp_path / "secondary" / "template" / "tmpl" / "2" / "9" / "t.vhd"
    assert written.read_bytes() == original
    assert (copied.size_bytes, copied.physical_size_bytes) == (3 * GIB, len(original))
    assert copied.digests["sha256"] == hashlib.sha256(original).hexdigest()
    assert reports[-1] == (len(original), len(original))
    listed = driver.list_objects(store)
    assert set(listed) == {source, "template/tmpl/2/9/t.vhd"}
    # Copying again over the target succeeds (a retried job).
    assert driver.copy_within_store(store, source, "template/tmpl/2/9/t.vhd") == copied


def test_copy_within_a_simulated_store_and_failures(state: SimulatorState) -> None:
    driver = SimulatorStorage(state)
    store = StoreRef(uuid="store-2", url="nfs://10.0.0.2/secondary")
    driver.attach_store(store)
    source = _backed_up(driver, store)
    copied = driver.copy_within_store(store, source, "template/tmpl/2/9/t.vhd")
    assert copied.size_bytes == 3 * GIB and not copied.digests
    with pytest.raises(StorageOperationFailed, match="is not on store"):
        driver.copy_within_store(store, "snapshots/none", "template/tmpl/2/10/t.vhd")
    state.add_rule("copy_within_store", Scope(), Behaviour("fail", message="store on fire"))
    with pytest.raises(StorageOperationFailed, match="store on fire"):
        driver.copy_within_store(store, source, "template/tmpl/2/11/t.vhd")
    assert set(driver.list_objects(store)) == {source, "template/tmpl/2/9/t.vhd"}
