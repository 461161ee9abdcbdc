"""The global configuration of a cloud (REQUIREMENTS CAP-16).

- :class:`ConfigRegistry` — every key the core and the plugins declare, with type,
  default, description, category, scopes; validates values.
- :class:`ConfigStore` — the values operators set, stored in the ``configuration``
  (global) and ``scoped_configuration`` (zone, cluster, storage pool, account) tables;
  a lookup falls back from scope to global override to declared default.

Plugins declare keys with ``cumulo.sdk.ConfigKey`` through the
``cumulo_configuration_keys`` hook; they never import this package.
"""

from cumulo.config.registry import ConfigRegistry, ConfigRegistryError, UnknownConfigKey
from cumulo.config.store import ConfigStore
from cumulo.config.validation import InvalidConfigValue

__all__ = [
    "ConfigRegistry",
    "ConfigRegistryError",
    "ConfigStore",
    "InvalidConfigValue",
    "UnknownConfigKey",
]
