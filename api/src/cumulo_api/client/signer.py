"""Client-side request signing, exactly as a CloudStack 4.1 server verifies it.

The client signs on its own rather than reusing the server's verifier
(:mod:`cumulo_api.signing`): a client that shared the server's canonicalisation would
prove nothing about it, whereas this one is written from the 4.1 algorithm
(api-reference.md §a, ``CS41:server/src/com/cloud/api/ApiServer.java:584-745``) and so
cross-checks the server on every call the tests make.

The canonical string is every parameter except ``signature``, sorted by the *original*
name as Java's ``Collections.sort`` orders strings (UTF-16 code units), each written
``name=URLEncoder.encode(value)`` with ``+`` turned into ``%20``, joined with ``&`` and
lower-cased as a whole. The signature is HMAC-SHA1 over it, keyed with the secret key's
bytes, in standard base64.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
from collections.abc import Iterable, Sequence
from urllib.parse import quote

EXPIRES_FORMAT = "%Y-%m-%dT%H:%M:%S+0000"
"""``expires`` as 4.1 parses it (``yyyy-MM-dd'T'HH:mm:ssZ``), always written in UTC."""


def java_url_encode(value: str) -> str:
    """``java.net.URLEncoder.encode(value, "UTF-8")`` with ``+`` replaced by ``%20``.

    Java leaves only ``a-z A-Z 0-9 . - * _`` unescaped; Python's ``quote`` also leaves
    ``~`` alone (RFC 3986 calls it unreserved), so it is escaped by hand here, which is
    exactly where the ``cs`` client and Libcloud depart from the server.
    """
    return quote(value, safe="*").replace("~", "%7E")


def _java_string_order(name: str) -> bytes:
    # Java compares strings by UTF-16 code unit; big-endian UTF-16 bytes sort the same.
    return name.encode("utf-16-be")


def canonical_string(params: Iterable[tuple[str, str]]) -> str:
    """The lower-cased string 4.1 signs for ``params`` (``signature`` left out).

    :param params: the parameters exactly as they will be sent: names in their original
        case, values decoded (not URL-encoded).
    """
    pairs = [(name, value) for name, value in params if name.lower() != "signature"]
    pairs.sort(key=lambda pair: _java_string_order(pair[0]))
    joined = "&".join(f"{name}={java_url_encode(value)}" for name, value in pairs)
    return joined.lower()


def signature(params: Iterable[tuple[str, str]], secret_key: str) -> str:
    """The base64 HMAC-SHA1 signature of ``params`` under ``secret_key``."""
    digest = hmac.new(
        secret_key.encode("utf-8"), canonical_string(params).encode("utf-8"), hashlib.sha1
    ).digest()
    return base64.b64encode(digest).decode("ascii")


def expires_at(lifetime_seconds: int, *, now: dt.datetime | None = None) -> str:
    """The ``expires`` value for a request valid ``lifetime_seconds`` from ``now`` (UTC)."""
    moment = (now or dt.datetime.now(dt.UTC)) + dt.timedelta(seconds=lifetime_seconds)
    return moment.astimezone(dt.UTC).strftime(EXPIRES_FORMAT)


def sign(
    params: Sequence[tuple[str, str]],
    api_key: str,
    secret_key: str,
    *,
    signature_version: int = 3,
    lifetime_seconds: int = 600,
) -> list[tuple[str, str]]:
    """``params`` with ``apiKey``, the expiry (``signatureVersion=3``) and ``signature``.

    :param params: the command's parameters, ``command`` and ``response`` included.
    :param signature_version: 3 adds ``signatureVersion=3`` and ``expires`` (what ``cs``
        and cloudmonkey send); any other value sends neither, as 4.1 then ignores them.
    :param lifetime_seconds: how long a version-3 request stays valid.
    :return: the parameters to send, in order, the signature last.
    """
    signed = list(params)
    signed.append(("apiKey", api_key))
    if signature_version == 3:
        signed.append(("signatureVersion", "3"))
        signed.append(("expires", expires_at(lifetime_seconds)))
    signed.append(("signature", signature(signed, secret_key)))
    return signed
