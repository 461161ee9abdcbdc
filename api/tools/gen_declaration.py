#!/usr/bin/env python3
"""Print a ``cumulo.sdk.api.Command(...)`` skeleton for a CloudStack 4.1 command.

Developer tool only: it reads the 4.1 spec tables in ``<repo>/../shared/spec/``
(commands-4.1.tsv, request-params-4.1.tsv, listapis-4.1.json) which do not ship with
the product, so declarations must still live in code. Paste the output into your
module, name the handler, and edit what cumulo does differently.

Usage::

    .venv/bin/python api/tools/gen_declaration.py listAccounts [moreCommands ...]

The inherited framework parameters (``response``, ``starteventid``, the create
command's ``id``) are left out: the dispatcher owns them. Parameters hidden in 4.1
(``expose=false``) are emitted as comments: they are not part of ``listApis`` and the
compatibility test does not require them.
"""

from __future__ import annotations

import csv
import functools
import json
import sys
from pathlib import Path
from typing import Any

SPEC = Path(__file__).resolve().parents[2].parent / "shared" / "spec"

# 4.1 bitmask -> the cumulo.sdk.api expression a declaration should use.
ROLE_EXPR = {
    15: "ALL_ROLES",
    7: "ANY_ADMIN",
    1: "Role.ADMIN",
    2: "Role.RESOURCE_ADMIN",
    3: "Role.ADMIN | Role.RESOURCE_ADMIN",
    4: "Role.DOMAIN_ADMIN",
    8: "Role.USER",
}


# Framework fields every 4.1 command inherits; listApis never shows them and cumulo's
# dispatcher handles them itself (``response`` picks json/xml), so declarations omit them.
FRAMEWORK_PARAMS = {
    ("response", "BaseCmd"),
    ("starteventid", "BaseAsyncCmd"),
    ("id", "BaseAsyncCreateCmd"),
}


@functools.cache
def _rows(name: str) -> list[dict[str, str]]:
    """The data rows of a spec TSV (``#`` comment lines skipped, no quoting)."""
    with (SPEC / name).open(encoding="utf-8") as handle:
        lines = [line for line in handle if not line.startswith("#")]
    return list(csv.DictReader(lines, delimiter="\t", quoting=csv.QUOTE_NONE))


@functools.cache
def _listed_apis() -> dict[str, dict[str, Any]]:
    """4.1's ``listApis`` entries by command name."""
    apis = json.loads((SPEC / "listapis-4.1.json").read_text(encoding="utf-8"))
    return {api["name"]: api for api in apis["listapisresponse"]["api"]}


def _role_expr(bitmask: int) -> str:
    if bitmask in ROLE_EXPR:
        return ROLE_EXPR[bitmask]
    bits = [
        f"Role.{n}"
        for n, b in (("ADMIN", 1), ("RESOURCE_ADMIN", 2), ("DOMAIN_ADMIN", 4), ("USER", 8))
        if bitmask & b
    ]
    return " | ".join(bits) or "Role(0)"


def _param_expr(row: dict[str, str], listed: dict[str, dict[str, object]]) -> str:
    """One ``Param(...)`` line; only non-default keywords are written."""
    args = [repr(row["param"])]
    ptype = row["type"]
    if ptype and ptype != "STRING":
        args.append(f"ParamType.{ptype}")
    description = row["description"] or str(listed.get(row["param"], {}).get("description", ""))
    args.append(f"description={description!r}")
    if row["required"] == "true":
        args.append("required=True")
    if row["length"] and row["length"] != "255":
        args.append(f"length={int(row['length'])}")
    if ptype == "LIST" and row["collection_type"]:
        args.append(f"item_type=ParamType.{row['collection_type']}")
    entity = row["entity_type"]
    if entity:
        args.append(f"entity={entity.removesuffix('Response')!r}")
    if row["since"]:
        args.append(f"since={row['since']!r}")
    text = f"Param({', '.join(args)}),"
    if row["expose"] == "false":
        return f"# hidden in 4.1 (expose=false): {text}"
    return text


def declaration(command: str) -> str:
    """The Python source of a ``Command(...)`` skeleton for ``command``."""
    commands = {row["command"]: row for row in _rows("commands-4.1.tsv")}
    if command not in commands:
        raise SystemExit(f"{command}: not a CloudStack 4.1 command (case-sensitive)")
    row = commands[command]
    all_params = [p for p in _rows("request-params-4.1.tsv") if p["command"] == command]
    is_create = any(p["inherited_from"] == "BaseAsyncCreateCmd" for p in all_params)
    params = [
        p
        for p in all_params
        if p["command"] == command and (p["param"], p["inherited_from"]) not in FRAMEWORK_PARAMS
    ]
    api = _listed_apis().get(command, {})
    listed = {p["name"]: p for p in api.get("params", [])}
    response_class = row["response_object"]
    fields = [
        f["serialized_name"]
        for f in _rows("response-fields-4.1.tsv")
        if f["response_class"] == response_class
    ]
    lines = [
        "Command(",
        f"    name={command!r},",
        f"    handler=_{command[0].lower() + command[1:]},  # TODO: your handler",
        "    params=(",
        *(f"        {_param_expr(p, listed)}" for p in params),
        "    ),",
        f"    roles={_role_expr(int(row['bitmask']))},",
    ]
    if row["isasync"] == "true":
        lines.append("    is_async=True,")
    lines += [
        f"    response_name={row['response_name']!r},",
        f"    response_class={response_class!r},",
    ]
    if fields:
        lines.append("    response_fields=(")
        lines += [f"        {name!r}," for name in dict.fromkeys(fields)]
        lines.append("    ),")
    if api.get("description"):
        lines.append(f"    description={api['description']!r},")
    if api.get("since"):
        lines.append(f"    since={api['since']!r},")
    if api.get("related"):
        related = tuple(str(api["related"]).split(","))
        lines.append(f"    related={related!r},")
    lines.append(f"    java_class={row['java_class']!r},")
    if row["isasync"] == "true":
        if is_create:
            lines.append("    create=...,  # TODO: 4.1 BaseAsyncCreateCmd: answer carries id too")
        lines.append("    # instance_type=...,  # the job's jobinstancetype")
    lines.append("    # event_type=...,")
    lines.append(")")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    """Print one skeleton per command name given on the command line."""
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    print("\n\n".join(declaration(name) for name in argv))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
