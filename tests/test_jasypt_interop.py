"""cumulo.crypto against the REAL jasypt 1.9.3 (Debian libjasypt-java), both ways.

What we encrypt, jasypt decrypts; what jasypt encrypts, we decrypt; for both algorithms
and for ASCII with shell/properties metacharacters, non-ASCII (CJK, emoji, a decomposed
accent that must not be normalised) and long values.

Limits of the jasypt CLI, and how the suite still covers them:

* it refuses empty input ("Bad argument: input="), so jasypt cannot *encrypt* "" here;
  ``core/tests/test_crypto.py`` decrypts empty-string vectors made once by jasypt's
  ``StandardPBEStringEncryptor`` directly. The other direction works: jasypt decrypts
  our "" (see ``test_jasypt_decrypts_our_empty_string``);
* values travel as one command-line argument, which Linux caps at 128 KiB, so "long"
  here is ~90 kB of UTF-8 (its ciphertext ~120 kB); the 100 kB round trip is a unit test;
* passwords must be ASCII (Java's rule, which ``cumulo.crypto`` enforces too).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from cumulo.crypto import ALGORITHMS, CryptoError, decrypt, encrypt

if TYPE_CHECKING:
    from conftest import Jasypt

pytestmark = pytest.mark.jasypt

PASSWORD = "Mgmt key with spaces, $HOME, 'quotes' & = signs"


def _long_value(max_utf8_bytes: int = 90_000) -> str:
    unit = "cumulo ☁ クラウド管理 😀 value=1; "
    text = unit * (max_utf8_bytes // len(unit.encode()) + 1)
    while len(text.encode()) > max_utf8_bytes:
        text = text[:-1]
    return text.strip()  # the tool's $(...) would eat trailing newlines, not spaces


MESSAGES = {
    "ascii": "  db pass: P@$$ w0rd = 'x' \"y\" \\z ENC(no) ",
    "non-ascii": "パスワード 日本語 😀🚀 cafe\u0301 ünïcödé",
    "long": _long_value(),
}


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("message", MESSAGES.values(), ids=MESSAGES.keys())
def test_jasypt_decrypts_ours(jasypt: Jasypt, algorithm: str, message: str) -> None:
    ciphertext = encrypt(message, PASSWORD, algorithm)
    assert jasypt.decrypt(ciphertext, PASSWORD, algorithm) == message


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("message", MESSAGES.values(), ids=MESSAGES.keys())
def test_we_decrypt_jasypts(jasypt: Jasypt, algorithm: str, message: str) -> None:
    ciphertext = jasypt.encrypt(message, PASSWORD, algorithm)
    assert decrypt(ciphertext, PASSWORD, algorithm) == message
    # Case-insensitive names, as Java resolves them.
    assert decrypt(ciphertext, PASSWORD, algorithm.swapcase()) == message


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_jasypt_decrypts_our_empty_string(jasypt: Jasypt, algorithm: str) -> None:
    ciphertext = encrypt("", PASSWORD, algorithm)
    done = jasypt.run("decrypt", PASSWORD, ciphertext, algorithm)
    # Java prints an empty result line, which the tool reports as a failure of a Java
    # run that exited 0 and wrote nothing on stderr: "java CLI failed (rc=0): ".
    # A real decryption failure puts Java's "ERROR: ..." after that colon (checked
    # below with a wrong key), so an empty tail means jasypt decrypted to "".
    assert done.stdout.strip() == ""
    if done.returncode != 0:
        assert done.stderr.strip().endswith("java CLI failed (rc=0):"), done.stderr

    control = jasypt.run("decrypt", "a different key", ciphertext, algorithm)
    assert control.returncode != 0
    assert "ERROR" in control.stderr


def test_jasypt_cli_rejects_empty_input(jasypt: Jasypt) -> None:
    # Documents why jasypt-made empty-string vectors come from the library, not the CLI
    # (core/tests/test_crypto.py); if jasypt ever accepts "", add it to MESSAGES.
    done = jasypt.run("encrypt", PASSWORD, "", ALGORITHMS[0])
    assert done.returncode != 0
    assert "Bad argument: input=" in done.stderr


def test_jasypt_and_we_refuse_the_same_passwords(jasypt: Jasypt) -> None:
    done = jasypt.run("encrypt", "pässword", "x", ALGORITHMS[0])
    assert done.returncode != 0
    assert "Password is not ASCII" in done.stderr
    with pytest.raises(CryptoError, match="printable ASCII"):
        encrypt("x", "pässword")
