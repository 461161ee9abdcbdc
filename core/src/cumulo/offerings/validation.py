"""The parameter rules offerings share, each a 431 naming the parameter at fault.

Ranges are 4.1's (``ConfigurationManagerImpl.createServiceOffering``): CPU number and
speed 1..2147483647, memory 32..2147483647 MB; the storage type ``local`` or ``shared``
(any case); tags are cleaned as 4.1's ``StringUtils.cleanupTags`` does (split on
commas, trimmed, empties dropped).
"""

from __future__ import annotations

from cumulo.accounts.models import Domain
from cumulo.offerings.models import StorageType
from cumulo.sdk.errors import InvalidParameterValue

JAVA_INT_MAX = 2**31 - 1
MIN_MEMORY_MB = 32
NAME_LENGTH = 255
TEXT_LENGTH = 4096


def name(value: str, param: str = "name") -> str:
    """A non-blank name of at most 255 characters, trimmed."""
    text = value.strip()
    if not text:
        raise InvalidParameterValue(f"{param}: the offering name must not be empty")
    if len(text) > NAME_LENGTH:
        raise InvalidParameterValue(
            f"{param}: the offering name is longer than {NAME_LENGTH} characters"
        )
    return text


def display_text(value: str, param: str = "displaytext") -> str:
    """A display text of at most 4096 characters, trimmed."""
    text = value.strip()
    if len(text) > TEXT_LENGTH:
        raise InvalidParameterValue(f"{param}: longer than {TEXT_LENGTH} characters")
    return text


def in_range(value: int, param: str, low: int, high: int = JAVA_INT_MAX, unit: str = "") -> int:
    """``value`` when ``low <= value <= high``; the 431 says the range."""
    if not low <= value <= high:
        suffix = f" {unit}" if unit else ""
        raise InvalidParameterValue(
            f"{param}: {value} is out of range; specify a value between {low} and {high}{suffix}"
        )
    return value


def uses_local_storage(value: str | None, param: str = "storagetype") -> bool:
    """``storagetype`` as the ``use_local_storage`` flag (absent: shared)."""
    if value is None:
        return False
    text = value.strip().lower()
    if text not in (StorageType.LOCAL.value, StorageType.SHARED.value):
        raise InvalidParameterValue(
            f"{param}: invalid storage type '{value}'; valid types are 'local' and 'shared'"
        )
    return text == StorageType.LOCAL.value


def tags(value: str | None, param: str = "tags") -> str | None:
    """Comma-separated tags, trimmed and without empty items; ``None`` when none."""
    if value is None:
        return None
    cleaned = ",".join(tag.strip() for tag in value.split(",") if tag.strip())
    if len(cleaned) > TEXT_LENGTH:
        raise InvalidParameterValue(f"{param}: longer than {TEXT_LENGTH} characters")
    return cleaned or None


def host_tag(value: str | None, param: str = "hosttags") -> str | None:
    """The host tag, trimmed; ``None`` when absent or blank."""
    if value is None:
        return None
    text = value.strip()
    if len(text) > NAME_LENGTH:
        raise InvalidParameterValue(f"{param}: longer than {NAME_LENGTH} characters")
    return text or None


def live_domain(domain: Domain | None, param: str = "domainid") -> int | None:
    """The internal id of the offering's domain (``None``: public); a removed domain
    cannot own new offerings."""
    if domain is None:
        return None
    if domain.removed is not None:
        raise InvalidParameterValue(f"{param}: domain {domain.uuid} has been removed")
    return domain.id
