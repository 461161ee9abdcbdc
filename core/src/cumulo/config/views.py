"""Configuration keys as CloudStack 4.1's ``ConfigurationResponse``, and the listing
rules of ``listConfigurations``.

4.1 lists the rows of its ``configuration`` table (CS41:
server/src/com/cloud/server/ManagementServerImpl.java ``searchForConfigurations``):
``name`` is a substring match, ``category`` exact, ``keyword`` a substring of the name,
instance, component, description, category or value; category ``Hidden`` is never
listed; the order is by name. cumulo lists the *declared* keys (the table holds only
overrides) with their effective values, read in one statement.

Secret values are never shown: the response carries :data:`MASK` instead, and a
keyword never matches a secret's value (that would let a caller guess it letter by
letter). They are not even decrypted for a listing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from cumulo.config import core_keys
from cumulo.config.models import Configuration
from cumulo.config.registry import ConfigRegistry
from cumulo.sdk import ConfigKey
from cumulo.sdk.api import Fields

CONFIGURATION_OBJECT = "configuration"
CONFIGURATION_RESPONSE_FIELDS = ("category", "name", "value", "description")

MASK = "********"
"""What ``value`` shows for a secret key that has a value."""

RESTART_NOTICE = "A change takes effect after the management server restarts."
"""Appended to the description of keys read only at start-up (REQ-CFG-03): 4.1's
response has no field for it, and the UI shows the description next to the value."""

HIDDEN_CATEGORY = "Hidden"
# What 4.1's keyword also searches besides name, description, category and value.
_INSTANCE = "DEFAULT"


def stored_values(session: Session) -> dict[str, str | None]:
    """Every override in the ``configuration`` table, by name, as stored (secrets stay
    ``ENC(...)``); one statement."""
    rows = session.execute(select(Configuration.name, Configuration.value))
    return {name: value for name, value in rows}


def effective_value(key: ConfigKey, stored: Mapping[str, str | None]) -> str | None:
    """The value ``key`` has: its override if there is a row, else its default."""
    return stored.get(key.name, key.default)


def description_of(key: ConfigKey) -> str:
    """The key's description, with :data:`RESTART_NOTICE` when it needs a restart."""
    if key.restart_required:
        return f"{key.description} {RESTART_NOTICE}"
    return key.description


def configuration_fields(key: ConfigKey, value: str | None) -> Fields:
    """A ``ConfigurationResponse``; a secret's value is masked, an unset value absent.

    :param value: the effective value (plain text or ``ENC(...)``: either way a secret
        is masked).
    """
    shown = MASK if key.secret and value is not None else value
    return {
        "category": key.category,
        "name": key.name,
        "value": shown,
        "description": description_of(key),
    }


def _contains(text: str | None, part: str) -> bool:
    return text is not None and part.lower() in text.lower()


def _component(registry: ConfigRegistry, key: ConfigKey) -> str:
    contributor = registry.contributor(key.name)
    return core_keys.COMPONENT if contributor == core_keys.__name__ else contributor


def matching_keys(
    registry: ConfigRegistry,
    stored: Mapping[str, str | None],
    *,
    name: str | None = None,
    category: str | None = None,
    keyword: str | None = None,
) -> list[ConfigKey]:
    """The declared keys ``listConfigurations`` shows for these filters, by name.

    Text matches ignore case, as 4.1's MySQL collation does.
    """
    found: list[ConfigKey] = []
    for key in registry:  # sorted by name
        if key.category.lower() == HIDDEN_CATEGORY.lower():
            continue
        if name is not None and not _contains(key.name, name):
            continue
        if category is not None and key.category.lower() != category.lower():
            continue
        if keyword is not None and not _keyword_matches(registry, key, stored, keyword):
            continue
        found.append(key)
    return found


def _keyword_matches(
    registry: ConfigRegistry, key: ConfigKey, stored: Mapping[str, str | None], keyword: str
) -> bool:
    searched: Iterable[str | None] = (
        key.name,
        _INSTANCE,
        _component(registry, key),
        key.description,
        key.category,
        None if key.secret else effective_value(key, stored),
    )
    return any(_contains(text, keyword) for text in searched)
