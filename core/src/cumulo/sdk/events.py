"""Events the management server emits, as plain values for observers."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Event:
    """Something that happened, in CloudStack's event vocabulary.

    :param type: CloudStack's event type, e.g. ``VM.CREATE``, ``USER.LOGIN``.
    :param level: ``INFO``, ``WARN`` or ``ERROR``.
    :param description: human-readable text; never contains a secret.
    :param account_uuid: the account the event belongs to (``None`` for system events).
    :param resource_type: e.g. ``VirtualMachine``; ``None`` when not about a resource.
    :param resource_uuid: the public UUID of that resource.
    :param details: further JSON-serialisable facts (state before/after, ids).
    :param created: when it happened (UTC).
    """

    type: str
    level: str = "INFO"
    description: str = ""
    account_uuid: str | None = None
    resource_type: str | None = None
    resource_uuid: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    created: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
