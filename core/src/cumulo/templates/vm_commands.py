"""The template commands that start from a VM's side: ``createTemplate`` (from a
volume or snapshot, :mod:`cumulo.templates.creation`) and ``attachIso``/``detachIso``
(:mod:`cumulo.templates.isos`); declarations from 4.1's tables
(``api/tools/gen_declaration.py``) and their thin handlers."""

from __future__ import annotations

from cumulo.sdk.api import ALL_ROLES, Call, Command, ObjectResult, Param, ParamType
from cumulo.sdk.errors import InvalidParameterValue
from cumulo.templates import creation, isos, listing, views
from cumulo.templates.download import end_job_transaction
from cumulo.templates.registration import details_param
from cumulo.templates.views import TEMPLATE_FIELDS

PUBLIC_USER_TEMPLATES = "allow.public.user.templates"
_TEMPLATE = "org.apache.cloudstack.api.command.user.template"
_ISO = "org.apache.cloudstack.api.command.user.iso"

# ---- createTemplate --------------------------------------------------------------------------

CREATE_TEMPLATE: tuple[Param, ...] = (
    Param("bits", ParamType.INTEGER, description="32 or 64 bit"),
    Param(
        "displaytext",
        description="the display text of the template. This is usually used for display purposes.",
        required=True,
        length=4096,
    ),
    Param(
        "isfeatured",
        ParamType.BOOLEAN,
        description="true if this template is a featured template, false otherwise",
    ),
    Param(
        "ispublic",
        ParamType.BOOLEAN,
        description="true if this template is a public template, false otherwise",
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
        "requireshvm",
        ParamType.BOOLEAN,
        description="true if the template requres HVM, false otherwise",
    ),
    Param(
        "snapshotid",
        ParamType.UUID,
        description="the ID of the snapshot the template is being created from. Either this"
        " parameter, or volumeId has to be passed in",
        entity="Snapshot",
    ),
    Param(
        "volumeid",
        ParamType.UUID,
        description="the ID of the disk volume the template is being created from. Either"
        " this parameter, or snapshotId has to be passed in",
        entity="Volume",
    ),
    Param(
        "virtualmachineid",
        ParamType.UUID,
        description="Optional, VM ID. If this presents, it is going to create a baremetal"
        " template for VM this ID refers to. This is only for VM whose hypervisor type is"
        " BareMetal",
        entity="UserVm",
    ),
    Param(
        "url",
        description="Optional, only for baremetal hypervisor. The directory name where"
        " template stored on CIFS server",
    ),
    Param("templatetag", description="the tag for this template."),
    Param("details", ParamType.MAP, description="Template details in key/value pairs."),
)


def create_template_record(call: Call) -> tuple[str, str]:
    """4.1 ``CreateTemplateCmd.create()``: the rules and the template row."""
    if call.get("virtualmachineid") or call.get("url"):
        which = "virtualmachineid" if call.get("virtualmachineid") else "url"
        raise InvalidParameterValue(
            f"{which}: only for BareMetal templates, which this cloud does not run; create"
            " templates from a volume (volumeid) or a snapshot (snapshotid)"
        )
    request = creation.TemplateRequest(
        name=call.params["name"],
        display_text=call.params["displaytext"],
        os_type=str(call.params["ostypeid"]),
        volume=str(call.params["volumeid"]) if call.get("volumeid") else None,
        snapshot=str(call.params["snapshotid"]) if call.get("snapshotid") else None,
        public=call.get("ispublic"),
        featured=bool(call.get("isfeatured", False)),
        password_enabled=bool(call.get("passwordenabled", False)),
        requires_hvm=bool(call.get("requireshvm", True)),
        bits=int(call.get("bits") or 64),
        template_tag=call.get("templatetag"),
        details=details_param(call.get("details")),
    )
    allow = call.services["runtime"].config_store(call.session).boolean(PUBLIC_USER_TEMPLATES)
    template, _ = creation.create_record(
        call.session, call.ctx, request, public_user_templates=True if allow is None else allow
    )
    return "Template", template.uuid


def create_template(call: Call) -> ObjectResult:
    """4.1 ``CreateTemplateCmd.execute()``: copy the bits, answer the template."""
    end_job_transaction(call)
    ref_id = creation.copy_to_secondary(call.services["runtime"], call.ctx, call.job_uuid or "")
    return ObjectResult("template", views.template_fields(listing.entry(call.session, ref_id)))


_VM_FIELDS = (
    "id", "name", "displayname", "account", "projectid", "project", "domainid", "domain",
    "created", "state", "haenable", "groupid", "group", "zoneid", "zonename", "hostid",
    "hostname", "templateid", "templatename", "templatedisplaytext", "passwordenabled",
    "isoid", "isoname", "isodisplaytext", "serviceofferingid", "serviceofferingname",
    "forvirtualnetwork", "cpunumber", "cpuspeed", "memory", "cpuused", "networkkbsread",
    "networkkbswrite", "guestosid", "rootdeviceid", "rootdevicetype", "securitygroup",
    "password", "nic", "hypervisor", "publicipid", "publicip", "instancename", "tags",
    "keypair",
)  # fmt: skip
"""``UserVmResponse``'s fields (4.1)."""

COMMANDS: tuple[Command, ...] = (
    Command(
        name="createTemplate",
        handler=create_template,
        params=CREATE_TEMPLATE,
        roles=ALL_ROLES,
        is_async=True,
        response_name="createtemplateresponse",
        # 4.1's CreateTemplateCmd declares StoragePoolResponse as its response object
        # (an annotation slip) yet answers a template: so does this.
        response_class="StoragePoolResponse",
        response_fields=TEMPLATE_FIELDS,
        description="Creates a template of a virtual machine. The virtual machine must be in"
        " a STOPPED state. A template created from this command is automatically designated"
        " as a private template visible to the account that created it.",
        related=("listTemplates", "updateTemplate", "copyTemplate", "registerTemplate"),
        java_class=f"{_TEMPLATE}.CreateTemplateCmd",
        create=create_template_record,
        instance_type="Template",
        event_type="TEMPLATE.CREATE",
    ),
    Command(
        name="attachIso",
        handler=isos.attach_iso,
        params=(
            Param(
                "id", ParamType.UUID, description="the ID of the ISO file", required=True,
                entity="Template",
            ),
            Param(
                "virtualmachineid", ParamType.UUID, description="the ID of the virtual machine",
                required=True, entity="UserVm",
            ),
        ),
        roles=ALL_ROLES,
        is_async=True,
        response_name="attachisoresponse",
        response_class="UserVmResponse",
        response_fields=_VM_FIELDS,
        description="Attaches an ISO to a virtual machine.",
        related=("deployVirtualMachine", "listVirtualMachines", "detachIso"),
        java_class=f"{_ISO}.AttachIsoCmd",
        event_type="ISO.ATTACH",
    ),
    Command(
        name="detachIso",
        handler=isos.detach_iso,
        params=(
            Param(
                "virtualmachineid", ParamType.UUID, description="The ID of the virtual machine",
                required=True, entity="UserVm",
            ),
        ),
        roles=ALL_ROLES,
        is_async=True,
        response_name="detachisoresponse",
        response_class="UserVmResponse",
        response_fields=_VM_FIELDS,
        description="Detaches any ISO file (if any) currently attached to a virtual machine.",
        related=("deployVirtualMachine", "listVirtualMachines", "attachIso"),
        java_class=f"{_ISO}.DetachIsoCmd",
        event_type="ISO.DETACH",
    ),
)  # fmt: skip
"""``createTemplate``, ``attachIso`` and ``detachIso``."""
