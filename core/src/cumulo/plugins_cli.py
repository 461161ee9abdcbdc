"""``cumulo plugins list``: what this installation can extend itself with, and what broke.

One table for both mechanisms (hook plugins and named drivers), so an operator who just
ran ``pip install cumulo-kvm`` has one place to look. A plugin or driver that fails to
load is a row with its error, not a failure of the command: the command exits 0.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import click
import pluggy

from cumulo.drivers import list_drivers
from cumulo.plugins import ENV_BLOCKED, list_plugins, plugin_manager_for

COLUMNS = ("kind", "name", "distribution", "version", "status", "provides", "error")


@dataclass(frozen=True)
class ExtensionRow:
    """One row of ``cumulo plugins list`` (and one object of its ``--json`` output).

    :param kind: ``plugin`` (a pluggy hook plugin) or ``driver`` (a named driver).
    :param status: ``loaded``, ``failed`` or ``blocked``.
    :param provides: hook names for a plugin; ``<group>:<name>`` (or the driver's own
        ``provides``) for a driver.
    """

    kind: str
    name: str
    distribution: str | None
    version: str | None
    status: str
    provides: tuple[str, ...]
    error: str | None


def collect_rows(pm: pluggy.PluginManager) -> list[ExtensionRow]:
    """Every hook plugin known to ``pm``, then every installed driver of every group."""
    rows = [
        ExtensionRow(
            "plugin",
            record.name,
            record.distribution,
            record.version,
            record.status,
            record.provides,
            record.error or (f"blocked by {ENV_BLOCKED}" if record.status == "blocked" else None),
        )
        for record in list_plugins(pm)
    ]
    rows.extend(
        ExtensionRow(
            "driver",
            record.name,
            record.distribution,
            record.version,
            "failed" if record.error else "loaded",
            record.provides,
            record.error,
        )
        for record in list_drivers()
    )
    return rows


@click.group()
def plugins() -> None:
    """Inspect hook plugins and drivers."""


@plugins.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array instead of a table.")
@click.pass_context
def list_command(ctx: click.Context, as_json: bool) -> None:
    """List every hook plugin and driver: name, distribution, version, what it provides
    and, for those that cannot load, why."""
    pm = plugin_manager_for(ctx)
    rows = collect_rows(pm)
    if as_json:
        click.echo(json.dumps([_as_dict(row) for row in rows], indent=2))
        return
    click.echo(render_table(rows))
    failed = sum(1 for row in rows if row.status == "failed")
    plugin_count = sum(1 for row in rows if row.kind == "plugin")
    click.echo(
        f"\n{plugin_count} plugin(s), {len(rows) - plugin_count} driver(s); "
        f"{failed} could not be loaded"
    )


def render_table(rows: Sequence[ExtensionRow]) -> str:
    """A plain-text table, one row per extension; empty cells show ``-``."""
    cells = [[heading.upper() for heading in COLUMNS]]
    for row in rows:
        values = _as_dict(row)
        cells.append([_cell(values[column]) for column in COLUMNS])
    widths = [max(len(line[index]) for line in cells) for index in range(len(COLUMNS))]
    return "\n".join(
        "  ".join(value.ljust(width) for value, width in zip(line, widths, strict=True)).rstrip()
        for line in cells
    )


def _as_dict(row: ExtensionRow) -> dict[str, object]:
    values = asdict(row)
    values["provides"] = list(row.provides)
    return values


def _cell(value: object) -> str:
    if isinstance(value, list):
        return ", ".join(str(item) for item in value) or "-"
    return "-" if value is None or value == "" else str(value)
