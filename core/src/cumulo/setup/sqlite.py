"""The embedded deployment's SQLite files: ``cloud.db`` and ``cloud_usage.db``.

Both live in one data directory. By default that is ``data`` beside the configuration
directory (``<conf_dir>/../data``): ``./dev run`` configures ``.cumulo/conf`` and gets
``.cumulo/data``; an operator can choose any other with ``--data-dir``.

New databases are built under temporary names in the data directory and moved over the
final names only when migrations and seeding have succeeded, so a failed or
interrupted run leaves the previous state (nothing, or the old deployment when
``--recreate`` was given) exactly as it was. Usage data stays in its own file so that
it can be backed up separately (REQ-DB-06).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from cumulo.setup.errors import SetupError

CLOUD_FILE = "cloud.db"
USAGE_FILE = "cloud_usage.db"
# Files SQLite keeps beside a database in WAL mode; a stale pair beside a replaced
# database would be replayed into it.
_SIDECARS = ("-wal", "-shm", "-journal")


def default_data_dir(conf: Path) -> Path:
    """``<conf>/../data``, absolute: where ``--embedded`` keeps its files by default."""
    return (conf.absolute().parent / "data").resolve()


@dataclass(frozen=True)
class EmbeddedFiles:
    """The two database files of an embedded deployment."""

    data_dir: Path

    @property
    def cloud(self) -> Path:
        """``<data_dir>/cloud.db``: the management server's database."""
        return self.data_dir / CLOUD_FILE

    @property
    def usage(self) -> Path:
        """``<data_dir>/cloud_usage.db``: usage records, kept apart (REQ-DB-06)."""
        return self.data_dir / USAGE_FILE


def sqlite_url(path: Path) -> sa.URL:
    """The SQLAlchemy URL of the SQLite file at ``path``."""
    return sa.URL.create("sqlite", database=str(path))


def has_tables(path: Path) -> bool:
    """Whether ``path`` is an SQLite database holding at least one table.

    A missing or empty file has none. The check leaves no trace: the file is opened
    read-only and immutable, so SQLite creates no ``-shm``/``-wal`` files. Tables that
    exist only in a non-empty write-ahead log (a server wrote them and has not folded
    the log back yet) cannot be seen that way, so such a file counts as holding tables.

    :raises SetupError: the file exists but is not an SQLite database.
    """
    if not path.exists() or path.stat().st_size == 0:
        return False
    wal = Path(f"{path}-wal")
    if wal.exists() and wal.stat().st_size > 0:
        return True
    try:
        uri = f"{path.as_uri()}?mode=ro&immutable=1"
        with contextlib.closing(sqlite3.connect(uri, uri=True)) as db:
            (count,) = db.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
            ).fetchone()
    except sqlite3.DatabaseError as exc:
        raise SetupError(f"{path} is not a usable SQLite database ({exc})") from None
    return bool(count)


def refuse_existing(files: EmbeddedFiles) -> None:
    """Refuse to overwrite an embedded deployment that holds tables.

    :raises SetupError: naming the file and how to recreate it.
    """
    for path in (files.cloud, files.usage):
        if has_tables(path):
            raise SetupError(
                f"database {path} already exists; use --recreate to drop and recreate it"
            )


def check_data_dir(data_dir: Path) -> None:
    """Fail early, before any work, when ``data_dir`` cannot be created or written.

    :raises SetupError: it exists and is not a writable directory, or its nearest
        existing parent is not writable.
    """
    probe = data_dir
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise SetupError(f"data directory {data_dir} is not a directory")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise SetupError(f"data directory {data_dir} is not writable by this user")


class StagedDatabases:
    """New ``cloud``/``cloud_usage`` files built under temporary names, then swapped in.

    Use as a context manager around the whole set-up. :meth:`install` moves the staged
    files over the final names, keeping any previous files (``--recreate``) under backup
    names. Leaving the block normally deletes the backups; leaving it with an exception
    (a later step failed, e.g. writing ``db.properties``) removes the staged or installed
    files and puts the previous ones back, so the data directory is as it was.
    """

    def __init__(self, files: EmbeddedFiles) -> None:
        self.files = files
        self._token = token = secrets.token_hex(6)
        self.cloud = files.data_dir / f".{CLOUD_FILE}.{token}.tmp"
        self.usage = files.data_dir / f".{USAGE_FILE}.{token}.tmp"
        self._pairs = ((self.cloud, files.cloud), (self.usage, files.usage))
        self._backups: dict[Path, Path] = {}
        self._installed: list[Path] = []

    def __enter__(self) -> StagedDatabases:
        self.files.data_dir.mkdir(parents=True, exist_ok=True)
        # Created 0600 before SQLite opens them (SQLite keeps a file's mode and gives its
        # -wal/-shm files the same): they hold password hashes and encrypted secrets.
        for path in (self.cloud, self.usage):
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        # The usage file has no tables yet (the usage issue brings them); it is created
        # in WAL mode so it is a valid database the usage server can open.
        with contextlib.closing(sqlite3.connect(self.usage)) as db:
            db.execute("PRAGMA journal_mode=WAL")
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        if exc_type is None:
            for backup in self._backups.values():
                _remove_with_sidecars(backup)
            return
        for final in self._installed:
            _remove_with_sidecars(final)
        for final, backup in self._backups.items():
            _move_with_sidecars(backup, final)
        for staged, _final in self._pairs:
            _remove_with_sidecars(staged)

    def install(self) -> None:
        """Move the staged files over the final names, keeping the old ones aside.

        Call after every engine on the staged files is disposed, so SQLite has folded
        its write-ahead log into the file. A previous database moves aside together
        with its ``-wal``/``-shm`` files, so they can never be replayed into the new one.
        """
        for staged, final in self._pairs:
            if final.exists():
                backup = final.with_name(f".{final.name}.{self._token}.old")
                _move_with_sidecars(final, backup)
                self._backups[final] = backup
            _move_with_sidecars(staged, final)
            self._installed.append(final)


def _move_with_sidecars(source: Path, target: Path) -> None:
    os.replace(source, target)
    for suffix in _SIDECARS:
        side = Path(f"{source}{suffix}")
        if side.exists():
            os.replace(side, Path(f"{target}{suffix}"))
        else:
            Path(f"{target}{suffix}").unlink(missing_ok=True)


def _remove_with_sidecars(path: Path) -> None:
    path.unlink(missing_ok=True)
    for suffix in _SIDECARS:
        Path(f"{path}{suffix}").unlink(missing_ok=True)
