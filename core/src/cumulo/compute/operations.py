"""What else can be done to a VM: update it, change its offering, reset its password,
restore its root disk, migrate it to another host, give it to another account.

Each is one transaction unless it calls a driver (restore, migrate), which commits the
announcing state change before the call, as :mod:`cumulo.compute.starting` does.
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy import update as sql_update
from sqlalchemy.orm import Session

from cumulo import events
from cumulo.compute import groups, passwords, states
from cumulo.compute.allocation import validate_user_data
from cumulo.compute.disks import DiskTarget, create_on_storage, delete_from_storage, mark_ready
from cumulo.compute.hypervisors import drive, host_target
from cumulo.compute.lifecycle import stop
from cumulo.compute.models import InstanceGroupVmMap, Nic, VirtualMachine, VmState
from cumulo.compute.owners import Owner, runtime_of
from cumulo.compute.starting import start
from cumulo.compute.states import VmEvent
from cumulo.db.base import utcnow
from cumulo.infra.hosts.models import Host, HostStatus, ResourceState
from cumulo.infra.models import UserIpAddress
from cumulo.infra.storage.models import StoragePool
from cumulo.limits.service import release as release_limit
from cumulo.limits.service import reserve
from cumulo.limits.types import ResourceType
from cumulo.offerings.lookup import service_offering_for
from cumulo.offerings.models import ServiceOffering
from cumulo.placement import service as placement
from cumulo.placement.request import PlacementRequest
from cumulo.sdk.api import Call
from cumulo.sdk.errors import CloudError, InvalidParameterValue
from cumulo.sdk.storage import StoredObject
from cumulo.templates.lookup import template_for_deploy
from cumulo.templates.models import GuestOs
from cumulo.volumes.models import Volume, VolumeState, VolumeType
from cumulo.volumes.pools import pool_ref

RESOURCE = "VirtualMachine"


def _event(call: Call, vm: VirtualMachine, type: str, text: str, level: str = "INFO") -> None:
    events.record(
        call,
        type,
        text,
        level=level,
        resource_type=RESOURCE,
        resource_uuid=vm.uuid,
        account_id=vm.account_id,
        domain_id=vm.domain_id,
    )


def update_vm(
    call: Call,
    vm: VirtualMachine,
    *,
    display_name: str | None = None,
    group: str | None = None,
    ha_enable: bool | None = None,
    os_type: str | None = None,
    user_data: str | None = None,
) -> None:
    """``updateVirtualMachine``: what is given changes, the rest stays.

    :raises InvalidParameterValue: an unknown ``ostypeid``, bad ``userdata`` (431).
    """
    session = call.session
    if display_name is not None:
        vm.display_name = display_name
    if ha_enable is not None:
        vm.ha_enabled = ha_enable
    if os_type is not None:
        found = session.scalar(select(GuestOs.id).where(GuestOs.uuid == str(os_type)))
        if found is None:
            raise InvalidParameterValue(f"ostypeid: there is no OS type with id {os_type}")
        vm.guest_os_id = found
    if user_data is not None:
        method = str(call.services.get("http_method", "GET"))
        vm.user_data = validate_user_data(user_data, method=method)
    if group is not None:
        groups.join_by_name(session, vm, group)
    vm.update_time = utcnow()
    session.flush()
    _event(call, vm, "VM.UPDATE", f"Updated VM {vm.display_name or vm.name} ({vm.uuid})")


def change_service(call: Call, vm: VirtualMachine, offering_value: object) -> None:
    """``changeServiceForVirtualMachine``: a stopped VM gets another service offering.

    :raises InvalidParameterValue: the VM is not stopped, the offering is the same, or
        it switches between local and shared storage (431).
    """
    session = call.session
    if vm.state != VmState.STOPPED.value:
        raise InvalidParameterValue(
            f"Unable to upgrade virtual machine {vm.uuid}: it is {vm.state}; it must be Stopped"
        )
    offering = service_offering_for(session, call.ctx, offering_value)
    current = session.get(ServiceOffering, vm.service_offering_id)
    if current is not None and current.id == offering.id:
        raise InvalidParameterValue(
            f"serviceofferingid: Not upgrading vm {vm.uuid} since it already has the"
            f" requested service offering ({offering.name})"
        )
    if current is not None and current.use_local_storage != offering.use_local_storage:
        raise InvalidParameterValue(
            "serviceofferingid: Unable to upgrade virtual machine, cannot switch between"
            " local storage and shared storage service offerings"
        )
    vm.service_offering_id = offering.id
    vm.ha_enabled = offering.ha_enabled
    vm.limit_cpu_use = offering.limit_cpu_use
    vm.update_time = utcnow()
    session.flush()
    _event(
        call,
        vm,
        "VM.UPGRADE",
        f"Changed the service offering of VM {vm.uuid} to {offering.name}",
    )


def _password_template(session: Session, call: Call, vm: VirtualMachine) -> bool:
    template = template_for_deploy(
        session, call.ctx, vm.template_id or vm.iso_id or 0, vm.data_center_id
    )
    return template.password_enabled


def reset_password(call: Call, vm: VirtualMachine) -> str:
    """``resetPasswordForVirtualMachine``: a new guest password for a stopped VM of a
    password-enabled template; shown once (and kept encrypted with the VM's SSH public
    key for ``getVMPassword``).

    :raises InvalidParameterValue: the template is not password enabled, or the VM is
        not stopped (431).
    """
    session = call.session
    from cumulo.templates.models import VMTemplate

    enabled = session.scalar(
        select(VMTemplate.password_enabled).where(VMTemplate.id == (vm.template_id or 0))
    )
    if not enabled:
        raise InvalidParameterValue(
            "Fail to reset password for the virtual machine, the template is not password enabled"
        )
    if vm.state != VmState.STOPPED.value:
        raise InvalidParameterValue(
            f"Vm {vm.uuid} should be stopped to do password reset; it is {vm.state}"
        )
    password = passwords.new_guest_password()
    if vm.ssh_public_key:
        vm.password = passwords.encrypt_for_key(vm.ssh_public_key, password)
    vm.update_time = utcnow()
    session.flush()
    _event(call, vm, "VM.RESETPASSWORD", f"Reset the password of VM {vm.uuid}")
    return password


def restore(call: Call, vm: VirtualMachine) -> str | None:
    """``restoreVirtualMachine``: a fresh ROOT volume from the VM's template (the old
    one is deleted); a running VM is stopped first and started again after.

    :return: the new guest password for a password-enabled template, else ``None``.
    :raises InvalidParameterValue: not Running or Stopped, or deployed from an ISO (431).
    """
    session = call.session
    if vm.state not in (VmState.RUNNING.value, VmState.STOPPED.value):
        raise InvalidParameterValue(
            f"Unable to restore VM {vm.uuid}: it is {vm.state}; it must be Running or Stopped"
        )
    if vm.template_id is None:
        raise InvalidParameterValue(f"Unable to restore VM {vm.uuid}: it was installed from an ISO")
    template = template_for_deploy(session, call.ctx, vm.template_id, vm.data_center_id)
    was_running = vm.state == VmState.RUNNING.value
    if was_running:
        stop(call, vm)
    old = session.execute(
        select(Volume, StoragePool)
        .join(StoragePool, StoragePool.id == Volume.pool_id)
        .where(
            Volume.instance_id == vm.id,
            Volume.volume_type == VolumeType.ROOT.value,
            Volume.removed.is_(None),
        )
    ).first()
    if old is None:
        raise InvalidParameterValue(f"Unable to restore VM {vm.uuid}: it has no root volume")
    volume, pool = old
    fresh = Volume(
        name=volume.name,
        account_id=vm.account_id,
        domain_id=vm.domain_id,
        data_center_id=vm.data_center_id,
        pod_id=volume.pod_id,
        pool_id=pool.id,
        instance_id=vm.id,
        device_id=0,
        volume_type=VolumeType.ROOT.value,
        state=VolumeState.CREATING.value,
        size=template.size,
        template_id=template.id,
        format=template.format,
        attached=utcnow(),
    )
    session.add(fresh)
    session.flush()
    ref = pool_ref(session, pool, first_host_id=vm.last_host_id)
    old_target = DiskTarget(
        volume.id, volume.uuid, volume.volume_type, 0, volume.size, volume.path, pool.id, ref, None
    )
    new_target = DiskTarget(
        fresh.id, fresh.uuid, fresh.volume_type, 0, fresh.size, None, pool.id, ref, template.id
    )
    hypervisor = vm.hypervisor_type or ""
    session.commit()
    stored = StoredObject(template.install_url, template.size, template.size)
    try:
        created = create_on_storage(hypervisor, [new_target], stored)
    except CloudError:
        session.execute(
            sql_update(Volume)
            .where(Volume.id == fresh.id)
            .values(removed=utcnow(), state="Expunged")
        )
        session.commit()
        raise
    delete_from_storage(hypervisor, [old_target])
    mark_ready(session, created)
    session.execute(
        sql_update(Volume)
        .where(Volume.id == volume.id)
        .values(state=VolumeState.EXPUNGED.value, removed=utcnow(), instance_id=None)
    )
    password = None
    if template.password_enabled:
        password = passwords.new_guest_password()
        if vm.ssh_public_key:
            vm.password = passwords.encrypt_for_key(vm.ssh_public_key, password)
    session.flush()
    _event(call, vm, "VM.RESTORE", f"Restored the root volume of VM {vm.uuid} from its template")
    if was_running:
        offering = session.get(ServiceOffering, vm.service_offering_id)
        assert offering is not None
        start(call, vm, offering)
    return password


def migrate(call: Call, vm: VirtualMachine, destination: Host) -> None:
    """``migrateVirtualMachine``: live-migrate a running VM to another host of its
    cluster; the destination's capacity is claimed first, the source's given back after.

    :raises InvalidParameterValue: the VM is not running, or the destination is the
        source, in another cluster, or not Up and Enabled (431).
    :raises InsufficientCapacity: the destination cannot fit it (533).
    :raises ResourceUnavailable: the hypervisor failed (534); the VM stays where it was.
    """
    session = call.session
    runtime = runtime_of(call)
    states.check(vm, VmEvent.MIGRATION_REQUESTED, "migrate")
    if vm.state != VmState.RUNNING.value:
        raise InvalidParameterValue(
            f"Unable to migrate VM {vm.uuid}: it is {vm.state}; only a Running VM can be"
            " live-migrated"
        )
    if destination.id == vm.host_id:
        raise InvalidParameterValue(
            "hostid: the VM already runs on that host; choose another destination"
        )
    if destination.cluster_id != vm.cluster_id:
        raise InvalidParameterValue(
            "hostid: Cannot migrate VM, destination host is not in the VM's cluster"
        )
    if (
        destination.status != HostStatus.UP.value
        or destination.resource_state != ResourceState.ENABLED.value
    ):
        raise InvalidParameterValue(
            f"hostid: the destination host {destination.name} is {destination.status}"
            f" / {destination.resource_state}; it must be Up and Enabled"
        )
    offering = session.get(ServiceOffering, vm.service_offering_id)
    assert offering is not None and vm.host_id is not None
    claim = placement.place(
        session,
        PlacementRequest(
            zone_id=vm.data_center_id,
            account_id=vm.account_id,
            domain_id=vm.domain_id,
            cpu=offering.cpu,
            speed=offering.speed,
            memory_mb=offering.ram_size,
            host_tag=offering.host_tag,
            ha_enabled=vm.ha_enabled,
            hypervisor=vm.hypervisor_type,
            host_id=destination.id,
            cluster_id=vm.cluster_id,
        ),
        config=runtime.config_store(session),
    )
    source_id = vm.host_id
    source = host_target(session, source_id, runtime.database_key, runtime.algorithm)
    target = host_target(session, destination.id, runtime.database_key, runtime.algorithm)
    states.transition(session, vm, VmEvent.MIGRATION_REQUESTED, "migrate")
    session.commit()
    try:
        drive(
            f"Unable to migrate VM {vm.uuid} to host {destination.name}",
            lambda: source.driver.migrate_vm(source.ref, target.ref, vm.instance_name),
        )
    except CloudError as error:
        session.rollback()
        placement.release(session, destination.id, claim.cpu_mhz, claim.memory_bytes)
        states.transition(session, vm, VmEvent.OPERATION_FAILED, "migrate")
        _event(call, vm, "VM.MIGRATE", f"Unable to migrate VM {vm.uuid}: {error}", "ERROR")
        session.commit()
        raise
    placement.release(session, source_id, vm.reserved_cpu_mhz, vm.reserved_memory)
    states.transition(
        session,
        vm,
        VmEvent.OPERATION_SUCCEEDED,
        "migrate",
        {
            "host_id": destination.id,
            "last_host_id": source_id,
            "pod_id": destination.pod_id,
            "reserved_cpu_mhz": claim.cpu_mhz,
            "reserved_memory": claim.memory_bytes,
        },
    )
    _event(
        call,
        vm,
        "VM.MIGRATE",
        f"Migrated VM {vm.uuid} from host {source.name} to host {destination.name}",
    )


def assign(call: Call, vm: VirtualMachine, owner: Owner) -> None:
    """``assignVirtualMachine``: give a stopped VM (its volumes and addresses) to
    another account; the VM and volume counts move with it (the new owner's limits
    apply), and it leaves its instance group.

    :raises InvalidParameterValue: the VM is not stopped, or already the account's (431).
    :raises AccountLimitExceeded: the new owner is at a limit (532); nothing changes.
    """
    session = call.session
    if vm.state != VmState.STOPPED.value:
        raise InvalidParameterValue(
            f"VM {vm.uuid} is {vm.state}; it must be Stopped to be assigned to another account"
        )
    if owner.id == vm.account_id:
        raise InvalidParameterValue(
            f"account: the VM already belongs to account {owner.account_name}"
        )
    volumes = session.execute(
        select(Volume.id).where(
            Volume.instance_id == vm.id,
            Volume.removed.is_(None),
            Volume.state != VolumeState.DESTROY.value,
        )
    ).all()
    reserve(session, owner.id, ResourceType.USER_VM, 1)
    reserve(session, owner.id, ResourceType.VOLUME, len(volumes))
    release_limit(session, vm.account_id, ResourceType.USER_VM, 1)
    release_limit(session, vm.account_id, ResourceType.VOLUME, len(volumes))
    session.execute(
        sql_update(Volume)
        .where(Volume.instance_id == vm.id, Volume.removed.is_(None))
        .values(account_id=owner.id, domain_id=owner.domain_id)
        .execution_options(synchronize_session=False)
    )
    held = select(Nic.ip_address_id).where(Nic.instance_id == vm.id, Nic.removed.is_(None))
    session.execute(
        sql_update(UserIpAddress)
        .where(UserIpAddress.id.in_(held))
        .values(account_id=owner.id, domain_id=owner.domain_id)
        .execution_options(synchronize_session=False)
    )
    session.execute(delete(InstanceGroupVmMap).where(InstanceGroupVmMap.instance_id == vm.id))
    previous = vm.account_id
    vm.account_id, vm.domain_id = owner.id, owner.domain_id
    vm.update_time = utcnow()
    session.flush()
    _event(
        call,
        vm,
        "VM.MOVE",
        f"Assigned VM {vm.uuid} from account id={previous} to account {owner.account_name}",
    )
