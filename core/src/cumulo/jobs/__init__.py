"""Asynchronous jobs and the management servers that run them.

- :mod:`cumulo.jobs.queue` — :func:`submit` (in the request's transaction), the atomic
  claim, completion and failure;
- :mod:`cumulo.jobs.mshost` — registration, heartbeat and takeover of dead servers' jobs;
- :mod:`cumulo.jobs.lease` — one server at a time runs each singleton background task;
- :mod:`cumulo.jobs.purge` — finished jobs are deleted after ``job.expire.minutes``;
- :mod:`cumulo.jobs.scheduler` — the background loop that does the last three;
- :mod:`cumulo.jobs.commands` — ``queryAsyncJobResult`` and ``listAsyncJobs``.

The worker that runs claimed jobs through the API's command registry lives in the API
distribution (``cumulo_api.worker``); this package never knows about HTTP.
"""

from cumulo.jobs.models import AsyncJob, JobStatus, ManagementServerHost, MsHostState
from cumulo.jobs.queue import submit

__all__ = ["AsyncJob", "JobStatus", "ManagementServerHost", "MsHostState", "submit"]
