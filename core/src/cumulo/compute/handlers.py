"""Handlers of the VM and instance-group commands: parameters in, service calls, the
4.1 response out. Every handler finds its VM through :func:`cumulo.compute.lookup.
find_vm`, which refuses VMs of accounts outside the caller's reach (531).

Handlers of async commands that call a driver commit on their own around the driver
call (see :mod:`cumulo.compute.starting`); the job's completion commits the rest.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from cumulo.accounts.access import check_list_scope, visible_accounts
from cumulo.accounts.commands.support import max_page_size
from cumulo.accounts.lookup import find_domain
from cumulo.accounts.models import Account, Domain
from cumulo.compute import groups, lifecycle, operations
from cumulo.compute.allocation import allocate
from cumulo.compute.deployment import answer_row, load_deployment
from cumulo.compute.listing import VmFilter, list_vms, vm_row
from cumulo.compute.lookup import find_group, find_vm
from cumulo.compute.models import InstanceGroup, VirtualMachine
from cumulo.compute.owners import resolve_owner
from cumulo.compute.starting import VolumeFacts, start
from cumulo.compute.views import group_fields, vm_fields
from cumulo.infra.hosts.lookup import find_host
from cumulo.infra.lookup import find_pod, find_zone
from cumulo.infra.storage.lookup import find_pool
from cumulo.network.security_groups import membership as security_groups
from cumulo.offerings.models import ServiceOffering
from cumulo.sdk.api import Call, ListResult, ObjectResult, Role, SuccessResult
from cumulo.sdk.errors import InvalidParameterValue, PermissionDenied
from cumulo.templates.lookup import find_template
from cumulo.volumes.models import VolumeType

OBJECT = "virtualmachine"


def vm_answer(call: Call, vm: VirtualMachine, *, password: str | None = None) -> ObjectResult:
    """The VM as ``UserVmResponse`` (two statements: the VM row and its NICs)."""
    row, nics = vm_row(call.session, vm.id)
    return ObjectResult(OBJECT, vm_fields(call.ctx, row, nics, password=password))


def _admin_host(call: Call) -> int | None:
    if call.get("hostid") is None:
        return None
    if not call.ctx.is_root_admin:
        raise PermissionDenied("hostid: Parameter hostid can only be specified by a Root Admin")
    return find_host(call.session, call.params["hostid"], "hostid").id


# ---- deploy -------------------------------------------------------------------------


def deploy_create(call: Call) -> tuple[str, str]:
    """4.1 ``DeployVMCmd.create()``: validate and allocate (in the request)."""
    method = str(call.services.get("http_method", "GET"))
    choice = allocate(call, http_method=method)
    return "VirtualMachine", choice.vm_uuid


def deploy(call: Call) -> ObjectResult:
    """4.1 ``DeployVMCmd.execute()``: start the allocated VM unless ``startvm=false``.

    The create step checked the caller against everything the VM uses; the job reads
    the VM it made, its offering, template, volumes and the answer's names in one
    statement, and answers without reading the VM back.
    """
    session = call.session
    loaded = load_deployment(session, call.job_uuid or "")
    vm = loaded.vm
    if call.get("startvm") is False:
        return vm_answer(call, vm)
    with_offering = next((v for v in loaded.volumes if v.disk_tags or v.disk_local), None)
    if with_offering is None:
        with_offering = next(
            (v for v in loaded.volumes if v.volume_type == VolumeType.DATADISK.value), None
        )
    volumes: list[VolumeFacts] = [(v.volume_type, v.size, None, None, "") for v in loaded.volumes]
    outcome = start(
        call,
        vm,
        loaded.offering,
        host_id=_admin_host(call),
        requested_ip=call.get("ipaddress"),
        template=loaded.template,
        deploying=True,
        data_disk_tags=with_offering.disk_tags if with_offering else (),
        data_disk_local=bool(with_offering and with_offering.disk_local),
        volumes=volumes,
        deployment=loaded,
    )
    assert outcome.host is not None
    # Its security groups' rules now cover its address (a no-op for a VM in no group,
    # as every VM of a zone without security groups is: no statement for those).
    if loaded.zone_security_groups:
        security_groups.refresh(session, call.services.get("runtime"), vm.id)
    row = answer_row(loaded, outcome.host[0], outcome.host[1])
    return ObjectResult(
        OBJECT, vm_fields(call.ctx, row, list(outcome.nics), password=outcome.password)
    )


# ---- lifecycle ----------------------------------------------------------------------


def _vm(call: Call, param: str = "id") -> VirtualMachine:
    return find_vm(call.session, call.ctx, call.params[param], param)


def start_vm(call: Call) -> ObjectResult:
    """``startVirtualMachine``."""
    vm = _vm(call)
    offering = call.session.get(ServiceOffering, vm.service_offering_id)
    assert offering is not None
    start(call, vm, offering, host_id=_admin_host(call))
    security_groups.refresh(call.session, call.services.get("runtime"), vm.id)
    return vm_answer(call, vm)


def stop_vm(call: Call) -> ObjectResult:
    """``stopVirtualMachine``."""
    vm = _vm(call)
    lifecycle.stop(call, vm, forced=bool(call.get("forced", False)))
    return vm_answer(call, vm)


def reboot_vm(call: Call) -> ObjectResult:
    """``rebootVirtualMachine``."""
    vm = _vm(call)
    lifecycle.reboot(call, vm)
    return vm_answer(call, vm)


def destroy_vm(call: Call) -> ObjectResult:
    """``destroyVirtualMachine``."""
    vm = _vm(call)
    lifecycle.destroy(call, vm)
    return vm_answer(call, vm)


def recover_vm(call: Call) -> ObjectResult:
    """``recoverVirtualMachine`` (admins)."""
    vm = _vm(call)
    lifecycle.recover(call, vm)
    return vm_answer(call, vm)


def restore_vm(call: Call) -> ObjectResult:
    """``restoreVirtualMachine``."""
    vm = _vm(call, "virtualmachineid")
    password = operations.restore(call, vm)
    return vm_answer(call, vm, password=password)


def update_vm(call: Call) -> ObjectResult:
    """``updateVirtualMachine``."""
    vm = _vm(call)
    operations.update_vm(
        call,
        vm,
        display_name=call.get("displayname"),
        group=call.get("group"),
        ha_enable=call.get("haenable"),
        os_type=call.get("ostypeid"),
        user_data=call.get("userdata"),
    )
    return vm_answer(call, vm)


def change_service(call: Call) -> ObjectResult:
    """``changeServiceForVirtualMachine``."""
    vm = _vm(call)
    operations.change_service(call, vm, call.params["serviceofferingid"])
    return vm_answer(call, vm)


def migrate_vm(call: Call) -> ObjectResult:
    """``migrateVirtualMachine`` (root admin)."""
    vm = _vm(call, "virtualmachineid")
    if call.get("storageid") is not None:
        find_pool(call.session, call.params["storageid"], "storageid")
        raise InvalidParameterValue(
            "storageid: migrating volumes between storage pools is not supported yet"
        )
    if call.get("hostid") is None:
        raise InvalidParameterValue("hostid: give the destination host of the migration")
    destination = find_host(call.session, call.params["hostid"], "hostid")
    operations.migrate(call, vm, destination)
    return vm_answer(call, vm)


def assign_vm(call: Call) -> ObjectResult:
    """``assignVirtualMachine`` (root admin)."""
    vm = _vm(call, "virtualmachineid")
    if call.get("networkids") or call.get("securitygroupids"):
        which = "networkids" if call.get("networkids") else "securitygroupids"
        raise InvalidParameterValue(f"{which}: not supported in this zone type yet")
    owner = resolve_owner(call)
    operations.assign(call, vm, owner)
    return vm_answer(call, vm)


def reset_password(call: Call) -> ObjectResult:
    """``resetPasswordForVirtualMachine``."""
    vm = _vm(call)
    password = operations.reset_password(call, vm)
    return vm_answer(call, vm, password=password)


def get_vm_password(call: Call) -> ObjectResult:
    """``getVMPassword``: the password encrypted with the VM's SSH public key."""
    vm = _vm(call)
    if not vm.password:
        raise InvalidParameterValue("No password for VM with specified id found.")
    return ObjectResult("password", {"encryptedpassword": vm.password})


# ---- listing --------------------------------------------------------------------------


def _scope(call: Call) -> Any:
    session, ctx = call.session, call.ctx
    domain = find_domain(session, call.params["domainid"]) if call.get("domainid") else None
    check_list_scope(ctx, session, domain=domain, account_name=call.get("account"))
    return visible_accounts(
        ctx,
        listall=bool(call.get("listall", False)),
        isrecursive=bool(call.get("isrecursive", False)),
        domain_id=domain.id if domain is not None else None,
        account_name=call.get("account"),
    )


def _plain_scope(call: Call) -> tuple[int | None, bool]:
    """``(owner_id, everyone)`` of :class:`~cumulo.compute.listing.VmFilter` when
    :func:`_scope` is plainly one account or every account (see
    :func:`cumulo.accounts.access.visible_accounts`): without ``domainid`` and
    ``account``, a user — or anyone without ``listall`` — lists its own account, and a
    root admin with ``listall`` lists all; ``(None, False)`` otherwise."""
    ctx = call.ctx
    if call.get("domainid") or call.get("account") or ctx.account_type not in (0, 1, 2, 3):
        return None, False
    if ctx.role == Role.USER or not call.get("listall", False):
        return ctx.account_id, False
    return None, ctx.is_root_admin


def _id_of(call: Call, param: str, finder: Any) -> int | None:
    value = call.get(param)
    return None if value is None else int(finder(call.session, value, param).id)


def list_vms_handler(call: Call) -> ListResult:
    """``listVirtualMachines``: one statement for the page, one for its NICs."""
    session, ctx = call.session, call.ctx
    group_id = None
    if call.get("groupid") is not None:
        group_id = find_group(session, ctx, call.params["groupid"], "groupid").id
    owner_id, everyone = _plain_scope(call)
    where = VmFilter(
        scope=_scope(call),
        owner_id=owner_id,
        everyone=everyone,
        uuid=call.get("id"),
        name=call.get("name"),
        state=call.get("state"),
        zone_id=_id_of(call, "zoneid", find_zone),
        pod_id=_id_of(call, "podid", find_pod) if ctx.is_root_admin else None,
        host_id=_id_of(call, "hostid", find_host) if ctx.is_root_admin else None,
        group_id=group_id,
        template_id=_template_id(call, "templateid"),
        iso_id=_template_id(call, "isoid"),
        storage_id=_id_of(call, "storageid", find_pool) if ctx.is_root_admin else None,
        hypervisor=call.get("hypervisor"),
        keyword=call.get("keyword"),
        show_destroyed=ctx.role != Role.USER,
        # No VM belongs to a project, a VPC or a guest network of an advanced zone, and
        # none carries tags yet: such filters match nothing.
        nothing=any(call.get(p) for p in ("projectid", "vpcid", "networkid", "tags"))
        or call.get("forvirtualnetwork") is True,
    )
    rows, nics, total = list_vms(
        session,
        where,
        page=call.get("page"),
        pagesize=call.get("pagesize"),
        max_page_size=max_page_size(call),
    )
    items = [vm_fields(ctx, row, nics.get(row[0], [])) for row in rows]
    return ListResult(OBJECT, items, total)


def _template_id(call: Call, param: str) -> int | None:
    value = call.get(param)
    return None if value is None else find_template(call.session, value, param=param).id


# ---- instance groups ------------------------------------------------------------------


def _group_answer(call: Call, group_id: int) -> ObjectResult:
    row = call.session.execute(
        select(InstanceGroup, Account.account_name, Domain.uuid, Domain.name)
        .join(Account, Account.id == InstanceGroup.account_id)
        .join(Domain, Domain.id == InstanceGroup.domain_id)
        .where(InstanceGroup.id == group_id)
    ).one()
    return ObjectResult("instancegroup", group_fields(*row))


def create_group(call: Call) -> ObjectResult:
    """``createInstanceGroup``."""
    if call.get("projectid") is not None:
        raise InvalidParameterValue("projectid: projects are not supported by this server")
    owner = resolve_owner(call)
    group = groups.create_group(call.session, owner, call.params["name"])
    return _group_answer(call, group.id)


def delete_group(call: Call) -> SuccessResult:
    """``deleteInstanceGroup``."""
    group = find_group(call.session, call.ctx, call.params["id"])
    groups.delete_group(call.session, group)
    return SuccessResult()


def update_group(call: Call) -> ObjectResult:
    """``updateInstanceGroup``."""
    group = find_group(call.session, call.ctx, call.params["id"])
    if call.get("name"):
        groups.rename_group(call.session, group, call.params["name"])
    return _group_answer(call, group.id)


def list_groups(call: Call) -> ListResult:
    """``listInstanceGroups`` (one statement per page)."""
    group_id = None
    if call.get("id") is not None:
        group_id = find_group(call.session, call.ctx, call.params["id"]).id
    nothing = call.get("projectid") is not None
    rows, total = groups.list_groups(
        call.session,
        _scope(call),
        group_id=-1 if nothing else group_id,
        name=call.get("name"),
        keyword=call.get("keyword"),
        page=call.get("page"),
        pagesize=call.get("pagesize"),
        max_page_size=max_page_size(call),
    )
    items = [group_fields(*tuple(row)[:4]) for row in rows]
    return ListResult("instancegroup", items, total)
