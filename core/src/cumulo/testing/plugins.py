"""Fixtures for testing plugins: a fresh plugin manager, and real installed plugins.

``plugin_manager`` is what most hook tests need: the built-in plugins and nothing from
the environment, so a test registers exactly the plugin objects it is about.

``fixture_plugins_path`` installs the fixture distributions of cumulo's source tree
(``tests/fixtures/cumulo-*``: a well-behaved plugin and a broken one) with pip into a
temporary directory, once per test session, so tests can exercise real entry points,
real distribution metadata and real import failures: put the directory on
``PYTHONPATH`` of a ``cumulo`` subprocess, or use ``installed_fixture_plugins`` to put it
on ``sys.path`` of the test itself.

``make_distribution`` writes a throwaway installed distribution (modules, metadata and
entry points) for one test: the quickest way to test what happens when a plugin with a
particular defect is installed.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest
from stevedore import ExtensionManager

import cumulo
from cumulo.plugins import CumuloPluginManager, get_plugin_manager

__all__ = [
    "fixture_plugins_path",
    "installed_fixture_plugins",
    "make_distribution",
    "plugin_manager",
]

FIXTURE_DISTRIBUTION_GLOB = "cumulo-*"
# Top-level modules of the fixture distributions, forgotten after each test that used them.
FIXTURE_MODULES = frozenset({"cumulo_hello", "cumulo_broken"})


@pytest.fixture
def plugin_manager() -> CumuloPluginManager:
    """A fresh plugin manager: built-in plugins only, entry points not loaded."""
    return get_plugin_manager(autoload=False)


@pytest.fixture(scope="session")
def fixture_plugins_path(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A directory holding the fixture distributions, pip-installed with ``--target``.

    The distributions are found in ``tests/fixtures/`` of the source tree (from the
    pytest root directory, else from where ``cumulo`` is imported). Fails, never skips,
    when they are missing or do not install: the tests that use them are the proof that
    plugins load from real distributions.
    """
    fixtures = _fixtures_dir(request.config.rootpath)
    sources = sorted(str(path) for path in fixtures.glob(FIXTURE_DISTRIBUTION_GLOB))
    target = tmp_path_factory.mktemp("fixture-plugins")
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--no-deps",
        "--no-build-isolation",
        "--disable-pip-version-check",
        "--target",
        str(target),
        *sources,
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        pytest.fail(
            f"could not install the fixture distributions {sources}: {result.stderr.strip()}"
        )
    return target


@pytest.fixture
def installed_fixture_plugins(
    fixture_plugins_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """Put the fixture distributions on ``sys.path`` for one test, then take them off.

    Entry points, metadata and imports then see ``cumulo-hello`` and ``cumulo-broken``
    as if they were installed. Their modules are forgotten afterwards, and stevedore's
    in-process entry-point cache is reset on both sides, so no other test sees them.
    Note: importing ``cumulo_hello.models`` adds a table to the shared metadata, which
    outlives the test.
    """
    monkeypatch.syspath_prepend(str(fixture_plugins_path))
    monkeypatch.setattr(ExtensionManager, "ENTRY_POINT_CACHE", {})
    yield fixture_plugins_path
    for name in [name for name in sys.modules if name.split(".")[0] in FIXTURE_MODULES]:
        del sys.modules[name]


def _fixtures_dir(rootpath: Path) -> Path:
    # An editable install of cumulo-core lives in <repo>/core/src/cumulo.
    source_root = Path(cumulo.__file__).resolve().parents[3]
    for candidate in (rootpath / "tests" / "fixtures", source_root / "tests" / "fixtures"):
        if any(candidate.glob(FIXTURE_DISTRIBUTION_GLOB)):
            return candidate
    pytest.fail(
        "fixture distributions tests/fixtures/cumulo-* not found; run the tests from a "
        "cumulo source checkout"
    )


MakeDistribution = Callable[..., Path]


@pytest.fixture
def make_distribution(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[MakeDistribution]:
    """A factory writing an installed distribution and putting it on ``sys.path``.

    ``make_distribution(name, modules={"mod": "source"}, entry_points={"group":
    {"ep": "mod:attr"}}, version="1.0")`` writes ``mod.py`` files and a
    ``<name>-<version>.dist-info`` with ``METADATA`` and ``entry_points.txt`` into a
    fresh directory, prepends it to ``sys.path`` and returns it; ``importlib.metadata``
    and stevedore then see it like any installed distribution. After the test the
    directory leaves ``sys.path`` and the modules leave ``sys.modules``.
    """
    written: list[str] = []
    monkeypatch.setattr(ExtensionManager, "ENTRY_POINT_CACHE", {})

    def make(
        name: str,
        *,
        modules: Mapping[str, str],
        entry_points: Mapping[str, Mapping[str, str]],
        version: str = "1.0",
    ) -> Path:
        site = tmp_path / "site" / name
        site.mkdir(parents=True)
        for module, source in modules.items():
            (site / f"{module}.py").write_text(source, encoding="utf-8")
            written.append(module)
        info = site / f"{name.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n", encoding="utf-8"
        )
        sections = [
            f"[{group}]\n" + "".join(f"{ep} = {target}\n" for ep, target in eps.items())
            for group, eps in entry_points.items()
        ]
        (info / "entry_points.txt").write_text("\n".join(sections), encoding="utf-8")
        monkeypatch.syspath_prepend(str(site))
        ExtensionManager.ENTRY_POINT_CACHE.clear()
        return site

    yield make
    for module in written:
        sys.modules.pop(module, None)
