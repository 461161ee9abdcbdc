"""Fixtures for every test of this repository (core/tests and tests/): real peers.

``jasypt``: the REAL jasypt 1.9.3 through ``../shared/tools/jasypt`` (override with
``CUMULO_JASYPT_TOOL``), for tests that prove our encryption is CloudStack's. Without
``java`` the tests are skipped locally; under CI (``CI`` set and not false) a missing
jasypt fails them, so CI can never pass without the proof.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent
DEFAULT_JASYPT_TOOL = REPO_ROOT.parent / "shared" / "tools" / "jasypt"

# Java prints "Picked up JAVA_TOOL_OPTIONS..." on stderr for these, and the tool treats
# any stderr output as a failure.
_JAVA_NOISE = ("JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS", "JDK_JAVA_OPTIONS")


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


class Jasypt:
    """Runs the jasypt tool: ``jasypt encrypt|decrypt --password P --input X``."""

    def __init__(self, tool: Path) -> None:
        self.tool = tool
        # Java decodes argv and encodes stdout with the locale's charset: force UTF-8.
        self.env = {k: v for k, v in os.environ.items() if k not in _JAVA_NOISE}
        self.env["LC_ALL"] = "C.UTF-8"

    def run(
        self, command: str, password: str, value: str, algorithm: str
    ) -> subprocess.CompletedProcess[str]:
        """Run one jasypt command; the caller interprets the exit status and output."""
        return subprocess.run(
            [
                str(self.tool),
                command,
                "--password",
                password,
                "--input",
                value,
                "--algorithm",
                algorithm,
            ],
            capture_output=True,
            encoding="utf-8",
            env=self.env,
            timeout=120,
            check=False,
        )

    def _result(self, command: str, password: str, value: str, algorithm: str) -> str:
        done = self.run(command, password, value, algorithm)
        if done.returncode != 0:
            raise AssertionError(f"jasypt {command} failed: {done.stderr.strip()}")
        # The tool prints the result and one line feed.
        return done.stdout.removesuffix("\n")

    def encrypt(self, plaintext: str, password: str, algorithm: str) -> str:
        """jasypt's ciphertext of ``plaintext`` (non-empty: the CLI rejects "")."""
        return self._result("encrypt", password, plaintext, algorithm)

    def decrypt(self, ciphertext: str, password: str, algorithm: str) -> str:
        """jasypt's plaintext of ``ciphertext`` (never empty: see the interop tests)."""
        return self._result("decrypt", password, ciphertext, algorithm)


@pytest.fixture(scope="session")
def jasypt() -> Jasypt:
    """The real jasypt, installed; skips without ``java`` outside CI, fails in CI."""
    tool = Path(os.environ.get("CUMULO_JASYPT_TOOL", DEFAULT_JASYPT_TOOL))
    if shutil.which("java") is None and not _in_ci():
        pytest.skip("java is not installed, so the real jasypt cannot run (CI runs this)")
    if not os.access(tool, os.X_OK):
        pytest.fail(f"jasypt tool {tool} not found or not executable (set CUMULO_JASYPT_TOOL)")
    installed = subprocess.run(
        [str(tool), "install"], capture_output=True, text=True, timeout=900, check=False
    )
    if installed.returncode != 0:
        pytest.fail(f"jasypt tool could not install jasypt: {installed.stderr.strip()}")
    return Jasypt(tool)
