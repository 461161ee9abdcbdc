"""The VM state machine: allowed transitions only, one conditional UPDATE each, so that
of two transitions started from the same read only one wins."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from cumulo.accounts.models import Account
from cumulo.compute import states
from cumulo.compute.models import VirtualMachine, VmState
from cumulo.compute.states import TRANSITIONS, VmEvent, next_state, transition
from cumulo.infra.models import Zone
from cumulo.runtime import Runtime
from cumulo.sdk.errors import InvalidParameterValue, ResourceUnavailable


@pytest.fixture
def vm_id(runtime: Runtime) -> Iterator[int]:
    with runtime.sessions.begin() as session:
        zone = Zone(name="z", dns1="8.8.8.8", internal_dns1="10.0.0.2", networktype="Basic")
        session.add(zone)
        admin = session.scalars(select(Account).where(Account.account_name == "admin")).one()
        session.flush()
        vm = VirtualMachine(
            name="v", instance_name="i-2-1-VM", account_id=admin.id, domain_id=admin.domain_id,
            service_offering_id=1, data_center_id=zone.id, vnc_password="x",
        )  # fmt: skip
        session.add(vm)
        session.flush()
        vm_id = vm.id
    yield vm_id


def _load(session: Session, vm_id: int) -> VirtualMachine:
    vm = session.get(VirtualMachine, vm_id)
    assert vm is not None
    return vm


def test_every_state_is_reachable_and_every_transition_leads_to_a_state() -> None:
    targets = set(TRANSITIONS.values())
    sources = {state for state, _ in TRANSITIONS}
    assert {VmState.RUNNING, VmState.STOPPED, VmState.DESTROYED, VmState.EXPUNGING} <= targets
    assert set(VmState) - {VmState.ERROR} <= sources | targets
    assert next_state("Stopped", VmEvent.START_REQUESTED) is VmState.STARTING
    assert next_state("Running", VmEvent.START_REQUESTED) is None
    assert next_state("Expunging", VmEvent.RECOVERY_REQUESTED) is None
    assert next_state("nonsense", VmEvent.START_REQUESTED) is None


def test_an_illegal_transition_is_431_naming_the_state(runtime: Runtime, vm_id: int) -> None:
    with runtime.sessions() as session:
        vm = _load(session, vm_id)
        with pytest.raises(InvalidParameterValue) as refused:
            transition(session, vm, VmEvent.REBOOT_REQUESTED, "reboot")
        assert "it is Stopped" in refused.value.errortext
        assert "Running" in refused.value.errortext  # where reboot is possible
        assert vm.update_count == 0


def test_a_transition_is_applied_and_counted(runtime: Runtime, vm_id: int) -> None:
    with runtime.sessions() as session:
        vm = _load(session, vm_id)
        assert transition(session, vm, VmEvent.START_REQUESTED, "start", {"host_id": None})
        session.commit()
    with runtime.sessions() as session:
        vm = _load(session, vm_id)
        assert (vm.state, vm.update_count) == ("Starting", 1) and vm.update_time is not None


def test_of_two_transitions_from_the_same_read_only_one_wins(runtime: Runtime, vm_id: int) -> None:
    with runtime.sessions() as first:
        seen_first = _load(first, vm_id)
        first.commit()  # read and let go (SQLite's IMMEDIATE transactions serialise)
        with runtime.sessions() as second:
            seen_second = _load(second, vm_id)
            second.commit()
            transition(first, seen_first, VmEvent.START_REQUESTED, "start")
            first.commit()
            # The same event from the same (now stale) read: the state moved on.
            with pytest.raises(InvalidParameterValue) as lost:
                transition(second, seen_second, VmEvent.START_REQUESTED, "start")
            assert "it is Starting" in lost.value.errortext
            second.rollback()
    with runtime.sessions() as session:
        assert _load(session, vm_id).update_count == 1


def test_a_concurrent_change_that_keeps_the_state_is_534(runtime: Runtime, vm_id: int) -> None:
    """Stopped → Stopped (a repeated stop) still moves update_count: a transition from
    an older read of the same state loses and is told to retry."""
    with runtime.sessions() as first:
        stale = _load(first, vm_id)
        first.commit()
        with runtime.sessions() as other:
            transition(other, _load(other, vm_id), VmEvent.STOP_REQUESTED, "stop")
            other.commit()
        with pytest.raises(ResourceUnavailable):
            transition(first, stale, VmEvent.START_REQUESTED, "start")
        first.rollback()


def test_check_names_the_action() -> None:
    vm = VirtualMachine(uuid="u", state="Destroyed", update_count=0)
    with pytest.raises(InvalidParameterValue) as refused:
        states.check(vm, VmEvent.MIGRATION_REQUESTED, "migrate")
    assert refused.value.errortext.startswith("Unable to migrate VM u: it is Destroyed")
