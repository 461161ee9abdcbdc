"""``login`` and ``logout`` over the falcon test client, as the 4.1 UI and cloudmonkey
use them: answers (JSON and XML, every value a string), the ``JSESSIONID`` cookie,
failures (531 ``errorresponse`` without cserrorcode), lockout, single sign-on.
Runs on SQLite, and on MariaDB with ``CUMULO_TEST_DB``.
"""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import quote, urlencode

import falcon.testing
import pytest
from sqlalchemy import select

from cumulo.accounts.models import Account, Domain, User
from cumulo.auth import sessions
from cumulo.auth.authenticators import Md5Authenticator
from cumulo.events.models import Event
from cumulo.runtime import Runtime
from cumulo_api import signing
from cumulo_api.auth import SESSION_COOKIE

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _post(api: falcon.testing.TestClient, cookie: str | None = None, **params: str) -> Any:
    """POST a form, as the 4.1 UI does."""
    cookies = {SESSION_COOKIE: cookie} if cookie else None
    return api.simulate_post("/client/api", body=urlencode(params), headers=FORM, cookies=cookies)


def _get(api: falcon.testing.TestClient, cookie: str | None = None, **params: str) -> Any:
    cookies = {SESSION_COOKIE: cookie} if cookie else None
    query = urlencode(params, quote_via=quote)
    return api.simulate_get("/client/api", query_string=query, cookies=cookies)


def _login(api: falcon.testing.TestClient, **params: str) -> Any:
    return _post(api, command="login", response="json", **params)


@pytest.fixture
def sales_user(runtime: Runtime) -> str:
    """``carol`` (password ``carrots``, MD5 as CloudStack stored it) in ``/Sales/``."""
    with runtime.sessions() as session:
        root = session.scalars(select(Domain).where(Domain.path == "/")).one()
        sales = Domain(name="Sales", parent=root.id, path="/Sales/", level=1, owner=0)
        session.add(sales)
        session.flush()
        account = Account(account_name="carol", type=0, domain_id=sales.id)
        session.add(account)
        session.flush()
        session.add(
            User(
                username="carol",
                password=Md5Authenticator().encode("carrots"),
                account_id=account.id,
                firstname="Carol",
                lastname="Sales",
            )
        )
        session.commit()
        return sales.uuid


def test_admin_login_answer_cookie_and_session_use(api: Any, runtime: Runtime) -> None:
    result = _login(api, username="admin", password="password")
    assert result.status_code == 200
    assert result.headers["content-type"].startswith("text/javascript")
    answer = result.json["loginresponse"]
    assert all(isinstance(value, str) for value in answer.values())
    assert answer["timeout"] == "1800" and answer["type"] == "1"
    assert (answer["username"], answer["account"], answer["registered"]) == (
        "admin",
        "admin",
        "false",
    )
    with runtime.sessions() as session:
        admin = session.scalars(select(User).where(User.username == "admin")).one()
        root = session.scalars(select(Domain).where(Domain.path == "/")).one()
        assert (answer["userid"], answer["domainid"]) == (admin.uuid, root.uuid)
    cookie = result.cookies[SESSION_COOKIE]
    assert (cookie.path, cookie.http_only) == ("/client", True)
    # The session works for API calls, with the session key and no signature.
    caps = _get(
        api,
        cookie.value,
        command="listCapabilities",
        response="json",
        sessionkey=answer["sessionkey"],
    )
    assert caps.status_code == 200
    missing = _get(api, cookie.value, command="listCapabilities", response="json")
    assert missing.status_code == 401


def test_xml_answer_and_login_by_get(api: Any) -> None:
    # cloudmonkey POSTs with the parameters in the query string; GET works the same.
    result = api.simulate_post(
        "/client/api",
        query_string=urlencode(
            {"command": "login", "username": "admin", "password": "password", "domain": "/"}
        ),
    )
    assert result.status_code == 200
    assert result.headers["content-type"].startswith("text/xml")
    root = ET.fromstring(result.text)
    assert root.tag == "loginresponse"
    assert root.findtext("timeout") == "1800" and root.findtext("username") == "admin"
    assert _get(api, command="login", username="admin", password="password").status_code == 200


def test_failed_login_is_531_errorresponse_without_cserrorcode(api: Any) -> None:
    result = _login(api, username="admin", password="wrong")
    assert result.status_code == 531
    assert result.json == {
        "errorresponse": {
            "errorcode": 531,
            "errortext": "Failed to authenticate user admin in domain /; please provide valid"
            " credentials",
        }
    }
    assert SESSION_COOKIE not in result.cookies
    assert "X-Description" not in result.headers
    # No username: 4.1 treats the request as an unsigned API call.
    assert _login(api, password="password").status_code == 401


def test_domain_path_and_domainid(api: Any, sales_user: str) -> None:
    for domain in ("/Sales/", "Sales", "/Sales", "Sales/"):
        result = _login(api, username="carol", password="carrots", domain=domain)
        assert result.status_code == 200, domain
        assert result.json["loginresponse"]["domainid"] == sales_user
    assert _login(api, username="carol", password="carrots").status_code == 531  # ROOT
    refused = _login(api, username="admin", password="password", domain="ROOT")
    assert refused.json["errorresponse"]["errortext"] == (
        "Unable to find the domain from the path /ROOT/"
    )
    for name in ("domainid", "domainId"):
        assert (
            _login(api, username="carol", password="carrots", **{name: sales_user}).json[
                "loginresponse"
            ]["account"]
            == "carol"
        )
    bad = _login(api, username="carol", password="carrots", domainid="nope")
    assert bad.status_code == 401


def test_login_replaces_the_previous_session_and_logout_ends_it(api: Any, runtime: Runtime) -> None:
    first = _login(api, username="admin", password="password")
    first_cookie = first.cookies[SESSION_COOKIE].value
    second = _post(
        api, first_cookie, command="login", username="admin", password="password", response="json"
    )
    second_cookie = second.cookies[SESSION_COOKIE].value
    key = second.json["loginresponse"]["sessionkey"]
    assert second_cookie != first_cookie
    with runtime.sessions() as session:
        assert sessions.find_session(session, first_cookie) is None
    out = _get(api, second_cookie, command="logout", response="json")
    assert out.status_code == 200
    assert out.json == {"logoutresponse": {"description": "success"}}
    after = _get(api, second_cookie, command="listCapabilities", response="json", sessionkey=key)
    assert after.status_code == 401
    xml = _get(api, command="logout")  # without a session: still success
    assert ET.fromstring(xml.text).findtext("description") == "success"
    with runtime.sessions() as session:
        types = [e.type for e in session.scalars(select(Event).order_by(Event.id))]
    assert types == ["USER.LOGIN", "USER.LOGIN", "USER.LOGOUT"]


def test_lockout_over_http_and_rehash(api: Any, runtime: Runtime, sales_user: str) -> None:
    for _ in range(5):  # incorrect.login.attempts.allowed defaults to 5
        assert _login(api, username="carol", password="bad", domain="/Sales/").status_code == 531
    refused = _login(api, username="carol", password="carrots", domain="/Sales/")
    assert refused.status_code == 531
    assert "is disabled/locked" in refused.json["errorresponse"]["errortext"]
    with runtime.sessions() as session:
        carol = session.scalars(select(User).where(User.username == "carol")).one()
        assert (carol.state, carol.incorrect_login_attempts) == ("disabled", 5)
        # Still the MD5 of 4.1: a refused login never rewrites the password.
        assert carol.password == Md5Authenticator().encode("carrots")
        carol.state, carol.incorrect_login_attempts = "enabled", 0
        session.commit()
    assert _login(api, username="carol", password="carrots", domain="/Sales/").status_code == 200
    with runtime.sessions() as session:
        carol = session.scalars(select(User).where(User.username == "carol")).one()
        assert carol.password.startswith("pbkdf2_sha256$")


def _sso(params: dict[str, str], key: str) -> dict[str, str]:
    return {**params, "signature": signing.sign(list(params.items()), key)}


def test_single_sign_on(api: Any, runtime: Runtime) -> None:
    with runtime.sessions() as session:
        key = runtime.config_store(session).value("security.singlesignon.key")
    assert key
    now_ms = str(int(time.time() * 1000))
    base = {
        "command": "login",
        "username": "admin",
        "domainid": "1",
        "response": "json",
        "timestamp": now_ms,
    }
    assert _login_sso(api, _sso(base, key)).status_code == 200
    assert _login_sso(api, _sso(base, "another key")).status_code == 531
    stale = {**base, "timestamp": str(int(now_ms) - 10 * 60 * 1000)}  # tolerance 5 min
    assert _login_sso(api, _sso(stale, key)).status_code == 531
    assert _login_sso(api, {**base, "signature": "x"}).status_code == 531


def _login_sso(api: falcon.testing.TestClient, params: dict[str, str]) -> Any:
    return api.simulate_get("/client/api", query_string=urlencode(params, quote_via=quote))
