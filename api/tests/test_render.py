"""Rendering: the JSON and XML answers byte for byte where 4.1 clients depend on it."""

from __future__ import annotations

import datetime as dt
import json
import xml.etree.ElementTree as ET

import pytest

from cumulo.sdk.api import Command, ListResult, ObjectResult, RawResult, SuccessResult
from cumulo.sdk.errors import AuthenticationFailed, InvalidParameterValue, LoginFailed
from cumulo_api.render import (
    JSON_CONTENT_TYPE,
    XML_CONTENT_TYPE,
    job_error,
    job_result,
    render,
    render_async,
    render_error,
    xml_escape,
)

LIST_ZONES = Command("listZones", lambda call: SuccessResult())
RESTORE = Command(
    "restoreVirtualMachine", lambda call: SuccessResult(), response_name="restorevmresponse"
)
WHEN = dt.datetime(2013, 4, 10, 16, 52, 6)


def _json(result: object, command: Command = LIST_ZONES) -> dict[str, object]:
    status, body, content_type = render(result, command, "json")  # type: ignore[arg-type]
    assert status == 200
    assert content_type == JSON_CONTENT_TYPE
    loaded: dict[str, object] = json.loads(body)
    return loaded


def _xml(result: object, command: Command = LIST_ZONES) -> bytes:
    status, body, content_type = render(result, command, "xml")  # type: ignore[arg-type]
    assert status == 200
    assert content_type == XML_CONTENT_TYPE
    ET.fromstring(body)  # well-formed
    return body


def test_envelope_comes_from_the_declaration() -> None:
    assert list(_json(SuccessResult(), RESTORE)) == ["restorevmresponse"]
    assert list(_json(SuccessResult(), LIST_ZONES)) == ["listzonesresponse"]


def test_list_has_count_first_then_items() -> None:
    result = ListResult("zone", [{"id": "a", "name": "z1"}, {"id": "b", "name": "z2"}], count=7)
    _, body, _ = render(result, LIST_ZONES, "json")
    assert body.startswith(b'{"listzonesresponse":{"count":7,"zone":[')
    assert _json(result) == {
        "listzonesresponse": {
            "count": 7,
            "zone": [{"id": "a", "name": "z1"}, {"id": "b", "name": "z2"}],
        }
    }


def test_empty_list_is_an_empty_object() -> None:
    assert _json(ListResult("zone", [], count=0)) == {"listzonesresponse": {}}
    assert _xml(ListResult("zone", [], count=0)) == (
        b'<?xml version="1.0" encoding="UTF-8"?>'
        b'<listzonesresponse cloud-stack-version="4.1.0"></listzonesresponse>'
    )


def test_single_object_is_wrapped_in_its_name() -> None:
    assert _json(ObjectResult("securitygroup", {"id": "x", "name": "default"})) == {
        "listzonesresponse": {"securitygroup": {"id": "x", "name": "default"}}
    }


def test_success_is_a_string_in_sync_json_and_displaytext_dropped() -> None:
    assert _json(SuccessResult(displaytext="done")) == {"listzonesresponse": {"success": "true"}}
    assert _json(SuccessResult(success=False)) == {"listzonesresponse": {"success": "false"}}


def test_success_in_xml_keeps_displaytext() -> None:
    assert b"<success>true</success><displaytext>done</displaytext>" in _xml(
        SuccessResult(displaytext="done")
    )


def test_none_fields_are_omitted_and_empty_lists_kept() -> None:
    result = ObjectResult("virtualmachine", {"id": "v", "password": None, "nic": [], "tags": []})
    assert _json(result) == {
        "listzonesresponse": {"virtualmachine": {"id": "v", "nic": [], "tags": []}}
    }


def test_native_numbers_and_booleans_in_json() -> None:
    result = ObjectResult("o", {"cpunumber": 2, "ready": True, "ratio": 1.5, "startport": "22"})
    assert _json(result)["listzonesresponse"] == {
        "o": {"cpunumber": 2, "ready": True, "ratio": 1.5, "startport": "22"}
    }


def test_dates_are_formatted_as_41() -> None:
    aware = dt.datetime(2013, 4, 10, 16, 52, 6, tzinfo=dt.timezone(dt.timedelta(hours=-7)))
    result = ObjectResult("o", {"created": WHEN, "other": aware})
    assert _json(result)["listzonesresponse"] == {
        "o": {"created": "2013-04-10T16:52:06+0000", "other": "2013-04-10T16:52:06-0700"}
    }
    assert b"<created>2013-04-10T16:52:06+0000</created>" in _xml(result)


def test_nested_objects_and_arrays() -> None:
    result = ListResult(
        "account",
        [{"id": "a", "user": [{"id": "u1"}, {"id": "u2"}], "details": {"k": "v"}}],
        count=1,
    )
    assert _json(result)["listzonesresponse"] == {
        "count": 1,
        "account": [{"id": "a", "user": [{"id": "u1"}, {"id": "u2"}], "details": {"k": "v"}}],
    }
    body = _xml(result)
    assert body == (
        b'<?xml version="1.0" encoding="UTF-8"?><listzonesresponse cloud-stack-version="4.1.0">'
        b"<count>1</count><account><id>a</id><user><id>u1</id></user><user><id>u2</id></user>"
        b"<details><k>v</k></details></account></listzonesresponse>"
    )


def test_xml_escapes_text() -> None:
    body = _xml(ObjectResult("o", {"name": "a<b>&\"c'", "bad": "x\x00y"}))
    element = ET.fromstring(body)
    assert element.findtext("o/name") == "a<b>&\"c'"
    assert element.findtext("o/bad") == "x\ufffdy"
    assert xml_escape("<&>") == "&lt;&amp;&gt;"


def test_xml_booleans_are_lower_case() -> None:
    assert b"<ready>false</ready>" in _xml(ObjectResult("o", {"ready": False}))


def test_unicode_survives_both_formats() -> None:
    result = ObjectResult("o", {"name": "zoné ☁"})
    assert _json(result)["listzonesresponse"] == {"o": {"name": "zoné ☁"}}
    assert ET.fromstring(_xml(result)).findtext("o/name") == "zoné ☁"


def test_raw_result_sits_directly_in_the_envelope() -> None:
    result = RawResult({"jobid": "j", "jobstatus": 1, "jobresult": {"success": True}})
    assert _json(result) == {
        "listzonesresponse": {"jobid": "j", "jobstatus": 1, "jobresult": {"success": True}}
    }
    assert b"<jobresult><success>true</success></jobresult>" in _xml(result)


def test_async_start_answers_jobid_and_id_for_create_commands() -> None:
    deploy = Command("deployVirtualMachine", lambda call: SuccessResult(), is_async=True)
    _, body, _ = render_async(deploy, "job-1", None, "json")
    assert json.loads(body) == {"deployvirtualmachineresponse": {"jobid": "job-1"}}
    _, body, _ = render_async(deploy, "job-1", "vm-1", "json")
    assert body == b'{"deployvirtualmachineresponse":{"id":"vm-1","jobid":"job-1"}}'
    _, body, content_type = render_async(deploy, "job-1", "vm-1", "xml")
    assert content_type == XML_CONTENT_TYPE
    assert b"<id>vm-1</id><jobid>job-1</jobid>" in body


def test_job_result_keeps_the_wrapper_and_booleans() -> None:
    assert job_result(SuccessResult()) == ("object", {"success": True})
    assert job_result(ObjectResult("virtualmachine", {"id": "v", "created": WHEN, "x": None})) == (
        "object",
        {"virtualmachine": {"id": "v", "created": "2013-04-10T16:52:06+0000"}},
    )
    kind, stored = job_result(ListResult("host", [{"id": "h"}], count=1))
    assert (kind, stored) == ("object", {"count": 1, "host": [{"id": "h"}]})
    json.dumps(stored)  # what the job stores must be plain JSON


def test_job_error_has_only_errorcode_and_errortext() -> None:
    assert job_error(InvalidParameterValue("bad")) == {"errorcode": 431, "errortext": "bad"}


def test_error_in_the_command_envelope() -> None:
    status, body, content_type = render_error(
        InvalidParameterValue("no"), "listzonesresponse", "json"
    )
    assert (status, content_type) == (431, JSON_CONTENT_TYPE)
    assert json.loads(body) == {
        "listzonesresponse": {"errorcode": 431, "cserrorcode": 4350, "errortext": "no"}
    }


@pytest.mark.parametrize("error", [AuthenticationFailed(), LoginFailed("bad login")])
def test_errors_without_cserrorcode(error: AuthenticationFailed) -> None:
    status, body, _ = render_error(error, "errorresponse", "json")
    assert status == error.errorcode
    assert json.loads(body) == {
        "errorresponse": {"errorcode": error.errorcode, "errortext": error.errortext}
    }


def test_error_xml() -> None:
    _, body, content_type = render_error(InvalidParameterValue("a < b"), "listzonesresponse", "xml")
    assert content_type == XML_CONTENT_TYPE
    assert body == (
        b'<?xml version="1.0" encoding="UTF-8"?><listzonesresponse cloud-stack-version="4.1.0">'
        b"<errorcode>431</errorcode><cserrorcode>4350</cserrorcode>"
        b"<errortext>a &lt; b</errortext></listzonesresponse>"
    )


def test_a_handler_returning_something_else_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        render({"not": "a result"}, LIST_ZONES, "json")  # type: ignore[arg-type]


def test_prepared_fields_render_as_they_are_in_json_and_xml() -> None:
    """A view's :class:`~cumulo.db.listing.Prepared` fields (no None, dates formatted)
    are not walked again, and render exactly as the same plain fields would."""
    from cumulo.db.listing import Prepared
    from cumulo_api.render import prepare

    nic = Prepared(id="n1", isdefault=True)
    fields = Prepared(id="v1", created="2013-04-10T16:52:06+0000", nic=[nic], tags=[])
    assert prepare(fields) is fields
    plain = {"id": "v1", "created": "2013-04-10T16:52:06+0000", "nic": [{"id": "n1",
             "isdefault": True}], "tags": []}  # fmt: skip
    items = [fields]
    assert _json(ListResult("virtualmachine", items, 1)) == _json(
        ListResult("virtualmachine", [plain], 1)
    )
    assert _xml(ListResult("virtualmachine", items, 1)) == _xml(
        ListResult("virtualmachine", [plain], 1)
    )
