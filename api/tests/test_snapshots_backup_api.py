"""Snapshots backed up to the zone's secondary storage (REQ-SS-01), over the API, on the
demo zone of simulated hosts and pools with its real ``file://`` secondary store (the
fixtures of :mod:`test_volumes_api`), through the simulator's storage and hypervisor
drivers: ``Creating → CreatedOnPrimary → BackingUp → BackedUp``; volumes and templates
made from a snapshot read its backup; deleting a snapshot, or trimming a policy's,
deletes both copies; a failed backup ends in ``Error`` leaving nothing behind, and a
job run again after a crash finishes the snapshot without taking it twice.

The storage driver is the simulator's, subclassed only to observe what the code under
test asks of it (which state the snapshot is in while it is copied, which image a
volume is made from) or to stand for a process dying mid-copy.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

import falcon.testing
import pytest
import test_volumes_api as volumes
from sqlalchemy import func, select
from test_volumes_api import Cloud, Keys, call, error, job_failed, job_ok, make_vm

from cumulo.events.models import Event
from cumulo.infra.hosts.models import Host
from cumulo.limits.models import ResourceCount
from cumulo.runtime import Runtime
from cumulo.sdk.storage import (
    PoolRef,
    Progress,
    SecondaryStorageDriver,
    StorageOperationFailed,
    StoredObject,
    StoredVolume,
    StoreRef,
)
from cumulo.templates.models import TemplateZoneRef, VMTemplate
from cumulo.testing.fakes import registered_drivers
from cumulo.volumes import snapshots
from cumulo.volumes.models import Volume
from cumulo.volumes.scheduler import run_scheduled_snapshots
from cumulo.volumes.snapshot_models import Snapshot, SnapshotPolicy
from cumulo_api.registry import CommandRegistry
from cumulo_api.worker import run_pending

simulator_storage = pytest.importorskip("cumulo_simulator.storage")
simulator_state = pytest.importorskip("cumulo_simulator.state")
simulator_rules = pytest.importorskip("cumulo_simulator.rules")

cloud = volumes.cloud  # the fixtures, shared with the volume tests
bob_keys = volumes.bob_keys

_SDK_DEFAULT = getattr(SecondaryStorageDriver, "copy_within_store", None)

if getattr(simulator_storage.SimulatorStorage, "copy_within_store", _SDK_DEFAULT) is not (
    _SDK_DEFAULT
):
    Simulator: Any = simulator_storage.SimulatorStorage
else:

    class Simulator(simulator_storage.SimulatorStorage):  # type: ignore[no-redef, name-defined]
        """The simulator with the optional SDK method this area asks for
        (``copy_within_store``, requested of the SDK and the simulator), on the
        simulator's own rows and files, until the simulator has it."""

        name: ClassVar[str] = "Simulator"

        def copy_within_store(
            self, store: StoreRef, path: str, target_path: str, progress: Progress | None = None
        ) -> StoredObject:
            source = self.list_objects(store).get(path)
            directory = Path(urlsplit(store.url).path)
            if source is None or not (directory / path).is_file():
                raise StorageOperationFailed(f"{path} is not on store {store.url}")
            target = directory / target_path
            target.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=target.parent)
            os.close(handle)
            shutil.copyfile(directory / path, temporary)
            os.replace(temporary, target)
            physical = target.stat().st_size
            self._add(store.uuid, target_path, source.size_bytes, physical)
            return StoredObject(target_path, source.size_bytes, physical)


class Observing(Simulator):  # type: ignore[misc, valid-type]
    """Records, while a snapshot is copied to secondary storage, the snapshot's and its
    volume's states as the database has them; and the image each volume is made from."""

    name: ClassVar[str] = "Simulator"
    runtime: ClassVar[Runtime | None] = None
    seen: ClassVar[list[tuple[str, str, str]]] = []
    images: ClassVar[list[StoredObject | None]] = []

    def copy_to_store(
        self,
        pool: PoolRef,
        path: str,
        store: StoreRef,
        target_path: str,
        progress: Progress | None = None,
    ) -> StoredObject:
        if self.runtime is not None and target_path.startswith("snapshots/"):
            with self.runtime.sessions() as session:
                row = session.execute(
                    select(Snapshot.status, Volume.state)
                    .join(Volume, Volume.id == Snapshot.volume_id)
                    .where(Snapshot.install_path == target_path)
                ).one()
            self.seen.append((target_path, row[0], row[1]))
        return super().copy_to_store(pool, path, store, target_path, progress)  # type: ignore[no-any-return]

    def create_volume(
        self, pool: PoolRef, name: str, size_bytes: int, template: StoredObject | None = None
    ) -> StoredVolume:
        self.images.append(template)
        return super().create_volume(pool, name, size_bytes, template)  # type: ignore[no-any-return]


class _Crash(BaseException):
    """The management server dying mid-copy (not an error the code could handle)."""


class Crashing(Simulator):  # type: ignore[misc, valid-type]
    """Writes part of the backup, then the process 'dies'."""

    name: ClassVar[str] = "Simulator"

    def copy_to_store(
        self,
        pool: PoolRef,
        path: str,
        store: StoreRef,
        target_path: str,
        progress: Progress | None = None,
    ) -> StoredObject:
        target = Path(urlsplit(store.url).path) / target_path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(b"half")
        raise _Crash


@pytest.fixture
def observed(runtime: Runtime, cloud: Cloud) -> Iterator[type[Observing]]:
    Observing.runtime, Observing.seen, Observing.images = runtime, [], []
    with registered_drivers("cumulo.storage", {"Simulator": Observing}):
        yield Observing
    Observing.runtime = None


def _root(api: falcon.testing.TestClient, keys: Keys, vm: str) -> str:
    return str(call(api, keys, "listVolumes", virtualmachineid=vm, type="ROOT")["volume"][0]["id"])


def _row(runtime: Runtime, uuid: str) -> Snapshot:
    with runtime.sessions() as session:
        snapshot = session.scalars(select(Snapshot).where(Snapshot.uuid == uuid)).one()
        session.expunge(snapshot)
        return snapshot


def _store_dir(runtime: Runtime, store_id: int | None) -> Path:
    with runtime.sessions() as session:
        url = session.scalars(select(Host.url).where(Host.id == store_id)).one()
    return Path(urlsplit(url or "").path)


def _primary_copies(tmp_path: Path) -> list[str]:
    state = simulator_state.SimulatorState(tmp_path / "simulator.sqlite")
    return [row[0] for row in state.read().execute("SELECT path FROM snapshots ORDER BY path")]


def _snapshot_count(runtime: Runtime) -> int:
    with runtime.sessions() as session:
        return int(
            session.scalar(
                select(func.sum(ResourceCount.count)).where(
                    ResourceCount.type == "snapshot", ResourceCount.account_id.is_not(None)
                )
            )
            or 0
        )


def _os_type(api: falcon.testing.TestClient, keys: Keys) -> str:
    return str(call(api, keys, "listOsTypes")["ostype"][0]["id"])


def test_a_snapshot_is_backed_up_to_secondary_storage(
    api: falcon.testing.TestClient, runtime: Runtime, user_keys: Keys, cloud: Cloud,
    observed: type[Observing], tmp_path: Path,
) -> None:  # fmt: skip
    """REQ-SS-01: after the hypervisor took it on primary storage, the job backs the
    snapshot up to the zone's secondary store, through every 4.1 state."""
    root = _root(api, user_keys, make_vm(runtime, cloud, "alice"))
    taken = job_ok(api, runtime, user_keys, "createSnapshot", volumeid=root)["snapshot"]
    assert taken["state"] == "BackedUp"
    row = _row(runtime, taken["id"])
    # Allocated → Creating → CreatedOnPrimary → BackingUp → BackedUp: four moves, and
    # while the bits were copied the snapshot was BackingUp and its volume held.
    assert row.update_count == 4
    assert observed.seen == [(row.install_path, "BackingUp", "Snapshotting")]
    assert row.install_path == f"snapshots/{row.account_id}/{row.volume_id}/{row.uuid}"
    backup = _store_dir(runtime, row.store_id) / row.install_path
    assert backup.is_file() and row.physical_size == backup.stat().st_size
    assert row.path in _primary_copies(tmp_path)  # the primary copy stays too
    listed = call(api, user_keys, "listSnapshots", id=taken["id"])["snapshot"]
    assert [s["state"] for s in listed] == ["BackedUp"]
    assert call(api, user_keys, "listVolumes", id=root)["volume"][0]["state"] == "Ready"


def test_volumes_and_templates_are_made_from_the_backup(
    api: falcon.testing.TestClient, runtime: Runtime, user_keys: Keys, bob_keys: Keys,
    cloud: Cloud, observed: type[Observing], tmp_path: Path,
) -> None:  # fmt: skip
    """REQ-SS-01: ``createVolume snapshotid=`` and ``createTemplate snapshotid=`` read
    the copy on secondary storage; the volume records its snapshot (``snapshotid``)."""
    root = _root(api, user_keys, make_vm(runtime, cloud, "alice"))
    taken = job_ok(api, runtime, user_keys, "createSnapshot", volumeid=root)["snapshot"]
    row = _row(runtime, taken["id"])
    store = _store_dir(runtime, row.store_id)
    with runtime.sessions() as session:
        store_url = session.scalars(select(Host.url).where(Host.id == row.store_id)).one()
    observed.images.clear()
    made = job_ok(api, runtime, user_keys, "createVolume", name="restored",
                  snapshotid=taken["id"])["volume"]  # fmt: skip
    assert made["snapshotid"] == taken["id"] and made["state"] == "Ready"
    (image,) = observed.images
    assert image is not None
    assert image.path == f"{store_url}/{row.install_path}"
    assert image.size_bytes == row.size and image.physical_size_bytes == row.physical_size
    listed = call(api, user_keys, "listVolumes", id=made["id"])["volume"][0]
    assert listed["snapshotid"] == taken["id"]
    assert "snapshotid" not in call(api, user_keys, "listVolumes", id=root)["volume"][0]
    with runtime.sessions() as session:
        assert session.scalars(select(Volume.snapshot_id).where(Volume.uuid == made["id"])).one()

    # The hypervisor's copy is gone (say, its pool was lost): the template still comes,
    # from the backup, byte for byte.
    state = simulator_state.SimulatorState(tmp_path / "simulator.sqlite")
    with state.write() as conn:
        conn.execute("DELETE FROM snapshots WHERE path = ?", (row.path,))
    params = {"name": "snapped", "displaytext": "snapped", "ostypeid": _os_type(api, user_keys)}
    status, _ = error(api, bob_keys, "createTemplate", snapshotid=taken["id"], **params)
    assert status == 531  # another account's snapshot
    template = job_ok(api, runtime, user_keys, "createTemplate", snapshotid=taken["id"],
                      **params)["template"]  # fmt: skip
    assert template["status"] == "Download Complete" and template["size"] == row.size
    with runtime.sessions() as session:
        ref = session.scalars(
            select(TemplateZoneRef).join(VMTemplate).where(VMTemplate.uuid == template["id"])
        ).one()
    assert ref.store_id == row.store_id
    assert (store / (ref.install_path or "")).read_bytes() == (
        store / row.install_path
    ).read_bytes()


def test_without_copy_within_store_the_template_comes_from_the_primary_copy(
    api: falcon.testing.TestClient, runtime: Runtime, user_keys: Keys, cloud: Cloud,
) -> None:  # fmt: skip
    """A secondary driver without the optional ``copy_within_store`` still makes the
    template, from the snapshot's primary copy through the pool's driver."""

    class Plain(Simulator):  # type: ignore[misc, valid-type]
        name: ClassVar[str] = "Simulator"
        copy_within_store = _SDK_DEFAULT

    root = _root(api, user_keys, make_vm(runtime, cloud, "alice"))
    with registered_drivers("cumulo.storage", {"Simulator": Plain}):
        taken = job_ok(api, runtime, user_keys, "createSnapshot", volumeid=root)["snapshot"]
        template = job_ok(
            api, runtime, user_keys, "createTemplate", snapshotid=taken["id"], name="t",
            displaytext="t", ostypeid=_os_type(api, user_keys),
        )["template"]  # fmt: skip
    assert template["status"] == "Download Complete"


def test_deleting_a_snapshot_deletes_both_copies(
    api: falcon.testing.TestClient, runtime: Runtime, user_keys: Keys, cloud: Cloud,
    tmp_path: Path,
) -> None:  # fmt: skip
    root = _root(api, user_keys, make_vm(runtime, cloud, "alice"))
    taken = job_ok(api, runtime, user_keys, "createSnapshot", volumeid=root)["snapshot"]
    row = _row(runtime, taken["id"])
    backup = _store_dir(runtime, row.store_id) / (row.install_path or "")
    assert backup.is_file() and _primary_copies(tmp_path) == [row.path]
    assert job_ok(api, runtime, user_keys, "deleteSnapshot", id=taken["id"])["success"] is True
    assert not backup.exists() and _primary_copies(tmp_path) == []
    state = simulator_state.SimulatorState(tmp_path / "simulator.sqlite")
    assert not list(
        state.read().execute("SELECT path FROM objects WHERE path = ?", (row.install_path,))
    )
    assert call(api, user_keys, "listSnapshots") == {} and _snapshot_count(runtime) == 0


def test_a_failed_backup_ends_in_error_and_leaves_nothing(
    api: falcon.testing.TestClient, runtime: Runtime, admin_keys: Keys, cloud: Cloud,
    tmp_path: Path,
) -> None:  # fmt: skip
    """The job fails with the storage's reason (shown to a root admin, as 4.1 shows
    internal errors' texts), the snapshot is in Error without a backup, the volume is
    Ready and the count given back."""
    root = _root(api, admin_keys, make_vm(runtime, cloud, "admin"))
    state = simulator_state.SimulatorState(tmp_path / "simulator.sqlite")
    state.add_rule(
        "copy_to_store",
        simulator_rules.Scope(),
        simulator_rules.Behaviour(result="fail", message="store on fire"),
    )
    code, text = job_failed(api, runtime, admin_keys, "createSnapshot", volumeid=root)
    assert code == 534
    assert "back up snapshot" in text and "secondary storage" in text and "store on fire" in text
    (listed,) = call(api, admin_keys, "listSnapshots")["snapshot"]
    assert listed["state"] == "Error"
    row = _row(runtime, listed["id"])
    assert (row.store_id, row.install_path) == (None, None)
    store = _store_dir(runtime, _zone_store_id(runtime, cloud))
    assert not (store / "snapshots").exists() or not any((store / "snapshots").rglob("*"))
    assert call(api, admin_keys, "listVolumes", id=root)["volume"][0]["state"] == "Ready"
    assert _snapshot_count(runtime) == 0
    with runtime.sessions() as session:
        failure = session.scalars(
            select(Event.description).where(Event.type == "SNAPSHOT.CREATE", Event.level == "ERROR")
        ).one()
    assert "store on fire" in failure
    # The snapshot in Error still holds its primary copy: deleting it removes that.
    assert _primary_copies(tmp_path) == [row.path]
    job_ok(api, runtime, admin_keys, "deleteSnapshot", id=listed["id"])
    assert _primary_copies(tmp_path) == [] and _snapshot_count(runtime) == 0


def _zone_store_id(runtime: Runtime, cloud: Cloud) -> int:
    with runtime.sessions() as session:
        return int(
            session.scalars(
                select(Host.id).where(
                    Host.data_center_id == cloud.zone_id, Host.type == "SecondaryStorage"
                )
            ).one()
        )


def test_a_job_run_again_after_a_crash_finishes_without_taking_twice(
    api: falcon.testing.TestClient, runtime: Runtime, user_keys: Keys, cloud: Cloud,
    tmp_path: Path,
) -> None:  # fmt: skip
    """The process dies while the backup is half-written; the job run again resumes
    from BackingUp, overwrites the half-written backup and takes no second snapshot; a
    third run finds it BackedUp and changes nothing."""
    root = _root(api, user_keys, make_vm(runtime, cloud, "alice"))
    started = call(api, user_keys, "createSnapshot", volumeid=root)  # its job stays queued
    secrets = snapshots.Secrets(runtime.database_key, runtime.algorithm)
    snapshot_id = _row(runtime, started["id"]).id
    with (
        registered_drivers("cumulo.storage", {"Simulator": Crashing}),
        pytest.raises(_Crash),
        runtime.sessions() as session,
    ):
        snapshots.take(session, snapshot_id, secrets)
    assert call(api, user_keys, "listSnapshots", id=started["id"])["snapshot"][0]["state"] == (
        "BackingUp"
    )
    half = _row(runtime, started["id"])
    backup = _store_dir(runtime, half.store_id) / (half.install_path or "")
    assert backup.read_bytes() == b"half" and len(_primary_copies(tmp_path)) == 1

    run_pending(runtime, CommandRegistry.build(runtime.pm))  # the job, run again
    job = call(api, user_keys, "queryAsyncJobResult", jobid=started["jobid"])
    assert job["jobstatus"] == 1, job
    assert job["jobresult"]["snapshot"]["state"] == "BackedUp"
    done = _row(runtime, started["id"])
    assert backup.read_bytes() != b"half" and done.physical_size == backup.stat().st_size
    assert len(_primary_copies(tmp_path)) == 1  # not taken twice
    assert call(api, user_keys, "listVolumes", id=root)["volume"][0]["state"] == "Ready"
    assert _snapshot_count(runtime) == 1
    with runtime.sessions() as session:
        again = snapshots.take(session, snapshot_id, secrets)
        assert again.update_count == done.update_count
        created = session.scalar(
            select(func.count())
            .select_from(Event)
            .where(Event.type == "SNAPSHOT.CREATE", Event.description.like("Successfully%"))
        )
    assert created == 1 and len(_primary_copies(tmp_path)) == 1


def test_policy_retention_deletes_both_copies(
    api: falcon.testing.TestClient, runtime: Runtime, user_keys: Keys, cloud: Cloud,
    tmp_path: Path,
) -> None:  # fmt: skip
    root = _root(api, user_keys, make_vm(runtime, cloud, "alice"))
    policy = call(api, user_keys, "createSnapshotPolicy", volumeid=root, intervaltype="HOURLY",
                  schedule="10", timezone="UTC", maxsnaps=1)["snapshotpolicy"]  # fmt: skip
    with runtime.sessions() as session:
        due = session.scalars(
            select(SnapshotPolicy.next_run).where(SnapshotPolicy.uuid == policy["id"])
        ).one()
    assert due is not None
    first = run_scheduled_snapshots(runtime, now=due + dt.timedelta(seconds=1)).taken
    old = _row(runtime, first[0])
    old_backup = _store_dir(runtime, old.store_id) / (old.install_path or "")
    assert old.status == "BackedUp" and old_backup.is_file()
    outcome = run_scheduled_snapshots(runtime, now=due + dt.timedelta(hours=1, seconds=1))
    assert outcome.deleted == first and len(outcome.taken) == 1
    new = _row(runtime, outcome.taken[0])
    assert not old_backup.exists() and old.path not in _primary_copies(tmp_path)
    assert (_store_dir(runtime, new.store_id) / (new.install_path or "")).is_file()
    assert _primary_copies(tmp_path) == [new.path]
    assert [s["id"] for s in call(api, user_keys, "listSnapshots")["snapshot"]] == [new.uuid]
