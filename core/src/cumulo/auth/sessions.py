"""Server-side login sessions, shared by every management server through the database.

CloudStack 4.1 keeps the session in Tomcat's memory (``HttpSession``), so a client must
stick to one server. cumulo's servers are stateless: a ``login`` writes a row to
``api_session`` and any server answers the next call. What 4.1 keeps, and so do we:

- the client holds a session cookie (``JSESSIONID``) and the ``sessionkey`` from the
  login answer (CSRF protection: a cookie alone, which a browser sends on its own,
  never authenticates; CS41:server/src/com/cloud/api/ApiServlet.java:233-283);
- the session times out after 1800 s without use (``<session-timeout>30``), sliding.

Neither secret is stored: the row's id is the SHA-256 of the cookie value and the
session key is kept as its SHA-256, so reading the table (or a backup of it) does not
let anyone take over a session. Both values have 160+ bits of entropy, so an unsalted
hash is enough.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import ForeignKey, String, delete
from sqlalchemy.orm import Mapped, Session, mapped_column

from cumulo.db.base import Base, IdType, UtcDateTime, utcnow

SESSION_TIMEOUT_SECONDS = 1800
"""Tomcat's ``session-timeout`` of 30 minutes in 4.1's web.xml; ``timeout`` in the login
answer."""

TOUCH_INTERVAL_SECONDS = 60
"""A used session's expiry is pushed back at most once a minute: sliding expiry without
a write on every API call (a session may so end up to a minute early)."""


class ApiSession(Base):
    """One logged-in session.

    :ivar id: SHA-256 (hex) of the cookie value the client holds.
    :ivar session_key_hash: SHA-256 (hex) of the ``sessionkey`` the client sends along.
    :ivar user_id: the user it authenticates; the row goes when the user does.
    :ivar expires: when it stops being valid unless used before.
    """

    __tablename__ = "api_session"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    session_key_hash: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("user.id", ondelete="CASCADE"), index=True
    )
    created: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    last_access: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    # The purge deletes by expiry; the index keeps it from scanning live sessions.
    expires: Mapped[dt.datetime] = mapped_column(UtcDateTime(), index=True)


@dataclass(frozen=True)
class NewSession:
    """What a login hands to the client: never stored in the clear.

    :param cookie: the ``JSESSIONID`` value.
    :param session_key: the ``sessionkey`` of the login answer (base64 of 20 random
        bytes, as 4.1: it may contain ``+ / =``).
    :param expires: when it ends unless used.
    """

    cookie: str
    session_key: str
    expires: dt.datetime


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def create_session(session: Session, user_id: int, now: dt.datetime | None = None) -> NewSession:
    """Open a session for ``user_id`` in the caller's transaction (flushed, not committed).

    :return: the cookie and session key to give the client; only their hashes are stored.
    """
    now = now or utcnow()
    cookie = secrets.token_urlsafe(32)
    # ApiServer.loginUser: Base64 of 20 SecureRandom bytes (CS41 ApiServer.java:811-817).
    session_key = base64.b64encode(secrets.token_bytes(20)).decode("ascii")
    expires = now + dt.timedelta(seconds=SESSION_TIMEOUT_SECONDS)
    session.add(
        ApiSession(
            id=_digest(cookie),
            session_key_hash=_digest(session_key),
            user_id=user_id,
            created=now,
            last_access=now,
            expires=expires,
        )
    )
    session.flush()
    return NewSession(cookie, session_key, expires)


def find_session(
    session: Session, cookie: str | None, now: dt.datetime | None = None
) -> ApiSession | None:
    """The live session the cookie names, or ``None`` (no cookie, unknown, expired).

    An expired session is treated as absent, as Tomcat's ``getSession(false)`` does; the
    purge removes its row later.
    """
    if not cookie:
        return None
    now = now or utcnow()
    row = session.get(ApiSession, _digest(cookie))
    if row is None or row.expires <= now:
        return None
    return row


def session_key_matches(row: ApiSession, session_key: str | None) -> bool:
    """Whether ``session_key`` is the key issued with ``row`` (constant time)."""
    if session_key is None:
        return False
    return hmac.compare_digest(_digest(session_key), row.session_key_hash)


def touch(session: Session, row: ApiSession, now: dt.datetime | None = None) -> None:
    """Record a use of ``row``: push its expiry back (at most once a minute, see
    :data:`TOUCH_INTERVAL_SECONDS`)."""
    now = now or utcnow()
    if now - row.last_access < dt.timedelta(seconds=TOUCH_INTERVAL_SECONDS):
        return
    row.last_access = now
    row.expires = now + dt.timedelta(seconds=SESSION_TIMEOUT_SECONDS)


def invalidate(session: Session, row: ApiSession) -> None:
    """End ``row`` now (logout, wrong session key, a new login); flushed."""
    session.execute(delete(ApiSession).where(ApiSession.id == row.id))
    session.expunge(row)


def end_user_sessions(session: Session, user_id: int) -> int:
    """End every session of a user (disabled, locked, password changed, deleted).

    :return: how many sessions ended.
    """
    result = session.execute(delete(ApiSession).where(ApiSession.user_id == user_id))
    return int(getattr(result, "rowcount", 0) or 0)


def purge_expired(session: Session, now: dt.datetime | None = None) -> int:
    """Delete the rows of sessions that expired before ``now``, in one statement.

    Meant for a periodic background task; the caller commits.

    :return: how many rows were deleted.
    """
    now = now or utcnow()
    result = session.execute(delete(ApiSession).where(ApiSession.expires <= now))
    return int(getattr(result, "rowcount", 0) or 0)
