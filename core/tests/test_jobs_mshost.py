"""Management servers: registration, heartbeat, takeover of a dead server's jobs, leases
and the background loop that ties them together (SQLite and MariaDB)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

import pluggy
import pytest
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session, sessionmaker

from cumulo.jobs import lease, mshost, queue
from cumulo.jobs.clock import db_now
from cumulo.jobs.models import AsyncJob, JobStatus, Lease, ManagementServerHost
from cumulo.jobs.scheduler import PURGE_LEASE, TAKEOVER_LEASE, BackgroundTasks
from cumulo.runtime import Runtime
from cumulo.sdk.api import Call, CallContext, Command, SuccessResult

THRESHOLD = dt.timedelta(seconds=30)


@pytest.fixture
def runtime(migrated_database_url: str, plugin_manager: pluggy.PluginManager) -> Iterator[Runtime]:
    built = Runtime.for_url(migrated_database_url, "k", pm=plugin_manager)
    yield built
    built.close()


@pytest.fixture
def sessions(runtime: Runtime) -> sessionmaker[Session]:
    return runtime.sessions


def running_job(sessions: sessionmaker[Session], owner: int) -> int:
    """A job claimed by server ``owner``, as if it were running there."""
    command = Command("rebootVirtualMachine", lambda call: SuccessResult(), is_async=True)
    ctx = CallContext(user_id=2, account_id=2, domain_id=1, domain_path="/", account_type=1)
    with sessions.begin() as session:
        call = Call(command, ctx, session, {}, pluggy.PluginManager("cumulo"))
        job = queue.find(session, queue.submit(session, call, database_key=""))
        assert job is not None and queue.claim(session, job.id, owner)
        return job.id


def age_heartbeat(sessions: sessionmaker[Session], msid: int, by: dt.timedelta) -> None:
    with sessions.begin() as session:
        session.execute(
            update(ManagementServerHost)
            .where(ManagementServerHost.msid == msid)
            .values(last_heartbeat=db_now(session) - by)
        )


def job(sessions: sessionmaker[Session], job_id: int) -> AsyncJob:
    with sessions() as session:
        found = session.get(AsyncJob, job_id)
        assert found is not None
        return found


# ---- registration and heartbeat --------------------------------------------------------------


def test_register_and_heartbeat_on_the_database_clock(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        registered = mshost.register(session, 42, "ms-a", "10.0.0.1")
    with sessions.begin() as session:
        row = session.scalars(select(ManagementServerHost)).one()
        assert (row.msid, row.name, row.ip, row.state) == (42, "ms-a", "10.0.0.1", "Up")
        assert row.last_heartbeat == registered
        assert abs(db_now(session) - registered) < dt.timedelta(seconds=5)
        assert mshost.heartbeat(session, 42)
        assert not mshost.heartbeat(session, 43)  # never registered: caller re-registers


def test_re_registering_fails_what_the_previous_run_left(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        mshost.register(session, 42, "ms-a", None)
    left = running_job(sessions, 42)
    with sessions.begin() as session:
        mshost.register(session, 42, "ms-a", None)
    failed = job(sessions, left)
    assert (failed.status, failed.result_code) == (JobStatus.FAILED, 530)
    assert json.loads(failed.result or "") == {
        "errorcode": 530,
        "errortext": "the management server ms-a (42) stopped while running this job;"
        " the job was not completed",
    }


# ---- takeover -----------------------------------------------------------------------------------


def test_a_dead_servers_jobs_are_failed_with_a_clear_message(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        mshost.register(session, 1, "ms-dead", None)
        mshost.register(session, 2, "ms-live", None)
    dead_jobs = [running_job(sessions, 1) for _ in range(3)]
    live_job = running_job(sessions, 2)
    age_heartbeat(sessions, 1, dt.timedelta(minutes=5))
    with sessions.begin() as session:
        done = mshost.take_over(session, taker=2, threshold=THRESHOLD)
    assert done.marked_down == (1,) and done.failed_jobs == {1: 3}
    for job_id in dead_jobs:
        failed = job(sessions, job_id)
        assert (failed.status, failed.result_code) == (JobStatus.FAILED, 530)
        assert "ms-dead (1) stopped while running this job" in (failed.result or "")
    assert job(sessions, live_job).status == JobStatus.IN_PROGRESS
    with sessions() as session:
        states = dict(
            session.execute(select(ManagementServerHost.msid, ManagementServerHost.state)).all()
        )
    assert states == {1: "Down", 2: "Up"}


def test_a_server_that_signed_off_is_taken_over_at_once(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        mshost.register(session, 1, "ms-a", None)
    left = running_job(sessions, 1)
    with sessions.begin() as session:
        mshost.mark_down(session, 1)
    with sessions.begin() as session:
        assert mshost.take_over(session, taker=2, threshold=THRESHOLD).failed_jobs == {1: 1}
    assert job(sessions, left).status == JobStatus.FAILED


def test_the_takers_own_and_live_servers_jobs_are_left_alone(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        mshost.register(session, 1, "ms-a", None)
        mshost.register(session, 2, "ms-b", None)
    jobs = [running_job(sessions, 1), running_job(sessions, 2)]
    age_heartbeat(sessions, 2, dt.timedelta(minutes=5))  # stale, but it is the taker
    with sessions.begin() as session:
        done = mshost.take_over(session, taker=2, threshold=THRESHOLD)
    assert done.marked_down == () and done.failed_jobs == {}
    assert {job(sessions, job_id).status for job_id in jobs} == {JobStatus.IN_PROGRESS}


def test_an_unregistered_owner_is_failed_only_once_its_job_is_idle(
    sessions: sessionmaker[Session],
) -> None:
    left = running_job(sessions, 77)  # e.g. a tool running jobs in its own process
    with sessions.begin() as session:
        assert mshost.take_over(session, taker=2, threshold=THRESHOLD).failed_jobs == {}
    with sessions.begin() as session:
        session.execute(
            update(AsyncJob)
            .where(AsyncJob.id == left)
            .values(last_updated=db_now(session) - dt.timedelta(minutes=5))
        )
    with sessions.begin() as session:
        assert mshost.take_over(session, taker=2, threshold=THRESHOLD).failed_jobs == {77: 1}
    assert "server (77) stopped" in (job(sessions, left).result or "")


def test_takeover_costs_the_same_statements_for_many_jobs(
    runtime: Runtime, sessions: sessionmaker[Session]
) -> None:
    counts = []
    for msid, jobs in ((10, 2), (11, 40)):
        with sessions.begin() as session:
            mshost.register(session, msid, f"ms-{msid}", None)
        for _ in range(jobs):
            running_job(sessions, msid)
        age_heartbeat(sessions, msid, dt.timedelta(minutes=5))
        seen: list[str] = []

        def count(*args: object, seen: list[str] = seen) -> None:
            seen.append(str(args[2]))

        event.listen(runtime.engine, "before_cursor_execute", count)
        with sessions.begin() as session:
            assert mshost.take_over(session, taker=99, threshold=THRESHOLD).failed_jobs == {
                msid: jobs
            }
        event.remove(runtime.engine, "before_cursor_execute", count)
        counts.append(len(seen))
    assert counts[0] == counts[1]


# ---- leases -------------------------------------------------------------------------------------


def test_a_lease_has_one_holder_until_it_expires_or_is_released(
    sessions: sessionmaker[Session],
) -> None:
    ttl = dt.timedelta(seconds=60)
    with sessions.begin() as session:
        assert lease.acquire(session, "purge", 1, ttl)
    with sessions.begin() as session:
        assert not lease.acquire(session, "purge", 2, ttl)
        assert lease.acquire(session, "purge", 1, ttl)  # renewal
    with sessions.begin() as session:
        lease.release(session, "purge", 1)
    with sessions.begin() as session:
        assert lease.acquire(session, "purge", 2, ttl)
    with sessions.begin() as session:  # the holder dies: the lease expires
        session.execute(update(Lease).values(expires=db_now(session) - dt.timedelta(seconds=1)))
    with sessions.begin() as session:
        assert lease.acquire(session, "purge", 3, ttl)
        assert session.scalars(select(Lease.owner)).one() == 3


def test_releasing_someone_elses_lease_does_nothing(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        assert lease.acquire(session, "takeover", 1, dt.timedelta(seconds=60))
        lease.release(session, "takeover", 2)
    with sessions.begin() as session:
        assert not lease.acquire(session, "takeover", 2, dt.timedelta(seconds=60))


# ---- the background loop ---------------------------------------------------------------------


def test_background_tasks_heartbeat_take_over_and_sign_off(
    runtime: Runtime, sessions: sessionmaker[Session]
) -> None:
    with sessions.begin() as session:
        mshost.register(session, 5, "ms-gone", None)
    left = running_job(sessions, 5)
    age_heartbeat(sessions, 5, dt.timedelta(hours=1))
    runtime.msid = 6
    tasks = BackgroundTasks(runtime, ip="127.0.0.1")
    tasks.register()
    tasks.tick()
    assert "ms-gone (5) stopped while running this job" in (job(sessions, left).result or "")
    with sessions() as session:
        owners = dict(session.execute(select(Lease.name, Lease.owner)).all())
        me = session.scalars(
            select(ManagementServerHost).where(ManagementServerHost.msid == 6)
        ).one()
    assert owners == {TAKEOVER_LEASE: 6, PURGE_LEASE: 6}
    assert (me.state, me.ip) == ("Up", "127.0.0.1")
    tasks.stop()
    with sessions() as session:
        assert (
            session.scalar(select(ManagementServerHost.state).where(ManagementServerHost.msid == 6))
            == "Down"
        )
        # Leases given up: another server may take them at once.
        assert all(expires < db_now(session) for expires in session.scalars(select(Lease.expires)))


def test_background_tasks_survive_a_failing_step(
    runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    tasks = BackgroundTasks(runtime)
    tasks.register()
    runtime.engine.dispose()
    original = runtime.sessions.kw.get("bind")
    runtime.sessions.configure(bind=None)  # every step now fails to connect
    try:
        tasks.tick()
    finally:
        runtime.sessions.configure(bind=original)
    assert "background task 'heartbeat' failed" in caplog.text
    tasks.tick()  # and the next round works again
