"""The last step of every set-up: ``db.properties`` and the management-server key file.

Both are written only after everything else succeeded, and both or neither: the key
file first (when the encryption type is ``file``), then ``db.properties``; if the
second write fails, the previous key file is put back (or the new one removed). Each
file is itself replaced atomically with mode 0600 by its owner module
(:mod:`cumulo.settings`, :mod:`cumulo.secret_key`). With encryption type ``web`` the
key is never written to disk: the operator sends it at every start.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from cumulo.secret_key import key_file_path, write_key_file
from cumulo.settings import DB_PROPERTIES, DbProperties
from cumulo.setup.errors import SetupError


def properties_path(conf: Path) -> Path:
    """``<conf>/db.properties``."""
    return conf / DB_PROPERTIES


def check_conf_dir(conf: Path) -> None:
    """Fail before any work when the configuration directory cannot be written.

    :raises SetupError: ``conf`` (or, if it does not exist yet, its nearest existing
        parent) is not a writable directory.
    """
    probe = conf
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise SetupError(f"configuration directory {conf} is not a directory")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise SetupError(
            f"configuration directory {conf} is not writable by this user;"
            " run as root or set CUMULO_CONF_DIR"
        )


def publish(conf: Path, properties: DbProperties, management_key: str | None) -> Path:
    """Write the key file (if ``management_key`` is given) and ``db.properties``.

    :param management_key: the key for encryption type ``file``; ``None`` for ``web``
        (and ``none``), when no key file is written and an existing one is left alone.
    :return: the path of ``db.properties``.
    :raises SetupError: a file cannot be written; nothing changed then.
    """
    target = properties_path(conf)
    key_path = key_file_path(conf)
    previous_key = _snapshot(key_path) if management_key is not None else None
    try:
        if management_key is not None:
            write_key_file(conf, management_key)
        try:
            properties.write(target)
        except BaseException:
            if management_key is not None:
                _restore(key_path, previous_key)
            raise
    except OSError as exc:
        raise SetupError(f"cannot write {exc.filename or conf}: {exc.strerror or exc}") from None
    return target


def _snapshot(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _restore(path: Path, content: bytes | None) -> None:
    """Put back ``content`` (``None``: the file did not exist), best effort, 0600."""
    with contextlib.suppress(OSError):
        if content is None:
            path.unlink(missing_ok=True)
            return
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(content)
