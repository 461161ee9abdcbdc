"""One reservation of counted resources: increment first, check on the next read.

:func:`cumulo.limits.service.reserve_many` and the deploy's allocation
(:mod:`cumulo.compute.allocation`) both go through a :class:`Reservation`:

1. :meth:`Reservation.increment` adds the amounts to the owner's count rows — the
   account's (located by its unique ``(account_id, type)`` key) and, for an account
   below ROOT, those of its domain chain: its own domain's by id in the same
   statement when that is the whole chain, else joined through ``domain.path`` (a
   second statement). The ``UPDATE`` locks exactly those rows until the caller's
   transaction ends (InnoDB row locks; SQLite's write lock is held from ``BEGIN
   IMMEDIATE``).
2. The counts and limits of those rows are then read — by the caller's own next
   statement when it has one (:meth:`Reservation.attach` adds them to it: the deploy
   reads its zone, offering and template in the same statement), else by
   :meth:`Reservation.read`. Rows this transaction just incremented and still locks
   read back exactly: nobody can change them in between.
3. :meth:`Reservation.check` compares them with the limits: above one, the increments
   are undone (the same ``UPDATE`` with the amounts negated) and
   :class:`~cumulo.sdk.errors.AccountLimitExceeded` is raised, so the counts are right
   even for a caller that catches the error.

ROOT is never counted here. 4.1 accepts no limit on it, so keeping its running count
per reservation would only make one row that every reservation of the cloud locks, in
turn: a serialisation point for every deploy. Its totals are computed when asked
(``updateResourceCount`` sums its accounts, :mod:`cumulo.limits.recount`).

Lock order: a reservation locks its account's rows, then its domains' (the merged
index scan and the two statements alike), and releases do the same, so two of them
never wait for each other in a cycle. Count rows are created on first use
(:func:`cumulo.limits.service.ensure_count_rows`); a reservation that finds some
missing creates them, increments them and reads again (first use only).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    Select,
    Table,
    Update,
    and_,
    bindparam,
    case,
    literal,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import Subquery

from cumulo.accounts.models import Account, AccountType, Domain
from cumulo.config.models import Configuration
from cumulo.limits.models import ResourceCount, ResourceLimit
from cumulo.limits.settings import DEFAULTS, UNLIMITED
from cumulo.limits.types import ResourceType, account_key, domain_key, project_key
from cumulo.sdk.errors import AccountLimitExceeded, InvalidParameterValue

__all__ = ["CountedAccount", "Reservation", "counted_domain_paths"]

_RC = cast(Table, ResourceCount.__table__)
_RL = cast(Table, ResourceLimit.__table__)
_ACCOUNT = cast(Table, Account.__table__)
_DOMAIN = cast(Table, Domain.__table__)
_CONFIG = cast(Table, Configuration.__table__)

PREFIX = "limits_"
"""Prefix of the bind parameters and columns a reservation adds to a caller's
statement (so that they never clash with the caller's own)."""


def counted_domain_paths(path: str) -> list[str]:
    """The paths of the domains whose counts a reservation of an account in the domain
    at ``path`` changes: that domain and its ancestors, ROOT excluded, deepest first
    (``/Sales/EMEA/`` → ``["/Sales/EMEA/", "/Sales/"]``; ``/`` → ``[]``)."""
    parts = [part for part in path.strip("/").split("/") if part]
    return ["/" + "".join(f"{p}/" for p in parts[:depth]) for depth in range(len(parts), 0, -1)]


@dataclass(frozen=True)
class CountedAccount:
    """What a reservation needs of the owning account (no statement: the caller knows
    it, from the call context or the owner it resolved)."""

    id: int
    type: int
    name: str
    domain_path: str
    domain_id: int


# ---- statements, built once per shape -------------------------------------------------------


def _delta(kinds: Sequence[ResourceType]) -> ColumnElement[Any]:
    """The amount each count row gets: ``:limits_n0`` for one type, else a ``CASE`` on
    the row's type with one amount per type."""
    if len(kinds) == 1:
        return bindparam(f"{PREFIX}n0", type_=BigInteger)
    return case(
        *(
            (_RC.c.type == kind.label, bindparam(f"{PREFIX}n{index}", type_=BigInteger))
            for index, kind in enumerate(kinds)
        ),
        else_=0,
    )


def _types(kinds: Sequence[ResourceType]) -> ColumnElement[bool]:
    return _RC.c.type.in_([kind.label for kind in kinds])


_UPDATES: dict[tuple[Any, ...], Update] = {}
_READS: dict[tuple[Any, ...], Subquery] = {}
_SETTINGS: dict[tuple[Any, ...], list[Any]] = {}
_ATTACHED: dict[tuple[Any, ...], tuple[Select[Any], Select[Any]]] = {}


def _account_update(kinds: tuple[ResourceType, ...]) -> Update:
    key = ("account", kinds)
    found = _UPDATES.get(key)
    if found is None:
        found = (
            update(_RC)
            .where(
                _RC.c.account_id == bindparam(f"{PREFIX}account", type_=BigInteger), _types(kinds)
            )
            .values(count=_RC.c.count + _delta(kinds))
        )
        _UPDATES[key] = found
    return found


def _near_update(kinds: tuple[ResourceType, ...]) -> Update:
    """The account's rows and those of its domain, for an account one level below ROOT
    (the domain's id is known: one statement; MariaDB merges the two unique indexes)."""
    key = ("near", kinds)
    found = _UPDATES.get(key)
    if found is None:
        found = (
            update(_RC)
            .where(
                _types(kinds),
                or_(
                    _RC.c.account_id == bindparam(f"{PREFIX}account", type_=BigInteger),
                    _RC.c.domain_id == bindparam(f"{PREFIX}domain", type_=BigInteger),
                ),
            )
            .values(count=_RC.c.count + _delta(kinds))
        )
        _UPDATES[key] = found
    return found


def _domains_update(kinds: tuple[ResourceType, ...]) -> Update:
    # A join with ``domain``, not ``domain_id IN (SELECT ...)``: MariaDB runs the latter
    # as a scan of every count row (locking each in turn), the join as an index lookup.
    key = ("domains", kinds)
    found = _UPDATES.get(key)
    if found is None:
        found = (
            update(_RC)
            .where(
                _RC.c.domain_id == _DOMAIN.c.id,
                _DOMAIN.c.path.in_(bindparam(f"{PREFIX}paths", expanding=True)),
                _DOMAIN.c.removed.is_(None),
                _types(kinds),
            )
            .values(count=_RC.c.count + _delta(kinds))
        )
        _UPDATES[key] = found
    return found


def counts_subquery(kinds: tuple[ResourceType, ...], chain: bool) -> Subquery:
    """The owner's count rows with their limits, one row per row that exists (a row
    with ``NULL`` count columns for an owner that has none of these types yet): the
    account's (with its domain's uuid, for the error text) and, with ``chain``, those
    of the domains at the ``limits_paths``."""
    key = (kinds, chain)
    found = _READS.get(key)
    if found is not None:
        return found
    owner_domain = _DOMAIN.alias("limits_owner_domain")
    account = (
        select(
            literal(1, Integer).label("is_account"),
            _ACCOUNT.c.id.label("owner_id"),
            owner_domain.c.uuid.label("owner_uuid"),
            owner_domain.c.path.label("owner_path"),
            _RC.c.id.label("row_id"),
            _RC.c.type.label("row_type"),
            _RC.c.count.label("row_count"),
            _RL.c.max.label("row_max"),
        )
        .select_from(_ACCOUNT)
        .join(owner_domain, owner_domain.c.id == _ACCOUNT.c.domain_id)
        .outerjoin(_RC, and_(_RC.c.account_id == _ACCOUNT.c.id, _types(kinds)))
        .outerjoin(_RL, and_(_RL.c.account_id == _ACCOUNT.c.id, _RL.c.type == _RC.c.type))
        .where(_ACCOUNT.c.id == bindparam(f"{PREFIX}account", type_=BigInteger))
    )
    parts: list[Select[Any]] = [account]
    if chain:
        parts.append(
            select(
                literal(0, Integer),
                _DOMAIN.c.id,
                _DOMAIN.c.uuid,
                _DOMAIN.c.path,
                _RC.c.id,
                _RC.c.type,
                _RC.c.count,
                _RL.c.max,
            )
            .select_from(_DOMAIN)
            .outerjoin(_RC, and_(_RC.c.domain_id == _DOMAIN.c.id, _types(kinds)))
            .outerjoin(_RL, and_(_RL.c.domain_id == _DOMAIN.c.id, _RL.c.type == _RC.c.type))
            .where(
                _DOMAIN.c.path.in_(bindparam(f"{PREFIX}paths", expanding=True)),
                _DOMAIN.c.removed.is_(None),
            )
        )
    found = (union_all(*parts) if len(parts) > 1 else account).subquery("limits_counts")
    _READS[key] = found
    return found


def _setting_names(kinds: Sequence[ResourceType], account_type: int, chain: bool) -> list[str]:
    names: list[str] = []
    for kind in kinds:
        own = project_key(kind) if account_type == AccountType.PROJECT else account_key(kind)
        for name in (own, domain_key(kind) if chain else None):
            if name is not None and name not in names:
                names.append(name)
    return names


def _setting_columns(names: tuple[str, ...]) -> list[Any]:
    found = _SETTINGS.get(names)
    if found is None:
        found = [
            select(_CONFIG.c.value)
            .where(_CONFIG.c.name == name)
            .scalar_subquery()
            .label(f"{PREFIX}setting_{index}")
            for index, name in enumerate(names)
        ]
        _SETTINGS[names] = found
    return found


# ---- the reservation --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Row:
    """A count row as read back."""

    is_account: bool
    owner_id: int
    owner_uuid: str
    owner_path: str
    row_id: int | None
    kind: str | None
    count: int
    max: int | None


@dataclass
class Reservation:
    """``amounts`` of resources for ``account`` and its domains below ROOT (module doc).

    :param account: the owning account.
    :param amounts: how many of each type (positive; zero amounts are left out).
    """

    account: CountedAccount
    amounts: Mapping[ResourceType, int]
    _kinds: tuple[ResourceType, ...] = field(init=False)
    _paths: list[str] = field(init=False)
    _settings: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        self._kinds = tuple(kind for kind, amount in self.amounts.items() if amount)
        self._paths = counted_domain_paths(self.account.domain_path)
        self._settings = tuple(_setting_names(self._kinds, self.account.type, bool(self._paths)))

    @property
    def empty(self) -> bool:
        """Nothing to count."""
        return not self._kinds

    def _params(self, sign: int = 1) -> dict[str, Any]:
        params: dict[str, Any] = {
            f"{PREFIX}account": self.account.id,
            f"{PREFIX}domain": self.account.domain_id,
        }
        for index, kind in enumerate(self._kinds):
            params[f"{PREFIX}n{index}"] = sign * int(self.amounts[kind])
        if self._paths:
            params[f"{PREFIX}paths"] = self._paths
        return params

    def increment(self, session: Session, sign: int = 1) -> None:
        """Add the amounts (``sign`` -1: take them back) to the count rows: one
        statement for an account in ROOT or one level below it, two deeper (the
        domains', then the account's)."""
        if self.empty:
            return
        connection = session.connection()
        params = self._params(sign)
        if len(self._paths) == 1:
            connection.execute(_near_update(self._kinds), params)
            return
        connection.execute(_account_update(self._kinds), params)
        if self._paths:
            connection.execute(_domains_update(self._kinds), params)

    # -- reading back ---------------------------------------------------------------------

    def attach(self, stmt: Select[Any], anchor: ColumnElement[Any] | Any) -> Select[Any]:
        """``stmt`` (a statement returning one row, or none) with the count rows and
        limits outer-joined: one row per count row. Run it with :meth:`parameters`
        added, after :meth:`increment`, and give its rows to :meth:`check`. Built once
        per statement and shape (``stmt`` must be a statement kept for reuse).

        :param anchor: a never-NULL column of ``stmt``'s row (the join is unconditional;
            a comparison with it tells SQLAlchemy's cartesian-product check so).
        """
        key = (id(stmt), self._kinds, bool(self._paths), self._settings)
        found = _ATTACHED.get(key)
        if found is None or found[0] is not stmt:
            counts = counts_subquery(self._kinds, bool(self._paths))
            columns = [column.label(f"{PREFIX}{column.name}") for column in counts.c]
            # Always true (every row joins every count row): written as comparisons with
            # the anchor so that SQLAlchemy's cartesian-product check, which on MySQL
            # looks at ON clauses only, sees the two sides joined.
            unconditional = or_(counts.c.owner_id == anchor, counts.c.owner_id != anchor)
            attached = stmt.add_columns(*columns, *_setting_columns(self._settings)).outerjoin(
                counts, unconditional
            )
            found = (stmt, attached)
            _ATTACHED[key] = found
        return found[1]

    def parameters(self) -> dict[str, Any]:
        """The bind parameters :meth:`attach` added."""
        return self._params()

    def read(self, session: Session) -> list[Any]:
        """The count rows and limits on their own (one statement), for :meth:`check`."""
        key = ("read", self._kinds, bool(self._paths), self._settings)
        found = _ATTACHED.get(key)
        if found is None:
            counts = counts_subquery(self._kinds, bool(self._paths))
            columns = [column.label(f"{PREFIX}{column.name}") for column in counts.c]
            stmt = select(*columns, *_setting_columns(self._settings)).select_from(counts)
            found = (stmt, stmt)
            _ATTACHED[key] = found
        return list(session.connection().execute(found[1], self._params()))

    def check(self, session: Session, rows: Sequence[Any]) -> None:
        """Compare the counts read back with the limits (module doc).

        :param rows: the rows of the statement :meth:`attach` made, or of :meth:`read`.
        :raises AccountLimitExceeded: a limit is exceeded (532 naming the first, the
            account's before its domains', deepest domain first, types in the order
            given); the increments were undone.
        """
        if self.empty:
            return
        counted = _rows(rows)
        if self._missing(counted):
            self._first_use(session, counted)
            counted = _rows(self.read(session))
        defaults = self._defaults(rows[0] if rows else None)
        for kind in self._kinds:
            for row in self._owners(counted, kind):
                limit = self._limit(row, kind, defaults)
                if limit >= 0 and row.count > limit:
                    self.increment(session, -1)
                    what = (
                        f"account name={self.account.name} in domain id={row.owner_uuid}"
                        if row.is_account
                        else f"domain id={row.owner_uuid}"
                    )
                    raise AccountLimitExceeded(
                        f"Maximum number of resources of type '{kind.label}' for {what}"
                        f" has been exceeded (limit {limit})."
                    )

    # -- internals --------------------------------------------------------------------------

    def _owners(self, rows: Sequence[_Row], kind: ResourceType) -> list[_Row]:
        """The rows of ``kind``: the account's, then the domains' deepest first."""
        mine = [row for row in rows if row.kind == kind.label]
        return sorted(mine, key=lambda row: (not row.is_account, -len(row.owner_path)))

    def _expected(self, rows: Sequence[_Row]) -> set[tuple[bool, int, str]]:
        owners = {(row.is_account, row.owner_id) for row in rows}
        if not any(is_account for is_account, _ in owners):
            raise_unknown_account(self.account.id)
        return {(a, owner, kind.label) for a, owner in owners for kind in self._kinds}

    def _missing(self, rows: Sequence[_Row]) -> set[tuple[bool, int, str]]:
        present = {(row.is_account, row.owner_id, row.kind) for row in rows if row.row_id}
        return self._expected(rows) - present

    def _first_use(self, session: Session, rows: Sequence[_Row]) -> None:
        """Create the missing count rows and give them the amounts."""
        from cumulo.limits.service import ensure_count_rows

        missing = self._missing(rows)
        for kind in self._kinds:
            accounts = [o for a, o, k in missing if a and k == kind.label]
            domains = [o for a, o, k in missing if not a and k == kind.label]
            ensure_count_rows(session, kind, account_ids=accounts, domain_ids=domains)
            owners = [ResourceCount.account_id.in_(accounts)] if accounts else []
            owners += [ResourceCount.domain_id.in_(domains)] if domains else []
            for owner in owners:
                session.execute(
                    update(ResourceCount)
                    .where(owner, ResourceCount.type == kind.label)
                    .values(count=ResourceCount.count + int(self.amounts[kind]))
                    .execution_options(synchronize_session=False)
                )

    def _defaults(self, row: Any) -> dict[str, int]:
        values = {}
        for index, name in enumerate(self._settings):
            raw = None if row is None else row._mapping[f"{PREFIX}setting_{index}"]
            values[name] = _setting(name, raw)
        return values

    def _limit(self, row: _Row, kind: ResourceType, defaults: Mapping[str, int]) -> int:
        if self.account.type == AccountType.ADMIN:
            return UNLIMITED  # root admins, and their domains, are unlimited (4.1)
        if row.max is not None:
            return int(row.max)
        if not row.is_account:
            own = domain_key(kind)
        elif self.account.type == AccountType.PROJECT:
            own = project_key(kind)
        else:
            own = account_key(kind)
        return defaults.get(own, UNLIMITED) if own is not None else UNLIMITED


def _row(row: Any) -> _Row | None:
    """The count part of ``row``; ``None`` when it has none (an unknown account)."""
    values = row._mapping
    if values[f"{PREFIX}owner_id"] is None:
        return None
    return _Row(
        is_account=bool(values[f"{PREFIX}is_account"]),
        owner_id=int(values[f"{PREFIX}owner_id"]),
        owner_uuid=str(values[f"{PREFIX}owner_uuid"]),
        owner_path=str(values[f"{PREFIX}owner_path"]),
        row_id=values[f"{PREFIX}row_id"],
        kind=values[f"{PREFIX}row_type"],
        count=int(values[f"{PREFIX}row_count"] or 0),
        max=values[f"{PREFIX}row_max"],
    )


def _rows(rows: Sequence[Any]) -> list[_Row]:
    return [found for found in map(_row, rows) if found is not None]


def raise_unknown_account(account_id: int) -> None:
    """:raises InvalidParameterValue: no such account."""
    raise InvalidParameterValue(f"Unable to find account id={account_id}")


def _setting(key: str | None, value: object) -> int:
    default = DEFAULTS.get(key or "", UNLIMITED)
    if value is None:
        return default
    try:
        return int(str(value).strip())
    except ValueError:
        return default
