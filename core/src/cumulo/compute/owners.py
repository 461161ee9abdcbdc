"""Who a VM command acts for: the owner named by ``account``/``domainid`` (checked
against the caller) or the caller itself, and the process's runtime."""

from __future__ import annotations

from dataclasses import dataclass

from cumulo.accounts.access import check_account_access, check_domain_access
from cumulo.accounts.lookup import active_account_by_name, find_domain
from cumulo.accounts.models import Account, AccountState
from cumulo.runtime import Runtime
from cumulo.sdk.api import Call
from cumulo.sdk.errors import InvalidParameterValue


def runtime_of(call: Call) -> Runtime:
    """The process's runtime (database key, configuration)."""
    runtime = call.services.get("runtime")
    if not isinstance(runtime, Runtime):  # pragma: no cover - the API always gives it
        raise RuntimeError("the call carries no runtime service")
    return runtime


@dataclass(frozen=True)
class Owner:
    """The account a new resource will belong to."""

    id: int
    uuid: str
    domain_id: int
    account_name: str
    state: str

    @classmethod
    def of(cls, account: Account) -> Owner:
        """The owner ``account`` is."""
        return cls(account.id, account.uuid, account.domain_id, account.account_name, account.state)


def resolve_owner(call: Call, account_param: str = "account") -> Owner:
    """The account ``account``/``domainid`` name, or the caller's (no statement then:
    authentication already refused disabled and locked accounts).

    :raises InvalidParameterValue: ``account`` without ``domainid``, or no such active
        account (431).
    :raises PermissionDenied: the account is outside the caller's reach (531).
    """
    session, ctx = call.session, call.ctx
    name, domain_value = call.get(account_param), call.get("domainid")
    if name is None:
        if domain_value is not None and not ctx.is_root_admin:
            check_domain_access(ctx, find_domain(session, domain_value))
        return Owner(
            ctx.account_id,
            ctx.account_uuid,
            ctx.domain_id,
            ctx.account_name,
            AccountState.ENABLED.value,
        )
    if domain_value is None:
        raise InvalidParameterValue(
            f"{account_param}: the account parameter must be used with domainid"
        )
    domain = find_domain(session, domain_value)
    check_domain_access(ctx, domain)
    owner = active_account_by_name(session, name, domain.id)
    if owner is None:
        raise InvalidParameterValue(
            f"{account_param}: unable to find account {name} in domain {domain.uuid}"
        )
    check_account_access(ctx, session, owner)
    return Owner.of(owner)
