"""The default-limit settings this package declares, and reading them in a session.

4.1 declares ``max.account.*`` and ``max.project.*`` (``Config.java``, category
"Account Defaults" / "Project Defaults", 20 each); ``max.account.vpcs`` is already one
of the core's keys. ``max.domain.*`` are cumulo's: 4.1 limits a domain only where an
admin set a limit, which is what their default -1 (unlimited) keeps.

Reads go straight to the ``configuration`` table in the caller's transaction (one
statement for every key needed), falling back to the declared defaults, so that
:func:`cumulo.limits.service.reserve` needs nothing but a session.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from cumulo import hookimpl
from cumulo.config.core_keys import CORE_KEYS
from cumulo.config.models import Configuration
from cumulo.limits.types import ResourceType, account_key, domain_key, project_key
from cumulo.sdk import ConfigKey, ValueType

UNLIMITED = -1

_ACCOUNT_DEFAULTS, _PROJECT_DEFAULTS, _DOMAIN_DEFAULTS = (
    "Account Defaults",
    "Project Defaults",
    "Domain Defaults",
)
_WHAT = {
    ResourceType.USER_VM: "instances",
    ResourceType.PUBLIC_IP: "public IP addresses",
    ResourceType.VOLUME: "disk volumes",
    ResourceType.SNAPSHOT: "snapshots",
    ResourceType.TEMPLATE: "templates",
    ResourceType.NETWORK: "guest networks",
    ResourceType.VPC: "VPCs",
}


def _declared() -> tuple[ConfigKey, ...]:
    core = {key.name for key in CORE_KEYS}
    keys: list[ConfigKey] = []
    for resource_type, what in _WHAT.items():
        for name, owner, default, category in (
            (account_key(resource_type), "an account", "20", _ACCOUNT_DEFAULTS),
            (project_key(resource_type), "a project", "20", _PROJECT_DEFAULTS),
            (domain_key(resource_type), "a domain below ROOT", "-1", _DOMAIN_DEFAULTS),
        ):
            if name is None or name in core:
                continue
            keys.append(
                ConfigKey(
                    name,
                    ValueType.INTEGER,
                    default,
                    f"The default maximum number of {what} {owner} may own, unless an admin"
                    " set its limit; -1 means unlimited.",
                    category,
                    minimum=-1,
                )
            )
    return tuple(keys)


LIMIT_KEYS: tuple[ConfigKey, ...] = _declared()
"""The keys this package declares (every ``max.*`` default but the core's)."""

DEFAULTS: dict[str, int] = {
    key.name: int(key.default)
    for key in (*LIMIT_KEYS, *CORE_KEYS)
    if key.name.startswith("max.") and key.default is not None
}
"""Declared default of every default-limit key, by name."""


def read_defaults(session: Session, names: Iterable[str | None]) -> dict[str, int]:
    """The effective value of each named key (``None`` names skipped), in one statement.

    A key an operator set in ``configuration`` wins over its declared default; a value
    that does not parse (never stored through the API, which validates) counts as the
    default.
    """
    wanted = {name for name in names if name is not None}
    values = {name: DEFAULTS.get(name, UNLIMITED) for name in wanted}
    if not wanted:
        return values
    rows = session.execute(
        select(Configuration.name, Configuration.value).where(Configuration.name.in_(wanted))
    )
    for name, value in rows:
        try:
            values[name] = int(str(value).strip())
        except ValueError:
            continue
    return values


@hookimpl
def cumulo_configuration_keys() -> list[ConfigKey]:
    """The default-limit keys (see :data:`LIMIT_KEYS`)."""
    return list(LIMIT_KEYS)
