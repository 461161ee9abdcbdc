"""``queryAsyncJobResult`` and ``listAsyncJobs``: declarations and handlers.

Who may see a job is who may see its owner account (CS41:
``AsyncJobManagerImpl.queryAsyncJobResult``: a user only its own account's jobs, a
domain admin those of its subtree, a root admin all); asking for someone else's job is
531, an id that names no job 431 naming ``jobid``. ``listAsyncJobs`` filters as 4.1's
``QueryManagerImpl.searchForAsyncJobsInternal``: the accounts the caller may list
(:func:`cumulo.accounts.access.visible_accounts`), ``keyword`` within ``cmd``,
``startdate`` on ``created``; ordered by id; one statement per page.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, NamedTuple, cast

from sqlalchemy import Select, bindparam, or_, select

from cumulo import hookimpl
from cumulo.accounts.access import check_list_scope, check_owner_access, visible_accounts
from cumulo.accounts.lookup import find_domain, invalid_id
from cumulo.accounts.models import Account, Domain, User
from cumulo.config.store import ConfigStore
from cumulo.db.listing import DEFAULT_PAGE_SIZE, fetch_page
from cumulo.jobs.models import AsyncJob
from cumulo.jobs.views import OBJECT_NAME, RESPONSE_FIELDS, job_fields, job_rows
from cumulo.sdk.api import (
    ALL_ROLES,
    Call,
    Command,
    ListResult,
    Param,
    ParamType,
    RawResult,
)

_JOB_PACKAGE = "org.apache.cloudstack.api.command.user.job"


class _OwnerDomain(NamedTuple):
    # The job owner's domain as the access check reads it (a DomainRef).
    id: int
    uuid: str
    path: str
    removed: dt.datetime | None


# queryAsyncJobResult is what clients poll: its statements are built once, with the
# owner's public ids and domain in the same row, as Core rows (no ORM objects).
_JOBS, _ACCOUNTS, _USERS, _DOMAINS = (
    AsyncJob.__table__,
    Account.__table__,
    User.__table__,
    Domain.__table__,
)
_JOB_WITH_OWNER = (
    select(
        _JOBS,
        _ACCOUNTS.c.uuid.label("account_uuid"),
        _USERS.c.uuid.label("user_uuid"),
        _DOMAINS.c.id.label("owner_domain_id"),
        _DOMAINS.c.uuid.label("owner_domain_uuid"),
        _DOMAINS.c.path.label("owner_domain_path"),
        _DOMAINS.c.removed.label("owner_domain_removed"),
    )
    .join(_ACCOUNTS, _ACCOUNTS.c.id == _JOBS.c.account_id)
    .join(_USERS, _USERS.c.id == _JOBS.c.user_id)
    .join(_DOMAINS, _DOMAINS.c.id == _ACCOUNTS.c.domain_id)
)
_JOB_BY_UUID = _JOB_WITH_OWNER.where(_JOBS.c.uuid == bindparam("uuid"))
_JOB_BY_UUID_OR_ID = _JOB_WITH_OWNER.where(
    or_(_JOBS.c.uuid == bindparam("uuid"), _JOBS.c.id == bindparam("id"))
)


def query_async_job_result(call: Call) -> RawResult:
    """The job ``jobid`` names, as ``AsyncJobResponse`` fields without a wrapper.

    :raises InvalidParameterValue: no such job (431 naming ``jobid``).
    :raises PermissionDenied: the job belongs to an account the caller may not see.
    """
    value = call.params["jobid"]
    text = str(value)
    # Polled in a loop by every client: a Core statement on the session's connection.
    connection = call.session.connection()
    if text.isdecimal():  # a pre-3.0 parameter: 4.1 also takes the internal id
        found = connection.execute(_JOB_BY_UUID_OR_ID, {"uuid": text, "id": int(text)})
    else:
        found = connection.execute(_JOB_BY_UUID, {"uuid": text})
    row = found.first()
    if row is None:
        raise invalid_id("jobid", value)
    owner = _OwnerDomain(
        row.owner_domain_id, row.owner_domain_uuid, row.owner_domain_path, row.owner_domain_removed
    )
    check_owner_access(call.ctx, row.account_id, row.account_uuid, owner)
    return RawResult(job_fields(row, row.account_uuid, row.user_uuid))


def list_async_jobs(call: Call) -> ListResult:
    """One page of the jobs of the accounts the caller lists, with the total count.

    :raises InvalidParameterValue: bad ``domainid``/``account``/paging (431).
    :raises PermissionDenied: ``domainid``/``account`` outside the caller's reach (531).
    """
    session, ctx = call.session, call.ctx
    domain = find_domain(session, call.get("domainid")) if call.get("domainid") else None
    account_name = call.get("account")
    check_list_scope(ctx, session, domain=domain, account_name=account_name)
    stmt = job_rows().where(
        visible_accounts(
            ctx,
            listall=bool(call.get("listall", False)),
            isrecursive=bool(call.get("isrecursive", False)),
            domain_id=domain.id if domain is not None else None,
            account_name=account_name,
        )
    )
    keyword = call.get("keyword")
    if keyword:
        stmt = stmt.where(AsyncJob.cmd.contains(keyword, autoescape=True))
    start = call.get("startdate")
    if start is not None:
        stmt = stmt.where(AsyncJob.created >= _naive_utc(start))
    rows, total = fetch_page(
        session,
        cast("Select[Any]", stmt.order_by(AsyncJob.id)),  # fetch_page takes any columns
        page=call.get("page"),
        pagesize=call.get("pagesize"),
        max_page_size=_max_page_size(call),
    )
    items = [job_fields(job, account_uuid, user_uuid) for job, account_uuid, user_uuid in rows]
    return ListResult(OBJECT_NAME, items, total)


def _naive_utc(value: Any) -> dt.datetime:
    # TZDATE arrives as an aware datetime; the table stores naive UTC.
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo else value
    return dt.datetime.combine(value, dt.time())


def _max_page_size(call: Call) -> int:
    """``default.page.size``: the dispatcher reads it once per request (service
    ``max_page_size``); otherwise it is read here, in the request's transaction."""
    if "max_page_size" in call.services:
        return int(call.services["max_page_size"])
    runtime = call.services.get("runtime")
    if runtime is None:
        return DEFAULT_PAGE_SIZE
    store: ConfigStore = runtime.config_store(call.session)
    return store.integer("default.page.size") or DEFAULT_PAGE_SIZE


# ---- declarations -----------------------------------------------------------------------

_LIST_PARAMS = (
    Param("startdate", ParamType.TZDATE, "the start date of the async job"),
    Param(
        "account",
        description="list resources by account. Must be used with the domainId parameter.",
    ),
    Param(
        "listall",
        ParamType.BOOLEAN,
        "If set to false, list only resources belonging to the command's caller; if set to"
        " true - list resources that the caller is authorized to see. Default value is false",
    ),
    Param(
        "domainid",
        ParamType.UUID,
        "list only resources belonging to the domain specified",
        entity="Domain",
    ),
    Param(
        "isrecursive",
        ParamType.BOOLEAN,
        "defaults to false, but if true, lists all resources from the parent specified by the"
        " domainId till leaves.",
    ),
    Param("keyword", description="List by keyword"),
    Param("page", ParamType.INTEGER),
    Param("pagesize", ParamType.INTEGER),
)

COMMANDS = (
    Command(
        name="queryAsyncJobResult",
        handler=query_async_job_result,
        params=(
            Param(
                "jobid",
                ParamType.UUID,
                "the ID of the asychronous job",
                required=True,
                entity="AsyncJob",
            ),
        ),
        roles=ALL_ROLES,
        response_name="queryasyncjobresultresponse",
        response_class="AsyncJobResponse",
        response_fields=RESPONSE_FIELDS,
        description="Retrieves the current status of asynchronous job.",
        java_class=f"{_JOB_PACKAGE}.QueryAsyncJobResultCmd",
    ),
    Command(
        name="listAsyncJobs",
        handler=list_async_jobs,
        params=_LIST_PARAMS,
        roles=ALL_ROLES,
        response_name="listasyncjobsresponse",
        response_class="AsyncJobResponse",
        response_fields=RESPONSE_FIELDS,
        description="Lists all pending asynchronous jobs for the account.",
        related=("queryAsyncJobResult",),
        java_class=f"{_JOB_PACKAGE}.ListAsyncJobsCmd",
    ),
)


@hookimpl
def cumulo_api_commands() -> list[Command]:
    """The job commands (see :data:`COMMANDS`)."""
    return list(COMMANDS)
