"""API keys: the ``apikey``/``secretkey`` pair a user signs requests with.

As CloudStack 4.1 makes them (CS41:server/src/com/cloud/user/AccountManagerImpl.java:
2004-2057): each key is ``Base64.encodeBase64URLSafeString`` of a 64-byte HmacSHA1 key,
i.e. 86 characters of ``[A-Za-z0-9_-]`` without padding. The API key is unique and
indexed (every signed request starts by looking it up); the secret key is stored
``ENC(...)`` under the database key, so a copy of the ``user`` table alone signs
nothing. With encryption type ``none`` (no database key) it is stored plain, as
CloudStack does then.
"""

from __future__ import annotations

import base64
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from cumulo import crypto, crypto_cache
from cumulo.accounts.models import User
from cumulo.auth.identity import principal_by_api_key

KEY_BYTES = 64
"""Bytes of randomness per key (Java's ``KeyGenerator.getInstance("HmacSHA1")``)."""

_MAX_TRIES = 10  # as 4.1's retryLimit; a collision of 512-bit values never happens


def generate_key() -> str:
    """A fresh key: 86 characters of URL-safe base64 without padding."""
    return base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES)).rstrip(b"=").decode("ascii")


def register_user_keys(
    session: Session, user: User, database_key: str, algorithm: str | None = None
) -> tuple[str, str]:
    """Give ``user`` a new API key and secret key, replacing any previous pair.

    Works in the caller's transaction (flushed, not committed). The caller decides who
    may do this (``registerUserKeys``: the user, their domain admin, root admin; never
    the system user).

    :param database_key: encrypts the secret key (empty: stored plain).
    :param algorithm: the jasypt algorithm of the deployment's secrets (``None``: the
        default, ``PBEWithMD5AndDES``).
    :return: ``(apikey, secretkey)`` in plain text, for the answer to the caller only.
    :raises RuntimeError: no unused API key after ten tries (cannot happen with a working
        random source).
    """
    for _ in range(_MAX_TRIES):
        api_key = generate_key()
        taken = session.scalar(select(User.id).where(User.api_key == api_key))
        if taken is None:
            break
    else:  # pragma: no cover - 2**-512 per try
        raise RuntimeError("could not generate an unused API key")
    secret_key = generate_key()
    user.api_key = api_key
    if database_key:
        user.store_secret_key(secret_key, database_key, algorithm)
    else:
        user.secret_key = secret_key
    session.flush()
    return api_key, secret_key


def find_user_by_api_key(session: Session, api_key: str) -> User | None:
    """The user holding ``api_key`` (its account and domain loaded too), or ``None``.

    Removed users and users of removed accounts are not found (4.1's
    ``findUserAccountByApiKey`` joins on live rows). Whether the user and the account
    are *enabled* is the caller's check. One statement.
    """
    principal = principal_by_api_key(session, api_key)
    return None if principal is None else principal.user


def reveal_secret_key(user: User, database_key: str, algorithm: str | None = None) -> str | None:
    """The user's secret key in plain text (``None`` if they have none).

    For the owner's own answers (``registerUserKeys``, ``listUsers``/``getUser`` where
    4.1 shows it) and for signature checks; never log the result.

    :raises cumulo.crypto.CryptoError: the database key does not decrypt it.
    """
    return reveal_stored_secret(user.secret_key, database_key, algorithm)


def reveal_stored_secret(
    stored: str | None, database_key: str, algorithm: str | None = None
) -> str | None:
    """:func:`reveal_secret_key` of a ``user.secret_key`` value read without the ORM.

    Decrypted once per process and ciphertext (:mod:`cumulo.crypto_cache`): every
    signed request needs it.

    :raises cumulo.crypto.CryptoError: the database key does not decrypt it (or there
        is none and the value is ``ENC(...)``).
    """
    if stored is None:
        return None
    inner = crypto.unwrap_enc(stored)
    if inner is None:
        return stored
    # Encryption type "none" (no database key): an ENC() value cannot be read, which is
    # what decrypting with the empty key says.
    return crypto_cache.decrypt(inner, database_key, algorithm or crypto.DEFAULT_ALGORITHM)
