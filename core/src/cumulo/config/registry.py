"""The global configuration registry: every key the core and the plugins declare.

Built once per process from the ``cumulo_configuration_keys`` hook, before the database
is read. It answers "what is this key, who declared it, is this value acceptable"; the
values themselves live in the database (:mod:`cumulo.config.store`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping

import pluggy

from cumulo.config import core_keys
from cumulo.config.validation import InvalidConfigValue, check_declaration, validate_value
from cumulo.sdk import ConfigKey

log = logging.getLogger(__name__)

Check = Callable[[ConfigKey, str], str]


class ConfigRegistryError(Exception):
    """The declared keys are inconsistent (a duplicate name, a broken declaration); the
    registry refuses to build and the message names the plugins involved."""


class UnknownConfigKey(InvalidConfigValue, LookupError):
    """No plugin declares a key of that name. A LookupError for code, and an
    :class:`InvalidConfigValue` so an API answers ``updateConfiguration`` for an unknown
    name with the same 431 as for a bad value."""

    def __init__(self, name: str) -> None:
        super().__init__(f"Unknown configuration parameter '{name}'")
        self.name = name

    def __str__(self) -> str:  # LookupError would show the repr of the message
        return str(self.args[0])


def _declarations(result: object) -> list[ConfigKey]:
    """A hook result as ConfigKey values; anything else is the plugin's bug."""
    if result is None:
        return []
    if not isinstance(result, Iterable) or isinstance(result, str | bytes):
        raise TypeError(f"returned {type(result).__name__}, not a list of ConfigKey")
    keys = list(result)
    for key in keys:
        if not isinstance(key, ConfigKey):
            raise TypeError(f"returned {type(key).__name__}, not ConfigKey")
    return keys


class ConfigRegistry:
    """The declared configuration keys, by name, with the plugin that declared each.

    Immutable once built. Names are matched exactly (CloudStack's keys are
    case-sensitive: ``cluster.node.IP``), after resolving aliases.
    """

    def __init__(
        self,
        keys: Iterable[tuple[str, ConfigKey]],
        *,
        aliases: Mapping[str, str] | None = None,
        checks: Mapping[str, Check] | None = None,
    ) -> None:
        """:param keys: ``(contributor, key)`` pairs; the contributor is the plugin name
        shown in errors and by :meth:`contributor`.
        :param aliases: other spellings resolving to a declared name.
        :param checks: validation beyond a key's type, by declared name.
        :raises ConfigRegistryError: a name is declared twice (naming both contributors),
            a declaration is broken, or an alias/check points at an undeclared key.
        """
        self._keys: dict[str, ConfigKey] = {}
        self._contributors: dict[str, str] = {}
        for contributor, key in keys:
            if key.name in self._keys:
                raise ConfigRegistryError(
                    f"configuration key '{key.name}' is declared by both plugin "
                    f"'{self._contributors[key.name]}' and plugin '{contributor}'"
                )
            try:
                check_declaration(key)
            except ValueError as error:
                raise ConfigRegistryError(f"plugin '{contributor}': {error}") from None
            self._keys[key.name] = key
            self._contributors[key.name] = contributor
        self.errors: dict[str, str] = {}
        """Plugins whose keys :meth:`build` skipped, with the reason."""
        self._aliases = dict(aliases or {})
        self._checks = dict(checks or {})
        for alias, target in self._aliases.items():
            if target not in self._keys or alias in self._keys:
                raise ConfigRegistryError(f"alias '{alias}' -> '{target}' is not usable")
        for name in self._checks:
            if name not in self._keys:
                raise ConfigRegistryError(f"a check is given for undeclared key '{name}'")

    @classmethod
    def build(cls, pm: pluggy.PluginManager) -> ConfigRegistry:
        """Merge the keys every plugin registered on ``pm`` contributes.

        Each plugin's hook is called on its own, so every key is attributed to its plugin.
        A plugin whose hook raises or returns something other than ``ConfigKey`` values
        is skipped and logged (a broken third-party plugin must not stop the server),
        and its error is kept in :attr:`errors`.

        :raises ConfigRegistryError: duplicate names or broken declarations.
        """
        contributed: list[tuple[str, ConfigKey]] = []
        errors: dict[str, str] = {}
        for impl in pm.hook.cumulo_configuration_keys.get_hookimpls():
            name = impl.plugin_name
            try:
                keys = _declarations(impl.function())
            except Exception as error:  # a plugin's bug, reported and skipped
                errors[name] = f"{type(error).__name__}: {error}"
                log.error("configuration keys of plugin %r skipped: %s", name, errors[name])
                continue
            contributed.extend((name, key) for key in keys)
        # The core's aliases and checks apply to whichever of its keys are present.
        declared = {key.name for _, key in contributed}
        registry = cls(
            contributed,
            aliases={a: t for a, t in core_keys.ALIASES.items() if t in declared},
            checks={n: c for n, c in core_keys.EXTRA_CHECKS.items() if n in declared},
        )
        registry.errors.update(errors)
        return registry

    # -- lookup ---------------------------------------------------------------------------

    def canonical_name(self, name: str) -> str:
        """The declared name ``name`` stands for (itself, or an alias's target).

        :raises UnknownConfigKey: nothing is declared under that name.
        """
        if name in self._keys:
            return name
        if name in self._aliases:
            return self._aliases[name]
        raise UnknownConfigKey(name)

    def get_key(self, name: str) -> ConfigKey:
        """The declaration of ``name`` (aliases resolved).

        :raises UnknownConfigKey: nothing is declared under that name.
        """
        return self._keys[self.canonical_name(name)]

    def contributor(self, name: str) -> str:
        """The name of the plugin that declared ``name``."""
        return self._contributors[self.canonical_name(name)]

    def keys(self) -> list[ConfigKey]:
        """Every declaration, sorted by name."""
        return [self._keys[name] for name in sorted(self._keys)]

    def __iter__(self) -> Iterator[ConfigKey]:
        """The declarations, sorted by name (as :meth:`keys`); ``in`` tests names."""
        return iter(self.keys())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and (name in self._keys or name in self._aliases)

    def __len__(self) -> int:
        return len(self._keys)

    # -- validation -----------------------------------------------------------------------

    def validate(self, name: str, value: str) -> str:
        """``value`` normalised for key ``name`` (see :func:`validate_value`).

        :raises InvalidConfigValue: the value does not fit, or (as
            :class:`UnknownConfigKey`) no key has that name.
        """
        key = self.get_key(name)
        normalised = validate_value(key, value)
        check = self._checks.get(key.name)
        return check(key, normalised) if check is not None else normalised
