"""The job worker, end to end through the API: an async command answers ``jobid``, the
worker runs the same handler in one transaction with the job's completion, and
``queryAsyncJobResult`` answers exactly 4.1's fields (api-reference.md §d). Failures
roll the handler's work back; tenants never see each other's jobs; two servers never
run one job twice. SQLite and MariaDB."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import falcon.testing
import pluggy
import pytest
from api_test_commands import make_caller
from sqlalchemy import select, update

from cumulo import events, hookimpl
from cumulo.accounts.models import Account
from cumulo.jobs.models import AsyncJob, ManagementServerHost
from cumulo.runtime import Runtime
from cumulo.sdk import Event
from cumulo.sdk.api import (
    ALL_ROLES,
    Call,
    Command,
    ObjectResult,
    Param,
    ParamType,
    SuccessResult,
)
from cumulo.sdk.errors import InsufficientCapacity, InvalidParameterValue
from cumulo_api.errors import USER_ERROR_MESSAGE
from cumulo_api.registry import CommandRegistry
from cumulo_api.testing import TEST_DATABASE_KEY, signed_request
from cumulo_api.worker import JobWorker, run_job, run_pending

RUNS: Counter[str] = Counter()
RUNS_LOCK = threading.Lock()


def _rename(call: Call, value: str) -> None:
    """A visible effect of a job: the caller's account's network domain."""
    call.session.execute(
        update(Account).where(Account.id == call.ctx.account_id).values(network_domain=value)
    )


def succeed(call: Call) -> ObjectResult:
    with RUNS_LOCK:
        RUNS[call.job_uuid or ""] += 1
    _rename(call, call.get("name", "done"))
    events.record(call, "TEST.JOB.DONE", f"job {call.job_uuid} done")
    when = call.get("when")
    return ObjectResult(
        "thing",
        {
            "name": call.get("name"),
            "count": call.get("count"),
            "when": when,
            "passwordok": call.get("password") == "pa ss~word",
            "enabled": True,
            "missing": None,
        },
    )


def halfway(call: Call) -> ObjectResult:
    _rename(call, "half")
    events.record(call, "TEST.JOB.DONE", "never published")
    raise InvalidParameterValue("Unable to execute API command testhalfway due to invalid value")


def crash(call: Call) -> ObjectResult:
    _rename(call, "crashed")
    raise RuntimeError("boom: internal details")


def no_capacity(call: Call) -> ObjectResult:
    raise InsufficientCapacity("no host has 64 CPUs")


def taken_over(call: Call) -> SuccessResult:
    _rename(call, "taken")
    # Another server declared us dead and failed the job meanwhile.
    call.session.execute(update(AsyncJob).where(AsyncJob.uuid == call.job_uuid).values(owner=1))
    return SuccessResult()


def create_thing(call: Call) -> tuple[str, str]:
    return "Thing", "6a0e4c2b-1d3f-4e5a-8b7c-9d0e1f2a3b4c"


def _async(name: str, handler: Any, **extra: Any) -> Command:
    return Command(
        name=name,
        handler=handler,
        is_async=True,
        roles=ALL_ROLES,
        java_class=f"org.example.cumulo.test.{name[0].upper()}{name[1:]}Cmd",
        **extra,
    )


class JobTestPlugin:
    """Async test commands and an event observer."""

    def __init__(self) -> None:
        self.published: list[Event] = []

    @hookimpl
    def cumulo_api_commands(self) -> list[Command]:
        params = (
            Param("name"),
            Param("count", ParamType.INTEGER),
            Param("when", ParamType.TZDATE),
            Param("password"),
        )
        return [
            _async("testSucceed", succeed, params=params),
            _async("testHalfway", halfway),
            _async("testCrash", crash),
            _async("testNoCapacity", no_capacity),
            _async("testTakenOver", taken_over),
            _async("testDelete", lambda call: SuccessResult()),
            _async("testCreate", lambda call: SuccessResult(), create=create_thing),
        ]

    @hookimpl
    def cumulo_event(self, event: Event) -> None:
        self.published.append(event)


@pytest.fixture
def plugin() -> JobTestPlugin:
    return JobTestPlugin()


@pytest.fixture
def plugin_manager(plugin_manager: pluggy.PluginManager, plugin: JobTestPlugin) -> Any:
    plugin_manager.register(plugin, name="jobtest")
    return plugin_manager


@pytest.fixture
def registry(runtime: Runtime) -> CommandRegistry:
    return CommandRegistry.build(runtime.pm)


def body(result: falcon.testing.Result) -> dict[str, Any]:
    assert result.status_code == 200, result.text
    (envelope,) = result.json.values()
    assert isinstance(envelope, dict)
    return envelope


def submit(api: falcon.testing.TestClient, keys: tuple[str, str], command: str, **p: Any) -> str:
    answer = body(signed_request(api, keys, command, **p))
    assert list(answer) == ["jobid"]
    return str(answer["jobid"])


def query(api: falcon.testing.TestClient, keys: tuple[str, str], job: str) -> dict[str, Any]:
    result = signed_request(api, keys, "queryAsyncJobResult", jobid=job)
    assert list(result.json) == ["queryasyncjobresultresponse"]
    return body(result)


def network_domain(runtime: Runtime, name: str = "admin") -> str | None:
    with runtime.sessions() as session:
        return session.scalar(select(Account.network_domain).where(Account.account_name == name))


# ---- one job, start to finish ---------------------------------------------------------------


def test_a_job_runs_the_handler_and_answers_4_1s_fields(
    runtime: Runtime,
    api: falcon.testing.TestClient,
    admin_keys: tuple[str, str],
    registry: CommandRegistry,
    plugin: JobTestPlugin,
) -> None:
    job = submit(
        api,
        admin_keys,
        "testSucceed",
        name="web",
        count=3,
        when="2013-05-28T10:00:00+0200",
        password="pa ss~word",
    )
    pending = query(api, admin_keys, job)
    assert (pending["jobstatus"], pending["jobresultcode"]) == (0, 0)
    assert "jobresult" not in pending and "jobresulttype" not in pending
    assert network_domain(runtime) is None  # nothing ran yet
    assert run_pending(runtime, registry) == 1
    done = query(api, admin_keys, job)
    assert list(done) == [
        "accountid",
        "userid",
        "cmd",
        "jobstatus",
        "jobprocstatus",
        "jobresultcode",
        "jobresulttype",
        "jobresult",
        "created",
        "jobid",
    ]
    assert done["cmd"] == "org.example.cumulo.test.TestSucceedCmd"
    assert (done["jobstatus"], done["jobprocstatus"], done["jobresultcode"]) == (1, 0, 0)
    assert done["jobresulttype"] == "object"
    assert done["jobresult"] == {
        "thing": {
            "name": "web",
            "count": 3,
            "when": "2013-05-28T10:00:00+0200",  # the caller's zone kept
            "passwordok": True,  # the secret reached the handler intact
            "enabled": True,
        }
    }
    assert done["jobid"] == job and len(done["created"]) == len("2013-05-28T10:00:00+0000")
    assert network_domain(runtime) == "web"
    assert [e.type for e in plugin.published if e.type == "TEST.JOB.DONE"] == ["TEST.JOB.DONE"]
    with runtime.sessions() as session:
        stored = session.scalars(select(AsyncJob.params).where(AsyncJob.uuid == job)).one()
    assert "pa ss~word" not in stored


def test_the_answer_in_xml(
    runtime: Runtime,
    api: falcon.testing.TestClient,
    admin_keys: tuple[str, str],
    registry: CommandRegistry,
) -> None:
    job = submit(api, admin_keys, "testDelete")
    run_pending(runtime, registry)
    xml = signed_request(api, admin_keys, "queryAsyncJobResult", jobid=job, response="xml").text
    assert "<jobstatus>1</jobstatus><jobprocstatus>0</jobprocstatus>" in xml
    assert "<jobresultcode>0</jobresultcode><jobresulttype>object</jobresulttype>" in xml
    assert "<jobresult><success>true</success></jobresult>" in xml
    assert xml.endswith(f"<jobid>{job}</jobid></queryasyncjobresultresponse>")


def test_success_is_a_boolean_in_a_job_result(
    runtime: Runtime,
    api: falcon.testing.TestClient,
    admin_keys: tuple[str, str],
    registry: CommandRegistry,
) -> None:
    job = submit(api, admin_keys, "testDelete")
    run_pending(runtime, registry)
    assert query(api, admin_keys, job)["jobresult"] == {"success": True}


def test_a_create_command_ties_the_job_to_its_instance(
    runtime: Runtime,
    api: falcon.testing.TestClient,
    admin_keys: tuple[str, str],
    registry: CommandRegistry,
) -> None:
    answer = body(signed_request(api, admin_keys, "testCreate"))
    assert answer["id"] == "6a0e4c2b-1d3f-4e5a-8b7c-9d0e1f2a3b4c"
    run_pending(runtime, registry)
    done = query(api, admin_keys, answer["jobid"])
    assert (done["jobinstancetype"], done["jobinstanceid"]) == ("Thing", answer["id"])
    assert list(done)[-4:] == ["jobinstancetype", "jobinstanceid", "created", "jobid"]


# ---- failures -------------------------------------------------------------------------------


def test_a_failing_job_rolls_back_and_reports_errorcode_and_errortext(
    runtime: Runtime,
    api: falcon.testing.TestClient,
    admin_keys: tuple[str, str],
    registry: CommandRegistry,
    plugin: JobTestPlugin,
) -> None:
    job = submit(api, admin_keys, "testHalfway")
    run_pending(runtime, registry)
    failed = query(api, admin_keys, job)
    assert (failed["jobstatus"], failed["jobresultcode"], failed["jobresulttype"]) == (
        2,
        530,
        "object",
    )
    assert failed["jobresult"] == {
        "errorcode": 431,
        "errortext": "Unable to execute API command testhalfway due to invalid value",
    }
    assert network_domain(runtime) is None
    assert not [e for e in plugin.published if e.type == "TEST.JOB.DONE"]


def test_an_unexpected_error_is_530_and_hidden_from_users(
    runtime: Runtime,
    api: falcon.testing.TestClient,
    admin_keys: tuple[str, str],
    user_keys: tuple[str, str],
    registry: CommandRegistry,
) -> None:
    as_admin = submit(api, admin_keys, "testCrash")
    as_user = submit(api, user_keys, "testCrash")
    capacity = submit(api, user_keys, "testNoCapacity")
    assert run_pending(runtime, registry) == 3
    assert query(api, admin_keys, as_admin)["jobresult"] == {
        "errorcode": 530,
        "errortext": "boom: internal details",
    }
    assert query(api, user_keys, as_user)["jobresult"] == {
        "errorcode": 530,
        "errortext": USER_ERROR_MESSAGE,
    }
    assert query(api, user_keys, capacity)["jobresult"] == {
        "errorcode": 533,
        "errortext": USER_ERROR_MESSAGE,
    }
    assert network_domain(runtime) is None and network_domain(runtime, "alice") is None


def test_a_job_taken_over_meanwhile_is_undone(
    runtime: Runtime,
    api: falcon.testing.TestClient,
    admin_keys: tuple[str, str],
    registry: CommandRegistry,
) -> None:
    job = submit(api, admin_keys, "testTakenOver")
    with runtime.sessions() as session:
        job_id = session.scalars(select(AsyncJob.id).where(AsyncJob.uuid == job)).one()
        assert session.execute(
            update(AsyncJob).where(AsyncJob.id == job_id).values(owner=runtime.msid)
        )
        session.commit()
    assert not run_job(runtime, registry, job_id)
    assert network_domain(runtime) is None


# ---- tenants -----------------------------------------------------------------------------------


def test_a_user_cannot_see_or_list_another_accounts_jobs(
    runtime: Runtime,
    api: falcon.testing.TestClient,
    admin_keys: tuple[str, str],
    user_keys: tuple[str, str],
) -> None:
    bob = make_caller(runtime, "bob", 0)
    alices = submit(api, user_keys, "testDelete")
    denied = signed_request(api, bob, "queryAsyncJobResult", jobid=alices)
    assert denied.status_code == 531
    assert denied.json["queryasyncjobresultresponse"]["errorcode"] == 531
    assert body(signed_request(api, bob, "listAsyncJobs", listall=True)) == {}
    listed = body(signed_request(api, user_keys, "listAsyncJobs"))
    assert listed["count"] == 1 and [j["jobid"] for j in listed["asyncjobs"]] == [alices]
    everything = body(signed_request(api, admin_keys, "listAsyncJobs", listall=True))
    assert [j["jobid"] for j in everything["asyncjobs"]] == [alices]
    missing = signed_request(api, admin_keys, "queryAsyncJobResult", jobid=str(uuid.uuid4()))
    assert (
        missing.status_code == 431
        and "jobid" in missing.json["queryasyncjobresultresponse"]["errortext"]
    )


# ---- the long-running worker ------------------------------------------------------------------


def wait_until_done(runtime: Runtime, jobs: list[str], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with runtime.sessions() as session:
            statuses = session.scalars(select(AsyncJob.status).where(AsyncJob.uuid.in_(jobs)))
            if all(status != 0 for status in statuses):
                return
        time.sleep(0.05)
    pytest.fail(f"jobs still in progress after {timeout:g} s")


@pytest.fixture
def second_runtime(migrated_database_url: str, runtime: Runtime) -> Iterator[Runtime]:
    """Another management server on the same database."""
    other = Runtime.for_url(migrated_database_url, TEST_DATABASE_KEY, pm=runtime.pm)
    other.msid = runtime.msid + 1
    yield other
    other.close()


def test_two_servers_run_every_job_exactly_once(
    runtime: Runtime,
    second_runtime: Runtime,
    api: falcon.testing.TestClient,
    admin_keys: tuple[str, str],
    registry: CommandRegistry,
) -> None:
    workers = [
        JobWorker(server, registry, threads=3, poll_interval=0.02)
        for server in (runtime, second_runtime)
    ]
    for worker in workers:
        worker.start()
    try:
        jobs = [submit(api, admin_keys, "testSucceed", name=f"n{i}") for i in range(24)]
        wait_until_done(runtime, jobs)
    finally:
        for worker in workers:
            worker.stop()
    assert {job: RUNS[job] for job in jobs} == dict.fromkeys(jobs, 1)
    with runtime.sessions() as session:
        owners = set(session.scalars(select(AsyncJob.owner).where(AsyncJob.uuid.in_(jobs))))
        states = dict(
            session.execute(select(ManagementServerHost.msid, ManagementServerHost.state)).all()
        )
    assert owners <= {runtime.msid, second_runtime.msid}
    # Both servers registered, heartbeated and signed off cleanly.
    assert states == {runtime.msid: "Down", second_runtime.msid: "Down"}
    assert all(query(api, admin_keys, job)["jobstatus"] == 1 for job in jobs[:3])


def test_the_worker_wakes_up_for_new_jobs(
    runtime: Runtime,
    api: falcon.testing.TestClient,
    admin_keys: tuple[str, str],
    registry: CommandRegistry,
) -> None:
    worker = JobWorker(runtime, registry, threads=1, poll_interval=60, background=False)
    worker.start()
    try:
        time.sleep(0.2)  # the first look found nothing; the next is a minute away
        job = submit(api, admin_keys, "testDelete")
        worker.wake()
        wait_until_done(runtime, [job], timeout=10)
    finally:
        worker.stop()
