"""User passwords as CloudStack 4.1 stores them.

In 4.1 the UI sends the password in clear text and the server stores what the first
authenticator of its chain encodes: the MD5 authenticator, i.e. the lower-case hex MD5
of the password's bytes (Java's ``getBytes()``, UTF-8 on the platforms CloudStack
runs on), left-padded with ``0`` to 32 characters. Keeping that format means a
``user`` table copied from a CloudStack 4.1 database logs in unchanged (REQ-DB-05).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

DEFAULT_ADMIN_PASSWORD = "password"
"""The password CloudStack gives the first ``admin`` user; operators must change it."""


def encode_md5(password: str) -> str:
    """The stored form of ``password``: 32 lower-case hex digits of its UTF-8 MD5.

    ``encode_md5("password") == "5f4dcc3b5aa765d61d8327deb882cf99"``. The result never
    reveals the password's length; an empty password still hashes (the callers decide
    whether an empty password is allowed).
    """
    # hexdigest() is always 32 digits, which is exactly Java's left-padded form.
    return hashlib.md5(password.encode("utf-8"), usedforsecurity=False).hexdigest()


def matches_md5(password: str, stored: str) -> bool:
    """Whether ``password`` hashes to ``stored`` (compared in constant time).

    ``stored`` is compared case-insensitively, because rows written by other tools may
    use upper-case hex.
    """
    return hmac.compare_digest(encode_md5(password), stored.strip().lower())


def unusable_password() -> str:
    """A stored value no typed password matches: for the ``system`` user.

    CloudStack's ``system`` user cannot log in; it owns what the management server does
    on its own behalf. A random 64-hex value can never equal a 32-hex MD5, so no
    password, however guessed, opens it.
    """
    return secrets.token_hex(32)
