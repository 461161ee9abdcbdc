"""A volume or snapshot being copied to a template is locked.

``createTemplate`` copies a volume (or a snapshot's backup) to secondary storage in its
job, for as long as the storage needs. Meanwhile the source must stay as it is: the
volume cannot be deleted, attached, detached, resized, migrated or snapshotted, and
the snapshot cannot be deleted; each of those is refused with a 431 naming the
template being made and its job, as 4.1 refuses operations on a volume in use.

The lock is not a column of its own: it is the template's row in its zone while its
state is ``DOWNLOAD_IN_PROGRESS`` (:mod:`cumulo.templates.creation`). The job's last
transaction moves that row to ``DOWNLOADED`` or ``DOWNLOAD_ERROR``, so the lock is
released in the same commit as the outcome, whether the copy succeeded or failed, and
can never outlive the copy's record.

Race-free with the state machines: ``createTemplate``'s create step bumps the volume's
``update_count`` by a conditional ``UPDATE`` (:func:`claim`) in the transaction that
writes the template's row, and every refused operation ends in a conditional
``UPDATE`` of the volume that matches the ``update_count`` it read. Whichever commits
second finds the row changed and is refused.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session

from cumulo.sdk.errors import InvalidParameterValue, ResourceUnavailable
from cumulo.templates.models import DownloadState, TemplateZoneRef, VMTemplate
from cumulo.volumes.models import Volume, VolumeState
from cumulo.volumes.snapshot_models import Snapshot, SnapshotState


def _copying(session: Session, source: ColumnElement[bool]) -> tuple[str, str | None] | None:
    """``(template uuid, job uuid)`` of a template being made from ``source`` (one
    indexed statement), or ``None``."""
    row = session.execute(
        select(VMTemplate.uuid, TemplateZoneRef.job_uuid)
        .join(TemplateZoneRef, TemplateZoneRef.template_id == VMTemplate.id)
        .where(source, TemplateZoneRef.download_state == DownloadState.DOWNLOAD_IN_PROGRESS.value)
        .limit(1)
    ).first()
    return None if row is None else (str(row[0]), row[1])


def _refuse(what: str, action: str, param: str, copying: tuple[str, str | None]) -> None:
    template, job = copying
    raise InvalidParameterValue(
        f"{param}: unable to {action} {what}: it is being copied to template {template}"
        + (f" (job {job})" if job else "")
        + "; try again when that job has ended"
    )


def check_volume(session: Session, volume: Volume, action: str, param: str = "id") -> None:
    """Refuse ``action`` on a volume a template is being made from.

    :raises InvalidParameterValue: the volume is being copied (431 naming ``param``).
    """
    copying = _copying(
        session,
        (VMTemplate.source_volume_id == volume.id) & VMTemplate.source_snapshot_id.is_(None),
    )
    if copying is not None:
        _refuse(f"volume {volume.uuid}", action, param, copying)


def check_snapshot(session: Session, snapshot: Snapshot, action: str, param: str = "id") -> None:
    """Refuse ``action`` on a snapshot a template is being made from.

    :raises InvalidParameterValue: the snapshot's backup is being copied (431).
    """
    copying = _copying(session, VMTemplate.source_snapshot_id == snapshot.id)
    if copying is not None:
        _refuse(f"snapshot {snapshot.uuid}", action, param, copying)


def claim(session: Session, volume: Volume) -> None:
    """Take the lock on ``volume`` for a template being made from it: one conditional
    ``UPDATE`` that bumps ``update_count`` if the volume is still ``Ready`` and
    unchanged since it was read (the template's row, written in the same
    transaction, holds the lock from then on).

    :raises ResourceUnavailable: the volume changed meanwhile (534); try again.
    """
    changed = session.execute(
        update(Volume)
        .where(
            Volume.id == volume.id,
            Volume.state == VolumeState.READY.value,
            Volume.update_count == volume.update_count,
        )
        .values(update_count=volume.update_count + 1)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if changed != 1:
        raise ResourceUnavailable(
            f"volume {volume.uuid} was changed by another operation meanwhile; try again"
        )
    session.refresh(volume)


def claim_snapshot(session: Session, snapshot: Snapshot) -> None:
    """:func:`claim` for a snapshot whose backup a template is made from: a concurrent
    ``deleteSnapshot`` (a conditional ``UPDATE`` on the same row) is refused.

    :raises ResourceUnavailable: the snapshot changed meanwhile (534); try again.
    """
    changed = session.execute(
        update(Snapshot)
        .where(
            Snapshot.id == snapshot.id,
            Snapshot.status == SnapshotState.BACKED_UP.value,
            Snapshot.update_count == snapshot.update_count,
        )
        .values(update_count=snapshot.update_count + 1)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if changed != 1:
        raise ResourceUnavailable(
            f"snapshot {snapshot.uuid} was changed by another operation meanwhile; try again"
        )
    session.refresh(snapshot)
