"""Decrypted secrets remembered per process, keyed by the stored ciphertext.

Decrypting a jasypt value costs 1000 key-derivation iterations (~0.2 ms of CPU with
``PBEWithMD5AndDES``, more with AES-256), and every signed API request needs its
caller's secret key; a ``listAccounts`` answer shows it once more. The ciphertext is
salted and re-encrypted whenever the value changes (``registerUserKeys`` makes a new
one), so a ciphertext always decrypts to the same text: remembering the result can
never serve a stale secret, and needs no invalidation.

What this does not change:

* only values read from our own tables are looked up here, never a value a client
  sent, so a hit or a miss tells a client nothing it did not already know;
* failures are not remembered (a wrong key keeps failing, with the same message);
* nothing here is logged or exposed: the cache holds what the process would hold
  while answering anyway, and is bounded, so old entries (e.g. of replaced keys) drop
  out under use.
"""

from __future__ import annotations

from functools import lru_cache

from cumulo import crypto

MAX_ENTRIES = 4096
"""Secrets kept at most; one per active API user is what a busy server needs."""


@lru_cache(maxsize=MAX_ENTRIES)
def _decrypt(ciphertext: str, password: str, algorithm: str) -> str:
    # lru_cache is thread-safe (gthread workers) and does not remember exceptions.
    return crypto.decrypt(ciphertext, password, algorithm)


def decrypt(ciphertext: str, password: str, algorithm: str = crypto.DEFAULT_ALGORITHM) -> str:
    """:func:`cumulo.crypto.decrypt`, computed once per distinct argument triple.

    Use it only for values stored in the database or configuration files.

    :raises cumulo.crypto.CryptoError: as :func:`cumulo.crypto.decrypt`.
    """
    return _decrypt(ciphertext, password, algorithm)


def clear() -> None:
    """Forget every remembered value (tests; a process that rotates its database key)."""
    _decrypt.cache_clear()
