"""What the domain, account and user handlers share: resolving ids, per-process
services, and turning rows into response fields with the right secrets.

Handlers stay thin: they read parameters, resolve ids to rows (:mod:`cumulo.accounts.
lookup`), call a service and render its rows with :mod:`cumulo.accounts.views`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select

from cumulo.accounts import lookup, views
from cumulo.accounts.domains import parent_of
from cumulo.accounts.models import Account, Domain, User
from cumulo.accounts.views import AccountLike, DomainLike, UserLike
from cumulo.auth import passwords
from cumulo.auth.keys import reveal_stored_secret
from cumulo.crypto import DEFAULT_ALGORITHM, CryptoError, unwrap_enc
from cumulo.db.listing import DEFAULT_PAGE_SIZE
from cumulo.infra.models import Zone
from cumulo.sdk.api import Call, Fields, ListResult

logger = logging.getLogger(__name__)


def domain_param(call: Call, name: str = "domainid") -> Domain | None:
    """The domain parameter ``name`` names, ``None`` when absent (431 if unknown)."""
    value = call.get(name)
    return None if value is None else lookup.find_domain(call.session, value, name)


def account_param(call: Call, name: str = "id") -> Account | None:
    """The account parameter ``name`` names, ``None`` when absent (431 if unknown)."""
    value = call.get(name)
    return None if value is None else lookup.find_account(call.session, value, name)


def user_param(call: Call, name: str = "id") -> User | None:
    """The user parameter ``name`` names, ``None`` when absent (431 if unknown)."""
    value = call.get(name)
    return None if value is None else lookup.find_user(call.session, value, name)


def required_user(call: Call, name: str = "id") -> User:
    """The user a required parameter names (the dispatcher guarantees presence)."""
    return lookup.find_user(call.session, call.params[name], name)


def secrets_key(call: Call) -> tuple[str, str]:
    """``(database_key, algorithm)`` that encrypt secrets stored in tables."""
    runtime = call.services.get("runtime")
    key = call.services.get("database_key", getattr(runtime, "database_key", ""))
    algorithm = call.services.get("algorithm", getattr(runtime, "algorithm", DEFAULT_ALGORITHM))
    return str(key or ""), str(algorithm)


def max_page_size(call: Call) -> int:
    """``default.page.size`` as the dispatcher read it for this request."""
    return int(call.services.get("max_page_size", DEFAULT_PAGE_SIZE))


def paging(call: Call) -> dict[str, Any]:
    """The paging keyword arguments every list service takes."""
    return {
        "page": call.get("page"),
        "pagesize": call.get("pagesize"),
        "max_page_size": max_page_size(call),
    }


def encode_password(call: Call, password: str) -> str:
    """``password`` as stored (the configured encoder chain, read in this transaction)."""
    registry = call.services.get("config")
    return passwords.encode_password(call.pm, password, call.session, registry=registry)


def secret_for(call: Call, user: UserLike) -> str | None:
    """The user's secret key in plain text if this caller may read it, else ``None``.

    4.1 shows secret keys to whoever may list the user; here only to the user itself
    and to root admins. A value the database key cannot decrypt is left out (and
    logged, without the value), not allowed to break the listing.
    """
    if user.secret_key is None:
        return None
    if not (call.ctx.is_root_admin or call.ctx.user_id == user.id):
        return None
    key, algorithm = secrets_key(call)
    if not key:
        # Encryption type "none": a plain value is readable, an ENC() one is not.
        return user.secret_key if unwrap_enc(user.secret_key) is None else None
    try:
        return reveal_stored_secret(user.secret_key, key, algorithm)
    except CryptoError:
        logger.warning("the secret key of user %s cannot be decrypted", user.uuid)
        return None


def user_fields(call: Call, user: UserLike, account: AccountLike, domain: DomainLike) -> Fields:
    """A ``UserResponse`` as this caller may see it."""
    return views.user_fields(
        user,
        account,
        domain,
        caller_domain_path=call.ctx.domain_path,
        secret_key=secret_for(call, user),
    )


def account_fields(
    call: Call,
    account: AccountLike,
    domain: DomainLike,
    users: Sequence[UserLike],
    details: Mapping[str, str] | None,
) -> Fields:
    """An ``AccountResponse`` with its users, as this caller may see them.

    A listed row carries its default zone's public id (``default_zone_uuid``, joined in
    the page's query); a single account looks it up, and only when one is marked.
    """
    zone_uuid = getattr(account, "default_zone_uuid", None)
    zone_id = getattr(account, "default_zone_id", None)
    if zone_uuid is None and zone_id is not None:
        zone_uuid = call.session.execute(
            select(Zone.uuid).where(Zone.id == zone_id)
        ).scalar_one_or_none()
    return views.account_fields(
        account,
        domain,
        [user_fields(call, user, account, domain) for user in users],
        details,
        zone_uuid,
    )


def domain_fields(call: Call, domain: Domain) -> Fields:
    """A ``DomainResponse`` of one domain (its parent is read here)."""
    return views.domain_fields(domain, parent_of(call.session, domain))


def domain_list(rows: Sequence[tuple[Domain, Domain | None]], total: int) -> ListResult:
    """A page of domains as the ``domain`` list."""
    return ListResult(
        "domain", [views.domain_fields(domain, parent) for domain, parent in rows], total
    )
