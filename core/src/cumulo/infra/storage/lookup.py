"""Finding the storage pool or Swift store an API parameter names (UUID or internal id).

As every 4.1 lookup: an id that names nothing, or names a removed row, is a 431 naming
the parameter (:func:`cumulo.accounts.lookup.invalid_id`).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from cumulo.accounts.lookup import invalid_id
from cumulo.infra.storage.models import StoragePool


def find_pool(session: Session, value: object, param: str = "id") -> StoragePool:
    """The live storage pool ``value`` names; 431 naming ``param`` if none."""
    text = str(value).strip()
    stmt = select(StoragePool).where(StoragePool.removed.is_(None))
    if isinstance(value, int) or text.isdecimal():
        number = int(text)
        if not 0 < number < 2**63:
            raise invalid_id(param, value)
        stmt = stmt.where(StoragePool.id == number)
    else:
        stmt = stmt.where(StoragePool.uuid == text)
    found = session.scalars(stmt).first()
    if found is None:
        raise invalid_id(param, value)
    return found
