"""Checks of the values a caller gives to domains, accounts and users.

Each raises :class:`~cumulo.sdk.errors.InvalidParameterValue` (431) with 4.1's text, so
nothing is written when a value is refused.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from cumulo.sdk.errors import InvalidParameterValue

_LABEL = re.compile(r"^[a-z0-9-]{1,63}$")

NETWORK_DOMAIN_ERROR = (
    "Invalid network domain. Total length shouldn't exceed 190 chars. Each domain label"
    " must be between 1 and 63 characters long, can contain ASCII letters 'a' through"
    " 'z', the digits '0' through '9', and the hyphen ('-'); can't start or end with \"-\""
)

TIMEZONE_LENGTH = 30
"""``user.timezone`` is VARCHAR(30), as in 4.1."""


def check_network_domain(value: str) -> str:
    """``value`` if it is a valid DNS domain for guest networks, else 431.

    CS41: utils/src/com/cloud/utils/net/NetUtils.java verifyDomainName: at most 190
    characters (so that a 63-character host name still fits in 253), dot-separated
    labels of letters, digits and hyphens, 1 to 63 long, not starting or ending with a
    hyphen.
    """
    if not 1 <= len(value) <= 190 or value.startswith(".") or value.endswith("."):
        raise InvalidParameterValue(NETWORK_DOMAIN_ERROR)
    for label in value.lower().split("."):
        if not _LABEL.match(label) or label.startswith("-") or label.endswith("-"):
            raise InvalidParameterValue(NETWORK_DOMAIN_ERROR)
    return value


def optional_network_domain(value: str | None) -> str | None:
    """For updates: ``None`` keeps the value, ``""`` clears it, anything else is checked."""
    if value is None or value == "":
        return value
    return check_network_domain(value)


def check_not_empty(value: str, what: str) -> str:
    """``value`` unless it is empty or blank (``"Username is empty"``)."""
    if not value.strip():
        raise InvalidParameterValue(f"{what} is empty")
    return value


def check_timezone(value: str | None) -> str | None:
    """A timezone that fits its column (4.1 stores the text as given)."""
    if value is not None and len(value) > TIMEZONE_LENGTH:
        raise InvalidParameterValue(
            f"Invalid parameter timezone: at most {TIMEZONE_LENGTH} characters"
        )
    return value


def details_map(value: Any, param: str = "accountdetails") -> dict[str, str] | None:
    """The name/value pairs of a MAP parameter such as ``accountdetails``.

    4.1 clients send ``accountdetails[0].foo=1&accountdetails[0].bar=2``: each field of
    an entry is a detail name (CS41: CreateAccountCmd.getDetails reads the first entry's
    map). Entries arrive as a mapping of index to fields, or a sequence of field maps;
    all entries are merged, later ones winning.

    :return: ``None`` when the parameter is absent or empty.
    :raises InvalidParameterValue: a value longer than the 255-character column.
    """
    if value is None:
        return None
    if isinstance(value, Mapping):
        entries: Sequence[Any] = [value[key] for key in sorted(value, key=_index_order)]
    else:
        entries = list(value)
    merged: dict[str, str] = {}
    for entry in entries:
        if not isinstance(entry, Mapping):
            raise InvalidParameterValue(f"Invalid parameter {param}: expected name[0].key=value")
        for name, detail in entry.items():
            if len(str(name)) > 255 or len(str(detail)) > 255:
                raise InvalidParameterValue(
                    f"Invalid parameter {param}: names and values are at most 255 characters"
                )
            merged[str(name)] = str(detail)
    return merged or None


def _index_order(key: Any) -> tuple[int, str]:
    text = str(key)
    return (int(text), "") if text.isdecimal() else (1 << 30, text)
