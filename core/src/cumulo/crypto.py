"""jasypt-compatible password-based encryption (REQUIREMENTS CAP-04, REQ-ENC-01).

CloudStack keeps its secrets with jasypt 1.9's ``StandardPBEStringEncryptor``: the
database password and the database key in ``db.properties`` (wrapped as ``ENC(...)``)
and secrets in tables. To share a database and a ``db.properties`` with CloudStack,
cumulo produces and accepts the same bytes. What jasypt 1.9.3 does, checked against the
real library (``../shared/tools/jasypt``; see ``tests/test_jasypt_interop.py``):

* the message is UTF-8 (never Unicode-normalised); the result is standard base64;
* key obtention runs 1000 iterations; the salt is random and as long as the cipher's
  block (8 bytes for DES, 16 for AES);
* ``PBEWithMD5AndDES``: PKCS #5 PBKDF1 with MD5 gives 16 bytes, the DES key is the first
  8 and the CBC IV the last 8; the output is ``salt || ciphertext``;
* ``PBEWITHHMACSHA512ANDAES_256`` (with jasypt's ``RandomIvGenerator``, without which
  1.9.3 cannot use this algorithm): PBKDF2-HMAC-SHA512 gives a 32-byte AES key; the IV
  is 16 random bytes; the output is ``salt || iv || ciphertext``;
* padding is PKCS #5/#7, CBC mode in both cases.

The password must be non-empty printable ASCII: Java's ``PBEKey`` refuses anything else
("Password is not ASCII"), so a value encrypted under another password could never be
read by CloudStack. We refuse such a password instead of producing such a value.
"""

from __future__ import annotations

import base64
import binascii
from typing import Protocol

from Crypto.Cipher import AES, DES
from Crypto.Hash import MD5, SHA512
from Crypto.Protocol.KDF import PBKDF1, PBKDF2
from Crypto.Random import get_random_bytes
from Crypto.Util.Padding import pad, unpad

DEFAULT_ALGORITHM = "PBEWithMD5AndDES"
ALGORITHMS = ("PBEWithMD5AndDES", "PBEWITHHMACSHA512ANDAES_256")

# jasypt's StandardPBEByteEncryptor.DEFAULT_KEY_OBTENTION_ITERATIONS; CloudStack never
# changes it, so neither do we.
KEY_OBTENTION_ITERATIONS = 1000

_ENC_PREFIX = "ENC("
_ENC_SUFFIX = ")"

# One message for every decryption failure: a distinguishable "bad padding" would turn
# any service that decrypts attacker-supplied values into a padding oracle.
_UNDECRYPTABLE = "value cannot be decrypted: wrong key or corrupt value"


class _CbcCipher(Protocol):
    """The part of a pycryptodome CBC cipher object we use (it ships no type hints)."""

    def encrypt(self, plaintext: bytes) -> bytes: ...

    def decrypt(self, ciphertext: bytes) -> bytes: ...


class CryptoError(Exception):
    """Encryption or decryption failed: wrong key, corrupt input, bad algorithm or key.

    The message names the problem and never contains the key or the plaintext.
    """


def _canonical_algorithm(algorithm: str) -> str:
    # Java resolves algorithm names case-insensitively and CloudStack's configuration
    # spells them either way, so we do too.
    for known in ALGORITHMS:
        if known.upper() == algorithm.strip().upper():
            return known
    raise CryptoError(
        f"unknown encryption algorithm {algorithm!r}; supported: {', '.join(ALGORITHMS)}"
    )


def validate_password(password: str) -> None:
    """Check that ``password`` is usable as a jasypt key.

    :raises CryptoError: the password is empty or contains a character outside printable
        ASCII (U+0020..U+007E), which Java's PBE key factories reject. The message does
        not repeat the password.
    """
    if not password:
        raise CryptoError("the encryption key is empty")
    if any(not " " <= ch <= "~" for ch in password):
        raise CryptoError(
            "the encryption key must contain only printable ASCII characters "
            "(Java's PBE key factory, which jasypt uses, rejects anything else)"
        )


def _md5_des_cipher(password: bytes, salt: bytes) -> _CbcCipher:
    derived = PBKDF1(password, salt, 16, KEY_OBTENTION_ITERATIONS, MD5)
    return DES.new(derived[:8], DES.MODE_CBC, iv=derived[8:])


def _aes256_cipher(password: bytes, salt: bytes, iv: bytes) -> _CbcCipher:
    key = PBKDF2(password, salt, 32, KEY_OBTENTION_ITERATIONS, hmac_hash_module=SHA512)
    return AES.new(key, AES.MODE_CBC, iv=iv)


def encrypt(plaintext: str, password: str, algorithm: str = DEFAULT_ALGORITHM) -> str:
    """Encrypt ``plaintext`` as jasypt's ``StandardPBEStringEncryptor`` would.

    :param plaintext: any string, including the empty string; encoded as UTF-8.
    :param password: the key; non-empty printable ASCII (see :func:`validate_password`).
    :param algorithm: one of :data:`ALGORITHMS`, any letter case.
    :return: base64 text (no line breaks) that jasypt 1.9 decrypts with the same
        password and algorithm. The salt (and IV) are random, so encrypting the same
        text twice gives different results.
    :raises CryptoError: unknown algorithm, unusable password, or a plaintext that is
        not valid Unicode (a lone surrogate, e.g. from undecodable file names).
    """
    name = _canonical_algorithm(algorithm)
    validate_password(password)
    key = password.encode("ascii")
    try:
        message = plaintext.encode("utf-8")
    except UnicodeEncodeError:
        # Java would silently write "?" instead; the codec's own message would quote
        # the offending character, i.e. part of the secret.
        raise CryptoError("the value to encrypt is not valid Unicode text") from None
    if name == "PBEWithMD5AndDES":
        salt = get_random_bytes(DES.block_size)
        body = _md5_des_cipher(key, salt).encrypt(pad(message, DES.block_size))
        raw = salt + body
    else:
        salt = get_random_bytes(AES.block_size)
        iv = get_random_bytes(AES.block_size)
        body = _aes256_cipher(key, salt, iv).encrypt(pad(message, AES.block_size))
        raw = salt + iv + body
    return base64.b64encode(raw).decode("ascii")


def _split(raw: bytes, header: int, block: int) -> tuple[bytes, bytes]:
    body = raw[header:]
    if len(raw) <= header or len(body) % block:
        raise CryptoError(_UNDECRYPTABLE)
    return raw[:header], body


def decrypt(ciphertext: str, password: str, algorithm: str = DEFAULT_ALGORITHM) -> str:
    """Decrypt a value produced by jasypt (or :func:`encrypt`) with the same settings.

    :param ciphertext: the base64 text, without ``ENC(...)`` (see :func:`unwrap_enc`);
        surrounding and embedded whitespace (line breaks) is ignored.
    :param password: the key it was encrypted with.
    :param algorithm: one of :data:`ALGORITHMS`, any letter case.
    :return: the original string.
    :raises CryptoError: unknown algorithm or unusable password (message says which);
        otherwise always the same message, whether the key is wrong or the value is not
        base64, truncated, tampered with, badly padded or not UTF-8.
    """
    name = _canonical_algorithm(algorithm)
    validate_password(password)
    key = password.encode("ascii")
    try:
        raw = base64.b64decode("".join(ciphertext.split()), validate=True)
    except (binascii.Error, ValueError):
        raise CryptoError(_UNDECRYPTABLE) from None
    try:
        if name == "PBEWithMD5AndDES":
            salt, body = _split(raw, DES.block_size, DES.block_size)
            padded = _md5_des_cipher(key, salt).decrypt(body)
            message = unpad(padded, DES.block_size)
        else:
            header, body = _split(raw, 2 * AES.block_size, AES.block_size)
            salt, iv = header[: AES.block_size], header[AES.block_size :]
            padded = _aes256_cipher(key, salt, iv).decrypt(body)
            message = unpad(padded, AES.block_size)
        # Java would substitute U+FFFD for malformed UTF-8; jasypt never produces it
        # from a real string, so malformed output can only mean a wrong key.
        return bytes(message).decode("utf-8")
    except (ValueError, CryptoError):
        # UnicodeDecodeError is a ValueError; "from None" keeps the cause (which would
        # tell padding errors apart) out of tracebacks and logs.
        raise CryptoError(_UNDECRYPTABLE) from None


def wrap_enc(ciphertext: str) -> str:
    """Wrap a ciphertext as CloudStack writes secrets in properties files: ``ENC(...)``."""
    return f"{_ENC_PREFIX}{ciphertext}{_ENC_SUFFIX}"


def unwrap_enc(value: str) -> str | None:
    """Return the inner text of an ``ENC(...)`` value, or ``None`` for a plain value.

    Surrounding whitespace is ignored, as Java's properties loader trims leading blanks
    and operators leave trailing ones. The prefix is matched exactly (``ENC(``), as
    CloudStack's ``EncryptablePropertyPlaceholderConfigurer`` does.
    """
    text = value.strip()
    if text.startswith(_ENC_PREFIX) and text.endswith(_ENC_SUFFIX):
        return text[len(_ENC_PREFIX) : -len(_ENC_SUFFIX)]
    return None
