"""Finished jobs are purged after ``job.expire.minutes``, in one set-based statement;
running jobs never are."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pluggy
import pytest
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session, sessionmaker

from cumulo.jobs import queue
from cumulo.jobs.clock import db_now
from cumulo.jobs.models import AsyncJob
from cumulo.jobs.purge import purge_expired
from cumulo.jobs.scheduler import BackgroundTasks
from cumulo.runtime import Runtime
from cumulo.sdk.api import Call, CallContext, Command, SuccessResult

EXPIRE = dt.timedelta(minutes=1440)


@pytest.fixture
def runtime(migrated_database_url: str, plugin_manager: pluggy.PluginManager) -> Iterator[Runtime]:
    built = Runtime.for_url(migrated_database_url, "k", pm=plugin_manager)
    yield built
    built.close()


def make_job(sessions: sessionmaker[Session], *, finished_ago: dt.timedelta | None) -> int:
    """A job, finished ``finished_ago`` (``None``: still running, created long ago)."""
    command = Command("destroyVirtualMachine", lambda call: SuccessResult(), is_async=True)
    ctx = CallContext(user_id=2, account_id=2, domain_id=1, domain_path="/", account_type=1)
    with sessions.begin() as session:
        call = Call(command, ctx, session, {}, pluggy.PluginManager("cumulo"))
        job = queue.find(session, queue.submit(session, call, database_key=""))
        assert job is not None and queue.claim(session, job.id, 1)
        long_ago = db_now(session) - dt.timedelta(days=30)
        if finished_ago is not None:
            assert queue.complete(session, job.id, 1, "object", {"success": True})
            session.execute(
                update(AsyncJob)
                .where(AsyncJob.id == job.id)
                .values(completed=db_now(session) - finished_ago, created=long_ago)
            )
        else:
            session.execute(update(AsyncJob).where(AsyncJob.id == job.id).values(created=long_ago))
        return job.id


def remaining(sessions: sessionmaker[Session]) -> set[int]:
    with sessions() as session:
        return set(session.scalars(select(AsyncJob.id)))


def test_purge_deletes_only_jobs_finished_before_the_cutoff(runtime: Runtime) -> None:
    sessions = runtime.sessions
    old = [make_job(sessions, finished_ago=dt.timedelta(days=2)) for _ in range(3)]
    recent = make_job(sessions, finished_ago=dt.timedelta(hours=1))
    running = make_job(sessions, finished_ago=None)
    with sessions.begin() as session:
        assert purge_expired(session, EXPIRE) == len(old)
    assert remaining(sessions) == {recent, running}


def test_purge_is_one_delete_however_many_jobs(runtime: Runtime) -> None:
    for _ in range(25):
        make_job(runtime.sessions, finished_ago=dt.timedelta(days=2))
    seen: list[str] = []

    def count(*args: object) -> None:
        seen.append(str(args[2]))

    event.listen(runtime.engine, "before_cursor_execute", count)
    try:
        with runtime.sessions.begin() as session:
            assert purge_expired(session, EXPIRE) == 25
    finally:
        event.remove(runtime.engine, "before_cursor_execute", count)
    assert len([s for s in seen if s.lstrip().upper().startswith("DELETE")]) == 1
    assert len(seen) <= 3  # the clock, the delete (SQLite adds nothing else)


def test_the_background_loop_purges_with_job_expire_minutes(runtime: Runtime) -> None:
    with runtime.sessions.begin() as session:
        runtime.config_store(session).set("job.expire.minutes", "30")
    purged = make_job(runtime.sessions, finished_ago=dt.timedelta(hours=1))
    kept = make_job(runtime.sessions, finished_ago=dt.timedelta(minutes=5))
    tasks = BackgroundTasks(runtime)
    tasks.register()
    tasks.tick()
    assert purged not in remaining(runtime.sessions)
    assert kept in remaining(runtime.sessions)
    assert tasks.timing.expire == dt.timedelta(minutes=30)
