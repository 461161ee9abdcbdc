"""cumulo.secret_key and the crypto CLI: the management-server key, file and web.

The web tests use real sockets on 127.0.0.1. The receiver binds before its thread
starts (``SecretKeyReceiver(0)``), so senders never race it. The raw-socket tests send
exactly what CloudStack's Java ``EncryptionSecretKeySender`` puts on the wire.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import os
import socket
import stat
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from cumulo.crypto import ALGORITHMS, decrypt, encrypt
from cumulo.crypto_cli import decrypt as decrypt_command
from cumulo.crypto_cli import encrypt as encrypt_command
from cumulo.crypto_cli import send_secret_key
from cumulo.secret_key import (
    DEFAULT_WEB_PORT,
    SecretKeyError,
    SecretKeyReceiver,
    key_file_path,
    obtain_management_key,
    read_key_file,
    receive_key,
    send_key,
    write_key_file,
)

KEY = "Management-Key 42!"


# ---- file -----------------------------------------------------------------------------


def test_key_file_lives_in_the_conf_dir(tmp_path: Path) -> None:
    assert key_file_path(tmp_path) == tmp_path / "key"


def test_write_key_file_is_0600_and_reads_back(tmp_path: Path) -> None:
    conf = tmp_path / "new" / "conf"
    path = write_key_file(conf, KEY)
    assert path == conf / "key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == KEY + "\n"
    assert read_key_file(conf) == KEY
    assert [p.name for p in conf.iterdir()] == ["key"]  # no temporary file left


def test_write_key_file_replaces_a_too_open_file(tmp_path: Path) -> None:
    old = tmp_path / "key"
    old.write_text("old-key\n")
    old.chmod(0o644)
    write_key_file(tmp_path, KEY)
    assert stat.S_IMODE(old.stat().st_mode) == 0o600
    assert read_key_file(tmp_path) == KEY


@pytest.mark.parametrize("bad", ["", "two\nlines", "carriage\rreturn", "ünïcödé"])
def test_write_key_file_refuses_unusable_keys(tmp_path: Path, bad: str) -> None:
    with pytest.raises(SecretKeyError):
        write_key_file(tmp_path, bad)
    assert not key_file_path(tmp_path).exists()


def test_missing_key_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SecretKeyError, match=f"key file {tmp_path / 'key'} does not exist"):
        read_key_file(tmp_path)


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o620, 0o644, 0o660])
def test_key_file_open_to_others_is_refused(tmp_path: Path, mode: int) -> None:
    path = write_key_file(tmp_path, KEY)
    path.chmod(mode)
    with pytest.raises(SecretKeyError) as info:
        read_key_file(tmp_path)
    message = str(info.value)
    assert f"mode {mode:04o}" in message
    assert f"chmod 600 {path}" in message
    assert KEY not in message


def test_owner_only_modes_are_accepted(tmp_path: Path) -> None:
    path = write_key_file(tmp_path, KEY)
    path.chmod(0o400)
    assert read_key_file(tmp_path) == KEY


@pytest.mark.parametrize(
    ("content", "expected"),
    [(b"k1\r\n", "k1"), (b"k1", "k1"), (b"k1\nsecond line ignored\n", "k1")],
)
def test_key_file_first_line_is_the_key(tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "key"
    path.write_bytes(content)
    path.chmod(0o600)
    assert read_key_file(tmp_path) == expected


@pytest.mark.parametrize("content", [b"", b"\n", b"\xff\xfe\n"])
def test_empty_or_garbled_key_file_is_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "key"
    path.write_bytes(content)
    path.chmod(0o600)
    with pytest.raises(SecretKeyError, match=str(path)):
        read_key_file(tmp_path)


def test_key_file_that_is_a_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "key").mkdir(mode=0o700)
    with pytest.raises(SecretKeyError, match="not a regular file"):
        read_key_file(tmp_path)


# ---- web ------------------------------------------------------------------------------


class _Waiting:
    """A receiver waiting in a thread; ``result()`` joins it."""

    def __init__(self, timeout: float | None = 10.0) -> None:
        self.receiver = SecretKeyReceiver(0)
        self.port = self.receiver.port
        self._outcome: list[str | BaseException] = []
        self._thread = threading.Thread(target=self._run, args=(timeout,), daemon=True)
        self._thread.start()

    def _run(self, timeout: float | None) -> None:
        try:
            self._outcome.append(self.receiver.receive(timeout))
        except BaseException as exc:
            self._outcome.append(exc)

    def result(self) -> str:
        self._thread.join(15)
        assert not self._thread.is_alive(), "receiver did not finish"
        outcome = self._outcome[0]
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


@pytest.fixture
def waiting() -> Iterator[_Waiting]:
    receiver = _Waiting()
    yield receiver
    receiver.receiver.close()


def test_default_port_is_cloudstacks() -> None:
    assert DEFAULT_WEB_PORT == 8097


def test_send_key_to_receive_key(waiting: _Waiting, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    send_key(KEY, port=waiting.port)
    assert waiting.result() == KEY
    assert KEY not in caplog.text  # the key is never logged


def test_receiver_listens_on_localhost_only(waiting: _Waiting) -> None:
    assert waiting.receiver.address == ("127.0.0.1", waiting.port)
    send_key(KEY, port=waiting.port)
    waiting.result()


@pytest.mark.parametrize(
    "wire",
    [
        KEY.encode() + b"\n",  # EncryptionSecretKeySender on Linux: PrintWriter.println
        KEY.encode() + b"\r\n",  # ... on Windows
        KEY.encode(),  # a sender that closes without a line separator
    ],
)
def test_receives_what_cloudstacks_sender_writes(waiting: _Waiting, wire: bytes) -> None:
    with socket.create_connection(("127.0.0.1", waiting.port), timeout=5) as conn:
        # The key byte by byte (the receiver must assemble a line split across
        # segments), then the line separator in one piece, as println flushes it.
        key_bytes = len(KEY.encode())
        for index in range(key_bytes):
            conn.sendall(wire[index : index + 1])
        conn.sendall(wire[key_bytes:])
        conn.shutdown(socket.SHUT_WR)
        # The Java receiver sends nothing back; neither do we.
        assert conn.recv(16) == b""
    assert waiting.result() == KEY


def test_send_key_writes_one_line() -> None:
    # What our sender puts on the wire, read by a plain socket like Java's readLine().
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        send_key(KEY, port=server.getsockname()[1])
        conn, _ = server.accept()
        with conn:
            assert conn.makefile("rb").read() == KEY.encode() + b"\n"


def test_exactly_one_key_is_accepted(waiting: _Waiting) -> None:
    send_key(KEY, port=waiting.port)
    assert waiting.result() == KEY
    with pytest.raises(SecretKeyError, match="connection refused"):
        send_key("second-key", port=waiting.port)


def test_stray_connections_do_not_end_the_wait(
    waiting: _Waiting, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    # A port scan (connect, close), an empty line, a key jasypt cannot use, and a line
    # longer than any key: each is logged and ignored, never echoed.
    for junk in (b"", b"\n", "ünïcödé\n".encode(), b"x" * 10_000):
        # The receiver may hang up on an over-long line before reading all of it.
        with (
            socket.create_connection(("127.0.0.1", waiting.port), timeout=5) as conn,
            contextlib.suppress(ConnectionError),
        ):
            conn.sendall(junk)
    send_key(KEY, port=waiting.port)
    assert waiting.result() == KEY
    assert caplog.text.count("did not deliver a usable management server key") == 4
    assert "ünïcödé" not in caplog.text


def test_receive_times_out() -> None:
    receiver = SecretKeyReceiver(0)
    started = time.monotonic()
    with pytest.raises(SecretKeyError, match=r"no management server key received .* 0\.3 s"):
        receiver.receive(timeout=0.3)
    assert 0.25 < time.monotonic() - started < 5
    # The port is released after the wait.
    with pytest.raises(SecretKeyError, match="connection refused"):
        send_key(KEY, port=receiver.port)


def test_silent_sender_cannot_hold_the_server_past_its_timeout() -> None:
    waiting = _Waiting(timeout=0.5)
    with (
        socket.create_connection(("127.0.0.1", waiting.port), timeout=5),
        pytest.raises(SecretKeyError, match="no management server key received"),
    ):
        waiting.result()


def test_port_in_use_is_a_clear_error() -> None:
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen(1)
        port = other.getsockname()[1]
        with pytest.raises(SecretKeyError, match=f"cannot listen on 127.0.0.1:{port}"):
            receive_key(port, timeout=1)


def test_send_key_without_receiver_is_a_clear_error() -> None:
    port = _free_port()
    with pytest.raises(SecretKeyError) as info:
        send_key(KEY, port=port)
    assert f"127.0.0.1:{port}: connection refused" in str(info.value)
    assert KEY not in str(info.value)


@pytest.mark.parametrize("bad", ["", "a\nb", "ünïcödé"])
def test_send_key_refuses_unusable_keys(bad: str) -> None:
    with pytest.raises(SecretKeyError):
        send_key(bad, port=1)


# ---- obtain_management_key ------------------------------------------------------------


@pytest.mark.parametrize("kind", ["file", "FILE", " file "])
def test_obtain_from_file(tmp_path: Path, kind: str) -> None:
    write_key_file(tmp_path, KEY)
    assert obtain_management_key(kind, tmp_path) == KEY


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _send_when_listening(key: str, port: int, deadline: float = 10.0) -> None:
    # obtain_management_key binds inside the call, so the sender retries until it can.
    end = time.monotonic() + deadline
    while True:
        try:
            send_key(key, port=port)
            return
        except SecretKeyError:
            if time.monotonic() > end:
                raise
            time.sleep(0.02)


def test_obtain_from_web(tmp_path: Path) -> None:
    port = _free_port()
    sender = threading.Thread(target=_send_when_listening, args=(KEY, port), daemon=True)
    sender.start()
    assert obtain_management_key("web", tmp_path, port=port, timeout=10) == KEY
    sender.join(5)


def test_obtain_from_web_times_out(tmp_path: Path) -> None:
    with pytest.raises(SecretKeyError, match="no management server key received"):
        obtain_management_key("web", tmp_path, port=_free_port(), timeout=0.2)


@pytest.mark.parametrize("kind", ["none", "env", "", "ldap"])
def test_obtain_with_other_types_is_refused(tmp_path: Path, kind: str) -> None:
    with pytest.raises(SecretKeyError, match=f"encryption type '{kind}'"):
        obtain_management_key(kind, tmp_path)


# ---- the CLI --------------------------------------------------------------------------


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_cli_encrypt_output_decrypts(runner: CliRunner, algorithm: str) -> None:
    result = runner.invoke(encrypt_command, ["日本語 😀", "-p", KEY, "-a", algorithm.lower()])
    assert result.exit_code == 0, result.output
    ciphertext = result.stdout.strip()
    base64.b64decode(ciphertext, validate=True)
    assert decrypt(ciphertext, KEY, algorithm) == "日本語 😀"


def test_cli_encrypt_enc_and_decrypt_accepts_it(runner: CliRunner) -> None:
    wrapped = runner.invoke(encrypt_command, ["db-password", "--enc", "-p", KEY]).stdout.strip()
    assert wrapped.startswith("ENC(") and wrapped.endswith(")")
    result = runner.invoke(decrypt_command, [wrapped, "--password", KEY])
    assert result.exit_code == 0, result.output
    assert result.stdout == "db-password\n"


def test_cli_decrypt_reads_jasypt_output(runner: CliRunner) -> None:
    # A ciphertext from the real jasypt 1.9.3 CLI (see test_crypto.JASYPT_VECTORS).
    result = runner.invoke(decrypt_command, ["ubEJ/Cco4/cAMmlESPH8Aw==", "-p", "secret"])
    assert result.stdout == "hello\n"


def test_cli_stdin_and_environment(runner: CliRunner) -> None:
    env = {"CUMULO_ENCRYPT_PASSWORD": KEY}
    encrypted = runner.invoke(encrypt_command, ["-"], input="from stdin\n", env=env)
    assert encrypted.exit_code == 0, encrypted.output
    # A trailing newline from `echo` is not part of the value.
    assert decrypt(encrypted.stdout.strip(), KEY) == "from stdin"
    decrypted = runner.invoke(decrypt_command, ["-"], input=encrypted.stdout, env=env)
    assert decrypted.stdout == "from stdin\n"


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the commands believe stdin is a terminal, so they prompt."""
    monkeypatch.setattr("cumulo.crypto_cli._stdin_is_terminal", lambda: True)


@pytest.mark.usefixtures("terminal")
def test_cli_prompts_for_the_key_on_stderr(runner: CliRunner) -> None:
    result = runner.invoke(encrypt_command, ["prompted"], input=f"{KEY}\n{KEY}\n")
    assert result.exit_code == 0, result.output
    assert "Encryption key" in result.stderr and "Repeat for confirmation" in result.stderr
    assert KEY not in result.stderr  # hidden input is not echoed
    assert decrypt(result.stdout.strip(), KEY) == "prompted"
    decrypted = runner.invoke(decrypt_command, [result.stdout.strip()], input=f"{KEY}\n")
    assert decrypted.stdout == "prompted\n"


@pytest.mark.usefixtures("terminal")
def test_cli_encrypt_confirmation_mismatch_asks_again(runner: CliRunner) -> None:
    result = runner.invoke(encrypt_command, ["x"], input=f"{KEY}\ntypo\n{KEY}\n{KEY}\n")
    assert result.exit_code == 0, result.output
    assert "do not match" in result.stderr
    assert decrypt(result.stdout.strip(), KEY) == "x"


def test_cli_key_from_a_pipe_is_read_silently(runner: CliRunner) -> None:
    # Not a terminal: one line, no prompt, no confirmation, nothing on stderr.
    result = runner.invoke(encrypt_command, ["piped"], input=f"{KEY}\r\n")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert decrypt(result.stdout.strip(), KEY) == "piped"


def test_cli_empty_pipe_is_a_clear_error(runner: CliRunner) -> None:
    result = runner.invoke(decrypt_command, ["BBNvBTZ5cyhJLrrChzL5QQ=="], input="")
    assert result.exit_code == 1
    assert result.output == "Error: encryption key expected on stdin, got nothing\n"


def test_cli_stdin_value_needs_the_key_elsewhere(runner: CliRunner) -> None:
    result = runner.invoke(encrypt_command, ["-"], input="value\n")
    assert result.exit_code == 1
    assert "give the key with -p or CUMULO_ENCRYPT_PASSWORD" in result.output


def test_cli_wrong_key_is_one_line_exit_1(runner: CliRunner) -> None:
    ciphertext = encrypt("secret value", KEY)
    result = runner.invoke(decrypt_command, [ciphertext, "-p", "wrong"])
    assert result.exit_code == 1
    assert result.output == "Error: value cannot be decrypted: wrong key or corrupt value\n"


def test_cli_unusable_key_is_one_line_exit_1(runner: CliRunner) -> None:
    result = runner.invoke(encrypt_command, ["x", "-p", "pässword"])
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and "printable ASCII" in result.output
    assert "pässword" not in result.output


def test_cli_unknown_algorithm_is_a_usage_error(runner: CliRunner) -> None:
    result = runner.invoke(encrypt_command, ["x", "-p", KEY, "-a", "ROT13"])
    assert result.exit_code == 2
    assert "ROT13" in result.output


def _run_send(runner: CliRunner, args: list[str], stdin: str | None = None) -> Callable[[], str]:
    waiting = _Waiting()
    result = runner.invoke(send_secret_key, [*args, "--port", str(waiting.port)], input=stdin)
    assert result.exit_code == 0, result.output
    assert KEY not in result.output
    return waiting.result


def test_cli_send_secret_key_with_option(runner: CliRunner) -> None:
    assert _run_send(runner, ["-k", KEY])() == KEY


@pytest.mark.usefixtures("terminal")
def test_cli_send_secret_key_prompts(runner: CliRunner) -> None:
    assert _run_send(runner, [], stdin=f"{KEY}\n")() == KEY


def test_cli_send_secret_key_from_a_pipe(runner: CliRunner) -> None:
    # `echo "$KEY" | cumulo send-secret-key`, as CloudStack's sender reads stdin.
    assert _run_send(runner, [], stdin=f"{KEY}\n")() == KEY


def test_cli_send_secret_key_nobody_listening(runner: CliRunner) -> None:
    result = runner.invoke(send_secret_key, ["-k", KEY, "-p", str(_free_port())])
    assert result.exit_code == 1
    assert result.output.startswith("Error: cannot send the management server key")
    assert result.output.count("\n") == 1 and KEY not in result.output


def test_cli_commands_are_named_for_the_cumulo_group() -> None:
    assert (encrypt_command.name, decrypt_command.name, send_secret_key.name) == (
        "encrypt",
        "decrypt",
        "send-secret-key",
    )


def test_key_file_written_by_us_is_not_world_readable_even_with_lax_umask(
    tmp_path: Path,
) -> None:
    previous = os.umask(0)
    try:
        path = write_key_file(tmp_path, KEY)
    finally:
        os.umask(previous)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
