"""Fixtures of the VMware plugin's tests: a real vcsim (:mod:`vcsim_peer`).

Without vcsim the tests are skipped, saying how to get it — except under CI (``CI``
set), where a missing peer is a failure: CI installs it, so a skip would hide a broken
set-up.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from vcsim_peer import HOW, Vcsim, missing, start, stop


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} ({HOW})")
    pytest.skip(f"{reason} ({HOW})")


@pytest.fixture(scope="session")
def vcsim() -> Iterator[Vcsim]:
    """A vcsim with the default inventory, for this session."""
    reason = missing()
    if reason:
        _unavailable(reason)
    peer = start()
    yield peer
    stop(peer)
