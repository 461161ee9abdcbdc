"""Answers on the wire: JSON and XML exactly as CloudStack 4.1 writes them.

The rules (api-reference.md §c; CS41:server/src/com/cloud/api/response/
ApiResponseSerializer.java):

- the top key is the command's envelope (``Command.envelope``), errors included;
- a list is ``{"count": total, "<object>": [...]}`` with ``count`` first, and an empty
  page is ``{}``;
- a single object is ``{"<object>": {...}}``; ``RawResult`` fields sit directly in the
  envelope (``login``, ``queryAsyncJobResult``);
- ``success`` is the *string* ``"true"`` in a synchronous JSON answer (libcloud compares
  with ``== "true"``), a boolean in XML text and in job results; JSON drops a
  ``SuccessResponse``'s ``displaytext``;
- fields whose value is ``None`` are omitted (gson), empty lists stay ``[]``, dates are
  ``yyyy-MM-dd'T'HH:mm:ssZ``;
- XML: ``<?xml version="1.0" encoding="UTF-8"?><envelope cloud-stack-version="4.1.0">``,
  escaped text, arrays as repeated elements named after the field;
- an async command answers ``{"jobid": ...}`` at once, with ``"id"`` first for 4.1's
  create commands (in XML too: 4.1 lost it there, a bug fixed in 4.2).
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Mapping
from typing import Any, Literal

import orjson

from cumulo.db.listing import Prepared
from cumulo.sdk.api import (
    Command,
    ListResult,
    ObjectResult,
    RawResult,
    Result,
    SuccessResult,
    format_date,
)
from cumulo.sdk.errors import CloudError
from cumulo_api import CLOUDSTACK_VERSION

Format = Literal["json", "xml"]
Rendered = tuple[int, bytes, str]

JSON_CONTENT_TYPE = "text/javascript; charset=UTF-8"
XML_CONTENT_TYPE = "text/xml; charset=UTF-8"
ERROR_ENVELOPE = "errorresponse"

_XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'
# Characters XML 1.0 cannot carry at all (not even escaped); replaced, never sent.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def content_type(fmt: Format) -> str:
    """The Content-Type of an answer in ``fmt`` (cs accepts only ``text/javascript``
    or ``application/json`` for JSON)."""
    return JSON_CONTENT_TYPE if fmt == "json" else XML_CONTENT_TYPE


# ---- values ---------------------------------------------------------------------------


# Values that need no conversion; checked by exact type first, as most fields are these
# (a page of 500 accounts is some 20,000 of them).
_PLAIN = frozenset({str, int, bool, float})


def prepare(value: Any) -> Any:
    """``value`` as JSON-ready data: ``None`` fields and items dropped, dates formatted
    4.1's way, enums as their values, tuples as lists; everything else unchanged.
    :class:`~cumulo.db.listing.Prepared` fields are that already and pass as they are."""
    kind = type(value)
    if kind in _PLAIN or kind is Prepared:
        return value
    if kind is dict or isinstance(value, Mapping):
        return {
            str(key): item if type(item) in _PLAIN else prepare(item)
            for key, item in value.items()
            if item is not None
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [
            item if type(item) in _PLAIN else prepare(item) for item in value if item is not None
        ]
    if isinstance(value, dt.datetime):
        return format_date(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    return value


def _content(result: Result, *, sync_json: bool) -> dict[str, Any]:
    """What goes inside the envelope. ``sync_json``: the synchronous JSON quirks
    (``success`` as a string, no ``displaytext``)."""
    if isinstance(result, ObjectResult):
        return {result.object_name: prepare(result.fields)}
    if isinstance(result, ListResult):
        if not result.items:
            return {}
        return {"count": result.count, result.object_name: prepare(result.items)}
    if isinstance(result, SuccessResult):
        if sync_json:
            return {"success": "true" if result.success else "false"}
        content: dict[str, Any]
        content = {"success": result.success}
        if result.displaytext is not None:
            content["displaytext"] = result.displaytext
        return content
    if isinstance(result, RawResult):
        fields: dict[str, Any] = prepare(result.fields)
        return fields
    raise TypeError(f"a handler returned {type(result).__name__}, not a cumulo.sdk result")


def _document(envelope: str, content: Mapping[str, Any], fmt: Format) -> bytes:
    if fmt == "json":
        return orjson.dumps({envelope: content})
    parts = [_XML_DECLARATION, f'<{envelope} cloud-stack-version="{CLOUDSTACK_VERSION}">']
    _xml_fields(parts, content)
    parts.append(f"</{envelope}>")
    return "".join(parts).encode("utf-8")


# ---- answers --------------------------------------------------------------------------


def render(result: Result, command: Command, fmt: Format) -> Rendered:
    """A successful synchronous answer: ``(200, body, content type)``.

    :raises TypeError: ``result`` is not one of the ``cumulo.sdk`` result types (a
        handler's bug; the error handler turns it into 530).
    """
    content = _content(result, sync_json=fmt == "json")
    return 200, _document(command.envelope, content, fmt), content_type(fmt)


def render_raw(envelope: str, result: RawResult, fmt: Format) -> Rendered:
    """An answer that belongs to no declared command (``login``, ``logout``)."""
    return 200, _document(envelope, _content(result, sync_json=True), fmt), content_type(fmt)


def render_async(
    command: Command, job_uuid: str, instance_uuid: str | None, fmt: Format
) -> Rendered:
    """The immediate answer of an async command: ``jobid``, and ``id`` (first) for a
    command with ``create`` (4.1's ``BaseAsyncCreateCmd``)."""
    content = {"id": instance_uuid, "jobid": job_uuid} if instance_uuid else {"jobid": job_uuid}
    return 200, _document(command.envelope, content, fmt), content_type(fmt)


def error_content(error: CloudError, errortext: str | None = None) -> dict[str, Any]:
    """``ExceptionResponse``'s fields: ``errorcode``, ``cserrorcode`` (left out for the
    errors 4.1 sends without one: 401, 400, failed login) and ``errortext``.

    4.1 never initialised ``uuidList``, so it is omitted as 4.1 omits it.
    """
    content: dict[str, Any] = {"errorcode": error.errorcode}
    if error.cserrorcode:
        content["cserrorcode"] = error.cserrorcode
    content["errortext"] = error.errortext if errortext is None else errortext
    return content


def render_error(
    error: CloudError, envelope: str, fmt: Format, errortext: str | None = None
) -> Rendered:
    """An error answer: ``(errorcode, body, content type)``; HTTP status = errorcode.

    :param envelope: the command's envelope, or :data:`ERROR_ENVELOPE` where 4.1 uses
        it (432, unknown or missing command, failed login).
    :param errortext: replaces the error's own text (hidden internal errors).
    """
    body = _document(envelope, error_content(error, errortext), fmt)
    return error.errorcode, body, content_type(fmt)


def job_result(result: Result) -> tuple[str, dict[str, Any]]:
    """``(jobresulttype, jobresult)`` as an async job stores a handler's result.

    The result keeps its object wrapper (``{"virtualmachine": {...}}``), booleans stay
    booleans (``{"success": true}``), dates are formatted and ``None`` fields dropped,
    so the stored JSON renders unchanged in ``queryAsyncJobResult``.
    """
    return "object", _content(result, sync_json=False)


def job_error(error: CloudError, errortext: str | None = None) -> dict[str, Any]:
    """The ``jobresult`` of a failed job: ``{"errorcode", "errortext"}`` only, as 4.1's
    ``ResponseObjectTypeAdapter`` writes it (the job's ``jobresultcode`` is 530)."""
    return {
        "errorcode": error.errorcode,
        "errortext": error.errortext if errortext is None else errortext,
    }


# ---- XML ------------------------------------------------------------------------------


def xml_escape(text: str) -> str:
    """``text`` escaped for XML content and attributes; characters XML cannot carry are
    replaced by U+FFFD."""
    text = (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&apos;")
    )
    return _XML_ILLEGAL.sub("\ufffd", text) if _XML_ILLEGAL.search(text) else text


def _xml_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return format_date(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return str(value.value)
    return xml_escape(str(value))


def _xml_fields(parts: list[str], fields: Mapping[str, Any]) -> None:
    for name, value in fields.items():
        if value is None:
            continue
        if isinstance(value, list | tuple | set | frozenset):
            for item in value:
                _xml_element(parts, name, item)
        else:
            _xml_element(parts, name, value)


def _xml_element(parts: list[str], name: str, value: Any) -> None:
    if value is None:
        return
    parts.append(f"<{name}>")
    if isinstance(value, Mapping):
        _xml_fields(parts, value)
    else:
        parts.append(_xml_text(value))
    parts.append(f"</{name}>")
