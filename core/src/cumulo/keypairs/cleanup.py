"""Key pairs of removed accounts are deleted with them.

4.1 cleans an account's resources up when it is deleted; a key pair names its owner
and is useless without it, and a key pair name freed with the account must not come
back to a new account that later reuses the account's id. ``deleteAccount`` and
``deleteDomain cleanup=true`` (:mod:`cumulo.accounts`) call :func:`delete_key_pairs_of`
in the transaction that removes the accounts, so the two never disagree. Set-based:
one statement however many accounts and pairs.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from cumulo.keypairs.models import SSHKeyPair


def delete_key_pairs_of(session: Session, account_ids: Any) -> int:
    """Delete every key pair of the accounts ``account_ids`` (a list of ids, or a
    ``SELECT`` of them); return how many went. In the caller's transaction."""
    deleted = session.execute(
        delete(SSHKeyPair)
        .where(SSHKeyPair.account_id.in_(account_ids))
        .execution_options(synchronize_session=False)
    )
    return deleted.rowcount if isinstance(deleted, CursorResult) else 0
