"""Who sent this request: a login session, or an API key with a valid signature.

The order is 4.1's (CS41:server/src/com/cloud/api/ApiServlet.java ``processRequest`` and
CS41:server/src/com/cloud/api/ApiServer.java ``verifyRequest``; api-reference.md §a, §b):

*Session case* — the request carries the ``JSESSIONID`` cookie of a live session:

1. ``sessionkey`` must be the session's key (constant time), else the session is
   invalidated and the answer is 401 — even if the request is also correctly signed:
   the cookie alone, which a browser sends by itself, must never authenticate (CSRF);
2. the user and the account must still be enabled (else invalidated, 401);
3. the command must be open to the caller's role, else 432. No signature is checked.

*Signature case* — no live session (an unknown or expired cookie counts as none):

1. an unknown command is 432 (the dispatcher answers it before calling us);
2. ``signature`` or ``apiKey`` missing: 401;
3. ``signatureVersion=3``: ``expires`` missing, unreadable or past: 401;
4. the API key's user, and their account, must exist and be enabled: else 401;
5. role check: 432 — *before* the signature, as 4.1 does, so a forbidden command is
   432 whatever the signature;
6. the signature (:mod:`cumulo_api.signing`): else 401.

Every 401 of the signature case says exactly "unable to verify user credentials and/or
request signature"; the session case says "unable to verify user credentials", as the
servlet does. ``login`` and ``logout`` are answered here too (the servlet's own
commands in 4.1); their rules live in :mod:`cumulo.auth.login`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from cumulo.auth import sessions
from cumulo.auth.callers import Caller, caller_by_api_key, caller_by_user_id
from cumulo.auth.keys import reveal_stored_secret
from cumulo.auth.login import LoginAttempt, login_user, logout_user
from cumulo.db.base import utcnow
from cumulo.runtime import Runtime
from cumulo.sdk.api import CallContext, Command, RawResult
from cumulo.sdk.errors import AuthenticationFailed, UnsupportedAction
from cumulo_api import signing

SESSION_COOKIE = "JSESSIONID"
"""Tomcat's session cookie name, which the 4.1 UI and cloudmonkey carry along."""

SESSION_FAILED = "unable to verify user credentials"
UNSUPPORTED = "The given command does not exist or it is not available for user"
SSO_KEY = "security.singlesignon.key"
SSO_TOLERANCE_KEY = "security.singlesignon.tolerance.millis"


@dataclass(frozen=True)
class ApiRequest:
    """What authentication needs from an HTTP request.

    :param params: the received ``(name, value)`` pairs, names as received, values
        decoded, in order (query string, then form body).
    :param cookies: the request's cookies by name.
    :param remote_addr: the client's address (events).
    """

    params: Sequence[tuple[str, str]]
    cookies: Mapping[str, str]
    remote_addr: str = ""

    def first(self, name: str) -> str | None:
        """The first value of the parameter named exactly ``name``."""
        for key, value in self.params:
            if key == name:
                return value
        return None


@dataclass(frozen=True)
class LoginOutcome:
    """A successful login: the ``loginresponse`` fields and the new session's cookie
    value (the dispatcher sets ``JSESSIONID`` with ``Path=/client``)."""

    result: RawResult
    session_id: str


def authenticate(
    db: Session, request: ApiRequest, command: Command | None, runtime: Runtime
) -> CallContext:
    """Establish the caller of ``command`` (see the module docstring for the order).

    Runs in the request's transaction. An invalidated session is deleted in it; the
    caller commits that even though this raises.

    :param command: the declared command; ``None`` for an unknown name (432).
    :raises AuthenticationFailed: 401.
    :raises UnsupportedAction: 432, unknown command or not open to the caller's role.
    """
    now = utcnow()
    row = sessions.find_session(db, request.cookies.get(SESSION_COOKIE), now)
    if row is not None:
        return _session_caller(db, request, command, row, now)
    if command is None:
        raise UnsupportedAction(UNSUPPORTED)
    params = request.params
    signature = signing.lookup(params, "signature")
    api_key = signing.lookup(params, "apikey")
    if not signature or not api_key:
        raise AuthenticationFailed()
    if not signing.expiry_ok(params, now.replace(tzinfo=dt.UTC)):
        raise AuthenticationFailed()
    caller = caller_by_api_key(db, api_key)
    if caller is None or not caller.enabled:
        raise AuthenticationFailed()
    ctx = caller.context()
    _check_role(ctx, command)
    secret = reveal_stored_secret(caller.secret_key, runtime.database_key, runtime.algorithm)
    if not secret or not signing.signature_matches(params, secret, signature):
        raise AuthenticationFailed()
    return ctx


def _session_caller(
    db: Session,
    request: ApiRequest,
    command: Command | None,
    row: sessions.ApiSession,
    now: dt.datetime,
) -> CallContext:
    if not sessions.session_key_matches(row, request.first("sessionkey")):
        sessions.invalidate(db, row)
        raise AuthenticationFailed(SESSION_FAILED)
    caller: Caller | None = caller_by_user_id(db, row.user_id)
    if caller is None or not caller.enabled:
        # Disabled, locked or removed since the login: the session ends with it.
        sessions.invalidate(db, row)
        raise AuthenticationFailed(SESSION_FAILED)
    ctx = caller.context(session_id=row.id)
    _check_role(ctx, command)
    sessions.touch(db, row, now)
    return ctx


def _check_role(ctx: CallContext, command: Command | None) -> None:
    """4.1's ``checkCommandAvailable``: the command's bitmask must contain the caller's
    role bit (account types without a role, 4 and 5, get no command at all)."""
    if command is None or not command.roles & ctx.role:
        raise UnsupportedAction(UNSUPPORTED)


def login(db: Session, request: ApiRequest, runtime: Runtime) -> LoginOutcome:
    """Answer ``login``: any session the request came with ends, a new one opens.

    Parameters as 4.1 reads them (exact names): ``username``, ``password``, ``domainid``
    (else ``domainId``; a UUID or an internal number), ``domain`` (a path). Without
    ``password`` the request is a single sign-on: ``timestamp`` (ms) and a
    ``signature`` over the other parameters keyed with ``security.singlesignon.key``.

    :raises AuthenticationFailed: no ``username`` (4.1 then treats the request as an
        unsigned API call: 401), or a ``domainid`` that is not an id.
    :raises cumulo.sdk.errors.LoginFailed: 531 (wrong credentials, disabled user, ...);
        the caller commits the transaction anyway: the failed attempt was counted in it.
    """
    username = request.first("username")
    if username is None:
        raise AuthenticationFailed()
    previous = sessions.find_session(db, request.cookies.get(SESSION_COOKIE))
    if previous is not None:
        sessions.invalidate(db, previous)
    password = request.first("password")
    domain_id = request.first("domainid")
    if domain_id is None:
        domain_id = request.first("domainId")
    store = runtime.config_store(db)
    sso_verified = False
    if password is None:
        sso = store.values([SSO_KEY, SSO_TOLERANCE_KEY])
        tolerance = sso[SSO_TOLERANCE_KEY]
        sso_verified = _single_sign_on_ok(
            request, sso[SSO_KEY], int(tolerance) if tolerance is not None else None
        )
    attempt = LoginAttempt(
        username=username,
        password=password,
        domain_path=request.first("domain"),
        domain_id=domain_id,
        remote_addr=request.remote_addr,
        sso_verified=sso_verified,
    )
    success = login_user(db, store, attempt)
    return LoginOutcome(RawResult(dict(success.response_fields())), success.session.cookie)


def _single_sign_on_ok(request: ApiRequest, key: str | None, tolerance_ms: int | None) -> bool:
    """4.1's single sign-on check (``AccountManagerImpl.authenticateUser`` without a
    password): ``timestamp`` within the tolerance of now, and ``signature`` over every
    other parameter, keyed with the SSO key. No key or no tolerance: refused."""
    if not key or tolerance_ms is None:
        return False
    signature = signing.lookup(request.params, "signature")
    timestamp = signing.lookup(request.params, "timestamp")
    if not signature or timestamp is None or not timestamp.strip().lstrip("-").isdigit():
        return False
    now_ms = int(utcnow().replace(tzinfo=dt.UTC).timestamp() * 1000)
    if abs(now_ms - int(timestamp)) > tolerance_ms:
        return False
    return signing.signature_matches(request.params, key, signature)


def logout(db: Session, request: ApiRequest) -> RawResult:
    """Answer ``logout``: the request's session (if any) ends and ``USER.LOGOUT`` is
    recorded. Always ``{"description": "success"}``, as 4.1 answers."""
    row = sessions.find_session(db, request.cookies.get(SESSION_COOKIE))
    if row is not None:
        logout_user(db, row)
    return RawResult({"description": "success"})
