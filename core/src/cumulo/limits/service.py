"""Reserving and releasing counted resources against account and domain limits.

:func:`reserve` is called by every service that creates a limited resource (a VM, a
volume, a template ...), inside that service's transaction and before it commits;
:func:`release` when the resource goes away. Both only execute statements: the caller's
commit or rollback makes the count change with the resource it counts.

Race freedom. The increment comes first and the check after, on the rows the
increment locked::

    UPDATE resource_count SET count = count + :n
     WHERE type IN (:types) AND (account_id = :owner OR domain_id IN (:domains))
    SELECT type, account_id, domain_id, count FROM resource_count WHERE <the same rows>

The ``UPDATE`` applies to the latest committed version of every row and holds their
locks until the caller's transaction ends (InnoDB row locks; SQLite transactions take
the write lock at ``BEGIN IMMEDIATE``), so the counts read back are exact: of two
concurrent reserves against a limit of 1, the second waits for the first to commit,
then reads 2 and fails. A count above its owner's limit undoes the whole increment
(one more ``UPDATE``) before :class:`AccountLimitExceeded` is raised, so a caller that
catches the error leaves the counts right. The limits are checked for the account and
each limited domain from the account's own up to (not including) ROOT, which is never
limited. Every reserve locks its rows with one statement, in the same order, so two
reserves never wait for each other in a cycle.

Count rows are created on first use (insert-or-ignore on the unique
``(account_id, type)`` / ``(domain_id, type)``), so accounts and domains that predate
limits, and new ones, need nothing else. A reserve costs four statements however many
types it counts (:func:`reserve_many`: a VM and its volumes): read the account with its
limits and the defaults, read its domain chain, the ``UPDATE``, the check.

Root admin accounts (type 1, the ``system`` account included) are unlimited, as in 4.1
(``ResourceLimitManagerImpl.checkResourceLimit``); their counts are still kept.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, cast

from sqlalchemy import Table, and_, case, or_, select, update
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from cumulo.accounts.models import Account, AccountType, Domain
from cumulo.config.models import Configuration
from cumulo.limits.models import ResourceCount, ResourceLimit
from cumulo.limits.settings import DEFAULTS, UNLIMITED
from cumulo.limits.types import ResourceType, account_key, domain_key, project_key
from cumulo.sdk.errors import AccountLimitExceeded, InvalidParameterValue

__all__ = ["ancestor_paths", "ensure_count_rows", "release", "reserve", "reserve_many"]


def ancestor_paths(path: str) -> list[str]:
    """The paths of the domain at ``path`` and of every domain above it, deepest first:
    ``/Sales/EMEA/`` → ``["/Sales/EMEA/", "/Sales/", "/"]``."""
    parts = [part for part in path.strip("/").split("/") if part]
    return ["/" + "".join(f"{p}/" for p in parts[:depth]) for depth in range(len(parts), -1, -1)]


@dataclass(frozen=True)
class _Owner:
    """One row to increment: an account or a domain, with its limit (-1 unlimited)."""

    is_account: bool
    id: int
    max: int
    what: str  # for the error: "account name=alice in domain id=<uuid>" / "domain id=..."
    kind: ResourceType = ResourceType.USER_VM
    row_id: int | None = None  # its resource_count row (None until created)

    @property
    def column(self) -> Any:
        return ResourceCount.account_id if self.is_account else ResourceCount.domain_id


def reserve(
    session: Session,
    account_id: int,
    resource_type: ResourceType | int | str,
    amount: int = 1,
) -> None:
    """Count ``amount`` more resources of ``resource_type`` for the account and every
    domain above it, if no limit is exceeded; in the caller's transaction.

    :param account_id: internal id of the owning account.
    :param resource_type: a :class:`ResourceType`, its number or its stored name.
    :param amount: how many (0 does nothing).
    :raises AccountLimitExceeded: the account's limit or a domain's limit would be
        exceeded (532; the text names the type and the owner). No count was changed.
    :raises InvalidParameterValue: an unknown account or resource type.
    """
    reserve_many(session, account_id, {resource_type: amount})


def reserve_many(
    session: Session,
    account_id: int,
    amounts: Mapping[ResourceType | int | str, int],
) -> None:
    """:func:`reserve` several resource types at once (a deployment's VM and its
    volumes), in four statements whatever the number of types and domains: the
    account's and its domain chain's limits and count rows (two reads), one ``UPDATE``
    adding every amount to every count row, and one read of those counts that checks
    them against the limits (module doc). All or nothing: when a limit is exceeded,
    every increment is undone (one more ``UPDATE``) before the error is raised.

    :param amounts: how many of each type (zero amounts are skipped).
    :raises AccountLimitExceeded: a limit would be exceeded (532 naming the first one,
        the account's before its domains', deepest domain first, types in the order
        given). No count was changed.
    :raises InvalidParameterValue: an unknown account or resource type.
    """
    wanted: dict[ResourceType, int] = {}
    for given, amount in amounts.items():
        kind = ResourceType.of(given)
        if amount < 0:
            raise ValueError(f"amount must not be negative, got {amount}")
        if amount:
            wanted[kind] = wanted.get(kind, 0) + amount
    if not wanted:
        return
    owners = _owners(session, account_id, list(wanted))
    rows = {owner.row_id: owner.kind for owner in owners if owner.row_id is not None}
    _add_many(session, rows, wanted, 1)
    if not any(owner.max >= 0 for owner in owners):
        return
    # Every count row is now locked by this transaction (the UPDATE), so the counts
    # read here are exact: nobody else can change them until this transaction ends.
    counts: dict[int, int] = {
        row_id: int(count)
        for row_id, count in session.execute(
            select(ResourceCount.id, ResourceCount.count).where(ResourceCount.id.in_(list(rows)))
        )
    }
    for kind in wanted:
        for owner in owners:
            if owner.kind is not kind or owner.max < 0:
                continue
            if owner.row_id is not None and counts.get(owner.row_id, 0) > owner.max:
                _add_many(session, rows, wanted, -1)
                raise AccountLimitExceeded(
                    f"Maximum number of resources of type '{kind.label}' for {owner.what}"
                    f" has been exceeded (limit {owner.max})."
                )


def _add_many(
    session: Session,
    rows: Mapping[int, ResourceType],
    amounts: Mapping[ResourceType, int],
    sign: int,
) -> None:
    """Add ``sign`` times its type's amount to each count row (by primary key, so the
    statement locks exactly those rows); one ``UPDATE``."""
    kinds = list(amounts)
    if len(kinds) == 1:
        delta: Any = sign * amounts[kinds[0]]
    else:
        delta = case(
            *((ResourceCount.type == kind.label, sign * amounts[kind]) for kind in kinds),
            else_=0,
        )
    session.execute(
        update(ResourceCount)
        .where(ResourceCount.id.in_(list(rows)))
        .values(count=ResourceCount.count + delta)
        .execution_options(synchronize_session=False)
    )


def release(
    session: Session,
    account_id: int,
    resource_type: ResourceType | int | str,
    amount: int = 1,
) -> None:
    """Count ``amount`` fewer resources of ``resource_type`` for the account and every
    domain above it; in the caller's transaction. Counts never go below zero (a count
    that drifted is repaired by ``updateResourceCount``, not made negative).

    :raises InvalidParameterValue: an unknown account or resource type.
    """
    kind = ResourceType.of(resource_type)
    if amount < 0:
        raise ValueError(f"amount must not be negative, got {amount}")
    if amount == 0:
        return
    found = session.execute(
        select(Account.domain_id, Domain.path)
        .join(Domain, Domain.id == Account.domain_id)
        .where(Account.id == account_id)
    ).first()
    if found is None:
        raise InvalidParameterValue(f"Unable to find account id={account_id}")
    domains = select(Domain.id).where(
        or_(
            Domain.id == found.domain_id,
            and_(Domain.path.in_(ancestor_paths(found.path)[1:]), Domain.removed.is_(None)),
        )
    )
    session.execute(
        update(ResourceCount)
        .where(
            ResourceCount.type == kind.label,
            or_(ResourceCount.account_id == account_id, ResourceCount.domain_id.in_(domains)),
        )
        .values(
            count=case(
                (ResourceCount.count > amount, ResourceCount.count - amount),
                else_=0,
            )
        )
        .execution_options(synchronize_session=False)
    )


def ensure_count_rows(
    session: Session,
    kind: ResourceType,
    *,
    account_ids: Sequence[int] = (),
    domain_ids: Sequence[int] = (),
) -> None:
    """Create the missing ``resource_count`` rows (count 0) of these owners with
    insert-or-ignore: concurrent callers creating the same row end with one row, and
    nobody fails. Rows that exist are left as they are.

    On MariaDB/MySQL the rows are inserted and committed by a short transaction on a
    connection of their own, before the caller's conditional UPDATE reads them. Inside
    the caller's transaction, concurrent first reserves of one owner would each hold
    the duplicate key's lock until they commit and then queue for the row's exclusive
    lock, which InnoDB resolves by killing one of them (a deadlock, shown by the
    concurrency test when done in-transaction). SQLite serialises writers anyway (and
    a second connection could not write while the caller holds the lock), PostgreSQL's
    ``ON CONFLICT DO NOTHING`` waits without that upgrade: both insert in the caller's
    transaction.
    """
    rows = [
        {"type": kind.label, "account_id": account_id, "domain_id": None, "count": 0}
        for account_id in sorted(account_ids)
    ] + [
        {"type": kind.label, "account_id": None, "domain_id": domain_id, "count": 0}
        for domain_id in sorted(domain_ids)
    ]
    if not rows:
        return
    table = cast(Table, ResourceCount.__table__)
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        session.execute(sqlite.insert(table).values(rows).on_conflict_do_nothing())
    elif dialect == "postgresql":
        session.execute(postgresql.insert(table).values(rows).on_conflict_do_nothing())
    elif dialect in ("mysql", "mariadb"):
        _insert_beside(
            session, [mysql.insert(table).values(row).prefix_with("IGNORE") for row in rows]
        )
    else:  # pragma: no cover - the supported back ends are above
        raise NotImplementedError(f"insert-or-ignore on {dialect}")


def _insert_beside(session: Session, statements: Sequence[Any], attempts: int = 5) -> None:
    """Run each of ``statements`` (one row each) as a transaction of its own on another
    connection.

    One row per transaction: a transaction that holds no lock while it asks for
    another cannot be part of a deadlock, so concurrent first reserves of the same
    owner (which all find its rows missing) never kill each other. Should one still be
    chosen as a deadlock victim, only that statement is lost, and it is run again. If
    a statement has to wait for a lock (the caller's own transaction holds the key: a
    misuse, but not one to hang on), it gives up after :data:`_BESIDE_LOCK_WAIT_S` and
    the row is inserted in the caller's transaction instead.
    """
    bind = session.get_bind()
    engine = bind.engine if isinstance(bind, Connection) else bind
    with engine.connect() as connection:
        previous = connection.exec_driver_sql(
            "SELECT @@SESSION.innodb_lock_wait_timeout"
        ).scalar_one()
        connection.exec_driver_sql(f"SET SESSION innodb_lock_wait_timeout = {_BESIDE_LOCK_WAIT_S}")
        connection.commit()
        try:
            for stmt in statements:
                _insert_one(session, connection, stmt, attempts)
        finally:
            connection.rollback()
            connection.exec_driver_sql(f"SET SESSION innodb_lock_wait_timeout = {int(previous)}")
            connection.commit()


def _insert_one(session: Session, connection: Connection, stmt: Any, attempts: int) -> None:
    for attempt in range(attempts):
        try:
            connection.execute(stmt)
            connection.commit()
            return
        except OperationalError as exc:
            connection.rollback()
            code = getattr(exc.orig, "args", (None,))[0]
            if code == _LOCK_WAIT_TIMEOUT:
                session.execute(stmt)
                return
            if code != _DEADLOCK or attempt == attempts - 1:
                raise


_DEADLOCK, _LOCK_WAIT_TIMEOUT = 1213, 1205  # MySQL/MariaDB error numbers
_BESIDE_LOCK_WAIT_S = 3


# ---- internals ---------------------------------------------------------------------


def _owners(session: Session, account_id: int, kinds: Sequence[ResourceType]) -> list[_Owner]:
    """The account and its domain chain (deepest first) with their effective limits,
    one :class:`_Owner` per owner and type, after creating any count row they lack.
    Two reads whatever the number of types (plus one insert the first time)."""
    keys = {kind: (account_key(kind), project_key(kind), domain_key(kind)) for kind in kinds}
    setting_names = sorted({key for trio in keys.values() for key in trio if key is not None})
    limit_of = {
        kind: select(ResourceLimit.max)
        .where(ResourceLimit.account_id == account_id, ResourceLimit.type == kind.label)
        .scalar_subquery()
        for kind in kinds
    }
    count_of = {
        kind: select(ResourceCount.id)
        .where(ResourceCount.account_id == account_id, ResourceCount.type == kind.label)
        .scalar_subquery()
        for kind in kinds
    }
    found = session.execute(
        select(
            Account.type,
            Account.account_name,
            Account.domain_id,
            Domain.path,
            Domain.uuid,
            *limit_of.values(),
            *count_of.values(),
            *(
                select(Configuration.value).where(Configuration.name == name).scalar_subquery()
                for name in setting_names
            ),
        )
        .join(Domain, Domain.id == Account.domain_id)
        .where(Account.id == account_id)
    ).first()
    if found is None:
        raise InvalidParameterValue(f"Unable to find account id={account_id}")
    account_type, name, domain_id, path, domain_uuid = found[:5]
    values = list(found[5:])
    account_max = dict(zip(kinds, values[: len(kinds)], strict=True))
    count_rows = dict(zip(kinds, values[len(kinds) : 2 * len(kinds)], strict=True))
    defaults = {
        key: _setting(key, value)
        for key, value in zip(setting_names, values[2 * len(kinds) :], strict=True)
    }
    unlimited = account_type == AccountType.ADMIN
    owners: list[_Owner] = []
    for kind in kinds:
        account_default, project_default, _ = keys[kind]
        if unlimited:
            account_limit = UNLIMITED
        elif account_max[kind] is not None:
            account_limit = int(account_max[kind])
        else:
            key = project_default if account_type == AccountType.PROJECT else account_default
            account_limit = defaults.get(key, UNLIMITED) if key is not None else UNLIMITED
        owners.append(
            _Owner(
                True,
                account_id,
                account_limit,
                f"account name={name} in domain id={domain_uuid}",
                kind,
                count_rows[kind],
            )
        )
    # Per type, the domain's limit and count row as correlated subqueries (NULL when
    # missing), so that one row per domain answers for every type.
    chain: list[Any] = session.execute(
        select(
            Domain.id,
            Domain.uuid,
            Domain.path,
            *(
                select(ResourceLimit.max)
                .where(ResourceLimit.domain_id == Domain.id, ResourceLimit.type == kind.label)
                .scalar_subquery()
                for kind in kinds
            ),
            *(
                select(ResourceCount.id)
                .where(ResourceCount.domain_id == Domain.id, ResourceCount.type == kind.label)
                .scalar_subquery()
                for kind in kinds
            ),
        ).where(
            or_(
                Domain.id == domain_id,
                and_(Domain.path.in_(ancestor_paths(path)[1:]), Domain.removed.is_(None)),
            )
        )
    ).all()  # type: ignore[assignment]
    missing_domains: dict[ResourceType, list[int]] = {kind: [] for kind in kinds}
    for row in sorted(chain, key=lambda row: -len(row[2])):
        row_id, uuid, row_path = row[0], row[1], row[2]
        for index, kind in enumerate(kinds):
            row_max, row_count = row[3 + index], row[3 + len(kinds) + index]
            if row_path == "/" or unlimited:
                limit = UNLIMITED  # ROOT is never limited (4.1), nor root admins' domains
            else:
                domain_default = keys[kind][2]
                limit = (
                    int(row_max)
                    if row_max is not None
                    else (
                        defaults.get(domain_default, UNLIMITED)
                        if domain_default is not None
                        else UNLIMITED
                    )
                )
            owners.append(_Owner(False, row_id, limit, f"domain id={uuid}", kind, row_count))
            if row_count is None:
                missing_domains[kind].append(row_id)
    if not any(owner.row_id is None for owner in owners):
        return owners
    for kind in kinds:
        ensure_count_rows(
            session,
            kind,
            account_ids=[account_id] if count_rows[kind] is None else [],
            domain_ids=missing_domains[kind],
        )
    # First use: the rows just created, by owner and type (one more read).
    created = {
        (row.type, row.account_id is not None, row.account_id or row.domain_id): row.id
        for row in session.execute(
            select(
                ResourceCount.id,
                ResourceCount.type,
                ResourceCount.account_id,
                ResourceCount.domain_id,
            ).where(
                ResourceCount.type.in_([kind.label for kind in kinds]),
                or_(
                    ResourceCount.account_id == account_id,
                    ResourceCount.domain_id.in_([o.id for o in owners if not o.is_account]),
                ),
            )
        )
    }
    return [
        replace(owner, row_id=created.get((owner.kind.label, owner.is_account, owner.id)))
        for owner in owners
    ]


def _setting(key: str | None, value: object) -> int:
    default = DEFAULTS.get(key or "", UNLIMITED)
    if value is None:
        return default
    try:
        return int(str(value).strip())
    except ValueError:
        return default
