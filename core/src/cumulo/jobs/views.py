"""``AsyncJobResponse``: a job as ``queryAsyncJobResult`` and ``listAsyncJobs`` show it.

The fields and their order are 4.1's (api-reference.md §d; CS41:
``AsyncJobJoinDaoImpl.newAsyncJobResponse``): integers stay integers (clients compare
``jobstatus`` with ``0``/``1``/``2``), ``jobresultcode`` is always present (``cs`` reads it
as soon as ``jobstatus`` is not 0), ``jobresulttype`` and ``jobresult`` appear only once the
job is finished, ``jobinstancetype``/``jobinstanceid`` only when the job is tied to an
entity, and ``jobid`` comes last, as ``BaseResponse`` fields do.
"""

from __future__ import annotations

import json

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


def job_fields(job: AsyncJob, account_uuid: str, user_uuid: str) -> Fields:
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
