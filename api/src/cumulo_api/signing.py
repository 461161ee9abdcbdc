"""Verifying request signatures as CloudStack 4.1 does, plus the variants real clients send.

4.1's canonical string (CS41:server/src/com/cloud/api/ApiServer.java:584-745,
``verifyRequest``; api-reference.md §a steps 4-10):

1. every received parameter name except ``signature`` (any case), exactly as received,
   sorted by ``Collections.sort`` — case-sensitive, by UTF-16 code unit;
2. each written ``name=URLEncoder.encode(value, "UTF-8")`` with ``+`` turned into
   ``%20``; the name itself is not encoded; the value is the first one received;
3. joined with ``&`` and lower-cased as a whole;
4. HMAC-SHA1 keyed with the secret key's bytes, standard base64 with padding.

Clients that do not reproduce Java exactly (clients.md, measured): ``cs`` 5.2.0 leaves
``~`` raw; Libcloud 3.9.1 sorts by lower-cased name and leaves ``~ [ ]`` raw; cloudmonkey
5.3.3 sorts by lower-cased name. 4.1 would refuse some of their requests; cumulo accepts
those variants (each is the same secret over the same parameters, only written
differently, so nothing is weakened) before answering 401. The Java form is tried first.

``signatureVersion=3`` (exactly the string ``3``) makes ``expires`` mandatory: a
``yyyy-MM-dd'T'HH:mm:ssZ`` time that must not be in the past. Other versions ignore it.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from urllib.parse import quote

SIGNATURE_VERSION_3 = "3"

# The parameters 4.1 recognises case-insensitively while verifying.
_SIGNATURE, _API_KEY, _VERSION, _EXPIRES = "signature", "apikey", "signatureversion", "expires"


@dataclass(frozen=True)
class Variant:
    """One way of writing the canonical string.

    :param lower_sort: order names by their lower-cased form (Libcloud, cloudmonkey)
        instead of Java's case-sensitive order.
    :param raw_tilde: leave ``~`` unescaped in values (Python 3's ``quote``).
    :param raw_brackets: leave ``[`` and ``]`` unescaped in values (Libcloud).
    """

    lower_sort: bool = False
    raw_tilde: bool = False
    raw_brackets: bool = False


JAVA = Variant()
"""4.1's own canonical string."""

VARIANTS: tuple[Variant, ...] = (
    JAVA,
    Variant(raw_tilde=True),  # cs 5.2.0
    Variant(lower_sort=True),  # cloudmonkey 5.3.3, Libcloud without ~ [ ]
    Variant(lower_sort=True, raw_tilde=True, raw_brackets=True),  # Libcloud 3.9.1
    Variant(lower_sort=True, raw_tilde=True),
    Variant(lower_sort=True, raw_brackets=True),
    Variant(raw_brackets=True),
    Variant(raw_tilde=True, raw_brackets=True),
)
"""Every combination of the three departures, Java's first, then the real clients'."""


def java_url_encode(value: str, variant: Variant = JAVA) -> str:
    """``URLEncoder.encode(value, "UTF-8")`` with ``+`` as ``%20``, as ``variant`` writes it.

    Java leaves ``a-z A-Z 0-9 . - * _`` and writes everything else as upper-case
    ``%XX`` of the UTF-8 bytes (a space becomes ``+``, which 4.1 turns into ``%20``).
    Python's ``quote`` agrees except that it also leaves ``~``.
    """
    safe = "*[]" if variant.raw_brackets else "*"
    encoded = quote(value, safe=safe, errors="surrogatepass")
    return encoded if variant.raw_tilde else encoded.replace("~", "%7E")


def _java_order(name: str) -> bytes:
    # Java's String.compareTo compares UTF-16 code units; UTF-16-BE bytes sort alike.
    return name.encode("utf-16-be", "surrogatepass")


def _lower_order(name: str) -> tuple[str, bytes]:
    # Python's sorted() is stable over the clients' dicts; ties (names differing only
    # in case) fall back to Java's order, as a stable sort over sorted input would.
    return name.lower(), _java_order(name)


def signed_pairs(params: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The ``(name, first value)`` pairs a signature covers: every received name once,
    ``signature`` (any case) left out."""
    first: dict[str, str] = {}
    for name, value in params:
        if name.lower() != _SIGNATURE:
            first.setdefault(name, value)
    return list(first.items())


def canonical_string(params: Iterable[tuple[str, str]], variant: Variant = JAVA) -> str:
    """The lower-cased string that is signed, written as ``variant`` says.

    :param params: the received parameters, names as received, values decoded; a
        repeated name counts with its first value, ``signature`` is left out.
    """
    pairs = signed_pairs(params)
    pairs.sort(
        key=lambda pair: _lower_order(pair[0]) if variant.lower_sort else _java_order(pair[0])
    )
    joined = "&".join(f"{name}={java_url_encode(value, variant)}" for name, value in pairs)
    return joined.lower()


def hmac_sha1_b64(message: str, secret_key: str) -> str:
    """Standard base64 (with padding) of HMAC-SHA1 over ``message``'s UTF-8 bytes."""
    digest = hmac.new(
        secret_key.encode("utf-8"), message.encode("utf-8", "surrogatepass"), hashlib.sha1
    ).digest()
    return base64.b64encode(digest).decode("ascii")


def sign(params: Iterable[tuple[str, str]], secret_key: str) -> str:
    """The signature 4.1 expects for ``params`` (Java canonical string)."""
    return hmac_sha1_b64(canonical_string(params), secret_key)


def _canonical_strings(params: Sequence[tuple[str, str]]) -> Iterator[str]:
    """The distinct canonical strings of :data:`VARIANTS`, Java's first: most requests
    contain no ``~ [ ]`` and no mixed-case names, so they are written one way only."""
    seen: set[str] = set()
    for variant in VARIANTS:
        text = canonical_string(params, variant)
        if text not in seen:
            seen.add(text)
            yield text


def signature_matches(params: Sequence[tuple[str, str]], secret_key: str, signature: str) -> bool:
    """Whether ``signature`` signs ``params`` under ``secret_key`` in any accepted
    variant, Java's first.

    Each comparison takes constant time (``hmac.compare_digest``), so a refusal tells
    nothing about how close a forged signature came. Stopping at the first match only
    reveals which variant the client used, which the client knows anyway.
    """
    received = signature.encode("utf-8", "surrogatepass")
    for text in _canonical_strings(params):
        if hmac.compare_digest(hmac_sha1_b64(text, secret_key).encode("ascii"), received):
            return True
    return False


def lookup(params: Iterable[tuple[str, str]], name: str) -> str | None:
    """The first value of ``name`` compared case-insensitively (how 4.1 finds
    ``apiKey``, ``signature``, ``signatureVersion`` and ``expires``)."""
    wanted = name.lower()
    for key, value in params:
        if key.lower() == wanted:
            return value
    return None


# yyyy-MM-dd'T'HH:mm:ss then a zone: RFC 822 (+0000), ISO (+00:00, Z) or GMT+hh:mm.
_EXPIRES_FORMAT = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})"
    r"(?:Z|(?:GMT|UTC)?([+-])(\d{2}):?(\d{2}))$"
)


def parse_expires(text: str) -> dt.datetime | None:
    """``expires`` as an aware datetime, or ``None`` when 4.1 could not parse it.

    4.1 parses with ``SimpleDateFormat("yyyy-MM-dd'T'HH:mm:ssZ")``: an RFC 822 offset
    such as ``+0000`` or ``+0530`` (what ``cs`` and cloudmonkey send). ``Z``, ``+05:30``
    and ``GMT+05:30`` are accepted too; a time without a zone is not.
    """
    match = _EXPIRES_FORMAT.match(text.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(part) for part in match.group(*range(1, 7)))
    sign_, hours, minutes = match.group(7), match.group(8), match.group(9)
    offset = dt.timedelta(0)
    if sign_ is not None:
        offset = dt.timedelta(hours=int(hours), minutes=int(minutes))
        if sign_ == "-":
            offset = -offset
    try:
        return dt.datetime(year, month, day, hour, minute, second, tzinfo=dt.timezone(offset))
    except ValueError:
        return None


def expiry_ok(params: Sequence[tuple[str, str]], now: dt.datetime | None = None) -> bool:
    """The ``signatureVersion=3`` rule: with version exactly ``"3"``, ``expires`` must be
    present, parse, and not be before ``now``; with any other version (or none), it is
    ignored and this is ``True``."""
    if lookup(params, _VERSION) != SIGNATURE_VERSION_3:
        return True
    raw = lookup(params, _EXPIRES)
    expires = parse_expires(raw) if raw is not None else None
    if expires is None:
        return False
    return expires >= (now or dt.datetime.now(dt.UTC))


__all__ = [
    "JAVA",
    "SIGNATURE_VERSION_3",
    "VARIANTS",
    "Variant",
    "canonical_string",
    "expiry_ok",
    "hmac_sha1_b64",
    "java_url_encode",
    "lookup",
    "parse_expires",
    "sign",
    "signature_matches",
    "signed_pairs",
]
