"""libvirt connections of one process: opened lazily, shared, reopened when stale.

Both drivers of the plugin (hypervisor and storage) reach hosts through one
:class:`Connections` per process (:func:`shared`): a connection per libvirt URI, opened
on first use with the host's credentials offered to libvirt's authentication callback
(never put in the URI), reused by every thread (libvirt connections are thread-safe),
and dropped when a call finds it dead — libvirtd restarted, host rebooted — after which
the call is retried once on a fresh connection: the request never reached a daemon, so
the retry cannot do anything twice.

Errors come out as the contract's: the connection refused, closed or timed out is
:class:`HostUnreachable`; refused credentials :class:`InvalidHostCredentials`; anything
else the daemon answered :class:`OperationFailed` (the callers narrow some codes, such
as a missing domain, themselves).

:meth:`Connections.ping` answers within its timeout even when a host hangs: the call
runs in a thread of its own and is abandoned, not waited for, when late; while it is
still stuck the host is reported unreachable at once, so a hung host costs one thread.
A ping has no password (the core decrypts none for heartbeats): it reuses the
process's connection, or opens one without credentials, and a libvirtd that answers
with a request to log in has answered. ``connect`` (``addHost``, a reconnection)
always opens a new connection with the credentials it is given, so a wrong password
is refused even when the process holds a connection opened with the right one.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import libvirt  # type: ignore[import-untyped]

from cumulo.sdk import (
    HostConnection,
    HostUnreachable,
    HypervisorError,
    InvalidHostCredentials,
    OperationFailed,
)
from cumulo_kvm.hosturl import HostOptions, host_options

log = logging.getLogger(__name__)
_T = TypeVar("_T")

_AUTH_CODES = frozenset(
    {
        libvirt.VIR_ERR_AUTH_FAILED,
        libvirt.VIR_ERR_AUTH_CANCELLED,
        libvirt.VIR_ERR_AUTH_UNAVAILABLE,
    }
)
_TRANSPORT_DOMAINS = frozenset({libvirt.VIR_FROM_RPC, libvirt.VIR_FROM_REMOTE})
_DEAD_CODES = frozenset({libvirt.VIR_ERR_INVALID_CONN, libvirt.VIR_ERR_OPERATION_TIMEOUT})


def _silence(_context: object, _error: object) -> None:
    """libvirt prints every error on stderr by default; the drivers report them."""


libvirt.registerErrorHandler(_silence, None)


def message_of(error: libvirt.libvirtError) -> str:
    """libvirt's one-line message of ``error``."""
    return str(error.get_error_message() or error).strip()


def is_unreachable(error: libvirt.libvirtError) -> bool:
    """The error says the connection to the host failed, not an operation on it."""
    code, domain = error.get_error_code(), error.get_error_domain()
    if code in _AUTH_CODES:
        return False
    return code in _DEAD_CODES or domain in _TRANSPORT_DOMAINS


def translate(error: libvirt.libvirtError, where: str) -> HypervisorError:
    """The contract's error for a libvirt error at ``where`` (a host's address)."""
    text = message_of(error)
    if error.get_error_code() in _AUTH_CODES:
        return InvalidHostCredentials(f"{where}: {text}")
    if is_unreachable(error):
        return HostUnreachable(f"{where}: {text}")
    return OperationFailed(f"{where}: {text}")


def _authenticate(credentials: list[list[Any]], login: tuple[str, str]) -> int:
    """libvirt's credential callback: the addHost user name and password, nothing else
    (a host key question or any other prompt is declined)."""
    username, password = login
    for credential in credentials:
        kind = credential[0]
        if kind == libvirt.VIR_CRED_AUTHNAME:
            credential[4] = username or credential[3]
        elif kind == libvirt.VIR_CRED_PASSPHRASE and password:
            credential[4] = password
        else:
            return -1
    return 0


class Connections:
    """The process's connections, by libvirt URI (module doc)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[str, Any] = {}
        self._opening: dict[str, threading.Lock] = {}
        self._pings: dict[str, threading.Event] = {}

    def _connect(
        self, options: HostOptions, connection: HostConnection, fresh: bool = False
    ) -> tuple[Any, bool]:
        """The URI's connection and whether it was opened just now (``fresh``: always
        open one, replacing the cached one, so that the credentials are checked)."""
        with self._lock:
            found = self._open.get(options.uri)
            if found is not None and not fresh:
                return found, False
            gate = self._opening.setdefault(options.uri, threading.Lock())
        with gate:  # one opener per URI; the others wait for its connection
            with self._lock:
                found = self._open.get(options.uri)
            if found is not None and not fresh:
                return found, False
            login = (connection.username, connection.password)
            auth = [
                [
                    libvirt.VIR_CRED_AUTHNAME,
                    libvirt.VIR_CRED_PASSPHRASE,
                    libvirt.VIR_CRED_ECHOPROMPT,
                    libvirt.VIR_CRED_NOECHOPROMPT,
                ],
                _authenticate,
                login,
            ]
            try:
                opened = libvirt.openAuth(options.uri, auth, 0)
            except libvirt.libvirtError as exc:
                raise translate(exc, options.address) from exc
            with self._lock:
                replaced = self._open.get(options.uri)
                self._open[options.uri] = opened
            if replaced is not None:
                with contextlib.suppress(libvirt.libvirtError):
                    replaced.close()
            log.info("opened libvirt connection to %s", options.uri)
            return opened, True

    def forget(self, uri: str, *, close: bool = True) -> None:
        """Drop the URI's connection (closing it unless it may be stuck in a call)."""
        with self._lock:
            stale = self._open.pop(uri, None)
        if stale is not None and close:
            with contextlib.suppress(libvirt.libvirtError):  # already dead: nothing to release
                stale.close()

    def call(
        self, connection: HostConnection, operation: Callable[[Any], _T], *, login: bool = False
    ) -> _T:
        """Run ``operation(conn)`` on the host's connection (module doc for errors).

        ``operation`` may raise :class:`HypervisorError` itself; a ``libvirtError`` it
        lets out is translated.

        :param login: open a new connection with ``connection``'s credentials even if one
            is open (``connect`` checks them, REQ-HOST: a wrong password is refused).
        """
        options = host_options(connection)
        for attempt in (1, 2):
            conn, fresh = self._connect(options, connection, fresh=login and attempt == 1)
            try:
                return operation(conn)
            except libvirt.libvirtError as exc:
                if is_unreachable(exc):
                    self.forget(options.uri)
                    if attempt == 1 and not fresh:
                        log.info("libvirt connection to %s was stale; reopening", options.uri)
                        continue
                raise translate(exc, options.address) from exc
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def ping(self, connection: HostConnection, timeout: float) -> None:
        """One cheap round trip to the host within ``timeout`` seconds.

        :raises HostUnreachable: no answer in time, or the connection failed.
        :raises OperationFailed: the host answered with an error.
        """
        options = host_options(connection)
        with self._lock:
            if options.uri in self._pings:
                raise HostUnreachable(f"{options.address}: an earlier ping has not returned yet")
            done = self._pings[options.uri] = threading.Event()
        outcome: list[BaseException] = []

        def run() -> None:
            try:
                self.call(connection, lambda conn: conn.getLibVersion())
            except InvalidHostCredentials:
                # A ping carries no password: a libvirtd that asks for a login (SASL) and
                # refuses none has answered, which is all a ping needs to know.
                pass
            except BaseException as exc:  # handed to the waiting caller
                outcome.append(exc)
            finally:
                with self._lock:
                    self._pings.pop(options.uri, None)
                done.set()

        threading.Thread(target=run, name=f"kvm-ping {options.address}", daemon=True).start()
        if not done.wait(timeout):
            self.forget(options.uri, close=False)
            raise HostUnreachable(f"{options.address}: no answer within {timeout:g} s")
        if outcome:
            raise outcome[0]


_SHARED: Connections | None = None
_SHARED_LOCK = threading.Lock()


def shared() -> Connections:
    """The process's :class:`Connections` (one for both drivers)."""
    global _SHARED
    with _SHARED_LOCK:
        if _SHARED is None:
            _SHARED = Connections()
        return _SHARED
