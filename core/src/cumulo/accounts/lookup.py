"""Finding the domain, account or user an API parameter names, as 4.1 resolves ids.

4.1's ``ApiDispatcher.translateUuidToInternalId`` (api-reference.md §f) accepts a
lower-case UUID, or, for parameters that predate 3.0 (every parameter of the domain,
account and user commands), the internal numeric id; the lookup includes removed rows
(the service then decides what a removed row means). An id that matches nothing is a
431 naming the parameter.
"""

from __future__ import annotations

import re
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from cumulo.accounts.models import Account, Domain, User
from cumulo.sdk.errors import InvalidParameterValue

UUID_PATTERN = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
"""The form of every public id: lower-case, hyphenated (MySQL ``UUID()``, 4.1's regex)."""

Entity = TypeVar("Entity", Domain, Account, User)


def invalid_id(param: str, value: object) -> InvalidParameterValue:
    """The 431 4.1 answers for an id that names nothing (``ApiDispatcher``)."""
    return InvalidParameterValue(
        f"Invalid parameter {param} value={value} due to incorrect long value format, or"
        " entity does not exist or due to incorrect parameter annotation for the field in"
        " api cmd class."
    )


def find_by_id(session: Session, model: type[Entity], value: object, param: str) -> Entity:
    """The row of ``model`` that ``value`` (UUID or internal id) names, removed or not.

    :param param: the parameter's name, for the error.
    :raises InvalidParameterValue: nothing matches (431 naming ``param``).
    """
    text = str(value).strip()
    found: Entity | None
    if isinstance(value, int) or text.isdecimal():
        number = int(text)
        # Beyond BIGINT no row can match, and the database would refuse the number.
        found = session.get(model, number) if 0 < number < 2**63 else None
    else:
        found = session.scalars(select(model).where(model.uuid == text)).first()
    if found is None:
        raise invalid_id(param, value)
    return found


def find_domain(session: Session, value: object, param: str = "domainid") -> Domain:
    """The domain ``value`` names (removed included); 431 naming ``param`` if none."""
    return find_by_id(session, Domain, value, param)


def find_account(session: Session, value: object, param: str = "id") -> Account:
    """The account ``value`` names (removed included); 431 naming ``param`` if none."""
    return find_by_id(session, Account, value, param)


def find_user(session: Session, value: object, param: str = "id") -> User:
    """The user ``value`` names (removed included); 431 naming ``param`` if none."""
    return find_by_id(session, User, value, param)


def active_account_by_name(session: Session, name: str, domain_id: int) -> Account | None:
    """The non-removed account called ``name`` in the domain ``domain_id``, if any.

    Account names are unique among the non-removed accounts of a domain (a deleted
    account's name may be given to a new account).
    """
    return session.scalars(
        select(Account).where(
            Account.account_name == name,
            Account.domain_id == domain_id,
            Account.removed.is_(None),
        )
    ).first()


def parse_public_id(value: str, param: str) -> str:
    """``value`` as a public id to give a new row (``createAccount accountid=``).

    :raises InvalidParameterValue: not a lower-case UUID.
    """
    if not UUID_PATTERN.match(value):
        raise InvalidParameterValue(
            f"Invalid parameter {param} value={value}: it must be a lower-case UUID"
        )
    return value


def username_taken(
    session: Session, username: str, domain_id: int, *, except_user_id: int | None = None
) -> bool:
    """Whether a live user of an account in ``domain_id`` is already called ``username``.

    4.1 keeps usernames unique per domain (``UserAccountDao.validateUsernameInDomain``),
    since a login names a user by username and domain.
    """
    stmt = (
        select(User.id)
        .join(Account, User.account_id == Account.id)
        .where(
            User.username == username,
            User.removed.is_(None),
            Account.domain_id == domain_id,
        )
    )
    if except_user_id is not None:
        stmt = stmt.where(User.id != except_user_id)
    return session.scalar(stmt.limit(1)) is not None
