"""cumulo.crypto: jasypt-compatible PBE encryption, proven without Java.

The known vectors below were produced once by the real jasypt 1.9.3 (Debian
libjasypt-java, OpenJDK 17): the non-empty ones with ``../shared/tools/jasypt encrypt``,
the empty-string ones with a throwaway Java program calling
``StandardPBEStringEncryptor.encrypt("")`` directly, because the jasypt CLI refuses
empty input. Decrypting them here proves compatibility in every test run; the live
round trips against jasypt are in ``tests/test_jasypt_interop.py``.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable

import pytest
from Crypto.Cipher import DES

from cumulo.crypto import (
    ALGORITHMS,
    DEFAULT_ALGORITHM,
    CryptoError,
    decrypt,
    encrypt,
    unwrap_enc,
    validate_password,
    wrap_enc,
)

MD5_DES, AES_256 = ALGORITHMS
UNDECRYPTABLE = "cannot be decrypted: wrong key or corrupt value"
NON_ASCII = "パスワード 日本語 😀 cafe\u0301 ünïcödé"  # the NFD "é" must survive as NFD

# (algorithm, password, jasypt's ciphertext, plaintext)
JASYPT_VECTORS = [
    (MD5_DES, "management-key", "BBNvBTZ5cyhJLrrChzL5QQ==", ""),
    (
        AES_256,
        "management-key",
        "VSPnU+ULvULcY4OWWqT2zxHwtN6JUM6ktXWPPwE1wvCJcwlg3mlGa82/BenGxaQ7",
        "",
    ),
    (
        MD5_DES,
        "management-key",
        "xD5lFdpCC/ciAyKXv2JooFrJ876cnT9Ot7hw26oy63M=",
        "cloud-db-password",
    ),
    (
        AES_256,
        "management-key",
        "KIxt8vI2riewmOfsdWG7HCFFosypMaAa3nIXiw1yUEAsecEuFctN6aZy9c4Sphylvs0667wMMFkqeVfkYZyQqg==",
        "cloud-db-password",
    ),
    (
        MD5_DES,
        "management-key",
        "wTfZU1a19K7/bK004rgsP198+3gCzJ7vuju0liZKt4iQFU38e/jaPogXXPW5LXZgNUnX9ekuw1et+IdGvi2L/Q==",
        NON_ASCII,
    ),
    (
        AES_256,
        "management-key",
        "l/gZIcfhgYqy2rjF9pBGkbVlWmWA6G2DjiukGOhAmh8PrIRmFey5cs48MnLooDjnNfXV+Utr7e/nfqJqJnl++hoX"
        "DTt7sIMJrpvA0GPkaYp6VMf45HTMElGhI6aUl6vz",
        NON_ASCII,
    ),
    (MD5_DES, "secret", "ubEJ/Cco4/cAMmlESPH8Aw==", "hello"),
    (
        AES_256,
        "P@ss w0rd!~{}",
        "nG00avvLhDngdkiKpadSQLVW5YZQELhbZJtTGxe7v4OUxqJmvoJC//n5e8DeWIBM",
        "password",
    ),
]

LONG = ("cumulo ☁ CloudStack 日本語 😀 " * 4000)[:100_000]
MESSAGES = ["", "password", "日本語", "emoji 😀🚀 and ünïcödé", "  spaces kept  ", LONG]


@pytest.mark.parametrize(("algorithm", "password", "ciphertext", "plaintext"), JASYPT_VECTORS)
def test_decrypts_what_real_jasypt_encrypted(
    algorithm: str, password: str, ciphertext: str, plaintext: str
) -> None:
    assert decrypt(ciphertext, password, algorithm) == plaintext


@pytest.mark.parametrize(("algorithm", "password", "ciphertext", "plaintext"), JASYPT_VECTORS)
def test_output_has_jasypt_layout(
    algorithm: str, password: str, ciphertext: str, plaintext: str
) -> None:
    # Same salt/IV/padding layout as jasypt: the decoded lengths match for the same input.
    ours = encrypt(plaintext, password, algorithm)
    assert len(base64.b64decode(ours)) == len(base64.b64decode(ciphertext))
    assert "\n" not in ours


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize(
    "message", MESSAGES, ids=["empty", "ascii", "cjk", "emoji", "spaces", "100kB"]
)
def test_round_trip(algorithm: str, message: str) -> None:
    ciphertext = encrypt(message, "k3y with spaces & symbols!", algorithm)
    assert decrypt(ciphertext, "k3y with spaces & symbols!", algorithm) == message


def test_default_algorithm_is_cloudstacks() -> None:
    assert DEFAULT_ALGORITHM == "PBEWithMD5AndDES"
    # An 8-byte salt and one DES block for "": 16 bytes, so the default really is DES.
    assert len(base64.b64decode(encrypt("", "k"))) == 16


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_algorithm_names_are_case_insensitive(algorithm: str) -> None:
    ciphertext = encrypt("x", "k", algorithm.lower())
    assert decrypt(ciphertext, "k", algorithm.upper()) == "x"


def test_unknown_algorithm_is_named() -> None:
    with pytest.raises(CryptoError, match="unknown encryption algorithm 'PBEWithSHA1AndRC4_40'"):
        encrypt("x", "k", "PBEWithSHA1AndRC4_40")


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_salt_is_random(algorithm: str) -> None:
    first, second = encrypt("same", "k", algorithm), encrypt("same", "k", algorithm)
    assert first != second
    assert decrypt(first, "k", algorithm) == decrypt(second, "k", algorithm) == "same"


@pytest.mark.parametrize(("algorithm", "password", "ciphertext", "plaintext"), JASYPT_VECTORS)
def test_wrong_key_raises_without_leaking(
    algorithm: str, password: str, ciphertext: str, plaintext: str
) -> None:
    with pytest.raises(CryptoError) as info:
        decrypt(ciphertext, "not-" + password, algorithm)
    assert UNDECRYPTABLE in str(info.value)
    assert password not in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_wrong_algorithm_raises(algorithm: str) -> None:
    other = ALGORITHMS[1 - ALGORITHMS.index(algorithm)]
    with pytest.raises(CryptoError, match=UNDECRYPTABLE):
        decrypt(encrypt("cloud-db-password", "k", algorithm), "k", other)


def _tampered_inputs(ciphertext: str, block: int) -> dict[str, str]:
    raw = bytearray(base64.b64decode(ciphertext))
    # Flipping the lowest bit of the last byte of the next-to-last block flips the last
    # plaintext byte (CBC), i.e. the padding length: always invalid padding.
    padding_flip = bytearray(raw)
    padding_flip[-block - 1] ^= 0x01
    encode = base64.b64encode
    return {
        "padding": encode(padding_flip).decode(),
        "last block dropped": encode(raw[:-block]).decode(),
        "not a whole block": encode(raw[:-3]).decode(),
        "header only": encode(raw[: len(raw) - 2 * block]).decode(),
        "empty": "",
        "not base64": ciphertext[:-4] + "*!?#",
        "truncated base64": ciphertext[:-1],
    }


@pytest.mark.parametrize(
    ("algorithm", "ciphertext", "block"),
    [
        (MD5_DES, "xD5lFdpCC/ciAyKXv2JooFrJ876cnT9Ot7hw26oy63M=", 8),
        (
            AES_256,
            "KIxt8vI2riewmOfsdWG7HCFFosypMaAa3nIXiw1yUEAsecEuFctN6aZy9c4Sphylvs0667wMMFkqeVfkYZyQqg==",
            16,
        ),
    ],
)
def test_tampered_input_raises_one_message(algorithm: str, ciphertext: str, block: int) -> None:
    for what, tampered in _tampered_inputs(ciphertext, block).items():
        with pytest.raises(CryptoError) as info:
            decrypt(tampered, "management-key", algorithm)
        # Padding errors, bad lengths and bad base64 must not be told apart by message.
        assert str(info.value) == "value " + UNDECRYPTABLE, what


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_tampering_never_yields_the_original(algorithm: str) -> None:
    # jasypt has no MAC: a flipped bit in an early block may decrypt to other text. What
    # must hold is that the result is never silently the original message.
    ciphertext = encrypt("a secret spanning several cipher blocks", "k", algorithm)
    raw = base64.b64decode(ciphertext)
    for index in range(len(raw)):
        tampered = bytearray(raw)
        tampered[index] ^= 0x80
        try:
            result = decrypt(base64.b64encode(tampered).decode(), "k", algorithm)
        except CryptoError:
            continue
        assert result != "a secret spanning several cipher blocks"


def _jasypt_md5_des(payload: bytes, password: bytes, salt: bytes) -> str:
    # An independent PBEWithMD5AndDES (hashlib, not our module) to build inputs that
    # jasypt's format allows but a real string never produces.
    digest = password + salt
    for _ in range(1000):
        digest = hashlib.md5(digest).digest()
    pad = 8 - len(payload) % 8
    body = DES.new(digest[:8], DES.MODE_CBC, iv=digest[8:]).encrypt(payload + bytes([pad]) * pad)
    return base64.b64encode(salt + body).decode()


def test_independent_implementation_agrees() -> None:
    blob = _jasypt_md5_des("ünïcödé".encode(), b"k", b"\x01\x02\x03\x04\x05\x06\x07\x08")
    assert decrypt(blob, "k") == "ünïcödé"


def test_invalid_utf8_plaintext_is_reported_like_a_wrong_key() -> None:
    blob = _jasypt_md5_des(b"\xff\xfe not utf-8", b"k", b"saltsalt")
    with pytest.raises(CryptoError, match=UNDECRYPTABLE):
        decrypt(blob, "k")


def test_lone_surrogate_plaintext_is_refused_without_quoting_it() -> None:
    with pytest.raises(CryptoError, match="not valid Unicode") as info:
        encrypt("secret\udcff", "k")
    assert "secret" not in str(info.value) and "dcff" not in str(info.value)


def test_whitespace_in_ciphertext_is_ignored() -> None:
    ciphertext = encrypt("wrapped", "k", AES_256)
    folded = " " + ciphertext[:20] + "\n" + ciphertext[20:] + "\r\n"
    assert decrypt(folded, "k", AES_256) == "wrapped"


@pytest.mark.parametrize("password", ["", "pässword", "tab\there", "new\nline", "\x7f"])
def test_password_jasypt_cannot_use_is_refused(password: str) -> None:
    operations: list[Callable[[], str]] = [
        lambda: encrypt("x", password),
        lambda: decrypt("BBNvBTZ5cyhJLrrChzL5QQ==", password),
    ]
    for operation in operations:
        with pytest.raises(CryptoError) as info:
            operation()
        assert "encryption key" in str(info.value)
        if password:
            assert password not in str(info.value)


def test_validate_password_accepts_all_printable_ascii() -> None:
    validate_password("".join(chr(c) for c in range(0x20, 0x7F)))


def test_enc_wrapping() -> None:
    assert wrap_enc("abc=") == "ENC(abc=)"
    assert unwrap_enc("ENC(abc=)") == "abc="
    assert unwrap_enc("  ENC(abc=) \n") == "abc="
    assert unwrap_enc("abc=") is None
    assert unwrap_enc("ENC(abc=") is None
    assert unwrap_enc("enc(abc=)") is None
    ciphertext = encrypt("db-password", "k")
    assert decrypt(unwrap_enc(wrap_enc(ciphertext)) or "", "k") == "db-password"
