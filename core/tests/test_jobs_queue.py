"""The job queue: submit in the caller's transaction, the portable atomic claim, and
completion that only the owner can record. Runs on SQLite and MariaDB alike."""

from __future__ import annotations

import datetime as dt
import json
import random
import threading
from collections import Counter
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from cumulo import crypto
from cumulo.db.engine import create_engine, session_factory
from cumulo.jobs import queue
from cumulo.jobs.models import AsyncJob, JobStatus
from cumulo.jobs.params import decode_params, encode_params
from cumulo.plugins import get_plugin_manager
from cumulo.sdk.api import Call, CallContext, Command, SuccessResult
from cumulo.sdk.errors import InternalError

KEY = "jobs-test-database-key"


@pytest.fixture
def engine(migrated_database_url: str) -> Iterator[Engine]:
    built = create_engine(migrated_database_url)
    yield built
    built.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return session_factory(engine)


def _command(**overrides: object) -> Command:
    options: dict[str, object] = {
        "name": "deleteAccount",
        "handler": lambda call: SuccessResult(),
        "is_async": True,
        "java_class": "org.apache.cloudstack.api.command.admin.account.DeleteAccountCmd",
        "instance_type": "Account",
    }
    options.update(overrides)
    return Command(**options)  # type: ignore[arg-type]


CTX = CallContext(user_id=2, account_id=2, domain_id=1, domain_path="/", account_type=1)


def _call(session: Session, params: dict[str, object], **overrides: object) -> Call:
    return Call(
        _command(**overrides),
        CTX,
        session,
        params,
        get_plugin_manager(autoload=False),
        services={"database_key": KEY},
    )


def submit(sessions: sessionmaker[Session], params: dict[str, object] | None = None) -> str:
    with sessions.begin() as session:
        return queue.submit(session, _call(session, params or {}))


# ---- submit -------------------------------------------------------------------------------


def test_submit_stores_the_call_and_its_instance(sessions: sessionmaker[Session]) -> None:
    account = "0b6f7a1e-8c2d-4e8f-9a51-3c0d2b1e4f55"
    uuid = submit(sessions, {"id": account})
    with sessions() as session:
        job = session.scalars(select(AsyncJob).where(AsyncJob.uuid == uuid)).one()
    assert (job.user_id, job.account_id, job.command) == (2, 2, "deleteAccount")
    assert job.cmd.endswith(".DeleteAccountCmd")
    assert (job.status, job.process_status, job.result_code) == (0, 0, 0)
    assert job.owner is None and job.result is None and job.completed is None
    # 4.1's getInstanceId: the command's id parameter ties the job to the account.
    assert (job.instance_type, job.instance_uuid) == ("Account", account)


def test_submit_with_a_created_instance(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        call = _call(session, {}, instance_type=None)
        uuid = queue.submit(session, call, instance=("VirtualMachine", "vm-uuid"))
        job = queue.find(session, uuid)
        assert job is not None
        assert (job.instance_type, job.instance_uuid) == ("VirtualMachine", "vm-uuid")


def test_a_rolled_back_request_leaves_no_job(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        uuid = queue.submit(session, _call(session, {}))
        session.rollback()
    with sessions() as session:
        assert queue.find(session, uuid) is None


def test_parameters_round_trip_with_their_types() -> None:
    params: dict[str, object] = {
        "name": "web",
        "size": 20,
        "ratio": 1.5,
        "forced": True,
        "none": None,
        "startdate": dt.datetime(2013, 5, 28, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=2))),
        "day": dt.date(2013, 5, 28),
        "ids": ["a", "b"],
        "tags": [{"key": "k", "value": "v"}],
    }
    assert decode_params(encode_params(params, KEY), KEY) == params


def test_secret_parameters_are_stored_encrypted(sessions: sessionmaker[Session]) -> None:
    uuid = submit(sessions, {"username": "vpn", "password": "s3cr3t-pass"})
    with sessions() as session:
        job = queue.find(session, uuid)
        assert job is not None
    assert "s3cr3t-pass" not in job.params
    stored = json.loads(job.params)["password"]["$secret"]
    inner = crypto.unwrap_enc(stored)
    assert inner is not None and crypto.decrypt(inner, KEY) == "s3cr3t-pass"
    assert decode_params(job.params, KEY) == {"username": "vpn", "password": "s3cr3t-pass"}


def test_a_secret_without_a_database_key_is_refused(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        call = _call(session, {"password": "x"})
        call.services = {}
        with pytest.raises(InternalError, match="database key"):
            queue.submit(session, call)


def test_a_value_json_cannot_carry_is_a_bug_not_bad_input() -> None:
    with pytest.raises(InternalError, match="parameter blob"):
        encode_params({"blob": object()}, KEY)


# ---- claim ---------------------------------------------------------------------------------


def test_claim_takes_a_queued_job_once(sessions: sessionmaker[Session]) -> None:
    uuid = submit(sessions)
    with sessions.begin() as session:
        (job_id,) = queue.claimable(session, 10)
        assert queue.claim(session, job_id, msid=111)
        assert not queue.claim(session, job_id, msid=222)
    with sessions() as session:
        job = queue.find(session, uuid)
        assert job is not None and job.owner == 111
        assert queue.claimable(session, 10) == []


def test_concurrent_claims_give_each_job_to_exactly_one_server(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    for _ in range(40):
        submit(sessions)
    claims: Counter[int] = Counter()
    owners: dict[int, int] = {}
    lost = Counter[int]()
    lock = threading.Lock()
    # Every server reads the same queued ids, then all claim them at once, each in its
    # own order: every job is contended by four servers.
    ready = threading.Barrier(4)

    def server(msid: int) -> None:
        with sessions() as session:
            candidates = queue.claimable(session, 100)
        random.Random(msid).shuffle(candidates)
        ready.wait()
        for job_id in candidates:
            with sessions.begin() as session:
                won = queue.claim(session, job_id, msid)
            with lock:
                if won:
                    claims[job_id] += 1
                    owners[job_id] = msid
                else:
                    lost[msid] += 1

    threads = [threading.Thread(target=server, args=(msid,)) for msid in (1, 2, 3, 4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(claims) == 40 and set(claims.values()) == {1}
    assert sum(lost.values()) == 3 * 40  # every other attempt lost
    with sessions() as session:
        stored = dict(session.execute(select(AsyncJob.id, AsyncJob.owner)).all())
    assert stored == owners


# ---- completion -----------------------------------------------------------------------------


def _claimed(sessions: sessionmaker[Session], msid: int = 7) -> tuple[int, str]:
    uuid = submit(sessions)
    with sessions.begin() as session:
        job = queue.find(session, uuid)
        assert job is not None and queue.claim(session, job.id, msid)
        return job.id, uuid


def test_complete_records_the_result_for_the_owner_only(sessions: sessionmaker[Session]) -> None:
    job_id, uuid = _claimed(sessions)
    with sessions.begin() as session:
        assert not queue.complete(session, job_id, 8, "object", {"success": True})
        assert queue.complete(session, job_id, 7, "object", {"success": True})
        # Finished: a second verdict changes nothing.
        assert not queue.fail(session, job_id, 7, 530, "late")
    with sessions() as session:
        job = queue.find(session, uuid)
    assert job is not None
    assert (job.status, job.result_code, job.result_type) == (JobStatus.SUCCEEDED, 0, "object")
    assert json.loads(job.result or "") == {"success": True}
    assert job.completed is not None


def test_fail_keeps_exactly_errorcode_and_errortext(sessions: sessionmaker[Session]) -> None:
    job_id, uuid = _claimed(sessions)
    with sessions.begin() as session:
        assert queue.fail(session, job_id, 7, 431, "Unable to execute API command")
    with sessions() as session:
        job = queue.find(session, uuid)
    assert job is not None
    # jobresultcode is 530 whatever the inner errorcode (4.1 AsyncJobManagerImpl).
    assert (job.status, job.result_code) == (JobStatus.FAILED, 530)
    assert json.loads(job.result or "") == {
        "errorcode": 431,
        "errortext": "Unable to execute API command",
    }


def test_fail_abandoned_fails_only_that_owners_running_jobs(
    sessions: sessionmaker[Session],
) -> None:
    mine, _ = _claimed(sessions, msid=7)
    other, _ = _claimed(sessions, msid=9)
    queued = submit(sessions)
    with sessions.begin() as session:
        assert queue.fail_abandoned(session, 7, "server 7 stopped") == 1
    with sessions() as session:
        status = dict(session.execute(select(AsyncJob.id, AsyncJob.status)).all())
        waiting = queue.find(session, queued)
    assert status[mine] == JobStatus.FAILED and status[other] == JobStatus.IN_PROGRESS
    assert waiting is not None and waiting.status == JobStatus.IN_PROGRESS
