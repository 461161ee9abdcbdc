"""Every declared command that CloudStack 4.1 has must look exactly like 4.1's.

Reads the 4.1 tables in ``<repo>/../shared/spec/`` (commands-4.1.tsv and
request-params-4.1.tsv, read with quoting disabled as their headers say) and compares
each declaration of the installed plugins with them: role bitmask, async flag,
envelope, Java class (an async job's ``cmd``), response class, and the parameters —
names, types, list item types, required flags, lengths. All mismatches are listed at
once. Commands 4.1 does not have are cumulo extensions and are listed separately.

The coverage ``implemented/<4.1 total>`` is printed in the terminal summary of every
run that includes this file (see ``conftest.pytest_terminal_summary``).
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

import pluggy
import pytest

from cumulo.plugins import get_plugin_manager
from cumulo.sdk.api import Command, Param, ParamType, Role
from cumulo_api.discovery import LIST_APIS
from cumulo_api.registry import CommandRegistry

SPEC = Path(__file__).resolve().parents[2].parent / "shared" / "spec"

# Inherited by every 4.1 command and handled by the dispatcher itself; never listed by
# 4.1's listApis, never declared.
FRAMEWORK_PARAMS = {
    ("response", "BaseCmd"),
    ("starteventid", "BaseAsyncCmd"),
    ("id", "BaseAsyncCreateCmd"),
}


@dataclass(frozen=True)
class SpecParam:
    """One parameter of a 4.1 command."""

    name: str
    type: str
    item_type: str
    required: bool
    length: int
    exposed: bool


@dataclass
class SpecCommand:
    """One 4.1 command, as commands-4.1.tsv and request-params-4.1.tsv describe it."""

    name: str
    bitmask: int
    is_async: bool
    response_name: str
    java_class: str
    response_class: str
    params: dict[str, SpecParam] = field(default_factory=dict)


def _rows(name: str) -> list[dict[str, str]]:
    with (SPEC / name).open(encoding="utf-8") as handle:
        lines = [line for line in handle if not line.startswith("#")]
    return list(csv.DictReader(lines, delimiter="\t", quoting=csv.QUOTE_NONE))


def load_spec() -> dict[str, SpecCommand]:
    """4.1's commands by name (the first entry of a name listed twice)."""
    commands: dict[str, SpecCommand] = {}
    for row in _rows("commands-4.1.tsv"):
        commands.setdefault(
            row["command"],
            SpecCommand(
                name=row["command"],
                bitmask=int(row["bitmask"]),
                is_async=row["isasync"] == "true",
                response_name=row["response_name"],
                java_class=row["java_class"],
                response_class=row["response_object"],
            ),
        )
    for row in _rows("request-params-4.1.tsv"):
        if (row["param"], row["inherited_from"]) in FRAMEWORK_PARAMS:
            continue
        commands[row["command"]].params.setdefault(
            row["param"],
            SpecParam(
                name=row["param"],
                type=row["type"],
                item_type=row["collection_type"],
                required=row["required"] == "true",
                length=int(row["length"]),
                exposed=row["expose"] == "true",
            ),
        )
    return commands


def _param_mismatches(command: Command, spec: SpecCommand) -> list[str]:
    problems = []
    declared = {param.name: param for param in command.params}
    for name, expected in spec.params.items():
        if name not in declared:
            if expected.exposed:  # hidden 4.1 parameters may be left out
                problems.append(f"missing parameter {name} ({expected.type})")
            continue
        problems += _one_param(declared[name], expected)
    problems += [
        f"parameter {name} is not a 4.1 parameter" for name in declared.keys() - spec.params.keys()
    ]
    return problems


def _one_param(param: Param, expected: SpecParam) -> list[str]:
    problems = []
    if param.type.value.upper() != expected.type:
        problems.append(f"parameter {param.name}: type {param.type.value}, 4.1 {expected.type}")
    if param.type is ParamType.LIST and expected.item_type:
        item = (param.item_type or ParamType.STRING).value.upper()
        if item != expected.item_type:
            problems.append(f"parameter {param.name}: items {item}, 4.1 {expected.item_type}")
    if param.required != expected.required:
        problems.append(
            f"parameter {param.name}: required={param.required}, 4.1 {expected.required}"
        )
    if param.length != expected.length:
        problems.append(f"parameter {param.name}: length {param.length}, 4.1 {expected.length}")
    return problems


def mismatches(command: Command, spec: SpecCommand) -> list[str]:
    """Everything in ``command`` that differs from 4.1's ``spec``."""
    problems = []
    if int(command.roles) != spec.bitmask:
        problems.append(f"roles {int(command.roles)}, 4.1 {spec.bitmask}")
    if command.is_async != spec.is_async:
        problems.append(f"is_async={command.is_async}, 4.1 {spec.is_async}")
    if command.envelope != spec.response_name:
        problems.append(f"envelope {command.envelope}, 4.1 {spec.response_name}")
    if command.java_class != spec.java_class:
        problems.append(f"java_class {command.java_class or '(none)'}, 4.1 {spec.java_class}")
    if command.response_class and command.response_class != spec.response_class:
        problems.append(f"response_class {command.response_class}, 4.1 {spec.response_class}")
    return problems + _param_mismatches(command, spec)


def compare(
    commands: Iterable[Command], spec: dict[str, SpecCommand]
) -> tuple[dict[str, list[str]], list[str], list[str]]:
    """``(mismatches by command, implemented 4.1 names, extension names)``."""
    problems: dict[str, list[str]] = {}
    implemented, extensions = [], []
    for command in commands:
        if command.name not in spec:
            extensions.append(command.name)
            continue
        implemented.append(command.name)
        found = mismatches(command, spec[command.name])
        if found:
            problems[command.name] = found
    return problems, implemented, extensions


@pytest.fixture(scope="module")
def spec() -> dict[str, SpecCommand]:
    if not SPEC.is_dir():
        pytest.fail(f"the 4.1 spec tables are not at {SPEC}")
    return load_spec()


@pytest.fixture(scope="module")
def installed() -> pluggy.PluginManager:
    """The plugins of this environment: built-in ones and installed distributions."""
    import cumulo_api.plugin

    pm = get_plugin_manager()
    if not pm.is_registered(cumulo_api.plugin):
        pm.register(cumulo_api.plugin, name="api")
    return pm


def test_the_spec_has_356_commands(spec: dict[str, SpecCommand]) -> None:
    assert len(spec) == 356
    assert spec["listApis"].response_name == "listapisresponse"
    assert "response" not in spec["listAccounts"].params
    assert "starteventid" not in spec["deleteAccount"].params


def test_declarations_match_41(
    spec: dict[str, SpecCommand],
    installed: pluggy.PluginManager,
    report_line: Callable[[str], None],
) -> None:
    registry = CommandRegistry.build(installed)
    problems, implemented, extensions = compare(registry, spec)
    report_line(f"implemented: {len(implemented)}/{len(spec)} CloudStack 4.1 commands")
    report_line("cumulo extensions (not in 4.1): " + (", ".join(sorted(extensions)) or "none"))
    if registry.errors:
        report_line(f"plugins whose commands were skipped: {registry.errors}")
    listing = "\n".join(
        f"  {name}: " + "; ".join(found) for name, found in sorted(problems.items())
    )
    assert not problems, f"{len(problems)} declaration(s) differ from 4.1:\n{listing}"
    assert "listApis" in implemented


def test_the_checker_catches_every_kind_of_difference(spec: dict[str, SpecCommand]) -> None:
    wrong = replace(
        LIST_APIS,
        roles=Role.ADMIN,
        is_async=True,
        response_name="apisresponse",
        java_class="",
        params=(Param("name", ParamType.UUID, required=True, length=40), Param("extra")),
    )
    found = mismatches(wrong, spec["listApis"])
    assert found == [
        "roles 1, 4.1 15",
        "is_async=True, 4.1 False",
        "envelope apisresponse, 4.1 listapisresponse",
        "java_class (none), 4.1 org.apache.cloudstack.api.command.user.discovery.ListApisCmd",
        "parameter name: type uuid, 4.1 STRING",
        "parameter name: required=True, 4.1 False",
        "parameter name: length 40, 4.1 255",
        "parameter extra is not a 4.1 parameter",
    ]
    assert mismatches(replace(LIST_APIS, params=()), spec["listApis"]) == [
        "missing parameter name (STRING)"
    ]
    assert mismatches(LIST_APIS, spec["listApis"]) == []


def test_gen_declaration_skeletons_match_41(spec: dict[str, SpecCommand]) -> None:
    """Every skeleton the developer tool prints is a 4.1-exact declaration."""
    import importlib.util

    from cumulo.sdk import api as sdk

    tool = Path(__file__).resolve().parents[1] / "tools" / "gen_declaration.py"
    loader = importlib.util.spec_from_file_location("gen_declaration", tool)
    assert loader is not None and loader.loader is not None
    module = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(module)

    class Names(dict[str, object]):
        def __missing__(self, name: str) -> object:
            return lambda call: None  # the handler a developer would write

    names = {
        name: getattr(sdk, name)
        for name in ("ALL_ROLES", "ANY_ADMIN", "Command", "Param", "ParamType", "Role")
    }
    problems = {}
    for name in spec:
        # the tool's own output, evaluated as a developer would paste it
        command = eval(module.declaration(name), {}, Names(names))
        found = mismatches(command, spec[name])
        if found:
            problems[name] = found
    assert not problems, problems
