"""``login``/``logout`` and session requests through the dispatcher: the cookie it sets,
the envelopes, and the transactions it commits even when authentication refuses."""

from __future__ import annotations

import json
from typing import Any

import falcon.testing
import pytest
from api_test_commands import make_caller
from sqlalchemy import select

from cumulo.accounts.models import User
from cumulo.runtime import Runtime
from cumulo.setup.passwords import encode_md5


def _login(
    api: falcon.testing.TestClient, password: str = "password", username: str = "admin"
) -> Any:
    return api.simulate_post(
        "/client/api",
        body=f"command=login&username={username}&password={password}&domain=%2F&response=json",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )


@pytest.fixture
def session(api: falcon.testing.TestClient) -> tuple[str, str]:
    """``(JSESSIONID, sessionkey)`` of a fresh admin login."""
    result = _login(api)
    assert result.status_code == 200, result.text
    return result.cookies["JSESSIONID"].value, result.json["loginresponse"]["sessionkey"]


def test_login_sets_the_session_cookie_on_client(api: falcon.testing.TestClient) -> None:
    result = _login(api)
    assert result.status_code == 200
    assert result.headers["content-type"] == "text/javascript; charset=UTF-8"
    cookie = result.cookies["JSESSIONID"]
    assert cookie.path == "/client"
    assert cookie.http_only
    assert not cookie.secure
    answer = result.json["loginresponse"]
    assert answer["username"] == "admin"
    assert answer["sessionkey"]
    assert all(isinstance(value, str) for value in answer.values())


def test_login_is_case_insensitive_and_answers_xml_by_default(
    api: falcon.testing.TestClient,
) -> None:
    result = api.simulate_get(
        "/client/api", query_string="command=LOGIN&username=admin&password=password"
    )
    assert result.status_code == 200
    assert result.headers["content-type"] == "text/xml; charset=UTF-8"
    assert b'<loginresponse cloud-stack-version="4.1.0">' in result.content


def test_failed_login_is_531_errorresponse_and_is_counted(
    api: falcon.testing.TestClient, runtime: Runtime
) -> None:
    make_caller(runtime, "bob", 0)
    with runtime.sessions() as db:
        bob = db.scalars(select(User).where(User.username == "bob")).one()
        bob.password = encode_md5("secret")
        db.commit()
    assert _login(api, password="secret", username="bob").status_code == 200
    result = _login(api, password="wrong", username="bob")
    assert result.status_code == 531
    body = result.json
    assert list(body) == ["errorresponse"]
    assert body["errorresponse"]["errorcode"] == 531
    assert "cserrorcode" not in body["errorresponse"]
    assert "x-description" not in result.headers
    with runtime.sessions() as db:
        attempts = db.scalar(select(User.incorrect_login_attempts).where(User.username == "bob"))
    assert attempts == 1  # committed although the login was refused


def test_session_requests_need_the_session_key(
    api: falcon.testing.TestClient, session: tuple[str, str]
) -> None:
    cookie, key = session
    ok = api.simulate_get(
        "/client/api",
        params={"command": "listCapabilities", "sessionkey": key, "response": "json"},
        cookies={"JSESSIONID": cookie},
    )
    assert ok.status_code == 200
    refused = api.simulate_get(
        "/client/api",
        params={"command": "listCapabilities", "response": "json"},
        cookies={"JSESSIONID": cookie},
    )
    assert refused.status_code == 401
    assert json.loads(refused.content)["listcapabilitiesresponse"]["errorcode"] == 401
    # the refusal invalidated the session (and that was committed): the key no longer works
    again = api.simulate_get(
        "/client/api",
        params={"command": "listCapabilities", "sessionkey": key, "response": "json"},
        cookies={"JSESSIONID": cookie},
    )
    assert again.status_code == 401


def test_unknown_command_on_a_session_checks_the_key_first(
    api: falcon.testing.TestClient, session: tuple[str, str]
) -> None:
    cookie, key = session
    with_key = api.simulate_get(
        "/client/api",
        params={"command": "noSuchCommand", "sessionkey": key, "response": "json"},
        cookies={"JSESSIONID": cookie},
    )
    assert with_key.status_code == 432
    without_key = api.simulate_get(
        "/client/api",
        params={"command": "noSuchCommand", "response": "json"},
        cookies={"JSESSIONID": cookie},
    )
    assert without_key.status_code == 401


def test_logout_ends_the_session(api: falcon.testing.TestClient, session: tuple[str, str]) -> None:
    cookie, key = session
    result = api.simulate_get(
        "/client/api",
        params={"command": "logout", "sessionkey": key, "response": "json"},
        cookies={"JSESSIONID": cookie},
    )
    assert result.status_code == 200
    assert result.json == {"logoutresponse": {"description": "success"}}
    after = api.simulate_get(
        "/client/api",
        params={"command": "listCapabilities", "sessionkey": key, "response": "json"},
        cookies={"JSESSIONID": cookie},
    )
    assert after.status_code == 401
