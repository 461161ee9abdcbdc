"""Events and the global configuration over the wire: signed requests through the falcon
app on a real database, as CloudStack clients send them.

Proves at the API level what the core's tests prove below it: an event is published to
``cumulo_event`` observers only after its request committed, a failed request records
nothing, only root admins reach the configuration commands (bitmask 1 → 432 before
anything else), secrets never travel back, and listing events costs the same number of
statements however many there are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import falcon.testing
from sqlalchemy import func, select

from cumulo import hookimpl
from cumulo.db.engine import create_engine
from cumulo.events.models import Event
from cumulo.runtime import Runtime
from cumulo.sdk import Event as PublishedEvent
from cumulo_api.testing import signed_request


@dataclass(eq=False)  # pluggy keeps plugins in sets
class Observer:
    """Remembers each event and whether another connection could already read its row."""

    url: Any
    seen: list[PublishedEvent] = field(default_factory=list)
    committed: list[bool] = field(default_factory=list)

    @hookimpl
    def cumulo_event(self, event: PublishedEvent) -> None:
        self.seen.append(event)
        other = create_engine(self.url)
        try:
            with other.connect() as connection:
                rows = connection.scalar(
                    select(func.count()).select_from(Event).where(Event.uuid == event.details["id"])
                )
            self.committed.append(rows == 1)
        finally:
            other.dispose()


def _observe(runtime: Runtime) -> Observer:
    observer = Observer(runtime.engine.url)
    runtime.pm.register(observer, name="test-observer")
    return observer


def _event_rows(runtime: Runtime) -> list[Event]:
    with runtime.sessions() as session:
        return list(session.scalars(select(Event).order_by(Event.id)))


def test_update_configuration_records_an_event_published_after_commit(
    runtime: Runtime, api: falcon.testing.TestClient, admin_keys: tuple[str, str]
) -> None:
    observer = _observe(runtime)

    answer = signed_request(
        api, admin_keys, "updateConfiguration", name="default.page.size", value="200"
    )

    assert answer.status_code == 200, answer.text
    configuration = answer.json["updateconfigurationresponse"]["configuration"]
    assert (configuration["name"], configuration["value"]) == ("default.page.size", "200")
    assert [e.type for e in observer.seen] == ["CONFIGURATION.VALUE.EDIT"]
    assert observer.committed == [True]
    listed = signed_request(api, admin_keys, "listEvents", type="CONFIGURATION.VALUE.EDIT")
    [event] = listed.json["listeventsresponse"]["event"]
    assert listed.json["listeventsresponse"]["count"] == 1
    assert (event["username"], event["account"], event["domain"], event["level"]) == (
        "admin",
        "admin",
        "ROOT",
        "INFO",
    )
    assert event["id"] == observer.seen[0].details["id"]
    assert "'default.page.size'" in event["description"]


def test_a_refused_update_records_nothing(
    runtime: Runtime, api: falcon.testing.TestClient, admin_keys: tuple[str, str]
) -> None:
    observer = _observe(runtime)

    answer = signed_request(
        api, admin_keys, "updateConfiguration", name="default.page.size", value="0"
    )

    assert answer.status_code == 431
    error = answer.json["updateconfigurationresponse"]
    assert error["errorcode"] == 431
    assert "'default.page.size'" in error["errortext"]
    assert answer.headers["X-Description"] == error["errortext"]
    missing = signed_request(api, admin_keys, "updateConfiguration", value="1")
    assert missing.status_code == 431
    assert "name" in missing.json["updateconfigurationresponse"]["errortext"]
    assert _event_rows(runtime) == []
    assert observer.seen == []


def test_secrets_never_come_back(
    runtime: Runtime, api: falcon.testing.TestClient, admin_keys: tuple[str, str]
) -> None:
    listed = signed_request(api, admin_keys, "listConfigurations", name="singlesignon.key")
    [sso] = listed.json["listconfigurationsresponse"]["configuration"]
    assert (sso["name"], sso["value"], sso["category"]) == (
        "security.singlesignon.key",
        "********",
        "Secure",
    )
    changed = signed_request(
        api,
        admin_keys,
        "updateConfiguration",
        name="security.singlesignon.key",
        value="a-new-sso-key-nobody-sees",
    )
    assert changed.status_code == 200
    assert "a-new-sso-key-nobody-sees" not in changed.text
    events = signed_request(api, admin_keys, "listEvents").text
    assert "a-new-sso-key-nobody-sees" not in events
    assert "security.singlesignon.key" in events


def test_configuration_commands_are_root_admin_only(
    api: falcon.testing.TestClient,
    user_keys: tuple[str, str],
    domain_admin_keys: tuple[str, str],
) -> None:
    for keys in (user_keys, domain_admin_keys):
        for command, params in (
            ("listConfigurations", {}),
            ("updateConfiguration", {"name": "default.page.size", "value": "1"}),
        ):
            answer = signed_request(api, keys, command, **params)
            assert answer.status_code == 432, (command, answer.text)
            assert answer.json["errorresponse"]["errorcode"] == 432


def test_users_list_only_their_own_events(
    runtime: Runtime,
    api: falcon.testing.TestClient,
    admin_keys: tuple[str, str],
    user_keys: tuple[str, str],
) -> None:
    signed_request(api, admin_keys, "updateConfiguration", name="default.page.size", value="9")

    for params in ({}, {"listall": True}):
        answer = signed_request(api, user_keys, "listEvents", **params)
        assert answer.status_code == 200
        assert answer.json == {"listeventsresponse": {}}  # 4.1's empty list
    assert signed_request(api, admin_keys, "listEvents").json["listeventsresponse"]["count"] == 1


def test_event_types_over_the_wire(
    api: falcon.testing.TestClient, user_keys: tuple[str, str]
) -> None:
    answer = signed_request(api, user_keys, "listEventTypes")

    assert answer.status_code == 200
    body = answer.json["listeventtypesresponse"]
    assert body["count"] == 218 == len(body["eventtype"])  # 4.1's 217 + ALERT.COMPUTE.HOST
    assert body["eventtype"][0] == {"name": "VM.CREATE"}
    xml = signed_request(api, user_keys, "listEventTypes", response="xml")
    assert "<eventtype><name>USER.LOGIN</name></eventtype>" in xml.text


def test_archive_and_delete_over_the_wire(
    runtime: Runtime, api: falcon.testing.TestClient, admin_keys: tuple[str, str]
) -> None:
    for value in ("100", "200"):
        signed_request(
            api, admin_keys, "updateConfiguration", name="default.page.size", value=value
        )
    first, second = (row.uuid for row in _event_rows(runtime))

    archived = signed_request(api, admin_keys, "archiveEvents", ids=first)
    assert archived.status_code == 200, archived.text
    assert archived.json == {"archiveeventsresponse": {"success": "true"}}
    [left] = signed_request(api, admin_keys, "listEvents").json["listeventsresponse"]["event"]
    assert left["id"] == second
    refused = signed_request(api, admin_keys, "deleteEvents")
    assert refused.status_code == 431
    assert "either ids, type or enddate" in refused.json["deleteeventsresponse"]["errortext"]
    deleted = signed_request(api, admin_keys, "deleteEvents", type="CONFIGURATION.VALUE.EDIT")
    assert deleted.json == {"deleteeventsresponse": {"success": "true"}}
    assert [row.uuid for row in _event_rows(runtime)] == [first]  # the archived one stays


def test_listing_events_costs_the_same_however_many(
    runtime: Runtime, api: falcon.testing.TestClient, admin_keys: tuple[str, str], statements: Any
) -> None:
    def listing_cost() -> int:
        statements.reset()
        answer = signed_request(api, admin_keys, "listEvents", listall=True)
        assert answer.status_code == 200
        return int(statements.count)

    signed_request(api, admin_keys, "updateConfiguration", name="default.page.size", value="7")
    few = listing_cost()
    for n in range(30):
        signed_request(
            api, admin_keys, "updateConfiguration", name="default.page.size", value=str(n + 10)
        )
    assert listing_cost() == few
    body = signed_request(api, admin_keys, "listEvents", listall=True).json["listeventsresponse"]
    assert body["count"] == 31
