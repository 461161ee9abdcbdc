"""Leases: one management server at a time runs each singleton background task.

A lease is a row of ``op_lease`` (name, owner msid, expiry on the database clock).
Taking or renewing it is one conditional ``UPDATE`` — "mine, or expired" — whose row
count says who won; the first ever taker inserts the row, and a concurrent insert
loses on the primary key. A holder that dies simply stops renewing, and the lease
passes on once it expires. Every function works inside the caller's transaction; the
caller commits right away so the others see the outcome.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cumulo.jobs.clock import db_now
from cumulo.jobs.models import Lease


def acquire(session: Session, name: str, owner: int, ttl: dt.timedelta) -> bool:
    """Take or renew lease ``name`` for server ``owner`` until now + ``ttl``.

    :return: ``True`` when ``owner`` holds the lease now; ``False`` when another server
        holds an unexpired one.
    """
    now = db_now(session)
    expires = now + ttl
    stmt = (
        update(Lease)
        .where(Lease.name == name, or_(Lease.owner == owner, Lease.expires < now))
        .values(owner=owner, expires=expires)
        .execution_options(synchronize_session=False)
    )
    if int(session.execute(stmt).rowcount) == 1:  # type: ignore[attr-defined]
        return True
    if session.scalar(select(Lease.name).where(Lease.name == name)) is not None:
        return False
    try:
        with session.begin_nested():
            session.execute(insert(Lease).values(name=name, owner=owner, expires=expires))
    except IntegrityError:  # another server inserted it first
        return False
    return True


def release(session: Session, name: str, owner: int) -> None:
    """Give lease ``name`` up if ``owner`` holds it (a clean shutdown), so another
    server may take it at once instead of waiting for it to expire."""
    session.execute(
        update(Lease)
        .where(Lease.name == name, Lease.owner == owner)
        .values(expires=db_now(session) - dt.timedelta(seconds=1))
        .execution_options(synchronize_session=False)
    )
