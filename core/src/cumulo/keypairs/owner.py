"""Whose resource a create/delete command acts on: 4.1's ``finalizeOwner``.

``account`` + ``domainid`` name another account for admins (within their reach); a
user may name only itself; one without the other is an error; neither means the
caller's own account. Shared by every command taking the pair for an owner.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from cumulo.accounts.access import check_domain_access
from cumulo.accounts.lookup import active_account_by_name
from cumulo.accounts.models import Account, Domain
from cumulo.sdk.api import CallContext, Role
from cumulo.sdk.errors import InvalidParameterValue, PermissionDenied


def finalize_owner(
    ctx: CallContext,
    session: Session,
    account_name: str | None,
    domain: Domain | None,
) -> Account:
    """The account a command acts for.

    :raises InvalidParameterValue: only one of ``account``/``domainid``; no active
        account of that name in that domain.
    :raises PermissionDenied: a user naming another account; an admin naming an account
        outside its subtree.
    """
    if (account_name is None) != (domain is None):
        raise InvalidParameterValue("AccountName and domainId must be specified together")
    if account_name is None or domain is None:
        return _caller(session, ctx)
    if ctx.role == Role.USER or not ctx.role:
        if account_name != ctx.account_name or domain.id != ctx.domain_id:
            raise PermissionDenied(
                f"Can't create/list resources for account {account_name} in domain"
                f" {domain.uuid}, permission denied"
            )
        return _caller(session, ctx)
    if domain.removed is not None:
        raise InvalidParameterValue(f"Unable to find the domain by id={domain.uuid}")
    owner = active_account_by_name(session, account_name, domain.id)
    if owner is None:
        raise InvalidParameterValue(
            f"Unable to find account {account_name} in domain {domain.uuid}"
        )
    check_domain_access(ctx, domain)
    return owner


def _caller(session: Session, ctx: CallContext) -> Account:
    account = session.get(Account, ctx.account_id)
    if account is None:  # pragma: no cover - authentication found it
        raise PermissionDenied(f"Unable to find the caller's account {ctx.account_uuid}")
    return account
