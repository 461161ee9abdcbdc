"""Domains: the tree accounts live in (create, rename, delete, list).

CloudStack 4.1's rules (CS41: server/src/com/cloud/user/DomainManagerImpl.java and
server/src/com/cloud/domain/dao/DomainDaoImpl.java): a domain's ``path`` is its
parent's path plus its name and a slash, names are unique among siblings and may not
contain ``/``, ROOT can neither be renamed nor deleted, and a domain with accounts or
subdomains is deleted only with ``cleanup=true``, which removes the whole subtree.
Removal is soft (``removed`` is set), as CloudStack keeps the rows for history.

Every function works in the caller's transaction and never commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import ColumnElement, Select, select, update
from sqlalchemy.orm import Session, aliased

from cumulo.accounts import audit
from cumulo.accounts.access import check_domain_access, domain_subtree
from cumulo.accounts.lookup import parse_public_id
from cumulo.accounts.models import Account, Domain, DomainState, User
from cumulo.accounts.validation import check_network_domain, optional_network_domain
from cumulo.db.base import utcnow
from cumulo.db.listing import fetch_page
from cumulo.keypairs.cleanup import delete_key_pairs_of
from cumulo.sdk.api import CallContext
from cumulo.sdk.errors import InvalidParameterValue, PermissionDenied, ResourceInUse

PATH_LENGTH = 255
"""``domain.path`` is VARCHAR(255): the deepest paths a tree may have."""

DomainRow = tuple[Domain, Domain | None]
"""A domain and its parent (``None`` for ROOT), what a ``DomainResponse`` needs."""

_Parent = aliased(Domain, name="parent_domain")


def root_domain(session: Session) -> Domain:
    """The ROOT domain (no parent, path ``/``)."""
    return session.scalars(select(Domain).where(Domain.parent.is_(None))).one()


def parent_of(session: Session, domain: Domain) -> Domain | None:
    """The parent of ``domain``, ``None`` for ROOT."""
    return None if domain.parent is None else session.get(Domain, domain.parent)


def create_domain(
    ctx: CallContext,
    session: Session,
    *,
    name: str,
    parent: Domain | None = None,
    network_domain: str | None = None,
    uuid: str | None = None,
) -> Domain:
    """Create the domain ``name`` below ``parent`` (ROOT when ``None``).

    :param uuid: the public id to give it (``domainid``: a domain copied from another
        region keeps its id); a fresh one when ``None``.
    :raises InvalidParameterValue: bad name, network domain or id; a sibling already has
        the name; the path would be too long; the parent was deleted.
    :raises PermissionDenied: the parent lies outside the caller's subtree.
    """
    if parent is None:
        parent = root_domain(session)
    if parent.removed is not None or parent.state != DomainState.ACTIVE:
        raise InvalidParameterValue(
            f"Unable to create domain {name}, parent domain {parent.uuid} not found."
        )
    check_domain_access(ctx, parent)
    _check_name(name)
    if network_domain is not None:
        check_network_domain(network_domain)
    if _sibling_named(session, parent.id, name) is not None:
        raise InvalidParameterValue(
            f"Domain with name {name} already exists for the parent id={parent.uuid}"
        )
    path = _check_path(f"{parent.path}{name}/")
    domain = Domain(
        name=name,
        parent=parent.id,
        owner=ctx.account_id,
        path=path,
        level=parent.level + 1,
        network_domain=network_domain,
        state=DomainState.ACTIVE.value,
    )
    if uuid is not None:
        domain.uuid = _unused_uuid(session, uuid)
    session.add(domain)
    # In SQL, so two domains created side by side under one parent both count.
    session.execute(
        update(Domain)
        .where(Domain.id == parent.id)
        .values(child_count=Domain.child_count + 1, next_child_seq=Domain.next_child_seq + 1)
    )
    session.flush()
    audit.record(
        session,
        ctx,
        audit.DOMAIN_CREATE,
        f"Successfully completed creating Domain. Domain Name: {name}",
        resource_type="Domain",
        resource_uuid=domain.uuid,
    )
    return domain


def update_domain(
    ctx: CallContext,
    session: Session,
    domain: Domain,
    *,
    name: str | None = None,
    network_domain: str | None = None,
) -> Domain:
    """Rename ``domain`` (its subdomains' paths follow) and/or set its network domain.

    :param network_domain: ``""`` clears it, ``None`` keeps it.
    :raises InvalidParameterValue: the domain was deleted; ROOT cannot be renamed; bad
        or taken name; bad network domain.
    :raises PermissionDenied: outside the caller's subtree.
    """
    if domain.removed is not None:
        raise InvalidParameterValue("Unable to find domain with specified domain id")
    if domain.parent is None and name is not None:
        raise InvalidParameterValue("ROOT domain can not be edited with a new name")
    check_domain_access(ctx, domain)
    optional_network_domain(network_domain)
    if name is not None and name != domain.name:
        _check_name(name)
        assert domain.parent is not None  # ROOT was refused above
        other = _sibling_named(session, domain.parent, name)
        if other is not None and other.id != domain.id:
            raise InvalidParameterValue(
                f"Failed to update specified domain id with name '{name}' since it already"
                " exists in the system"
            )
        _rename(session, domain, name)
    if network_domain is not None:
        domain.network_domain = network_domain or None
    session.flush()
    audit.record(
        session,
        ctx,
        audit.DOMAIN_UPDATE,
        f"Successfully completed updating Domain. Domain Id: {domain.uuid}",
        resource_type="Domain",
        resource_uuid=domain.uuid,
    )
    return domain


def delete_domain(ctx: CallContext, session: Session, domain: Domain, *, cleanup: bool) -> None:
    """Delete ``domain``; with ``cleanup`` its subdomains, accounts and users too (and
    the accounts' SSH key pairs).

    Without ``cleanup`` a domain that still has accounts or subdomains is refused.

    :raises InvalidParameterValue: the domain was already deleted.
    :raises PermissionDenied: ROOT, or outside the caller's subtree.
    :raises ResourceInUse: accounts or subdomains remain and ``cleanup`` is false.
    """
    if domain.removed is not None:
        raise InvalidParameterValue(f"Failed to delete domain {domain.uuid}, domain not found")
    if domain.parent is None:
        raise PermissionDenied("Can't delete ROOT domain")
    check_domain_access(ctx, domain)
    subtree = domain_subtree(domain.path)
    if not cleanup and _in_use(session, domain):
        # 4.1 answers 530 (a CloudRuntimeException); the text is 4.1's.
        raise ResourceInUse(
            f"Delete failed on domain {domain.name} (id: {domain.uuid}); Please make sure all"
            " users and sub domains have been removed from the domain before deleting"
        )
    now = utcnow()
    in_subtree = Account.domain_id.in_(select(Domain.id).where(subtree, Domain.removed.is_(None)))
    live_accounts = select(Account.id).where(Account.removed.is_(None), in_subtree)
    # Set-based: five statements whatever the size of the subtree. MySQL refuses a
    # subquery on the table being updated, hence no "id IN (SELECT id FROM account ...)".
    delete_key_pairs_of(session, live_accounts)
    session.execute(
        update(User)
        .where(User.removed.is_(None), User.account_id.in_(live_accounts))
        .values(removed=now)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(Account)
        .where(Account.removed.is_(None), in_subtree)
        .values(removed=now)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(Domain)
        .where(subtree, Domain.removed.is_(None))
        .values(removed=now, state=DomainState.INACTIVE.value)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(Domain)
        .where(Domain.id == domain.parent)
        .values(child_count=Domain.child_count - 1)
        .execution_options(synchronize_session=False)
    )
    # Rows of the tree already loaded in this session are stale now; the statements
    # above flushed any pending change first, so expiring them loses nothing.
    for loaded in list(session.identity_map.values()):
        if isinstance(loaded, Domain | Account | User):
            session.expire(loaded)
    audit.record(
        session,
        ctx,
        audit.DOMAIN_DELETE,
        f"Successfully completed deleting Domain. Domain Id: {domain.uuid}",
        resource_type="Domain",
        resource_uuid=domain.uuid,
    )


def list_domains(
    ctx: CallContext,
    session: Session,
    *,
    domain: Domain | None = None,
    level: int | None = None,
    name: str | None = None,
    keyword: str | None = None,
    listall: bool = False,
    page: int | None = None,
    pagesize: int | None = None,
    max_page_size: int,
) -> tuple[list[DomainRow], int]:
    """``listDomains``: one page of active domains and the total count, one statement.

    CS41 ``searchForDomains``: with ``domain`` (``id``) that domain only; else a root
    admin lists every domain, another admin its own domain, or its subtree with
    ``listall``.

    :raises PermissionDenied: ``domain`` lies outside the caller's subtree.
    """
    conditions: list[ColumnElement[bool]] = []
    if domain is not None:
        check_domain_access(ctx, domain)
        conditions.append(Domain.id == domain.id)
    elif not ctx.is_root_admin:
        conditions.append(
            domain_subtree(ctx.domain_path) if listall else Domain.id == ctx.domain_id
        )
    if level is not None:
        conditions.append(Domain.level == level)
    if name is not None:
        conditions.append(Domain.name == name)
    if keyword is not None:
        conditions.append(Domain.name.contains(keyword, autoescape=True))
    return _page(session, conditions, page, pagesize, max_page_size)


def list_domain_children(
    ctx: CallContext,
    session: Session,
    *,
    domain: Domain | None = None,
    name: str | None = None,
    keyword: str | None = None,
    isrecursive: bool = False,
    listall: bool = False,
    page: int | None = None,
    pagesize: int | None = None,
    max_page_size: int,
) -> tuple[list[DomainRow], int]:
    """``listDomainChildren``: the subdomains of ``domain`` (the caller's by default).

    CS41 ``searchForDomainChildren``: the direct children, or with ``isrecursive`` (and,
    as 4.1 has it, without ``listall``) every domain below it; ``name`` matches part of
    the name.

    :raises PermissionDenied: ``domain`` lies outside the caller's subtree.
    """
    if domain is not None:
        check_domain_access(ctx, domain)
    else:
        domain = session.get(Domain, ctx.domain_id)
        assert domain is not None
    conditions: list[ColumnElement[bool]] = []
    if isrecursive and not listall:
        conditions += [domain_subtree(domain.path), Domain.id != domain.id]
    else:
        conditions.append(Domain.parent == domain.id)
    if name is not None:
        conditions.append(Domain.name.contains(name, autoescape=True))
    if keyword is not None:
        conditions.append(Domain.name.contains(keyword, autoescape=True))
    return _page(session, conditions, page, pagesize, max_page_size)


def _page(
    session: Session,
    conditions: Sequence[ColumnElement[bool]],
    page: int | None,
    pagesize: int | None,
    max_page_size: int,
) -> tuple[list[DomainRow], int]:
    stmt = (
        select(Domain, _Parent)
        .outerjoin(_Parent, Domain.parent == _Parent.id)
        .where(Domain.removed.is_(None), Domain.state == DomainState.ACTIVE.value, *conditions)
        .order_by(Domain.id)
    )
    rows, total = fetch_page(
        # fetch_page takes a select of any columns; its hint says one.
        session,
        cast("Select[Any]", stmt),
        page=page,
        pagesize=pagesize,
        max_page_size=max_page_size,
    )
    return [(row[0], row[1]) for row in rows], total


def _check_name(name: str) -> None:
    if not name.strip():
        raise InvalidParameterValue("Domain name is empty. Please specify a valid domain name.")
    if "/" in name:
        raise InvalidParameterValue(
            "Domain name contains one or more invalid characters.  Please enter a name"
            " without '/' characters."
        )


def _check_path(path: str) -> str:
    if len(path) > PATH_LENGTH:
        raise InvalidParameterValue(
            f"Domain path {path} is longer than {PATH_LENGTH} characters; choose a shorter name"
        )
    return path


def _sibling_named(session: Session, parent_id: int, name: str) -> Domain | None:
    return session.scalars(
        select(Domain).where(
            Domain.parent == parent_id, Domain.name == name, Domain.removed.is_(None)
        )
    ).first()


def _unused_uuid(session: Session, uuid: str) -> str:
    parse_public_id(uuid, "domainid")
    if session.scalar(select(Domain.id).where(Domain.uuid == uuid)) is not None:
        raise InvalidParameterValue(f"A domain with id {uuid} already exists")
    return uuid


def _in_use(session: Session, domain: Domain) -> bool:
    account = select(Account.id).where(Account.domain_id == domain.id, Account.removed.is_(None))
    child = select(Domain.id).where(Domain.parent == domain.id, Domain.removed.is_(None))
    return session.scalar(select(account.exists() | child.exists())) is True


def _rename(session: Session, domain: Domain, name: str) -> None:
    """Give ``domain`` a new name and rewrite the paths of its whole subtree."""
    old_path = domain.path
    new_path = _check_path(old_path[: old_path.rstrip("/").rfind("/") + 1] + name + "/")
    below = session.scalars(
        select(Domain).where(domain_subtree(old_path), Domain.id != domain.id)
    ).all()
    for child in below:
        child.path = _check_path(new_path + child.path[len(old_path) :])
    domain.name = name
    domain.path = new_path
