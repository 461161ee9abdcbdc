"""The volume and snapshot API commands and settings, contributed as a built-in plugin
(``cumulo.volumes.commands`` in ``BUILTIN_PLUGINS``).

Importing this module also registers how volumes (resource type 2) and snapshots
(type 3) are recounted by ``updateResourceCount`` (:mod:`cumulo.limits.counters`).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cumulo import hookimpl
from cumulo.limits import counters
from cumulo.limits.types import ResourceType
from cumulo.sdk import ConfigKey
from cumulo.sdk.api import Command
from cumulo.volumes import policies, snapshot_commands, volume_commands
from cumulo.volumes.models import Volume, VolumeState
from cumulo.volumes.snapshot_models import Snapshot, SnapshotState

COMMANDS: tuple[Command, ...] = (*volume_commands.COMMANDS, *snapshot_commands.COMMANDS)
"""Every 4.1 volume and snapshot command cumulo implements."""

_GONE_VOLUMES = (VolumeState.DESTROY.value, VolumeState.EXPUNGING.value, VolumeState.EXPUNGED.value)


def count_volumes(session: Session, account_ids: Sequence[int]) -> dict[int, int]:
    """Live volumes per account (4.1 counts what is not destroyed); one statement."""
    rows = session.execute(
        select(Volume.account_id, func.count())
        .where(
            Volume.account_id.in_(list(account_ids)),
            Volume.removed.is_(None),
            Volume.state.not_in(_GONE_VOLUMES),
        )
        .group_by(Volume.account_id)
    )
    return {int(account): int(count) for account, count in rows}


def count_snapshots(session: Session, account_ids: Sequence[int]) -> dict[int, int]:
    """Snapshots per account that are neither destroyed nor failed; one statement."""
    rows = session.execute(
        select(Snapshot.account_id, func.count())
        .where(
            Snapshot.account_id.in_(list(account_ids)),
            Snapshot.removed.is_(None),
            Snapshot.status.not_in((SnapshotState.DESTROYED.value, SnapshotState.ERROR.value)),
        )
        .group_by(Snapshot.account_id)
    )
    return {int(account): int(count) for account, count in rows}


counters.register(ResourceType.VOLUME, count_volumes)
counters.register(ResourceType.SNAPSHOT, count_snapshots)


@hookimpl
def cumulo_api_commands() -> list[Command]:
    """The volume and snapshot commands (see :data:`COMMANDS`)."""
    return list(COMMANDS)


@hookimpl
def cumulo_configuration_keys() -> list[ConfigKey]:
    """``snapshot.max.hourly``, ``.daily``, ``.weekly``, ``.monthly``."""
    return list(policies.KEYS)
