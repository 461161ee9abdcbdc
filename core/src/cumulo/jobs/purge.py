"""Purging finished jobs once ``job.expire.minutes`` have passed (4.1 default: 1440).

4.1's garbage collector expunges expired jobs 100 at a time, one row per statement
(CS41: ``AsyncJobManagerImpl.getGCTask``); here it is one set-based ``DELETE`` served by
the ``completed`` index. Jobs still in progress are never purged, however old: they
end through completion or takeover first.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete
from sqlalchemy.orm import Session

from cumulo.jobs.clock import db_now
from cumulo.jobs.models import AsyncJob, JobStatus

EXPIRE_KEY = "job.expire.minutes"


def purge_expired(session: Session, expire: dt.timedelta) -> int:
    """Delete the jobs that finished more than ``expire`` ago; return how many.

    Works inside the caller's transaction (one ``SELECT`` of the clock, one ``DELETE``).
    """
    cutoff = db_now(session) - expire
    stmt = (
        delete(AsyncJob)
        .where(AsyncJob.completed < cutoff, AsyncJob.status != int(JobStatus.IN_PROGRESS))
        .execution_options(synchronize_session=False)
    )
    return int(session.execute(stmt).rowcount)  # type: ignore[attr-defined]
