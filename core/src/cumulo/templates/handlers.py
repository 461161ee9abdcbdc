"""Handlers of the template and ISO commands: one function per action, parametrised by
``iso`` (4.1's ISO commands are its template commands on ``format = ISO`` rows, with
``iso`` object names). Thin: parse, call the service, record the event, render."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from cumulo.accounts.access import check_list_scope
from cumulo.accounts.commands.support import domain_param, paging
from cumulo.events import record
from cumulo.infra.lookup import find_zone
from cumulo.sdk.api import Call, Fields, ListResult, ObjectResult, Result, SuccessResult
from cumulo.sdk.errors import InvalidParameterValue, PermissionDenied
from cumulo.templates import listing, management, oslookup, registration, transfer, views
from cumulo.templates.access import may_use
from cumulo.templates.download import end_job_transaction, queue_downloads
from cumulo.templates.lookup import find_template
from cumulo.templates.models import VMTemplate
from cumulo.templates.sources import AddressPolicy

PUBLIC_USER_TEMPLATES = "allow.public.user.templates"
ENDPOINT_KEY = "endpointe.url"


def _object(iso: bool) -> str:
    return "iso" if iso else "template"


def _event(iso: bool, action: str) -> str:
    return f"{'ISO' if iso else 'TEMPLATE'}.{action}"


def _resource(iso: bool) -> str:
    return "Iso" if iso else "Template"


def _config(call: Call) -> Any:
    return call.services["runtime"].config_store(call.session)


def _first_entry(session: Session, template: VMTemplate) -> Fields:
    rows = listing.entries(session, template.id)
    if rows:
        return views.template_fields(rows[0])
    return {"id": template.uuid, "name": template.name, "displaytext": template.display_text}


# ---- register -----------------------------------------------------------------------------


def register(call: Call, iso: bool) -> ListResult:
    """``registerTemplate``/``registerIso``: store, queue the downloads, answer the
    entries (no status yet: the downloads have not started)."""
    runtime = call.services["runtime"]
    request = registration.Registration(
        name=call.params["name"],
        display_text=call.params["displaytext"],
        url=call.params["url"],
        zone=str(call.params["zoneid"]),
        format="ISO" if iso else call.params["format"],
        hypervisor=None if iso else call.params["hypervisor"],
        os_type=call.get("ostypeid"),
        checksum=call.get("checksum"),
        public=call.get("ispublic"),
        featured=bool(call.get("isfeatured", False)),
        password_enabled=bool(call.get("passwordenabled", False)),
        sshkey_enabled=bool(call.get("sshkeyenabled", False)),
        extractable=bool(call.get("isextractable", False)),
        requires_hvm=bool(call.get("requireshvm", True)),
        bootable=bool(call.get("bootable", True)) if iso else True,
        bits=int(call.get("bits") or 64),
        template_tag=call.get("templatetag"),
        account=call.get("account"),
        domain=call.get("domainid"),
        details=registration.details_param(call.get("details")),
    )
    store = runtime.config_store(call.session)
    allow_public = store.boolean(PUBLIC_USER_TEMPLATES)
    registered = registration.register(
        call.session,
        call.ctx,
        request,
        address_allowed=AddressPolicy.read(runtime, call.session),
        public_user_templates=True if allow_public is None else allow_public,
    )
    template = registered.template
    queue_downloads(call, template, registered.zone_refs)
    record(
        call,
        _event(iso, "CREATE"),
        f"Registered {_object(iso)} {template.name} from {template.url}",
        resource_type=_resource(iso),
        resource_uuid=template.uuid,
        account_id=template.account_id,
    )
    rows = listing.entries(call.session, template.id)
    return ListResult(_object(iso), [views.template_fields(row) for row in rows], len(rows))


# ---- list ---------------------------------------------------------------------------------


def list_templates(call: Call, iso: bool) -> ListResult:
    """``listTemplates``/``listIsos``: one statement per page."""
    session, ctx = call.session, call.ctx
    domain = domain_param(call)
    account_name = call.get("account")
    check_list_scope(ctx, session, domain=domain, account_name=account_name)
    param = "isofilter" if iso else "templatefilter"
    # templatefilter is required; 4.1's ListIsosCmd defaults isofilter to selfexecutable.
    chosen = listing.TemplateFilter.parse(call.get(param) or "selfexecutable", param)
    template_id = None
    if call.get("id") is not None:
        template_id = find_template(session, call.params["id"], param="id", iso=iso).id
    zone_id = find_zone(session, call.params["zoneid"]).id if call.get("zoneid") else None
    query = listing.TemplateQuery(
        filter=chosen,
        is_iso=iso,
        template_id=template_id,
        zone_id=zone_id,
        name=call.get("name"),
        keyword=call.get("keyword"),
        hypervisor=call.get("hypervisor"),
        bootable=call.get("bootable"),
        public=call.get("ispublic"),
        ready=call.get("isready"),
        listall=bool(call.get("listall", False)),
        isrecursive=bool(call.get("isrecursive", False)),
        domain_id=domain.id if domain is not None else None,
        account_name=account_name,
    )
    rows, total = listing.list_templates(session, ctx, query, **paging(call))
    return ListResult(_object(iso), [views.template_fields(row) for row in rows], total)


# ---- update, permissions ----------------------------------------------------------------------


def update(call: Call, iso: bool) -> ObjectResult:
    """``updateTemplate``/``updateIso``."""
    template = find_template(call.session, call.params["id"], iso=iso)
    change = management.Update(
        name=call.get("name"),
        display_text=call.get("displaytext"),
        os_type=call.get("ostypeid"),
        format=call.get("format"),
        password_enabled=call.get("passwordenabled"),
        bootable=call.get("bootable"),
        sort_key=call.get("sortkey"),
    )
    management.update_template(call.session, call.ctx, template, change)
    if not iso:
        record(
            call,
            "TEMPLATE.UPDATE",
            f"Updated template {template.name}",
            resource_type="Template",
            resource_uuid=template.uuid,
            account_id=template.account_id,
        )
    return ObjectResult(_object(iso), _first_entry(call.session, template))


def list_permissions(call: Call, iso: bool) -> ObjectResult:
    """``listTemplatePermissions``/``listIsoPermissions``."""
    template = find_template(call.session, call.params["id"], iso=iso)
    if not may_use(call.ctx, call.session, template):
        raise PermissionDenied(
            f"Account {call.ctx.account_name} does not have permission to see {template.uuid}"
        )
    domain_uuid, accounts = management.permissions(call.session, template)
    fields = views.permission_fields(template.uuid, template.public, domain_uuid, accounts)
    return ObjectResult("templatepermission", fields)


def update_permissions(call: Call, iso: bool) -> SuccessResult:
    """``updateTemplatePermissions``/``updateIsoPermissions``."""
    if call.get("projectids"):
        raise InvalidParameterValue("projectids: projects are not supported yet")
    template = find_template(call.session, call.params["id"], iso=iso)
    change = management.PermissionChange(
        accounts=tuple(call.get("accounts") or ()),
        op=call.get("op"),
        public=call.get("ispublic"),
        featured=call.get("isfeatured"),
        extractable=call.get("isextractable"),
    )
    management.update_permissions(call.session, call.ctx, template, change)
    return SuccessResult()


# ---- async: delete, copy, extract -------------------------------------------------------------


def delete(call: Call, iso: bool) -> SuccessResult:
    """``deleteTemplate``/``deleteIso`` (async)."""
    template = find_template(call.session, call.params["id"], iso=iso)
    zone_id = find_zone(call.session, call.params["zoneid"]).id if call.get("zoneid") else None
    management.delete_template(call.session, call.ctx, template, zone_id)
    record(
        call,
        _event(iso, "DELETE"),
        f"Deleted {_object(iso)} {template.name}"
        + (f" from zone {call.params['zoneid']}" if zone_id else ""),
        resource_type=_resource(iso),
        resource_uuid=template.uuid,
        account_id=template.account_id,
    )
    return SuccessResult()


def copy(call: Call, iso: bool) -> ObjectResult:
    """``copyTemplate``/``copyIso`` (async; see :mod:`cumulo.templates.transfer` for why
    the copy runs outside the job's transaction)."""
    runtime = call.services["runtime"]
    end_job_transaction(call)
    with runtime.sessions() as session:
        source = find_zone(session, call.params["sourcezoneid"], "sourcezoneid")
        dest = find_zone(session, call.params["destzoneid"], "destzoneid")
        session.expunge_all()
    ref_id = transfer.copy_to_zone(runtime, call.ctx, call.params["id"], source, dest, iso=iso)
    return ObjectResult(_object(iso), views.template_fields(listing.entry(call.session, ref_id)))


def extract(call: Call, iso: bool) -> ObjectResult:
    """``extractTemplate``/``extractIso`` (async): an ``HTTP_DOWNLOAD`` URL."""
    template = find_template(call.session, call.params["id"], iso=iso)
    zone = find_zone(call.session, call.params["zoneid"]) if call.get("zoneid") else None
    if call.get("url"):
        raise InvalidParameterValue("url: FTP_UPLOAD is not supported; use mode=HTTP_DOWNLOAD")
    endpoint = _config(call).value(ENDPOINT_KEY) or "http://localhost:8080/client/api"
    done = transfer.extract(
        call.session,
        call.ctx,
        template,
        mode=call.params["mode"],
        zone=zone,
        endpoint=endpoint,
    )
    record(
        call,
        _event(iso, "EXTRACT"),
        f"Extracted {_object(iso)} {template.name}",
        resource_type=_resource(iso),
        resource_uuid=template.uuid,
        account_id=template.account_id,
    )
    fields: Fields = {
        "id": template.uuid,
        "name": template.name,
        "extractId": None,
        "uploadpercentage": 100,
        "status": "DOWNLOAD_URL_CREATED",
        "accountid": call.ctx.account_uuid or None,
        "created": done.created,
        "state": "DOWNLOAD_URL_CREATED",
        "storagetype": "Secondary",
        "zoneid": done.zone.uuid,
        "zonename": done.zone.name,
        "extractMode": "HTTP_DOWNLOAD",
        "url": done.url,
    }
    return ObjectResult(_object(iso), fields)


# ---- OS types ----------------------------------------------------------------------------------


def list_os_types(call: Call) -> ListResult:
    """``listOsTypes``."""
    rows, total = oslookup.list_os_types(
        call.session,
        os_id=call.get("id"),
        category=call.get("oscategoryid"),
        description=call.get("description"),
        keyword=call.get("keyword"),
        **paging(call),
    )
    return ListResult("ostype", [views.os_type_fields(*row) for row in rows], total)


def list_os_categories(call: Call) -> ListResult:
    """``listOsCategories``."""
    rows, total = oslookup.list_os_categories(
        call.session,
        category_id=call.get("id"),
        name=call.get("name"),
        keyword=call.get("keyword"),
        **paging(call),
    )
    return ListResult("oscategory", [views.os_category_fields(*row) for row in rows], total)


def bind(action: Callable[[Call, bool], Result], iso: bool) -> Callable[[Call], Result]:
    """``action`` for templates (``iso`` false) or ISOs, as a :class:`Command` handler."""

    def handler(call: Call) -> Result:
        return action(call, iso)

    handler.__name__ = f"{action.__name__}_{'iso' if iso else 'template'}"
    handler.__doc__ = action.__doc__
    return handler
