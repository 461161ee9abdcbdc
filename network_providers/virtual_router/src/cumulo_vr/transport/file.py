"""``file:///dir``: the rendered files of a router on a simulated host, and nothing else.

A simulated host has no VM to reach, so nothing is validated or activated and no
daemon runs: the files are only written — with the same generation check, temporary
files and renames as a real router — where operators and tests can read them (the
simulator returns ``file://<its state dir>/routers/<router name>``).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

from cumulo.sdk.network import ProviderUnreachable
from cumulo_vr.layout import STATE_DIR
from cumulo_vr.transport.base import GenerationConflict, Push, RouterTransport, Snapshot


class FileTransport(RouterTransport):
    """A provider's directory ``base`` on this machine's file system."""

    runs_daemons = False

    def __init__(self, base: str) -> None:
        self.base = base

    @contextlib.contextmanager
    def _locked(self) -> Iterator[Path]:
        root = Path(self.base)
        try:
            root.mkdir(parents=True, exist_ok=True, mode=0o700)
            with open(root / ".lock", "a") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                yield root
        except OSError as exc:
            raise ProviderUnreachable(
                f"cannot write the router files in {self.base}: {exc}"
            ) from None

    def read(self) -> Snapshot:
        root = Path(self.base)
        try:
            generation = int((root / "generation").read_text().strip() or "0")
        except FileNotFoundError:
            return Snapshot()
        except (OSError, ValueError) as exc:
            raise ProviderUnreachable(f"cannot read {root / 'generation'}: {exc}") from None
        documents = {}
        state = root / STATE_DIR
        if state.is_dir():
            for path in sorted(state.iterdir()):
                documents[f"{STATE_DIR}/{path.name}"] = path.read_bytes()
        return Snapshot(generation, (root / "dirty").exists(), documents)

    def push(self, push: Push) -> None:
        with self._locked() as root:
            current_path = root / "generation"
            current = int(current_path.read_text().strip() or "0") if current_path.exists() else 0
            if current != push.expected_generation:
                raise GenerationConflict(self.base)
            for relative, data in push.writes.items():
                target = root / relative
                target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                temporary = target.with_name(f".{target.name}.{secrets.token_hex(4)}")
                fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                os.replace(temporary, target)
            for relative in push.removes:
                with contextlib.suppress(FileNotFoundError):
                    (root / relative).unlink()
            generation = root / "generation.new"
            generation.write_text(f"{push.expected_generation + 1}\n")
            os.replace(generation, current_path)

    def teardown(self, stop: str) -> None:
        # Nothing runs; the files go.
        shutil.rmtree(self.base, ignore_errors=True)
