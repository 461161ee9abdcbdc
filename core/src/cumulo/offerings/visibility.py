"""Which offerings a caller may see and use: CloudStack 4.1's domain scoping of offerings.

An offering with no domain is public. A domain-scoped offering is for that domain and
the domains below it, so a caller sees it when the offering's domain is the caller's
domain or one of its ancestors (4.1's ``searchForServiceOfferings``/``DiskOfferings``
walk up the caller's domain tree). On top of that:

- a root admin sees every offering;
- a domain (or resource) admin also sees the offerings of the domains it administers,
  its subtree, so that it can list and use what it offers to its sub-domains.

The same rule serves the list commands (:mod:`.listing`, as a WHERE clause over the
offering's domain row) and the lookups other areas use when deploying
(:mod:`.lookup`, in Python over the row fetched by the same statement).
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, or_, true
from sqlalchemy.orm import InstrumentedAttribute

from cumulo.accounts.access import domain_subtree, is_in_subtree
from cumulo.accounts.models import Domain
from cumulo.sdk.api import CallContext
from cumulo.sdk.errors import PermissionDenied


def ancestor_paths(domain_path: str) -> list[str]:
    """The paths of a domain and of all its ancestors, ROOT first.

    ``/Sales/EMEA/`` gives ``["/", "/Sales/", "/Sales/EMEA/"]``. Domain names never
    contain ``/`` (:mod:`cumulo.accounts.domains` refuses them), so splitting the path
    cannot invent an ancestor.
    """
    parts = [part for part in domain_path.split("/") if part]
    return ["/" + "".join(f"{part}/" for part in parts[:depth]) for depth in range(len(parts) + 1)]


def may_see(ctx: CallContext, domain_path: str | None) -> bool:
    """Whether the caller sees an offering whose domain has ``domain_path`` (``None``:
    public)."""
    if domain_path is None or ctx.is_root_admin:
        return True
    if is_in_subtree(ctx.domain_path, domain_path):  # the offering's domain is above us
        return True
    return ctx.is_domain_admin and is_in_subtree(domain_path, ctx.domain_path)


def visible_clause(
    ctx: CallContext, domain_id: InstrumentedAttribute[int | None]
) -> ColumnElement[bool]:
    """:func:`may_see` as a WHERE clause; ``domain_id`` is the offering's column and the
    statement must outer-join :class:`Domain` on it."""
    if ctx.is_root_admin:
        return true()
    clauses: list[ColumnElement[bool]] = [
        domain_id.is_(None),
        Domain.path.in_(ancestor_paths(ctx.domain_path)),
    ]
    if ctx.is_domain_admin:
        clauses.append(domain_subtree(ctx.domain_path))
    return or_(*clauses)


def check_domain_filter(ctx: CallContext, domain: Domain) -> None:
    """Allow a list's ``domainid`` when the caller may see offerings of that domain.

    :raises PermissionDenied: the domain is removed, or neither above the caller's
        domain nor (for admins) below it (531).
    """
    if domain.removed is not None:
        raise PermissionDenied("Domain is not found.")
    if not may_see(ctx, domain.path):
        raise PermissionDenied(
            f"Account {ctx.account_name} does not have permission to list the offerings"
            f" of domain id={domain.uuid}"
        )
