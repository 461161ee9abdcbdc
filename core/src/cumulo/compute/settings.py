"""Global settings the VM lifecycle reads, declared by this package
(``cumulo_configuration_keys`` in :mod:`cumulo.compute.commands`) with CloudStack 4.1's
names and defaults."""

from __future__ import annotations

from cumulo.sdk import ConfigKey, ValueType

EXPUNGE_DELAY = "expunge.delay"
EXPUNGE_INTERVAL = "expunge.interval"
INSTANCE_NAME = "instance.name"

KEYS: tuple[ConfigKey, ...] = (
    ConfigKey(
        EXPUNGE_DELAY,
        ValueType.INTEGER,
        "86400",
        "Determines how long (in seconds) to wait before actually expunging destroyed vm."
        " The default value = the default value of expunge.interval",
        "Advanced",
        minimum=0,
    ),
    ConfigKey(
        EXPUNGE_INTERVAL,
        ValueType.INTEGER,
        "86400",
        "The interval (in seconds) to wait before running the expunge thread.",
        "Advanced",
        minimum=1,
    ),
    ConfigKey(
        INSTANCE_NAME,
        ValueType.STRING,
        "VM",
        "Name of the deployment instance: the suffix of every VM's hypervisor-side name"
        " (i-<account id>-<vm id>-<instance.name>).",
        "Advanced",
        restart_required=True,
    ),
)
"""The keys this package contributes."""
