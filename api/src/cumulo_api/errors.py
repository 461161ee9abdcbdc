"""The one place errors become answers: falcon error handlers for the whole app.

Handlers and services raise :mod:`cumulo.sdk.errors` exceptions and never catch them
to build responses. Here every :class:`CloudError` is rendered as 4.1 renders a
``ServerApiException`` (CS41:server/src/com/cloud/api/ApiServer.java
``getSerializedApiError``; ApiServlet.java):

- in the command's own envelope, or ``errorresponse`` for 432, an unknown or missing
  command and ``login``/``logout`` (the dispatcher records which in ``req.context``);
- HTTP status = ``errorcode``;
- header ``X-Description: <errortext>`` for errors 4.1 raised as ``ServerApiException``
  (cloudmonkey prints it); 401, 400 and a failed login came from
  ``sendError(int, ...)`` without it and without ``cserrorcode``;
- the text of internal errors (530, 533, 534, 535) replaced for callers that are not
  root admins.

Any other exception is a bug: it is logged with a request id (sent back in
``X-Request-Id``) and answered 530, its text shown to root admins only, as 4.1 did.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import falcon

from cumulo.sdk.api import CallContext
from cumulo.sdk.errors import CloudError, InternalError, UnsupportedAction
from cumulo_api.render import ERROR_ENVELOPE, Format, render_error

log = logging.getLogger(__name__)

USER_ERROR_MESSAGE = "Internal error executing command, please contact your system administrator"
"""What non-root callers read instead of an internal error's text (4.1's BaseCmd)."""


class BadRequest(CloudError):
    """400: a request on a logged-in session without ``command`` (4.1's ApiServlet)."""

    errorcode = 400
    cserrorcode = 0
    internal = False


def _context(req: falcon.Request) -> tuple[Format, str, CallContext | None]:
    """The answer's format, envelope and the caller, as far as the request got."""
    context = req.context
    fmt: Format = "json" if context.get("fmt") == "json" else "xml"
    envelope = str(context.get("envelope") or ERROR_ENVELOPE)
    ctx = context.get("ctx")
    return fmt, envelope, ctx if isinstance(ctx, CallContext) else None


def _header_text(text: str) -> str:
    # A header carries one line of Latin-1; anything else would break the response.
    return "".join(
        char if char >= " " and char != "\x7f" and ord(char) < 256 else "?" for char in text
    )


def _respond(
    req: falcon.Request, resp: falcon.Response, error: CloudError, errortext: str | None
) -> None:
    fmt, envelope, _ = _context(req)
    if isinstance(error, UnsupportedAction):
        envelope = ERROR_ENVELOPE  # every 432, even for a known command (4.1)
    status, body, content_type = render_error(error, envelope, fmt, errortext)
    resp.status = status
    resp.data = body
    resp.content_type = content_type
    if error.cserrorcode:
        resp.set_header("X-Description", _header_text(errortext or error.errortext))


def handle_cloud_error(
    req: falcon.Request, resp: falcon.Response, error: CloudError, params: dict[str, Any]
) -> None:
    """Render a :class:`CloudError` (falcon error handler)."""
    _, _, ctx = _context(req)
    hidden = error.internal and not (ctx is not None and ctx.is_root_admin)
    if hidden or error.errorcode >= 530:
        log.info(
            "%s %s failed: %s %s",
            req.method,
            req.context.get("command", "?"),
            error.errorcode,
            error.errortext,
        )
    _respond(req, resp, error, USER_ERROR_MESSAGE if hidden else None)


def handle_unexpected(
    req: falcon.Request, resp: falcon.Response, error: Exception, params: dict[str, Any]
) -> None:
    """Render any other exception as 530 and log it with a request id."""
    request_id = uuid.uuid4().hex
    log.error(
        "request %s: command %s failed with an unexpected error",
        request_id,
        req.context.get("command", "?"),
        exc_info=error,
    )
    _, _, ctx = _context(req)
    text = f"{type(error).__name__}: {error}" if ctx is not None and ctx.is_root_admin else None
    resp.set_header("X-Request-Id", request_id)
    _respond(req, resp, InternalError(text or USER_ERROR_MESSAGE), None)


def install(app: falcon.App[falcon.Request, falcon.Response]) -> None:
    """Register both handlers on ``app``; falcon's own ``HTTPError`` handling (unknown
    routes, wrong methods) stays as it is."""
    app.add_error_handler(CloudError, handle_cloud_error)
    app.add_error_handler(Exception, handle_unexpected)
