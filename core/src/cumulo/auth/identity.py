"""Who is calling: a user with its account and domain, loaded in one statement.

Every authenticated request (by API key or by session) needs the same three rows to
decide whether the caller may act at all and to build the :class:`CallContext` every
service checks ownership against.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

from cumulo.accounts.models import Account, AccountState, Domain, User, UserState
from cumulo.sdk.api import CallContext
from cumulo.setup.seed import SYSTEM_USER_ID

__all__ = ["SYSTEM_USER_ID", "Principal", "principal_by_api_key", "principal_by_user_id"]


@dataclass(frozen=True)
class Principal:
    """A user row with its account and domain rows (attached to the caller's session)."""

    user: User
    account: Account
    domain: Domain

    @property
    def enabled(self) -> bool:
        """Both the user and the account are ``enabled`` (what 4.1 requires of an API
        caller; disabled and locked ones are refused)."""
        return (
            self.user.state == UserState.ENABLED.value
            and self.account.state == AccountState.ENABLED.value
        )

    def context(self, session_id: str | None = None) -> CallContext:
        """The call context of this principal.

        :param session_id: the server-side session the call came with, if any.
        """
        return CallContext(
            user_id=self.user.id,
            account_id=self.account.id,
            domain_id=self.domain.id,
            domain_path=self.domain.path,
            account_type=self.account.type,
            user_uuid=self.user.uuid,
            account_uuid=self.account.uuid,
            account_name=self.account.account_name,
            username=self.user.username,
            session_id=session_id,
        )


# Built once at import: every authenticated request runs one of these, and building a
# select() (column coercion, joins) costs more CPU than SQLite takes to run it. The
# compiled form is cached by SQLAlchemy per statement object, the values are bound.
_PRINCIPAL = (
    select(User, Account, Domain)
    .join(Account, User.account_id == Account.id)
    .join(Domain, Account.domain_id == Domain.id)
    .where(User.removed.is_(None), Account.removed.is_(None))
)
_BY_API_KEY = _PRINCIPAL.where(User.api_key == bindparam("api_key"))
_BY_USER_ID = _PRINCIPAL.where(User.id == bindparam("user_id"))


def _principal(
    session: Session, statement: Select[User, Account, Domain], params: dict[str, object]
) -> Principal | None:
    row = session.execute(statement, params).first()
    return None if row is None else Principal(row[0], row[1], row[2])


def principal_by_api_key(session: Session, api_key: str) -> Principal | None:
    """The live (not removed) user holding ``api_key``, or ``None``."""
    if not api_key:
        return None
    return _principal(session, _BY_API_KEY, {"api_key": api_key})


def principal_by_user_id(session: Session, user_id: int) -> Principal | None:
    """The live (not removed) user with internal id ``user_id``, or ``None``."""
    return _principal(session, _BY_USER_ID, {"user_id": user_id})
