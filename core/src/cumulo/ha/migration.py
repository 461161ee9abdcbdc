"""Migrating VMs away from a host entering maintenance (``Migration`` work items).

4.1's ``prepareHostForMaintenance`` leaves the host ``PrepareForMaintenance``, schedules
a migration per running VM (``HighAvailabilityManager.scheduleMigration``) and moves
the host to ``Maintenance`` once it is empty, or to ``ErrorInMaintenance`` when a VM
cannot be moved. Here:

* :func:`schedule_migrations` — called in the ``prepareHostForMaintenance`` job's
  transaction — inserts one item per ``Running`` VM of the host in one
  ``INSERT ... SELECT`` and says how many; with none the caller puts the host straight
  into ``Maintenance``;
* :func:`migrate_away` (an item, in the HA round) chooses a destination in the VM's
  cluster with placement's explanation (the host being emptied avoided; ``ha.tag``
  hosts are not used, as for any migration) and live-migrates through
  :func:`cumulo.compute.operations.migrate`, which claims the destination and gives the
  source back; a failure is retried every ``migrate.retry.interval`` and after
  ``ha.max.retries`` tries the host goes ``ErrorInMaintenance`` with an alert;
* once no VM is active on the host any more, it moves ``PrepareForMaintenance →
  Maintenance`` (one conditional ``UPDATE``: a ``cancelHostMaintenance`` meanwhile wins).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from sqlalchemy import and_, func, insert, literal, not_, select, update
from sqlalchemy.orm import Session

from cumulo.alerts.models import AlertType
from cumulo.alerts.service import NewAlert, raise_alerts
from cumulo.auth.identity import principal_by_user_id
from cumulo.compute import operations
from cumulo.compute.models import VirtualMachine, VmState
from cumulo.compute.starting import placement_request, volume_facts
from cumulo.compute.vm_commands import COMMANDS as VM_COMMANDS
from cumulo.events.recorder import SYSTEM_USER_ID
from cumulo.ha import work
from cumulo.ha.models import HaWork, Step, WorkType
from cumulo.ha.settings import HaSettings
from cumulo.ha.work import WorkItem
from cumulo.infra.hosts.models import Host, ResourceState
from cumulo.jobs.clock import db_now
from cumulo.offerings.models import ServiceOffering
from cumulo.placement import service as placement
from cumulo.runtime import Runtime
from cumulo.sdk.api import Call
from cumulo.sdk.errors import CloudError, InsufficientCapacity, InternalError

ACTIVE = (
    VmState.STARTING.value,
    VmState.RUNNING.value,
    VmState.STOPPING.value,
    VmState.MIGRATING.value,
)
_MIGRATE = next(command for command in VM_COMMANDS if command.name == "migrateVirtualMachine")


def schedule_migrations(session: Session, host_id: int, now: dt.datetime | None = None) -> int:
    """One ``Migration`` item per ``Running`` VM of ``host_id`` without open work, in one
    ``INSERT ... SELECT`` in the caller's transaction; how many were scheduled."""
    when = now or db_now(session)
    vm = VirtualMachine
    chosen = select(
        vm.id,
        vm.id,
        literal(WorkType.MIGRATION.value),
        literal("User"),
        vm.state,
        vm.host_id,
        literal(Step.SCHEDULED.value),
        literal(0),
        literal(when),
        vm.update_count,
        literal(when),
    ).where(
        vm.host_id == host_id,
        vm.state == VmState.RUNNING.value,
        vm.removed.is_(None),
        not_(select(HaWork.id).where(HaWork.open_instance_id == vm.id).exists()),
    )
    columns = [
        "instance_id",
        "open_instance_id",
        "type",
        "vm_type",
        "previous_state",
        "host_id",
        "step",
        "tried",
        "time_to_try",
        "updated",
        "created",
    ]
    result = session.execute(insert(HaWork).from_select(columns, chosen))
    return int(result.rowcount)  # type: ignore[attr-defined]


def enter_maintenance_if_empty(session: Session, host_id: int) -> bool:
    """``PrepareForMaintenance → Maintenance`` when no VM is active on the host (one
    conditional ``UPDATE``); whether it moved."""
    busy = (
        select(func.count())
        .select_from(VirtualMachine)
        .where(
            VirtualMachine.host_id == host_id,
            VirtualMachine.state.in_(ACTIVE),
            VirtualMachine.removed.is_(None),
        )
        .scalar_subquery()
    )
    moved = session.execute(
        update(Host)
        .where(
            and_(
                Host.id == host_id,
                Host.resource_state == ResourceState.PREPARE_FOR_MAINTENANCE.value,
                busy == 0,
            )
        )
        .values(resource_state=ResourceState.MAINTENANCE.value)
        .execution_options(synchronize_session=False)
    )
    return int(moved.rowcount) == 1  # type: ignore[attr-defined]


def _system_call(session: Session, runtime: Runtime) -> Call:
    system = principal_by_user_id(session, SYSTEM_USER_ID)
    if system is None:  # pragma: no cover - seeded with every cloud
        raise InternalError("the system account is missing")
    return Call(
        command=_MIGRATE,
        ctx=system.context(),
        session=session,
        params={},
        pm=runtime.pm,
        services={"runtime": runtime},
    )


def _destination(session: Session, runtime: Runtime, vm: VirtualMachine, avoid: int) -> Host:
    """The host placement would choose in the VM's cluster, ``avoid`` excluded.

    :raises InsufficientCapacity: none (533, naming what eliminated the candidates).
    """
    offering = session.get(ServiceOffering, vm.service_offering_id)
    if offering is None:
        raise InternalError(f"the service offering of VM {vm.uuid} is gone")
    volumes = volume_facts(session, vm.id)
    request = placement_request(vm, offering, volumes, host_id=None, keep_pod=False)
    plan = placement.explain(
        session,
        replace(request, cluster_id=vm.cluster_id, avoid_host_ids=frozenset({avoid})),
        config=runtime.config_store(session),
        plan_size=1,
    )
    host = session.get(Host, plan.chosen.host_id) if plan.chosen is not None else None
    if host is None:
        raise InsufficientCapacity(f"Unable to migrate VM {vm.uuid}: {plan.summary()}")
    return host


def _give_up(
    session: Session, runtime: Runtime, item: WorkItem, vm: VirtualMachine, error: str
) -> None:
    work.close(session, item, runtime.msid, Step.ERROR, error)
    session.execute(
        update(Host)
        .where(
            Host.id == item.host_id,
            Host.resource_state == ResourceState.PREPARE_FOR_MAINTENANCE.value,
        )
        .values(resource_state=ResourceState.ERROR_IN_MAINTENANCE.value)
        .execution_options(synchronize_session=False)
    )
    host = session.get(Host, item.host_id)
    raise_alerts(
        session,
        [
            NewAlert(
                type=AlertType.USERVM_MIGRATE,
                data_center_id=vm.data_center_id,
                pod_id=vm.pod_id,
                cluster_id=vm.cluster_id,
                subject=(
                    f"Unable to migrate VM (name: {vm.name}, id: {vm.uuid}) away from host"
                    f" {host.name if host else item.host_id} entering maintenance: {error};"
                    " the host is ErrorInMaintenance"
                ),
            )
        ],
    )


def migrate_away(runtime: Runtime, item: WorkItem, settings: HaSettings) -> str:
    """Run one ``Migration`` item held by this server.

    :return: ``"migrated"``, ``"retry"``, ``"gave up"``, ``"cancelled"`` or ``"lost"``.
    """
    msid = runtime.msid
    with runtime.sessions() as session:
        vm = session.get(VirtualMachine, item.instance_id)
        host = session.get(Host, item.host_id)
        if host is None or host.resource_state != ResourceState.PREPARE_FOR_MAINTENANCE.value:
            work.close(session, item, msid, Step.CANCELLED, "the host is not entering maintenance")
            session.commit()
            return "cancelled"
        if vm is None or vm.removed is not None or vm.host_id != item.host_id:
            work.close(session, item, msid, Step.DONE)
            enter_maintenance_if_empty(session, item.host_id)
            session.commit()
            return "cancelled"
        if not work.advance(session, item, msid, db_now(session), step=Step.MIGRATING.value):
            session.rollback()
            return "lost"
        try:
            destination = _destination(session, runtime, vm, item.host_id)
            operations.migrate(_system_call(session, runtime), vm, destination)
        except CloudError as error:
            session.rollback()
            if not work.advance(session, item, msid, db_now(session)):
                session.rollback()
                return "lost"
            if item.tried + 1 >= settings.max_retries:
                _give_up(session, runtime, item, vm, error.errortext)
                session.commit()
                return "gave up"
            work.retry_later(
                session,
                item,
                msid,
                db_now(session) + settings.migrate_retry,
                updated=vm.update_count,
                error=error.errortext,
            )
            session.commit()
            return "retry"
        work.close(session, item, msid, Step.DONE)
        enter_maintenance_if_empty(session, item.host_id)
        session.commit()
        return "migrated"
