"""Transports that run shell commands on the router: a tar of files in, a tar out.

:class:`ShellTransport` speaks the protocol of :mod:`cumulo_vr.transport.script`
through a *runner* that executes one command on the router with some bytes on its
standard input: ``ssh`` (production) or ``ip netns exec`` (a router in a network
namespace). One read is one command; one push is one command (the files travel as a
tar on its standard input).
"""

from __future__ import annotations

import io
import secrets
import shlex
import subprocess
import tarfile
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence

from cumulo.sdk.network import ProviderRefused, ProviderUnreachable
from cumulo_vr.transport.base import (
    EXIT_CONFLICT,
    EXIT_INVALID,
    GenerationConflict,
    Push,
    RouterTransport,
    Snapshot,
)
from cumulo_vr.transport.script import PUSH_SCRIPT, push_script, read_command, teardown_command

COMMAND_TIMEOUT = 300.0


class Runner(ABC):
    """Runs one shell command on a router."""

    @abstractmethod
    def argv(self, command: str) -> list[str]:
        """The local command line that runs ``command`` on the router."""

    @abstractmethod
    def describe(self) -> str:
        """The router, for messages (``netns cst-vr-1``, ``ssh 169.254.3.4:3922``)."""

    def unreachable(self, result: subprocess.CompletedProcess[bytes]) -> bool:
        """Whether a failed result means the router was not reached at all."""
        return False

    def check_reachable(self) -> None:  # noqa: B027 - optional hook, a no-op by default
        """Raise :class:`ProviderUnreachable` early when the router cannot exist."""

    def run(self, command: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
        self.check_reachable()
        try:
            result = subprocess.run(
                self.argv(command),
                input=stdin,
                capture_output=True,
                timeout=COMMAND_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise ProviderUnreachable(
                f"{self.describe()} did not answer within {COMMAND_TIMEOUT:.0f} s"
            ) from None
        except OSError as exc:
            raise ProviderUnreachable(f"cannot reach {self.describe()}: {exc}") from None
        if result.returncode != 0 and self.unreachable(result):
            raise ProviderUnreachable(f"{self.describe()}: {_last_line(result.stderr)}")
        return result


def _last_line(stderr: bytes) -> str:
    lines = [line for line in stderr.decode(errors="replace").splitlines() if line.strip()]
    return " | ".join(lines[-3:]) if lines else "no message"


def _tar(files: Mapping[str, bytes]) -> bytes:
    """A deterministic tar (fixed owner, mode 0600, time 0) of ``files``."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as archive:
        for path in sorted(files):
            data = files[path]
            info = tarfile.TarInfo(path)
            info.size = len(data)
            info.mode = 0o700 if path.endswith(".sh") else 0o600
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _untar(data: bytes) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    if not data:
        return files
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as archive:
        for member in archive:
            if member.isfile():
                extracted = archive.extractfile(member)
                if extracted is not None:
                    files[member.name.removeprefix("./")] = extracted.read()
    return files


class ShellTransport(RouterTransport):
    """A provider's directory ``base`` on a router reached through ``runner``.

    :param env: variables the push script exports for the activation (e.g.
        ``CUMULO_VR_OWNS_ETC=1`` on a router VM, whose ``/etc`` is its own).
    """

    def __init__(self, runner: Runner, base: str, env: Mapping[str, str] | None = None) -> None:
        self.runner = runner
        self.base = base
        self.env = dict(env or {})

    def read(self) -> Snapshot:
        result = self.runner.run(read_command(self.base))
        if result.returncode != 0:
            raise ProviderUnreachable(
                f"cannot read the configuration of {self.runner.describe()}: "
                f"{_last_line(result.stderr)}"
            )
        try:
            files = _untar(result.stdout)
        except tarfile.TarError as exc:
            raise ProviderUnreachable(
                f"{self.runner.describe()} sent an unreadable state: {exc}"
            ) from None
        generation_text = files.pop("generation", b"0").decode().strip() or "0"
        dirty = files.pop("dirty", None) is not None
        return Snapshot(generation=int(generation_text), dirty=dirty, documents=files)

    def push(self, push: Push) -> None:
        stage = f"{self.base}/.staging/{secrets.token_hex(8)}"
        script = push_script(self.base, stage, push, self.env)
        archive = _tar({**push.writes, PUSH_SCRIPT: script.encode()})
        command = (
            f"umask 077 && mkdir -p {shlex.quote(stage)} && "
            f"tar -xf - -C {shlex.quote(stage)} && exec sh {shlex.quote(stage + '/' + PUSH_SCRIPT)}"
        )
        result = self.runner.run(command, archive)
        if result.returncode == EXIT_CONFLICT:
            raise GenerationConflict(self.runner.describe())
        if result.returncode == EXIT_INVALID:
            raise ProviderRefused(
                f"{self.runner.describe()} refused the configuration: {_last_line(result.stderr)}"
            )
        if result.returncode != 0:
            raise ProviderRefused(
                f"{self.runner.describe()} failed to apply the configuration "
                f"(exit {result.returncode}): {_last_line(result.stderr)}"
            )

    def teardown(self, stop: str) -> None:
        try:
            result = self.runner.run(teardown_command(self.base, stop))
        except ProviderUnreachable:
            return  # a router that is gone has nothing left to stop
        if result.returncode != 0:
            raise ProviderRefused(
                f"{self.runner.describe()} failed to stop: {_last_line(result.stderr)}"
            )


def command_line(argv: Sequence[str]) -> str:
    """``argv`` as one shell-quoted line (for messages and tests)."""
    return shlex.join(argv)
