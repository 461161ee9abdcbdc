"""``/client/api``: one request, from received parameters to a rendered answer.

The order is 4.1's (api-reference.md §a; CS41:server/src/com/cloud/api/ApiServlet.java
``processRequest``, ApiServer.java ``verifyRequest``/``handleRequest``):

1. read the parameters: query string and ``application/x-www-form-urlencoded`` body
   (``getParameterMap``), names as received, values decoded; the first value counts;
2. no ``command``: 401, or 400 when the request comes with a session cookie;
3. ``login``/``logout`` (any case): the auth module answers them;
4. an undeclared command: 432, before any signature is looked at (a session's
   ``sessionkey`` is still checked first: 401 wins there, as in the servlet);
5. authentication (``cumulo_api.auth.authenticate``): the role check (432) comes
   before the signature check (401), as in 4.1;
6. typed parameters (:mod:`cumulo_api.params`), then 4.1's ``page``/``pagesize`` rules
   for list commands against ``default.page.size``;
7. one transaction: a synchronous command's handler; or an async command's ``create``
   step (if any) and :func:`cumulo.jobs.submit`; the answer is rendered, then the
   transaction commits, and only then are the events it recorded published (the
   events module's after-commit listener).

Any error rolls the whole request back and reaches the error handler
(:mod:`cumulo_api.errors`) except what authentication itself recorded (a failed login
counted, an invalidated session): that is committed before the error is answered.

Handlers get these per-process services in ``Call.services``: ``"runtime"`` (the
:class:`cumulo.runtime.Runtime`), ``"config"`` (its configuration registry),
``"registry"`` (the command registry) and, for list commands, ``"max_page_size"``
(``default.page.size``, read once per request).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

import falcon
from sqlalchemy.orm import Session

from cumulo import events
from cumulo.db.listing import DEFAULT_PAGE_SIZE, page_window
from cumulo.jobs import submit
from cumulo.runtime import Runtime
from cumulo.sdk.api import Call, CallContext
from cumulo.sdk.errors import (
    AuthenticationFailed,
    CloudError,
    InvalidParameterValue,
    UnsupportedAction,
)
from cumulo_api import auth
from cumulo_api.errors import BadRequest
from cumulo_api.params import first_values, parse_params
from cumulo_api.registry import CommandRegistry, Entry
from cumulo_api.render import (
    ERROR_ENVELOPE,
    Format,
    Rendered,
    render,
    render_async,
    render_raw,
)

SESSION_COOKIE = "JSESSIONID"
SESSION_COOKIE_PATH = "/client"
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
MAX_FORM_BYTES = 4 * 1024 * 1024
"""Largest form body read (4.1 allowed 32 KB of user data; this leaves ample room)."""

UNKNOWN_COMMAND = "The given command does not exist or it is not available for user"


def read_params(req: falcon.Request) -> list[tuple[str, str]]:
    """The received ``(name, value)`` pairs: query string first, then a form body.

    The query string is parsed here once (falcon's own ``get_param`` would parse it a
    second time); its ``response`` choice is set on ``req.context.fmt`` before the body
    is read, so that an error while reading the body answers in that format.

    Values are percent- and ``+``-decoded as UTF-8, names kept exactly as received (the
    signature is computed over them). Pairs without ``=`` count as empty values, as the
    servlet container treats them.

    :raises InvalidParameterValue: the form body exceeds :data:`MAX_FORM_BYTES` (431;
        cutting it would hand the command a truncated value).
    """
    pairs = parse_qsl(req.query_string, keep_blank_values=True)
    req.context.fmt = _format(first_values(pairs).get("response"))
    media = (req.content_type or "").split(";", 1)[0].strip().lower()
    if req.method == "POST" and media == FORM_CONTENT_TYPE:
        body = req.bounded_stream.read(MAX_FORM_BYTES + 1)
        if len(body) > MAX_FORM_BYTES:
            raise InvalidParameterValue(
                f"the request body exceeds {MAX_FORM_BYTES} bytes; send less data"
            )
        pairs += parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
    return pairs


@contextlib.contextmanager
def _keeping_auth_records(db: Session) -> Iterator[None]:
    """Commit what authentication recorded even when it refuses the request (a failed
    login counted, an invalidated session): nothing else has been written yet."""
    try:
        yield
    except CloudError:
        db.commit()
        raise


class ApiResource:
    """The falcon resource of ``/client/api`` (GET and POST are the same, as in 4.1).

    :param runtime: the process's runtime (sessions, plugin manager, configuration).
    :param registry: the declared commands.
    """

    def __init__(self, runtime: Runtime, registry: CommandRegistry) -> None:
        self.runtime = runtime
        self.registry = registry
        self._base_services: dict[str, Any] = {
            "runtime": runtime,
            "config": runtime.config,
            "registry": registry,
        }

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Dispatch a GET request."""
        self.dispatch(req, resp)

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Dispatch a POST request (query string and form body both count)."""
        self.dispatch(req, resp)

    # -- the request --------------------------------------------------------------------

    def dispatch(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Answer one API request; errors propagate to the app's error handlers."""
        req.context.envelope = ERROR_ENVELOPE
        req.context.fmt = "xml"
        pairs = read_params(req)
        received = first_values(pairs)
        fmt = req.context.fmt = _format(received.get("response"))
        name = received.get("command")
        request = auth.ApiRequest(
            params=pairs, cookies=dict(req.cookies), remote_addr=req.remote_addr or ""
        )
        if name is None:
            if SESSION_COOKIE in req.cookies:
                raise BadRequest("no command specified")
            raise AuthenticationFailed()
        req.context.command = name
        lowered = name.lower()
        if lowered == "login":
            self._login(request, fmt, resp)
            return
        if lowered == "logout":
            self._logout(request, fmt, resp)
            return
        entry = self.registry.entry(name)
        if entry is None:
            if SESSION_COOKIE in req.cookies:
                # A session's key is checked before anything else (401 wins over 432).
                with self.runtime.sessions() as db, _keeping_auth_records(db):
                    auth.authenticate(db, request, None, self.runtime)
            raise UnsupportedAction(UNKNOWN_COMMAND)
        req.context.envelope = entry.command.envelope
        with self.runtime.sessions() as db:
            with _keeping_auth_records(db):
                ctx = auth.authenticate(db, request, entry.command, self.runtime)
            req.context.ctx = ctx
            rendered = self._run(db, entry, ctx, received, fmt, req.method)
            db.commit()
        _write(resp, rendered)

    def _run(
        self,
        db: Session,
        entry: Entry,
        ctx: CallContext,
        received: dict[str, str],
        fmt: Format,
        method: str,
    ) -> Rendered:
        command = entry.command
        params = parse_params(command, received, method=method)
        # Handlers that apply 4.1's GET/POST limits themselves (userdata) read the method.
        services = {**self._base_services, "http_method": method}
        if entry.is_list:
            max_page_size = self._max_page_size(db)
            page_window(params.get("page"), params.get("pagesize"), max_page_size)
            services = {**services, "max_page_size": max_page_size}
        call = Call(command, ctx, db, params, self.runtime.pm, services=services)
        if not command.is_async:
            return render(command.handler(call), command, fmt)
        instance = command.create(call) if command.create is not None else None
        job_uuid = submit(db, call, instance=instance)
        return render_async(command, job_uuid, instance[1] if instance else None, fmt)

    def _max_page_size(self, db: Session) -> int:
        if "default.page.size" not in self.runtime.config:
            return DEFAULT_PAGE_SIZE
        return self.runtime.config_store(db).integer("default.page.size") or DEFAULT_PAGE_SIZE

    # -- login and logout ---------------------------------------------------------------

    def _login(self, request: auth.ApiRequest, fmt: Format, resp: falcon.Response) -> None:
        with self.runtime.sessions() as db:
            with _keeping_auth_records(db):
                outcome = auth.login(db, request, self.runtime)
            rendered = render_raw("loginresponse", outcome.result, fmt)
            db.commit()
        _write(resp, rendered)
        resp.set_cookie(
            SESSION_COOKIE,
            outcome.session_id,
            path=SESSION_COOKIE_PATH,
            secure=False,  # 4.1 serves plain HTTP on :8080; TLS is a proxy's business
            http_only=True,
        )

    def _logout(self, request: auth.ApiRequest, fmt: Format, resp: falcon.Response) -> None:
        with self.runtime.sessions() as db:
            result = auth.logout(db, request)
            rendered = render_raw("logoutresponse", result, fmt)
            db.commit()
        _write(resp, rendered)


def _format(response: str | None) -> Format:
    """``response=json`` (any case) selects JSON; anything else, or nothing, XML."""
    return "json" if response is not None and response.lower() == "json" else "xml"


def _write(resp: falcon.Response, rendered: Rendered) -> None:
    status, body, content_type = rendered
    resp.status = status
    resp.data = body
    resp.content_type = content_type


def install_event_publishing(runtime: Runtime) -> None:
    """Have events recorded in ``runtime``'s sessions published after commit (the
    events module's listener; installing twice is harmless)."""
    events.install(runtime.sessions, runtime.pm)
