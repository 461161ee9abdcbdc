"""The built-in password authenticators: PBKDF2, SHA256SALT, MD5 and PLAINTEXT.

Registered under the entry-point group ``cumulo.authenticators`` by cumulo-core, so an
operator names them in ``user.authenticators.order`` like any third-party driver.

- ``PBKDF2`` is the default for new passwords: PBKDF2-HMAC-SHA256 stored as
  ``pbkdf2_sha256$<iterations>$<salt b64>$<hash b64>`` (Django's layout, so the format
  is recognisable by tools). :data:`PBKDF2_ITERATIONS` is chosen so that one check
  stays well under 100 ms on a small (2-core) management server; the count travels in
  the stored value, so raising it later re-encodes each password at its next login.
- ``SHA256SALT`` is CloudStack's ``SHA256SaltedUserAuthenticator``
  (CS41:plugins/user-authenticators/sha256salted/...): ``base64(salt) + ":" +
  base64(sha256(utf8(password) + salt))`` with a 20-byte salt.
- ``MD5`` is CloudStack 4.1's default (CS41:plugins/user-authenticators/md5/...): the
  lower-case hex MD5 of the UTF-8 password, left-padded to 32 digits.
- ``PLAINTEXT`` compares the stored value as it is (CS41:.../plain-text/...), but
  refuses stored values shaped like the hashes above: in 4.1 sending the stored MD5
  itself as the password logged in through PlainText, so anyone who read the ``user``
  table could log in as anyone. cumulo closes that door.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from typing import ClassVar

from cumulo.sdk.auth import UserAuthenticator

# OWASP (2023) suggests 600 000 for PBKDF2-HMAC-SHA256, which costs ~102 ms per check on
# the 2-core reference box (AMD EPYC, hashlib/OpenSSL); 500 000 costs ~85 ms, keeping a
# whole login under ~100 ms while staying within the same order of magnitude.
PBKDF2_ITERATIONS = 500_000
PBKDF2_PREFIX = "pbkdf2_sha256"
_PBKDF2_SALT_BYTES = 16

SHA256_SALT_BYTES = 20  # SHA256SaltedUserAuthenticator.s_saltlen

_HEX32 = re.compile(r"^[0-9a-fA-F]{32}$")


def _b64decode(text: str) -> bytes | None:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        return None


def _equal(left: bytes, right: bytes) -> bool:
    return hmac.compare_digest(left, right)


class Pbkdf2Authenticator(UserAuthenticator):
    """PBKDF2-HMAC-SHA256, ``pbkdf2_sha256$<iterations>$<salt>$<hash>`` (standard base64)."""

    name: ClassVar[str] = "PBKDF2"
    provides: ClassVar[tuple[str, ...]] = ("authenticator:PBKDF2",)
    iterations: ClassVar[int] = PBKDF2_ITERATIONS

    def encode(self, password: str) -> str:
        """A fresh salt, :attr:`iterations` rounds; about 85 ms at the default."""
        salt = secrets.token_bytes(_PBKDF2_SALT_BYTES)
        digest = self._derive(password, salt, self.iterations)
        return "$".join(
            (
                PBKDF2_PREFIX,
                str(self.iterations),
                base64.b64encode(salt).decode("ascii"),
                base64.b64encode(digest).decode("ascii"),
            )
        )

    def authenticate(self, username: str, password: str, stored: str) -> bool:
        """Recompute with the stored salt and iteration count; compare in constant time."""
        parsed = self._parse(stored)
        if parsed is None:
            return False
        iterations, salt, expected = parsed
        return _equal(self._derive(password, salt, iterations, len(expected)), expected)

    def needs_rehash(self, stored: str) -> bool:
        """Stored with fewer iterations than :attr:`iterations` now asks for."""
        parsed = self._parse(stored)
        return parsed is not None and parsed[0] < self.iterations

    @staticmethod
    def _derive(password: str, salt: bytes, iterations: int, length: int | None = None) -> bytes:
        return hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations, length)

    @staticmethod
    def _parse(stored: str) -> tuple[int, bytes, bytes] | None:
        parts = stored.split("$")
        if len(parts) != 4 or parts[0] != PBKDF2_PREFIX or not parts[1].isdigit():
            return None
        iterations = int(parts[1])
        salt, expected = _b64decode(parts[2]), _b64decode(parts[3])
        # A stored value with an absurd count would turn one login into a denial of
        # service; anything outside these bounds is not a value we wrote.
        if not 1 <= iterations <= 10_000_000 or not salt or not expected:
            return None
        return iterations, salt, expected


class Sha256SaltAuthenticator(UserAuthenticator):
    """CloudStack's SHA256Salted format: ``base64(salt):base64(sha256(password + salt))``."""

    name: ClassVar[str] = "SHA256SALT"
    provides: ClassVar[tuple[str, ...]] = ("authenticator:SHA256SALT",)

    def encode(self, password: str) -> str:
        """A fresh 20-byte salt, as CloudStack generates it."""
        salt = secrets.token_bytes(SHA256_SALT_BYTES)
        return f"{base64.b64encode(salt).decode('ascii')}:{self._digest_b64(password, salt)}"

    def authenticate(self, username: str, password: str, stored: str) -> bool:
        """Split at ``:``, hash with the stored salt, compare the base64 text."""
        parsed = self._parse(stored)
        if parsed is None:
            return False
        salt, expected = parsed
        return _equal(self._digest_b64(password, salt).encode("ascii"), expected.encode("ascii"))

    @staticmethod
    def _digest_b64(password: str, salt: bytes) -> str:
        digest = hashlib.sha256(password.encode("utf-8") + salt).digest()
        return base64.b64encode(digest).decode("ascii")

    @staticmethod
    def _parse(stored: str) -> tuple[bytes, str] | None:
        parts = stored.split(":")
        if len(parts) != 2:
            return None
        salt = _b64decode(parts[0])
        if not salt or _b64decode(parts[1]) is None:
            return None
        return salt, parts[1]


class Md5Authenticator(UserAuthenticator):
    """CloudStack 4.1's MD5: 32 hex digits of the UTF-8 password's MD5."""

    name: ClassVar[str] = "MD5"
    provides: ClassVar[tuple[str, ...]] = ("authenticator:MD5",)

    def encode(self, password: str) -> str:
        """``"password"`` gives ``5f4dcc3b5aa765d61d8327deb882cf99``."""
        # hexdigest() always has 32 digits: Java's left-padding is built in.
        return hashlib.md5(password.encode("utf-8"), usedforsecurity=False).hexdigest()

    def authenticate(self, username: str, password: str, stored: str) -> bool:
        """Compare with the stored hex, ignoring its letter case (other tools write
        upper case)."""
        value = stored.strip()
        if not _HEX32.match(value):
            return False
        return _equal(self.encode(password).encode("ascii"), value.lower().encode("ascii"))


class PlainTextAuthenticator(UserAuthenticator):
    """Passwords stored as typed (databases migrated from a PlainText CloudStack)."""

    name: ClassVar[str] = "PLAINTEXT"
    provides: ClassVar[tuple[str, ...]] = ("authenticator:PLAINTEXT",)

    def encode(self, password: str) -> str:
        """The password itself; only for operators who put PLAINTEXT first on purpose."""
        return password

    def authenticate(self, username: str, password: str, stored: str) -> bool:
        """Equal texts, unless ``stored`` looks like one of the hash formats (see the
        module docstring: the hash itself must never work as a password)."""
        if looks_hashed(stored):
            return False
        return _equal(password.encode("utf-8"), stored.encode("utf-8"))


def looks_hashed(stored: str) -> bool:
    """Whether ``stored`` has the shape of a PBKDF2, SHA256SALT or MD5 value."""
    return (
        Pbkdf2Authenticator._parse(stored) is not None
        or Sha256SaltAuthenticator._parse(stored) is not None
        or _HEX32.match(stored.strip()) is not None
    )
