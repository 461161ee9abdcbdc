"""Snapshots and snapshot policies over the API, on the demo zone of simulated hosts
(the fixtures of :mod:`test_volumes_api`), through the simulator's hypervisor driver; and
the policy task of the job worker's background loop."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import falcon.testing
import pytest
import test_volumes_api as volumes
from sqlalchemy import select
from test_volumes_api import Cloud, Keys, call, create_volume, error, job_failed, job_ok, make_vm

from cumulo.limits.models import ResourceCount
from cumulo.runtime import Runtime
from cumulo.volumes.models import Volume
from cumulo.volumes.scheduler import run_scheduled_snapshots
from cumulo.volumes.snapshot_models import Snapshot, SnapshotPolicy

cloud = volumes.cloud  # the fixtures, shared with the volume tests
bob_keys = volumes.bob_keys

simulator_state = pytest.importorskip("cumulo_simulator.state")
simulator_rules = pytest.importorskip("cumulo_simulator.rules")


def _simulated(tmp_path: Path) -> list[str]:
    """Paths of the snapshots the simulated hypervisor holds."""
    state = simulator_state.SimulatorState(tmp_path / "simulator.sqlite")
    return [row[0] for row in state.read().execute("SELECT path FROM snapshots")]


def _snapshot_count(runtime: Runtime) -> int:
    with runtime.sessions() as session:
        return int(
            sum(
                session.scalars(
                    select(ResourceCount.count).where(
                        ResourceCount.type == "snapshot", ResourceCount.account_id.is_not(None)
                    )
                )
            )
        )


def _root_volume(api: falcon.testing.TestClient, keys: Keys, vm: str) -> str:
    listed = call(api, keys, "listVolumes", virtualmachineid=vm, type="ROOT")
    return str(listed["volume"][0]["id"])


def test_create_list_delete_snapshot_of_a_running_vm(
    api: falcon.testing.TestClient, runtime: Runtime, user_keys: Keys, cloud: Cloud,
    tmp_path: Path,
) -> None:  # fmt: skip
    vm = make_vm(runtime, cloud, "alice")
    root = _root_volume(api, user_keys, vm)
    started = call(api, user_keys, "createSnapshot", volumeid=root)
    assert started["id"] and started["jobid"]
    with runtime.sessions() as session:
        allocated = session.scalars(select(Snapshot).where(Snapshot.uuid == started["id"])).one()
        assert allocated.status == "Allocated"
    snapshot = job_ok(api, runtime, user_keys, "createSnapshot", volumeid=root)["snapshot"]
    assert list(snapshot) == [
        "id", "account", "domainid", "domain", "snapshottype", "volumeid", "volumename",
        "volumetype", "created", "name", "state", "tags",
    ]  # fmt: skip
    assert (snapshot["state"], snapshot["snapshottype"]) == ("BackedUp", "MANUAL")
    assert snapshot["volumeid"] == root and snapshot["volumetype"] == "ROOT"
    assert snapshot["name"].startswith("i-") and snapshot["account"] == "alice"
    # Both jobs ran (the first one through queryAsyncJobResult's worker run too).
    listed = call(api, user_keys, "listSnapshots")
    assert listed["count"] == 2
    assert {s["state"] for s in listed["snapshot"]} == {"BackedUp"}
    assert len(_simulated(tmp_path)) == 2 and _snapshot_count(runtime) == 2
    assert call(api, user_keys, "listSnapshots", snapshottype="MANUAL")["count"] == 2
    assert call(api, user_keys, "listSnapshots", snapshottype="RECURRING") == {}
    assert call(api, user_keys, "listSnapshots", volumeid=root, intervaltype="HOURLY") == {}
    assert call(api, user_keys, "listSnapshots", id=snapshot["id"])["count"] == 1
    assert call(api, user_keys, "listSnapshots", keyword="nomatch") == {}
    status, text = error(api, user_keys, "listSnapshots", snapshottype="WEIRD")
    assert status == 431 and "snapshottype" in text
    deleted = job_ok(api, runtime, user_keys, "deleteSnapshot", id=snapshot["id"])
    assert deleted["success"] is True
    assert len(_simulated(tmp_path)) == 1 and _snapshot_count(runtime) == 1
    assert call(api, user_keys, "listSnapshots")["count"] == 1


def test_snapshot_rules_and_driver_failure(
    api: falcon.testing.TestClient, runtime: Runtime, user_keys: Keys, cloud: Cloud,
    tmp_path: Path,
) -> None:  # fmt: skip
    allocated = create_volume(api, runtime, user_keys, cloud)
    status, text = error(api, user_keys, "createSnapshot", volumeid=allocated["id"])
    assert status == 431 and "Ready" in text
    # A detached Ready volume is snapshotted through a host of its pool's cluster.
    vm = make_vm(runtime, cloud, "alice", running=False)
    job_ok(api, runtime, user_keys, "attachVolume", id=allocated["id"], virtualmachineid=vm)
    job_ok(api, runtime, user_keys, "detachVolume", id=allocated["id"])
    taken = job_ok(api, runtime, user_keys, "createSnapshot", volumeid=allocated["id"])
    assert taken["snapshot"]["state"] == "BackedUp"
    # The hypervisor refuses: the snapshot ends in Error, the volume is Ready again,
    # and the snapshot is not counted.
    state = simulator_state.SimulatorState(tmp_path / "simulator.sqlite")
    state.add_rule(
        "snapshot",
        simulator_rules.Scope(),
        simulator_rules.Behaviour(result="fail", message="disk on fire"),
    )
    before = _snapshot_count(runtime)
    code, _ = job_failed(api, runtime, user_keys, "createSnapshot", volumeid=allocated["id"])
    assert code == 534
    with runtime.sessions() as session:
        failed = session.scalars(select(Snapshot).where(Snapshot.status == "Error")).one()
        volume = session.scalars(select(Volume).where(Volume.uuid == allocated["id"])).one()
        assert volume.state == "Ready" and failed.volume_id == volume.id
    assert _snapshot_count(runtime) == before
    assert call(api, user_keys, "listSnapshots", volumeid=allocated["id"])["count"] == 2


def test_snapshot_limit_is_type_3(
    api: falcon.testing.TestClient, runtime: Runtime, admin_keys: Keys, user_keys: Keys,
    cloud: Cloud,
) -> None:  # fmt: skip
    vm = make_vm(runtime, cloud, "alice")
    root = _root_volume(api, user_keys, vm)
    domain = call(api, admin_keys, "listDomains")["domain"][0]["id"]
    call(api, admin_keys, "updateResourceLimit", account="alice", domainid=domain,
         resourcetype=3, max=1)  # fmt: skip
    job_ok(api, runtime, user_keys, "createSnapshot", volumeid=root)
    status, _ = error(api, user_keys, "createSnapshot", volumeid=root)
    assert status == 532


def test_volume_from_snapshot(
    api: falcon.testing.TestClient, runtime: Runtime, user_keys: Keys, cloud: Cloud
) -> None:
    vm = make_vm(runtime, cloud, "alice")
    root = _root_volume(api, user_keys, vm)
    snapshot = job_ok(api, runtime, user_keys, "createSnapshot", volumeid=root)["snapshot"]
    made = job_ok(api, runtime, user_keys, "createVolume", name="restored",
                  snapshotid=snapshot["id"])["volume"]  # fmt: skip
    assert made["state"] == "Ready" and made["size"] == 2 * 1024**3
    assert made["zoneid"] == cloud.zone and made["type"] == "DATADISK"
    with runtime.sessions() as session:
        row = session.scalars(select(Volume).where(Volume.uuid == made["id"])).one()
        assert row.pool_id == cloud.pool_id and row.path == made["id"]


def test_another_account_cannot_use_snapshots(
    api: falcon.testing.TestClient, runtime: Runtime, user_keys: Keys, bob_keys: Keys,
    cloud: Cloud,
) -> None:  # fmt: skip
    vm = make_vm(runtime, cloud, "alice")
    root = _root_volume(api, user_keys, vm)
    snapshot = job_ok(api, runtime, user_keys, "createSnapshot", volumeid=root)["snapshot"]
    assert call(api, bob_keys, "listSnapshots", listall=True) == {}
    status, _ = error(api, bob_keys, "listSnapshots", id=snapshot["id"])
    assert status == 531
    code, _ = job_failed(api, runtime, bob_keys, "deleteSnapshot", id=snapshot["id"])
    assert code == 531
    status, _ = error(api, bob_keys, "createVolume", name="x", snapshotid=snapshot["id"])
    assert status == 531
    status, _ = error(api, bob_keys, "createSnapshotPolicy", volumeid=root, intervaltype="DAILY",
                      schedule="00:01", timezone="UTC", maxsnaps=2)  # fmt: skip
    assert status == 531
    status, _ = error(api, bob_keys, "listSnapshotPolicies", volumeid=root)
    assert status == 531


# ---- policies -----------------------------------------------------------------------------------


def test_snapshot_policies(
    api: falcon.testing.TestClient, runtime: Runtime, user_keys: Keys, bob_keys: Keys,
    cloud: Cloud,
) -> None:  # fmt: skip
    vm = make_vm(runtime, cloud, "alice")
    root = _root_volume(api, user_keys, vm)
    policy = call(
        api, user_keys, "createSnapshotPolicy", volumeid=root, intervaltype="daily",
        schedule="30:02", timezone="Europe/Paris", maxsnaps=3,
    )["snapshotpolicy"]  # fmt: skip
    assert policy == {
        "id": policy["id"], "volumeid": root, "schedule": "30:02", "intervaltype": 1,
        "maxsnaps": 3, "timezone": "Europe/Paris",
    }  # fmt: skip
    again = call(api, user_keys, "createSnapshotPolicy", volumeid=root, intervaltype="DAILY",
                 schedule="45:03", timezone="UTC", maxsnaps=2)["snapshotpolicy"]  # fmt: skip
    assert again["id"] == policy["id"] and again["schedule"] == "45:03"
    weekly = call(api, user_keys, "createSnapshotPolicy", volumeid=root, intervaltype="WEEKLY",
                  schedule="00:12:1", timezone="UTC", maxsnaps=1)["snapshotpolicy"]  # fmt: skip
    listed = call(api, user_keys, "listSnapshotPolicies", volumeid=root)
    assert listed["count"] == 2
    assert [p["intervaltype"] for p in listed["snapshotpolicy"]] == [1, 2]
    for params, name in (
        ({"intervaltype": "YEARLY", "schedule": "00"}, "intervaltype"),
        ({"intervaltype": "HOURLY", "schedule": "61"}, "schedule"),
        ({"intervaltype": "WEEKLY", "schedule": "00:10:8"}, "schedule"),
        ({"intervaltype": "MONTHLY", "schedule": "00:10"}, "schedule"),
        ({"intervaltype": "HOURLY", "schedule": "05", "timezone": "Mars/Olympus"}, "timezone"),
        ({"intervaltype": "HOURLY", "schedule": "05", "maxsnaps": 9}, "maxsnaps"),
    ):
        status, text = error(api, user_keys, "createSnapshotPolicy", volumeid=root, **{
            "timezone": "UTC", "maxsnaps": 2, **params,
        })  # fmt: skip
        assert status == 431 and text.startswith(name), text
    status, _ = error(api, bob_keys, "deleteSnapshotPolicies", id=policy["id"])
    assert status == 531
    status, _ = error(api, user_keys, "deleteSnapshotPolicies")
    assert status == 431
    done = call(api, user_keys, "deleteSnapshotPolicies", ids=f"{policy['id']},{weekly['id']}")
    assert done["success"] == "true"
    assert call(api, user_keys, "listSnapshotPolicies", volumeid=root) == {}


def test_policy_task_takes_and_trims_snapshots(
    api: falcon.testing.TestClient, runtime: Runtime, user_keys: Keys, cloud: Cloud,
    tmp_path: Path,
) -> None:  # fmt: skip
    vm = make_vm(runtime, cloud, "alice")
    root = _root_volume(api, user_keys, vm)
    policy = call(api, user_keys, "createSnapshotPolicy", volumeid=root, intervaltype="HOURLY",
                  schedule="15", timezone="UTC", maxsnaps=2)["snapshotpolicy"]  # fmt: skip
    manual = job_ok(api, runtime, user_keys, "createSnapshot", volumeid=root)["snapshot"]
    with runtime.sessions() as session:
        due = session.scalars(
            select(SnapshotPolicy.next_run).where(SnapshotPolicy.uuid == policy["id"])
        ).one()
    assert due is not None and due.minute == 15
    taken: list[str] = []
    for hour in range(4):
        outcome = run_scheduled_snapshots(runtime, now=due + dt.timedelta(hours=hour, seconds=1))
        taken += outcome.taken
    assert len(taken) == 4
    assert not run_scheduled_snapshots(runtime, now=due + dt.timedelta(hours=3, minutes=5)).taken
    hourly = call(api, user_keys, "listSnapshots", snapshottype="RECURRING")
    assert hourly["count"] == 2  # trimmed to maxsnaps
    assert {s["id"] for s in hourly["snapshot"]} == set(taken[-2:])
    assert {s["snapshottype"] for s in hourly["snapshot"]} == {"HOURLY"}
    assert {s["intervaltype"] for s in hourly["snapshot"]} == {"HOURLY"}
    assert call(api, user_keys, "listSnapshots", volumeid=root, intervaltype="HOURLY")["count"] == 2
    # The manual snapshot is not the policy's to trim.
    assert call(api, user_keys, "listSnapshots", id=manual["id"])["count"] == 1
    assert len(_simulated(tmp_path)) == 3
    with runtime.sessions() as session:
        advanced = session.scalars(
            select(SnapshotPolicy.next_run).where(SnapshotPolicy.uuid == policy["id"])
        ).one()
    assert advanced == due + dt.timedelta(hours=4)
