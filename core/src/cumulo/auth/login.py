"""``login``: who may open a session, and what a failed attempt costs the user.

The rules of CloudStack 4.1 (CS41:server/src/com/cloud/api/ApiServer.java ``loginUser``
and CS41:server/src/com/cloud/user/AccountManagerImpl.java ``authenticateUser`` /
``getUserAccount``):

- the user is looked up by name in one domain: ``domainid`` (UUID or internal number),
  else the ``domain`` path (``/`` is ROOT, ``/Sales/EMEA/`` a child), else ROOT;
- the password goes through the authenticator chain (:mod:`cumulo.auth.passwords`); a
  user or account that is not ``enabled`` cannot log in even with the right password;
  the ``system`` user never logs in;
- every wrong password of an enabled user counts; at ``incorrect.login.attempts.allowed``
  the user is disabled. Root-admin accounts are exempt, as in 4.1 (``isInternalAccount``):
  otherwise anyone could lock the operator out by guessing. A success resets the count;
- a success records ``USER.LOGIN`` and opens a session (:mod:`cumulo.auth.sessions`).

A failed attempt's bookkeeping (the counter, disabling the user, the event) must outlive
the refused request: the caller commits the transaction even when :class:`LoginFailed`
is raised (the API dispatcher does so for every authentication error). Nothing else
has been written by then: a password is re-encoded only once the login succeeds.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
import zoneinfo
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from cumulo import events
from cumulo.accounts.models import Account, AccountType, Domain, User, UserState
from cumulo.auth import sessions
from cumulo.auth.identity import SYSTEM_USER_ID, Principal
from cumulo.auth.passwords import (
    PasswordChains,
    burn_password_check,
    check_password,
    configured_chains,
    upgrade_password,
)
from cumulo.config import ConfigStore
from cumulo.db.base import utcnow
from cumulo.sdk.errors import AuthenticationFailed, LoginFailed

ATTEMPTS_KEY = "incorrect.login.attempts.allowed"
DEFAULT_ATTEMPTS_ALLOWED = 5
USER_LOGIN, USER_LOGOUT = "USER.LOGIN", "USER.LOGOUT"

# The regex 4.1's ApiDispatcher uses for UUIDs (lower case only).
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_INVALID_DOMAIN_ID = "Invalid domain id entered, please enter a valid one"


@dataclass(frozen=True)
class LoginAttempt:
    """The credentials of one ``login`` call, as the API parsed them.

    :param username: the ``username`` parameter.
    :param password: the ``password`` parameter; ``None`` means single sign-on, which
        the API layer has verified already (``sso_verified``).
    :param domain_path: the ``domain`` parameter as sent (normalised here).
    :param domain_id: ``domainid``/``domainId`` as sent: a UUID or an internal number.
    :param remote_addr: the client's address, for the event.
    :param sso_verified: the request carried a valid single sign-on signature.
    """

    username: str
    password: str | None
    domain_path: str | None = None
    domain_id: str | None = None
    remote_addr: str = ""
    sso_verified: bool = False


@dataclass(frozen=True)
class LoginSuccess:
    """A logged-in user and the session opened for them."""

    principal: Principal
    session: sessions.NewSession

    def response_fields(self, now: dt.datetime | None = None) -> dict[str, str]:
        """The ``loginresponse`` fields, every value a string as 4.1 writes them
        (``ApiServlet.getLoginSuccessResponse``); absent values are left out."""
        user, account, domain = self.principal.user, self.principal.account, self.principal.domain
        fields: dict[str, str | None] = {
            "timeout": str(sessions.SESSION_TIMEOUT_SECONDS),
            "sessionkey": self.session.session_key,
            "username": user.username,
            "userid": user.uuid,
            "domainid": domain.uuid,
            "type": str(account.type),
            "account": account.account_name,
            "firstname": user.firstname,
            "lastname": user.lastname,
            "registered": "true" if user.is_registered else "false",
        }
        if user.timezone:
            fields["timezone"] = user.timezone
            fields["timezoneoffset"] = timezone_offset(user.timezone, now)
        fields["registrationtoken"] = user.registration_token
        return {name: value for name, value in fields.items() if value is not None}


def normalise_domain_path(path: str) -> str:
    """4.1's rule: add a leading and a trailing ``/`` if missing (``ROOT`` → ``/ROOT/``,
    which is not ROOT's path, ``/``)."""
    if not path.endswith("/"):
        path += "/"
    if not path.startswith("/"):
        path = "/" + path
    return path


def timezone_offset(name: str, now: dt.datetime | None = None) -> str:
    """Hours from UTC of zone ``name`` at ``now``, as Java's ``Float.toString`` writes
    them (``"5.5"``, ``"-7.0"``); an unknown zone is UTC, as Java's ``TimeZone`` makes it."""
    moment = (now or utcnow()).replace(tzinfo=dt.UTC)
    try:
        offset = moment.astimezone(zoneinfo.ZoneInfo(name)).utcoffset()
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        offset = None
    hours = offset.total_seconds() / 3600 if offset is not None else 0.0
    return repr(float(hours))


def resolve_domain(session: Session, attempt: LoginAttempt) -> Domain | None:
    """The domain to log in to, or ``None`` when it does not exist.

    :raises AuthenticationFailed: ``domainid`` is neither a known UUID nor a number
        (401, as ``ApiServlet`` answers it).
    """
    if attempt.domain_id:
        raw = attempt.domain_id.strip()
        live = Domain.removed.is_(None)
        if _UUID.match(raw):
            found = session.scalar(select(Domain).where(Domain.uuid == raw, live))
            if found is None:
                raise AuthenticationFailed(_INVALID_DOMAIN_ID)
            return found
        if not raw.isdigit():
            raise AuthenticationFailed(_INVALID_DOMAIN_ID)
        return session.scalar(select(Domain).where(Domain.id == int(raw), live))
    path = "/"
    if attempt.domain_path is not None and attempt.domain_path.strip():
        path = normalise_domain_path(attempt.domain_path)
    return session.scalar(select(Domain).where(Domain.path == path, Domain.removed.is_(None)))


def _find_user(session: Session, username: str, domain_id: int) -> Principal | None:
    row = session.execute(
        select(User, Account, Domain)
        .join(Account, User.account_id == Account.id)
        .join(Domain, Account.domain_id == Domain.id)
        .where(
            User.username == username,
            Account.domain_id == domain_id,
            User.removed.is_(None),
            Account.removed.is_(None),
        )
    ).first()
    return None if row is None else Principal(row[0], row[1], row[2])


def login_user(
    session: Session,
    store: ConfigStore,
    attempt: LoginAttempt,
    *,
    chains: PasswordChains | None = None,
    now: dt.datetime | None = None,
) -> LoginSuccess:
    """Authenticate ``attempt`` and open a session, in the caller's transaction.

    :param store: configuration values (authenticator order, attempts allowed).
    :param chains: the password chains; default: as configured in ``store``.
    :raises LoginFailed: unknown domain or user, wrong password, disabled or locked
        user or account, the system user (531). For a wrong password of an existing
        user the attempt has been counted in the transaction, which the caller must
        commit nevertheless (see the module docstring).
    :raises AuthenticationFailed: a ``domainid`` that is not an id (401).
    """
    now = now or utcnow()
    chains = chains or configured_chains(store)
    domain = resolve_domain(session, attempt)
    if domain is None:
        where = attempt.domain_id or normalise_domain_path(attempt.domain_path or "/")
        if not attempt.domain_id:
            raise LoginFailed(f"Unable to find the domain from the path {where}")
        burn_password_check(chains, attempt.password or "")
        raise LoginFailed(_failed_text(attempt.username, where))
    principal = _find_user(session, attempt.username, domain.id)
    where = domain.path
    if principal is None or principal.user.id == SYSTEM_USER_ID:
        burn_password_check(chains, attempt.password or "")
        raise LoginFailed(_failed_text(attempt.username, where))
    winner = None
    if attempt.password:  # an empty password never matches, even an empty stored one
        winner = check_password(chains, principal.user, attempt.password)
    if winner is None and not (attempt.password is None and attempt.sso_verified):
        if attempt.password is not None:
            _count_failure(session, store, principal, attempt)
        raise LoginFailed(_failed_text(attempt.username, where))
    if not principal.enabled:
        raise LoginFailed(
            f"User {attempt.username} in domain {domain.name} is disabled/locked"
            " (or account is disabled/locked)"
        )
    if winner is not None and attempt.password:
        upgrade_password(chains, principal.user, attempt.password, winner)
    if principal.user.incorrect_login_attempts:
        principal.user.incorrect_login_attempts = 0
    opened = sessions.create_session(session, principal.user.id, now)
    events.record(
        session,
        USER_LOGIN,
        _from_address("user has logged in", attempt.remote_addr),
        account_id=principal.account.id,
        user_id=principal.user.id,
        domain_id=principal.domain.id,
    )
    return LoginSuccess(principal, opened)


def logout_user(session: Session, row: sessions.ApiSession) -> None:
    """End the session ``row`` and record ``USER.LOGOUT`` for its user."""
    principal_user = session.get(User, row.user_id)
    sessions.invalidate(session, row)
    if principal_user is None:
        return
    account = session.get(Account, principal_user.account_id)
    events.record(
        session,
        USER_LOGOUT,
        "user has logged out",
        account_id=principal_user.account_id,
        user_id=principal_user.id,
        domain_id=account.domain_id if account is not None else None,
    )


def _failed_text(username: str, where: str) -> str:
    return (
        f"Failed to authenticate user {username} in domain {where};"
        " please provide valid credentials"
    )


def _from_address(text: str, remote_addr: str) -> str:
    try:
        ipaddress.ip_address(remote_addr)
    except ValueError:
        return f"{text}. The IP Address cannot be determined"
    return f"{text} from IP Address {remote_addr}"


def _count_failure(
    session: Session, store: ConfigStore, principal: Principal, attempt: LoginAttempt
) -> None:
    """One more wrong password: count it, disable the user at the limit, record it.

    The counter moves by one atomic UPDATE, so concurrent wrong guesses on several
    servers cannot lose counts.
    """
    user, account = principal.user, principal.account
    description = _from_address("user failed to log in", attempt.remote_addr)
    counted = user.state == UserState.ENABLED.value and account.type != AccountType.ADMIN
    if counted:
        session.execute(
            update(User)
            .where(User.id == user.id)
            .values(incorrect_login_attempts=User.incorrect_login_attempts + 1)
        )
        attempts = session.scalar(select(User.incorrect_login_attempts).where(User.id == user.id))
        allowed = store.integer(ATTEMPTS_KEY) or DEFAULT_ATTEMPTS_ALLOWED
        if attempts is not None and attempts >= allowed:
            session.execute(
                update(User)
                .where(User.id == user.id, User.state == UserState.ENABLED.value)
                .values(state=UserState.DISABLED.value)
            )
            sessions.end_user_sessions(session, user.id)
            description += f"; disabled after {attempts} failed login attempts"
    events.record(
        session,
        USER_LOGIN,
        description,
        level="ERROR",
        account_id=account.id,
        user_id=user.id,
        domain_id=principal.domain.id,
    )
