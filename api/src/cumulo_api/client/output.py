"""Showing an API answer: JSON for scripts, an aligned table for people.

An answer arrives without its envelope and has one of 4.1's shapes: a list
(``{"count": 2, "account": [...]}``, or ``{}`` when empty), one object
(``{"account": {...}}``), or plain fields (``{"success": "true"}``, a job's
``jobid``). Lists become one row per item, the rest a two-column ``field value`` table.
In a table cell a nested array is summarised by each element's name (an account's
users by ``username``), so a row stays one line; ``--output json`` shows everything.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

FORMATS = ("table", "json")

# What names a nested element in a table cell, in order of preference.
_NAMING_FIELDS = ("name", "username", "key", "id")


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(_element(element) for element in value)
    if isinstance(value, Mapping):
        return _compact(value)
    return str(value)


def _element(element: Any) -> str:
    if isinstance(element, Mapping):
        for name in _NAMING_FIELDS:
            if element.get(name) is not None:
                return str(element[name])
        return _compact(element)
    return _cell(element)


def _items(answer: Mapping[str, Any]) -> tuple[str, list[Mapping[str, Any]]] | None:
    """The list inside a list answer: its object name and items, else ``None``."""
    candidates = [
        (key, value)
        for key, value in answer.items()
        if key != "count" and isinstance(value, list) and all(isinstance(v, Mapping) for v in value)
    ]
    if len(candidates) == 1 and set(answer) <= {"count", candidates[0][0]}:
        return candidates[0]
    return None


def _columns(rows: Sequence[Mapping[str, Any]], wanted: Sequence[str]) -> list[str]:
    if wanted:
        return list(wanted)
    seen: dict[str, None] = {}
    for row in rows:
        seen.update(dict.fromkeys(row))
    return list(seen)


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """``rows`` under ``header``, columns padded to their widest cell, two spaces apart."""
    widths = [len(name) for name in header]
    for row in rows:
        widths = [max(width, len(cell)) for width, cell in zip(widths, row, strict=True)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in (header, ["-" * width for width in widths], *rows)
    ]
    return "\n".join(lines)


def _select(record: Mapping[str, Any], wanted: Sequence[str]) -> dict[str, Any]:
    return {name: record[name] for name in wanted if name in record} if wanted else dict(record)


def render(answer: Mapping[str, Any], fmt: str, *, fields: Sequence[str] = ()) -> str:
    """The text to print for ``answer`` (empty when there is nothing to show).

    :param fmt: ``table`` or ``json``.
    :param fields: keep only these fields of each item or object (``--filter``).
    """
    listed = _items(answer)
    wrapped = (
        next(iter(answer.items()))
        if len(answer) == 1 and isinstance(next(iter(answer.values())), Mapping)
        else None
    )
    if fmt == "json":
        if listed is not None and fields:
            name, rows = listed
            answer = {**answer, name: [_select(row, fields) for row in rows]}
        elif wrapped is not None and fields:
            answer = {wrapped[0]: _select(wrapped[1], fields)}
        elif fields:
            answer = _select(answer, fields)
        return json.dumps(answer, ensure_ascii=False, indent=2)
    if listed is not None:
        _, rows = listed
        columns = _columns(rows, fields)
        return table(columns, [[_cell(row.get(column)) for column in columns] for row in rows])
    record = wrapped[1] if wrapped is not None else answer
    record = _select(record, fields)
    if not record:
        return ""
    return table(["field", "value"], [[name, _cell(value)] for name, value in record.items()])
