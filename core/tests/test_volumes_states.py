"""The volume state machine: transitions are conditional updates that refuse what the
state does not allow (431) and lose cleanly to a concurrent change (534); device ids."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from cumulo.accounts.models import Account
from cumulo.infra.models import Zone
from cumulo.runtime import Runtime
from cumulo.sdk.errors import InvalidParameterValue, ResourceUnavailable
from cumulo.setup.seed import seed_cloud
from cumulo.volumes.attach import pick_device_id
from cumulo.volumes.models import Volume, VolumeState, VolumeType
from cumulo.volumes.states import VolumeEvent, volume_transition


@pytest.fixture
def runtime(migrated_database_url: str, plugin_manager) -> Iterator[Runtime]:  # type: ignore[no-untyped-def]
    built = Runtime.for_url(migrated_database_url, "volume-test-key", pm=plugin_manager)
    with built.sessions.begin() as session:
        seed_cloud(session, built.database_key, built.algorithm)
    yield built
    built.close()


def _volume(session: Session) -> Volume:
    admin = session.scalars(select(Account).where(Account.account_name == "admin")).one()
    zone = Zone(name="z", dns1="8.8.8.8", internal_dns1="10.0.0.2", networktype="Basic")
    session.add(zone)
    session.flush()
    volume = Volume(
        name="v", account_id=admin.id, domain_id=admin.domain_id, data_center_id=zone.id,
        volume_type=VolumeType.DATADISK.value, state=VolumeState.ALLOCATED.value, size=1,
    )  # fmt: skip
    session.add(volume)
    session.flush()
    return volume


def test_allowed_transitions_move_and_count(runtime: Runtime) -> None:
    with runtime.sessions() as session:
        volume = _volume(session)
        assert volume_transition(session, volume, VolumeEvent.CREATE_REQUESTED, "create") is (
            VolumeState.CREATING
        )
        changes = {"path": "p"}
        volume_transition(session, volume, VolumeEvent.OPERATION_SUCCEEDED, "create", changes)
        session.expire_all()
        stored = session.get(Volume, volume.id)
        assert stored is not None
        assert (stored.state, stored.path, stored.update_count) == ("Ready", "p", 2)


def test_a_disallowed_event_names_the_state(runtime: Runtime) -> None:
    with runtime.sessions() as session:
        volume = _volume(session)
        with pytest.raises(InvalidParameterValue, match="it is Allocated; resize is possible"):
            volume_transition(session, volume, VolumeEvent.RESIZE_REQUESTED, "resize")


def test_a_concurrent_change_wins(runtime: Runtime) -> None:
    with runtime.sessions() as session:
        volume = _volume(session)
        # Another operation moved it meanwhile (behind this session's back).
        bump = update(Volume).where(Volume.id == volume.id)
        session.execute(
            bump.values(update_count=Volume.update_count + 1),
            execution_options={"synchronize_session": False},
        )
        with pytest.raises(ResourceUnavailable, match="changed by another operation"):
            volume_transition(session, volume, VolumeEvent.DESTROY_REQUESTED, "delete")


def test_device_ids_skip_the_cdrom_slot() -> None:
    assert pick_device_id([0], None) == 1
    assert pick_device_id([0, 1, 2], None) == 4
    assert pick_device_id([0, 1], 5) == 5
    for taken_or_bad in (1, 3, 0, 16):
        with pytest.raises(InvalidParameterValue, match=r"^deviceid"):
            pick_device_id([0, 1], taken_or_bad)
