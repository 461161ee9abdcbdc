"""The management-server key: how the server obtains it at start-up (REQUIREMENTS §7.2).

The management-server key decrypts ``db.cloud.encrypt.secret`` (the database key) and
the ``ENC(...)`` passwords in ``db.properties``. ``db.cloud.encryption.type`` says how
it arrives, as in CloudStack's ``EncryptionSecretKeyChecker``:

``file``
    The first line of ``<conf_dir>/key``. Because that line unlocks every secret of the
    cloud, the file must not be accessible by group or others; we refuse to start
    otherwise (CloudStack does not check, but its packaging sets the mode).
``web``
    The server listens on TCP port 8097 and the operator pushes the key with
    ``cumulo send-secret-key`` (or CloudStack's own
    ``com.cloud.utils.crypt.EncryptionSecretKeySender``, which is interchangeable).

The wire format is CloudStack's: the sender connects, writes the key followed by a line
separator (Java ``PrintWriter.println``, text in the platform charset, UTF-8 here) and
closes; the receiver reads one line and sends nothing back. The "validation word" the
Java sender asks for is a local prompt and never travels. Unlike CloudStack, which
listens on every interface, we bind to 127.0.0.1 only: the key must not be offered to
the network, and an operator on another machine can tunnel.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import stat
import time
from pathlib import Path

from cumulo.crypto import CryptoError, validate_password

DEFAULT_WEB_PORT = 8097  # CloudStack's EncryptionSecretKeyChecker listens here
KEY_FILE_NAME = "key"
ENCRYPTION_TYPES = ("file", "web")

_LISTEN_HOST = "127.0.0.1"
# A key is a password of a few dozen characters; anything longer than this without a
# line break is not a key sender and must not make us buffer without bound.
_MAX_LINE_BYTES = 4096
_SEND_TIMEOUT_SECONDS = 10.0

log = logging.getLogger(__name__)


class SecretKeyError(CryptoError):
    """The management-server key cannot be obtained; the message says why and what to
    do. It never contains the key."""


def key_file_path(conf_dir: Path) -> Path:
    """The key file of encryption type ``file``: ``<conf_dir>/key``.

    CloudStack 4.1 reads ``key`` from the management server's configuration directory
    (``/etc/cloud/management/key``); cumulo keeps the same name beside ``db.properties``.
    """
    return Path(conf_dir) / KEY_FILE_NAME


def _check_key(key: str) -> None:
    if "\n" in key or "\r" in key:
        # Only the first line is ever read back (file or wire), so a line break would
        # silently truncate the key.
        raise SecretKeyError("the management server key must be a single line")
    try:
        validate_password(key)
    except CryptoError as exc:
        raise SecretKeyError(f"unusable management server key: {exc}") from None


def write_key_file(conf_dir: Path, key: str) -> Path:
    """Write ``key`` as the first line of ``<conf_dir>/key``, mode 0600, atomically.

    The directory is created if needed. The file is written under a temporary name that
    is created with mode 0600 (so the key is never readable by others, not even for an
    instant) and renamed over any previous key.

    :return: the path of the key file.
    :raises SecretKeyError: the key is empty, not printable ASCII or not a single line.
    :raises OSError: the directory or file cannot be written.
    """
    _check_key(key)
    path = key_file_path(conf_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(key + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    return path


def read_key_file(conf_dir: Path) -> str:
    """Read the management-server key from ``<conf_dir>/key`` (its first line).

    :raises SecretKeyError: the file is missing, is not a regular file, can be accessed
        by group or others (the message gives the ``chmod`` that fixes it), cannot be
        read, or its first line is empty or not a usable key.
    """
    path = key_file_path(conf_dir)
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        raise SecretKeyError(
            f"management server key file {path} does not exist (encryption type 'file' "
            "needs it; cumulo setup-databases writes it)"
        ) from None
    except OSError as exc:
        raise SecretKeyError(
            f"cannot read management server key file {path}: {exc.strerror}"
        ) from None
    try:
        # fstat on the open file: the mode we check is the mode of what we read.
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise SecretKeyError(f"management server key file {path} is not a regular file")
        if info.st_mode & 0o077:
            raise SecretKeyError(
                f"management server key file {path} is accessible by group or others "
                f"(mode {stat.S_IMODE(info.st_mode):04o}); run: chmod 600 {path}"
            )
    except BaseException:
        os.close(fd)
        raise
    with os.fdopen(fd, "rb") as handle:
        first_line = handle.readline(_MAX_LINE_BYTES)
    try:
        key = first_line.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError:
        raise SecretKeyError(f"management server key file {path} is not UTF-8 text") from None
    if not key:
        raise SecretKeyError(f"management server key file {path} is empty")
    _check_key(key)
    return key


def _read_line(conn: socket.socket, deadline: float | None) -> bytes | None:
    """The first line a sender writes, without its terminator; ``None`` if it wrote no
    line we accept (closed without data, too long, or too slow for the deadline)."""
    data = bytearray()
    conn.settimeout(None)
    while True:
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            conn.settimeout(remaining)
        try:
            chunk = conn.recv(1024)
        except TimeoutError:
            return None
        if not chunk:
            # Java's readLine() also returns a last line that lacks its terminator.
            return bytes(data) if data else None
        data += chunk
        # Java's readLine() ends a line at \n, \r or \r\n.
        ends = [i for i in (data.find(b"\n"), data.find(b"\r")) if i >= 0]
        if ends:
            return bytes(data[: min(ends)])
        if len(data) > _MAX_LINE_BYTES:
            return None


class SecretKeyReceiver:
    """A listening socket on 127.0.0.1 that accepts one management-server key.

    Binding happens in the constructor, so once it returns a sender can connect (the
    server logs that it is waiting only then). Use as a context manager, or call
    :meth:`close`; :meth:`receive` closes it too.

    :param port: TCP port; ``0`` picks a free one (see :attr:`port`).
    :raises SecretKeyError: the port cannot be bound (in use, not permitted).
    """

    def __init__(self, port: int = DEFAULT_WEB_PORT) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            # A restart must be able to listen again while the previous socket is in
            # TIME_WAIT; on Linux SO_REUSEADDR does not allow two live listeners.
            self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self._socket.bind((_LISTEN_HOST, port))
            self._socket.listen(1)
        except OSError as exc:
            self._socket.close()
            raise SecretKeyError(
                f"cannot listen on {_LISTEN_HOST}:{port} for the management server key: "
                f"{exc.strerror or exc}"
            ) from None
        host, port = self._socket.getsockname()[:2]
        self.address: tuple[str, int] = (host, port)
        """The (host, port) actually listened on; the host is always 127.0.0.1."""
        self.port: int = port
        """The port actually listened on."""

    def __enter__(self) -> SecretKeyReceiver:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop listening; later senders get "connection refused"."""
        self._socket.close()

    def receive(self, timeout: float | None = None) -> str:
        """Serve senders one at a time until one delivers a usable key, then close.

        A usable key is one line, non-empty, printable ASCII. A connection that closes
        without a line or sends something unusable is logged (never its content) and
        the wait goes on, so a stray connection cannot stop the server from starting.

        :param timeout: seconds to wait in total, ``None`` for ever.
        :return: the key; the socket is closed, so exactly one key is accepted.
        :raises SecretKeyError: no usable key arrived within ``timeout``.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        log.info(
            "waiting for the management server key on %s:%d (send it with: "
            "cumulo send-secret-key --port %d)",
            _LISTEN_HOST,
            self.port,
            self.port,
        )
        try:
            while True:
                if deadline is not None:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._socket.settimeout(remaining)
                try:
                    conn, peer = self._socket.accept()
                except TimeoutError:
                    break
                with conn:
                    key = _decode_key(_read_line(conn, deadline))
                if key is not None:
                    log.info("management server key received from %s:%d", *peer[:2])
                    return key
                log.warning(
                    "connection from %s:%d did not deliver a usable management server "
                    "key; still waiting",
                    *peer[:2],
                )
        finally:
            self.close()
        raise SecretKeyError(
            f"no management server key received on {_LISTEN_HOST}:{self.port} within {timeout} s"
        )


def receive_key(port: int = DEFAULT_WEB_PORT, timeout: float | None = None) -> str:
    """Wait on 127.0.0.1:``port`` for a sender to deliver the management-server key.

    Shorthand for ``SecretKeyReceiver(port).receive(timeout)``; see
    :class:`SecretKeyReceiver` for what is accepted.

    :param port: TCP port; CloudStack's is :data:`DEFAULT_WEB_PORT`.
    :param timeout: seconds to wait in total, ``None`` for ever (the server cannot
        start without the key).
    :return: the key.
    :raises SecretKeyError: the port cannot be bound, or no usable key arrived in time.
    """
    return SecretKeyReceiver(port).receive(timeout)


def _decode_key(line: bytes | None) -> str | None:
    if line is None:
        return None
    try:
        key = line.decode("utf-8")
        _check_key(key)
    except (UnicodeDecodeError, SecretKeyError):
        return None
    return key


def send_key(key: str, port: int = DEFAULT_WEB_PORT, host: str = _LISTEN_HOST) -> None:
    """Deliver ``key`` to a management server waiting in :func:`receive_key`.

    The equivalent of CloudStack's ``EncryptionSecretKeySender``: connect, write the key
    and a line feed, close. The receiver answers nothing, so success means the key was
    handed to the server's TCP stack, not that the server accepted it (its log says).

    :raises SecretKeyError: the key is unusable, or the connection fails (nobody
        listening, timeout); the message names host and port, never the key.
    """
    _check_key(key)
    try:
        with socket.create_connection((host, port), timeout=_SEND_TIMEOUT_SECONDS) as conn:
            conn.sendall(key.encode("utf-8") + b"\n")
            conn.shutdown(socket.SHUT_WR)
    except ConnectionRefusedError:
        raise SecretKeyError(
            f"cannot send the management server key to {host}:{port}: connection refused "
            "(is the management server waiting for it?)"
        ) from None
    except OSError as exc:
        raise SecretKeyError(
            f"cannot send the management server key to {host}:{port}: {exc.strerror or exc}"
        ) from None


def obtain_management_key(
    encryption_type: str,
    conf_dir: Path,
    *,
    port: int = DEFAULT_WEB_PORT,
    timeout: float | None = None,
) -> str:
    """Obtain the management-server key the way ``db.cloud.encryption.type`` says.

    :param encryption_type: ``file`` (read :func:`key_file_path`) or ``web`` (wait for a
        sender on 127.0.0.1:``port``, see :func:`receive_key`); case-insensitive.
    :param conf_dir: the configuration directory holding the key file.
    :param port: the port for ``web``.
    :param timeout: seconds ``web`` waits; ``None`` for ever.
    :raises SecretKeyError: unknown type (``none`` has no key: do not call this then),
        or the key cannot be obtained.
    """
    kind = encryption_type.strip().lower()
    if kind == "file":
        return read_key_file(conf_dir)
    if kind == "web":
        return receive_key(port, timeout)
    raise SecretKeyError(
        f"encryption type {encryption_type!r} has no management server key; expected one "
        f"of: {', '.join(ENCRYPTION_TYPES)}"
    )
