"""Where templates may be downloaded from, and what their checksums look like.

No SSRF through template registration: a template URL must be ``http://`` or
``https://`` and every address its host resolves to must be globally routable, unless
it lies in a CIDR of ``secstorage.allowed.internal.sites`` (REQ-SS-08: the operator's
hardened internal template servers). The check runs when the template is registered
(a 431 naming ``url``) and again when it is downloaded, by the storage driver through
:func:`cumulo.sdk.storage.fetch_url`, which connects only to the address it checked:
a name that changes its answer in between (DNS rebinding) is refused then.

Checksums: 4.1 takes an MD5 in hex; later CloudStack versions write
``{MD5}hex`` / ``{SHA-256}hex``. All three forms are accepted, plus a bare SHA-256.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from cumulo.sdk.errors import InvalidParameterValue
from cumulo.sdk.storage import IpAddress, StorageOperationFailed, resolve_checked

ALLOWED_SITES_KEY = "secstorage.allowed.internal.sites"

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# The file name endings 4.1 accepts per format (TemplateAdapterBase / IsoAdapter),
# optionally compressed.
EXTENSIONS: Mapping[str, tuple[str, ...]] = {
    "QCOW2": ("qcow2",),
    "VHD": ("vhd",),
    "OVA": ("ova",),
    "RAW": ("img", "raw"),
    "ISO": ("iso",),
}
COMPRESSIONS = ("", ".zip", ".bz2", ".gz")

_HEX = re.compile(r"^[0-9a-fA-F]+$")
_ALGORITHMS = {"MD5": ("md5", 32), "SHA-256": ("sha256", 64), "SHA256": ("sha256", 64)}


@dataclass(frozen=True)
class AddressPolicy:
    """Which addresses a download may connect to: global ones, and those inside
    ``allowed`` (``secstorage.allowed.internal.sites``)."""

    allowed: tuple[Network, ...] = ()

    def __call__(self, address: IpAddress) -> bool:
        """``True`` when ``address`` may be connected to."""
        if address.is_global and not address.is_multicast:
            return True
        return any(address.version == net.version and address in net for net in self.allowed)

    @classmethod
    def parse(cls, value: str | None) -> AddressPolicy:
        """The policy of a comma-separated CIDR list (unset or empty: public only)."""
        networks = []
        for item in (value or "").split(","):
            if item.strip():
                networks.append(ipaddress.ip_network(item.strip(), strict=False))
        return cls(tuple(networks))

    @classmethod
    def read(cls, runtime: object, session: Session) -> AddressPolicy:
        """The policy as the configuration says now (``runtime.config_store``)."""
        store = runtime.config_store(session)  # type: ignore[attr-defined]
        return cls.parse(store.value(ALLOWED_SITES_KEY))


def check_source_url(
    url: str,
    format: str,
    policy: Callable[[IpAddress], bool],
    *,
    resolve: bool = True,
) -> str:
    """Check a template or ISO URL before anything is stored; return it stripped.

    :param format: the template's format, whose file ending the URL must have (4.1).
    :param resolve: also resolve the host and check its addresses against ``policy``.
    :raises InvalidParameterValue: not http/https, no host, a wrong ending, a host
        that does not resolve or resolves to a refused address (431 naming ``url``).
    """
    text = url.strip()
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise InvalidParameterValue(
            f"url: {text!r} is not an http:// or https:// URL with a host name"
        )
    try:
        port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    except ValueError as exc:
        raise InvalidParameterValue(f"url: {text!r} has an invalid port") from exc
    endings = tuple(
        f".{ext}{compression}"
        for ext in EXTENSIONS.get(format.upper(), ())
        for compression in COMPRESSIONS
    )
    if endings and not parts.path.lower().endswith(endings):
        raise InvalidParameterValue(
            f"url: please specify a valid {format.upper()} file: the URL must end in"
            f" {', '.join(sorted({e.split('.')[1] for e in endings}))}"
            " (optionally .zip, .bz2 or .gz)"
        )
    if resolve:
        try:
            resolve_checked(parts.hostname, port, policy)
        except StorageOperationFailed as exc:
            raise InvalidParameterValue(f"url: {exc}") from exc
    return text


def parse_checksum(value: str | None) -> str | None:
    """Normalise a registered checksum: ``None``/empty stays ``None``; a bare hex
    digest of 32 (MD5) or 64 (SHA-256) digits, or ``{MD5}``/``{SHA-256}`` prefixed.

    :return: the checksum as stored (``{ALGORITHM}hex`` for prefixed ones, bare
        lower-case hex for bare ones, as 4.1 stores MD5).
    :raises InvalidParameterValue: any other form (431 naming ``checksum``).
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    algorithm, digest = _split(text)
    name, length = _ALGORITHMS.get(algorithm, ("", 0)) if algorithm else ("", 0)
    if algorithm and not name:
        raise InvalidParameterValue(
            f"checksum: unknown algorithm {algorithm!r}; use MD5 or SHA-256"
        )
    if (
        not _HEX.match(digest)
        or (length and len(digest) != length)
        or (not algorithm and len(digest) not in (32, 64))
    ):
        raise InvalidParameterValue(
            "checksum: expected an MD5 (32 hex digits) or SHA-256 (64 hex digits) digest,"
            " optionally prefixed {MD5} or {SHA-256}"
        )
    return f"{{{algorithm.upper()}}}{digest.lower()}" if algorithm else digest.lower()


def checksum_mismatch(expected: str | None, digests: Mapping[str, str]) -> str | None:
    """Why the downloaded bytes do not match ``expected``, or ``None`` when they do
    (or when nothing can be compared: no checksum, or no digests from the driver)."""
    if not expected or not digests:
        return None
    algorithm, digest = _split(expected)
    name = _ALGORITHMS[algorithm][0] if algorithm else ("md5" if len(digest) == 32 else "sha256")
    actual = digests.get(name)
    if actual is None or actual.lower() == digest.lower():
        return None
    return (
        f"Failed post download script: checksum mismatch, expected {name} {digest.lower()}"
        f" but the download has {actual.lower()}"
    )


def _split(text: str) -> tuple[str, str]:
    if text.startswith("{") and "}" in text:
        algorithm, _, digest = text[1:].partition("}")
        return algorithm.upper(), digest
    return "", text


def template_file_name(uuid: str, format: str, url: str) -> str:
    """The object's file name on the store: its uuid and the URL's ending (4.1 names
    downloads after the template's unique name; the uuid is as unique)."""
    path = urlsplit(url).path.lower()
    for ext in EXTENSIONS.get(format.upper(), ()):
        for compression in COMPRESSIONS:
            if path.endswith(f".{ext}{compression}"):
                return f"{uuid}.{ext}{compression}"
    return f"{uuid}.{format.lower()}"
