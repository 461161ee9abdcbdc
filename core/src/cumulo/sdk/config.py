"""Configuration keys: what a plugin (or the core) declares to the global registry.

A key is declared once, with its type, default, description, category and the scopes
at which an operator may override it. The registry (``cumulo.config``) validates every
value against the declaration before it is stored.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Scope(enum.StrEnum):
    """Where a value may be overridden; ``GLOBAL`` is always allowed.

    The names are CloudStack's ``scope`` values as ``listConfigurations`` shows them.
    """

    GLOBAL = "global"
    ZONE = "zone"
    CLUSTER = "cluster"
    STORAGE_POOL = "storagepool"
    ACCOUNT = "account"


class ValueType(enum.StrEnum):
    """How a configuration value is parsed and validated."""

    STRING = "string"
    BOOLEAN = "boolean"
    INTEGER = "integer"
    FLOAT = "float"
    CIDR = "cidr"
    CIDR_LIST = "cidrlist"
    IP = "ip"
    URL = "url"
    LIST = "list"  # comma-separated strings
    ENUM = "enum"  # one of ``ConfigKey.choices``


@dataclass(frozen=True)
class ConfigKey:
    """One global configuration parameter.

    :param name: CloudStack's dotted key, e.g. ``default.page.size``.
    :param type: how values are parsed and validated.
    :param default: the default as the string CloudStack stores (``None``: unset).
    :param description: the one-line text ``listConfigurations`` shows.
    :param category: CloudStack's category (``Advanced``, ``Network``, ``Storage``, ...).
    :param scopes: scopes besides global where an override is allowed.
    :param restart_required: the value is read at start-up only (REQ-CFG-03).
    :param secret: stored encrypted with the database key; never shown in plain text.
    :param choices: allowed values for ``ValueType.ENUM``.
    :param minimum: lower bound for numeric types.
    :param maximum: upper bound for numeric types.
    """

    name: str
    type: ValueType
    default: str | None
    description: str
    category: str = "Advanced"
    scopes: frozenset[Scope] = field(default_factory=frozenset)
    restart_required: bool = False
    secret: bool = False
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
