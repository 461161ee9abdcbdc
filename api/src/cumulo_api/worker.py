"""The job worker: runs the async jobs the API queued, with the API's own handlers.

A claimed job runs in ONE transaction together with its completion: the handler's
changes and ``jobstatus`` 1 commit atomically, and the events it recorded are published
after that commit (the session factory's listener). A :class:`CloudError` rolls the
handler's changes back and records ``jobstatus`` 2 / ``jobresultcode`` 530 with
``{"errorcode", "errortext"}`` in a fresh transaction, as 4.1's ``AsyncJobManagerImpl``
does; any other exception is a bug, logged, and recorded as 530. The completion is
conditional on this server still owning the job: a server presumed dead whose job was
failed by another finds no row to complete and rolls its work back.

:class:`JobWorker` is the long-running form (``cumulo serve`` runs it in a process of
its own): one poller claims queued jobs when a runner thread is idle — every
``poll_interval`` seconds, or at once when a runner finishes — and ``threads`` runners
execute them; :class:`cumulo.jobs.scheduler.BackgroundTasks` heartbeats and takes over
dead servers' jobs alongside. :func:`run_pending` runs queued jobs synchronously in the
calling thread (tests, tools).
"""

from __future__ import annotations

import argparse
import logging
import queue
import signal
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cumulo.accounts.models import Account, Domain, User
from cumulo.db.engine import backend_name, create_engine, session_factory
from cumulo.jobs import queue as jobs
from cumulo.jobs.models import AsyncJob
from cumulo.jobs.params import decode_params
from cumulo.jobs.scheduler import BackgroundTasks
from cumulo.runtime import Runtime
from cumulo.sdk.api import Call, CallContext
from cumulo.sdk.errors import CloudError
from cumulo.settings import conf_dir
from cumulo_api.errors import USER_ERROR_MESSAGE
from cumulo_api.registry import CommandRegistry
from cumulo_api.render import job_error, job_result

log = logging.getLogger(__name__)

DEFAULT_THREADS = 4
DEFAULT_POLL_INTERVAL = 0.2
"""Seconds between looks for queued jobs: a cheap indexed query, quick enough that a
client polling ``queryAsyncJobResult`` every second rarely waits for the worker."""


def services_for(runtime: Runtime, registry: CommandRegistry) -> dict[str, Any]:
    """What a job's handler finds in ``Call.services`` (the API dispatcher's set)."""
    return {"runtime": runtime, "config": runtime.config, "registry": registry}


def claim_jobs(runtime: Runtime, limit: int, sessions: Any = None) -> list[int]:
    """Claim up to ``limit`` queued jobs for ``runtime.msid``, oldest first; committed.

    :param sessions: a session factory to look for candidates with (the worker gives a
        read-only one on SQLite, so an idle look never takes the write lock).
    """
    with (sessions or runtime.sessions)() as session:
        candidates = jobs.claimable(session, 2 * limit)
    if not candidates:
        return []
    claimed: list[int] = []
    with runtime.sessions.begin() as session:
        for job_id in candidates:
            if jobs.claim(session, job_id, runtime.msid):
                claimed.append(job_id)
                if len(claimed) == limit:
                    break
    return claimed


def run_job(runtime: Runtime, registry: CommandRegistry, job_id: int) -> bool:
    """Run job ``job_id``, which ``runtime.msid`` has claimed; ``True`` if it succeeded.

    The job and its caller are read in a short transaction of their own; the handler
    then runs in a fresh one that only the completion ends. So on SQLite the write lock
    is taken at the handler's first write (or at the completion), not while the job is
    being set up. Never raises for the job's own failure: that is recorded on the job.
    """
    with runtime.sessions() as session:
        job = _load(session, job_id)
    if job is None:  # purged meanwhile: nothing to do
        return False
    command = registry.get(job.command)
    if command is None:
        _record_failure(runtime, job_id, 530, f"command {job.command} is not available")
        return False
    params = decode_params(job.params, runtime.database_key, runtime.algorithm)
    with runtime.sessions() as session:
        call = Call(
            command,
            job.ctx,
            session,
            params,
            runtime.pm,
            job_uuid=job.uuid,
            services=services_for(runtime, registry),
        )
        try:
            result_type, result = job_result(command.handler(call))
            if not jobs.complete(session, job_id, runtime.msid, result_type, result):
                session.rollback()
                log.warning("job %s was taken over while running; its work is undone", job.uuid)
                return False
            session.commit()
            return True
        except CloudError as error:
            session.rollback()
            hidden = error.internal and not job.ctx.is_root_admin
            failure = job_error(error, USER_ERROR_MESSAGE if hidden else None)
        except Exception as error:  # a handler bug: answered 530, as the API does
            session.rollback()
            log.exception("job %s (%s) failed with an unexpected error", job.uuid, job.command)
            text = (str(error) or type(error).__name__) if job.ctx.is_root_admin else None
            failure = {"errorcode": 530, "errortext": text or USER_ERROR_MESSAGE}
    _record_failure(runtime, job_id, **failure)
    return False


def run_pending(runtime: Runtime, registry: CommandRegistry, *, limit: int | None = None) -> int:
    """Claim and run queued jobs one by one in this thread until none is left (or
    ``limit`` have run); return how many ran. For tests and tools: no heartbeat."""
    ran = 0
    while limit is None or ran < limit:
        claimed = claim_jobs(runtime, 1)
        if not claimed:
            break
        run_job(runtime, registry, claimed[0])
        ran += 1
    return ran


@dataclass(frozen=True)
class LoadedJob:
    """What running a job needs from its row, detached from any session."""

    uuid: str
    command: str
    params: str
    ctx: CallContext


def _load(session: Session, job_id: int) -> LoadedJob | None:
    """The job and its caller's context, in one statement (the caller as recorded:
    a user removed since the job was queued still owns it, as in 4.1)."""
    row = session.execute(
        select(
            AsyncJob.uuid,
            AsyncJob.command,
            AsyncJob.params,
            User.id,
            User.uuid,
            User.username,
            Account.id,
            Account.uuid,
            Account.account_name,
            Account.type,
            Domain.id,
            Domain.path,
        )
        .join(User, User.id == AsyncJob.user_id)
        .join(Account, Account.id == AsyncJob.account_id)
        .join(Domain, Domain.id == Account.domain_id)
        .where(AsyncJob.id == job_id)
    ).first()
    if row is None:
        return None
    (uuid, name, params, user_id, user_uuid, username) = row[:6]
    (account_id, account_uuid, account_name, account_type, domain_id, domain_path) = row[6:]
    ctx = CallContext(
        user_id=user_id,
        account_id=account_id,
        domain_id=domain_id,
        domain_path=domain_path,
        account_type=account_type,
        user_uuid=user_uuid,
        account_uuid=account_uuid,
        account_name=account_name,
        username=username,
    )
    return LoadedJob(uuid, name, params, ctx)


def _record_failure(runtime: Runtime, job_id: int, errorcode: int, errortext: str) -> None:
    with runtime.sessions.begin() as session:
        if not jobs.fail(session, job_id, runtime.msid, errorcode, errortext):
            log.warning("job %s was taken over before its failure could be recorded", job_id)


class JobWorker:
    """Claims and runs jobs in ``threads`` threads until :meth:`stop`.

    :param background: also run heartbeat, takeover and purge (off for tests that
        drive :class:`BackgroundTasks` themselves).
    """

    def __init__(
        self,
        runtime: Runtime,
        registry: CommandRegistry,
        *,
        threads: int = DEFAULT_THREADS,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        background: bool = True,
        ip: str | None = None,
    ) -> None:
        self.runtime = runtime
        self.registry = registry
        self.threads = max(1, threads)
        self.poll_interval = poll_interval
        self.tasks = BackgroundTasks(runtime, ip) if background else None
        self._work: queue.Queue[int | None] = queue.Queue()
        self._idle = self.threads
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._workers: list[threading.Thread] = []
        self._reader = _reader_sessions(runtime)

    def start(self) -> None:
        """Register this server, then start the poller and the runners."""
        if self.tasks is not None:
            self.tasks.start()
        for number in range(self.threads):
            runner = threading.Thread(target=self._run, name=f"cumulo-job-{number}", daemon=True)
            runner.start()
            self._workers.append(runner)
        poller = threading.Thread(target=self._poll, name="cumulo-job-poller", daemon=True)
        poller.start()
        self._workers.append(poller)

    def wake(self) -> None:
        """Look for queued jobs now instead of at the next poll."""
        self._wake.set()

    def stop(self, grace: float = 30.0) -> None:
        """Stop claiming, let running jobs finish for up to ``grace`` seconds, then sign
        off (``mshost`` Down): another server fails what is left without waiting for
        the heartbeat threshold."""
        deadline = time.monotonic() + grace
        self._stopping.set()
        self._wake.set()
        # The poller first, so nothing it claimed lands behind the runners' stop marks:
        # every job claimed before the stop still runs (within the grace period).
        poller, runners = self._workers[-1:], self._workers[:-1]
        for thread in poller:
            thread.join(max(0.0, deadline - time.monotonic()))
        for _ in runners:
            self._work.put(None)
        for thread in runners:
            thread.join(max(0.0, deadline - time.monotonic()))
        if self.tasks is not None:
            self.tasks.stop()

    def _poll(self) -> None:
        while not self._stopping.is_set():
            with self._lock:
                idle = self._idle
            if idle:
                try:
                    claimed = claim_jobs(self.runtime, idle, self._reader)
                except Exception:  # the database may be restarting: retry next round
                    log.exception("could not look for queued jobs")
                    claimed = []
                with self._lock:
                    self._idle -= len(claimed)
                for job_id in claimed:
                    self._work.put(job_id)
            self._wake.wait(self.poll_interval)
            self._wake.clear()

    def _run(self) -> None:
        while (job_id := self._work.get()) is not None:
            try:
                run_job(self.runtime, self.registry, job_id)
            except Exception:  # e.g. the database went away while recording the outcome
                log.exception("job %s could not be run", job_id)
            with self._lock:
                self._idle += 1
            self._wake.set()


def _reader_sessions(runtime: Runtime) -> Any:
    # cumulo's SQLite engines begin every transaction IMMEDIATE (taking the write lock);
    # a worker looking for jobs five times a second must not, or it would queue behind
    # and ahead of every API write. Other back ends read without locking anyway.
    if backend_name(runtime.engine.url) != "sqlite":
        return runtime.sessions
    return session_factory(create_engine(runtime.engine.url, sqlite_begin="DEFERRED"))


# ---- the worker process of ``cumulo serve`` ----------------------------------------------


def main(argv: list[str] | None = None) -> None:
    """``python -m cumulo_api.worker``: the job-worker process ``cumulo serve`` starts.

    Reads the management-server key from the first line of standard input (so it never
    shows in the process list or environment), runs until SIGTERM or SIGINT, then stops
    cleanly.
    """
    parser = argparse.ArgumentParser(prog="cumulo-job-worker")
    parser.add_argument("--threads", type=int, default=DEFAULT_THREADS)
    parser.add_argument("--poll-interval", type=float, default=DEFAULT_POLL_INTERVAL)
    parser.add_argument("--msid", type=int, default=None)
    parser.add_argument("--conf", type=Path, default=None)
    parser.add_argument("--ip", default=None)
    options = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    key = sys.stdin.readline().rstrip("\r\n")
    runtime = Runtime.from_conf(options.conf or conf_dir(), management_key=key)
    if options.msid is not None:
        runtime.msid = options.msid
    worker = JobWorker(
        runtime,
        CommandRegistry.build(runtime.pm),
        threads=options.threads,
        poll_interval=options.poll_interval,
        ip=options.ip,
    )
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    worker.start()
    log.info("job worker %s running %d thread(s)", runtime.msid, worker.threads)
    stop.wait()
    worker.stop()
    runtime.close()


if __name__ == "__main__":
    main()
