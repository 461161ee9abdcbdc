"""The request path over falcon's test client and a real database: parameter reading,
dispatch order, transactions, error rendering."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import quote, urlencode

import pluggy
import pytest
from api_test_commands import StatementCounter, client_with_test_commands, make_caller
from sqlalchemy import select

from cumulo.accounts.models import User
from cumulo.jobs.models import AsyncJob
from cumulo.runtime import Runtime
from cumulo_api.render import JSON_CONTENT_TYPE, XML_CONTENT_TYPE
from cumulo_api.testing import sign, signed_request

HIDDEN = "Internal error executing command, please contact your system administrator"


@pytest.fixture
def client(runtime: Runtime, plugin_manager: pluggy.PluginManager) -> Any:
    return client_with_test_commands(runtime, plugin_manager)


def _body(result: Any) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(result.content)
    return loaded


# ---- reading parameters ---------------------------------------------------------------


def test_signed_get_reaches_the_handler_with_typed_lower_case_params(
    client: Any, admin_keys: tuple[str, str]
) -> None:
    result = signed_request(client, admin_keys, "echoTest", Name="bob", count="3", flag="True")
    assert result.status_code == 200
    assert result.headers["content-type"] == JSON_CONTENT_TYPE
    assert _body(result) == {
        "echotestresponse": {"echo": {"name": "bob", "count": 3, "flag": True, "caller": "admin"}}
    }


def test_post_form_body_and_query_string_are_both_read(
    client: Any, admin_keys: tuple[str, str]
) -> None:
    api_key, secret = admin_keys
    params = {"command": "echoTest", "apiKey": api_key, "response": "json", "name": "é ~x"}
    params["signature"] = sign(params, secret)
    form = {key: params[key] for key in ("name", "signature")}
    query = {key: params[key] for key in params if key not in form}
    result = client.simulate_post(
        "/client/api",
        query_string=urlencode(query, quote_via=quote),
        body=urlencode(form),
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"},
    )
    assert result.status_code == 200, result.text
    assert _body(result)["echotestresponse"]["echo"]["name"] == "é ~x"


def test_xml_is_the_default_format(client: Any, admin_keys: tuple[str, str]) -> None:
    result = signed_request(client, admin_keys, "echoTest", name="bob", response="xml")
    assert result.status_code == 200
    assert result.headers["content-type"] == XML_CONTENT_TYPE
    root = ET.fromstring(result.content)
    assert root.tag == "echotestresponse"
    assert root.attrib == {"cloud-stack-version": "4.1.0"}
    assert root.findtext("echo/name") == "bob"


# ---- the order of checks --------------------------------------------------------------


def test_missing_command_is_401(client: Any) -> None:
    result = client.simulate_get("/client/api", query_string="response=json")
    assert result.status_code == 401
    assert _body(result) == {
        "errorresponse": {
            "errorcode": 401,
            "errortext": "unable to verify user credentials and/or request signature",
        }
    }
    assert "x-description" not in result.headers


def test_missing_command_with_a_session_cookie_is_400(client: Any) -> None:
    result = client.simulate_get(
        "/client/api", query_string="response=json", cookies={"JSESSIONID": "abc"}
    )
    assert result.status_code == 400
    assert _body(result)["errorresponse"]["errorcode"] == 400


def test_unknown_command_is_432_before_any_signature(client: Any) -> None:
    result = client.simulate_get("/client/api", query_string="command=noSuchThing&response=json")
    assert result.status_code == 432
    assert _body(result) == {
        "errorresponse": {
            "errorcode": 432,
            "cserrorcode": 9999,
            "errortext": "The given command does not exist or it is not available for user",
        }
    }
    assert result.headers["x-description"] == (
        "The given command does not exist or it is not available for user"
    )


def test_command_names_are_case_sensitive(client: Any, admin_keys: tuple[str, str]) -> None:
    assert signed_request(client, admin_keys, "EchoTest", name="x").status_code == 432


def test_forbidden_command_is_432_before_the_signature(
    client: Any, user_keys: tuple[str, str]
) -> None:
    api_key, _ = user_keys
    wrong = (api_key, "not-the-secret")
    result = signed_request(client, wrong, "adminOnlyTest")
    assert result.status_code == 432
    assert _body(result)["errorresponse"]["errorcode"] == 432
    # the same wrong signature on a command the user may call is 401
    result = signed_request(client, wrong, "echoTest", name="x")
    assert result.status_code == 401
    assert _body(result) == {
        "echotestresponse": {
            "errorcode": 401,
            "errortext": "unable to verify user credentials and/or request signature",
        }
    }


def test_user_cannot_call_admin_commands_even_correctly_signed(
    client: Any, user_keys: tuple[str, str]
) -> None:
    assert signed_request(client, user_keys, "adminOnlyTest").status_code == 432


def test_missing_required_parameter_is_431_naming_it(
    client: Any, admin_keys: tuple[str, str]
) -> None:
    result = signed_request(client, admin_keys, "echoTest")
    assert result.status_code == 431
    text = "Unable to execute API command echotest due to missing parameter name"
    assert _body(result) == {
        "echotestresponse": {"errorcode": 431, "cserrorcode": 4350, "errortext": text}
    }
    assert result.headers["x-description"] == text


def test_bad_value_is_431_in_xml_too(client: Any, admin_keys: tuple[str, str]) -> None:
    result = signed_request(client, admin_keys, "echoTest", name="x", count="many", response="xml")
    assert result.status_code == 431
    root = ET.fromstring(result.content)
    assert root.tag == "echotestresponse"
    assert root.findtext("errorcode") == "431"
    assert "count" in (root.findtext("errortext") or "")


def test_bad_map_syntax_is_430(client: Any, admin_keys: tuple[str, str]) -> None:
    result = signed_request(client, admin_keys, "echoTest", name="x", **{"tags[a].key": "v"})
    assert result.status_code == 430
    assert _body(result)["echotestresponse"]["errorcode"] == 430


# ---- internal errors ------------------------------------------------------------------


def test_unexpected_error_is_530_hidden_from_non_root(
    client: Any, user_keys: tuple[str, str]
) -> None:
    result = signed_request(client, user_keys, "boomTest")
    assert result.status_code == 530
    assert _body(result) == {
        "boomtestresponse": {"errorcode": 530, "cserrorcode": 4250, "errortext": HIDDEN}
    }
    assert result.headers["x-description"] == HIDDEN
    assert result.headers["x-request-id"]


def test_unexpected_error_text_is_shown_to_root_admin(
    client: Any, admin_keys: tuple[str, str]
) -> None:
    result = signed_request(client, admin_keys, "boomTest")
    assert result.status_code == 530
    assert "secret internal detail" in _body(result)["boomtestresponse"]["errortext"]


def test_internal_cloud_errors_are_hidden_from_non_root(
    client: Any, user_keys: tuple[str, str], admin_keys: tuple[str, str]
) -> None:
    result = signed_request(client, user_keys, "noCapacityTest")
    assert result.status_code == 533
    assert _body(result)["nocapacitytestresponse"] == {
        "errorcode": 533,
        "cserrorcode": 4325,
        "errortext": HIDDEN,
    }
    result = signed_request(client, admin_keys, "noCapacityTest")
    assert _body(result)["nocapacitytestresponse"]["errortext"] == "no host in pod 7 has 4 GB free"


def test_a_failing_handler_leaves_nothing_written(
    client: Any, admin_keys: tuple[str, str], runtime: Runtime
) -> None:
    result = signed_request(client, admin_keys, "renameThenFailTest")
    assert result.status_code == 431
    with runtime.sessions() as session:
        name = session.scalar(select(User.firstname).where(User.username == "admin"))
    assert name == "admin"


# ---- paging ---------------------------------------------------------------------------


def test_list_paging_rules_are_checked_before_the_handler(
    client: Any, admin_keys: tuple[str, str]
) -> None:
    cases = {
        (("pagesize", "2"),): '"page" parameter is required when "pagesize" is specified',
        (("page", "1"),): '"pagesize" parameter is required when "page" is specified',
        (("page", "1"), ("pagesize", "501")): "Page size can't exceed max allowed page size",
        (("page", "1"), ("pagesize", "-1")): "Can't specify page parameter when pagesize is -1",
    }
    for params, text in cases.items():
        result = signed_request(client, admin_keys, "listUsersTest", **dict(params))
        assert result.status_code == 431, params
        assert text in _body(result)["listuserstestresponse"]["errortext"]


def test_list_pages_and_count(client: Any, admin_keys: tuple[str, str]) -> None:
    whole = _body(signed_request(client, admin_keys, "listUsersTest"))["listuserstestresponse"]
    assert whole["count"] == 2
    assert [user["username"] for user in whole["user"]] == ["system", "admin"]
    page = _body(signed_request(client, admin_keys, "listUsersTest", page=2, pagesize=1))
    assert page["listuserstestresponse"] == {"count": 2, "user": [whole["user"][1]]}
    past = _body(signed_request(client, admin_keys, "listUsersTest", page=3, pagesize=1))
    assert past == {"listuserstestresponse": {}}
    everything = signed_request(client, admin_keys, "listUsersTest", pagesize=-1)
    assert _body(everything)["listuserstestresponse"]["count"] == 2


def test_a_list_page_costs_the_same_statements_whatever_the_rows(
    client: Any, admin_keys: tuple[str, str], runtime: Runtime, statements: StatementCounter
) -> None:
    signed_request(client, admin_keys, "listUsersTest")  # first-use work aside
    statements.reset()
    assert _body(signed_request(client, admin_keys, "listUsersTest"))["listuserstestresponse"]
    few = statements.count
    for number in range(12):
        make_caller(runtime, f"user{number}", 0)
    statements.reset()
    listed = _body(signed_request(client, admin_keys, "listUsersTest"))["listuserstestresponse"]
    assert listed["count"] == 14
    assert statements.count == few, statements.statements


def test_max_page_size_follows_the_configuration(
    client: Any, admin_keys: tuple[str, str], runtime: Runtime
) -> None:
    with runtime.sessions() as session:
        runtime.config_store(session).set("default.page.size", "1")
        session.commit()
    result = signed_request(client, admin_keys, "listUsersTest", page=1, pagesize=2)
    assert result.status_code == 431
    assert "max allowed page size value: 1" in result.text
    first = _body(signed_request(client, admin_keys, "listUsersTest"))["listuserstestresponse"]
    assert (first["count"], len(first["user"])) == (2, 1)


# ---- async ----------------------------------------------------------------------------


def test_async_command_answers_jobid_and_queues_a_job(
    client: Any, admin_keys: tuple[str, str], runtime: Runtime
) -> None:
    result = signed_request(client, admin_keys, "asyncThingTest")
    assert result.status_code == 200
    answer = _body(result)["asyncthingtestresponse"]
    assert list(answer) == ["jobid"]
    with runtime.sessions() as session:
        job = session.scalars(select(AsyncJob).where(AsyncJob.uuid == answer["jobid"])).one()
    assert job.status == 0


def test_async_create_command_answers_id_and_jobid(
    client: Any, admin_keys: tuple[str, str], runtime: Runtime
) -> None:
    result = signed_request(client, admin_keys, "createThingTest")
    assert result.status_code == 200
    answer = _body(result)["createthingtestresponse"]
    assert list(answer) == ["id", "jobid"]
    assert answer["id"] == "11111111-2222-4333-8444-555555555555"
    with runtime.sessions() as session:
        job = session.scalars(select(AsyncJob).where(AsyncJob.uuid == answer["jobid"])).one()
    assert job.cmd == "org.example.CreateThingCmd"


# ---- other routes ---------------------------------------------------------------------


def test_healthz(client: Any) -> None:
    result = client.simulate_get("/healthz")
    assert result.status_code == 200
    assert result.json == {"status": "ok"}


def test_trailing_slash_is_the_same_endpoint(client: Any) -> None:
    result = client.simulate_get("/client/api/", query_string="command=nothing&response=json")
    assert result.status_code == 432


def test_an_oversized_form_body_is_refused_not_cut(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import cumulo_api.dispatch

    monkeypatch.setattr(cumulo_api.dispatch, "MAX_FORM_BYTES", 64)
    result = client.simulate_post(
        "/client/api",
        query_string="response=json",
        body="command=listApis&name=" + "x" * 64,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert result.status_code == 431
    assert "exceeds 64 bytes" in _body(result)["errorresponse"]["errortext"]
