"""Copy the accounts of an existing region into a new region's database (REQUIREMENTS
§12.4 steps 4-6: REQ-REG-06, REQ-REG-07).

The seed's procedure is ``mysqldump cloud account user domain`` from region 1 into the
new region, then ``delete from account where type = 5`` (project accounts) and
``update account set default_zone_id = null`` (zones belong to one region).
:func:`copy_region_accounts` does the same through SQLAlchemy, so it works between any
two back ends cumulo supports (SQLite to MariaDB included), in the target's
transaction, and adds what a dump cannot:

- **identifiers stay valid** (REQ-REG-07): every ``id`` and ``uuid`` is copied as it
  is, so API clients, API keys and foreign keys of region 1 name the same domain,
  account and user in the new region. The target must be freshly set up (its only
  rows are the seeded ROOT domain, ``system`` and ``admin``, which the copy replaces,
  as the dump would): rows the new region created itself could carry the copied ids,
  and are refused rather than silently overwritten. After the copy the target's ids
  continue past the copied ones (explicit ids advance MySQL's and SQLite's counters;
  PostgreSQL's sequences are moved on here), so ids the new region generates later
  never collide with them.
- **secrets follow**: users' API secret keys are stored under each installation's
  database key; they are decrypted with the source's key and encrypted with the
  target's, so the same API keys sign requests in both regions (REQ-REG-03).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, delete, insert, select, text, update
from sqlalchemy.orm import Session

from cumulo import crypto
from cumulo.accounts.models import Account, AccountType, Domain, User

SEEDED_NAMES: Mapping[str, frozenset[str]] = {
    "domain": frozenset({"ROOT"}),
    "account": frozenset({"system", "admin"}),
    "user": frozenset({"system", "admin"}),
}
"""What a freshly set-up installation holds in each table (``cumulo.setup.seed``)."""


class RegionCopyError(Exception):
    """The copy cannot be done; the message says why and what to do."""


@dataclass(frozen=True)
class RegionCopy:
    """What :func:`copy_region_accounts` wrote into the target.

    :param domains: domains copied.
    :param accounts: accounts copied (project accounts not counted).
    :param users: users copied.
    :param projects_skipped: project accounts (type 5) left out, with their users.
    """

    domains: int
    accounts: int
    users: int
    projects_skipped: int


def _table(model: type[Domain] | type[Account] | type[User]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


def _rows(session: Session, table: Table) -> list[dict[str, Any]]:
    return [dict(row) for row in session.execute(select(table).order_by(table.c.id)).mappings()]


def _check_fresh(target: Session) -> None:
    """Refuse a target holding rows other than its seed (REQ-REG-07)."""
    for table, name_column in (
        (_table(Domain), "name"),
        (_table(Account), "account_name"),
        (_table(User), "username"),
    ):
        names = target.scalars(select(table.c[name_column])).all()
        extra = sorted(set(names) - SEEDED_NAMES[table.name])
        if extra or len(names) != len(set(names)):
            raise RegionCopyError(
                f"the new region's {table.name} table already holds rows of its own"
                f" ({', '.join(extra) or 'duplicates'}); their ids could collide with the"
                " copied ones, so copy accounts only into a freshly set-up region"
                " (REQ-REG-07)"
            )


def _reencrypt(
    users: Sequence[dict[str, Any]], source_key: str, target_key: str, algorithm: str
) -> None:
    for user in users:
        inner = crypto.unwrap_enc(user["secret_key"]) if user["secret_key"] else None
        if inner is None or source_key == target_key:
            continue
        try:
            plain = crypto.decrypt(inner, source_key, algorithm)
        except crypto.CryptoError:
            raise RegionCopyError(
                f"the source database key does not decrypt the API secret key of user"
                f" {user['username']}; give the source region's database key"
            ) from None
        user["secret_key"] = crypto.wrap_enc(crypto.encrypt(plain, target_key, algorithm))


def _drop_missing(target: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Delete the target's seeded rows the source does not have (as the dump would)."""
    target.execute(delete(table).where(table.c.id.not_in([row["id"] for row in rows])))


def _upsert(target: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Replace the rows the target has (its seed) and insert the others, ids kept."""
    present = set(target.scalars(select(table.c.id)).all())
    for row in rows:
        if row["id"] in present:
            target.execute(update(table).where(table.c.id == row["id"]).values(row))
    new = [row for row in rows if row["id"] not in present]
    if new:
        target.execute(insert(table), new)


def _advance_sequences(target: Session, tables: Sequence[Table]) -> None:
    # PostgreSQL does not move a sequence past explicitly inserted ids; MySQL and
    # SQLite do by themselves.
    if target.get_bind().dialect.name != "postgresql":
        return
    for table in tables:
        target.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', 'id'),"
                f' (SELECT max(id) FROM "{table.name}"))'
            )
        )


def copy_region_accounts(
    source: Session,
    target: Session,
    *,
    source_key: str,
    target_key: str,
    algorithm: str = crypto.DEFAULT_ALGORITHM,
) -> RegionCopy:
    """Copy domains, accounts and users from ``source`` (an existing region's database)
    into ``target`` (the new region's, freshly set up), without project accounts and
    with no default zone (module docstring). Flushes in the target's transaction; the
    caller commits. The source is only read.

    :param source_key: the source installation's database key (``db.properties``).
    :param target_key: the target installation's database key.
    :raises RegionCopyError: the target holds rows of its own, or ``source_key`` does
        not decrypt a secret of the source.
    """
    _check_fresh(target)
    domains = _rows(source, _table(Domain))
    accounts = _rows(source, _table(Account))
    users = _rows(source, _table(User))
    projects = {a["id"] for a in accounts if a["type"] == int(AccountType.PROJECT)}
    accounts = [a for a in accounts if a["id"] not in projects]
    users = [u for u in users if u["account_id"] not in projects]
    for account in accounts:
        account["default_zone_id"] = None
    _reencrypt(users, source_key, target_key, algorithm)
    # Parents before children: the domain tree's own foreign key.
    domains.sort(key=lambda d: (d["level"], d["id"]))
    copies = ((_table(Domain), domains), (_table(Account), accounts), (_table(User), users))
    for table, rows in reversed(copies):  # children first: foreign keys
        _drop_missing(target, table, rows)
    for table, rows in copies:
        _upsert(target, table, rows)
    _advance_sequences(target, [table for table, _ in copies])
    target.flush()
    return RegionCopy(len(domains), len(accounts), len(users), len(projects))
