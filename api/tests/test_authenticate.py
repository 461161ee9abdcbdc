"""cumulo_api.auth.authenticate over the falcon test client: 4.1's order of checks.

Signature case: missing credentials, unknown key, disabled user or account → 401; the
role check (432) comes before the signature check, so a forbidden command is 432 even
with a forged signature. Session case: the cookie needs its ``sessionkey`` (else 401 and
the session is gone, even when the request is also correctly signed), roles still apply.
Runs on SQLite, and on MariaDB with ``CUMULO_TEST_DB``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import quote, urlencode

import falcon.testing
import pluggy
import pytest
from sqlalchemy import event, func, select, update

from cumulo import hookimpl
from cumulo.accounts.models import Account, Domain, User
from cumulo.auth import sessions
from cumulo.auth.authenticators import Md5Authenticator
from cumulo.auth.keys import register_user_keys
from cumulo.runtime import Runtime
from cumulo.sdk.api import ALL_ROLES, Call, Command, ObjectResult, Role
from cumulo_api import signing
from cumulo_api.auth import SESSION_COOKIE

UNABLE = "unable to verify user credentials and/or request signature"
UNSUPPORTED = "The given command does not exist or it is not available for user"


def _who(call: Call) -> ObjectResult:
    return ObjectResult(
        "caller", {"username": call.ctx.username, "session": call.ctx.session_id is not None}
    )


class AuthTestCommands:
    """``whoAmI`` for every role, ``adminOnly`` for root admins (bitmask 1)."""

    @hookimpl
    def cumulo_api_commands(self) -> list[Command]:
        return [
            Command("whoAmI", _who, roles=ALL_ROLES),
            Command("adminOnly", _who, roles=Role.ADMIN),
        ]


@pytest.fixture
def plugin_manager(plugin_manager: pluggy.PluginManager) -> pluggy.PluginManager:
    plugin_manager.register(AuthTestCommands(), name="auth-test-commands")
    return plugin_manager


def _caller(runtime: Runtime, name: str, account_type: int, **state: str) -> tuple[str, str]:
    """A user in an account of its own (in ROOT) with API keys; ``state`` may set
    ``user`` and ``account`` states."""
    with runtime.sessions() as session:
        root = session.scalars(select(Domain).where(Domain.path == "/")).one()
        account = Account(
            account_name=name,
            type=account_type,
            domain_id=root.id,
            state=state.get("account", "enabled"),
        )
        session.add(account)
        session.flush()
        user = User(
            username=name,
            password="!",
            account_id=account.id,
            state=state.get("user", "enabled"),
        )
        session.add(user)
        session.flush()
        keys = register_user_keys(session, user, runtime.database_key, runtime.algorithm)
        session.commit()
    return keys


def _signed(keys: tuple[str, str], command: str, **params: str) -> dict[str, str]:
    wire = {"command": command, "response": "json", "apiKey": keys[0], **params}
    wire["signature"] = signing.sign(list(wire.items()), keys[1])
    return wire


def _get(
    api: falcon.testing.TestClient, params: dict[str, str], cookie: str | None = None
) -> falcon.testing.Result:
    cookies = {SESSION_COOKIE: cookie} if cookie else None
    return api.simulate_get(
        "/client/api", query_string=urlencode(params, quote_via=quote), cookies=cookies
    )


def _error(result: falcon.testing.Result) -> tuple[int, str]:
    [body] = result.json.values()
    return result.status_code, body["errortext"]


def _login(api: falcon.testing.TestClient, username: str, password: str) -> tuple[str, str]:
    result = api.simulate_post(
        "/client/api",
        body=urlencode(
            {"command": "login", "username": username, "password": password, "response": "json"}
        ),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert result.status_code == 200, result.text
    return result.cookies[SESSION_COOKIE].value, result.json["loginresponse"]["sessionkey"]


# ---- signature case ----------------------------------------------------------------------


def test_signed_caller_reaches_the_handler(api: Any, admin_keys: tuple[str, str]) -> None:
    result = _get(api, _signed(admin_keys, "whoAmI"))
    assert result.status_code == 200
    assert result.json == {"whoamiresponse": {"caller": {"username": "admin", "session": False}}}


def test_role_denial_is_432_before_the_signature_is_checked(
    api: Any, runtime: Runtime, admin_keys: tuple[str, str]
) -> None:
    user_keys = _caller(runtime, "ursula", 0)
    assert _get(api, _signed(user_keys, "whoAmI")).status_code == 200
    assert _error(_get(api, _signed(user_keys, "adminOnly"))) == (432, UNSUPPORTED)
    forged = {**_signed(user_keys, "adminOnly"), "signature": "Zm9yZ2Vk"}
    assert _error(_get(api, forged)) == (432, UNSUPPORTED)  # 4.1: role before signature
    assert _get(api, forged).json["errorresponse"]["errorcode"] == 432
    # A root admin with a forged signature gets 401: the role passes, the signature not.
    forged_admin = {**_signed(admin_keys, "adminOnly"), "signature": "Zm9yZ2Vk"}
    assert _error(_get(api, forged_admin)) == (401, UNABLE)
    assert _get(api, _signed(admin_keys, "adminOnly")).status_code == 200


@pytest.mark.parametrize(
    ("account_type", "allowed"), [(1, True), (2, False), (3, False), (0, False), (4, False)]
)
def test_role_bits_by_account_type(
    api: Any, runtime: Runtime, account_type: int, allowed: bool
) -> None:
    keys = _caller(runtime, f"type{account_type}", account_type)
    status = _get(api, _signed(keys, "adminOnly")).status_code
    assert status == (200 if allowed else 432)
    # Types without a role (4 read-only admin, 5 project) get no command at all.
    everyone = _get(api, _signed(keys, "whoAmI")).status_code
    assert everyone == (432 if account_type == 4 else 200)


def test_unknown_key_and_disabled_or_locked_callers_get_401(
    api: Any, runtime: Runtime, admin_keys: tuple[str, str]
) -> None:
    assert _error(_get(api, _signed(("no-such-key", admin_keys[1]), "whoAmI"))) == (401, UNABLE)
    for name, state in [
        ("du", {"user": "disabled"}),
        ("lu", {"user": "locked"}),
        ("da", {"account": "disabled"}),
        ("la", {"account": "locked"}),
    ]:
        keys = _caller(runtime, name, 0, **state)
        assert _error(_get(api, _signed(keys, "whoAmI"))) == (401, UNABLE), name
    # Unknown command: 432 before any credential is looked at.
    unknown = {"command": "noSuchCommand", "response": "json"}
    assert _get(api, unknown).json == {
        "errorresponse": {"errorcode": 432, "cserrorcode": 9999, "errortext": UNSUPPORTED}
    }


def test_signature_path_costs_a_constant_number_of_statements(
    api: Any, runtime: Runtime, admin_keys: tuple[str, str]
) -> None:
    seen: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    params = _signed(admin_keys, "whoAmI")
    event.listen(runtime.engine, "before_cursor_execute", count)
    try:
        assert _get(api, params).status_code == 200
        first = len(seen)
        for index in range(5):
            _caller(runtime, f"filler{index}", 0)
        seen.clear()
        assert _get(api, params).status_code == 200
    finally:
        event.remove(runtime.engine, "before_cursor_execute", count)
    # Looking up the caller is one statement (user, account and domain joined).
    assert len(seen) == first
    assert sum("api_key" in statement for statement in seen) == 1


# ---- session case ------------------------------------------------------------------------


def test_session_needs_its_sessionkey_even_with_a_valid_signature(
    api: Any, runtime: Runtime, admin_keys: tuple[str, str]
) -> None:
    cookie, key = _login(api, "admin", "password")
    ok = _get(api, {"command": "whoAmI", "response": "json", "sessionkey": key}, cookie)
    assert ok.json == {"whoamiresponse": {"caller": {"username": "admin", "session": True}}}
    # The cookie without the key: 401, and the session is invalidated...
    signed = _signed(admin_keys, "whoAmI")
    assert _error(_get(api, signed, cookie)) == (401, "unable to verify user credentials")
    # ...so the right key no longer helps, and the cookie now counts as no session:
    after = _get(api, {"command": "whoAmI", "response": "json", "sessionkey": key}, cookie)
    assert _error(after) == (401, UNABLE)
    assert _get(api, signed, cookie).status_code == 200  # signature case again


def test_wrong_sessionkey_invalidates_the_session(api: Any, runtime: Runtime) -> None:
    cookie, key = _login(api, "admin", "password")
    wrong = _get(api, {"command": "whoAmI", "response": "json", "sessionkey": key + "x"}, cookie)
    assert _error(wrong) == (401, "unable to verify user credentials")
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(sessions.ApiSession)) == 0


def test_session_role_check_and_disabled_user(api: Any, runtime: Runtime) -> None:
    _caller(runtime, "sam", 0)
    with runtime.sessions() as session:
        sam = session.scalars(select(User).where(User.username == "sam")).one()
        sam.password = Md5Authenticator().encode("pw")
        session.commit()
    cookie, key = _login(api, "sam", "pw")
    base = {"response": "json", "sessionkey": key}
    assert _error(_get(api, {**base, "command": "adminOnly"}, cookie)) == (432, UNSUPPORTED)
    assert _get(api, {**base, "command": "whoAmI"}, cookie).status_code == 200
    with runtime.sessions() as session:
        session.execute(update(User).where(User.username == "sam").values(state="disabled"))
        session.commit()
    result = _get(api, {**base, "command": "whoAmI"}, cookie)
    assert _error(result) == (401, "unable to verify user credentials")


def test_expired_session_counts_as_none_and_use_slides_it(api: Any, runtime: Runtime) -> None:
    cookie, key = _login(api, "admin", "password")
    with runtime.sessions() as session:
        row = session.scalars(select(sessions.ApiSession)).one()
        # As if last used two minutes ago (MariaDB keeps whole seconds only).
        row.last_access = row.last_access - dt.timedelta(seconds=120)
        row.expires = before = row.expires - dt.timedelta(seconds=120)
        session.commit()
    assert _get(api, {"command": "whoAmI", "response": "json", "sessionkey": key}, cookie)
    with runtime.sessions() as session:
        row = session.scalars(select(sessions.ApiSession)).one()
        assert row.expires > before  # used: pushed back
        row.expires = dt.datetime(2000, 1, 1)
        session.commit()
    expired = _get(api, {"command": "whoAmI", "response": "json", "sessionkey": key}, cookie)
    assert _error(expired) == (401, UNABLE)  # no session: signature case, no signature
