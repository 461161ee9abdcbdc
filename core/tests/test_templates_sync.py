"""Template sync (cumulo.templates.sync): built-in and cross-zone templates reach the
zones they belong in, including zones added later, and downloads whose transfer died
are retried, then marked failed, instead of showing "n% Downloaded" forever.

The simulator's real storage driver (through its entry point) writes into real
``file://`` stores; the jobs the sync queues are real ``async_job`` rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pluggy
import pytest
from sqlalchemy import func, select, update

from cumulo.db.base import utcnow
from cumulo.events.models import Event
from cumulo.jobs.models import AsyncJob, JobStatus
from cumulo.runtime import Runtime
from cumulo.sdk.api import CallContext
from cumulo.setup.seed import seed_cloud
from cumulo.templates import sync
from cumulo.templates.builtin import BUILTIN_TEMPLATES
from cumulo.templates.download import DOWNLOAD_COMMAND, download_to_zone
from cumulo.templates.lookup import template_for_deploy
from cumulo.templates.models import DownloadState, TemplateType, TemplateZoneRef, VMTemplate
from cumulo.templates.registration import Registration, register
from cumulo.templates.testing import zone_with_store

pytest.importorskip("cumulo_simulator")

KEY = "templates-sync-test-key"
ADMIN = CallContext(user_id=2, account_id=2, domain_id=1, domain_path="/", account_type=1)
USER = CallContext(user_id=2, account_id=2, domain_id=1, domain_path="/", account_type=0)


@pytest.fixture
def runtime(
    migrated_database_url: str,
    plugin_manager: pluggy.PluginManager,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Runtime]:
    monkeypatch.setenv("CUMULO_SIMULATOR_STATE", str(tmp_path / "simulator.sqlite"))
    built = Runtime.for_url(migrated_database_url, KEY, pm=plugin_manager)
    with built.sessions() as session:
        seed_cloud(session, KEY, built.algorithm)
        session.commit()
    yield built
    built.close()


def _refs(runtime: Runtime, zone_id: int) -> dict[str, TemplateZoneRef]:
    with runtime.sessions() as session:
        rows = session.execute(
            select(VMTemplate.name, TemplateZoneRef)
            .join(TemplateZoneRef, TemplateZoneRef.template_id == VMTemplate.id)
            .where(TemplateZoneRef.zone_id == zone_id)
        ).all()
        session.expunge_all()
        return {name: ref for name, ref in rows}


def _download_jobs(runtime: Runtime) -> list[AsyncJob]:
    with runtime.sessions() as session:
        jobs = list(session.scalars(select(AsyncJob).where(AsyncJob.command == DOWNLOAD_COMMAND)))
        session.expunge_all()
        return jobs


def test_a_simulator_zone_gets_its_builtin_template_ready_without_network(
    runtime: Runtime, tmp_path: Path
) -> None:
    with runtime.sessions() as session:
        zone = zone_with_store(session, tmp_path / "sec")
    added = sync.sync_zone(runtime, zone.zone_id)
    # Only the simulator's built-in: the KVM and XenServer ones need their hypervisor.
    (simulator,) = [b for b in BUILTIN_TEMPLATES if b.hypervisor == "Simulator"]
    assert [uuid for _, uuid in added] and len(added) == 1
    (job,) = _download_jobs(runtime)
    assert job.status == int(JobStatus.IN_PROGRESS) and job.instance_uuid == added[0][1]

    outcome = download_to_zone(runtime, added[0][1], zone.zone_id)  # what the job runs
    assert outcome.error is None
    ref = _refs(runtime, zone.zone_id)[simulator.name]
    assert ref.download_state == DownloadState.DOWNLOADED.value and ref.download_pct == 100
    assert ref.size == 2 * 1024**3  # the image's virtual size
    image = tmp_path / "sec" / (ref.install_path or "")
    assert image.is_file() and ref.physical_size == image.stat().st_size
    with runtime.sessions() as session:
        builtin = session.scalars(
            select(VMTemplate).where(VMTemplate.template_type == TemplateType.BUILTIN.value)
        ).all()
        assert {t.unique_name for t in builtin} == {b.unique_name for b in BUILTIN_TEMPLATES}
        assert all(t.public and t.featured and t.cross_zones for t in builtin)
        # A user of another account may deploy from it: public and ready in the zone.
        found = template_for_deploy(session, USER, added[0][1], zone.zone_id)
        assert found.name == simulator.name and found.hypervisor_type == "Simulator"
    # A second sync adds nothing and queues nothing.
    assert sync.sync_zone(runtime, zone.zone_id) == []
    assert len(_download_jobs(runtime)) == 1


def test_cross_zone_templates_reach_zones_added_later(runtime: Runtime, tmp_path: Path) -> None:
    with runtime.sessions() as session:
        first = zone_with_store(session, tmp_path / "sec1", name="z1")
        request = Registration(
            name="everywhere", display_text="e", url="http://198.51.100.7/e.qcow2", zone="-1",
            format="QCOW2", hypervisor="Simulator", os_type="112",
        )  # fmt: skip
        done = register(session, ADMIN, request, address_allowed=lambda _: True, resolve=False)
        session.commit()
        assert [ref.zone_id for ref in done.zone_refs] == [first.zone_id]
    with runtime.sessions() as session:
        later = zone_with_store(session, tmp_path / "sec2", name="z2", hypervisor="KVM")

    outcome = sync.sync_templates(runtime)

    names = set(_refs(runtime, later.zone_id))
    # The user's cross-zone template and the KVM built-in, not the simulator's.
    assert names == {"everywhere", "CentOS 5.5(64-bit) no GUI (KVM)"}
    assert set(_refs(runtime, first.zone_id)) == {
        "everywhere",
        "CentOS 5.3(64-bit) no GUI (Simulator)",
    }
    assert sorted(outcome.queued) == [first.zone_id, later.zone_id]
    refs = _refs(runtime, later.zone_id)
    assert all(r.download_state == DownloadState.NOT_DOWNLOADED.value for r in refs.values())
    assert {job.uuid for job in _download_jobs(runtime)} >= {r.job_uuid for r in refs.values()}


def _stalled(runtime: Runtime, tmp_path: Path, *, attempts: int, job_status: JobStatus) -> int:
    """A template whose download started long ago and whose job ended (or not)."""
    with runtime.sessions() as session:
        zone = zone_with_store(session, tmp_path / "sec")
        request = Registration(
            name="slow", display_text="s", url="http://198.51.100.7/s.qcow2",
            zone=zone.zone_uuid, format="QCOW2", hypervisor="Simulator", os_type="112",
        )  # fmt: skip
        done = register(session, ADMIN, request, address_allowed=lambda _: True, resolve=False)
        job = AsyncJob(
            user_id=1, account_id=1, cmd="x", command=DOWNLOAD_COMMAND, params="{}",
            status=int(job_status), instance_type="Template",
            instance_uuid=done.template.uuid,
        )  # fmt: skip
        session.add(job)
        session.flush()
        (ref,) = done.zone_refs
        ref.download_state, ref.download_pct = DownloadState.DOWNLOAD_IN_PROGRESS.value, 42
        ref.download_attempts, ref.job_uuid = attempts, job.uuid
        ref.last_updated = utcnow() - dt.timedelta(seconds=sync.DEFAULT_STALL + 5)
        session.commit()
        return ref.id


def _ref_row(runtime: Runtime, ref_id: int) -> Any:
    with runtime.sessions() as session:
        ref = session.get_one(TemplateZoneRef, ref_id)
        session.expunge(ref)
        return ref


def test_a_download_whose_worker_died_is_queued_again(runtime: Runtime, tmp_path: Path) -> None:
    ref_id = _stalled(runtime, tmp_path, attempts=1, job_status=JobStatus.FAILED)
    before = _ref_row(runtime, ref_id).job_uuid

    outcome = sync.recover_stalled(runtime)

    assert outcome.retried == [ref_id] and outcome.failed == []
    ref = _ref_row(runtime, ref_id)
    assert ref.download_state == DownloadState.NOT_DOWNLOADED.value and ref.download_pct == 0
    assert ref.job_uuid != before
    fresh = [j for j in _download_jobs(runtime) if j.uuid == ref.job_uuid]
    assert fresh and fresh[0].status == int(JobStatus.IN_PROGRESS)
    # A fresh row is not stalled: nothing more happens on the next run.
    assert sync.recover_stalled(runtime).retried == []


def test_a_dead_download_is_marked_failed_after_its_last_attempt(
    runtime: Runtime, tmp_path: Path
) -> None:
    ref_id = _stalled(runtime, tmp_path, attempts=sync.DEFAULT_RETRIES, job_status=JobStatus.FAILED)

    outcome = sync.recover_stalled(runtime)

    assert outcome.failed == [ref_id]
    ref = _ref_row(runtime, ref_id)
    assert ref.download_state == DownloadState.DOWNLOAD_ERROR.value
    assert "no progress for 300 s" in (ref.error_str or "")
    assert f"after {sync.DEFAULT_RETRIES} attempts" in (ref.error_str or "")
    with runtime.sessions() as session:
        failed = session.scalar(
            select(func.count()).where(Event.type == "TEMPLATE.DOWNLOAD.FAILED")
        )
        assert failed == 1


def test_a_download_stuck_in_a_live_worker_is_marked_failed(
    runtime: Runtime, tmp_path: Path
) -> None:
    ref_id = _stalled(runtime, tmp_path, attempts=1, job_status=JobStatus.IN_PROGRESS)
    assert sync.recover_stalled(runtime).failed == [ref_id]
    assert _ref_row(runtime, ref_id).download_state == DownloadState.DOWNLOAD_ERROR.value


def test_a_download_that_reports_progress_is_left_alone(runtime: Runtime, tmp_path: Path) -> None:
    ref_id = _stalled(runtime, tmp_path, attempts=1, job_status=JobStatus.IN_PROGRESS)
    with runtime.sessions.begin() as session:
        session.execute(
            update(TemplateZoneRef)
            .where(TemplateZoneRef.id == ref_id)
            .values(last_updated=utcnow() - dt.timedelta(seconds=10))
        )
    assert sync.recover_stalled(runtime).failed == []
    assert _ref_row(runtime, ref_id).download_state == DownloadState.DOWNLOAD_IN_PROGRESS.value
