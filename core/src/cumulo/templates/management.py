"""Changing templates and ISOs: update, permissions, delete (4.1's
``TemplateManagerImpl``/``ManagementServerImpl`` rules).

Every function works in the caller's transaction, checks that the caller manages the
template (:func:`cumulo.templates.access.check_manage`) and commits nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from cumulo.accounts.lookup import active_account_by_name
from cumulo.accounts.models import Account, Domain
from cumulo.db.base import utcnow
from cumulo.infra.hosts.models import Host
from cumulo.limits import service as limits
from cumulo.limits.types import ResourceType
from cumulo.sdk.api import CallContext
from cumulo.sdk.errors import CloudError, InvalidParameterValue, PermissionDenied
from cumulo.sdk.storage import StorageError, StoreRef
from cumulo.templates.access import check_manage
from cumulo.templates.download import zone_store
from cumulo.templates.models import (
    LaunchPermission,
    TemplateState,
    TemplateType,
    TemplateZoneRef,
    VMTemplate,
)
from cumulo.templates.oslookup import find_guest_os
from cumulo.templates.registration import FORMATS

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Update:
    """``updateTemplate``/``updateIso`` values (``None``: unchanged)."""

    name: str | None = None
    display_text: str | None = None
    os_type: str | None = None
    format: str | None = None
    password_enabled: bool | None = None
    bootable: bool | None = None
    sort_key: int | None = None


def update_template(
    session: Session, ctx: CallContext, template: VMTemplate, change: Update
) -> VMTemplate:
    """Apply ``change``.

    :raises InvalidParameterValue: an unknown OS type or format, a blank name (431).
    :raises PermissionDenied: not the caller's to change (531).
    """
    check_manage(ctx, session, template)
    if change.name is not None:
        if not change.name.strip():
            raise InvalidParameterValue("name: must not be blank")
        template.name = change.name
    if change.display_text is not None:
        template.display_text = change.display_text
    if change.os_type is not None:
        template.guest_os_id = find_guest_os(session, change.os_type, "ostypeid").id
    if change.format is not None:
        if template.format == "ISO" or change.format.upper() not in FORMATS:
            raise InvalidParameterValue(f"format: {change.format} cannot be set here")
        template.format = change.format.upper()
    if change.password_enabled is not None and template.format != "ISO":
        template.password_enabled = change.password_enabled
    if change.bootable is not None:
        template.bootable = change.bootable
    if change.sort_key is not None:
        template.sort_key = change.sort_key
    session.flush()
    return template


@dataclass(frozen=True)
class PermissionChange:
    """``updateTemplatePermissions`` values (``None``: unchanged)."""

    accounts: Sequence[str] = ()
    op: str | None = None
    public: bool | None = None
    featured: bool | None = None
    extractable: bool | None = None


def update_permissions(
    session: Session, ctx: CallContext, template: VMTemplate, change: PermissionChange
) -> None:
    """Change visibility and launch permissions (4.1's
    ``TemplateManagerImpl.updateTemplateOrIsoPermissions``).

    ``op`` ``add``/``remove`` grant or revoke launch to accounts of the owner's domain
    (by name); ``reset`` revokes every grant. ``isextractable`` is root admins' only;
    featuring needs an admin.

    :raises InvalidParameterValue: ``accounts`` without ``op`` or the reverse, an
        unknown ``op`` or account, a public template given accounts (431).
    :raises PermissionDenied: not the caller's, or a right the caller lacks (531).
    """
    check_manage(ctx, session, template)
    if template.template_type == TemplateType.SYSTEM.value:
        raise PermissionDenied("permissions of system templates cannot be changed")
    op = change.op.lower() if change.op else None
    if op not in (None, "add", "remove", "reset"):
        raise InvalidParameterValue(f"op: {change.op} is not one of add, remove, reset")
    if change.accounts and op is None:
        raise InvalidParameterValue("op: required when accounts are given")
    if op in ("add", "remove") and not change.accounts:
        raise InvalidParameterValue(f"accounts: required for op={op}")
    if change.featured and not (ctx.is_root_admin or ctx.is_domain_admin):
        raise PermissionDenied("Only admins may feature templates and ISOs")
    if change.extractable is not None and not ctx.is_root_admin:
        raise PermissionDenied("Only root admins may change whether a template is extractable")
    if change.public is not None:
        template.public = change.public
    if change.featured is not None:
        template.featured = change.featured
    if change.extractable is not None:
        template.extractable = change.extractable
    if op == "reset":
        session.execute(delete(LaunchPermission).where(LaunchPermission.template_id == template.id))
    elif op is not None:
        if template.public:
            raise InvalidParameterValue(
                "accounts: a public template or ISO is visible to everyone; launch"
                " permissions are for private ones"
            )
        ids = _account_ids(session, template, change.accounts)
        if op == "add":
            granted = set(
                session.scalars(
                    select(LaunchPermission.account_id).where(
                        LaunchPermission.template_id == template.id
                    )
                )
            )
            session.add_all(
                LaunchPermission(template_id=template.id, account_id=account_id)
                for account_id in ids
                if account_id not in granted and account_id != template.account_id
            )
        else:
            session.execute(
                delete(LaunchPermission).where(
                    LaunchPermission.template_id == template.id,
                    LaunchPermission.account_id.in_(ids),
                )
            )
    session.flush()


def _account_ids(session: Session, template: VMTemplate, names: Sequence[str]) -> list[int]:
    # 4.1 looks the names up in the template owner's domain.
    ids = []
    for name in dict.fromkeys(n.strip() for n in names if n.strip()):
        account = active_account_by_name(session, name, template.domain_id)
        if account is None:
            raise InvalidParameterValue(
                f"accounts: unable to find account {name} in the domain of the template owner"
            )
        ids.append(account.id)
    return ids


def permissions(session: Session, template: VMTemplate) -> tuple[str, list[str]]:
    """``(owner domain uuid, names of the accounts granted launch)``, one statement."""
    rows = session.execute(
        select(Domain.uuid, Account.account_name)
        .select_from(Domain)
        .outerjoin(LaunchPermission, LaunchPermission.template_id == template.id)
        .outerjoin(Account, Account.id == LaunchPermission.account_id)
        .where(Domain.id == template.domain_id)
        .order_by(Account.account_name)
    ).all()
    domain_uuid = rows[0][0] if rows else ""
    return domain_uuid, [name for _, name in rows if name is not None]


def delete_template(
    session: Session, ctx: CallContext, template: VMTemplate, zone_id: int | None
) -> bool:
    """Delete the template from one zone, or every zone; once no zone holds it, it is
    removed and its count released. Objects on the stores are deleted through the
    drivers (a store that fails is logged: the row goes anyway, as in 4.1).

    :return: ``True`` when the template is now removed everywhere.
    :raises InvalidParameterValue: the template is not registered in ``zone_id``.
    :raises PermissionDenied: not the caller's, or a system template (531).
    """
    check_manage(ctx, session, template)
    if template.template_type == TemplateType.SYSTEM.value:
        raise PermissionDenied("system VM templates cannot be deleted")
    stmt = select(TemplateZoneRef).where(TemplateZoneRef.template_id == template.id)
    if zone_id is not None:
        stmt = stmt.where(TemplateZoneRef.zone_id == zone_id)
    refs = list(session.scalars(stmt))
    if zone_id is not None and not refs:
        raise InvalidParameterValue("zoneid: the template is not registered in that zone")
    for ref in refs:
        if ref.store_id is not None and ref.install_path:
            _delete_object(session, ref)
        session.delete(ref)
    session.flush()
    left = session.scalar(
        select(TemplateZoneRef.id).where(TemplateZoneRef.template_id == template.id).limit(1)
    )
    if left is not None:
        return False
    template.removed = utcnow()
    template.state = TemplateState.INACTIVE.value
    session.execute(delete(LaunchPermission).where(LaunchPermission.template_id == template.id))
    limits.release(session, template.account_id, ResourceType.TEMPLATE)
    session.flush()
    return True


def _delete_object(session: Session, ref: TemplateZoneRef) -> None:
    host = session.get(Host, ref.store_id)
    if host is None or ref.install_path is None:
        return
    try:
        store = zone_store(session, ref.zone_id)
        driver = store.driver
        driver.delete_object(StoreRef(host.uuid, host.url or host.name), ref.install_path)
    except (StorageError, CloudError) as exc:  # the row goes regardless (4.1)
        log.warning("could not delete %s from store %s: %s", ref.install_path, host.url, exc)
