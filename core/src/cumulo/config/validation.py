"""Typed validation of configuration values (REQ-CFG-04).

Every value an operator sets goes through :func:`validate_value` before it is stored. It
returns the *normalised* text (``TRUE`` becomes ``true``, ``10.0.0.0/8 , 1.2.3.4/32``
becomes ``10.0.0.0/8,1.2.3.4/32``), so equal settings are stored equally and readers
parse one spelling. Errors are :class:`InvalidConfigValue` whose message an API shows
as-is as the ``errortext`` of a 431 response.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Callable
from urllib.parse import urlsplit

from cumulo.sdk import ConfigKey, ValueType

# CloudStack's configuration.value column is VARCHAR(4095).
MAX_VALUE_LENGTH = 4095


class InvalidConfigValue(ValueError):
    """A value (or scope) that a configuration parameter does not accept.

    The message is one line, names the parameter and never contains a secret value:
    ``Invalid value for parameter 'guest.vlan.bits': must be at most 12, got '13'``.
    """


def invalid(key: ConfigKey, reason: str) -> InvalidConfigValue:
    """The error for ``key`` with ``reason``, in the one wording the API shows."""
    return InvalidConfigValue(f"Invalid value for parameter '{key.name}': {reason}")


def _shown(key: ConfigKey, value: str) -> str:
    # Secrets are never echoed, not even in an error message about them.
    return "the given value" if key.secret else repr(value)


def _boolean(key: ConfigKey, value: str) -> str:
    text = value.strip().lower()
    if text not in ("true", "false"):
        raise invalid(key, f"expected true or false, got {_shown(key, value)}")
    return text


def _bounded(key: ConfigKey, number: float, value: str) -> None:
    if key.minimum is not None and number < key.minimum:
        raise invalid(key, f"must be at least {_number(key.minimum)}, got {_shown(key, value)}")
    if key.maximum is not None and number > key.maximum:
        raise invalid(key, f"must be at most {_number(key.maximum)}, got {_shown(key, value)}")


def _number(bound: float) -> str:
    return str(int(bound)) if float(bound).is_integer() else str(bound)


def _integer(key: ConfigKey, value: str) -> str:
    text = value.strip()
    try:
        number = int(text, 10)
    except ValueError:
        raise invalid(key, f"expected an integer, got {_shown(key, value)}") from None
    _bounded(key, number, value)
    return str(number)


def _float(key: ConfigKey, value: str) -> str:
    text = value.strip()
    try:
        number = float(text)
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise invalid(key, f"expected a number, got {_shown(key, value)}")
    _bounded(key, number, value)
    # Keep the operator's spelling ("1", "0.85"): CloudStack stores it that way and
    # float formatting would turn "1" into "1.0".
    return text


def parse_cidr(text: str) -> str:
    """``text`` as a normalised network (``10.1.0.0/16``, IPv6 compressed).

    :raises ValueError: not ``address/prefix``, or host bits are set.
    """
    if "/" not in text:
        raise ValueError(f"{text!r} is not a CIDR (expected address/prefix, e.g. 10.1.0.0/16)")
    try:
        return str(ipaddress.ip_network(text.strip(), strict=True))
    except ValueError as error:
        raise ValueError(f"{text.strip()!r} is not a valid CIDR: {error}") from None


def _cidr(key: ConfigKey, value: str) -> str:
    try:
        return parse_cidr(value)
    except ValueError as error:
        raise invalid(key, str(error)) from None


def _items(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def _cidr_list(key: ConfigKey, value: str) -> str:
    try:
        return ",".join(parse_cidr(item) for item in _items(value))
    except ValueError as error:
        raise invalid(key, str(error)) from None


def _ip(key: ConfigKey, value: str) -> str:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        raise invalid(key, f"{_shown(key, value)} is not an IP address") from None


def _url(key: ConfigKey, value: str) -> str:
    text = value.strip()
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError on a port outside 0-65535
    except ValueError:
        parts = None
    if parts is None or not parts.scheme or not parts.netloc:
        raise invalid(
            key, f"expected a URL such as http://host:8080/client/api, got {_shown(key, value)}"
        )
    return text


def _list(key: ConfigKey, value: str) -> str:
    return ",".join(_items(value))


def _enum(key: ConfigKey, value: str) -> str:
    text = value.strip()
    for choice in key.choices:
        if choice.lower() == text.lower():
            return choice
    raise invalid(key, f"expected one of {', '.join(key.choices)}, got {_shown(key, value)}")


def _string(key: ConfigKey, value: str) -> str:
    return value


def ip_range(key: ConfigKey, value: str) -> str:
    """A further check for ``first-last`` IP ranges (``10.1.2.1-10.1.2.8``), which
    ``ValueType`` has no type for: both ends addresses of one family, first <= last.

    :return: the range normalised; :raises InvalidConfigValue: otherwise.
    """
    first, _, last = value.strip().partition("-")
    expected = f"expected a range such as 10.1.2.1-10.1.2.8, got {_shown(key, value)}"
    try:
        start, end = ipaddress.ip_address(first.strip()), ipaddress.ip_address(last.strip())
    except ValueError:
        raise invalid(key, expected) from None
    if start.version != end.version:
        raise invalid(key, expected)
    if int(start) > int(end):
        raise invalid(key, f"the range {_shown(key, value)} ends before it starts")
    return f"{start}-{end}"


_BY_TYPE: dict[ValueType, Callable[[ConfigKey, str], str]] = {
    ValueType.STRING: _string,
    ValueType.BOOLEAN: _boolean,
    ValueType.INTEGER: _integer,
    ValueType.FLOAT: _float,
    ValueType.CIDR: _cidr,
    ValueType.CIDR_LIST: _cidr_list,
    ValueType.IP: _ip,
    ValueType.URL: _url,
    ValueType.LIST: _list,
    ValueType.ENUM: _enum,
}

# Types for which the empty string is a meaningful value ("no items", "empty text").
_EMPTY_ALLOWED = frozenset({ValueType.STRING, ValueType.LIST, ValueType.CIDR_LIST})


def validate_value(key: ConfigKey, value: str) -> str:
    """Check ``value`` against ``key``'s type and bounds and return it normalised.

    :raises InvalidConfigValue: the value does not fit; the message names the parameter.
    """
    if not isinstance(value, str):
        raise invalid(key, f"expected text, got {type(value).__name__}")
    if len(value) > MAX_VALUE_LENGTH:
        raise invalid(key, f"longer than {MAX_VALUE_LENGTH} characters")
    if not value.strip() and key.type not in _EMPTY_ALLOWED:
        raise invalid(key, f"an empty value is not allowed for type {key.type.value}")
    return _BY_TYPE[key.type](key, value)


def check_declaration(key: ConfigKey) -> None:
    """Check that a declaration is usable: a name without blanks, a known type, choices
    for an enum, ``minimum <= maximum``, and a default its own type accepts.

    :raises ValueError: what is wrong, naming the key.
    """
    if not key.name or key.name != key.name.strip() or any(c.isspace() for c in key.name):
        raise ValueError(f"configuration key name {key.name!r} is empty or contains blanks")
    if key.type not in _BY_TYPE:
        raise ValueError(f"configuration key '{key.name}' has unknown type {key.type!r}")
    if key.type is ValueType.ENUM and not key.choices:
        raise ValueError(f"configuration key '{key.name}' is an enum without choices")
    if key.minimum is not None and key.maximum is not None and key.minimum > key.maximum:
        raise ValueError(f"configuration key '{key.name}' has minimum > maximum")
    if not key.description.strip():
        raise ValueError(f"configuration key '{key.name}' has no description")
    if key.default is not None:
        try:
            normalised = validate_value(key, key.default)
        except InvalidConfigValue as error:
            raise ValueError(f"default of configuration key '{key.name}': {error}") from None
        if normalised != key.default:
            raise ValueError(
                f"default of configuration key '{key.name}' is not in normal form: "
                f"declare {normalised!r}"
            )
