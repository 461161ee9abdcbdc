"""cumulo.events.record: the event row is part of the action's transaction, and the
``cumulo_event`` hook hears of it only after that transaction has committed.

Runs on a migrated, seeded database (SQLite, or MariaDB with ``CUMULO_TEST_DB``): the
ordering proof reads the row back through a second engine, i.e. another connection.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pluggy
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cumulo import crypto, events, hookimpl
from cumulo.accounts.models import Account, Domain, User
from cumulo.db.engine import create_engine
from cumulo.events import types
from cumulo.events.models import Event
from cumulo.runtime import Runtime
from cumulo.sdk import Event as PublishedEvent
from cumulo.sdk.api import Call, CallContext, Command, RawResult
from cumulo.setup.seed import seed_cloud

DATABASE_KEY = "events-test-key"


@dataclass(eq=False)  # pluggy keeps plugins in sets
class Observer:
    """A ``cumulo_event`` plugin that remembers each event and whether, at that moment,
    another connection could already read its row."""

    url: str
    seen: list[PublishedEvent] = field(default_factory=list)
    committed: list[bool] = field(default_factory=list)

    @hookimpl
    def cumulo_event(self, event: PublishedEvent) -> None:
        self.seen.append(event)
        other = create_engine(self.url)
        try:
            with other.connect() as connection:
                found = connection.scalar(
                    select(func.count()).select_from(Event).where(Event.uuid == event.details["id"])
                )
            self.committed.append(found == 1)
        finally:
            other.dispose()


@pytest.fixture
def runtime(migrated_database_url: str, plugin_manager: pluggy.PluginManager) -> Iterator[Runtime]:
    """A runtime (which installs event publication) on a seeded database."""
    built = Runtime.for_url(migrated_database_url, DATABASE_KEY, pm=plugin_manager)
    with built.sessions() as session:
        seed_cloud(session, DATABASE_KEY, crypto.DEFAULT_ALGORITHM)
        session.commit()
    yield built
    built.close()


@pytest.fixture
def observer(runtime: Runtime, migrated_database_url: str) -> Observer:
    """An observer registered on the runtime's plugin manager."""
    watcher = Observer(migrated_database_url)
    runtime.pm.register(watcher, name="test-observer")
    return watcher


def _admin_call(session: Session, runtime: Runtime) -> Call:
    admin = session.scalars(select(User).where(User.username == "admin")).one()
    account = session.get(Account, admin.account_id)
    assert account is not None
    domain = session.get(Domain, account.domain_id)
    assert domain is not None
    ctx = CallContext(
        user_id=admin.id,
        account_id=account.id,
        domain_id=domain.id,
        domain_path=domain.path,
        account_type=account.type,
        user_uuid=admin.uuid,
        account_uuid=account.uuid,
        account_name=account.account_name,
        username=admin.username,
    )
    command = Command(name="testAction", handler=lambda call: RawResult({}))
    return Call(command=command, ctx=ctx, session=session, params={}, pm=runtime.pm)


def _events(runtime: Runtime) -> list[Event]:
    with runtime.sessions() as session:
        return list(session.scalars(select(Event).order_by(Event.id)))


def test_committed_event_is_published_once_after_commit(
    runtime: Runtime, observer: Observer
) -> None:
    with runtime.sessions() as session:
        call = _admin_call(session, runtime)
        uuid = events.record(
            call,
            "ACCOUNT.CREATE",
            "Successfully completed creating account. Account Name: sales",
            resource_type="Account",
            resource_uuid="4b2d0c5e-0000-4000-8000-000000000001",
        )
        session.flush()
        assert observer.seen == [], "nothing may be published before the commit"
        session.commit()

    assert [e.type for e in observer.seen] == ["ACCOUNT.CREATE"]
    assert observer.committed == [True], "the observer ran before the row was committed"
    published = observer.seen[0]
    assert published.details["id"] == uuid
    assert published.account_uuid == call.ctx.account_uuid
    assert published.resource_type == "Account"
    assert published.level == "INFO"
    [row] = _events(runtime)
    assert (row.uuid, row.type, row.state, row.level) == (
        uuid,
        "ACCOUNT.CREATE",
        "Completed",
        "INFO",
    )
    assert (row.user_id, row.account_id, row.domain_id) == (
        call.ctx.user_id,
        call.ctx.account_id,
        call.ctx.domain_id,
    )
    assert row.archived is False
    assert row.start_id == 0


def test_rolled_back_action_leaves_no_event(runtime: Runtime, observer: Observer) -> None:
    with runtime.sessions() as session:
        events.record(_admin_call(session, runtime), "USER.CREATE", "creating user bob")
        session.flush()
        session.rollback()
        session.commit()  # a later, empty commit must not publish the dropped event

    assert _events(runtime) == []
    assert observer.seen == []


def test_closing_without_commit_publishes_nothing(runtime: Runtime, observer: Observer) -> None:
    session = runtime.sessions()
    events.record(_admin_call(session, runtime), "USER.DELETE", "deleting user bob")
    session.close()
    with runtime.sessions() as later:
        later.execute(select(1))
        later.commit()

    assert _events(runtime) == []
    assert observer.seen == []


def test_savepoint_rollback_drops_only_its_events(runtime: Runtime, observer: Observer) -> None:
    with runtime.sessions() as session:
        call = _admin_call(session, runtime)
        events.record(call, "DOMAIN.CREATE", "kept")
        savepoint = session.begin_nested()
        events.record(call, "DOMAIN.DELETE", "rolled back with its savepoint")
        session.flush()
        savepoint.rollback()
        with session.begin_nested():
            events.record(call, "DOMAIN.UPDATE", "kept: its savepoint was released")
        assert observer.seen == [], "releasing a savepoint is not the commit"
        session.commit()

    assert [e.type for e in observer.seen] == ["DOMAIN.CREATE", "DOMAIN.UPDATE"]
    assert [e.type for e in _events(runtime)] == ["DOMAIN.CREATE", "DOMAIN.UPDATE"]


def test_owner_defaults_and_overrides(runtime: Runtime, observer: Observer) -> None:
    with runtime.sessions() as session:
        call = _admin_call(session, runtime)
        system = session.get(Account, 1)
        assert system is not None
        # An action on another account's resource: the owner is that account, the actor
        # stays the caller.
        events.record(call, "VM.START", "starting a system VM", account_id=system.id)
        # No caller at all (a background task): the system account and user.
        events.record(session, "SSVM.START", "starting the secondary storage VM", level="WARN")
        session.commit()

    on_behalf, background = _events(runtime)
    assert (on_behalf.account_id, on_behalf.user_id, on_behalf.domain_id) == (
        1,
        call.ctx.user_id,
        system.domain_id,
    )
    assert (background.account_id, background.user_id, background.level) == (1, 1, "WARN")
    assert [e.account_uuid for e in observer.seen] == [system.uuid, system.uuid]


def test_completed_event_points_at_its_start(runtime: Runtime) -> None:
    with runtime.sessions() as session:
        call = _admin_call(session, runtime)
        started = events.record(call, "VM.CREATE", "deploying", state="Started")
        session.flush()
        events.record(call, "VM.CREATE", "deployed", start_uuid=started)
        session.commit()

    start, done = _events(runtime)
    assert (start.state, done.state, done.start_id) == ("Started", "Completed", start.id)


@pytest.mark.parametrize(
    ("kind", "arguments"),
    [
        ("type", {"type": "not a type"}),
        ("type", {"type": "lower.case"}),
        ("type", {"type": "A" * 33}),
        ("level", {"level": "DEBUG"}),
        ("state", {"state": "Done"}),
        ("start", {"start_uuid": "00000000-0000-4000-8000-000000000000"}),
    ],
)
def test_malformed_events_are_programming_errors(
    runtime: Runtime, kind: str, arguments: dict[str, str]
) -> None:
    with runtime.sessions() as session:
        call = _admin_call(session, runtime)
        values = {"type": "USER.UPDATE", **arguments}
        kind_of_type = values.pop("type")
        with pytest.raises(ValueError, match="no event" if kind == "start" else f"event {kind}"):
            events.record(call, kind_of_type, "text", **values)  # type: ignore[arg-type]


def test_long_descriptions_are_cut_to_the_column(runtime: Runtime) -> None:
    with runtime.sessions() as session:
        events.record(_admin_call(session, runtime), "TEMPLATE.UPDATE", "x" * 2000)
        session.commit()

    [row] = _events(runtime)
    assert row.description == "x" * 1024


def test_catalogue_is_cloudstack_41s() -> None:
    # 4.1's 217 types, then the host alert cumulo records as an event (appended).
    assert len(types.CATALOGUE) == len(types.KNOWN) == 218
    assert types.CATALOGUE[217:] == (types.ALERT_COMPUTE_HOST,)
    for name in ("USER.LOGIN", "ACCOUNT.CREATE", "CONFIGURATION.VALUE.EDIT", "CREATE_TAGS"):
        assert types.is_known(name)
    # Global load balancing came with 4.2.
    assert not any(name.startswith("GLOBAL.LB") for name in types.CATALOGUE)
    assert all(types.is_well_formed(name) for name in types.CATALOGUE)
    assert types.CATALOGUE[0] == "VM.CREATE"
    assert types.is_well_formed("MYPLUGIN.WIDGET.CREATE")
    assert not types.is_known("MYPLUGIN.WIDGET.CREATE")
