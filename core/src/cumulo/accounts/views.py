"""Response views: domains, accounts and users as CloudStack 4.1 answers them.

Field names and order are those of 4.1's ``DomainResponse``, ``AccountResponse`` and
``UserResponse`` (response-fields-4.1.tsv; CS41: server/src/com/cloud/api/query/dao/
AccountJoinDaoImpl.java, UserAccountJoinDaoImpl.java, ApiResponseHelper
.createDomainResponse). ``None`` values are left out of the answer, as gson does.

Views are pure: they read rows the services already loaded and never query, so a list
page costs the same statements whatever it holds. Secrets are never decided here: the
caller of :func:`user_fields` passes the secret key only when the reader may see it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Protocol

from cumulo.accounts.models import Domain
from cumulo.sdk.api import Fields

# What the account and user views read. ORM objects qualify, and so do Core rows of the
# same tables (their columns carry the same names): hot list paths read those, as
# building ORM objects per row costs several times the CPU of the rows themselves.


class DomainLike(Protocol):
    """The domain columns an account or user view shows."""

    @property
    def uuid(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def path(self) -> str: ...


class AccountLike(Protocol):
    """The ``account`` columns an account or user view shows."""

    @property
    def id(self) -> int: ...

    @property
    def uuid(self) -> str: ...

    @property
    def account_name(self) -> str: ...

    @property
    def type(self) -> int: ...

    @property
    def state(self) -> str: ...

    @property
    def cleanup_needed(self) -> bool: ...

    @property
    def network_domain(self) -> str | None: ...


class UserLike(Protocol):
    """The ``user`` columns a user view shows (``secret_key`` as stored)."""

    @property
    def id(self) -> int: ...

    @property
    def uuid(self) -> str: ...

    @property
    def username(self) -> str: ...

    @property
    def firstname(self) -> str | None: ...

    @property
    def lastname(self) -> str | None: ...

    @property
    def email(self) -> str | None: ...

    @property
    def created(self) -> dt.datetime: ...

    @property
    def state(self) -> str: ...

    @property
    def timezone(self) -> str | None: ...

    @property
    def api_key(self) -> str | None: ...

    @property
    def secret_key(self) -> str | None: ...


UNLIMITED = "Unlimited"
"""What 4.1 shows for a resource limit (and its availability) that is not set."""

# The resource-limit blocks of AccountResponse, in 4.1's field order: three fields each
# (limit, total, available); vmstopped and vmrunning sit between the two groups.
_LIMITED_BEFORE_VM_STATES = ("vm", "ip", "volume", "snapshot", "template")
_LIMITED_AFTER_VM_STATES = ("project", "network", "vpc")
_LIMIT_PARTS = ("limit", "total", "available")

DOMAIN_FIELDS = (
    "id",
    "name",
    "level",
    "parentdomainid",
    "parentdomainname",
    "haschild",
    "networkdomain",
    "path",
)
USER_FIELDS = (
    "id",
    "username",
    "firstname",
    "lastname",
    "email",
    "created",
    "state",
    "account",
    "accounttype",
    "domainid",
    "domain",
    "timezone",
    "apikey",
    "secretkey",
    "accountid",
    "iscallerchilddomain",
)
ACCOUNT_FIELDS = (
    "id",
    "name",
    "accounttype",
    "domainid",
    "domain",
    "defaultzoneid",
    "receivedbytes",
    "sentbytes",
    *(f"{kind}{part}" for kind in _LIMITED_BEFORE_VM_STATES for part in _LIMIT_PARTS),
    "vmstopped",
    "vmrunning",
    *(f"{kind}{part}" for kind in _LIMITED_AFTER_VM_STATES for part in _LIMIT_PARTS),
    "state",
    "iscleanuprequired",
    "user",
    "networkdomain",
    "accountdetails",
)
REGISTER_FIELDS = ("apikey", "secretkey")


def display_path(path: str) -> str:
    """A domain path as 4.1 shows it: ``/`` is ``ROOT``, ``/Sales/EMEA/`` is
    ``ROOT/Sales/EMEA`` (``"ROOT" + path`` without the trailing slash)."""
    return ("ROOT" + path)[:-1]


def domain_fields(domain: Domain, parent: Domain | None) -> Fields:
    """A ``DomainResponse``.

    :param parent: the parent domain (``None`` for ROOT): its id and name are shown.
    """
    return {
        "id": domain.uuid,
        "name": domain.name,
        "level": domain.level,
        "parentdomainid": parent.uuid if parent is not None else None,
        "parentdomainname": parent.name if parent is not None else None,
        # A primitive boolean in 4.1, hence always present.
        "haschild": domain.child_count > 0,
        "networkdomain": domain.network_domain,
        "path": display_path(domain.path),
    }


def user_fields(
    user: UserLike,
    account: AccountLike,
    domain: DomainLike,
    *,
    caller_domain_path: str,
    secret_key: str | None,
) -> Fields:
    """A ``UserResponse``.

    :param domain: the domain of the user's account.
    :param caller_domain_path: the caller's domain path: ``iscallerchilddomain`` says
        whether the user's domain lies in the caller's subtree.
    :param secret_key: the plain secret key, given only when the reader is the user
        itself or a root admin; ``None`` leaves the field out.
    """
    return {
        "id": user.uuid,
        "username": user.username,
        "firstname": user.firstname,
        "lastname": user.lastname,
        "email": user.email,
        "created": user.created,
        "state": user.state,
        "account": account.account_name,
        "accounttype": account.type,
        "domainid": domain.uuid,
        "domain": domain.name,
        "timezone": user.timezone,
        "apikey": user.api_key,
        "secretkey": secret_key,
        "accountid": account.uuid,
        "iscallerchilddomain": domain.path.startswith(caller_domain_path),
    }


def account_fields(
    account: AccountLike,
    domain: DomainLike,
    users: Sequence[Fields],
    details: Mapping[str, str] | None,
    default_zone_uuid: str | None = None,
) -> Fields:
    """An ``AccountResponse`` with its nested ``user`` list.

    Resource limits do not exist yet: every limit and availability is ``"Unlimited"``
    and every total 0, as 4.1 shows an account without limits or resources.

    :param users: the account's users, already rendered by :func:`user_fields`.
    :param details: the ``accountdetails`` map; empty or ``None`` leaves it out (4.1's
        ``ApiDBUtils.getAccountDetails`` gives null for none).
    :param default_zone_uuid: the public id of the account's default zone, if marked.
    """
    fields: Fields = {
        "id": account.uuid,
        "name": account.account_name,
        "accounttype": account.type,
        "domainid": domain.uuid,
        "domain": domain.name,
        "defaultzoneid": default_zone_uuid,
        "receivedbytes": 0,
        "sentbytes": 0,
    }
    for kind in _LIMITED_BEFORE_VM_STATES:
        fields.update(_unlimited(kind))
    fields["vmstopped"] = 0
    fields["vmrunning"] = 0
    for kind in _LIMITED_AFTER_VM_STATES:
        fields.update(_unlimited(kind))
    fields["state"] = account.state
    fields["iscleanuprequired"] = account.cleanup_needed
    fields["user"] = list(users)
    fields["networkdomain"] = account.network_domain
    fields["accountdetails"] = dict(details) if details else None
    return fields


def _unlimited(kind: str) -> Fields:
    return {f"{kind}limit": UNLIMITED, f"{kind}total": 0, f"{kind}available": UNLIMITED}


def register_fields(api_key: str, secret_key: str) -> Fields:
    """A ``RegisterResponse`` (``userkeys``): the new key pair, for its owner only."""
    return {"apikey": api_key, "secretkey": secret_key}
