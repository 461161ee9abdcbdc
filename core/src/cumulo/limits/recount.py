"""``updateResourceCount``: set the running counts to what the resources really are.

An account's count of a type is what the type's registered counter
(:mod:`cumulo.limits.counters`) finds; a domain's count is the sum of the counts of
every account in its subtree (4.1's ``recalculateDomainResourceCount``, done set-based
here rather than one domain at a time). Types without a counter keep their accounts'
running counts, and their domains are re-summed from them. ROOT's count is computed
the same way but never stored: ROOT has no running count (reservations do not keep
one, see :mod:`cumulo.limits.service`), only this aggregate when asked.

Race freedom: the count rows concerned are locked (``SELECT ... FOR UPDATE``; on
SQLite the transaction already holds the write lock) before counting, so a concurrent
:func:`cumulo.limits.service.reserve` either committed before the count (and is in
it) or waits and adds its increment to the recounted value.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Table, bindparam, or_, select, update
from sqlalchemy.orm import Session

from cumulo.accounts.access import domain_subtree
from cumulo.accounts.models import Account, Domain
from cumulo.limits.counters import counter_for
from cumulo.limits.models import ResourceCount
from cumulo.limits.service import ancestor_paths, ensure_count_rows
from cumulo.limits.types import ResourceType


@dataclass(frozen=True)
class Count:
    """One recounted value as ``ResourceCountResponse`` shows it (``account`` ``None``
    for a domain's count)."""

    resource_type: ResourceType
    count: int
    domain: Domain
    account: Account | None = None


def recount(
    session: Session,
    domain: Domain,
    *,
    account: Account | None = None,
    types: Sequence[ResourceType] = tuple(ResourceType),
) -> list[Count]:
    """Recount ``types`` for ``account`` (when given) or for every account and domain
    of ``domain``'s subtree; return the new counts of the account or of ``domain``.

    Access is the caller's business (the command checks it first). Statements: one to
    find the accounts, one per counted type, and a handful to lock and write, whatever
    the number of accounts.
    """
    if account is not None:
        accounts = [(account.id, domain.path)]
        domains: list[tuple[int, str]] = []
    else:
        accounts = list(
            session.execute(
                select(Account.id, Domain.path)
                .join(Domain, Domain.id == Account.domain_id)
                .where(domain_subtree(domain.path), Account.removed.is_(None))
            )
        )
        domains = list(
            session.execute(
                select(Domain.id, Domain.path).where(
                    domain_subtree(domain.path), Domain.removed.is_(None)
                )
            )
        )
    account_ids = [account_id for account_id, _ in accounts]
    # ROOT's total is summed for the answer but has no row to keep.
    domain_ids = [domain_id for domain_id, path in domains if path != "/"]
    results: list[Count] = []
    for kind in types:
        current = _read(session, kind, account_ids, domain_ids, lock=False)
        ensure_count_rows(
            session,
            kind,
            account_ids=[a for a in account_ids if a not in current[0]],
            domain_ids=[d for d in domain_ids if d not in current[1]],
        )
        current = _read(session, kind, account_ids, domain_ids, lock=True)
        counter = counter_for(kind)
        if counter is not None:
            found = counter(session, account_ids) if account_ids else {}
            per_account = {account_id: int(found.get(account_id, 0)) for account_id in account_ids}
        else:
            per_account = {account_id: current[0].get(account_id, 0) for account_id in account_ids}
        per_domain: dict[int, int] = defaultdict(int)
        by_path = {path: domain_id for domain_id, path in domains}
        for account_id, path in accounts:
            for ancestor in ancestor_paths(path):
                if ancestor in by_path:
                    per_domain[by_path[ancestor]] += per_account[account_id]
        _write(session, kind, per_account, {d: per_domain[d] for d in domain_ids})
        if account is not None:
            results.append(Count(kind, per_account[account.id], domain, account))
        else:
            results.append(Count(kind, per_domain[domain.id], domain))
    return results


def _read(
    session: Session,
    kind: ResourceType,
    account_ids: list[int],
    domain_ids: list[int],
    *,
    lock: bool,
) -> tuple[dict[int, int], dict[int, int]]:
    """The current counts of these owners (by account, by domain); ``lock``: with
    ``FOR UPDATE``, so that no reserve changes them until the caller commits."""
    stmt = (
        select(
            ResourceCount.account_id, ResourceCount.domain_id, ResourceCount.count.label("value")
        )
        .where(
            ResourceCount.type == kind.label,
            or_(
                ResourceCount.account_id.in_(account_ids),
                ResourceCount.domain_id.in_(domain_ids),
            ),
        )
        .order_by(ResourceCount.id)
    )
    rows = session.execute(stmt.with_for_update() if lock else stmt).all()
    accounts = {row.account_id: int(row.value) for row in rows if row.account_id is not None}
    domains = {row.domain_id: int(row.value) for row in rows if row.domain_id is not None}
    return accounts, domains


def _write(
    session: Session, kind: ResourceType, accounts: dict[int, int], domains: dict[int, int]
) -> None:
    # A Core table UPDATE run once per parameter set (executemany): one round trip per
    # owner kind, not per row.
    table = cast(Table, ResourceCount.__table__)
    for column, values in ((table.c.account_id, accounts), (table.c.domain_id, domains)):
        if not values:
            continue
        session.execute(
            update(table)
            .where(column == bindparam("owner"), table.c.type == kind.label)
            .values(count=bindparam("value")),
            [{"owner": owner, "value": value} for owner, value in values.items()],
        )
