"""Response views: ``TemplateResponse``, ``TemplatePermissionsResponse``,
``ExtractResponse``, ``GuestOSResponse`` and ``GuestOSCategoryResponse`` in 4.1's field
names and order (absent values are left out, as gson does).

``status`` and ``isready`` follow 4.1's ``ApiResponseHelper.createTemplateResponses``:
a downloaded template is ``Download Complete``; one downloading is ``n% Downloaded``
(``Installing Template`` at 100 %); otherwise the error text of the download, or
``Processing`` while it has not started.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cumulo.sdk.api import Fields
from cumulo.templates.models import DownloadState

TEMPLATE_FIELDS = (
    "id", "name", "displaytext", "ispublic", "created", "removed", "isready",
    "passwordenabled", "format", "bootable", "isfeatured", "crossZones", "ostypeid",
    "ostypename", "accountid", "account", "zoneid", "zonename", "status", "size",
    "templatetype", "hypervisor", "domain", "domainid", "isextractable", "checksum",
    "sourcetemplateid", "hostid", "hostname", "templatetag", "projectid", "project",
    "details", "tags", "sshkeyenabled",
)  # fmt: skip
PERMISSION_FIELDS = ("id", "ispublic", "domainid", "account", "projectids")
EXTRACT_FIELDS = (
    "id", "name", "extractId", "uploadpercentage", "status", "accountid", "resultstring",
    "created", "state", "storagetype", "storage", "zoneid", "zonename", "extractMode", "url",
)  # fmt: skip
OS_TYPE_FIELDS = ("id", "oscategoryid", "description")
OS_CATEGORY_FIELDS = ("id", "name")


def download_status(state: str | None, pct: int | None, error: str | None) -> str:
    """The ``status`` text of a template's download in one zone."""
    if state == DownloadState.DOWNLOADED.value:
        return "Download Complete"
    if state == DownloadState.DOWNLOAD_IN_PROGRESS.value:
        return "Installing Template" if pct == 100 else f"{pct or 0}% Downloaded"
    return error or "Processing"


def template_fields(row: Any) -> Fields:
    """One (template, zone) entry (a row of :mod:`cumulo.templates.listing`)."""
    ready = row.download_state == DownloadState.DOWNLOADED.value
    is_iso = row.format == "ISO"
    size = row.zone_size if row.zone_size is not None else row.template_size
    return {
        "id": row.uuid,
        "name": row.name,
        "displaytext": row.display_text,
        "ispublic": bool(row.public),
        "created": row.created,
        "removed": row.removed,
        "isready": ready,
        "passwordenabled": None if is_iso else bool(row.password_enabled),
        "format": None if is_iso else row.format,
        "bootable": bool(row.bootable),
        "isfeatured": bool(row.featured),
        "crossZones": bool(row.cross_zones),
        "ostypeid": row.os_uuid,
        "ostypename": row.os_name,
        "accountid": row.account_uuid,
        "account": row.account_name,
        "zoneid": row.zone_uuid,
        "zonename": row.zone_name,
        "status": download_status(row.download_state, row.download_pct, row.error_str),
        "size": size if ready else None,
        "templatetype": row.template_type,
        "hypervisor": row.hypervisor_type,
        "domain": row.domain_name,
        "domainid": row.domain_uuid,
        "isextractable": bool(row.extractable),
        "checksum": row.checksum,
        "templatetag": row.template_tag,
        "sshkeyenabled": None if is_iso else bool(row.sshkey_enabled),
    }


def permission_fields(
    template_uuid: str, public: bool, domain_uuid: str, accounts: Sequence[str]
) -> Fields:
    """``listTemplatePermissions``: visibility and the accounts granted launch."""
    return {
        "id": template_uuid,
        "ispublic": public,
        "domainid": domain_uuid,
        "account": list(accounts),
    }


def os_type_fields(uuid: str, category_uuid: str, description: str) -> Fields:
    """One OS type (``GuestOSResponse``)."""
    return {"id": uuid, "oscategoryid": category_uuid, "description": description}


def os_category_fields(uuid: str, name: str) -> Fields:
    """One OS category (``GuestOSCategoryResponse``)."""
    return {"id": uuid, "name": name}
