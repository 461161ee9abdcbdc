"""The events domain, account and user changes record, with CloudStack's type names.

4.1's ``EventTypes`` has ``ACCOUNT.CREATE``, ``ACCOUNT.DELETE``, ``ACCOUNT.DISABLE``
(also for locking), ``ACCOUNT.MARK.DEFAULT.ZONE``, the ``USER.*`` and ``DOMAIN.*``
types. It records nothing for enabling or updating an account or for new API keys;
cumulo records those too, under the names later CloudStack releases gave them
(``ACCOUNT.ENABLE`` and ``ACCOUNT.UPDATE`` from 4.2, ``REGISTER.USER.KEY`` from 4.11).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from cumulo.accounts.models import Account
from cumulo.events import record as record_event
from cumulo.sdk.api import CallContext

ACCOUNT_CREATE = "ACCOUNT.CREATE"
ACCOUNT_DELETE = "ACCOUNT.DELETE"
ACCOUNT_DISABLE = "ACCOUNT.DISABLE"
ACCOUNT_ENABLE = "ACCOUNT.ENABLE"
ACCOUNT_UPDATE = "ACCOUNT.UPDATE"
ACCOUNT_MARK_DEFAULT_ZONE = "ACCOUNT.MARK.DEFAULT.ZONE"
USER_CREATE = "USER.CREATE"
USER_DELETE = "USER.DELETE"
USER_DISABLE = "USER.DISABLE"
USER_ENABLE = "USER.ENABLE"
USER_LOCK = "USER.LOCK"
USER_UPDATE = "USER.UPDATE"
DOMAIN_CREATE = "DOMAIN.CREATE"
DOMAIN_DELETE = "DOMAIN.DELETE"
DOMAIN_UPDATE = "DOMAIN.UPDATE"
REGISTER_USER_KEY = "REGISTER.USER.KEY"


def record(
    session: Session,
    ctx: CallContext,
    event_type: str,
    description: str,
    *,
    owner: Account | None = None,
    resource_type: str | None = None,
    resource_uuid: str | None = None,
) -> None:
    """Record an event in the current transaction (published after commit).

    :param ctx: the caller: the event's user.
    :param owner: the account the event belongs to, which decides who sees it in
        ``listEvents``: the account acted on; ``None`` for the caller's own.
    :param description: what happened, for people; never a secret.
    """
    record_event(
        session,
        event_type,
        description,
        resource_type=resource_type,
        resource_uuid=resource_uuid,
        account_id=owner.id if owner is not None else ctx.account_id,
        domain_id=owner.domain_id if owner is not None else ctx.domain_id,
        user_id=ctx.user_id,
    )
