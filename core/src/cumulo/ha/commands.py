"""High availability as a built-in plugin (``cumulo.ha.commands`` in
``BUILTIN_PLUGINS``): its global settings. HA has no API command of its own in 4.1; it
acts through the periodic task :func:`cumulo.ha.task.run_ha_round`."""

from __future__ import annotations

from cumulo import hookimpl
from cumulo.ha import settings
from cumulo.sdk import ConfigKey


@hookimpl
def cumulo_configuration_keys() -> list[ConfigKey]:
    """``ha.workers``, ``restart.retry.interval``, ``migrate.retry.interval``,
    ``stop.retry.interval``, ``ha.max.retries`` (:mod:`.settings`)."""
    return list(settings.KEYS)
