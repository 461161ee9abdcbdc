"""Reserving and releasing counted resources against account and domain limits.

:func:`reserve` is called by every service that creates a limited resource (a VM, a
volume, a template ...), inside that service's transaction and before it commits;
:func:`release` when the resource goes away. Both only execute statements: the caller's
commit or rollback makes the count change with the resource it counts.

Race freedom. The increment comes first and the check after, on the rows the
increment locked (:mod:`cumulo.limits.reservation`)::

    UPDATE resource_count SET count = count + :n
     WHERE account_id = :owner AND type IN (:types)       -- and the domain chain's rows
    SELECT <those rows' counts and limits>

The ``UPDATE`` applies to the latest committed version of every row and holds their
locks until the caller's transaction ends (InnoDB row locks; SQLite transactions take
the write lock at ``BEGIN IMMEDIATE``), so the counts read back are exact: of two
concurrent reserves against a limit of 1, the second waits for the first to commit,
then reads 2 and fails. A count above its owner's limit undoes the whole increment
(one more ``UPDATE``) before :class:`AccountLimitExceeded` is raised, so a caller that
catches the error leaves the counts right. The limits are checked for the account and
each limited domain from the account's own up to (not including) ROOT.

ROOT's own count rows are not kept as resources come and go: 4.1 accepts no limit on
ROOT, and a row that every reservation of the cloud updates would make every deploy
wait for the previous one to commit. ``updateResourceCount`` computes ROOT's totals by
aggregate when asked (:mod:`cumulo.limits.recount`).

Count rows are created on first use (insert-or-ignore on the unique
``(account_id, type)`` / ``(domain_id, type)``), so accounts and domains that predate
limits, and new ones, need nothing else. A reserve of an account in ROOT, or one level
below it, costs three statements however many types it counts (:func:`reserve_many`:
a VM and its volumes): read the account, the ``UPDATE``, the read-back; one more
``UPDATE`` for an account deeper down (its domains' rows). The deploy saves the first
and the last by reading them with its own statements
(:class:`~cumulo.limits.reservation.Reservation`).

Root admin accounts (type 1, the ``system`` account included) are unlimited, as in 4.1
(``ResourceLimitManagerImpl.checkResourceLimit``); their counts are still kept.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

from sqlalchemy import Table, bindparam, case, or_, select, update
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from cumulo.accounts.models import Account, Domain
from cumulo.limits.models import ResourceCount
from cumulo.limits.reservation import (
    CountedAccount,
    Reservation,
    counted_domain_paths,
    raise_unknown_account,
)
from cumulo.limits.types import ResourceType

__all__ = [
    "CountedAccount",
    "Reservation",
    "amounts_of",
    "ancestor_paths",
    "counted_account",
    "ensure_count_rows",
    "release",
    "reserve",
    "reserve_many",
]


def ancestor_paths(path: str) -> list[str]:
    """The paths of the domain at ``path`` and of every domain above it, deepest first:
    ``/Sales/EMEA/`` → ``["/Sales/EMEA/", "/Sales/", "/"]``."""
    parts = [part for part in path.strip("/").split("/") if part]
    return ["/" + "".join(f"{p}/" for p in parts[:depth]) for depth in range(len(parts), -1, -1)]


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


def amounts_of(amounts: Mapping[ResourceType | int | str, int]) -> dict[ResourceType, int]:
    """``amounts`` by :class:`ResourceType`, zero amounts left out.

    :raises ValueError: a negative amount (a programming error).
    :raises InvalidParameterValue: an unknown resource type.
    """
    wanted: dict[ResourceType, int] = {}
    for given, amount in amounts.items():
        kind = ResourceType.of(given)
        if amount < 0:
            raise ValueError(f"amount must not be negative, got {amount}")
        if amount:
            wanted[kind] = wanted.get(kind, 0) + amount
    return wanted


_OWNER = (
    select(Account.type, Account.account_name, Domain.path, Account.domain_id)
    .join(Domain, Domain.id == Account.domain_id)
    .where(Account.id == bindparam("account"))
)


def counted_account(session: Session, account_id: int) -> CountedAccount:
    """What a reservation needs of account ``account_id`` (one statement).

    :raises InvalidParameterValue: no such account.
    """
    found = session.connection().execute(_OWNER, {"account": account_id}).first()
    if found is None:
        raise_unknown_account(account_id)
    assert found is not None
    return CountedAccount(account_id, int(found[0]), str(found[1]), str(found[2]), int(found[3]))


def reserve_many(
    session: Session,
    account_id: int,
    amounts: Mapping[ResourceType | int | str, int],
) -> None:
    """:func:`reserve` several resource types at once (a deployment's VM and its
    volumes), in three statements whatever the number of types (four more than one
    level below ROOT): the account, the ``UPDATE`` of every count row, and one read of
    those counts that checks them against the limits (module doc). All or nothing: when a limit is
    exceeded, every increment is undone (one more ``UPDATE``) before the error is
    raised.

    :param amounts: how many of each type (zero amounts are skipped).
    :raises AccountLimitExceeded: a limit would be exceeded (532 naming the first one,
        the account's before its domains', deepest domain first, types in the order
        given). No count was changed.
    :raises InvalidParameterValue: an unknown account or resource type.
    """
    wanted = amounts_of(amounts)
    if not wanted:
        return
    reservation = Reservation(counted_account(session, account_id), wanted)
    reservation.increment(session)
    reservation.check(session, reservation.read(session))


def release(
    session: Session,
    account_id: int,
    resource_type: ResourceType | int | str,
    amount: int = 1,
) -> None:
    """Count ``amount`` fewer resources of ``resource_type`` for the account and every
    domain above it (ROOT excepted); in the caller's transaction. Counts never go below
    zero (a count that drifted is repaired by ``updateResourceCount``, not made
    negative). Two statements down to one level below ROOT, three deeper.

    :raises InvalidParameterValue: an unknown account or resource type.
    """
    kind = ResourceType.of(resource_type)
    if amount < 0:
        raise ValueError(f"amount must not be negative, got {amount}")
    if amount == 0:
        return
    owner = counted_account(session, account_id)
    lower = case((ResourceCount.count > amount, ResourceCount.count - amount), else_=0)
    paths = counted_domain_paths(owner.domain_path)
    # As a reservation's increment: the account's row, then its domains' (the same
    # lock order), ROOT's never; one statement down to one level below ROOT.
    mine = ResourceCount.account_id == account_id
    if len(paths) == 1:
        mine = or_(mine, ResourceCount.domain_id == owner.domain_id)
    session.execute(
        update(ResourceCount)
        .where(mine, ResourceCount.type == kind.label)
        .values(count=lower)
        .execution_options(synchronize_session=False)
    )
    if len(paths) > 1:
        session.execute(
            update(ResourceCount)
            .where(
                ResourceCount.domain_id == Domain.id,
                Domain.path.in_(paths),
                Domain.removed.is_(None),
                ResourceCount.type == kind.label,
            )
            .values(count=lower)
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
