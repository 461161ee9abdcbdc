"""``cumulo encrypt``, ``cumulo decrypt`` and ``cumulo send-secret-key``.

``encrypt``/``decrypt`` are what an operator uses to put a secret into ``db.properties``
by hand (CloudStack documents the same with jasypt's ``encrypt.sh``): the output is
exactly what jasypt prints, and ``--enc`` wraps it for a properties file.
``send-secret-key`` replaces CloudStack's ``EncryptionSecretKeySender``.

Keys are taken from an option, the environment or a hidden prompt (the first line of
stdin when it is not a terminal), in that order of precedence; ``-p`` on the command
line is visible to other local users in the process list, so the prompt or
``CUMULO_ENCRYPT_PASSWORD`` is preferable. Nothing here logs a key
or a plaintext; ``decrypt`` prints the plaintext because that is its purpose.
"""

from __future__ import annotations

import sys

import click

from cumulo.crypto import ALGORITHMS, DEFAULT_ALGORITHM, CryptoError, unwrap_enc, wrap_enc
from cumulo.crypto import decrypt as decrypt_value
from cumulo.crypto import encrypt as encrypt_value
from cumulo.secret_key import DEFAULT_WEB_PORT, send_key

PASSWORD_ENV = "CUMULO_ENCRYPT_PASSWORD"

_algorithm_option = click.option(
    "-a",
    "--algorithm",
    type=click.Choice(ALGORITHMS, case_sensitive=False),
    default=DEFAULT_ALGORITHM,
    show_default=True,
    help="jasypt PBE algorithm (CloudStack uses the default).",
)
_password_option = click.option(
    "-p",
    "--password",
    envvar=PASSWORD_ENV,
    show_envvar=True,
    help="The encryption key; asked for (hidden) when not given.",
)


def _read_value(value: str) -> str:
    if value != "-":
        return value
    text = sys.stdin.read()
    # `echo secret | cumulo encrypt -` means "secret", not "secret\n".
    if text.endswith("\r\n"):
        return text[:-2]
    return text.removesuffix("\n")


def _stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


def _ask_secret(label: str, *, confirm: bool) -> str:
    """A hidden prompt on a terminal; from a pipe, the first line of stdin, silently
    (so ``echo "$KEY" | cumulo send-secret-key`` works without getpass warnings)."""
    if _stdin_is_terminal():
        entered: str = click.prompt(label, hide_input=True, confirmation_prompt=confirm, err=True)
        return entered
    line = sys.stdin.readline()
    if not line:
        raise click.ClickException(f"{label.lower()} expected on stdin, got nothing")
    return line.rstrip("\r\n")


def _password(password: str | None, value: str, *, confirm: bool) -> str:
    if password is not None:
        return password
    if value == "-":
        raise click.ClickException(
            f"the value is read from stdin, so give the key with -p or {PASSWORD_ENV}"
        )
    return _ask_secret("Encryption key", confirm=confirm)


def _algorithm(name: str) -> str:
    # click.Choice returns the spelling the user typed; store the canonical one.
    return next(known for known in ALGORITHMS if known.upper() == name.upper())


@click.command(name="encrypt")
@click.argument("value")
@_password_option
@_algorithm_option
@click.option("--enc", "wrap", is_flag=True, help="Print the result as ENC(...).")
def encrypt(value: str, password: str | None, algorithm: str, wrap: bool) -> None:
    """Encrypt VALUE as jasypt does ('-' reads it from stdin).

    Prints the base64 ciphertext, which CloudStack and jasypt decrypt with the same key
    and algorithm; with --enc, ready to paste into db.properties.
    """
    key = _password(password, value, confirm=True)
    plaintext = _read_value(value)
    try:
        ciphertext = encrypt_value(plaintext, key, _algorithm(algorithm))
    except CryptoError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(wrap_enc(ciphertext) if wrap else ciphertext)


@click.command(name="decrypt")
@click.argument("value")
@_password_option
@_algorithm_option
def decrypt(value: str, password: str | None, algorithm: str) -> None:
    """Decrypt VALUE, a jasypt ciphertext or ENC(...) ('-' reads it from stdin)."""
    key = _password(password, value, confirm=False)
    text = _read_value(value).strip()
    inner = unwrap_enc(text)
    try:
        plaintext = decrypt_value(text if inner is None else inner, key, _algorithm(algorithm))
    except CryptoError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(plaintext)


@click.command(name="send-secret-key")
@click.option(
    "-p",
    "--port",
    type=click.IntRange(1, 65535),
    default=DEFAULT_WEB_PORT,
    show_default=True,
    help="Port the management server waits on.",
)
@click.option(
    "-H",
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Host of the management server (it listens on localhost only; tunnel if remote).",
)
@click.option("-k", "--key", help="The management server key; asked for (hidden) when not given.")
def send_secret_key(port: int, host: str, key: str | None) -> None:
    """Send the management server key to a server started with encryption type 'web'.

    The equivalent of CloudStack's EncryptionSecretKeySender, and speaks its protocol.
    """
    if key is None:
        key = _ask_secret("Management server key", confirm=False)
    try:
        send_key(key, port=port, host=host)
    except CryptoError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Management server key sent to {host}:{port}.", err=True)
