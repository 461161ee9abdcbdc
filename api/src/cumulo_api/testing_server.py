"""A real ``cumulo serve`` for tests: the process, its HTTP API, and a blocking job.

For tests that need what only real processes show (gunicorn, the job worker, signals,
several management servers on one database). Pair it with
:func:`cumulo.testing.deployment.deploy_database`, which writes the configuration
directory such a server starts from.

- :class:`ServeProcess` starts ``cumulo serve`` in a process group of its own, its
  output in a log file, waits for ``/healthz``, sends signed API calls and stops it;
- :func:`free_port`, :func:`cumulo_executable` and :func:`http_get` are the small pieces
  it is made of;
- :data:`BLOCKING_JOB_PLUGIN` is the source of a plugin contributing ``testSleep``, an
  async command that blocks until the test releases it;
  :func:`write_blocking_job_plugin` (or the ``blocking_job_plugin`` fixture of
  :mod:`cumulo_api.testing`) installs it as a throwaway distribution.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote, urlencode

import pytest

from cumulo_api.testing import sign

__all__ = [
    "BLOCKING_JOB_MARKS_ENV",
    "BLOCKING_JOB_PLUGIN",
    "COMPACT_ARGS",
    "ServeProcess",
    "cumulo_executable",
    "free_port",
    "http_get",
    "write_blocking_job_plugin",
]

COMPACT_ARGS = ("--workers", "1", "--threads", "2", "--job-threads", "2")
"""``cumulo serve`` arguments for a small server: one gunicorn worker with two threads
and two job threads."""

BLOCKING_JOB_MARKS_ENV = "CUMULO_JOBTEST_DIR"
"""The environment variable naming the marks directory of :data:`BLOCKING_JOB_PLUGIN`;
set it for the server process (``ServeProcess(env=...)``)."""

BLOCKING_JOB_PLUGIN = '''
"""Test-only async command: marks that it started, then blocks until released."""
import os
import time
from pathlib import Path

from cumulo import hookimpl
from cumulo.sdk.api import ALL_ROLES, Command, ObjectResult, Param, ParamType


def sleep(call):
    marks = Path(os.environ["CUMULO_JOBTEST_DIR"])
    (marks / f"{call.job_uuid}.started").write_text(str(os.getpid()))
    deadline = time.monotonic() + (call.get("seconds") or 0)
    while time.monotonic() < deadline and not (marks / "release").exists():
        time.sleep(0.05)
    return ObjectResult("sleep", {"seconds": call.get("seconds") or 0, "pid": os.getpid()})


@hookimpl
def cumulo_api_commands():
    return [
        Command(
            "testSleep",
            sleep,
            params=(Param("seconds", ParamType.INTEGER),),
            roles=ALL_ROLES,
            is_async=True,
            java_class="org.example.cumulo.test.SleepCmd",
        )
    ]
'''
"""Source of the module ``cumulo_jobtest``, a ``cumulo.plugins`` plugin contributing
``testSleep`` (async, any role, optional integer ``seconds``).

Its job, in the job worker: writes ``<marks>/<job uuid>.started`` holding the worker's
pid (``<marks>`` is ``$CUMULO_JOBTEST_DIR``), then returns when ``seconds`` (default 0)
have passed or as soon as the file ``<marks>/release`` exists, with the result
``{"sleep": {"seconds": <seconds>, "pid": <worker pid>}}``."""

BLOCKING_JOB_DISTRIBUTION = "cumulo-jobtest"
BLOCKING_JOB_MODULE = "cumulo_jobtest"


def write_blocking_job_plugin(make_distribution: Callable[..., Path]) -> Path:
    """Install :data:`BLOCKING_JOB_PLUGIN` as the distribution ``cumulo-jobtest`` with
    the ``make_distribution`` fixture of :mod:`cumulo.testing.plugins`.

    :return: the directory holding it: on ``sys.path`` of the test for its duration;
        pass it as ``ServeProcess(python_path=[...])`` for the server to load it too.
    """
    return make_distribution(
        BLOCKING_JOB_DISTRIBUTION,
        modules={BLOCKING_JOB_MODULE: BLOCKING_JOB_PLUGIN},
        entry_points={"cumulo.plugins": {"jobtest": BLOCKING_JOB_MODULE}},
    )


def free_port() -> int:
    """A TCP port of 127.0.0.1 nobody listens on right now (the kernel's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cumulo_executable() -> str:
    """The ``cumulo`` console script beside the interpreter running the tests."""
    return str(Path(sys.executable).with_name("cumulo"))


def http_get(url: str, timeout: float = 30.0) -> tuple[int, bytes]:
    """``GET url``: ``(status, body)``, error statuses included.

    :raises OSError: nothing answers (connection refused, timeout).
    """
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            return int(answer.status), answer.read()
    except urllib.error.HTTPError as error:
        return int(error.code), error.read()


class ServeProcess:
    """``cumulo serve --bind <host>:<port> *args`` in a process group of its own.

    Started by the constructor, not yet waited for: call :meth:`wait_until_healthy`,
    or use the instance as a context manager, which waits on entry and :meth:`stop`\\ s
    on exit (also when the wait fails). Standard output and error are appended to
    ``log``.

    :param args: more ``cumulo serve`` arguments (see :data:`COMPACT_ARGS`).
    :param log: the file receiving the server's output; :meth:`tail` reads it.
    :param env: variables set for the server on top of this process's environment
        (``CUMULO_CONF_DIR`` at least, unless the test wants ``--embedded``).
    :param python_path: directories put in front of ``PYTHONPATH``, such as throwaway
        plugin distributions.
    :param keys: the ``(apikey, secretkey)`` :meth:`call` signs with.
    :param host: the address to bind; ``port`` defaults to a :func:`free_port`.
    :param start_timeout: seconds :meth:`wait_until_healthy` waits.
    """

    def __init__(
        self,
        *args: str,
        log: Path,
        env: Mapping[str, str] | None = None,
        python_path: Sequence[Path] = (),
        keys: tuple[str, str] | None = None,
        host: str = "127.0.0.1",
        port: int | None = None,
        start_timeout: float = 60.0,
    ) -> None:
        self.host = host
        self.port = free_port() if port is None else port
        self.base = f"http://{host}:{self.port}"
        self.api_url = f"{self.base}/client/api"
        self.log = log
        self.keys = keys
        self.start_timeout = start_timeout
        environment = {**os.environ, **(env or {})}
        if python_path:
            inherited = [environment["PYTHONPATH"]] if environment.get("PYTHONPATH") else []
            environment["PYTHONPATH"] = os.pathsep.join([*map(str, python_path), *inherited])
        command = [cumulo_executable(), "serve", "--bind", f"{host}:{self.port}", *args]
        with log.open("ab") as output:
            self.process = subprocess.Popen(
                command,
                env=environment,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: kill() ends it all
            )

    def __enter__(self) -> ServeProcess:
        try:
            self.wait_until_healthy()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # ---- watching ----------------------------------------------------------------------

    def wait_until_healthy(self) -> None:
        """Return once ``/healthz`` answers 200.

        Fails the test (``pytest.fail``, with the end of the log) when the process exits
        first or ``start_timeout`` passes; the process is left as it is then.
        """
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"cumulo serve exited with {self.process.returncode}:\n{self.tail()}")
            with contextlib.suppress(OSError):
                if http_get(f"{self.base}/healthz", timeout=5)[0] == 200:
                    return
            time.sleep(0.2)
        pytest.fail(
            f"cumulo serve did not answer /healthz in {self.start_timeout:g} s:\n{self.tail()}"
        )

    def tail(self, lines: int = 40) -> str:
        """The last ``lines`` lines of the log (``(no log)`` if it cannot be read)."""
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def group_alive(self) -> bool:
        """Whether any process of the server's process group still exists."""
        try:
            os.killpg(self.process.pid, 0)
        except ProcessLookupError:
            return False
        return True

    # ---- the API -----------------------------------------------------------------------

    def call(self, command: str, **params: Any) -> tuple[int, dict[str, Any]]:
        """``command`` signed with :attr:`keys` (GET, ``response=json``).

        Values are sent as ``str(value)``. Returns the HTTP status and the contents of
        the response's one envelope (``{"<command>response": {...}}``), error
        envelopes included.

        :raises ValueError: no ``keys`` were given, or the body is not one JSON envelope.
        :raises OSError: the server does not answer.
        """
        if self.keys is None:
            raise ValueError("ServeProcess.call needs keys=(apikey, secretkey)")
        api_key, secret_key = self.keys
        wire = {name: str(value) for name, value in params.items()}
        wire.update(command=command, apiKey=api_key, response="json")
        wire["signature"] = sign(wire, secret_key)
        status, body = http_get(f"{self.api_url}?{urlencode(wire, quote_via=quote)}")
        answer = json.loads(body)
        if not isinstance(answer, dict) or len(answer) != 1:
            raise ValueError(f"{command}: not one response envelope: {body!r}")
        (envelope,) = answer.values()
        if not isinstance(envelope, dict):
            raise ValueError(f"{command}: the envelope is not an object: {body!r}")
        return status, envelope

    # ---- stopping ----------------------------------------------------------------------

    def terminate(self, timeout: float = 60.0) -> int:
        """SIGTERM, as a service manager sends it; wait for the exit and return its
        status. The rest of the process group is left alone (see :meth:`group_alive`).

        :raises subprocess.TimeoutExpired: still running after ``timeout`` seconds.
        """
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def kill(self) -> None:
        """SIGKILL the whole process group (supervisor, gunicorn, job worker) at once,
        as a crash would end it, and reap the server process."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(10)

    def stop(self, timeout: float = 30.0) -> int | None:
        """End the server whatever its state: SIGTERM while it runs, up to ``timeout``
        seconds for it to exit, then :meth:`kill` for whatever is left of the group.

        :return: the server process's exit status (``None`` if it could not be reaped).
        """
        if self.process.poll() is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.terminate(timeout)
        self.kill()
        return self.process.returncode
