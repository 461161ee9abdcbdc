"""A seeded cloud for the domain, account and user service tests, and a statement
counter. Each test module makes its ``cloud`` fixture with :func:`make_cloud`."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from cumulo.accounts import account_service, domains
from cumulo.accounts.models import Account, AccountType, Domain, User
from cumulo.crypto import DEFAULT_ALGORITHM
from cumulo.sdk.api import CallContext
from cumulo.setup.passwords import encode_md5
from cumulo.setup.seed import seed_cloud

DATABASE_KEY = "accounts-test-database-key"


def context_for(session: Session, user: User) -> CallContext:
    """The ``CallContext`` authentication would build for ``user``."""
    account = session.get(Account, user.account_id)
    assert account is not None
    domain = session.get(Domain, account.domain_id)
    assert domain is not None
    return CallContext(
        user_id=user.id,
        account_id=account.id,
        domain_id=domain.id,
        domain_path=domain.path,
        account_type=account.type,
        user_uuid=user.uuid,
        account_uuid=account.uuid,
        account_name=account.account_name,
        username=user.username,
    )


@dataclass
class Cloud:
    """A freshly seeded cloud (ROOT, system, admin) with builders acting as root admin."""

    session: Session
    root: Domain
    admin_user: User
    admin: CallContext
    _serial: list[int] = field(default_factory=lambda: [0])

    def ctx(self, user: User) -> CallContext:
        """The context of ``user`` as a caller."""
        return context_for(self.session, user)

    def domain(self, name: str, parent: Domain | None = None) -> Domain:
        """A new domain under ``parent`` (ROOT by default)."""
        return domains.create_domain(self.admin, self.session, name=name, parent=parent)

    def account(
        self,
        name: str,
        account_type: int = AccountType.NORMAL,
        domain: Domain | None = None,
        **extra: Any,
    ) -> tuple[Account, User]:
        """A new account ``name`` with a first user of the same name (override with
        ``username=``; ``account_name=None`` lets the service default it)."""
        extra.setdefault("account_name", name)
        return account_service.create_account(
            self.admin,
            self.session,
            encode_password=encode_md5,
            username=extra.pop("username", name),
            password="secret",
            email=f"{name}@example.org",
            firstname=name.title(),
            lastname="Test",
            account_type=account_type,
            domain=domain,
            **extra,
        )


def make_cloud(db_session: Session) -> Cloud:
    """Seed the test database (SQLite or MariaDB as configured) and wrap it."""
    seed_cloud(db_session, DATABASE_KEY, DEFAULT_ALGORITHM)
    db_session.flush()
    root = db_session.scalars(select(Domain).where(Domain.parent.is_(None))).one()
    admin_user = db_session.scalars(select(User).where(User.username == "admin")).one()
    return Cloud(db_session, root, admin_user, context_for(db_session, admin_user))


@contextlib.contextmanager
def count_statements(session: Session) -> Iterator[list[str]]:
    """Collect the SQL statements ``session`` sends while the block runs."""
    statements: list[str] = []
    engine = session.get_bind()

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", before)
