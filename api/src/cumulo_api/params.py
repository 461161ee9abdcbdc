"""Request parameters: from the received ``name=value`` pairs to typed values.

Reproduces what CloudStack 4.1 does between the servlet and a command's fields:

- the first value of each received name counts (``getParameterMap()[name][0]``);
- ``BaseCmd.unpackParams`` lower-cases every name and gathers ``name[i].field=value``
  into maps; any other bracket syntax is 430 (CS41:api/src/org/apache/cloudstack/api/
  BaseCmd.java ``unpackParams``);
- ``ApiDispatcher.setupParameters``/``setFieldValue`` walk the declared parameters in
  order: a missing required one is 431 "Unable to execute API command <cmd> due to
  missing parameter <name>", a value that does not parse is 431 naming the parameter
  (CS41:server/src/com/cloud/api/ApiDispatcher.java).

Parsing follows the Java calls 4.1 makes, so clients see the same accept/reject
decisions: ``Boolean.valueOf`` (only a case-insensitive ``true`` is true),
``Integer/Long/Short.valueOf`` (optional sign, ASCII digits, the Java range),
``Float.valueOf``, a non-lenient ``yyyy-MM-dd`` date, ``StringTokenizer(",")`` lists
(empty items vanish), and the length limit on strings. Handlers receive Python values:
``bool``, ``int``, ``float``, ``datetime.date``, aware ``datetime.datetime``, ``str``,
``list``, and a ``list`` of ``dict`` for a map (in index order).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Any

from cumulo.sdk.api import Command, Param, ParamType
from cumulo.sdk.errors import InvalidParameterValue, MalformedParameter

UUID_PATTERN = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
"""4.1's UUID test: lower-case only (CS41 ``ApiDispatcher.translateUuidToInternalId``)."""

_INTEGER_RANGES = {
    ParamType.SHORT: (-(2**15), 2**15 - 1),
    ParamType.INTEGER: (-(2**31), 2**31 - 1),
    ParamType.LONG: (-(2**63), 2**63 - 1),
}
_JAVA_INTEGER = re.compile(r"^[+-]?[0-9]+$")
# Float.valueOf after its trim(): decimal or NaN/Infinity, with an optional f/d suffix.
_JAVA_FLOAT = re.compile(
    r"^[+-]?(?:NaN|Infinity|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?[fFdD]?)$"
)
# SimpleDateFormat("yyyy-MM-dd").parse reads a prefix and ignores what follows.
_DATE_PREFIX = re.compile(r"^([0-9]+)-([0-9]+)-([0-9]+)")
_DATE_TIME = re.compile(r"^([0-9]+)-([0-9]+)-([0-9]+) ([0-9]+):([0-9]+):([0-9]+)$")
# yyyy-MM-dd'T'HH:mm:ssZ; 4.1's own parser wanted a literal Z before the zone
# ("yyyy-MM-dd'T'HH:mm:ss'Z'Z", CS41 DateUtil.parseTZDateString), so that form is
# accepted too, as is a bare Z for UTC.
_TZ_DATE = re.compile(
    r"^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})T([0-9]{1,2}):([0-9]{1,2}):([0-9]{1,2})"
    r"(?:(Z)|Z?([+-])([0-9]{2}):?([0-9]{2}))$"
)
# listEvents alone also takes "yyyy-MM-dd HH:mm:ss" for its DATE parameters (bug 9724
# compatibility, CS41 ApiDispatcher.setFieldValue).
_DATE_TIME_COMMANDS = frozenset({"listEvents"})

RawValue = str | dict[int, dict[str, str]]
_ABSENT = object()


def command_label(command: Command) -> str:
    """The command as 4.1 names it in parameter errors: its envelope without the
    ``response`` suffix (``listvirtualmachines``)."""
    return command.envelope.removesuffix("response")


def first_values(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The first value of every received name, names as received."""
    first: dict[str, str] = {}
    for name, value in pairs:
        first.setdefault(name, value)
    return first


def _malformed(key: str) -> MalformedParameter:
    return MalformedParameter(
        f"Unable to decode parameter {key}; if specifying an object array, please use "
        "parameter[index].field=XXX, e.g. userGroupList[0].group=httpGroup"
    )


def unpack(params: dict[str, str]) -> dict[str, RawValue]:
    """4.1's ``unpackParams``: lower-case names; ``name[i].field`` into ``{i: {field: v}}``.

    :raises MalformedParameter: brackets used any other way (430).
    """
    unpacked: dict[str, RawValue] = {}
    for key, value in params.items():
        start = key.find("[")
        if start != key.rfind("["):
            raise _malformed(key)
        if start <= 0:
            unpacked[key.lower()] = value
            continue
        end = key.find("]")
        if end < start or end != key.rfind("]"):
            raise _malformed(key)
        dot = key.find(".")
        index_text = key[start + 1 : end]
        if dot < end or not _JAVA_INTEGER.match(index_text):
            raise _malformed(key)
        name = key[:start].lower()
        current = unpacked.get(name)
        groups: dict[int, dict[str, str]] = current if isinstance(current, dict) else {}
        groups.setdefault(int(index_text), {})[key[dot + 1 :]] = value
        unpacked[name] = groups
    return unpacked


def parse_params(
    command: Command, received: dict[str, str], *, method: str = "GET"
) -> dict[str, Any]:
    """The typed values of ``command``'s declared parameters found in ``received``.

    :param received: the first value of each received name (:func:`first_values`);
        undeclared names (``command``, ``apiKey``, ``response`` ...) are ignored.
    :param method: the request's HTTP method: a ``POST`` allows a parameter its
        ``post_length``.
    :return: values by lower-case name; absent parameters are missing from the dict.
    :raises MalformedParameter: bad ``name[i].field`` syntax (430).
    :raises InvalidParameterValue: a required parameter is missing, or a value does not
        parse, is too long or not among the allowed choices (431, naming it).
    """
    unpacked = unpack(received)
    parsed: dict[str, Any] = {}
    for param in command.params:
        raw = unpacked.get(param.name)
        value = _ABSENT if raw is None else parse_value(command, param, raw, method=method)
        if value is _ABSENT:
            if param.required:
                raise InvalidParameterValue(
                    f"Unable to execute API command {command_label(command)} due to "
                    f"missing parameter {param.name}"
                )
            continue
        parsed[param.name] = value
    return parsed


def parse_value(command: Command, param: Param, raw: RawValue, *, method: str = "GET") -> Any:
    """One parameter's value; the module-private ``_ABSENT`` when 4.1 ignores it (an
    empty or, for a parameter with ``since``, non-UUID value of a UUID parameter).

    :raises InvalidParameterValue: as :func:`parse_params`.
    """
    if param.type is ParamType.MAP:
        if not isinstance(raw, dict):
            raise _invalid(command, param, raw)
        return [dict(raw[index]) for index in sorted(raw)]
    if isinstance(raw, dict):
        raise _invalid(command, param, "map")
    if param.type is ParamType.UUID:
        return _uuid(param, raw)
    if param.type is ParamType.LIST:
        item_type = param.item_type or ParamType.STRING
        items = []
        for token in (token for token in raw.split(",") if token):
            if item_type is ParamType.UUID:
                item = _uuid(param, token)
                if item is not _ABSENT:
                    items.append(item)
            else:
                items.append(_scalar(command, param, item_type, token, param.length))
        return items
    value = _scalar(command, param, param.type, raw, _max_length(param, method))
    if param.choices:
        for choice in param.choices:
            if str(value).lower() == choice.lower():
                return choice
        raise InvalidParameterValue(
            f"Unable to execute API command {command_label(command)} due to invalid value "
            f"{raw} for parameter {param.name}; it must be one of {', '.join(param.choices)}"
        )
    return value


def _uuid(param: Param, raw: str) -> Any:
    # CS41 ApiDispatcher.translateUuidToInternalId: -1 passes; a parameter added in
    # 3.x or later (``since`` set) treats anything that is not a lower-case UUID as
    # absent; older ones pass any value on (the handler resolves numeric ids and
    # upper-case UUIDs, as 4.1's findByUuid did).
    if raw == "":
        return _ABSENT
    if raw == "-1" or UUID_PATTERN.match(raw):
        return raw
    return _ABSENT if param.since else raw


def _max_length(param: Param, method: str) -> int:
    if param.post_length is not None and method == "POST":
        return max(param.length, param.post_length)
    return param.length


def _scalar(command: Command, param: Param, kind: ParamType, raw: str, length: int) -> Any:
    if kind is ParamType.BOOLEAN:
        return raw.lower() == "true"
    if kind in _INTEGER_RANGES:
        low, high = _INTEGER_RANGES[kind]
        if not _JAVA_INTEGER.match(raw) or not low <= int(raw) <= high:
            raise _invalid(command, param, raw)
        return int(raw)
    if kind is ParamType.FLOAT:
        text = raw.strip(" \t\n\r\f\v\x00")
        if not _JAVA_FLOAT.match(text):
            raise _invalid(command, param, raw)
        return float(text.rstrip("fFdD").replace("Infinity", "inf"))
    if kind is ParamType.DATE:
        return _date(command, param, raw)
    if kind is ParamType.TZDATE:
        return _tz_date(command, param, raw)
    if kind is ParamType.UUID:
        return raw
    if len(raw) > length:
        raise InvalidParameterValue(
            f"Unable to execute API command {command_label(command)} due to invalid value. "
            f"Value greater than max allowed length {length} for param: {param.name}"
        )
    return raw


def _date(command: Command, param: Param, raw: str) -> dt.date:
    try:
        if command.name in _DATE_TIME_COMMANDS and (full := _DATE_TIME.match(raw)):
            year, month, day, hour, minute, second = (int(part) for part in full.groups())
            # naive, as 4.1's server-local java.util.Date
            return dt.datetime(year, month, day, hour, minute, second)
        prefix = _DATE_PREFIX.match(raw)
        if prefix:
            year, month, day = (int(part) for part in prefix.groups())
            return dt.date(year, month, day)
    except ValueError:
        pass  # out-of-range fields: SimpleDateFormat(lenient=false) rejects them too
    raise _bad_date(command, param, raw)


def _tz_date(command: Command, param: Param, raw: str) -> dt.datetime:
    match = _TZ_DATE.match(raw)
    if match:
        year, month, day, hour, minute, second, utc, sign, zone_h, zone_m = match.groups()
        offset = dt.timedelta(0)
        if not utc:
            offset = dt.timedelta(hours=int(zone_h), minutes=int(zone_m))
            offset = -offset if sign == "-" else offset
        try:
            return dt.datetime(
                int(year),
                int(month),
                int(day),
                int(hour),
                int(minute),
                int(second),
                tzinfo=dt.timezone(offset),
            )
        except ValueError:
            pass
    raise _bad_date(command, param, raw)


def _bad_date(command: Command, param: Param, raw: str) -> InvalidParameterValue:
    # 4.1's text, plus the parameter's name (4.1 named only the command).
    return InvalidParameterValue(
        f"Unable to parse date {raw} for command {command_label(command)} (parameter "
        f"{param.name}), please pass dates in the format mentioned in the api documentation"
    )


def _invalid(command: Command, param: Param, raw: object) -> InvalidParameterValue:
    return InvalidParameterValue(
        f"Unable to execute API command {command_label(command)} due to invalid value "
        f"{raw} for parameter {param.name}"
    )
