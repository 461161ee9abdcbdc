"""Alembic through cumulo.db.migrate: the core branch, plugin branches, drift detection.

Plugin branches here are written by the tests themselves: a directory of revision
files, a models module on ``sys.path`` and a hook object registered on the
``plugin_manager`` fixture, exactly what an installed plugin provides.
"""

from __future__ import annotations

import re
import sys
import textwrap
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import delete, func, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cumulo import crypto, hookimpl
from cumulo.accounts.models import Account, AccountType, Domain, User
from cumulo.db import migrate
from cumulo.db.base import Base
from cumulo.db.engine import create_engine
from cumulo.plugins import get_plugin_manager
from cumulo.sdk import MigrationLocation

CORE_TABLES = {"domain", "account", "user", "configuration", "scoped_configuration"}
DATED_FILE = re.compile(r"^\d{4}_\d{2}_\d{2}_\w+_[0-9a-f]{12}\.py$")


def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return set(inspect(connection).get_table_names())
    finally:
        engine.dispose()


def _core_head() -> str:
    script = ScriptDirectory.from_config(
        migrate.alembic_config("sqlite://", get_plugin_manager(autoload=False))
    )
    return script.get_current_head() or ""


# ---- a plugin written by the test ---------------------------------------------------


@dataclass
class ScratchPlugin:
    """One plugin branch: revision files, a models module and the hook implementation."""

    root: Path
    branch: str = field(default_factory=lambda: "p" + uuid.uuid4().hex[:8])
    revisions: list[str] = field(default_factory=list)

    @property
    def versions(self) -> Path:
        return self.root / "versions"

    @property
    def models_module(self) -> str:
        return f"{self.branch}_models"

    def table(self, name: str = "greeting") -> str:
        """A table name unique to this plugin (the metadata is shared by all tests)."""
        return f"{self.branch}_{name}"

    def add_revision(self, upgrade: str, downgrade: str = "pass") -> str:
        """Write the next revision of the branch; the first depends on ``cumulo``."""
        rev = uuid.uuid4().hex[:12]
        first = not self.revisions
        source = "\n".join(
            [
                f'"""{self.branch}: revision {len(self.revisions) + 1}"""',
                "import sqlalchemy as sa",
                "from alembic import op",
                "",
                f"revision = {rev!r}",
                f"down_revision = {None if first else self.revisions[-1]!r}",
                f"branch_labels = {(self.branch,) if first else None!r}",
                f"depends_on = {'cumulo' if first else None!r}",
                "",
                "",
                "def upgrade() -> None:",
                textwrap.indent(textwrap.dedent(upgrade).strip(), "    "),
                "",
                "",
                "def downgrade() -> None:",
                textwrap.indent(textwrap.dedent(downgrade).strip(), "    "),
                "",
            ]
        )
        self.versions.mkdir(parents=True, exist_ok=True)
        name = f"2026_01_0{len(self.revisions) + 1}_step_{rev}.py"
        (self.versions / name).write_text(source, encoding="utf-8")
        self.revisions.append(rev)
        return rev

    def write_models(self, body: str) -> None:
        """The models module: ``body`` may use ``sa``, ``Base`` and ``TABLE(name)``."""
        source = "import sqlalchemy as sa\nfrom cumulo.db.base import Base\n\n"
        source += f"def TABLE(name):\n    return {self.branch!r} + '_' + name\n\n"
        source += textwrap.dedent(body)
        (self.root / f"{self.models_module}.py").write_text(source, encoding="utf-8")

    @hookimpl
    def cumulo_migrations(self) -> list[MigrationLocation]:
        self.versions.mkdir(parents=True, exist_ok=True)
        models = self.models_module if (self.root / f"{self.models_module}.py").exists() else None
        return [MigrationLocation(branch=self.branch, path=str(self.versions), models=models)]


@pytest.fixture
def scratch_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ScratchPlugin]:
    """A plugin branch in ``tmp_path``; its tables leave the shared metadata afterwards."""
    plugin = ScratchPlugin(tmp_path / "plugin")
    plugin.root.mkdir()
    monkeypatch.syspath_prepend(str(plugin.root))
    yield plugin
    sys.modules.pop(plugin.models_module, None)
    for table in list(Base.metadata.tables.values()):
        if table.name.startswith(plugin.branch + "_"):
            Base.metadata.remove(table)


GREETING_UPGRADE = """
    op.create_table(
        "{table}",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("text", sa.String(40), nullable=False),
    )
"""
GREETING_MODELS = """
    greeting = sa.Table(
        TABLE("greeting"),
        Base.metadata,
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("text", sa.String(40), nullable=False),
    )
"""


def _greeting_plugin(plugin: ScratchPlugin) -> ScratchPlugin:
    plugin.add_revision(
        GREETING_UPGRADE.format(table=plugin.table()), f'op.drop_table("{plugin.table()}")'
    )
    plugin.write_models(GREETING_MODELS)
    return plugin


# ---- the core branch ----------------------------------------------------------------


def test_upgrade_creates_the_core_schema_without_drift(database_url: str, plugin_manager) -> None:
    migrate.upgrade(database_url, plugin_manager)
    assert CORE_TABLES | {"alembic_version"} <= _tables(database_url)
    assert migrate.check(database_url, plugin_manager) == []
    [line] = migrate.current(database_url, plugin_manager)
    assert line.startswith(f"cumulo: {_core_head()} (head) ")


def test_check_wants_an_upgrade_first(database_url: str, plugin_manager) -> None:
    [problem] = migrate.check(database_url, plugin_manager)
    assert "not up to date" in problem
    assert "cumulo db upgrade" in problem
    assert migrate.current(database_url, plugin_manager) == ["cumulo: not migrated"]


def test_core_revision_files_are_dated_and_start_the_cumulo_branch(plugin_manager) -> None:
    script = ScriptDirectory.from_config(migrate.alembic_config("sqlite://", plugin_manager))
    core = [r for r in script.walk_revisions() if Path(r.path).parent == migrate.CORE_VERSIONS_DIR]
    assert core, "the core has no revisions"
    for rev in core:
        assert DATED_FILE.match(Path(rev.path).name), rev.path
        assert "cumulo" in rev.branch_labels
    [base] = [r for r in core if r.down_revision is None]
    assert set(base._orig_branch_labels) == {"cumulo"}


# ---- plugin branches ----------------------------------------------------------------


def test_hook_cumulo_migrations(
    database_url: str, plugin_manager, scratch_plugin: ScratchPlugin
) -> None:
    _greeting_plugin(scratch_plugin)
    plugin_manager.register(scratch_plugin)

    migrate.upgrade(database_url, plugin_manager)
    assert {scratch_plugin.table()} | CORE_TABLES <= _tables(database_url)
    assert migrate.check(database_url, plugin_manager) == []
    core_line, plugin_line = migrate.current(database_url, plugin_manager)
    assert core_line.startswith(f"cumulo: {_core_head()} (head) ")
    assert plugin_line == (
        f"{scratch_plugin.branch}: {scratch_plugin.revisions[0]} (head) "
        f"{scratch_plugin.branch}: revision 1"
    )

    # The plugin's branch alone goes down; the core stays where it is.
    migrate.downgrade(database_url, plugin_manager, f"{scratch_plugin.branch}@base")
    tables = _tables(database_url)
    assert scratch_plugin.table() not in tables
    assert tables >= CORE_TABLES
    assert migrate.database_heads(database_url) == {_core_head()}


def test_a_column_missing_from_the_migrations_is_drift(
    database_url: str, plugin_manager, scratch_plugin: ScratchPlugin
) -> None:
    scratch_plugin.add_revision(GREETING_UPGRADE.format(table=scratch_plugin.table()))
    scratch_plugin.write_models(
        """
        greeting = sa.Table(
            TABLE("greeting"),
            Base.metadata,
            sa.Column("id", sa.Integer(), primary_key=True),
            sa.Column("text", sa.String(40), nullable=False),
            sa.Column("mood", sa.String(20)),
        )
        """
    )
    plugin_manager.register(scratch_plugin)
    migrate.upgrade(database_url, plugin_manager)
    assert migrate.check(database_url, plugin_manager) == [
        f"column {scratch_plugin.table()}.mood: missing from the database"
    ]


def test_a_changed_column_type_is_drift(
    database_url: str, plugin_manager, scratch_plugin: ScratchPlugin
) -> None:
    scratch_plugin.add_revision(GREETING_UPGRADE.format(table=scratch_plugin.table()))
    scratch_plugin.write_models(GREETING_MODELS.replace("sa.String(40)", "sa.String(80)"))
    plugin_manager.register(scratch_plugin)
    migrate.upgrade(database_url, plugin_manager)
    [difference] = migrate.check(database_url, plugin_manager)
    assert difference.startswith(f"column {scratch_plugin.table()}.text: type is")
    assert "length=40" in difference
    assert "String(length=80)" in difference


def test_a_migrated_table_no_model_declares_is_drift(
    database_url: str, plugin_manager, scratch_plugin: ScratchPlugin
) -> None:
    orphan = scratch_plugin.table("orphan")
    scratch_plugin.add_revision(
        GREETING_UPGRADE.format(table=scratch_plugin.table())
        + f'op.create_table("{orphan}", sa.Column("id", sa.Integer(), primary_key=True))'
    )
    scratch_plugin.write_models(GREETING_MODELS)
    plugin_manager.register(scratch_plugin)
    migrate.upgrade(database_url, plugin_manager)
    assert migrate.check(database_url, plugin_manager) == [
        f"table {orphan}: in the database, declared by no model"
    ]


def test_tables_of_plugins_not_installed_are_ignored(
    database_url: str, plugin_manager, scratch_plugin: ScratchPlugin
) -> None:
    # A plugin whose downgrade keeps its data, as some do.
    table = scratch_plugin.table()
    scratch_plugin.add_revision(GREETING_UPGRADE.format(table=table), "pass")
    scratch_plugin.write_models(GREETING_MODELS)
    plugin_manager.register(scratch_plugin)
    migrate.upgrade(database_url, plugin_manager)
    migrate.import_all_models(plugin_manager)  # its table is now on the shared metadata
    without_plugin = get_plugin_manager(autoload=False)

    # Removed without downgrading its branch: the database cannot be judged or upgraded.
    [problem] = migrate.check(database_url, without_plugin)
    assert problem.startswith(f"revision {scratch_plugin.revisions[0]} in the database")
    assert "reinstall the plugin" in problem
    assert migrate.current(database_url, without_plugin)[-1] == (
        f"{scratch_plugin.revisions[0]}: not provided by any installed migration location"
    )
    with pytest.raises(migrate.MigrationError, match="no longer installed"):
        migrate.upgrade(database_url, without_plugin)

    # Removed properly: its table stays in the database and in the shared metadata, and
    # neither concerns a server without the plugin.
    migrate.downgrade(database_url, plugin_manager, f"{scratch_plugin.branch}@base")
    assert table in _tables(database_url)
    assert table in Base.metadata.tables
    assert migrate.check(database_url, without_plugin) == []


PORTABLE_MODELS = """
    from cumulo.db.base import UtcDateTime

    greeting = sa.Table(
        TABLE("greeting"),
        Base.metadata,
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("text", sa.String(40), nullable=False),
        sa.Column("shown", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("at", UtcDateTime(), server_default=sa.func.current_timestamp()),
    )
"""


def test_revision_autogenerates_a_plugin_branch_into_its_own_location(
    database_url: str, plugin_manager, scratch_plugin: ScratchPlugin
) -> None:
    scratch_plugin.write_models(PORTABLE_MODELS)
    plugin_manager.register(scratch_plugin)
    migrate.upgrade(database_url, plugin_manager)  # core only: the branch has no revision yet

    [first] = migrate.revision(
        database_url,
        plugin_manager,
        "create greeting",
        branch=scratch_plugin.branch,
        autogenerate=True,
    )
    assert first.parent == scratch_plugin.versions
    assert DATED_FILE.match(first.name)
    source = first.read_text(encoding="utf-8").replace('"', "'")
    assert f"branch_labels: str | Sequence[str] | None = ('{scratch_plugin.branch}',)" in source
    assert "depends_on: str | Sequence[str] | None = 'cumulo'" in source
    assert f"'{scratch_plugin.table()}'" in source
    assert not any(f"'{core}'" in source for core in CORE_TABLES)  # never the core's tables
    # Portable on every back end, and free of model imports:
    assert "server_default=sa.false()" in source
    assert "sa.DateTime(), server_default=sa.func.current_timestamp()" in source
    assert "cumulo" not in source.replace("depends_on: str | Sequence[str] | None = 'cumulo'", "")

    migrate.upgrade(database_url, plugin_manager)
    assert migrate.check(database_url, plugin_manager) == []

    [second] = migrate.revision(
        database_url, plugin_manager, "next step", branch=scratch_plugin.branch
    )
    assert second.parent == scratch_plugin.versions
    first_id = first.stem.rsplit("_", 1)[1]
    second_source = second.read_text(encoding="utf-8").replace('"', "'")
    assert f"down_revision: str | Sequence[str] | None = '{first_id}'" in second_source
    assert "branch_labels: str | Sequence[str] | None = None" in second_source


def test_revision_refuses_an_unknown_branch(plugin_manager) -> None:
    with pytest.raises(migrate.MigrationError, match="no migration location has branch 'nope'"):
        migrate.revision("sqlite://", plugin_manager, "x", branch="nope")


def test_a_plugin_location_that_is_not_a_directory_is_refused(
    plugin_manager, tmp_path: Path
) -> None:
    class Misplaced:
        @hookimpl
        def cumulo_migrations(self) -> list[MigrationLocation]:
            return [MigrationLocation(branch="lost", path=str(tmp_path / "missing"))]

    plugin_manager.register(Misplaced())
    with pytest.raises(migrate.MigrationError, match="branch 'lost' is not an existing"):
        migrate.alembic_config("sqlite://", plugin_manager)


def test_a_failed_revision_leaves_nothing_behind(
    database_url: str, plugin_manager, scratch_plugin: ScratchPlugin, test_db_backend: str
) -> None:
    if test_db_backend == "mysql":
        pytest.skip("MySQL commits DDL implicitly: a failed revision cannot be rolled back")
    scratch_plugin.add_revision(
        GREETING_UPGRADE.format(table=scratch_plugin.table()) + 'raise RuntimeError("half-way")'
    )
    plugin_manager.register(scratch_plugin)
    with pytest.raises(RuntimeError, match="half-way"):
        migrate.upgrade(database_url, plugin_manager)
    assert scratch_plugin.table() not in _tables(database_url)
    assert migrate.database_heads(database_url) == {_core_head()}  # the core's revision stays


# ---- SQLite: table rebuilds and foreign keys ------------------------------------------


def _seed_accounts(url: str) -> None:
    engine = create_engine(url)
    with Session(engine) as session:
        root = Domain(name="ROOT", path="/", owner=1)
        account = Account(account_name="admin", type=AccountType.ADMIN, domain=root)
        session.add(User(username="admin", password="x", account=account))
        session.commit()
    engine.dispose()


def _count(url: str, table: str) -> int:
    engine = create_engine(url)
    with engine.connect() as connection:
        count = connection.exec_driver_sql(f'SELECT count(*) FROM "{table}"').scalar_one()
    engine.dispose()
    return int(count)


def test_sqlite_table_rebuild_keeps_rows_that_reference_it(
    database_url: str, plugin_manager, scratch_plugin: ScratchPlugin, test_db_backend: str
) -> None:
    if test_db_backend != "sqlite":
        pytest.skip("batch table rebuilds are how SQLite alters tables")
    migrate.upgrade(database_url, plugin_manager)
    _seed_accounts(database_url)
    # Rebuilding `account` drops it; with foreign keys on, that would cascade to `user`.
    scratch_plugin.add_revision(
        """
        with op.batch_alter_table("account", recreate="always") as batch:
            batch.add_column(sa.Column("note", sa.String(20)))
        """
    )
    plugin_manager.register(scratch_plugin)
    migrate.upgrade(database_url, plugin_manager)
    assert _count(database_url, "user") == 1
    assert "note" in {
        c["name"] for c in inspect(create_engine(database_url)).get_columns("account")
    }


def test_sqlite_revision_leaving_dangling_references_is_rolled_back(
    database_url: str, plugin_manager, scratch_plugin: ScratchPlugin, test_db_backend: str
) -> None:
    if test_db_backend != "sqlite":
        pytest.skip("the foreign-key check after each revision is SQLite's")
    migrate.upgrade(database_url, plugin_manager)
    scratch_plugin.add_revision(
        """
        op.execute(
            "INSERT INTO user (uuid, username, password, account_id) "
            "VALUES ('u-1', 'ghost', 'x', 999)"
        )
        """
    )
    plugin_manager.register(scratch_plugin)
    with pytest.raises(migrate.MigrationError, match=r"user -> account"):
        migrate.upgrade(database_url, plugin_manager)
    assert _count(database_url, "user") == 0
    assert migrate.database_heads(database_url) == {_core_head()}


# ---- the migrated schema ------------------------------------------------------------


def test_account_tables_enforce_their_constraints(db_session: Session) -> None:
    root = Domain(name="ROOT", path="/", owner=1)
    system = Account(account_name="system", type=AccountType.ADMIN, domain=root)
    admin = User(username="admin", password="x", account=system, api_key="key-1")
    db_session.add(admin)
    db_session.commit()
    assert (system.state, admin.state, admin.is_registered) == ("enabled", "enabled", False)
    assert re.fullmatch(r"[0-9a-f-]{36}", admin.uuid)

    db_session.add(User(username="other", password="x", account=system, api_key="key-1"))
    with pytest.raises(IntegrityError):
        db_session.commit()
    db_session.rollback()

    # Deleting an account deletes its users (ON DELETE CASCADE, on every back end).
    db_session.execute(delete(Account).where(Account.id == system.id))
    db_session.commit()
    assert db_session.scalar(select(func.count()).select_from(User)) == 0


@pytest.mark.parametrize("algorithm", [None, *crypto.ALGORITHMS])
def test_user_secret_key_is_stored_encrypted_with_the_database_key(
    db_session: Session, algorithm: str | None
) -> None:
    root = Domain(name="ROOT", path="/", owner=1)
    user = User(
        username="admin",
        password="x",
        account=Account(account_name="admin", type=AccountType.ADMIN, domain=root),
    )
    user.store_secret_key("plain-secret", "database-key", algorithm)
    db_session.add(user)
    db_session.commit()

    stored = db_session.execute(select(User.secret_key)).scalar_one()
    assert stored is not None
    inner = crypto.unwrap_enc(stored)
    assert inner is not None
    assert "plain-secret" not in stored
    # What is stored is jasypt's format under the database key, readable by crypto alone.
    assert crypto.decrypt(inner, "database-key", algorithm or crypto.DEFAULT_ALGORITHM) == (
        "plain-secret"
    )
    assert user.reveal_secret_key("database-key", algorithm) == "plain-secret"
    with pytest.raises(crypto.CryptoError):
        user.reveal_secret_key("another-key", algorithm)

    user.store_secret_key(None, "database-key")
    assert user.reveal_secret_key("database-key") is None
