"""Fixtures of the simulator's tests: a private state file per test."""

from __future__ import annotations

from pathlib import Path

import pytest
from cumulo_simulator.state import ENV_STATE, SimulatorState


@pytest.fixture
def state_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This test's state file, also exported as ``CUMULO_SIMULATOR_STATE`` so code that
    builds its own :class:`SimulatorState` (the API command, subprocesses) shares it."""
    path = tmp_path / "simulator.sqlite"
    monkeypatch.setenv(ENV_STATE, str(path))
    return path


@pytest.fixture
def state(state_path: Path) -> SimulatorState:
    """The simulator state of this test."""
    return SimulatorState(state_path)
