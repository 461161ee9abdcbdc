"""Volume and snapshot state machines (4.1's ``Volume.State`` and ``Snapshot.State``).

Every state change is ONE conditional statement::

    UPDATE volumes SET state = :to, update_count = update_count + 1, ...
     WHERE id = :id AND state = :from AND update_count = :seen

so of two concurrent operations on the same volume (an attach and a delete, two
snapshots) exactly one matches the row; the other is refused. A change not allowed in
the current state is the caller's mistake (431 naming the state); a row changed
between reading and writing is :class:`~cumulo.sdk.errors.ResourceUnavailable` (534).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from cumulo.db.base import utcnow
from cumulo.sdk.errors import InvalidParameterValue, ResourceUnavailable
from cumulo.volumes.models import Volume, VolumeState
from cumulo.volumes.snapshot_models import Snapshot, SnapshotState


class VolumeEvent(enum.StrEnum):
    """What happens to a volume (4.1 ``Volume.Event``, the ones cumulo raises)."""

    CREATE_REQUESTED = "CreateRequested"
    OPERATION_SUCCEEDED = "OperationSucceeded"
    OPERATION_FAILED = "OperationFailed"
    RESIZE_REQUESTED = "ResizeRequested"
    MIGRATION_REQUESTED = "MigrationRequested"
    SNAPSHOT_REQUESTED = "SnapshotRequested"
    DESTROY_REQUESTED = "DestroyRequested"
    EXPUNGING_REQUESTED = "ExpungingRequested"
    UPLOAD_REQUESTED = "UploadRequested"
    COPY_REQUESTED = "CopyRequested"


V, VE = VolumeState, VolumeEvent

VOLUME_TRANSITIONS: Mapping[tuple[VolumeState, VolumeEvent], VolumeState] = {
    (V.ALLOCATED, VE.CREATE_REQUESTED): V.CREATING,
    (V.ALLOCATED, VE.DESTROY_REQUESTED): V.DESTROY,
    (V.CREATING, VE.OPERATION_SUCCEEDED): V.READY,
    (V.CREATING, VE.OPERATION_FAILED): V.ALLOCATED,
    (V.READY, VE.RESIZE_REQUESTED): V.RESIZING,
    (V.RESIZING, VE.OPERATION_SUCCEEDED): V.READY,
    (V.RESIZING, VE.OPERATION_FAILED): V.READY,
    (V.READY, VE.MIGRATION_REQUESTED): V.MIGRATING,
    (V.MIGRATING, VE.OPERATION_SUCCEEDED): V.READY,
    (V.MIGRATING, VE.OPERATION_FAILED): V.READY,
    (V.READY, VE.SNAPSHOT_REQUESTED): V.SNAPSHOTTING,
    (V.SNAPSHOTTING, VE.OPERATION_SUCCEEDED): V.READY,
    (V.SNAPSHOTTING, VE.OPERATION_FAILED): V.READY,
    (V.READY, VE.DESTROY_REQUESTED): V.DESTROY,
    (V.DESTROY, VE.EXPUNGING_REQUESTED): V.EXPUNGING,
    (V.EXPUNGING, VE.OPERATION_SUCCEEDED): V.EXPUNGED,
    (V.EXPUNGING, VE.OPERATION_FAILED): V.DESTROY,
    # uploadVolume: on secondary storage while it downloads, then Uploaded; the first
    # attach copies it to primary storage (Uploaded → Creating → Ready).
    (V.UPLOADING, VE.OPERATION_SUCCEEDED): V.UPLOADED,
    (V.UPLOADING, VE.DESTROY_REQUESTED): V.DESTROY,
    (V.UPLOADED, VE.COPY_REQUESTED): V.CREATING,
    (V.UPLOADED, VE.DESTROY_REQUESTED): V.DESTROY,
}
"""(state, event) → next state; any pair absent is refused."""


class SnapshotEvent(enum.StrEnum):
    """What happens to a snapshot (4.1 ``Snapshot.Event``)."""

    CREATE_REQUESTED = "CreateRequested"
    BACKUP_TO_SECONDARY = "BackupToSecondary"
    OPERATION_SUCCEEDED = "OperationSucceeded"
    OPERATION_FAILED = "OperationFailed"
    DESTROY_REQUESTED = "DestroyRequested"


S, SE = SnapshotState, SnapshotEvent

SNAPSHOT_TRANSITIONS: Mapping[tuple[SnapshotState, SnapshotEvent], SnapshotState] = {
    (S.ALLOCATED, SE.CREATE_REQUESTED): S.CREATING,
    (S.ALLOCATED, SE.OPERATION_FAILED): S.ERROR,
    (S.CREATING, SE.OPERATION_FAILED): S.ERROR,
    # A snapshot is backed up to secondary storage once it exists on primary: 4.1's
    # Creating → CreatedOnPrimary → BackingUp → BackedUp, no step skipped (REQ-SS-01).
    (S.CREATING, SE.OPERATION_SUCCEEDED): S.CREATED_ON_PRIMARY,
    (S.CREATED_ON_PRIMARY, SE.OPERATION_FAILED): S.ERROR,
    (S.CREATED_ON_PRIMARY, SE.BACKUP_TO_SECONDARY): S.BACKING_UP,
    (S.BACKING_UP, SE.OPERATION_SUCCEEDED): S.BACKED_UP,
    (S.BACKING_UP, SE.OPERATION_FAILED): S.ERROR,
    (S.BACKED_UP, SE.DESTROY_REQUESTED): S.DESTROYED,
    (S.ERROR, SE.DESTROY_REQUESTED): S.DESTROYED,
    (S.ALLOCATED, SE.DESTROY_REQUESTED): S.DESTROYED,
}


def _next(
    table: Mapping[tuple[Any, Any], Any], kind: type[enum.StrEnum], state: str, event: Any
) -> Any:
    try:
        return table.get((kind(state), event))
    except ValueError:
        return None


def _allowed(table: Mapping[tuple[Any, Any], Any], event: Any) -> str:
    return ", ".join(sorted({state.value for state, ev in table if ev is event}))


def _apply(
    session: Session,
    row: Volume | Snapshot,
    column: str,
    target: str,
    changes: Mapping[str, Any] | None,
    what: str,
) -> None:
    model = type(row)
    values: dict[str, Any] = {
        **(changes or {}),
        column: target,
        "update_count": row.update_count + 1,
    }
    if model is Volume:
        values["update_time"] = utcnow()
    state_column = getattr(model, column)
    stmt = (
        update(model)
        .where(
            model.id == row.id,
            state_column == getattr(row, column),
            model.update_count == row.update_count,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if session.execute(stmt).rowcount != 1:  # type: ignore[attr-defined]
        current = session.scalar(select(state_column).where(model.id == row.id))
        raise ResourceUnavailable(
            f"Unable to {what}: {model.__name__.lower()} {row.uuid} was changed by another"
            f" operation meanwhile (now {current}); try again"
        )
    for name, value in values.items():
        set_committed_value(row, name, value)


def volume_transition(
    session: Session,
    volume: Volume,
    event: VolumeEvent,
    action: str,
    changes: Mapping[str, Any] | None = None,
) -> VolumeState:
    """Move ``volume`` by ``event`` with one conditional ``UPDATE``; ``changes`` are
    further columns written by the same statement. The in-memory row shows the result.

    :raises InvalidParameterValue: ``event`` is not allowed in the volume's state (431).
    :raises ResourceUnavailable: the volume changed meanwhile (534); nothing written.
    """
    target = _next(VOLUME_TRANSITIONS, VolumeState, volume.state, event)
    if target is None:
        raise InvalidParameterValue(
            f"Unable to {action} volume {volume.uuid}: it is {volume.state}; {action} is"
            f" possible only when it is {_allowed(VOLUME_TRANSITIONS, event)}"
        )
    _apply(session, volume, "state", target.value, changes, f"{action} volume {volume.uuid}")
    return target  # type: ignore[no-any-return]


def snapshot_transition(
    session: Session,
    snapshot: Snapshot,
    event: SnapshotEvent,
    action: str,
    changes: Mapping[str, Any] | None = None,
) -> SnapshotState:
    """:func:`volume_transition` for a snapshot's ``status``."""
    target = _next(SNAPSHOT_TRANSITIONS, SnapshotState, snapshot.status, event)
    if target is None:
        raise InvalidParameterValue(
            f"Unable to {action} snapshot {snapshot.uuid}: it is {snapshot.status}; {action}"
            f" is possible only when it is {_allowed(SNAPSHOT_TRANSITIONS, event)}"
        )
    _apply(session, snapshot, "status", target.value, changes, f"{action} snapshot")
    return target  # type: ignore[no-any-return]
