"""Who may see, use and change a template or ISO (4.1's ``TemplateManagerImpl`` and
``AccountManagerImpl.checkAccess`` for ``VirtualMachineTemplate``).

- *managing* it (update, delete, permissions, copy): a root admin, its owner, or a
  domain admin whose subtree holds the owner's domain; ``SYSTEM`` templates only a
  root admin;
- *using* it (list, deploy, extract): the same, plus everyone for whom it is
  public, i.e. callers in the owner's domain tree (the owner's domain, its ancestors
  and its subdomains: a public template is "visible to all accounts within the same
  domain"), plus the accounts in its ``launch_permission`` rows;
- *copying* it to another zone (``copyTemplate``/``copyIso``; 4.1 checks
  ``AccessType.ModifyEntry``): a private template by those who manage it and the
  accounts in its ``launch_permission`` rows; a public one by its owner or a root
  admin only, as 4.1 says ("Domain Admin and regular users can modify only their own
  Public templates"). REQ-OM-10: a private template is used in another zone only once
  copied there, and only those may copy it.

The same rules as WHERE clauses serve ``listTemplates`` (:mod:`.listing`).
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, exists, false, or_, select, true
from sqlalchemy.orm import Session

from cumulo.accounts.access import domain_subtree, is_in_subtree
from cumulo.accounts.models import Domain
from cumulo.sdk.api import CallContext, Role
from cumulo.sdk.errors import PermissionDenied
from cumulo.templates.models import LaunchPermission, TemplateType, VMTemplate


def ancestor_paths(path: str) -> list[str]:
    """``/a/b/`` → ``["/", "/a/", "/a/b/"]``: a domain and every domain above it."""
    parts = [part for part in path.split("/") if part]
    return ["/"] + ["/" + "/".join(parts[: i + 1]) + "/" for i in range(len(parts))]


def public_to(ctx: CallContext) -> ColumnElement[bool]:
    """Public templates the caller sees, over ``vm_template`` joined with the owner's
    ``domain`` (``Domain``)."""
    if ctx.is_root_admin:
        return VMTemplate.public.is_(True)
    return and_(
        VMTemplate.public.is_(True),
        or_(Domain.path.in_(ancestor_paths(ctx.domain_path)), domain_subtree(ctx.domain_path)),
    )


def shared_with(ctx: CallContext) -> ColumnElement[bool]:
    """Templates whose launch permissions name the caller's account."""
    return exists(
        select(LaunchPermission.id).where(
            LaunchPermission.template_id == VMTemplate.id,
            LaunchPermission.account_id == ctx.account_id,
        )
    )


def managed_by(ctx: CallContext) -> ColumnElement[bool]:
    """Templates the caller manages, over ``vm_template`` joined with ``domain``."""
    if ctx.is_root_admin:
        return true()
    if ctx.is_domain_admin:
        return domain_subtree(ctx.domain_path)
    if ctx.role == Role.USER:
        return VMTemplate.account_id == ctx.account_id
    return false()


def _owner_path(session: Session, template: VMTemplate) -> str:
    path = session.scalar(select(Domain.path).where(Domain.id == template.domain_id))
    return path or ""


def may_manage(ctx: CallContext, session: Session, template: VMTemplate) -> bool:
    """Whether the caller may change ``template`` (see the module doc)."""
    if ctx.is_root_admin:
        return True
    if template.template_type == TemplateType.SYSTEM.value:
        return False
    if template.account_id == ctx.account_id:
        return True
    return ctx.is_domain_admin and is_in_subtree(_owner_path(session, template), ctx.domain_path)


def may_use(ctx: CallContext, session: Session, template: VMTemplate) -> bool:
    """Whether the caller may see and use ``template`` (see the module doc)."""
    if may_manage(ctx, session, template):
        return True
    if template.public:
        owner_path = _owner_path(session, template)
        if owner_path in ancestor_paths(ctx.domain_path) or is_in_subtree(
            owner_path, ctx.domain_path
        ):
            return True
    return _launch_permitted(ctx, session, template)


def _launch_permitted(ctx: CallContext, session: Session, template: VMTemplate) -> bool:
    granted = session.scalar(
        select(LaunchPermission.id).where(
            LaunchPermission.template_id == template.id,
            LaunchPermission.account_id == ctx.account_id,
        )
    )
    return granted is not None


def may_copy(ctx: CallContext, session: Session, template: VMTemplate) -> bool:
    """Whether the caller may copy ``template`` to another zone (see the module doc)."""
    if template.public:
        return ctx.is_root_admin or template.account_id == ctx.account_id
    return may_manage(ctx, session, template) or _launch_permitted(ctx, session, template)


def check_manage(ctx: CallContext, session: Session, template: VMTemplate) -> None:
    """:func:`may_manage` or 531."""
    if not may_manage(ctx, session, template):
        raise PermissionDenied(
            f"Account {ctx.account_name} does not have permission to operate on"
            f" {'ISO' if template.format == 'ISO' else 'template'} {template.uuid}"
        )
