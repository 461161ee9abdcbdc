"""The 4.1 parameter lists of the template, ISO and OS-type commands (from 4.1's
request-params table via ``api/tools/gen_declaration.py``)."""

from __future__ import annotations

from cumulo.accounts.commands.params import ISRECURSIVE, LIST_DOMAIN, LISTALL, PAGING
from cumulo.sdk.api import Param, ParamType

LIST_TEMPLATES: tuple[Param, ...] = (
    Param("hypervisor", description="the hypervisor for which to restrict the search"),
    Param("id", ParamType.UUID, description="the template ID", entity="Template"),
    Param("name", description="the template name"),
    Param(
        "templatefilter",
        description=(
            'possible values are "featured", "self", '
            '"selfexecutable","sharedexecutable","executable", and "community". * featured : '
            "templates that have been marked as featured and public. * self : templates that have"
            " been registered or created by the calling user. * selfexecutable : same as self, "
            "but only returns templates that can be used to deploy a new VM. * sharedexecutable :"
            " templates ready to be deployed that have been granted to the calling user by "
            "another user. * executable : templates that are owned by the calling user, or public"
            " templates, that can be used to deploy a VM. * community : templates that have been "
            "marked as public but not featured. * all : all templates (only usable by admins)."
        ),
        required=True,
    ),
    Param("zoneid", ParamType.UUID, description="list templates by zoneId", entity="Zone"),
    Param("tags", ParamType.MAP, description="List resources by tags (key/value pairs)"),
    Param("projectid", ParamType.UUID, description="list objects by project", entity="Project"),
    Param(
        "account",
        description="list resources by account. Must be used with the domainId parameter.",
    ),
    LISTALL,
    LIST_DOMAIN,
    ISRECURSIVE,
    *PAGING,
)

UPDATE_TEMPLATE: tuple[Param, ...] = (
    Param("bootable", ParamType.BOOLEAN, description="true if image is bootable, false otherwise"),
    Param("displaytext", description="the display text of the image", length=4096),
    Param(
        "id",
        ParamType.UUID,
        description="the ID of the image file",
        required=True,
        entity="Template",
    ),
    Param("name", description="the name of the image file"),
    Param(
        "ostypeid",
        ParamType.UUID,
        description="the ID of the OS type that best represents the OS of this image.",
        entity="GuestOS",
    ),
    Param("format", description="the format for the image"),
    Param(
        "passwordenabled",
        ParamType.BOOLEAN,
        description="true if the image supports the password reset feature; default is false",
    ),
    Param("sortkey", ParamType.INTEGER, description="sort key of the template, integer"),
)

DELETE_TEMPLATE: tuple[Param, ...] = (
    Param(
        "id", ParamType.UUID, description="the ID of the template", required=True, entity="Template"
    ),
    Param("zoneid", ParamType.UUID, description="the ID of zone of the template", entity="Zone"),
)

COPY_TEMPLATE: tuple[Param, ...] = (
    Param(
        "destzoneid",
        ParamType.UUID,
        description="ID of the zone the template is being copied to.",
        required=True,
        entity="Zone",
    ),
    Param("id", ParamType.UUID, description="Template ID.", required=True, entity="Template"),
    Param(
        "sourcezoneid",
        ParamType.UUID,
        description="ID of the zone the template is currently hosted on.",
        required=True,
        entity="Zone",
    ),
)

EXTRACT_TEMPLATE: tuple[Param, ...] = (
    Param(
        "id", ParamType.UUID, description="the ID of the template", required=True, entity="Template"
    ),
    Param("url", description="the url to which the ISO would be extracted"),
    Param(
        "zoneid",
        ParamType.UUID,
        description="the ID of the zone where the ISO is originally located",
        entity="Zone",
    ),
    Param(
        "mode", description="the mode of extraction - HTTP_DOWNLOAD or FTP_UPLOAD", required=True
    ),
)

LIST_TEMPLATE_PERMISSIONS: tuple[Param, ...] = (
    Param(
        "id",
        ParamType.UUID,
        description="the template ID",
        required=True,
        entity="TemplatePermissions",
    ),
)

UPDATE_TEMPLATE_PERMISSIONS: tuple[Param, ...] = (
    Param(
        "accounts",
        ParamType.LIST,
        description=(
            'a comma delimited list of accounts. If specified, "op" parameter has to be passed in.'
        ),
        item_type=ParamType.STRING,
    ),
    Param("id", ParamType.UUID, description="the template ID", required=True, entity="Template"),
    Param(
        "isfeatured",
        ParamType.BOOLEAN,
        description="true for featured template/iso, false otherwise",
    ),
    Param(
        "ispublic",
        ParamType.BOOLEAN,
        description="true for public template/iso, false for private templates/isos",
    ),
    Param(
        "isextractable",
        ParamType.BOOLEAN,
        description=(
            "true if the template/iso is extractable, false other wise. Can be set only by root "
            "admin"
        ),
    ),
    Param("op", description="permission operator (add, remove, reset)"),
    Param(
        "projectids",
        ParamType.LIST,
        description=(
            'a comma delimited list of projects. If specified, "op" parameter has to be passed in.'
        ),
        item_type=ParamType.UUID,
        entity="Project",
    ),
)

REGISTER_ISO: tuple[Param, ...] = (
    Param(
        "bootable",
        ParamType.BOOLEAN,
        description="true if this ISO is bootable. If not passed explicitly its assumed to be true",
    ),
    Param(
        "displaytext",
        description="the display text of the ISO. This is usually used for display purposes.",
        required=True,
        length=4096,
    ),
    Param("isfeatured", ParamType.BOOLEAN, description="true if you want this ISO to be featured"),
    Param(
        "ispublic",
        ParamType.BOOLEAN,
        description=(
            "true if you want to register the ISO to be publicly available to all users, false "
            "otherwise."
        ),
    ),
    Param(
        "isextractable",
        ParamType.BOOLEAN,
        description="true if the iso or its derivatives are extractable; default is false",
    ),
    Param("name", description="the name of the ISO", required=True),
    Param(
        "ostypeid",
        ParamType.UUID,
        description=(
            "the ID of the OS Type that best represents the OS of this ISO. If the iso is "
            "bootable this parameter needs to be passed"
        ),
        entity="GuestOS",
    ),
    Param("url", description="the URL to where the ISO is currently being hosted", required=True),
    Param(
        "zoneid",
        ParamType.UUID,
        description="the ID of the zone you wish to register the ISO to.",
        required=True,
        entity="Zone",
    ),
    Param(
        "domainid",
        ParamType.UUID,
        description=(
            "an optional domainId. If the account parameter is used, domainId must also be used."
        ),
        entity="Domain",
    ),
    Param("account", description="an optional account name. Must be used with domainId."),
    Param("checksum", description="the MD5 checksum value of this ISO"),
    Param(
        "projectid", ParamType.UUID, description="Register iso for the project", entity="Project"
    ),
)

LIST_ISOS: tuple[Param, ...] = (
    Param(
        "bootable", ParamType.BOOLEAN, description="true if the ISO is bootable, false otherwise"
    ),
    Param("hypervisor", description="the hypervisor for which to restrict the search"),
    Param("id", ParamType.UUID, description="list ISO by id", entity="Template"),
    Param(
        "ispublic",
        ParamType.BOOLEAN,
        description="true if the ISO is publicly available to all users, false otherwise.",
    ),
    Param("isready", ParamType.BOOLEAN, description="true if this ISO is ready to be deployed"),
    Param(
        "isofilter",
        description=(
            'possible values are "featured", "self", '
            '"selfexecutable","sharedexecutable","executable", and "community". * featured : '
            "templates that have been marked as featured and public. * self : templates that have"
            " been registered or created by the calling user. * selfexecutable : same as self, "
            "but only returns templates that can be used to deploy a new VM. * sharedexecutable :"
            " templates ready to be deployed that have been granted to the calling user by "
            "another user. * executable : templates that are owned by the calling user, or public"
            " templates, that can be used to deploy a VM. * community : templates that have been "
            "marked as public but not featured. * all : all templates (only usable by admins)."
        ),
    ),
    Param("name", description="list all isos by name"),
    Param("zoneid", ParamType.UUID, description="the ID of the zone", entity="Zone"),
    Param("tags", ParamType.MAP, description="List resources by tags (key/value pairs)"),
    Param("projectid", ParamType.UUID, description="list objects by project", entity="Project"),
    Param(
        "account",
        description="list resources by account. Must be used with the domainId parameter.",
    ),
    LISTALL,
    LIST_DOMAIN,
    ISRECURSIVE,
    *PAGING,
)

UPDATE_ISO: tuple[Param, ...] = (
    Param("bootable", ParamType.BOOLEAN, description="true if image is bootable, false otherwise"),
    Param("displaytext", description="the display text of the image", length=4096),
    Param(
        "id",
        ParamType.UUID,
        description="the ID of the image file",
        required=True,
        entity="Template",
    ),
    Param("name", description="the name of the image file"),
    Param(
        "ostypeid",
        ParamType.UUID,
        description="the ID of the OS type that best represents the OS of this image.",
        entity="GuestOS",
    ),
    Param("format", description="the format for the image"),
    Param(
        "passwordenabled",
        ParamType.BOOLEAN,
        description="true if the image supports the password reset feature; default is false",
    ),
    Param("sortkey", ParamType.INTEGER, description="sort key of the template, integer"),
)

DELETE_ISO: tuple[Param, ...] = (
    Param(
        "id", ParamType.UUID, description="the ID of the ISO file", required=True, entity="Template"
    ),
    Param(
        "zoneid",
        ParamType.UUID,
        description=(
            "the ID of the zone of the ISO file. If not specified, the ISO will be deleted from "
            "all the zones"
        ),
        entity="Zone",
    ),
)

COPY_ISO: tuple[Param, ...] = (
    Param(
        "destzoneid",
        ParamType.UUID,
        description="ID of the zone the template is being copied to.",
        required=True,
        entity="Zone",
    ),
    Param("id", ParamType.UUID, description="Template ID.", required=True, entity="Template"),
    Param(
        "sourcezoneid",
        ParamType.UUID,
        description="ID of the zone the template is currently hosted on.",
        required=True,
        entity="Zone",
    ),
)

EXTRACT_ISO: tuple[Param, ...] = (
    Param(
        "id", ParamType.UUID, description="the ID of the ISO file", required=True, entity="Template"
    ),
    Param("url", description="the url to which the ISO would be extracted"),
    Param(
        "zoneid",
        ParamType.UUID,
        description="the ID of the zone where the ISO is originally located",
        entity="Zone",
    ),
    Param(
        "mode", description="the mode of extraction - HTTP_DOWNLOAD or FTP_UPLOAD", required=True
    ),
)

LIST_ISO_PERMISSIONS: tuple[Param, ...] = (
    Param(
        "id",
        ParamType.UUID,
        description="the template ID",
        required=True,
        entity="TemplatePermissions",
    ),
)

UPDATE_ISO_PERMISSIONS: tuple[Param, ...] = (
    Param(
        "accounts",
        ParamType.LIST,
        description=(
            'a comma delimited list of accounts. If specified, "op" parameter has to be passed in.'
        ),
        item_type=ParamType.STRING,
    ),
    Param("id", ParamType.UUID, description="the template ID", required=True, entity="Template"),
    Param(
        "isfeatured",
        ParamType.BOOLEAN,
        description="true for featured template/iso, false otherwise",
    ),
    Param(
        "ispublic",
        ParamType.BOOLEAN,
        description="true for public template/iso, false for private templates/isos",
    ),
    Param(
        "isextractable",
        ParamType.BOOLEAN,
        description=(
            "true if the template/iso is extractable, false other wise. Can be set only by root "
            "admin"
        ),
    ),
    Param("op", description="permission operator (add, remove, reset)"),
    Param(
        "projectids",
        ParamType.LIST,
        description=(
            'a comma delimited list of projects. If specified, "op" parameter has to be passed in.'
        ),
        item_type=ParamType.UUID,
        entity="Project",
    ),
)

LIST_OS_TYPES: tuple[Param, ...] = (
    Param("id", ParamType.UUID, description="list by Os type Id", entity="GuestOS"),
    Param(
        "oscategoryid",
        ParamType.UUID,
        description="list by Os Category id",
        entity="GuestOSCategory",
    ),
    Param("description", description="list os by description", since="3.0.1"),
    *PAGING,
)

LIST_OS_CATEGORIES: tuple[Param, ...] = (
    Param("id", ParamType.UUID, description="list Os category by id", entity="GuestOSCategory"),
    Param("name", description="list os category by name", since="3.0.1"),
    *PAGING,
)

REGISTER_TEMPLATE: tuple[Param, ...] = (
    Param("bits", ParamType.INTEGER, description="32 or 64 bits support. 64 by default"),
    Param(
        "displaytext",
        description="the display text of the template. This is usually used for display purposes.",
        required=True,
        length=4096,
    ),
    Param(
        "format",
        description="the format for the template. Possible values include QCOW2, RAW, and VHD.",
        required=True,
    ),
    Param("hypervisor", description="the target hypervisor for the template", required=True),
    Param(
        "isfeatured",
        ParamType.BOOLEAN,
        description="true if this template is a featured template, false otherwise",
    ),
    Param(
        "ispublic",
        ParamType.BOOLEAN,
        description="true if the template is available to all accounts; default is true",
    ),
    Param("name", description="the name of the template", required=True),
    Param(
        "ostypeid",
        ParamType.UUID,
        description="the ID of the OS Type that best represents the OS of this template.",
        required=True,
        entity="GuestOS",
    ),
    Param(
        "passwordenabled",
        ParamType.BOOLEAN,
        description="true if the template supports the password reset feature; default is false",
    ),
    Param(
        "sshkeyenabled",
        ParamType.BOOLEAN,
        description="true if the template supports the sshkey upload feature; default is false",
    ),
    Param(
        "isextractable",
        ParamType.BOOLEAN,
        description="true if the template or its derivatives are extractable; default is false",
    ),
    Param("requireshvm", ParamType.BOOLEAN, description="true if this template requires HVM"),
    Param(
        "url",
        description=(
            "the URL of where the template is hosted. Possible URL include http:// and https://"
        ),
        required=True,
    ),
    Param(
        "zoneid",
        ParamType.UUID,
        description="the ID of the zone the template is to be hosted on",
        required=True,
        entity="Zone",
    ),
    Param(
        "domainid",
        ParamType.UUID,
        description=(
            "an optional domainId. If the account parameter is used, domainId must also be used."
        ),
        entity="Domain",
    ),
    Param("account", description="an optional accountName. Must be used with domainId."),
    Param("checksum", description="the MD5 checksum value of this template"),
    Param("templatetag", description="the tag for this template."),
    Param(
        "projectid",
        ParamType.UUID,
        description="Register template for the project",
        entity="Project",
    ),
    Param("details", ParamType.MAP, description="Template details in key/value pairs."),
)
