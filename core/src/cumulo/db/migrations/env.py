"""Alembic environment of cumulo: run by ``cumulo.db.migrate``, never by ``alembic``.

:func:`cumulo.db.migrate.alembic_config` passes everything through
``config.attributes``: the URL, the plugin manager, usually an open connection, and for
``cumulo db revision --autogenerate`` the filter of the branch being written.

Per back end:

* every migration runs in its own transaction and is stamped when it commits
  (``transaction_per_migration``); on MySQL DDL commits implicitly, so a failed run
  stops at the last completed revision;
* SQLite: foreign keys are switched off for the run (SQLite can only do that outside a
  transaction) because batch mode rebuilds a table by dropping it, and with foreign
  keys on, dropping ``account`` would delete every ``user`` through ON DELETE CASCADE.
  After each revision ``PRAGMA foreign_key_check`` must come back empty, or that
  revision is rolled back;
* MySQL and PostgreSQL: a lock timeout, so a migration waiting behind a running
  server's transaction fails after a minute instead of hanging for hours.
"""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from sqlalchemy import Connection
from sqlalchemy.schema import DefaultClause
from sqlalchemy.sql.elements import False_, True_
from sqlalchemy.sql.functions import FunctionElement

from cumulo.db import migrate
from cumulo.db.base import Base, UtcDateTime
from cumulo.db.engine import create_engine

MIGRATION_LOCK_TIMEOUT_SECONDS = 60

config = context.config


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    """Autogenerate renderer: keep generated revisions portable and self-contained.

    * :class:`~cumulo.db.base.UtcDateTime` becomes ``sa.DateTime()``: a revision must not
      import model code, which keeps changing after the revision is written;
    * ``false()``/``true()`` server defaults stay ``sa.false()``/``sa.true()`` instead of
      the ``'0'`` SQLite renders, which PostgreSQL refuses for a boolean;
    * ``CURRENT_TIMESTAMP`` stays ``sa.func.current_timestamp()`` so that each back end
      renders its own form.

    Anything else returns ``False``: Alembic's default rendering.
    """
    if type_ == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime()"
    if type_ == "server_default" and isinstance(obj, DefaultClause):
        arg = obj.arg
        if isinstance(arg, False_):
            return "sa.false()"
        if isinstance(arg, True_):
            return "sa.true()"
        if isinstance(arg, FunctionElement) and arg.name.lower() == "current_timestamp":
            return "sa.func.current_timestamp()"
    return False


def _check_sqlite_foreign_keys(ctx: Any, **_kw: Any) -> None:
    """``on_version_apply`` hook: refuse a revision that left dangling references."""
    rows = ctx.connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if rows:
        broken = ", ".join(sorted({f"{row[0]} -> {row[2]}" for row in rows}))
        raise migrate.MigrationError(
            f"migration left rows referencing missing rows ({broken}); it was rolled back"
        )


def _set_lock_timeout(connection: Connection) -> None:
    seconds = MIGRATION_LOCK_TIMEOUT_SECONDS
    if connection.dialect.name in ("mysql", "mariadb"):
        connection.exec_driver_sql(
            f"SET SESSION lock_wait_timeout = {seconds}, "
            f"SESSION innodb_lock_wait_timeout = {seconds}"
        )
        connection.commit()
    elif connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SET lock_timeout = '{seconds}s'")
        connection.commit()


def _run(connection: Connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    options: dict[str, Any] = {
        # Batch operations in generated files work on every back end, SQLite included.
        "render_as_batch": True,
        "render_item": render_item,
        "compare_type": True,
        "transaction_per_migration": True,
        "include_object": config.attributes.get("cumulo.include_object"),
    }
    if sqlite:
        # True with cumulo's engines, which emit BEGIN themselves (cumulo.db.engine).
        options["transactional_ddl"] = True
        options["on_version_apply"] = [_check_sqlite_foreign_keys]
    else:
        _set_lock_timeout(connection)
    context.configure(connection=connection, target_metadata=Base.metadata, **options)
    if not sqlite:
        _migrate(connection)
        return
    # Must happen outside any transaction, on the driver connection itself.
    raw = connection.connection.driver_connection
    assert raw is not None
    if connection.in_transaction():
        connection.commit()
    raw.execute("PRAGMA foreign_keys = OFF")
    try:
        _migrate(connection)
    finally:
        raw.execute("PRAGMA foreign_keys = ON")


def _migrate(connection: Connection) -> None:
    """Run the revisions; what Alembic did outside them (version table) is kept too."""
    try:
        with context.begin_transaction():
            context.run_migrations()
    except BaseException:
        if connection.in_transaction():
            connection.rollback()
        raise
    if connection.in_transaction():
        connection.commit()


def _main() -> None:
    if context.is_offline_mode():
        raise migrate.MigrationError("offline (--sql) migrations are not supported")
    migrate.import_all_models(config.attributes["cumulo.plugin_manager"])
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_engine(config.attributes["cumulo.url"])
    try:
        with engine.connect() as new_connection:
            _run(new_connection)
    finally:
        engine.dispose()


_main()
