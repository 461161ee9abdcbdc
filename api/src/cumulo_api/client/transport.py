"""Talking to a CloudStack 4.1 API endpoint over HTTP: signed calls, sessions, jobs.

Only the standard library (``urllib``) is used, so the client adds no dependency to
``cumulo-api``. A call is authenticated in one of three ways, chosen by what the
configuration holds:

- a session opened by :meth:`ApiClient.login`: the ``JSESSIONID`` cookie plus the
  ``sessionkey`` parameter on every call, no signature (api-reference.md §b);
- API keys: the call is signed by :mod:`cumulo_api.client.signer` (§a);
- neither: sent as is, which only an integration port accepts.

Every answer other than HTTP 200 becomes an :class:`ApiError` carrying 4.1's
``errorcode`` and ``errortext``.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from email.message import Message
from http.cookies import CookieError, SimpleCookie
from typing import Any

from cumulo_api.client.config import ClientConfig, Session
from cumulo_api.client.signer import sign

SESSION_COOKIE = "JSESSIONID"
HTTP_TIMEOUT = 60.0


class ApiError(Exception):
    """The server answered an error, or could not be reached (``errorcode`` 0).

    :param errorcode: 4.1's ``errorcode`` (the HTTP status for API errors).
    :param errortext: the server's explanation.
    """

    def __init__(self, errorcode: int, errortext: str) -> None:
        super().__init__(f"{errorcode}: {errortext}")
        self.errorcode = errorcode
        self.errortext = errortext


class JobFailed(ApiError):
    """An async job ended with ``jobstatus`` 2; ``errorcode`` is the job result's."""

    def __init__(self, jobid: str, errorcode: int, errortext: str) -> None:
        super().__init__(errorcode, errortext)
        self.jobid = jobid


class JobTimeout(ApiError):
    """An async job was still running when the wait ended."""

    def __init__(self, jobid: str, seconds: float) -> None:
        super().__init__(0, f"async job {jobid} still running after {seconds:g} s")
        self.jobid = jobid


def _unwrap(body: Any) -> dict[str, Any]:
    # 4.1 wraps every answer in exactly one envelope key; its value is the answer.
    if isinstance(body, dict) and len(body) == 1:
        (inner,) = body.values()
        if isinstance(inner, dict):
            return inner
    raise ApiError(0, "the server's answer is not a CloudStack JSON envelope")


def _error_from(status: int, headers: Message, payload: bytes) -> ApiError:
    text = payload.decode("utf-8", errors="replace")
    try:
        inner = _unwrap(json.loads(text))
    except (ValueError, ApiError):
        inner = {}
    errortext = inner.get("errortext") or headers.get("X-Description") or text.strip()
    errorcode = inner.get("errorcode", status)
    return ApiError(int(errorcode), str(errortext or f"HTTP {status}"))


class ApiClient:
    """Calls one endpoint with the credentials of a :class:`ClientConfig`.

    :param config: the endpoint, keys or session, and signing settings.
    :param sleep: how to wait between job polls (tests pass a recorder).
    """

    def __init__(
        self, config: ClientConfig, *, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self.config = config
        self._sleep = sleep

    # ---- one request -------------------------------------------------------------------

    def _send(
        self, params: Sequence[tuple[str, str]], *, post: bool, cookie: str | None
    ) -> tuple[int, Message, bytes]:
        encoded = urllib.parse.urlencode(list(params))
        headers = {"Accept": "application/json"}
        if cookie is not None:
            headers["Cookie"] = f"{SESSION_COOKIE}={cookie}"
        if post:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            request = urllib.request.Request(
                self.config.url, data=encoded.encode("ascii"), headers=headers, method="POST"
            )
        else:
            request = urllib.request.Request(f"{self.config.url}?{encoded}", headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as answer:
                return answer.status, answer.headers, answer.read()
        except urllib.error.HTTPError as error:  # a non-2xx answer still has a body
            with error:
                return error.code, error.headers, error.read()
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ApiError(0, f"cannot reach {self.config.url}: {reason}") from None

    def call(
        self, command: str, params: Sequence[tuple[str, str]] = (), *, post: bool | None = None
    ) -> dict[str, Any]:
        """Run ``command`` and return its answer without the envelope.

        :param params: ``(name, value)`` pairs as given by the user (names untouched).
        :param post: send a form body instead of a query string (default: the
            ``method`` setting).
        :raises ApiError: the server answered an error or could not be reached.
        """
        wire = [("command", command), *params, ("response", "json")]
        cookie = None
        session = self.config.session
        if session is not None:
            wire.append(("sessionkey", session.sessionkey))
            cookie = session.jsessionid
        elif self.config.has_keys:
            wire = sign(
                wire,
                self.config.apikey,
                self.config.secretkey,
                signature_version=int(self.config.signatureversion),
                lifetime_seconds=int(self.config.expires),
            )
        use_post = self.config.method == "post" if post is None else post
        status, headers, payload = self._send(wire, post=use_post, cookie=cookie)
        if status != 200:
            raise _error_from(status, headers, payload)
        try:
            return _unwrap(json.loads(payload))
        except ValueError:
            raise ApiError(0, "the server's answer is not JSON") from None

    # ---- sessions ----------------------------------------------------------------------

    def login(
        self,
        username: str,
        password: str,
        *,
        domain: str | None = None,
        domainid: str | None = None,
    ) -> tuple[Session, dict[str, Any]]:
        """Open a server-side session (``login``, sent as a POST form like the 4.1 UI).

        :param domain: the domain *path* (``/`` is ROOT, ``/Sales/`` a child).
        :param domainid: the domain's id instead of its path.
        :return: the session to store and the ``loginresponse`` fields.
        :raises ApiError: 531 for wrong credentials; anything else the server answers.
        """
        params = [("command", "login"), ("username", username), ("password", password)]
        if domainid:
            params.append(("domainid", domainid))
        else:
            params.append(("domain", domain or "/"))
        params.append(("response", "json"))
        status, headers, payload = self._send(params, post=True, cookie=None)
        if status != 200:
            raise _error_from(status, headers, payload)
        answer = _unwrap(json.loads(payload))
        jsessionid = _session_cookie(headers)
        sessionkey = answer.get("sessionkey")
        if jsessionid is None or not sessionkey:
            raise ApiError(0, "login answered without a JSESSIONID cookie and a sessionkey")
        session = Session(jsessionid, str(sessionkey), username, domain or domainid or "/")
        return session, answer

    def logout(self) -> dict[str, Any]:
        """End the stored session on the server (``logout``)."""
        return self.call("logout")

    # ---- async jobs --------------------------------------------------------------------

    def wait_for_job(
        self, jobid: str, *, timeout: float | None = None, interval: float | None = None
    ) -> dict[str, Any]:
        """Poll ``queryAsyncJobResult`` until job ``jobid`` has finished.

        :param timeout: give up after this many seconds (default: the ``timeout``
            setting); :class:`JobTimeout` then.
        :param interval: seconds between polls (default: the ``pollinterval`` setting).
        :return: the ``queryasyncjobresultresponse`` fields of the finished job.
        :raises JobFailed: the job failed (``jobstatus`` 2); it carries the job
            result's ``errorcode`` and ``errortext``.
        """
        limit = float(self.config.timeout) if timeout is None else timeout
        pause = float(self.config.pollinterval) if interval is None else interval
        deadline = time.monotonic() + limit
        while True:
            answer = self.call("queryAsyncJobResult", [("jobid", jobid)])
            status = answer.get("jobstatus")
            if status == 1:
                return answer
            if status == 2:
                result = answer.get("jobresult")
                result = result if isinstance(result, Mapping) else {}
                raise JobFailed(
                    jobid,
                    int(result.get("errorcode", answer.get("jobresultcode", 530))),
                    str(result.get("errortext", "the job failed without an explanation")),
                )
            if time.monotonic() + pause > deadline:
                raise JobTimeout(jobid, limit)
            self._sleep(pause)


def _session_cookie(headers: Message) -> str | None:
    for header in headers.get_all("Set-Cookie") or ():
        cookie: SimpleCookie = SimpleCookie()
        try:
            cookie.load(header)
        except CookieError:
            continue
        if SESSION_COOKIE in cookie:
            return cookie[SESSION_COOKIE].value
    return None
