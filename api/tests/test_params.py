"""Parameter parsing: every 4.1 type, the accept/reject decisions of the Java calls 4.1
makes, and the error codes and texts clients see."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from cumulo.sdk.api import Command, Param, ParamType, SuccessResult
from cumulo.sdk.errors import InvalidParameterValue, MalformedParameter
from cumulo_api.params import first_values, parse_params, unpack

UUID = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"


def _command(*params: Param, name: str = "doThing") -> Command:
    return Command(name, lambda call: SuccessResult(), params=params)


def _parse(param: Param, value: str, *, name: str = "doThing") -> Any:
    parsed = parse_params(_command(param, name=name), {param.name: value})
    return parsed.get(param.name, "<absent>")


def _error(param: Param, value: str) -> str:
    with pytest.raises(InvalidParameterValue) as caught:
        _parse(param, value)
    assert caught.value.errorcode == 431
    return caught.value.errortext


# ---- names, required ------------------------------------------------------------------


def test_names_are_lower_cased_and_the_first_value_counts() -> None:
    command = _command(Param("displaytext"), Param("name"))
    received = first_values([("displayText", "first"), ("displayText", "second"), ("x", "y")])
    assert parse_params(command, received) == {"displaytext": "first"}


def test_missing_required_parameter_is_431_naming_it() -> None:
    command = _command(Param("name", required=True))
    with pytest.raises(InvalidParameterValue) as caught:
        parse_params(command, {})
    assert caught.value.errortext == (
        "Unable to execute API command dothing due to missing parameter name"
    )


def test_error_texts_use_the_envelope_without_response() -> None:
    command = Command(
        "restoreVirtualMachine",
        lambda call: SuccessResult(),
        params=(Param("virtualmachineid", required=True),),
        response_name="restorevmresponse",
    )
    with pytest.raises(InvalidParameterValue, match="API command restorevm due to missing"):
        parse_params(command, {})


def test_undeclared_parameters_are_ignored() -> None:
    assert parse_params(_command(), {"command": "x", "apiKey": "k", "whatever": "1"}) == {}


# ---- scalar types ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [("true", True), ("TRUE", True), ("True", True), ("false", False), ("yes", False), ("", False)],
)
def test_boolean_is_javas_boolean_valueof(value: str, expected: bool) -> None:
    assert _parse(Param("flag", ParamType.BOOLEAN), value) is expected


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        (ParamType.INTEGER, "42", 42),
        (ParamType.INTEGER, "-7", -7),
        (ParamType.INTEGER, "+7", 7),
        (ParamType.INTEGER, "2147483647", 2**31 - 1),
        (ParamType.LONG, "9223372036854775807", 2**63 - 1),
        (ParamType.LONG, "-1", -1),
        (ParamType.SHORT, "32767", 32767),
        (ParamType.SHORT, "-32768", -32768),
    ],
)
def test_integers_in_range(kind: ParamType, value: str, expected: int) -> None:
    assert _parse(Param("n", kind), value) == expected


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        (ParamType.INTEGER, "2147483648"),
        (ParamType.INTEGER, "1.5"),
        (ParamType.INTEGER, " 1"),
        (ParamType.INTEGER, "1_000"),
        (ParamType.INTEGER, ""),
        (ParamType.INTEGER, "٣"),  # a non-ASCII digit
        (ParamType.LONG, "9223372036854775808"),
        (ParamType.SHORT, "32768"),
        (ParamType.SHORT, "abc"),
    ],
)
def test_integers_out_of_range_or_malformed_are_431(kind: ParamType, value: str) -> None:
    text = _error(Param("n", kind), value)
    assert (
        text
        == f"Unable to execute API command dothing due to invalid value {value} for parameter n"
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1.5", 1.5), ("-2", -2.0), ("1e3", 1000.0), (" 3.25 ", 3.25), ("2f", 2.0), (".5", 0.5)],
)
def test_float_is_javas_float_valueof(value: str, expected: float) -> None:
    assert _parse(Param("x", ParamType.FLOAT), value) == expected


@pytest.mark.parametrize("value", ["abc", "1,5", "1_0", "", "inf"])
def test_bad_float_is_431(value: str) -> None:
    assert "for parameter x" in _error(Param("x", ParamType.FLOAT), value)


def test_float_infinity_and_nan_as_java_spells_them() -> None:
    assert _parse(Param("x", ParamType.FLOAT), "Infinity") == float("inf")
    assert _parse(Param("x", ParamType.FLOAT), "NaN") != _parse(Param("x", ParamType.FLOAT), "NaN")


# ---- strings, lengths, choices --------------------------------------------------------


def test_string_length_limit_is_431_naming_the_parameter() -> None:
    param = Param("name", length=5)
    assert _parse(param, "abcde") == "abcde"
    assert _error(param, "abcdef") == (
        "Unable to execute API command dothing due to invalid value. Value greater than "
        "max allowed length 5 for param: name"
    )


def test_default_length_is_255() -> None:
    assert _parse(Param("name"), "x" * 255) == "x" * 255
    assert "max allowed length 255" in _error(Param("name"), "x" * 256)


def test_choices_are_case_insensitive_and_canonical() -> None:
    param = Param("state", choices=("Enabled", "Disabled"))
    assert _parse(param, "enabled") == "Enabled"
    text = _error(param, "gone")
    assert "parameter state" in text
    assert "Enabled, Disabled" in text


def test_empty_string_is_a_value_for_strings() -> None:
    assert _parse(Param("name"), "") == ""


# ---- dates ----------------------------------------------------------------------------


def test_date_is_yyyy_mm_dd() -> None:
    assert _parse(Param("d", ParamType.DATE), "2013-05-28") == dt.date(2013, 5, 28)
    # SimpleDateFormat.parse reads a prefix and ignores the rest; single digits pass.
    assert _parse(Param("d", ParamType.DATE), "2013-5-2 ignored") == dt.date(2013, 5, 2)


@pytest.mark.parametrize("value", ["2013-13-01", "2013-02-30", "28/05/2013", "", "yesterday"])
def test_bad_date_is_431_naming_the_parameter(value: str) -> None:
    text = _error(Param("startdate", ParamType.DATE), value)
    assert text.startswith(f"Unable to parse date {value} for command dothing")
    assert "startdate" in text


def test_list_events_also_takes_date_and_time() -> None:
    param = Param("startdate", ParamType.DATE)
    assert _parse(param, "2013-05-28 10:11:12", name="listEvents") == dt.datetime(
        2013, 5, 28, 10, 11, 12
    )
    assert _parse(param, "2013-05-28 10:11:12") == dt.date(2013, 5, 28)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2013-05-28T10:00:00+0000", dt.datetime(2013, 5, 28, 10, tzinfo=dt.UTC)),
        (
            "2011-10-10T12:00:00+0530",
            dt.datetime(2011, 10, 10, 12, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30))),
        ),
        ("2013-05-28T10:00:00-07:00", dt.datetime(2013, 5, 28, 17, tzinfo=dt.UTC)),
        ("2013-05-28T10:00:00Z", dt.datetime(2013, 5, 28, 10, tzinfo=dt.UTC)),
        ("2013-05-28T10:00:00Z+0100", dt.datetime(2013, 5, 28, 9, tzinfo=dt.UTC)),
    ],
)
def test_tzdate(value: str, expected: dt.datetime) -> None:
    parsed = _parse(Param("startdate", ParamType.TZDATE), value)
    assert parsed == expected
    assert parsed.tzinfo is not None


@pytest.mark.parametrize(
    "value", ["2013-05-28T10:00:00", "2013-05-28", "2013-05-28T25:00:00+0000", "x"]
)
def test_bad_tzdate_is_431(value: str) -> None:
    assert "Unable to parse date" in _error(Param("startdate", ParamType.TZDATE), value)


# ---- UUID -----------------------------------------------------------------------------


def test_uuid_lower_case_passes() -> None:
    assert _parse(Param("id", ParamType.UUID), UUID) == UUID
    assert _parse(Param("id", ParamType.UUID), "-1") == "-1"


def test_uuid_without_since_passes_other_values_to_the_handler() -> None:
    # 4.1 accepted numeric ids and looked other strings up (upper-case UUIDs too).
    assert _parse(Param("id", ParamType.UUID), "42") == "42"
    assert _parse(Param("id", ParamType.UUID), UUID.upper()) == UUID.upper()


def test_uuid_with_since_ignores_a_non_uuid() -> None:
    param = Param("zoneid", ParamType.UUID, since="3.0.1")
    assert _parse(param, UUID) == UUID
    assert _parse(param, "42") == "<absent>"
    assert _parse(param, UUID.upper()) == "<absent>"


def test_required_uuid_with_since_and_a_non_uuid_is_missing() -> None:
    command = _command(Param("zoneid", ParamType.UUID, required=True, since="3.0.1"))
    with pytest.raises(InvalidParameterValue, match="missing parameter zoneid"):
        parse_params(command, {"zoneid": "not-a-uuid"})


def test_empty_uuid_is_absent() -> None:
    assert _parse(Param("id", ParamType.UUID), "") == "<absent>"


# ---- lists ----------------------------------------------------------------------------


def test_list_is_comma_separated_and_empty_items_vanish() -> None:
    assert _parse(Param("ids", ParamType.LIST), ",a,,b,") == ["a", "b"]


def test_list_items_are_typed() -> None:
    assert _parse(Param("ports", ParamType.LIST, item_type=ParamType.INTEGER), "1,22") == [1, 22]
    assert "for parameter ports" in _error(
        Param("ports", ParamType.LIST, item_type=ParamType.INTEGER), "1,x"
    )
    uuids = Param("ids", ParamType.LIST, item_type=ParamType.UUID, since="4.0")
    assert _parse(uuids, f"{UUID},bogus") == [UUID]


# ---- maps -----------------------------------------------------------------------------


def test_map_groups_indexed_fields_in_index_order() -> None:
    command = _command(Param("tags", ParamType.MAP))
    received = {
        "tags[1].key": "b",
        "tags[0].key": "a",
        "Tags[0].value": "1",
        "tags[1].value": "2",
    }
    assert parse_params(command, received) == {
        "tags": [{"key": "a", "value": "1"}, {"key": "b", "value": "2"}]
    }


@pytest.mark.parametrize(
    "key", ["tags[0][1].key", "tags[x].key", "tags[0]key", "tags]0[.key", "tags[0.key"]
)
def test_bad_map_syntax_is_430(key: str) -> None:
    with pytest.raises(MalformedParameter) as caught:
        parse_params(_command(Param("tags", ParamType.MAP)), {key: "v"})
    assert caught.value.errorcode == 430
    assert key in caught.value.errortext


def test_bad_map_syntax_is_430_even_for_undeclared_names() -> None:
    # 4.1 unpacks every received name before looking at the declaration.
    with pytest.raises(MalformedParameter):
        parse_params(_command(), {"other[a].b": "v"})


def test_map_parameter_given_as_plain_value_is_431() -> None:
    assert "for parameter tags" in _error(Param("tags", ParamType.MAP), "a=b")


def test_indexed_value_for_a_plain_parameter_is_431() -> None:
    command = _command(Param("name"))
    with pytest.raises(InvalidParameterValue, match="for parameter name"):
        parse_params(command, {"name[0].x": "v"})


def test_unpack_leaves_a_leading_bracket_alone() -> None:
    assert unpack({"[weird": "v"}) == {"[weird": "v"}
