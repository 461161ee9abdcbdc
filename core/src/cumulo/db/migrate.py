"""Alembic, configured in code: the core's branch plus one branch per plugin.

The core's revisions live in ``cumulo/db/migrations/versions`` on the branch ``cumulo``;
each plugin contributes a :class:`cumulo.sdk.MigrationLocation` through the
``cumulo_migrations`` hook: its own directory, its own branch label, its first revision
depending on ``cumulo``. All branches share one ``alembic_version`` table, and
``upgrade`` always goes to ``heads`` (every branch's head). No ``alembic.ini`` is read:
:func:`alembic_config` builds the configuration from the installed plugins each time.

Which tables belong to whom is decided by model modules: a table is checked when it is
declared (on :class:`cumulo.db.base.Base`) in one of :data:`CORE_MODEL_MODULES` or in an
installed plugin's ``MigrationLocation.models`` module (or their submodules). Tables of
plugins that are not installed in this process are therefore never reported, even if
their models were imported, e.g. by another test.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import shutil
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pluggy
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import URL, Table, inspect
from sqlalchemy.pool import StaticPool

from cumulo.db.base import Base
from cumulo.db.engine import create_engine
from cumulo.sdk import MigrationLocation

CORE_BRANCH = "cumulo"
"""Branch label of the core's first revision; plugin branches depend on it."""

CORE_MODEL_MODULES = (
    "cumulo.config.models",
    "cumulo.accounts.models",
    "cumulo.events.models",
    "cumulo.jobs.models",
    "cumulo.auth.sessions",
    "cumulo.infra.models",
    "cumulo.infra.hosts.models",
    "cumulo.infra.storage.models",
    "cumulo.offerings.models",
    "cumulo.templates.models",
    "cumulo.keypairs.models",
    "cumulo.limits.models",
    "cumulo.compute.models",
    "cumulo.volumes.models",
    "cumulo.volumes.snapshot_models",
    "cumulo.alerts.models",
    "cumulo.ha.models",
    "cumulo.network.offerings.models",
    "cumulo.network.networks.models",
    "cumulo.network.rules.models",
    "cumulo.network.security_groups.models",
    "cumulo.network.vpn.models",
    "cumulo.network.routers.models",
)
"""Modules declaring the core's tables, imported before models and database are compared."""

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
CORE_VERSIONS_DIR = MIGRATIONS_DIR / "versions"
# Dated file names keep a directory listing in creation order.
FILE_TEMPLATE = "%(year)d_%(month).2d_%(day).2d_%(slug)s_%(rev)s"

IncludeObject = Callable[[Any, str | None, str, bool, Any], bool]


class MigrationError(Exception):
    """A migration problem an operator or developer can fix; the message says how."""


@dataclass(frozen=True)
class Branch:
    """One Alembic branch: where its revisions live and which modules declare its tables."""

    label: str
    path: Path
    model_modules: tuple[str, ...]

    @property
    def is_core(self) -> bool:
        """Whether this is the core's own branch."""
        return self.label == CORE_BRANCH


# ---- what is installed ------------------------------------------------------------


def branches(pm: pluggy.PluginManager) -> list[Branch]:
    """The core's branch followed by every plugin's, validated.

    :raises MigrationError: a plugin's hook failed, a branch label is empty, reused or
        ``cumulo``, or a location is not an existing directory.
    """
    found = [Branch(CORE_BRANCH, CORE_VERSIONS_DIR, CORE_MODEL_MODULES)]
    seen = {CORE_BRANCH}
    for location in _plugin_locations(pm):
        label = location.branch.strip()
        if not label or label in seen:
            raise MigrationError(
                f"migration branch label {location.branch!r} is empty or used twice; "
                "each plugin needs a branch label of its own"
            )
        path = Path(location.path)
        if not path.is_absolute() or not path.is_dir():
            raise MigrationError(
                f"migration location of branch {label!r} is not an existing absolute "
                f"directory: {location.path}"
            )
        seen.add(label)
        found.append(Branch(label, path, (location.models,) if location.models else ()))
    return found


def _plugin_locations(pm: pluggy.PluginManager) -> list[MigrationLocation]:
    try:
        results = pm.hook.cumulo_migrations()
    except Exception as exc:
        raise MigrationError(f"a plugin failed to list its migrations: {exc}") from exc
    return [location for contributed in results for location in contributed or ()]


def import_all_models(pm: pluggy.PluginManager) -> None:
    """Import every core model module and every installed plugin's models module.

    A core module that does not exist yet is skipped (the core grows one domain at a
    time; a migration creating its tables without the module shows up as drift). A
    module that exists but fails to import raises, as does a missing plugin module.
    """
    for branch in branches(pm):
        for name in branch.model_modules:
            if branch.is_core and not _module_exists(name):
                continue
            try:
                importlib.import_module(name)
            except ImportError as exc:
                raise MigrationError(
                    f"models {name!r} of migration branch {branch.label!r} cannot be "
                    f"imported: {exc}"
                ) from exc


def _module_exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:  # a parent package is missing
        return False


def declared_tables(modules: Iterable[str]) -> set[str]:
    """Names of the tables on ``Base.metadata`` declared in ``modules`` or submodules.

    Mapped classes are attributed by their ``__module__``; ``Table`` objects declared
    without a class are found among the module's globals.
    """
    modules = tuple(modules)

    def ours(module: str) -> bool:
        return any(module == m or module.startswith(m + ".") for m in modules)

    names = {
        table.name
        for mapper in Base.registry.mappers
        if ours(mapper.class_.__module__)
        for table in mapper.tables
        if isinstance(table, Table)
    }
    for module_name, module in list(sys.modules.items()):
        if module is not None and ours(module_name):
            names.update(
                value.name
                for value in vars(module).values()
                if isinstance(value, Table) and value.metadata is Base.metadata
            )
    return names


# ---- alembic configuration --------------------------------------------------------


def alembic_config(url: str | URL, pm: pluggy.PluginManager) -> Config:
    """An Alembic ``Config`` for ``url`` with the core's and every plugin's locations.

    ``env.py`` reads ``config.attributes``: ``cumulo.url``, ``cumulo.plugin_manager``
    and, when set, ``connection`` (an open connection to use instead of a new one) and
    ``cumulo.include_object`` (the autogenerate filter).
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", os.pathsep.join(str(b.path) for b in branches(pm)))
    # ConfigParser interpolates '%', so the template is stored escaped.
    config.set_main_option("file_template", FILE_TEMPLATE.replace("%", "%%"))
    _add_formatting_hooks(config)
    config.attributes["cumulo.url"] = url
    config.attributes["cumulo.plugin_manager"] = pm
    return config


def _add_formatting_hooks(config: Config) -> None:
    """Run ruff on generated revision files when it is installed (developer machines)."""
    ruff = shutil.which("ruff") or shutil.which("ruff", path=str(Path(sys.executable).parent))
    if ruff is None:
        return
    config.set_section_option("post_write_hooks", "hooks", "ruff_format ruff_fix")
    for name, options in (
        ("ruff_format", "format --quiet REVISION_SCRIPT_FILENAME"),
        # Removes unused imports; what it cannot fix is shown, for the author to fix.
        ("ruff_fix", "check --fix --exit-zero --quiet REVISION_SCRIPT_FILENAME"),
    ):
        config.set_section_option("post_write_hooks", f"{name}.type", "exec")
        config.set_section_option("post_write_hooks", f"{name}.executable", ruff)
        config.set_section_option("post_write_hooks", f"{name}.options", options)


@contextmanager
def _connected(url: str | URL, pm: pluggy.PluginManager) -> Iterator[Config]:
    """An Alembic config whose ``env.py`` will use one connection opened here."""
    config = alembic_config(url, pm)
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            config.attributes["connection"] = connection
            yield config
    finally:
        engine.dispose()


@contextmanager
def _explained_alembic_errors() -> Iterator[None]:
    """Turn Alembic's errors into :class:`MigrationError` with a remedy where known."""
    try:
        yield
    except CommandError as exc:
        message = str(exc)
        if "Can't locate revision" in message:
            message += (
                " - the database was migrated by a plugin that is no longer installed; "
                "reinstall it, run `cumulo db downgrade <branch>@base`, then remove it"
            )
        raise MigrationError(message) from exc


# ---- operations -------------------------------------------------------------------


def upgrade(url: str | URL, pm: pluggy.PluginManager, revision: str = "heads") -> None:
    """Migrate the database at ``url`` to ``revision`` (default: every branch's head).

    Each revision runs in its own transaction and is stamped when it commits; on
    MySQL, where DDL cannot be rolled back, a failure leaves the database at the last
    completed revision. For ``heads`` the core branch is brought to its head first:
    a plugin branch depends on the core's first revision only, so without this a
    broken plugin migration could leave later core revisions unapplied.
    """
    with _connected(url, pm) as config, _explained_alembic_errors():
        if revision == "heads":
            command.upgrade(config, f"{CORE_BRANCH}@head")
        command.upgrade(config, revision)


def downgrade(url: str | URL, pm: pluggy.PluginManager, revision: str) -> None:
    """Migrate down to ``revision``, e.g. ``hello@base`` to remove one plugin's tables."""
    with _connected(url, pm) as config, _explained_alembic_errors():
        command.downgrade(config, revision)


def current(url: str | URL, pm: pluggy.PluginManager) -> list[str]:
    """Where the database is, one line per installed branch, then unknown revisions.

    ``<branch>: <revision> (head) <message>``, ``... (behind: run `cumulo db upgrade`)``
    or ``<branch>: not migrated``; a revision recorded in the database that no
    installed location provides (a plugin was removed without downgrading its branch)
    gets a line of its own.
    """
    script = ScriptDirectory.from_config(alembic_config(url, pm))
    unknown, applied = _database_state(url, script)
    lines = []
    for branch in branches(pm):
        rev = next((r for r in applied if branch.label in r.branch_labels), None)
        if rev is None:
            lines.append(f"{branch.label}: not migrated")
            continue
        state = "(head)" if rev.is_head else "(behind: run `cumulo db upgrade`)"
        lines.append(f"{branch.label}: {rev.revision} {state} {rev.doc}".rstrip())
    lines.extend(f"{head}: not provided by any installed migration location" for head in unknown)
    return lines


def _database_state(url: str | URL, script: ScriptDirectory) -> tuple[list[str], list[Any]]:
    """Revisions in the database that no installed location provides (sorted), and the
    revisions applied, newest first, including every ancestor and dependency of the
    recorded ones (a plugin's head implies the core revision it depends on)."""
    known, unknown = set(), []
    for head in sorted(database_heads(url)):
        try:
            script.get_revision(head)
            known.add(head)
        except CommandError:
            unknown.append(head)
    if not known:
        return unknown, []
    revisions = script.revision_map.iterate_revisions(
        tuple(known), None, inclusive=True, implicit_base=True
    )
    return unknown, list(revisions)


def database_heads(url: str | URL) -> set[str]:
    """The revisions stamped in the database's ``alembic_version`` table (may be empty)."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return set(MigrationContext.configure(connection).get_current_heads())
    finally:
        engine.dispose()


def check(url: str | URL, pm: pluggy.PluginManager) -> list[str]:
    """Differences between the installed models and the database at ``url``.

    The database must be at every installed branch's head, else the only difference
    reported is that it needs ``cumulo db upgrade`` (or, when it records a revision no
    installed location provides, that the plugin which did must be reinstalled). Then
    Alembic's autogenerate comparison runs over the tables declared by the installed
    model modules, plus the tables the installed migrations create (so a table no model
    declares any more is reported too). Other tables, e.g. of plugins not installed
    here, are ignored.

    :return: one line per difference; empty means no drift.
    """
    import_all_models(pm)
    config = alembic_config(url, pm)
    script = ScriptDirectory.from_config(config)
    unknown, applied = _database_state(url, script)
    if unknown:
        # What such a revision implies (e.g. the core revision it depends on) is only
        # known to the plugin that is gone, so nothing can be compared.
        return [
            f"revision {head} in the database is not provided by any installed migration "
            "location: reinstall the plugin that provided it and run "
            "`cumulo db downgrade <branch>@base` before removing it"
            for head in unknown
        ]
    missing = set(script.get_heads()) - {rev.revision for rev in applied}
    if missing:
        return [
            "the database is not up to date (missing "
            + ", ".join(sorted(missing))
            + "): run `cumulo db upgrade`"
        ]
    modeled = declared_tables(m for b in branches(pm) for m in b.model_modules)
    migrated = _tables_created_by_migrations(pm)
    include = _comparison_filter(modeled, modeled | migrated)
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "include_object": include}
            )
            return [describe_difference(d) for d in compare_metadata(context, Base.metadata)]
    finally:
        engine.dispose()


def _tables_created_by_migrations(pm: pluggy.PluginManager) -> set[str]:
    """Tables that exist after running every installed migration on a scratch SQLite."""
    engine = create_engine("sqlite://", poolclass=StaticPool)
    try:
        with engine.connect() as connection:
            config = alembic_config("sqlite://", pm)
            config.attributes["connection"] = connection
            with _explained_alembic_errors():
                command.upgrade(config, "heads")
            return set(inspect(connection).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def _comparison_filter(modeled: set[str], known: set[str]) -> IncludeObject:
    """Compare model tables in ``modeled``; report database-only tables in ``known``."""

    def include(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
        if type_ != "table":
            return True
        if not reflected:
            return name in modeled
        return compare_to is not None or name in known

    return include


def branch_filter(branch: Branch) -> IncludeObject:
    """Autogenerate filter for one branch: only its own model tables, never drops.

    Tables in the database but not in the branch's models may belong to any other
    branch, so dropping a table is always written by hand.
    """
    return _comparison_filter(declared_tables(branch.model_modules), set())


def revision(
    url: str | URL,
    pm: pluggy.PluginManager,
    message: str,
    *,
    branch: str = CORE_BRANCH,
    autogenerate: bool = False,
) -> list[Path]:
    """Write a new revision file on ``branch`` into that branch's own location.

    The first revision of a branch gets the branch label (and, for a plugin,
    ``depends_on = "cumulo"``). With ``autogenerate`` the database at ``url`` must be
    at every head; the file then holds the differences between the branch's models
    and that database (review it: autogenerate is a draft).

    :return: the paths written.
    """
    by_label = {b.label: b for b in branches(pm)}
    if branch not in by_label:
        raise MigrationError(
            f"no migration location has branch {branch!r}; known: {', '.join(sorted(by_label))}"
        )
    target = by_label[branch]
    import_all_models(pm)
    with _connected(url, pm) as config, _explained_alembic_errors():
        config.attributes["cumulo.include_object"] = branch_filter(target)
        script = ScriptDirectory.from_config(config)
        started = any(branch in rev.branch_labels for rev in script.walk_revisions())
        options: dict[str, Any] = (
            {"head": f"{branch}@head"}
            if started
            else {
                "head": "base",
                "branch_label": branch,
                "depends_on": None if target.is_core else CORE_BRANCH,
            }
        )
        written = command.revision(
            config,
            message=message,
            autogenerate=autogenerate,
            version_path=str(target.path),
            **options,
        )
    scripts = written if isinstance(written, list) else [written]
    return [Path(s.path) for s in scripts if s is not None]


# ---- reporting --------------------------------------------------------------------


def describe_difference(diff: Any) -> str:
    """One readable line for one entry of Alembic's ``compare_metadata`` result."""
    if isinstance(diff, list):  # column modifications come grouped
        return "; ".join(describe_difference(d) for d in diff)
    kind = diff[0]
    if kind == "add_table":
        return f"table {diff[1].name}: declared in the models, missing from the database"
    if kind == "remove_table":
        return f"table {diff[1].name}: in the database, declared by no model"
    if kind in ("add_column", "remove_column"):
        where = "missing from the database" if kind == "add_column" else "not in the models"
        return f"column {diff[2]}.{diff[3].name}: {where}"
    if kind.startswith("modify_"):
        _, _schema, table, column, _existing, old, new = diff
        what = kind.removeprefix("modify_").replace("_", " ")
        return f"column {table}.{column}: {what} is {old!r} in the database, {new!r} in the models"
    if kind in ("add_index", "remove_index", "add_constraint", "remove_constraint"):
        obj = diff[1]
        where = "missing from the database" if kind.startswith("add") else "not in the models"
        table = obj.table.name if obj.table is not None else "?"
        return f"{kind.split('_')[1]} {obj.name} on {table}: {where}"
    if kind in ("add_fk", "remove_fk"):
        fk = diff[1]
        where = "missing from the database" if kind == "add_fk" else "not in the models"
        return f"foreign key {fk.name} on {fk.parent.name}: {where}"
    return repr(diff)
