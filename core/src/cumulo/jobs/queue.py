"""The job queue: submit, claim, complete, fail. Every function works inside the
caller's transaction and never commits.

Claiming is portable and atomic without ``SELECT ... FOR UPDATE SKIP LOCKED``: a worker
reads a few queued ids, then for each runs ::

    UPDATE async_job SET owner = :msid WHERE id = :id AND owner IS NULL AND status = 0

and owns the job exactly when one row changed. On MariaDB (InnoDB, READ COMMITTED) the
second of two concurrent updates waits for the first and then re-reads the row, finding
``owner`` set; on SQLite writers are serialised; PostgreSQL re-checks the predicate
after the lock. Completion is conditional on ``owner`` too, so a server that was
presumed dead and whose job was failed by another cannot overwrite that verdict: its
completion changes no row, and the worker rolls the job's effects back.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, cast

from sqlalchemy import BigInteger, Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from cumulo.crypto import DEFAULT_ALGORITHM
from cumulo.db.base import new_uuid, utcnow
from cumulo.jobs.models import AsyncJob, JobStatus
from cumulo.jobs.params import encode_params
from cumulo.sdk.api import Call

INTERNAL_ERROR = 530
"""``jobresultcode`` of every failed job, whatever the inner ``errorcode`` (4.1)."""

# Every job runs these: built once, run as Core on the session's connection (the
# ORM's bulk-update path and building the statements anew cost more than running
# them; bench/deploy.py).
_JOB = cast(Table, AsyncJob.__table__)
_SUBMIT = insert(_JOB)
_CLAIMABLE = (
    select(_JOB.c.id)
    .where(_JOB.c.status == int(JobStatus.IN_PROGRESS), _JOB.c.owner.is_(None))
    .order_by(_JOB.c.id)
    .limit(bindparam("limit"))
)
_CLAIM = (
    update(_JOB)
    .where(
        _JOB.c.id == bindparam("job"),
        _JOB.c.owner.is_(None),
        _JOB.c.status == int(JobStatus.IN_PROGRESS),
    )
    .values(owner=bindparam("msid", type_=BigInteger), last_updated=bindparam("now"))
)
_FINISH = (
    update(_JOB)
    .where(
        _JOB.c.id == bindparam("job"),
        _JOB.c.owner == bindparam("msid", type_=BigInteger),
        _JOB.c.status == int(JobStatus.IN_PROGRESS),
    )
    .values(
        status=bindparam("new_status"),
        result_code=bindparam("code"),
        result_type=bindparam("kind"),
        result=bindparam("outcome"),
        completed=bindparam("now"),
        last_updated=bindparam("now"),
    )
)


def submit(
    session: Session,
    call: Call,
    *,
    instance: tuple[str, str] | None = None,
    database_key: str | None = None,
    algorithm: str | None = None,
) -> str:
    """Queue ``call`` as an async job in the request's transaction; return its uuid.

    The row becomes visible to workers when the caller commits; a rolled-back request
    leaves no job behind.

    :param instance: ``(jobinstancetype, jobinstanceid)`` returned by the command's
        ``create`` step (4.1's ``BaseAsyncCreateCmd``). Without it, a command declaring
        ``instance_type`` is tied to its ``id`` parameter, as 4.1's ``getInstanceId``.
    :param database_key: encrypts secret parameters (see :mod:`cumulo.jobs.params`);
        defaults to ``call.services["database_key"]`` or the ``runtime`` service's.
    :param algorithm: the jasypt algorithm of that key (same defaults).
    :raises cumulo.sdk.errors.InternalError: a secret parameter but no database key.
    """
    key, algo = _keys(call.services, database_key, algorithm)
    instance_type, instance_uuid = instance or _instance_of(call)
    now = utcnow()
    uuid = new_uuid()
    session.connection().execute(
        _SUBMIT,
        {
            "uuid": uuid,
            "user_id": call.ctx.user_id,
            "account_id": call.ctx.account_id,
            "cmd": call.command.java_class or call.command.name,
            "command": call.command.name,
            "params": encode_params(call.params, key, algo),
            "status": int(JobStatus.IN_PROGRESS),
            "process_status": 0,
            "result_code": 0,
            "instance_type": instance_type,
            "instance_uuid": instance_uuid,
            "created": now,
            "last_updated": now,
        },
    )
    return uuid


def find(session: Session, job_uuid: str) -> AsyncJob | None:
    """The job with public id ``job_uuid``, or ``None``."""
    return session.scalars(select(AsyncJob).where(AsyncJob.uuid == job_uuid)).one_or_none()


def claimable(session: Session, limit: int) -> list[int]:
    """Ids of up to ``limit`` queued jobs, oldest first (served by the (status, id) index)."""
    return list(session.connection().execute(_CLAIMABLE, {"limit": limit}).scalars())


def claim(session: Session, job_id: int, msid: int) -> bool:
    """Make server ``msid`` the owner of queued job ``job_id``; ``False`` if another
    server claimed it first (or it is no longer queued). Commit at once so others see it.
    """
    result = session.connection().execute(_CLAIM, {"job": job_id, "msid": msid, "now": utcnow()})
    return int(result.rowcount) == 1


def complete(
    session: Session, job_id: int, msid: int, result_type: str, result: Mapping[str, Any]
) -> bool:
    """Record success (``jobstatus`` 1, ``jobresultcode`` 0) of a job ``msid`` owns.

    :param result_type: ``object`` or ``text`` (4.1's ``jobresulttype``).
    :param result: the ``jobresult`` as clients see it, JSON-ready.
    :return: ``False`` when ``msid`` no longer owns a running job ``job_id`` (it was
        taken over): the caller must then roll back the job's effects.
    """
    return _finish(session, job_id, msid, JobStatus.SUCCEEDED, 0, result_type, result)


def fail(session: Session, job_id: int, msid: int, errorcode: int, errortext: str) -> bool:
    """Record failure: ``jobstatus`` 2, ``jobresultcode`` 530 and a ``jobresult`` of
    exactly ``errorcode`` and ``errortext`` (4.1's ``ExceptionResponse`` in a job).

    :return: ``False`` when ``msid`` no longer owns a running job ``job_id``.
    """
    result = {"errorcode": errorcode, "errortext": errortext}
    return _finish(session, job_id, msid, JobStatus.FAILED, INTERNAL_ERROR, "object", result)


def fail_abandoned(session: Session, owner: int, errortext: str, *, idle_before: Any = None) -> int:
    """Fail every in-progress job of server ``owner``, which stopped; one statement.

    :param idle_before: only jobs not updated since this time (for owners that never
        registered in ``mshost``, whose liveness is unknown).
    :return: how many jobs were failed.
    """
    conditions = [AsyncJob.owner == owner, AsyncJob.status == int(JobStatus.IN_PROGRESS)]
    if idle_before is not None:
        conditions.append(AsyncJob.last_updated < idle_before)
    now = utcnow()
    stmt = (
        update(AsyncJob)
        .where(*conditions)
        .values(
            status=int(JobStatus.FAILED),
            result_code=INTERNAL_ERROR,
            result_type="object",
            result=_dump({"errorcode": INTERNAL_ERROR, "errortext": errortext}),
            completed=now,
            last_updated=now,
        )
        .execution_options(synchronize_session=False)
    )
    return _changed(session, stmt)


def _finish(
    session: Session,
    job_id: int,
    msid: int,
    status: JobStatus,
    result_code: int,
    result_type: str,
    result: Mapping[str, Any],
) -> bool:
    outcome = session.connection().execute(
        _FINISH,
        {
            "job": job_id,
            "msid": msid,
            "new_status": int(status),
            "code": result_code,
            "kind": result_type,
            "outcome": _dump(result),
            "now": utcnow(),
        },
    )
    return int(outcome.rowcount) == 1


def _changed(session: Session, stmt: Any) -> int:
    return int(session.execute(stmt).rowcount)  # type: ignore[attr-defined]


def _dump(value: Mapping[str, Any]) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _keys(
    services: Mapping[str, Any], database_key: str | None, algorithm: str | None
) -> tuple[str | None, str]:
    runtime = services.get("runtime")
    if database_key is None:
        database_key = services.get("database_key", getattr(runtime, "database_key", None))
    if algorithm is None:
        algorithm = services.get("algorithm", getattr(runtime, "algorithm", DEFAULT_ALGORITHM))
    return database_key, str(algorithm)


def _instance_of(call: Call) -> tuple[str | None, str | None]:
    if call.command.instance_type is None:
        return None, None
    value = call.params.get("id")
    return call.command.instance_type, value if isinstance(value, str) else None
