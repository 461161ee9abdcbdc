"""Global settings guest networks read, declared with CloudStack 4.1's names and defaults
(``cumulo_configuration_keys`` in :mod:`cumulo.network.networks.commands`).

:func:`read` takes them straight from ``configuration`` in the caller's transaction (one
statement for every key asked), falling back to these defaults, so that code holding
only a session (the deploy's NIC allocation, the start job) needs no runtime.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from cumulo.config.models import Configuration
from cumulo.sdk import ConfigKey, ValueType

GC_INTERVAL = "network.gc.interval"
GC_WAIT = "network.gc.wait"
GUEST_DOMAIN_SUFFIX = "guest.domain.suffix"
SUBDOMAIN_ACCESS = "allow.subdomain.network.access"
GUEST_VLAN_BITS = "guest.vlan.bits"
"""Declared by the core (:mod:`cumulo.config.core_keys`); read here."""

KEYS: tuple[ConfigKey, ...] = (
    ConfigKey(
        GC_INTERVAL,
        ValueType.INTEGER,
        "600",
        "Seconds to wait before checking for networks to shutdown",
        "Advanced",
        minimum=1,
    ),
    ConfigKey(
        GC_WAIT,
        ValueType.INTEGER,
        "600",
        "Time (in seconds) to wait before shutting down a network that's not in used",
        "Advanced",
        minimum=0,
    ),
    ConfigKey(
        GUEST_DOMAIN_SUFFIX,
        ValueType.STRING,
        "cloud.internal",
        "Default domain name for vms inside virtualized networks fronted by router",
        "Network",
    ),
    ConfigKey(
        SUBDOMAIN_ACCESS,
        ValueType.BOOLEAN,
        "true",
        "Allow subdomains to use networks dedicated to their parent domain(s)",
        "Advanced",
    ),
)
"""The keys this package contributes."""

DEFAULTS: dict[str, str] = {
    **{key.name: key.default or "" for key in KEYS},
    GUEST_VLAN_BITS: "12",
}


def read(session: Session, names: Iterable[str]) -> dict[str, str]:
    """The effective value of each named key (one statement): the operator's value in
    ``configuration`` when set, else the declared default."""
    wanted = set(names)
    values = {name: DEFAULTS.get(name, "") for name in wanted}
    rows = session.execute(
        select(Configuration.name, Configuration.value).where(Configuration.name.in_(wanted))
    )
    for name, value in rows:
        if value is not None and str(value).strip():
            values[name] = str(value).strip()
    return values


def integer(values: dict[str, str], name: str) -> int:
    """``values[name]`` as a number, its default if it does not parse."""
    try:
        return int(values[name])
    except (KeyError, ValueError):
        return int(DEFAULTS[name])
