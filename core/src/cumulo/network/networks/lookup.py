"""Finding the guest network an API parameter names, and who may act on or use it.

Two kinds of access, as 4.1 distinguishes them (``AccountManagerImpl.checkAccess`` and
``NetworkModelImpl.checkNetworkPermissions``):

- **acting** on a network (update, restart, delete, list it by id): an ``Account``
  network is its owner's (and its owner's admins'); a ``Domain`` network is its domain's
  admins' — a user cannot change a network shared with its domain;
- **using** a network (deploying a VM into it, associating an address to it): an
  ``Account`` network only by its owner account; a ``Domain`` network by every account
  of that domain, and of its sub-domains when ``subdomain_access`` is set.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from cumulo.accounts.access import check_domain_access, check_owner_access, is_in_subtree
from cumulo.accounts.lookup import invalid_id
from cumulo.accounts.models import Account, Domain
from cumulo.network.networks.models import AclType, Network
from cumulo.sdk.api import CallContext, Role
from cumulo.sdk.errors import PermissionDenied


@dataclass(frozen=True)
class OwnerDomain:
    """A domain's columns read with a resource (a ``DomainRef``)."""

    id: int
    uuid: str
    path: str
    removed: dt.datetime | None


@dataclass(frozen=True)
class FoundNetwork:
    """A network with its owner's public id and domain (read in one statement)."""

    network: Network
    account_uuid: str
    account_name: str
    domain: OwnerDomain


def by_id(value: object, param: str) -> ColumnElement[bool]:
    """``networks`` row named by a UUID or (as every 4.1 lookup) an internal id."""
    text = str(value).strip()
    if isinstance(value, int) or text.isdecimal():
        number = int(text)
        if not 0 < number < 2**63:
            raise invalid_id(param, value)
        return Network.id == number
    return Network.uuid == text


def load_network(session: Session, value: object, param: str = "id") -> FoundNetwork:
    """The live network ``value`` names, unchecked (431 naming ``param`` if none)."""
    row = session.execute(
        select(
            Network,
            Account.uuid,
            Account.account_name,
            Domain.id,
            Domain.uuid,
            Domain.path,
            Domain.removed,
        )
        .join(Account, Account.id == Network.account_id)
        .join(Domain, Domain.id == Network.domain_id)
        .where(by_id(value, param), Network.removed.is_(None))
    ).first()
    if row is None:
        raise invalid_id(param, value)
    network, account_uuid, account_name, domain_id, domain_uuid, path, removed = row
    return FoundNetwork(
        network, account_uuid, account_name, OwnerDomain(domain_id, domain_uuid, path, removed)
    )


def check_network_access(ctx: CallContext, found: FoundNetwork) -> None:
    """Allow the caller to act on the network, else 531 (module doc)."""
    network = found.network
    if network.acl_type == AclType.DOMAIN.value:
        if ctx.is_root_admin:
            return
        if ctx.role == Role.USER:
            raise PermissionDenied(
                f"Account {ctx.account_name} does not have permission to operate on the"
                f" domain-wide network {network.uuid}"
            )
        check_domain_access(ctx, found.domain)
        return
    check_owner_access(ctx, network.account_id, found.account_uuid, found.domain)


def find_network(
    session: Session, ctx: CallContext, value: object, param: str = "id"
) -> FoundNetwork:
    """The live network ``value`` names, if the caller may act on it.

    :raises InvalidParameterValue: no such network (431 naming ``param``).
    :raises PermissionDenied: not the caller's to act on (531).
    """
    found = load_network(session, value, param)
    check_network_access(ctx, found)
    return found


def can_use(
    network: Network,
    network_domain_path: str,
    *,
    account_id: int,
    account_domain_id: int,
    account_domain_path: str,
) -> bool:
    """Whether the account may use the network (module doc)."""
    if network.acl_type != AclType.DOMAIN.value:
        return network.account_id == account_id
    if account_domain_id == network.domain_id:
        return True
    return bool(network.subdomain_access) and is_in_subtree(
        account_domain_path, network_domain_path
    )


def check_network_use(
    found: FoundNetwork,
    *,
    account_id: int,
    account_name: str,
    account_domain_id: int,
    account_domain_path: str,
    param: str = "networkids",
) -> None:
    """Allow the account to use the network, else 531 naming ``param``."""
    if not can_use(
        found.network,
        found.domain.path,
        account_id=account_id,
        account_domain_id=account_domain_id,
        account_domain_path=account_domain_path,
    ):
        raise PermissionDenied(
            f"{param}: account {account_name} does not have permission to use network"
            f" {found.network.uuid}"
        )
