"""Finding the volume, snapshot or snapshot policy an API parameter names, checked
against the caller with what the same statement read.

Each row is read together with its owner account's public id and domain, so the
ownership check (:func:`cumulo.accounts.access.check_owner_access`) needs no further
statement. Removed (expunged) rows are not found; whatever the reason a row cannot be
had by the caller, a user of another account gets 531 as 4.1 does.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from cumulo.accounts.access import check_owner_access
from cumulo.accounts.lookup import invalid_id
from cumulo.accounts.models import Account, Domain
from cumulo.sdk.api import CallContext
from cumulo.volumes.models import Volume
from cumulo.volumes.snapshot_models import Snapshot, SnapshotPolicy

_Row = TypeVar("_Row", Volume, Snapshot)


@dataclass(frozen=True)
class _Domain:
    """The owner's domain columns read with the resource (a ``DomainRef``)."""

    id: int
    uuid: str
    path: str
    removed: dt.datetime | None


def by_id(model: Any, value: object, param: str) -> ColumnElement[bool]:
    """``model`` named by UUID or (as every 4.1 lookup allows) internal id."""
    text = str(value).strip()
    if isinstance(value, int) or text.isdecimal():
        number = int(text)
        if not 0 < number < 2**63:
            raise invalid_id(param, value)
        return model.id == number  # type: ignore[no-any-return]
    return model.uuid == text  # type: ignore[no-any-return]


def _owned(
    session: Session, ctx: CallContext, model: type[_Row], value: object, param: str
) -> _Row:
    stmt = (
        select(model, Account.uuid, Domain.id, Domain.uuid, Domain.path, Domain.removed)
        .join(Account, Account.id == model.account_id)
        .join(Domain, Domain.id == model.domain_id)
        .where(by_id(model, value, param), model.removed.is_(None))
    )
    row = session.execute(stmt).first()
    if row is None:
        raise invalid_id(param, value)
    found, account_uuid, domain_id, domain_uuid, path, removed = row
    check_owner_access(
        ctx, found.account_id, account_uuid, _Domain(domain_id, domain_uuid, path, removed)
    )
    return found


def find_volume(session: Session, ctx: CallContext, value: object, param: str = "id") -> Volume:
    """The live volume ``value`` names, if the caller may act on it.

    :raises InvalidParameterValue: no such volume (431 naming ``param``).
    :raises PermissionDenied: it belongs to an account outside the caller's reach (531).
    """
    return _owned(session, ctx, Volume, value, param)


def find_snapshot(session: Session, ctx: CallContext, value: object, param: str = "id") -> Snapshot:
    """The live snapshot ``value`` names, if the caller may act on it (431/531)."""
    return _owned(session, ctx, Snapshot, value, param)


def find_policy(
    session: Session, ctx: CallContext, value: object, param: str = "id"
) -> tuple[SnapshotPolicy, Volume]:
    """The snapshot policy ``value`` names and its volume, if the caller may act on the
    volume (a policy has no owner of its own: 4.1 checks its volume's).

    :raises InvalidParameterValue: no such policy (431 naming ``param``).
    :raises PermissionDenied: the volume's owner is out of the caller's reach (531).
    """
    row = session.execute(
        select(SnapshotPolicy, Volume.uuid)
        .join(Volume, Volume.id == SnapshotPolicy.volume_id)
        .where(by_id(SnapshotPolicy, value, param))
    ).first()
    if row is None:
        raise invalid_id(param, value)
    policy, volume_uuid = row
    return policy, find_volume(session, ctx, volume_uuid, param)
