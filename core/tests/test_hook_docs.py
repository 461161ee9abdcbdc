"""Meta-tests in the manner of datasette: every hook is documented, and every hook is tested.

The hook specs in ``cumulo.hookspecs`` are the source of truth. A hook added there
without a ``## <name>(<args>)`` heading in ``core/docs/plugin_hooks.md`` or without a
``test_hook_<name>`` test function fails here, naming the hook.
"""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest

from cumulo import hookspecs

CORE = Path(__file__).resolve().parents[1]
REPO = CORE.parent
HOOK_DOCS = CORE / "docs" / "plugin_hooks.md"
TEST_DIRS = (CORE / "tests", REPO / "api" / "tests", REPO / "tests")

HEADING = re.compile(r"^## (cumulo_\w+)\((.*)\)\s*$", re.MULTILINE)


def _hookspecs() -> dict[str, str]:
    """Hook name -> its documented signature, ``name(arg1, arg2)``."""
    specs = {}
    for name, function in inspect.getmembers(hookspecs, inspect.isfunction):
        if getattr(function, "cumulo_spec", None) is None:  # pluggy's marker attribute
            continue
        arguments = ", ".join(inspect.signature(function).parameters)
        specs[name] = f"{name}({arguments})"
    return specs


def _documented() -> dict[str, str]:
    """Hook name -> the signature of its heading in plugin_hooks.md."""
    text = HOOK_DOCS.read_text(encoding="utf-8")
    return {match[1]: f"{match[1]}({match[2]})" for match in HEADING.finditer(text)}


def _test_function_names() -> set[str]:
    names: set[str] = set()
    for directory in TEST_DIRS:
        for path in directory.rglob("test_*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            names.update(
                node.name
                for node in ast.walk(tree)
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            )
    return names


def test_hookspecs_are_found() -> None:
    # Guards the two tests below against passing vacuously (e.g. pluggy renaming its
    # marker attribute).
    assert {"cumulo_event", "cumulo_register_commands"} <= set(_hookspecs())


@pytest.mark.parametrize("hook", sorted(_hookspecs()))
def test_plugin_hooks_are_documented(hook: str) -> None:
    documented = _documented()
    assert hook in documented, f"{HOOK_DOCS.name} has no '## {_hookspecs()[hook]}' heading"
    assert documented[hook] == _hookspecs()[hook], (
        f"{HOOK_DOCS.name} documents {documented[hook]!r}, the spec is {_hookspecs()[hook]!r}"
    )


def test_documented_hooks_exist() -> None:
    unknown = sorted(set(_documented()) - set(_hookspecs()))
    assert not unknown, f"{HOOK_DOCS.name} documents hooks that do not exist: {unknown}"


@pytest.mark.parametrize("hook", sorted(_hookspecs()))
def test_plugin_hooks_have_tests(hook: str) -> None:
    if f"test_hook_{hook}" not in _test_function_names():
        pytest.fail(f"no test function named test_hook_{hook} under core/tests/ or tests/")
