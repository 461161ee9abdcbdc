"""The global settings high availability reads, with CloudStack 4.1's names and
defaults where 4.1 has them (declared through ``cumulo_configuration_keys`` in
:mod:`cumulo.ha.commands`); ``ha.tag`` is a core key (:mod:`cumulo.config.core_keys`)
that placement reads itself."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from cumulo.runtime import Runtime
from cumulo.sdk import ConfigKey, ValueType

HA_WORKERS = "ha.workers"
RESTART_RETRY_INTERVAL = "restart.retry.interval"
MIGRATE_RETRY_INTERVAL = "migrate.retry.interval"
STOP_RETRY_INTERVAL = "stop.retry.interval"
MAX_RETRIES = "ha.max.retries"

KEYS: tuple[ConfigKey, ...] = (
    ConfigKey(
        HA_WORKERS,
        ValueType.INTEGER,
        "5",
        "Number of ha worker threads: the HA work items one management server takes per round.",
        "Advanced",
        minimum=1,
    ),
    ConfigKey(
        RESTART_RETRY_INTERVAL,
        ValueType.INTEGER,
        "600",
        "Time (in seconds) between retries to restart a vm",
        "Advanced",
        minimum=0,
    ),
    ConfigKey(
        MIGRATE_RETRY_INTERVAL,
        ValueType.INTEGER,
        "120",
        "Time (in seconds) between migration retries",
        "Advanced",
        minimum=0,
    ),
    ConfigKey(
        STOP_RETRY_INTERVAL,
        ValueType.INTEGER,
        "600",
        "Time in seconds between retries to stop or destroy a vm",
        "Advanced",
        minimum=0,
    ),
    ConfigKey(
        MAX_RETRIES,
        ValueType.INTEGER,
        "5",
        "How many times HA tries to restart (or migrate, or stop) a VM before it gives up"
        " and raises an alert (4.1 hard-codes 5).",
        "Advanced",
        minimum=1,
    ),
)
"""The keys this package contributes."""


@dataclass(frozen=True)
class HaSettings:
    """The settings one HA round uses (4.1 defaults)."""

    workers: int = 5
    restart_retry: dt.timedelta = dt.timedelta(seconds=600)
    migrate_retry: dt.timedelta = dt.timedelta(seconds=120)
    stop_retry: dt.timedelta = dt.timedelta(seconds=600)
    max_retries: int = 5

    @classmethod
    def read(cls, runtime: Runtime, session: Session) -> HaSettings:
        """The current values, in one statement (usually answered by the cache)."""
        values = runtime.config_store(session).values(key.name for key in KEYS)

        def number(name: str, default: int) -> int:
            text = values.get(name)
            return int(text) if text else default

        return cls(
            workers=number(HA_WORKERS, 5),
            restart_retry=dt.timedelta(seconds=number(RESTART_RETRY_INTERVAL, 600)),
            migrate_retry=dt.timedelta(seconds=number(MIGRATE_RETRY_INTERVAL, 120)),
            stop_retry=dt.timedelta(seconds=number(STOP_RETRY_INTERVAL, 600)),
            max_retries=number(MAX_RETRIES, 5),
        )
