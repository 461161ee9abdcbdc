"""Reserving and releasing counted resources against account and domain limits.

:func:`reserve` is called by every service that creates a limited resource (a VM, a
volume, a template ...), inside that service's transaction and before it commits;
:func:`release` when the resource goes away. Both only execute statements: the caller's
commit or rollback makes the count change with the resource it counts.

Race freedom. The check and the increment are one statement per limited owner::

    UPDATE resource_count SET count = count + :n
     WHERE account_id = :owner AND type = :type AND count + :n <= :max

The database evaluates the condition on the row it locks (InnoDB re-reads the latest
committed version of a locked row before deciding; PostgreSQL re-checks after the lock
wait; SQLite transactions take the write lock at ``BEGIN IMMEDIATE``), so of two
concurrent reserves against a limit of 1, the second waits for the first to commit and
then matches no row: it fails rather than over-counting. The account is checked first,
then each limited domain from the account's own up to (not including) ROOT, which is
never limited; owners without a limit are incremented together by one plain UPDATE.
Every reserve takes its row locks in that order (account, then domains deepest first),
so two reserves never wait for each other in a cycle. If a domain refuses after earlier
owners were incremented, those increments are undone before the error is raised, so a
caller that catches the error leaves the counts right.

Count rows are created on first use (insert-or-ignore on the unique
``(account_id, type)`` / ``(domain_id, type)``), so accounts and domains that predate
limits, and new ones, need nothing else. A reserve typically costs four statements:
read the account with its limit and the defaults, read its domain chain, the
conditional update, the plain update.

Root admin accounts (type 1, the ``system`` account included) are unlimited, as in 4.1
(``ResourceLimitManagerImpl.checkResourceLimit``); their counts are still kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, and_, case, or_, select, update
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.engine import Connection, CursorResult
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from cumulo.accounts.models import Account, AccountType, Domain
from cumulo.config.models import Configuration
from cumulo.limits.models import ResourceCount, ResourceLimit
from cumulo.limits.settings import DEFAULTS, UNLIMITED
from cumulo.limits.types import ResourceType, account_key, domain_key, project_key
from cumulo.sdk.errors import AccountLimitExceeded, InvalidParameterValue

__all__ = ["ancestor_paths", "ensure_count_rows", "release", "reserve"]


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
    kind = ResourceType.of(resource_type)
    if amount < 0:
        raise ValueError(f"amount must not be negative, got {amount}")
    if amount == 0:
        return
    owners = _owners(session, account_id, kind)
    limited = [owner for owner in owners if owner.max >= 0]
    done: list[_Owner] = []
    for owner in limited:
        result = _execute(
            session,
            update(ResourceCount)
            .where(
                owner.column == owner.id,
                ResourceCount.type == kind.label,
                ResourceCount.count + amount <= owner.max,
            )
            .values(count=ResourceCount.count + amount)
            .execution_options(synchronize_session=False),
        )
        if result.rowcount != 1:
            _add(session, kind, done, -amount)
            raise AccountLimitExceeded(
                f"Maximum number of resources of type '{kind.label}' for {owner.what} has"
                f" been exceeded (limit {owner.max})."
            )
        done.append(owner)
    _add(session, kind, [owner for owner in owners if owner.max < 0], amount)


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


def _owners(session: Session, account_id: int, kind: ResourceType) -> list[_Owner]:
    """The account and its domain chain (deepest first) with their effective limits,
    after creating any count row they lack. Two reads (plus one insert the first time)."""
    keys = [key for key in (account_key(kind), project_key(kind), domain_key(kind))]
    configured = [
        select(Configuration.value).where(Configuration.name == key).scalar_subquery()
        if key is not None
        else None
        for key in keys
    ]
    found = session.execute(
        select(
            Account.type,
            Account.account_name,
            Account.domain_id,
            Domain.path,
            Domain.uuid,
            select(ResourceLimit.max)
            .where(ResourceLimit.account_id == account_id, ResourceLimit.type == kind.label)
            .scalar_subquery(),
            select(ResourceCount.id)
            .where(ResourceCount.account_id == account_id, ResourceCount.type == kind.label)
            .scalar_subquery(),
            *[column for column in configured if column is not None],
        )
        .join(Domain, Domain.id == Account.domain_id)
        .where(Account.id == account_id)
    ).first()
    if found is None:
        raise InvalidParameterValue(f"Unable to find account id={account_id}")
    account_type, name, domain_id, path, domain_uuid, account_max, count_row = found[:7]
    settings = iter(found[7:])
    defaults = {key: _setting(key, next(settings)) for key in keys if key is not None}
    unlimited = account_type == AccountType.ADMIN
    if unlimited:
        account_limit = UNLIMITED
    elif account_max is not None:
        account_limit = int(account_max)
    else:
        key = keys[1] if account_type == AccountType.PROJECT else keys[0]
        account_limit = defaults.get(key, UNLIMITED) if key is not None else UNLIMITED
    owners = [
        _Owner(True, account_id, account_limit, f"account name={name} in domain id={domain_uuid}")
    ]
    # Outer joins: the limit and the count row may be missing (NULL).
    chain: list[Any] = session.execute(
        select(Domain.id, Domain.uuid, Domain.path, ResourceLimit.max, ResourceCount.id)
        .outerjoin(
            ResourceLimit,
            and_(ResourceLimit.domain_id == Domain.id, ResourceLimit.type == kind.label),
        )
        .outerjoin(
            ResourceCount,
            and_(ResourceCount.domain_id == Domain.id, ResourceCount.type == kind.label),
        )
        .where(
            or_(
                Domain.id == domain_id,
                and_(Domain.path.in_(ancestor_paths(path)[1:]), Domain.removed.is_(None)),
            )
        )
    ).all()  # type: ignore[assignment]
    missing_domains: list[int] = []
    domain_default = defaults.get(keys[2], UNLIMITED) if keys[2] is not None else UNLIMITED
    for row_id, uuid, row_path, row_max, row_count in sorted(chain, key=lambda row: -len(row.path)):
        if row_path == "/" or unlimited:
            limit = UNLIMITED  # ROOT is never limited (4.1), nor root admins' domains
        else:
            limit = int(row_max) if row_max is not None else domain_default
        owners.append(_Owner(False, row_id, limit, f"domain id={uuid}"))
        if row_count is None:
            missing_domains.append(row_id)
    ensure_count_rows(
        session,
        kind,
        account_ids=[account_id] if count_row is None else [],
        domain_ids=missing_domains,
    )
    return owners


def _setting(key: str | None, value: object) -> int:
    default = DEFAULTS.get(key or "", UNLIMITED)
    if value is None:
        return default
    try:
        return int(str(value).strip())
    except ValueError:
        return default


def _add(session: Session, kind: ResourceType, owners: Sequence[_Owner], amount: int) -> None:
    """Add ``amount`` (may be negative) to every owner's count in one plain UPDATE."""
    accounts = [owner.id for owner in owners if owner.is_account]
    domains = [owner.id for owner in owners if not owner.is_account]
    if not accounts and not domains:
        return
    session.execute(
        update(ResourceCount)
        .where(
            ResourceCount.type == kind.label,
            or_(ResourceCount.account_id.in_(accounts), ResourceCount.domain_id.in_(domains)),
        )
        .values(count=ResourceCount.count + amount)
        .execution_options(synchronize_session=False)
    )


def _execute(session: Session, stmt: Any) -> CursorResult[Any]:
    return cast(CursorResult[Any], session.execute(stmt))
