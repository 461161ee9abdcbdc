"""The VM state machine: 4.1's ``VirtualMachine.State`` and its allowed transitions.

Every change of ``vm_instance.state`` goes through :func:`transition`, which applies
it as ONE conditional statement::

    UPDATE vm_instance SET state = :to, update_count = update_count + 1, ...
     WHERE id = :id AND state = :from AND update_count = :seen

so of two concurrent transitions of the same VM (two API servers stopping it, the HA
task and a user) exactly one matches the row; the other finds it changed and is
refused. Nothing ever writes ``state`` another way.

An event not allowed in the current state is the caller's mistake (431, naming the
state the VM is in); a VM changed by someone else between reading and writing is
:class:`~cumulo.sdk.errors.ResourceUnavailable` (534): try again.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any, cast

from sqlalchemy import Table, Update, bindparam, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from cumulo.compute.models import VirtualMachine, VmState
from cumulo.db.base import utcnow
from cumulo.sdk.errors import InvalidParameterValue, ResourceUnavailable


class VmEvent(enum.StrEnum):
    """What happens to a VM (4.1 ``VirtualMachine.Event``, the ones cumulo raises)."""

    CREATE_REQUESTED = "CreateRequested"
    START_REQUESTED = "StartRequested"
    STOP_REQUESTED = "StopRequested"
    DESTROY_REQUESTED = "DestroyRequested"
    RECOVERY_REQUESTED = "RecoveryRequested"
    MIGRATION_REQUESTED = "MigrationRequested"
    REBOOT_REQUESTED = "RebootRequested"
    EXPUNGE_OPERATION = "ExpungeOperation"
    OPERATION_SUCCEEDED = "OperationSucceeded"
    OPERATION_FAILED = "OperationFailed"
    OPERATION_FAILED_TO_ERROR = "OperationFailedToError"
    AGENT_REPORT_RUNNING = "AgentReportRunning"
    AGENT_REPORT_STOPPED = "AgentReportStopped"
    AGENT_REPORT_SHUTDOWNED = "AgentReportShutdowned"
    HOST_DOWN = "HostDown"


S, E = VmState, VmEvent

TRANSITIONS: Mapping[tuple[VmState, VmEvent], VmState] = {
    # Stopped: start it, destroy it, or record a failure
    (S.STOPPED, E.START_REQUESTED): S.STARTING,
    (S.STOPPED, E.STOP_REQUESTED): S.STOPPED,
    (S.STOPPED, E.DESTROY_REQUESTED): S.DESTROYED,
    (S.STOPPED, E.EXPUNGE_OPERATION): S.EXPUNGING,
    (S.STOPPED, E.OPERATION_FAILED_TO_ERROR): S.ERROR,
    (S.STOPPED, E.AGENT_REPORT_STOPPED): S.STOPPED,
    (S.STOPPED, E.AGENT_REPORT_RUNNING): S.RUNNING,
    (S.STOPPED, E.MIGRATION_REQUESTED): S.MIGRATING,
    # Starting: the driver answers
    (S.STARTING, E.OPERATION_SUCCEEDED): S.RUNNING,
    (S.STARTING, E.OPERATION_FAILED): S.STOPPED,
    (S.STARTING, E.OPERATION_FAILED_TO_ERROR): S.ERROR,
    (S.STARTING, E.AGENT_REPORT_RUNNING): S.RUNNING,
    (S.STARTING, E.AGENT_REPORT_STOPPED): S.STOPPED,
    (S.STARTING, E.HOST_DOWN): S.STOPPED,
    # Running
    (S.RUNNING, E.STOP_REQUESTED): S.STOPPING,
    (S.RUNNING, E.REBOOT_REQUESTED): S.RUNNING,
    (S.RUNNING, E.MIGRATION_REQUESTED): S.MIGRATING,
    (S.RUNNING, E.AGENT_REPORT_RUNNING): S.RUNNING,
    (S.RUNNING, E.AGENT_REPORT_STOPPED): S.STOPPED,
    (S.RUNNING, E.AGENT_REPORT_SHUTDOWNED): S.STOPPED,
    (S.RUNNING, E.HOST_DOWN): S.STOPPED,
    # Stopping
    (S.STOPPING, E.OPERATION_SUCCEEDED): S.STOPPED,
    (S.STOPPING, E.OPERATION_FAILED): S.RUNNING,
    (S.STOPPING, E.AGENT_REPORT_RUNNING): S.RUNNING,
    (S.STOPPING, E.AGENT_REPORT_STOPPED): S.STOPPED,
    (S.STOPPING, E.AGENT_REPORT_SHUTDOWNED): S.STOPPED,
    (S.STOPPING, E.HOST_DOWN): S.STOPPED,
    # Migrating: back to Running wherever it ended up
    (S.MIGRATING, E.OPERATION_SUCCEEDED): S.RUNNING,
    (S.MIGRATING, E.OPERATION_FAILED): S.RUNNING,
    (S.MIGRATING, E.AGENT_REPORT_RUNNING): S.RUNNING,
    (S.MIGRATING, E.AGENT_REPORT_STOPPED): S.STOPPED,
    (S.MIGRATING, E.HOST_DOWN): S.STOPPED,
    # Destroyed: recovered, or expunged
    (S.DESTROYED, E.DESTROY_REQUESTED): S.DESTROYED,
    (S.DESTROYED, E.RECOVERY_REQUESTED): S.STOPPED,
    (S.DESTROYED, E.EXPUNGE_OPERATION): S.EXPUNGING,
    (S.DESTROYED, E.AGENT_REPORT_STOPPED): S.DESTROYED,
    # Expunging: only forward
    (S.EXPUNGING, E.EXPUNGE_OPERATION): S.EXPUNGING,
    (S.EXPUNGING, E.OPERATION_FAILED): S.EXPUNGING,
    # Error (a deploy that failed): destroy it (expunged later) or expunge it
    (S.ERROR, E.DESTROY_REQUESTED): S.DESTROYED,
    (S.ERROR, E.EXPUNGE_OPERATION): S.EXPUNGING,
    # Unknown and Shutdowned (what a host reported): a report or a request settles it
    (S.UNKNOWN, E.AGENT_REPORT_RUNNING): S.RUNNING,
    (S.UNKNOWN, E.AGENT_REPORT_STOPPED): S.STOPPED,
    (S.UNKNOWN, E.STOP_REQUESTED): S.STOPPED,
    (S.UNKNOWN, E.HOST_DOWN): S.STOPPED,
    (S.SHUTDOWNED, E.START_REQUESTED): S.STARTING,
    (S.SHUTDOWNED, E.STOP_REQUESTED): S.STOPPED,
    (S.SHUTDOWNED, E.DESTROY_REQUESTED): S.DESTROYED,
    (S.SHUTDOWNED, E.AGENT_REPORT_STOPPED): S.STOPPED,
}
"""(state, event) → next state; any pair absent is refused."""


def next_state(state: str, event: VmEvent) -> VmState | None:
    """The state ``event`` leads to from ``state``, or ``None`` if it is not allowed."""
    try:
        return TRANSITIONS.get((VmState(state), event))
    except ValueError:
        return None


def allowed_from(event: VmEvent) -> tuple[VmState, ...]:
    """The states in which ``event`` is allowed (for error messages)."""
    return tuple(state for (state, ev), _ in TRANSITIONS.items() if ev is event)


def check(vm: VirtualMachine, event: VmEvent, action: str) -> VmState:
    """The state ``event`` leads ``vm`` to, else 431 naming its current state.

    :param action: what the caller asked, for the message (``stop``, ``migrate``).
    :raises InvalidParameterValue: not allowed in the VM's state.
    """
    target = next_state(vm.state, event)
    if target is None:
        allowed = ", ".join(sorted(s.value for s in allowed_from(event)))
        raise InvalidParameterValue(
            f"Unable to {action} VM {vm.uuid}: it is {vm.state}; {action} is possible"
            f" only when it is {allowed}"
        )
    return target


_VM = cast(Table, VirtualMachine.__table__)
_TRANSITIONS: dict[tuple[str, ...], Update] = {}


def _statement(columns: tuple[str, ...]) -> Update:
    """The conditional ``UPDATE`` writing ``columns`` (bind parameters ``new_<column>``,
    ``vm_id``, ``seen_state``, ``seen_count``), built once per set of columns: every
    start, stop and deploy runs one, and building it costs more than running it."""
    found = _TRANSITIONS.get(columns)
    if found is None:
        found = (
            update(_VM)
            .where(
                _VM.c.id == bindparam("vm_id"),
                _VM.c.state == bindparam("seen_state"),
                _VM.c.update_count == bindparam("seen_count"),
            )
            .values({name: bindparam(f"new_{name}") for name in columns})
        )
        _TRANSITIONS[columns] = found
    return found


def transition(
    session: Session,
    vm: VirtualMachine,
    event: VmEvent,
    action: str,
    changes: Mapping[str, Any] | None = None,
) -> VmState:
    """Move ``vm`` by ``event`` with one conditional ``UPDATE`` (see the module doc).

    ``changes`` are further columns written by the same statement (``host_id``,
    ``last_host_id`` ...). On success the in-memory ``vm`` shows the new values (as
    committed ones: the session does not write them again).

    :return: the new state.
    :raises InvalidParameterValue: ``event`` is not allowed in the VM's state (431).
    :raises ResourceUnavailable: the VM changed meanwhile (534); nothing was written.
    """
    target = check(vm, event, action)
    now = utcnow()
    values: dict[str, Any] = {
        **(changes or {}),
        "state": target.value,
        "update_count": vm.update_count + 1,
        "update_time": now,
    }
    params = {f"new_{name}": value for name, value in values.items()}
    params.update(vm_id=vm.id, seen_state=vm.state, seen_count=vm.update_count)
    result = session.connection().execute(_statement(tuple(values)), params)
    if result.rowcount != 1:
        current = session.scalar(select(VirtualMachine.state).where(VirtualMachine.id == vm.id))
        if current is not None and current != vm.state:
            set_committed_value(vm, "state", current)
            check(vm, event, action)  # 431 naming the state it is in now
        raise ResourceUnavailable(
            f"Unable to {action} VM {vm.uuid}: it was changed by another operation"
            f" meanwhile (now {current}); try again"
        )
    for name, value in values.items():
        set_committed_value(vm, name, value)
    return target
