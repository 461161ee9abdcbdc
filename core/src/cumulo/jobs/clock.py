"""The database's clock: the one time every management server agrees on.

Heartbeats, leases and takeover compare timestamps written by different machines. Each
machine's own clock may drift; the database server's clock is shared, so liveness is
decided on it (CloudStack's cluster manager does the same with ``getDbTime``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import DateTime, func, select
from sqlalchemy.orm import Session


def db_now(session: Session) -> dt.datetime:
    """``CURRENT_TIMESTAMP`` of the database, as naive UTC (one statement).

    Every engine cumulo opens runs its sessions in UTC (``cumulo.db.engine``), so the
    value is UTC on SQLite, MariaDB and PostgreSQL alike; resolution is one second on
    SQLite and MariaDB.
    """
    value: Any = session.execute(select(func.current_timestamp(type_=DateTime()))).scalar_one()
    if isinstance(value, str):  # a driver that hands back the text
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    assert isinstance(value, dt.datetime)
    return value
