"""``registerTemplate`` and ``registerIso``: the row, its zones, its limit, its download.

Registering stores the template (``vm_template``), one ``template_zone_ref`` per zone
(every zone for ``zoneid=-1``, 4.1's cross-zone templates), counts it against the
owner's ``template`` limit (resource type 4) and returns at once; the download to each
zone's secondary storage runs afterwards as an async job per zone
(:mod:`cumulo.templates.download`), so the answer shows no status yet and
``listTemplates`` then shows ``n% Downloaded`` and finally ``Download Complete``.

4.1 rules kept: the URL ends in the format's extension, ``isfeatured`` and
``extractable`` public templates need an admin, ``ispublic`` for users only while
``allow.public.user.templates`` is true, ``account`` needs ``domainid``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from cumulo.accounts.access import check_account_access, check_domain_access
from cumulo.accounts.lookup import active_account_by_name, find_domain
from cumulo.accounts.models import Account
from cumulo.db.base import new_uuid, utcnow
from cumulo.infra.models import Zone
from cumulo.limits import service as limits
from cumulo.limits.types import ResourceType
from cumulo.sdk.api import CallContext
from cumulo.sdk.errors import InvalidParameterValue, PermissionDenied
from cumulo.sdk.storage import IpAddress
from cumulo.templates import sources
from cumulo.templates.models import (
    DownloadState,
    TemplateDetail,
    TemplateFormat,
    TemplateType,
    TemplateZoneRef,
    VMTemplate,
)
from cumulo.templates.oslookup import find_guest_os

HYPERVISORS = ("KVM", "XenServer", "VMware", "Hyperv", "BareMetal", "Simulator", "LXC", "Ovm")
FORMATS = ("QCOW2", "RAW", "VHD", "OVA")


@dataclass(frozen=True)
class Registration:
    """What ``registerTemplate``/``registerIso`` asked for (parsed API values)."""

    name: str
    display_text: str
    url: str
    zone: str
    format: str = TemplateFormat.ISO.value
    hypervisor: str | None = None
    os_type: str | None = None
    checksum: str | None = None
    public: bool | None = None
    featured: bool = False
    password_enabled: bool = False
    sshkey_enabled: bool = False
    extractable: bool = False
    requires_hvm: bool = True
    bootable: bool = True
    bits: int = 64
    template_tag: str | None = None
    account: str | None = None
    domain: str | None = None
    details: Mapping[str, str] = field(default_factory=dict)

    @property
    def is_iso(self) -> bool:
        """An ISO registration (``registerIso``)."""
        return self.format.upper() == TemplateFormat.ISO.value


@dataclass(frozen=True)
class Registered:
    """The new template and the zones whose download is to start."""

    template: VMTemplate
    zone_refs: list[TemplateZoneRef]


def owner_account(
    ctx: CallContext, session: Session, account_name: str | None, domain_value: str | None
) -> Account:
    """The account a new template belongs to: the caller's, or ``account`` in
    ``domainid`` for an admin acting for it.

    :raises InvalidParameterValue: ``account`` without ``domainid``, or no such account.
    :raises PermissionDenied: the account lies outside the caller's reach.
    """
    if account_name is None:
        if domain_value is not None:
            check_domain_access(ctx, find_domain(session, domain_value))
        account = session.get(Account, ctx.account_id)
        assert account is not None  # the caller's own account exists
        return account
    if domain_value is None:
        raise InvalidParameterValue("account: must be used with domainid")
    domain = find_domain(session, domain_value)
    check_domain_access(ctx, domain)
    found = active_account_by_name(session, account_name, domain.id)
    if found is None:
        raise InvalidParameterValue(
            f"account: unable to find account {account_name} in domain {domain.uuid}"
        )
    check_account_access(ctx, session, found)
    return found


def target_zones(session: Session, zone_value: str) -> list[Zone]:
    """The zones a registration names: one, or every live zone for ``-1``.

    :raises InvalidParameterValue: unknown zone, or no zone at all for ``-1``.
    """
    if zone_value == "-1":
        zones = list(session.scalars(select(Zone).where(Zone.removed.is_(None)).order_by(Zone.id)))
        if not zones:
            raise InvalidParameterValue("zoneid: there is no zone to register the template in")
        return zones
    from cumulo.infra.lookup import find_zone

    return [find_zone(session, zone_value)]


def register(
    session: Session,
    ctx: CallContext,
    request: Registration,
    *,
    address_allowed: Callable[[IpAddress], bool],
    public_user_templates: bool = True,
    resolve: bool = True,
) -> Registered:
    """Store a new template or ISO and its zone rows; count it against the limit.

    Runs in the caller's transaction and commits nothing; the caller then queues the
    downloads (:func:`cumulo.templates.download.queue_downloads`).

    :param address_allowed: the ``secstorage.allowed.internal.sites`` policy.
    :param public_user_templates: ``allow.public.user.templates``.
    :param resolve: resolve the URL's host now (tests of other rules may skip it).
    :raises InvalidParameterValue: a bad URL, format, hypervisor, OS type, checksum or
        zone (431 naming it).
    :raises PermissionDenied: featuring without being an admin, acting for an account
        out of reach (531).
    :raises AccountLimitExceeded: the owner's template limit is reached (532).
    """
    template_format = request.format.upper()
    if not request.is_iso and template_format not in FORMATS:
        raise InvalidParameterValue(
            f"format: {request.format} is not supported; use one of {', '.join(FORMATS)}"
        )
    hypervisor = _hypervisor(request)
    url = sources.check_source_url(request.url, template_format, address_allowed, resolve=resolve)
    checksum = sources.parse_checksum(request.checksum)
    guest_os = None
    if request.os_type is not None:
        guest_os = find_guest_os(session, request.os_type, "ostypeid")
    elif not request.is_iso or request.bootable:
        raise InvalidParameterValue("ostypeid: an OS type is required for a bootable image")
    owner = owner_account(ctx, session, request.account, request.domain)
    is_admin = ctx.is_root_admin or ctx.is_domain_admin
    if request.featured and not is_admin:
        raise PermissionDenied("Only admins may register featured templates or ISOs")
    public = bool(request.public)  # 4.1: private unless asked
    if public and not is_admin and not public_user_templates:
        raise PermissionDenied(
            "Only admins may register public templates (allow.public.user.templates is false)"
        )
    zones = target_zones(session, request.zone)
    limits.reserve(session, owner.id, ResourceType.TEMPLATE)
    template = VMTemplate(
        uuid=new_uuid(),
        name=request.name,
        display_text=request.display_text,
        format=template_format,
        hypervisor_type=hypervisor,
        guest_os_id=guest_os.id if guest_os is not None else None,
        account_id=owner.id,
        domain_id=owner.domain_id,
        public=bool(public),
        featured=request.featured,
        password_enabled=request.password_enabled and not request.is_iso,
        sshkey_enabled=request.sshkey_enabled and not request.is_iso,
        bootable=request.bootable or not request.is_iso,
        extractable=request.extractable,
        requires_hvm=request.requires_hvm,
        bits=request.bits,
        cross_zones=request.zone == "-1",
        template_type=TemplateType.USER.value,
        url=url,
        checksum=checksum,
        template_tag=request.template_tag,
    )
    template.unique_name = template.uuid
    session.add(template)
    session.flush()
    session.add_all(
        TemplateDetail(template_id=template.id, name=key, value=value)
        for key, value in request.details.items()
    )
    now = utcnow()
    refs = [
        TemplateZoneRef(
            template_id=template.id,
            zone_id=zone.id,
            download_state=DownloadState.NOT_DOWNLOADED.value,
            download_pct=0,
            created=now,
            last_updated=now,
        )
        for zone in zones
    ]
    session.add_all(refs)
    session.flush()
    return Registered(template, refs)


def _hypervisor(request: Registration) -> str | None:
    if request.is_iso:
        return None
    if not request.hypervisor:
        raise InvalidParameterValue("hypervisor: required for a template")
    for known in HYPERVISORS:
        if known.lower() == request.hypervisor.lower():
            return known
    raise InvalidParameterValue(
        f"hypervisor: {request.hypervisor} is not supported; use one of {', '.join(HYPERVISORS)}"
    )


def details_param(raw: Sequence[Mapping[str, str]] | None) -> dict[str, str]:
    """``details[0].key=value`` (4.1's map parameter) as ``{key: value}``; entries
    written ``details[0].name=k&details[0].value=v`` are read as well."""
    result: dict[str, str] = {}
    for entry in raw or ():
        if "name" in entry and "value" in entry and len(entry) == 2:
            result[str(entry["name"])] = str(entry["value"])
        else:
            result.update({str(key): str(value) for key, value in entry.items()})
    return result
