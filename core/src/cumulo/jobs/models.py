"""The ``async_job``, ``mshost`` and ``op_lease`` tables.

``async_job`` keeps one row per asynchronous API call, as CloudStack 4.1 does: who
called (``user_id``, ``account_id``), what (``cmd``: 4.1's Java class, shown by
``queryAsyncJobResult``; ``command``: the API name the worker dispatches on; ``params``:
the parsed parameters as JSON, secrets encrypted), where it stands (``status`` 0 in
progress, 1 succeeded, 2 failed; ``result_code`` 0 or 530) and its answer
(``result_type`` ``object``/``text``, ``result`` JSON). ``owner`` is the ``msid`` of the
management server running it: ``NULL`` means queued, and claiming is a conditional
``UPDATE`` on that column (see :mod:`cumulo.jobs.queue`).

There are no foreign keys to ``account``/``user``: a job is history, purged on its own
schedule (``job.expire.minutes``), and must not stop an account or user from being
removed, as in CloudStack's schema.

``mshost`` lists the management servers sharing the database and when each last
proved it was alive; ``op_lease`` holds the time-limited leases that let exactly one
server run each singleton background task (CloudStack's ``op_lock`` serves the same
purpose with in-memory global locks).
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import BigInteger, Index, Integer, SmallInteger, String, Text, func
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import Mapped, mapped_column

from cumulo.db.base import Base, IdType, UtcDateTime, new_uuid, utcnow

# TEXT holds 64 KiB on MySQL; a deployVirtualMachine's userdata alone may be 32 KiB of
# base64 and a result can list many nested objects, so JSON columns get MEDIUMTEXT.
JsonText = Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb")


class JobStatus(enum.IntEnum):
    """``async_job.status`` and ``jobstatus`` (``AsyncJobResult.STATUS_*``)."""

    IN_PROGRESS = 0
    SUCCEEDED = 1
    FAILED = 2


class MsHostState(enum.StrEnum):
    """``mshost.state``: ``Up`` while heartbeating, ``Down`` once stopped or presumed dead."""

    UP = "Up"
    DOWN = "Down"


class AsyncJob(Base):
    """One asynchronous API call and, once finished, its answer."""

    __tablename__ = "async_job"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(40), unique=True, default=new_uuid)
    user_id: Mapped[int] = mapped_column(IdType)
    account_id: Mapped[int] = mapped_column(IdType)
    # 4.1's command class, e.g. org.apache.cloudstack.api.command.admin.account.
    # DeleteAccountCmd: what ``cmd`` shows; ``command`` is what the worker runs.
    cmd: Mapped[str] = mapped_column(String(255))
    command: Mapped[str] = mapped_column(String(255))
    params: Mapped[str] = mapped_column(JsonText)
    status: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    process_status: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    result_code: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    result_type: Mapped[str | None] = mapped_column(String(16))
    result: Mapped[str | None] = mapped_column(JsonText)
    instance_type: Mapped[str | None] = mapped_column(String(64))
    instance_uuid: Mapped[str | None] = mapped_column(String(40))
    # msid of the server running the job; NULL while queued.
    owner: Mapped[int | None] = mapped_column(BigInteger)
    created: Mapped[dt.datetime] = mapped_column(
        UtcDateTime(), default=utcnow, server_default=func.current_timestamp()
    )
    last_updated: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    completed: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())

    __table_args__ = (
        # Workers look for the oldest queued jobs: status = 0 AND owner IS NULL by id.
        Index(None, "status", "id"),
        # Takeover looks for the in-progress jobs of a given (dead) server.
        Index(None, "owner", "status"),
        # listAsyncJobs scopes by owner account.
        Index(None, "account_id", "id"),
        # The purge deletes finished jobs by completion time.
        Index(None, "completed"),
    )


class ManagementServerHost(Base):
    """A management server (one job-running process) sharing this database."""

    __tablename__ = "mshost"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    msid: Mapped[int] = mapped_column(BigInteger, unique=True)
    name: Mapped[str] = mapped_column(String(255))
    ip: Mapped[str | None] = mapped_column(String(255))
    version: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(10), default=MsHostState.UP.value)
    # Database time (CURRENT_TIMESTAMP) of the last heartbeat: one clock for every
    # server, so a machine whose clock runs ahead cannot declare the others dead.
    last_heartbeat: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    created: Mapped[dt.datetime] = mapped_column(
        UtcDateTime(), default=utcnow, server_default=func.current_timestamp()
    )

    __table_args__ = (Index(None, "state", "last_heartbeat"),)


class Lease(Base):
    """A singleton background task's lease: held by ``owner`` until ``expires``."""

    __tablename__ = "op_lease"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[int] = mapped_column(BigInteger)
    expires: Mapped[dt.datetime] = mapped_column(UtcDateTime())
