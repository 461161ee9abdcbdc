"""The template, ISO and OS-type API commands, the ``template`` resource counter, the
``allow.public.user.templates`` setting and ``cumulo install-systemvm-template``:
this package's hook module (``cumulo.templates.commands`` in ``BUILTIN_PLUGINS``)."""

from __future__ import annotations

from collections.abc import Sequence

import click
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cumulo import hookimpl
from cumulo.limits import counters
from cumulo.limits.types import ResourceType
from cumulo.sdk import ConfigKey, ValueType
from cumulo.sdk.api import ALL_ROLES, Command
from cumulo.templates import params
from cumulo.templates.download import DOWNLOAD_JOB
from cumulo.templates.handlers import (
    bind,
    copy,
    delete,
    extract,
    list_os_categories,
    list_os_types,
    list_permissions,
    list_templates,
    register,
    update,
    update_permissions,
)
from cumulo.templates.models import VMTemplate
from cumulo.templates.sync import CONFIG_KEYS as SYNC_KEYS
from cumulo.templates.views import (
    EXTRACT_FIELDS,
    OS_CATEGORY_FIELDS,
    OS_TYPE_FIELDS,
    PERMISSION_FIELDS,
    TEMPLATE_FIELDS,
)
from cumulo.templates.vm_commands import COMMANDS as VM_COMMANDS

_TEMPLATE = "org.apache.cloudstack.api.command.user.template"
_ISO = "org.apache.cloudstack.api.command.user.iso"
_GUEST = "org.apache.cloudstack.api.command.user.guest"
_SUCCESS = ("success", "displaytext")


def _template_command(
    name: str,
    action: object,
    parameters: tuple[object, ...],
    *,
    iso: bool,
    response_class: str = "TemplateResponse",
    fields: tuple[str, ...] = TEMPLATE_FIELDS,
    java: str,
    response_name: str | None = None,
    is_async: bool = False,
    description: str,
    related: tuple[str, ...] = (),
    event_type: str | None = None,
) -> Command:
    return Command(
        name=name,
        handler=bind(action, iso),  # type: ignore[arg-type]
        params=parameters,  # type: ignore[arg-type]
        roles=ALL_ROLES,
        is_async=is_async,
        response_name=response_name or f"{name.lower()}response",
        response_class=response_class,
        response_fields=fields,
        description=description,
        related=related,
        java_class=f"{_ISO if iso else _TEMPLATE}.{java}",
        instance_type=("Iso" if iso else "Template") if is_async else None,
        event_type=event_type,
    )


_ISO_RELATED = ("listIsos", "registerIso", "updateIso", "copyIso")

COMMANDS: tuple[Command, ...] = (
    _template_command(
        "registerTemplate", register, params.REGISTER_TEMPLATE, iso=False,
        java="RegisterTemplateCmd",
        description="Registers an existing template into the CloudStack cloud. ",
        related=("updateTemplate", "listTemplates", "prepareTemplate", *_ISO_RELATED),
        event_type="TEMPLATE.CREATE",
    ),
    _template_command(
        "listTemplates", list_templates, params.LIST_TEMPLATES, iso=False,
        java="ListTemplatesCmd",
        description="List all public, private, and privileged templates.",
        related=("updateTemplate", "prepareTemplate", *_ISO_RELATED),
    ),
    _template_command(
        "updateTemplate", update, params.UPDATE_TEMPLATE, iso=False,
        java="UpdateTemplateCmd", description="Updates attributes of a template.",
        related=_ISO_RELATED, event_type="TEMPLATE.UPDATE",
    ),
    _template_command(
        "deleteTemplate", delete, params.DELETE_TEMPLATE, iso=False, is_async=True,
        java="DeleteTemplateCmd", response_class="SuccessResponse", fields=_SUCCESS,
        description="Deletes a template from the system. All virtual machines using the"
        " deleted template will not be affected.",
        event_type="TEMPLATE.DELETE",
    ),
    _template_command(
        "copyTemplate", copy, params.COPY_TEMPLATE, iso=False, is_async=True,
        java="CopyTemplateCmd", description="Copies a template from one zone to another.",
        related=("registerTemplate", "updateTemplate", "listTemplates", "prepareTemplate",
                 *_ISO_RELATED),
        event_type="TEMPLATE.COPY",
    ),
    _template_command(
        "extractTemplate", extract, params.EXTRACT_TEMPLATE, iso=False, is_async=True,
        java="ExtractTemplateCmd", response_class="ExtractResponse", fields=EXTRACT_FIELDS,
        description="Extracts a template", event_type="TEMPLATE.EXTRACT",
    ),
    _template_command(
        "listTemplatePermissions", list_permissions, params.LIST_TEMPLATE_PERMISSIONS,
        iso=False, java="ListTemplatePermissionsCmd",
        response_class="TemplatePermissionsResponse", fields=PERMISSION_FIELDS,
        description="List template visibility and all accounts that have permissions to"
        " view this template.",
        related=("listIsoPermissions",),
    ),
    _template_command(
        "updateTemplatePermissions", update_permissions, params.UPDATE_TEMPLATE_PERMISSIONS,
        iso=False, java="UpdateTemplatePermissionsCmd", response_class="SuccessResponse",
        fields=_SUCCESS,
        description="Updates a template visibility permissions. A public template is visible"
        " to all accounts within the same domain. A private template is visible only to the"
        " owner of the template. A priviledged template is a private template with account"
        " permissions added. Only accounts specified under the template permissions are"
        " visible to them.",
    ),
    _template_command(
        "registerIso", register, params.REGISTER_ISO, iso=True, java="RegisterIsoCmd",
        description="Registers an existing ISO into the CloudStack Cloud.",
        related=("listIsos", "updateIso", "copyIso"), event_type="ISO.CREATE",
    ),
    _template_command(
        "listIsos", list_templates, params.LIST_ISOS, iso=True, java="ListIsosCmd",
        description="Lists all available ISO files.",
    ),
    _template_command(
        "updateIso", update, params.UPDATE_ISO, iso=True, java="UpdateIsoCmd",
        description="Updates an ISO file.", related=("listIsos",),
    ),
    _template_command(
        "deleteIso", delete, params.DELETE_ISO, iso=True, is_async=True, java="DeleteIsoCmd",
        response_class="SuccessResponse", fields=_SUCCESS, response_name="deleteisosresponse",
        description="Deletes an ISO file.", event_type="ISO.DELETE",
    ),
    _template_command(
        "copyIso", copy, params.COPY_ISO, iso=True, is_async=True, java="CopyIsoCmd",
        description="Copies an iso from one zone to another.",
        related=("listIsos", "updateIso"), event_type="ISO.COPY",
    ),
    _template_command(
        "extractIso", extract, params.EXTRACT_ISO, iso=True, is_async=True,
        java="ExtractIsoCmd", response_class="ExtractResponse", fields=EXTRACT_FIELDS,
        description="Extracts an ISO", related=("extractTemplate",), event_type="ISO.EXTRACT",
    ),
    _template_command(
        "listIsoPermissions", list_permissions, params.LIST_ISO_PERMISSIONS, iso=True,
        java="ListIsoPermissionsCmd", response_class="TemplatePermissionsResponse",
        fields=PERMISSION_FIELDS, response_name="listtemplatepermissionsresponse",
        description="List iso visibility and all accounts that have permissions to view"
        " this iso.",
    ),
    _template_command(
        "updateIsoPermissions", update_permissions, params.UPDATE_ISO_PERMISSIONS, iso=True,
        java="UpdateIsoPermissionsCmd", response_class="SuccessResponse", fields=_SUCCESS,
        description="Updates iso permissions",
    ),
    Command(
        name="listOsTypes",
        handler=list_os_types,
        params=params.LIST_OS_TYPES,
        roles=ALL_ROLES,
        response_name="listostypesresponse",
        response_class="GuestOSResponse",
        response_fields=OS_TYPE_FIELDS,
        description="Lists all supported OS types for this cloud.",
        java_class=f"{_GUEST}.ListGuestOsCmd",
    ),
    Command(
        name="listOsCategories",
        handler=list_os_categories,
        params=params.LIST_OS_CATEGORIES,
        roles=ALL_ROLES,
        response_name="listoscategoriesresponse",
        response_class="GuestOSCategoryResponse",
        response_fields=OS_CATEGORY_FIELDS,
        description="Lists all supported OS categories for this cloud.",
        java_class=f"{_GUEST}.ListGuestOsCategoriesCmd",
    ),
    DOWNLOAD_JOB,
    *VM_COMMANDS,
)  # fmt: skip
"""Every template, ISO and OS-type command (and the internal download job)."""

CONFIG_KEYS = (
    ConfigKey(
        "allow.public.user.templates",
        ValueType.BOOLEAN,
        "true",
        "If false, users will not be able to create public templates.",
        "Advanced",
    ),
    *SYNC_KEYS,
)


def count_templates(session: Session, account_ids: Sequence[int]) -> dict[int, int]:
    """Live templates and ISOs per account (resource type 4), one query."""
    rows = session.execute(
        select(VMTemplate.account_id, func.count())
        .where(VMTemplate.account_id.in_(account_ids), VMTemplate.removed.is_(None))
        .group_by(VMTemplate.account_id)
    )
    return {int(account): int(count) for account, count in rows}


counters.register(ResourceType.TEMPLATE, count_templates)


@hookimpl
def cumulo_api_commands() -> list[Command]:
    """The commands of :data:`COMMANDS`."""
    return list(COMMANDS)


@hookimpl
def cumulo_configuration_keys() -> list[ConfigKey]:
    """``allow.public.user.templates`` and the template sync's settings."""
    return list(CONFIG_KEYS)


@hookimpl
def cumulo_register_commands(cli: click.Group) -> None:
    """``cumulo install-systemvm-template`` (4.1's ``cloud-install-sys-tmpl``)."""
    from cumulo.templates.cli import install_systemvm_template

    cli.add_command(install_systemvm_template)
