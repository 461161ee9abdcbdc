"""The caller of an API request, read as plain values in one statement.

:mod:`cumulo.auth.identity` loads the same user, account and domain as ORM objects, for
code that changes them (login counts failures on the user row). Authenticating a
request only reads a dozen columns, and it is the one statement every request runs:
loading three ORM objects costs about four times the CPU of these Core rows, and
building the ``select()`` anew each time as much again. So the statements are built
once, at import, with bound parameters, and the rows become a small frozen value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

from cumulo.accounts.models import Account, AccountState, Domain, User, UserState
from cumulo.sdk.api import CallContext

_USER, _ACCOUNT, _DOMAIN = User.__table__, Account.__table__, Domain.__table__

_CALLER = (
    select(
        _USER.c.id.label("user_id"),
        _USER.c.uuid.label("user_uuid"),
        _USER.c.username,
        _USER.c.state.label("user_state"),
        _USER.c.secret_key,
        _ACCOUNT.c.id.label("account_id"),
        _ACCOUNT.c.uuid.label("account_uuid"),
        _ACCOUNT.c.account_name,
        _ACCOUNT.c.type.label("account_type"),
        _ACCOUNT.c.state.label("account_state"),
        _DOMAIN.c.id.label("domain_id"),
        _DOMAIN.c.path.label("domain_path"),
    )
    .join(_ACCOUNT, _USER.c.account_id == _ACCOUNT.c.id)
    .join(_DOMAIN, _ACCOUNT.c.domain_id == _DOMAIN.c.id)
    # Removed users and users of removed accounts are nobody (4.1 joins on live rows).
    .where(_USER.c.removed.is_(None), _ACCOUNT.c.removed.is_(None))
)
_BY_API_KEY = _CALLER.where(_USER.c.api_key == bindparam("api_key"))
_BY_USER_ID = _CALLER.where(_USER.c.id == bindparam("user_id"))


@dataclass(frozen=True, slots=True)
class Caller:
    """A live user with what authentication and the call context need of its account
    and domain.

    :ivar secret_key: the API secret key as stored (``ENC(...)`` or plain); reveal it
        with :func:`cumulo.auth.keys.reveal_stored_secret`. Kept out of ``repr``.
    """

    user_id: int
    user_uuid: str
    username: str
    user_state: str
    account_id: int
    account_uuid: str
    account_name: str
    account_type: int
    account_state: str
    domain_id: int
    domain_path: str
    secret_key: str | None = field(default=None, repr=False)

    @property
    def enabled(self) -> bool:
        """Both the user and the account are ``enabled`` (what 4.1 requires of an API
        caller; disabled and locked ones are refused)."""
        return (
            self.user_state == UserState.ENABLED.value
            and self.account_state == AccountState.ENABLED.value
        )

    def context(self, session_id: str | None = None) -> CallContext:
        """The call context of this caller.

        :param session_id: the server-side session the call came with, if any.
        """
        return CallContext(
            user_id=self.user_id,
            account_id=self.account_id,
            domain_id=self.domain_id,
            domain_path=self.domain_path,
            account_type=self.account_type,
            user_uuid=self.user_uuid,
            account_uuid=self.account_uuid,
            account_name=self.account_name,
            username=self.username,
            session_id=session_id,
        )


def _caller(session: Session, statement: Select[Any], params: dict[str, object]) -> Caller | None:
    # A Core statement: run on the session's connection, without ORM bookkeeping.
    row = session.connection().execute(statement, params).first()
    return None if row is None else Caller(**row._mapping)


def caller_by_api_key(session: Session, api_key: str) -> Caller | None:
    """The live (not removed) user holding ``api_key``, or ``None``; one statement."""
    if not api_key:
        return None
    return _caller(session, _BY_API_KEY, {"api_key": api_key})


def caller_by_user_id(session: Session, user_id: int) -> Caller | None:
    """The live (not removed) user with internal id ``user_id``, or ``None``; one
    statement."""
    return _caller(session, _BY_USER_ID, {"user_id": user_id})
