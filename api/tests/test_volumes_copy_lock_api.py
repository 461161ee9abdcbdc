"""A volume being copied to a template is locked: while ``createTemplate``'s job copies
it to secondary storage, deleting, attaching, detaching, resizing, migrating or
snapshotting it is refused with a 431 naming the template and its job; the lock goes
when the job ends, whether the copy succeeded or failed. Likewise a snapshot whose
backup is being copied cannot be deleted.

The copy is held in progress by the simulator's storage driver subclassed for this
test: its ``copy_to_store`` (and ``copy_within_store``) waits on a
:class:`threading.Event`, in the job worker's thread, while the test acts through the
API; everything else is the code under test, on the demo zone of
:mod:`test_volumes_api`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any, ClassVar

import falcon.testing
import pytest
import test_volumes_api as volumes
from sqlalchemy import select
from test_snapshots_backup_api import Simulator
from test_volumes_api import (
    Cloud,
    Keys,
    call,
    create_volume,
    error,
    job_failed,
    job_ok,
    make_vm,
)

from cumulo.runtime import Runtime
from cumulo.sdk.storage import (
    PoolRef,
    Progress,
    StorageOperationFailed,
    StoredObject,
    StoreRef,
)
from cumulo.templates.models import TemplateZoneRef, VMTemplate
from cumulo.testing.fakes import registered_drivers
from cumulo_api.registry import CommandRegistry
from cumulo_api.worker import run_pending

cloud = volumes.cloud  # the fixtures, shared with the volume tests
bob_keys = volumes.bob_keys

WAIT = 60.0
"""Most seconds a side waits for the other before the test gives up (a safety net for
a broken build, never a measure of anything)."""


class Held(Simulator):  # type: ignore[misc, valid-type]
    """Copies to secondary storage only once released; ``fail`` makes the copy fail."""

    name: ClassVar[str] = "Simulator"
    started: ClassVar[threading.Event] = threading.Event()
    release: ClassVar[threading.Event] = threading.Event()
    fail: ClassVar[bool] = False

    def _hold(self) -> None:
        type(self).started.set()
        if not type(self).release.wait(WAIT):
            raise StorageOperationFailed("the test never released the copy")
        if type(self).fail:
            raise StorageOperationFailed("store on fire")

    def copy_to_store(
        self,
        pool: PoolRef,
        path: str,
        store: StoreRef,
        target_path: str,
        progress: Progress | None = None,
    ) -> StoredObject:
        if target_path.startswith("template/"):
            self._hold()
        return super().copy_to_store(pool, path, store, target_path, progress)  # type: ignore[no-any-return]

    def copy_within_store(
        self, store: StoreRef, path: str, target_path: str, progress: Progress | None = None
    ) -> StoredObject:
        self._hold()
        return super().copy_within_store(store, path, target_path, progress)  # type: ignore[no-any-return]


@pytest.fixture
def held(cloud: Cloud) -> Iterator[type[Held]]:
    Held.started, Held.release, Held.fail = threading.Event(), threading.Event(), False
    with registered_drivers("cumulo.storage", {"Simulator": Held}):
        yield Held
    Held.release.set()


class Copy:
    """A ``createTemplate`` whose job runs in a thread of its own (the job worker)."""

    def __init__(
        self, api: falcon.testing.TestClient, runtime: Runtime, keys: Keys, **source: str
    ) -> None:
        self.api, self.runtime, self.keys = api, runtime, keys
        os_type = call(api, keys, "listOsTypes")["ostype"][0]["id"]
        self.started = call(api, keys, "createTemplate", name="golden", displaytext="golden",
                            ostypeid=os_type, **source)  # fmt: skip
        registry = CommandRegistry.build(runtime.pm)
        self.thread = threading.Thread(target=run_pending, args=(runtime, registry), kwargs={
            "limit": 1})  # fmt: skip
        self.thread.start()
        assert Held.started.wait(WAIT), "the copy never started"

    def end(self) -> Any:
        Held.release.set()
        self.thread.join(WAIT)
        assert not self.thread.is_alive()
        return call(self.api, self.keys, "queryAsyncJobResult", jobid=self.started["jobid"])


def _ready_data_volume(
    api: falcon.testing.TestClient, runtime: Runtime, keys: Keys, cloud: Cloud, vm: str
) -> str:
    """A data volume created on primary storage (attached once), detached again."""
    volume = create_volume(api, runtime, keys, cloud, diskofferingid=cloud.custom, size=4)
    job_ok(api, runtime, keys, "attachVolume", id=volume["id"], virtualmachineid=vm)
    job_ok(api, runtime, keys, "detachVolume", id=volume["id"])
    return str(volume["id"])


def _refused(text: str, template: str) -> bool:
    return f"being copied to template {template}" in text and "try again" in text


def test_a_volume_being_copied_to_a_template_is_locked(
    api: falcon.testing.TestClient, runtime: Runtime, user_keys: Keys, admin_keys: Keys,
    cloud: Cloud, held: type[Held],
) -> None:  # fmt: skip
    vm = make_vm(runtime, cloud, "alice", running=False)
    volume = _ready_data_volume(api, runtime, user_keys, cloud, vm)
    copy = Copy(api, runtime, user_keys, volumeid=volume)
    template = copy.started["id"]
    # The copy is running (its job holds it in the driver): every change is refused.
    status, text = error(api, user_keys, "deleteVolume", id=volume)
    assert status == 431 and _refused(text, template), text
    code, text = job_failed(api, runtime, user_keys, "attachVolume", id=volume,
                            virtualmachineid=vm)  # fmt: skip
    assert code == 431 and _refused(text, template), text
    code, text = job_failed(api, runtime, user_keys, "resizeVolume", id=volume, size=8)
    assert code == 431 and _refused(text, template), text
    code, text = job_failed(api, runtime, admin_keys, "migrateVolume", volumeid=volume,
                            storageid=cloud.pool)  # fmt: skip
    assert code == 431 and _refused(text, template), text
    status, text = error(api, user_keys, "createSnapshot", volumeid=volume)
    assert status == 431 and text.startswith("volumeid") and _refused(text, template), text
    listed = call(api, user_keys, "listVolumes", id=volume)["volume"][0]
    assert (listed["state"], listed.get("virtualmachineid"), listed["size"]) == (
        "Ready", None, 4 * 1024**3,
    )  # fmt: skip

    done = copy.end()
    assert done["jobstatus"] == 1, done
    # Released with the job's end: the volume is the user's to change again.
    job_ok(api, runtime, user_keys, "attachVolume", id=volume, virtualmachineid=vm)

    # Attached, copied again: now detaching is refused, and released after the copy.
    held.started.clear()
    held.release.clear()
    copy = Copy(api, runtime, user_keys, volumeid=volume)
    code, text = job_failed(api, runtime, user_keys, "detachVolume", id=volume)
    assert code == 431 and _refused(text, copy.started["id"]), text
    assert copy.end()["jobstatus"] == 1
    job_ok(api, runtime, user_keys, "detachVolume", id=volume)
    assert call(api, user_keys, "deleteVolume", id=volume)["success"] == "true"


def test_the_lock_is_released_when_the_copy_fails(
    api: falcon.testing.TestClient, runtime: Runtime, user_keys: Keys, cloud: Cloud,
    held: type[Held],
) -> None:  # fmt: skip
    vm = make_vm(runtime, cloud, "alice", running=False)
    volume = _ready_data_volume(api, runtime, user_keys, cloud, vm)
    held.fail = True
    copy = Copy(api, runtime, user_keys, volumeid=volume)
    status, text = error(api, user_keys, "deleteVolume", id=volume)
    assert status == 431 and _refused(text, copy.started["id"]), text
    done = copy.end()
    assert done["jobstatus"] == 2 and done["jobresult"]["errorcode"] == 534
    with runtime.sessions() as session:
        states = session.scalars(
            select(TemplateZoneRef.download_state)
            .join(VMTemplate)
            .where(VMTemplate.uuid == copy.started["id"])
        ).all()
    assert states == ["DOWNLOAD_ERROR"]
    taken = job_ok(api, runtime, user_keys, "createSnapshot", volumeid=volume)["snapshot"]
    assert taken["state"] == "BackedUp"
    assert call(api, user_keys, "deleteVolume", id=volume)["success"] == "true"


def test_a_snapshot_being_copied_to_a_template_is_not_deleted(
    api: falcon.testing.TestClient, runtime: Runtime, user_keys: Keys, bob_keys: Keys,
    cloud: Cloud, held: type[Held],
) -> None:  # fmt: skip
    vm = make_vm(runtime, cloud, "alice")
    root = call(api, user_keys, "listVolumes", virtualmachineid=vm, type="ROOT")["volume"][0]
    snapshot = job_ok(api, runtime, user_keys, "createSnapshot", volumeid=root["id"])["snapshot"]
    copy = Copy(api, runtime, user_keys, snapshotid=snapshot["id"])
    code, text = job_failed(api, runtime, user_keys, "deleteSnapshot", id=snapshot["id"])
    assert code == 431 and _refused(text, copy.started["id"]), text
    code, _ = job_failed(api, runtime, bob_keys, "deleteSnapshot", id=snapshot["id"])
    assert code == 531  # and another account is refused before anything else
    assert copy.end()["jobstatus"] == 1
    assert job_ok(api, runtime, user_keys, "deleteSnapshot", id=snapshot["id"])["success"] is True
