"""``queryAsyncJobResult`` and ``listAsyncJobs`` handlers: 4.1's fields exactly, and
tenants isolated (a user never sees another account's jobs; a domain admin only its
subtree's). The HTTP side is covered in api/tests/test_worker.py."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pluggy
import pytest
from sqlalchemy import event, select, update

from cumulo.accounts.models import Account, Domain, User
from cumulo.jobs import queue
from cumulo.jobs.commands import COMMANDS
from cumulo.jobs.models import AsyncJob
from cumulo.runtime import Runtime
from cumulo.sdk.api import Call, CallContext, Command, ListResult, SuccessResult
from cumulo.sdk.errors import InvalidParameterValue, PermissionDenied
from cumulo.setup.seed import seed_cloud

JOB_CLASS = "org.apache.cloudstack.api.command.user.vm.RebootVMCmd"
QUERY, LIST = COMMANDS


@dataclass(frozen=True)
class Caller:
    ctx: CallContext
    account: str
    user: str


@pytest.fixture
def runtime(migrated_database_url: str, plugin_manager: pluggy.PluginManager) -> Iterator[Runtime]:
    built = Runtime.for_url(migrated_database_url, "k", pm=plugin_manager)
    with built.sessions.begin() as session:
        seed_cloud(session, built.database_key, built.algorithm)
    yield built
    built.close()


def make_domain(runtime: Runtime, name: str) -> Domain:
    with runtime.sessions.begin() as session:
        root = session.scalars(select(Domain).where(Domain.path == "/")).one()
        domain = Domain(name=name, parent=root.id, path=f"/{name}/", level=1, owner=1)
        session.add(domain)
    return domain


def make_caller(runtime: Runtime, name: str, account_type: int, domain: Domain | None) -> Caller:
    with runtime.sessions.begin() as session:
        if domain is None:
            domain = session.scalars(select(Domain).where(Domain.path == "/")).one()
        account = Account(account_name=name, type=account_type, domain_id=domain.id)
        session.add(account)
        session.flush()
        user = User(username=name, password="!", account_id=account.id)
        session.add(user)
        session.flush()
        ctx = CallContext(
            user_id=user.id,
            account_id=account.id,
            domain_id=domain.id,
            domain_path=domain.path,
            account_type=account_type,
            account_uuid=account.uuid,
            user_uuid=user.uuid,
            account_name=name,
            username=name,
        )
        return Caller(ctx, account.uuid, user.uuid)


@pytest.fixture
def root_admin(runtime: Runtime) -> Caller:
    with runtime.sessions() as session:
        user = session.scalars(select(User).where(User.username == "admin")).one()
        account = session.get(Account, user.account_id)
        assert account is not None
        ctx = CallContext(
            user_id=user.id,
            account_id=account.id,
            domain_id=account.domain_id,
            domain_path="/",
            account_type=1,
            account_name="admin",
        )
        return Caller(ctx, account.uuid, user.uuid)


def submit(
    runtime: Runtime, caller: Caller, vm: str = "7e1c8a52-3b0d-4f6e-8d21-5a9c0b4e2f13"
) -> str:
    command = Command(
        "rebootVirtualMachine",
        lambda call: SuccessResult(),
        is_async=True,
        java_class=JOB_CLASS,
        instance_type="VirtualMachine",
    )
    with runtime.sessions.begin() as session:
        call = Call(command, caller.ctx, session, {"id": vm}, runtime.pm)
        return queue.submit(session, call, database_key="")


def run(runtime: Runtime, command: Command, caller: Caller, **params: Any) -> Any:
    with runtime.sessions() as session:
        return command.handler(Call(command, caller.ctx, session, params, runtime.pm))


def finish(runtime: Runtime, job_uuid: str, *, error: tuple[int, str] | None = None) -> None:
    with runtime.sessions.begin() as session:
        job = queue.find(session, job_uuid)
        assert job is not None and queue.claim(session, job.id, 5)
        if error is None:
            assert queue.complete(session, job.id, 5, "object", {"virtualmachine": {"id": "x"}})
        else:
            assert queue.fail(session, job.id, 5, *error)


# ---- queryAsyncJobResult ------------------------------------------------------------------------


def test_a_pending_job_has_exactly_4_1s_fields(runtime: Runtime, root_admin: Caller) -> None:
    job = submit(runtime, root_admin)
    fields = run(runtime, QUERY, root_admin, jobid=job).fields
    assert list(fields) == [
        "accountid",
        "userid",
        "cmd",
        "jobstatus",
        "jobprocstatus",
        "jobresultcode",
        "jobinstancetype",
        "jobinstanceid",
        "created",
        "jobid",
    ]
    assert fields["accountid"] == root_admin.account and fields["userid"] == root_admin.user
    assert (fields["cmd"], fields["jobid"]) == (JOB_CLASS, job)
    # Integers, not strings: clients compare jobstatus with 0, 1, 2.
    assert (fields["jobstatus"], fields["jobprocstatus"], fields["jobresultcode"]) == (0, 0, 0)
    assert all(type(fields[k]) is int for k in ("jobstatus", "jobprocstatus", "jobresultcode"))
    assert fields["jobinstancetype"] == "VirtualMachine"
    assert isinstance(fields["created"], dt.datetime)


def test_a_finished_job_carries_its_result(runtime: Runtime, root_admin: Caller) -> None:
    job = submit(runtime, root_admin)
    finish(runtime, job)
    fields = run(runtime, QUERY, root_admin, jobid=job).fields
    assert (fields["jobstatus"], fields["jobresultcode"]) == (1, 0)
    assert fields["jobresulttype"] == "object"
    assert fields["jobresult"] == {"virtualmachine": {"id": "x"}}
    assert list(fields).index("jobresult") == list(fields).index("jobresultcode") + 2


def test_a_failed_job_has_only_errorcode_and_errortext(
    runtime: Runtime, root_admin: Caller
) -> None:
    job = submit(runtime, root_admin)
    finish(runtime, job, error=(431, "Unable to execute API command due to invalid value"))
    fields = run(runtime, QUERY, root_admin, jobid=job).fields
    assert (fields["jobstatus"], fields["jobresultcode"]) == (2, 530)
    assert fields["jobresult"] == {
        "errorcode": 431,
        "errortext": "Unable to execute API command due to invalid value",
    }


def test_an_unknown_job_is_431_naming_jobid(runtime: Runtime, root_admin: Caller) -> None:
    with pytest.raises(InvalidParameterValue, match="Invalid parameter jobid value=") as raised:
        run(runtime, QUERY, root_admin, jobid="00000000-0000-4000-8000-000000000000")
    assert raised.value.errorcode == 431


def test_the_internal_id_is_accepted_as_4_1_did(runtime: Runtime, root_admin: Caller) -> None:
    job = submit(runtime, root_admin)
    with runtime.sessions() as session:
        internal = session.scalar(select(AsyncJob.id).where(AsyncJob.uuid == job))
    assert run(runtime, QUERY, root_admin, jobid=str(internal)).fields["jobid"] == job


def test_a_user_cannot_see_another_accounts_job(runtime: Runtime, root_admin: Caller) -> None:
    alice = make_caller(runtime, "alice", 0, None)
    bob = make_caller(runtime, "bob", 0, None)
    job = submit(runtime, alice)
    assert run(runtime, QUERY, alice, jobid=job).fields["jobid"] == job
    with pytest.raises(PermissionDenied) as raised:
        run(runtime, QUERY, bob, jobid=job)
    assert raised.value.errorcode == 531
    assert run(runtime, QUERY, root_admin, jobid=job).fields["jobid"] == job


def test_a_domain_admin_sees_its_subtree_only(runtime: Runtime, root_admin: Caller) -> None:
    sales = make_domain(runtime, "Sales")
    dora = make_caller(runtime, "dora", 2, sales)
    seller = make_caller(runtime, "seller", 0, sales)
    inside, outside = submit(runtime, seller), submit(runtime, root_admin)
    assert run(runtime, QUERY, dora, jobid=inside).fields["jobid"] == inside
    with pytest.raises(PermissionDenied):
        run(runtime, QUERY, dora, jobid=outside)


# ---- listAsyncJobs ------------------------------------------------------------------------------


def listed(runtime: Runtime, caller: Caller, **params: Any) -> ListResult:
    result = run(runtime, LIST, caller, **params)
    assert isinstance(result, ListResult) and result.object_name == "asyncjobs"
    return result


def ids(result: ListResult) -> list[str]:
    return [item["jobid"] for item in result.items]


def test_list_scopes_jobs_by_account(runtime: Runtime, root_admin: Caller) -> None:
    sales = make_domain(runtime, "Sales")
    dora = make_caller(runtime, "dora", 2, sales)
    alice = make_caller(runtime, "alice", 0, sales)
    bob = make_caller(runtime, "bob", 0, None)
    mine = submit(runtime, root_admin)
    alices = [submit(runtime, alice), submit(runtime, alice)]
    bobs = submit(runtime, bob)
    # listall=false: the caller's own jobs only, admins included (4.1).
    assert ids(listed(runtime, root_admin)) == [mine]
    assert ids(listed(runtime, root_admin, listall=True)) == [mine, *alices, bobs]
    assert ids(listed(runtime, alice, listall=True)) == alices
    assert ids(listed(runtime, bob)) == [bobs]
    assert ids(listed(runtime, dora, listall=True)) == alices
    assert ids(listed(runtime, root_admin, account="alice", domainid=sales.uuid)) == alices
    with pytest.raises(PermissionDenied):
        listed(runtime, dora, domainid=_root_uuid(runtime))


def _root_uuid(runtime: Runtime) -> str:
    with runtime.sessions() as session:
        return str(session.scalar(select(Domain.uuid).where(Domain.path == "/")))


def test_list_filters_keyword_and_startdate_and_pages(runtime: Runtime, root_admin: Caller) -> None:
    jobs = [submit(runtime, root_admin) for _ in range(5)]
    with runtime.sessions.begin() as session:
        session.execute(
            update(AsyncJob)
            .where(AsyncJob.uuid == jobs[0])
            .values(created=dt.datetime(2001, 1, 1), cmd="org.example.OtherCmd")
        )
    assert ids(listed(runtime, root_admin, keyword="Other")) == [jobs[0]]
    assert ids(listed(runtime, root_admin, keyword="RebootVM")) == jobs[1:]
    since = dt.datetime(2010, 1, 1, tzinfo=dt.UTC)
    assert ids(listed(runtime, root_admin, startdate=since)) == jobs[1:]
    page = listed(runtime, root_admin, page=2, pagesize=2)
    assert (ids(page), page.count) == (jobs[2:4], 5)
    with pytest.raises(InvalidParameterValue):
        listed(runtime, root_admin, page=1)


def test_a_list_page_costs_the_same_statements_however_many_jobs(
    runtime: Runtime, root_admin: Caller
) -> None:
    costs = []
    for batch in (2, 30):
        for _ in range(batch):
            submit(runtime, root_admin)
        seen: list[str] = []

        def count(*args: object, seen: list[str] = seen) -> None:
            seen.append(str(args[2]))

        event.listen(runtime.engine, "before_cursor_execute", count)
        try:
            result = listed(runtime, root_admin)
        finally:
            event.remove(runtime.engine, "before_cursor_execute", count)
        costs.append(len(seen))
        assert result.count == len(result.items)
    assert costs[0] == costs[1]


def test_an_empty_list(runtime: Runtime, root_admin: Caller) -> None:
    result = listed(runtime, root_admin)
    assert (result.items, result.count) == ([], 0)
