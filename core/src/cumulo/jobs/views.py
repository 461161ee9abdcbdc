"""``AsyncJobResponse``: a job as ``queryAsyncJobResult`` and ``listAsyncJobs`` show it.

The fields and their order are 4.1's (api-reference.md §d; CS41:
``AsyncJobJoinDaoImpl.newAsyncJobResponse``): integers stay integers (clients compare
``jobstatus`` with ``0``/``1``/``2``), ``jobresultcode`` is always present (``cs`` reads it
as soon as ``jobstatus`` is not 0), ``jobresulttype`` and ``jobresult`` appear only once the
job is finished, ``jobinstancetype``/``jobinstanceid`` only when the job is tied to an
entity, and ``jobid`` comes last, as ``BaseResponse`` fields do.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Protocol

from sqlalchemy import Select, select

from cumulo.accounts.models import Account, User
from cumulo.jobs.models import AsyncJob, JobStatus
from cumulo.sdk.api import Fields

OBJECT_NAME = "asyncjobs"
"""The item key of ``listAsyncJobs`` (plural, as 4.1 names it)."""

RESPONSE_FIELDS = (
    "accountid",
    "userid",
    "cmd",
    "jobstatus",
    "jobprocstatus",
    "jobresultcode",
    "jobresulttype",
    "jobresult",
    "jobinstancetype",
    "jobinstanceid",
    "created",
    "jobid",
)


def job_rows() -> Select[AsyncJob, str, str]:
    """The statement both commands start from: each job with its account's and user's
    public ids, in one query (callers add filters, order and paging)."""
    return (
        select(AsyncJob, Account.uuid, User.uuid)
        .join(Account, Account.id == AsyncJob.account_id)
        .join(User, User.id == AsyncJob.user_id)
    )


class JobLike(Protocol):
    """What :func:`job_fields` reads: an :class:`AsyncJob`, or a Core row of the
    ``async_job`` table (same names)."""

    @property
    def uuid(self) -> str: ...

    @property
    def cmd(self) -> str: ...

    @property
    def status(self) -> int: ...

    @property
    def process_status(self) -> int: ...

    @property
    def result_code(self) -> int: ...

    @property
    def result_type(self) -> str | None: ...

    @property
    def result(self) -> str | None: ...

    @property
    def instance_type(self) -> str | None: ...

    @property
    def instance_uuid(self) -> str | None: ...

    @property
    def created(self) -> dt.datetime: ...


def job_fields(job: JobLike, account_uuid: str, user_uuid: str) -> Fields:
    """The ``AsyncJobResponse`` fields of ``job`` (``None`` values are left out)."""
    finished = job.status != int(JobStatus.IN_PROGRESS)
    fields: Fields = {
        "accountid": account_uuid,
        "userid": user_uuid,
        "cmd": job.cmd,
        "jobstatus": int(job.status),
        "jobprocstatus": int(job.process_status),
        "jobresultcode": int(job.result_code),
    }
    if finished and job.result is not None:
        fields["jobresulttype"] = job.result_type or "object"
        fields["jobresult"] = json.loads(job.result)
    if job.instance_type is not None and job.instance_uuid is not None:
        fields["jobinstancetype"] = job.instance_type
        fields["jobinstanceid"] = job.instance_uuid
    fields["created"] = job.created
    fields["jobid"] = job.uuid
    return fields
