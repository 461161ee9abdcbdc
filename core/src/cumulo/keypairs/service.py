"""SSH key pairs of an account: create (generated here), register, delete, list.

4.1's rules (``ManagementServerImpl.createSSHKeyPair`` and friends): a name is unique
within its account; the owner is the caller or, for admins, the account named by
``account`` + ``domainid``; lists are scoped like every account resource (own account,
or with ``listall`` everything the caller may see). The private key of a generated pair
is returned once and never stored or logged.

Every function works in the caller's transaction and never commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, delete, select
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cumulo.accounts.access import visible_accounts
from cumulo.accounts.models import Account, Domain
from cumulo.db.listing import DEFAULT_PAGE_SIZE, fetch_rows
from cumulo.events import record
from cumulo.keypairs import keys
from cumulo.keypairs.models import NAME_LENGTH, SSHKeyPair
from cumulo.sdk.api import CallContext
from cumulo.sdk.errors import InvalidParameterValue

REGISTER_SSH_KEYPAIR = "REGISTER.SSH.KEYPAIR"
"""Later CloudStack's type for a registered (and, here, a generated) key pair; 4.1
records no key pair events."""
DELETE_SSH_KEYPAIR = "DELETE.SSH.KEYPAIR"
"""cumulo's type for a deleted key pair (CloudStack records none)."""


@dataclass(frozen=True)
class Created:
    """A new key pair; ``private_key`` only when it was generated here."""

    name: str
    fingerprint: str
    private_key: str | None = None


def create_keypair(ctx: CallContext, session: Session, owner: Account, name: str) -> Created:
    """Generate an RSA pair called ``name`` for ``owner``; return it with its private key.

    :raises InvalidParameterValue: a bad name, or the owner already has a pair of that name.
    """
    pair = keys.generate()
    public = keys.parse_public_key(pair.public_key)
    _add(ctx, session, owner, name, public, "Created")
    return Created(name, public.fingerprint, pair.private_key)


def register_keypair(
    ctx: CallContext, session: Session, owner: Account, name: str, public_key: str
) -> Created:
    """Store ``public_key`` as the pair ``name`` of ``owner``.

    :raises InvalidParameterValue: an invalid public key (naming ``publickey``), a bad
        name, or the owner already has a pair of that name.
    """
    _check_name(name)
    public = keys.parse_public_key(public_key, "publickey")
    _add(ctx, session, owner, name, public, "Registered")
    return Created(name, public.fingerprint)


def delete_keypair(ctx: CallContext, session: Session, owner: Account, name: str) -> None:
    """Delete the pair ``name`` of ``owner`` (VMs that got its key keep it).

    :raises InvalidParameterValue: the owner has no pair of that name.
    """
    deleted = session.execute(
        delete(SSHKeyPair).where(SSHKeyPair.account_id == owner.id, SSHKeyPair.name == name)
    )
    count = deleted.rowcount if isinstance(deleted, CursorResult) else 0
    if count == 0:
        raise InvalidParameterValue(
            f"A key pair with name '{name}' does not exist for account {owner.account_name}"
            f" in specified domain id={owner.domain.uuid}"
        )
    record(
        session,
        DELETE_SSH_KEYPAIR,
        f"Deleted SSH key pair {name}",
        resource_type="SSHKeyPair",
        account_id=owner.id,
        domain_id=owner.domain_id,
        user_id=ctx.user_id,
    )


def list_keypairs(
    ctx: CallContext,
    session: Session,
    *,
    name: str | None = None,
    fingerprint: str | None = None,
    keyword: str | None = None,
    listall: bool = False,
    isrecursive: bool = False,
    domain: Domain | None = None,
    account_name: str | None = None,
    page: int | None = None,
    pagesize: int | None = None,
    max_page_size: int = DEFAULT_PAGE_SIZE,
) -> tuple[list[Row[Any]], int]:
    """One page of the pairs the caller may see, with the total; one statement.

    Rows carry ``name``, ``fingerprint``, ``account`` (owner name) and ``domainid``.
    The caller validates ``domainid``/``account`` first
    (:func:`cumulo.accounts.access.check_list_scope`).
    """
    stmt: Any = (
        select(
            SSHKeyPair.name,
            SSHKeyPair.fingerprint,
            Account.account_name.label("account"),
            Domain.uuid.label("domainid"),
        )
        .join(Account, Account.id == SSHKeyPair.account_id)
        .join(Domain, Domain.id == SSHKeyPair.domain_id)
        .where(
            visible_accounts(
                ctx,
                listall=listall,
                isrecursive=isrecursive,
                domain_id=domain.id if domain is not None else None,
                account_name=account_name,
            )
        )
        .order_by(SSHKeyPair.id)
    )
    if name is not None:
        stmt = stmt.where(SSHKeyPair.name == name)
    if fingerprint is not None:
        stmt = stmt.where(SSHKeyPair.fingerprint == fingerprint.lower())
    if keyword:
        stmt = stmt.where(SSHKeyPair.name.contains(keyword, autoescape=True))
    return fetch_rows(session, stmt, page=page, pagesize=pagesize, max_page_size=max_page_size)


# ---- internals ---------------------------------------------------------------------


def _check_name(name: str) -> None:
    if not name.strip():
        raise InvalidParameterValue("Invalid parameter name: the key pair name is empty")
    if len(name) > NAME_LENGTH:
        raise InvalidParameterValue(
            f"Invalid parameter name: the key pair name is longer than {NAME_LENGTH}"
        )


def _add(
    ctx: CallContext,
    session: Session,
    owner: Account,
    name: str,
    public: keys.PublicKey,
    verb: str,
) -> None:
    _check_name(name)
    taken = session.scalar(
        select(SSHKeyPair.id).where(SSHKeyPair.account_id == owner.id, SSHKeyPair.name == name)
    )
    if taken is None:
        try:
            # A savepoint, so that losing a race to the same name leaves the caller's
            # transaction usable for the error's rendering.
            with session.begin_nested():
                session.add(
                    SSHKeyPair(
                        account_id=owner.id,
                        domain_id=owner.domain_id,
                        name=name,
                        fingerprint=public.fingerprint,
                        public_key=public.text,
                    )
                )
        except IntegrityError:
            taken = -1
    if taken is not None:
        raise InvalidParameterValue(f"A key pair with name '{name}' already exists.")
    record(
        session,
        REGISTER_SSH_KEYPAIR,
        f"{verb} SSH key pair {name} with fingerprint {public.fingerprint}",
        resource_type="SSHKeyPair",
        account_id=owner.id,
        domain_id=owner.domain_id,
        user_id=ctx.user_id,
    )
