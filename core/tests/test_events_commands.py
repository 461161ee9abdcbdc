"""The event commands at the service level: listEvents scoping, filters and paging,
listEventTypes, archiveEvents and deleteEvents.

Every handler runs as the dispatcher runs it: a :class:`Call` in one session, committed
afterwards. The cloud is ROOT with the seeded root admin, a domain ``Sales`` (a domain
admin and a user), its child ``Sales/EMEA`` (a user) and a sibling ``Other`` (a user).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pluggy
import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import select
from sqlalchemy.orm import Session

from cumulo import crypto, events
from cumulo.accounts.models import Account, AccountType, Domain, User
from cumulo.db.base import utcnow
from cumulo.events.commands import ARCHIVE_EVENTS, DELETE_EVENTS, LIST_EVENT_TYPES, LIST_EVENTS
from cumulo.events.models import Event
from cumulo.runtime import Runtime
from cumulo.sdk.api import Call, CallContext, Command, ListResult, SuccessResult
from cumulo.sdk.errors import InvalidParameterValue, PermissionDenied
from cumulo.setup.seed import seed_cloud

DATABASE_KEY = "events-commands-key"


class Cloud:
    """The test cloud: a caller context per user name, and a way to run commands."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.ctx: dict[str, CallContext] = {}
        self.domains: dict[str, Domain] = {}

    def add_domain(self, session: Session, name: str, parent: Domain) -> Domain:
        domain = Domain(
            name=name,
            parent=parent.id,
            path=f"{parent.path}{name}/",
            level=parent.level + 1,
            owner=1,
        )
        session.add(domain)
        session.flush()
        self.domains[name] = domain
        return domain

    def add_user(
        self, session: Session, name: str, domain: Domain, account_type: AccountType
    ) -> CallContext:
        account = Account(account_name=name, type=int(account_type), domain_id=domain.id)
        session.add(account)
        session.flush()
        user = User(username=name, password="x", account_id=account.id)
        session.add(user)
        session.flush()
        return self.remember(account, user, domain)

    def remember(self, account: Account, user: User, domain: Domain) -> CallContext:
        ctx = CallContext(
            user_id=user.id,
            account_id=account.id,
            domain_id=domain.id,
            domain_path=domain.path,
            account_type=account.type,
            user_uuid=user.uuid,
            account_uuid=account.uuid,
            account_name=account.account_name,
            username=user.username,
        )
        self.ctx[user.username] = ctx
        return ctx

    def run(self, who: str, command: Command, **params: Any) -> Any:
        """Run ``command`` as ``who`` in one committed transaction."""
        with self.runtime.sessions() as session:
            call = Call(
                command=command,
                ctx=self.ctx[who],
                session=session,
                params=params,
                pm=self.runtime.pm,
                services={"runtime": self.runtime, "config": self.runtime.config},
            )
            result = command.handler(call)
            session.commit()
        return result

    def record(self, who: str, type: str, description: str, **kw: Any) -> str:
        """Record one event as ``who`` (the owner is ``who``'s account)."""
        command = LIST_EVENTS  # any declaration: record() only needs the caller
        with self.runtime.sessions() as session:
            call = Call(command, self.ctx[who], session, {}, self.runtime.pm)
            uuid = events.record(call, type, description, **kw)
            session.commit()
        return uuid

    def listed(self, who: str, **params: Any) -> list[dict[str, Any]]:
        result = self.run(who, LIST_EVENTS, **params)
        assert isinstance(result, ListResult)
        assert result.object_name == "event"
        assert result.count == len(result.items) or "pagesize" in params
        return list(result.items)


@pytest.fixture
def cloud(migrated_database_url: str, plugin_manager: pluggy.PluginManager) -> Iterator[Cloud]:
    runtime = Runtime.for_url(migrated_database_url, DATABASE_KEY, pm=plugin_manager)
    built = Cloud(runtime)
    with runtime.sessions() as session:
        seed_cloud(session, DATABASE_KEY, crypto.DEFAULT_ALGORITHM)
        session.flush()
        root = session.scalars(select(Domain).where(Domain.path == "/")).one()
        admin = session.scalars(select(User).where(User.username == "admin")).one()
        admin_account = session.get(Account, admin.account_id)
        assert admin_account is not None
        built.remember(admin_account, admin, root)
        sales = built.add_domain(session, "Sales", root)
        emea = built.add_domain(session, "EMEA", sales)
        other = built.add_domain(session, "Other", root)
        built.add_user(session, "salesadmin", sales, AccountType.DOMAIN_ADMIN)
        built.add_user(session, "salesuser", sales, AccountType.NORMAL)
        built.add_user(session, "emeauser", emea, AccountType.NORMAL)
        built.add_user(session, "otheruser", other, AccountType.NORMAL)
        session.commit()
    yield built
    runtime.close()


@pytest.fixture
def history(cloud: Cloud) -> dict[str, str]:
    """One event per user, named after its owner."""
    return {
        who: cloud.record(who, "VM.START", f"{who} started a VM")
        for who in ("admin", "salesadmin", "salesuser", "emeauser", "otheruser")
    }


def _owners(items: list[dict[str, Any]]) -> set[str]:
    return {item["account"] for item in items}


# ---- scoping ----------------------------------------------------------------------------


def test_a_user_sees_only_its_own_events(cloud: Cloud, history: dict[str, str]) -> None:
    assert _owners(cloud.listed("salesuser")) == {"salesuser"}
    # listall widens nothing for a user, nor may it name another account.
    assert _owners(cloud.listed("salesuser", listall=True)) == {"salesuser"}
    with pytest.raises(PermissionDenied):
        cloud.listed("salesuser", account="emeauser", domainid=cloud.domains["EMEA"].uuid)
    # Another user's event by id is simply not among the caller's.
    assert cloud.listed("salesuser", id=history["otheruser"]) == []


def test_a_domain_admin_sees_its_subtree(cloud: Cloud, history: dict[str, str]) -> None:
    assert _owners(cloud.listed("salesadmin")) == {"salesadmin"}
    assert _owners(cloud.listed("salesadmin", listall=True)) == {
        "salesadmin",
        "salesuser",
        "emeauser",
    }
    emea = cloud.domains["EMEA"].uuid
    assert _owners(cloud.listed("salesadmin", domainid=emea)) == {"emeauser"}
    sales = cloud.domains["Sales"].uuid
    assert _owners(cloud.listed("salesadmin", domainid=sales)) == {"salesadmin", "salesuser"}
    assert _owners(cloud.listed("salesadmin", domainid=sales, isrecursive=True)) == {
        "salesadmin",
        "salesuser",
        "emeauser",
    }
    assert _owners(cloud.listed("salesadmin", account="emeauser", domainid=emea)) == {"emeauser"}
    # By id, an admin finds any event of its subtree, and none outside it.
    [found] = cloud.listed("salesadmin", id=history["emeauser"])
    assert found["account"] == "emeauser"
    assert cloud.listed("salesadmin", id=history["otheruser"]) == []
    with pytest.raises(PermissionDenied):
        cloud.listed("salesadmin", domainid=cloud.domains["Other"].uuid)


def test_the_root_admin_sees_everything_with_listall(cloud: Cloud, history: dict[str, str]) -> None:
    assert _owners(cloud.listed("admin")) == {"admin"}
    assert _owners(cloud.listed("admin", listall=True)) == {
        "admin",
        "salesadmin",
        "salesuser",
        "emeauser",
        "otheruser",
    }


def test_bad_ids_answer_431(cloud: Cloud, history: dict[str, str]) -> None:
    with pytest.raises(InvalidParameterValue, match="parameter id value="):
        cloud.listed("admin", id="00000000-0000-4000-8000-000000000000")
    with pytest.raises(InvalidParameterValue, match="parameter domainid value="):
        cloud.listed("admin", domainid="00000000-0000-4000-8000-000000000000")
    with pytest.raises(InvalidParameterValue, match="parameter projectid value="):
        cloud.listed("admin", projectid="00000000-0000-4000-8000-000000000000")
    # No projects exist: "every project" lists nothing.
    assert cloud.listed("admin", projectid="-1") == []


# ---- what a listed event looks like, and the filters --------------------------------------


def test_event_fields_follow_event_response(cloud: Cloud) -> None:
    started = cloud.record("emeauser", "VM.CREATE", "deploying vm-1", state="Started")
    done = cloud.record("emeauser", "VM.CREATE", "deployed vm-1", start_uuid=started)

    newest, oldest = cloud.listed("emeauser")
    assert list(newest) == [
        "id", "username", "type", "level", "description", "account", "domainid", "domain",
        "created", "state", "parentid",
    ]  # fmt: skip
    assert newest["id"] == done
    assert newest["parentid"] == started
    assert oldest["parentid"] is None
    assert (newest["username"], newest["account"], newest["domain"]) == (
        "emeauser",
        "emeauser",
        "EMEA",
    )
    assert newest["domainid"] == cloud.domains["EMEA"].uuid
    assert (newest["type"], newest["level"], newest["state"]) == ("VM.CREATE", "INFO", "Completed")
    assert oldest["state"] == "Started"
    assert isinstance(newest["created"], dt.datetime)


def test_filters(cloud: Cloud) -> None:
    cloud.record("salesuser", "VM.START", "started web-1")
    cloud.record("salesuser", "VM.STOP", "stopped WEB-2", level="WARN")
    cloud.record("salesuser", "VOLUME.CREATE", "created a 100% full disk_1", level="ERROR")

    def types_of(**params: Any) -> set[str]:
        return {item["type"] for item in cloud.listed("salesuser", **params)}

    assert types_of(type="VM.STOP") == {"VM.STOP"}
    assert types_of(type="vm.stop") == {"VM.STOP"}
    assert types_of(level="ERROR") == {"VOLUME.CREATE"}
    assert types_of(level="warn") == {"VM.STOP"}
    assert types_of(keyword="web") == {"VM.START", "VM.STOP"}  # any case
    assert types_of(keyword="warn") == {"VM.STOP"}  # the level is searched too
    assert types_of(keyword="VOLUME") == {"VOLUME.CREATE"}
    assert types_of(keyword="100%") == {"VOLUME.CREATE"}  # % is literal
    assert types_of(keyword="disk_") == {"VOLUME.CREATE"}
    assert types_of(keyword="k_1x") == set()
    today = utcnow().date()
    tomorrow = today + dt.timedelta(days=1)
    assert len(types_of(startdate=today, enddate=tomorrow)) == 3
    assert types_of(startdate=tomorrow) == set()
    assert types_of(enddate=dt.datetime(2000, 1, 1)) == set()
    aware = dt.datetime.now(dt.timezone(dt.timedelta(hours=5))) + dt.timedelta(minutes=1)
    assert len(types_of(enddate=aware)) == 3
    # 4.1 answers nothing for entrytime with duration.
    assert types_of(entrytime=60, duration=10) == set()


def test_paging_and_count(cloud: Cloud) -> None:
    made = [cloud.record("otheruser", "USER.UPDATE", f"update {n}") for n in range(7)]

    result = cloud.run("otheruser", LIST_EVENTS, page=2, pagesize=3)
    assert result.count == 7
    assert [item["id"] for item in result.items] == list(reversed(made))[3:6]
    beyond = cloud.run("otheruser", LIST_EVENTS, page=5, pagesize=3)
    assert (beyond.count, list(beyond.items)) == (7, [])
    everything = cloud.run("otheruser", LIST_EVENTS, pagesize=-1)
    assert len(everything.items) == 7
    with pytest.raises(InvalidParameterValue):
        cloud.run("otheruser", LIST_EVENTS, page=1)


def test_a_page_costs_the_same_statements_however_many_events(cloud: Cloud) -> None:
    def statements(who: str, **params: Any) -> int:
        count = 0

        def counter(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            nonlocal count
            # SQLite's engine opens transactions with an explicit BEGIN: not a query.
            count += not statement.lstrip().upper().startswith("BEGIN")

        sa_event.listen(cloud.runtime.engine, "before_cursor_execute", counter)
        try:
            cloud.listed(who, **params)
        finally:
            sa_event.remove(cloud.runtime.engine, "before_cursor_execute", counter)
        return count

    for n in range(2):
        cloud.record("emeauser", "VM.START", f"start {n}")
    few = statements("salesadmin", listall=True)
    few_in_domain = statements("salesadmin", domainid=cloud.domains["EMEA"].uuid)
    for n in range(40):
        cloud.record("emeauser", "VM.START", f"start {n}")
    assert statements("salesadmin", listall=True) == few == 1
    assert statements("salesadmin", domainid=cloud.domains["EMEA"].uuid) == few_in_domain


# ---- listEventTypes ---------------------------------------------------------------------


def test_list_event_types(cloud: Cloud) -> None:
    result = cloud.run("salesuser", LIST_EVENT_TYPES)
    assert result.object_name == "eventtype"
    assert result.count == len(result.items) == 218  # 4.1's 217 + ALERT.COMPUTE.HOST
    names = [item["name"] for item in result.items]
    assert names[:3] == ["VM.CREATE", "VM.DESTROY", "VM.START"]
    assert {"USER.LOGIN", "CONFIGURATION.VALUE.EDIT", "ACCOUNT.DELETE"} <= set(names)


# ---- archiveEvents and deleteEvents ------------------------------------------------------


def test_archived_events_are_hidden_but_kept(cloud: Cloud, history: dict[str, str]) -> None:
    mine = cloud.record("salesuser", "VM.STOP", "second event")

    assert isinstance(cloud.run("salesuser", ARCHIVE_EVENTS, ids=[mine]), SuccessResult)
    assert [item["id"] for item in cloud.listed("salesuser")] == [history["salesuser"]]
    with cloud.runtime.sessions() as session:
        kept = session.scalars(select(Event).where(Event.uuid == mine)).one()
        assert kept.archived is True
    # Archived events are out of deleteEvents' reach (4.2).
    with pytest.raises(InvalidParameterValue, match="ids"):
        cloud.run("salesuser", DELETE_EVENTS, ids=[mine])


def test_nobody_archives_or_deletes_what_is_not_theirs(
    cloud: Cloud, history: dict[str, str]
) -> None:
    for command in (ARCHIVE_EVENTS, DELETE_EVENTS):
        with pytest.raises(InvalidParameterValue, match="ids"):
            cloud.run("salesuser", command, ids=[history["salesuser"], history["emeauser"]])
        with pytest.raises(InvalidParameterValue, match="ids"):
            cloud.run("salesadmin", command, ids=[history["otheruser"]])
    # All or nothing: the caller's own event named with a foreign one was not touched.
    assert [item["id"] for item in cloud.listed("salesuser")] == [history["salesuser"]]
    # A type-wide delete by a user reaches its own events only.
    cloud.run("salesuser", DELETE_EVENTS, type="VM.START")
    assert cloud.listed("salesuser") == []
    assert _owners(cloud.listed("admin", listall=True)) == {
        "admin",
        "salesadmin",
        "emeauser",
        "otheruser",
    }


def test_admins_manage_their_subtree(cloud: Cloud, history: dict[str, str]) -> None:
    cloud.run("salesadmin", ARCHIVE_EVENTS, ids=[history["emeauser"], history["salesuser"]])
    assert cloud.listed("emeauser") == []
    cloud.run("admin", DELETE_EVENTS, enddate=utcnow() + dt.timedelta(minutes=1))
    with cloud.runtime.sessions() as session:
        remaining = session.scalars(select(Event.uuid).order_by(Event.id)).all()
    # The root admin deleted every unarchived event; the two archived ones remain.
    assert sorted(remaining) == sorted([history["emeauser"], history["salesuser"]])


def test_archive_needs_a_selection(cloud: Cloud, history: dict[str, str]) -> None:
    for command in (ARCHIVE_EVENTS, DELETE_EVENTS):
        with pytest.raises(InvalidParameterValue, match="either ids, type or enddate"):
            cloud.run("admin", command)
        with pytest.raises(InvalidParameterValue, match="startdate is after enddate"):
            cloud.run("admin", command, startdate=dt.date(2020, 2, 1), enddate=dt.date(2020, 1, 1))
    assert len(cloud.listed("admin", listall=True)) == len(history)


def test_archive_by_type_and_date_range(cloud: Cloud) -> None:
    cloud.record("otheruser", "USER.LOGIN", "login")
    cloud.record("otheruser", "USER.LOGOUT", "logout")

    cloud.run("otheruser", ARCHIVE_EVENTS, type="USER.LOGIN")
    assert [item["type"] for item in cloud.listed("otheruser")] == ["USER.LOGOUT"]
    cloud.run("otheruser", ARCHIVE_EVENTS, enddate=dt.date(2000, 1, 1))
    assert [item["type"] for item in cloud.listed("otheruser")] == ["USER.LOGOUT"]


# ---- the hook that contributes them ------------------------------------------------------


def test_event_commands_arrive_through_the_api_commands_hook(
    plugin_manager: pluggy.PluginManager,
) -> None:
    # The event and configuration commands are built-in plugins: they reach the command
    # registry through cumulo_api_commands like any plugin's declarations.
    contributed = {
        impl.plugin_name: [command.name for command in impl.function()]
        for impl in plugin_manager.hook.cumulo_api_commands.get_hookimpls()
    }
    assert contributed["cumulo.events.commands"] == [
        "listEvents",
        "listEventTypes",
        "archiveEvents",
        "deleteEvents",
    ]
    assert contributed["cumulo.config.commands"] == ["listConfigurations", "updateConfiguration"]
    declared = [c for commands in plugin_manager.hook.cumulo_api_commands() for c in commands]
    assert {LIST_EVENTS, LIST_EVENT_TYPES, ARCHIVE_EVENTS, DELETE_EVENTS} <= set(declared)
