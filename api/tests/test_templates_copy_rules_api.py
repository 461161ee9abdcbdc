"""``copyTemplate`` against REQ-OM-10 and 4.1's rules, over the API on a real database
with two zones whose ``file://`` stores the simulator's storage driver copies between
(the fixtures of :mod:`test_templates_api`):

- a private template is usable only in the zones it was copied to (REQ-OM-10);
- who may copy it is 4.1's ``checkAccess(ModifyEntry)`` of a template: its owner or an
  admin managing it, and for a private template also the accounts it was shared with
  by a launch permission; a public template only its owner or an admin;
- a template already in the destination zone is not copied again: the copy answers
  that zone's entry, as 4.1 does ("don't need to copy").
"""

from __future__ import annotations

from typing import Any

import falcon.testing
from api_test_commands import make_caller
from sqlalchemy import func, select
from test_templates_api import (
    _call,
    _error,
    _job,
    _jobs,
    _register,
    server,
    simulator_state,
    zones,
)

from cumulo.accounts.models import Account, Domain, User
from cumulo.events.models import Event
from cumulo.runtime import Runtime
from cumulo.sdk.api import CallContext
from cumulo.sdk.errors import InvalidParameterValue
from cumulo.templates.lookup import template_for_deploy

__all__ = ["server", "simulator_state", "zones"]  # fixtures, shared with the template tests

Keys = tuple[str, str]


def _ctx(runtime: Runtime, username: str) -> CallContext:
    with runtime.sessions() as session:
        user, account, domain = session.execute(
            select(User, Account, Domain)
            .join(Account, Account.id == User.account_id)
            .join(Domain, Domain.id == Account.domain_id)
            .where(User.username == username)
        ).one()
        return CallContext(
            user_id=user.id,
            account_id=account.id,
            domain_id=domain.id,
            domain_path=domain.path,
            account_type=account.type,
            account_name=account.account_name,
            username=user.username,
        )


def _deployable_in(runtime: Runtime, username: str, template: str, zone_id: int) -> bool:
    with runtime.sessions() as session:
        try:
            template_for_deploy(session, _ctx(runtime, username), template, zone_id)
        except InvalidParameterValue as refused:
            assert str(refused).startswith("templateid") and "not ready in that zone" in str(
                refused
            )
            return False
    return True


def _copies(runtime: Runtime) -> int:
    with runtime.sessions() as session:
        return int(
            session.scalar(
                select(func.count()).select_from(Event).where(Event.type == "TEMPLATE.COPY")
            )
            or 0
        )


def _copy(api: falcon.testing.TestClient, runtime: Runtime, keys: Keys, template: str,
          zones: list[Any]) -> Any:  # fmt: skip
    return _job(api, runtime, keys, "copyTemplate", id=template,
                sourcezoneid=zones[0].zone_uuid, destzoneid=zones[1].zone_uuid)  # fmt: skip


def test_a_private_template_is_used_in_another_zone_once_copied_there(
    api: falcon.testing.TestClient, runtime: Runtime, zones: list[Any], server: Any
) -> None:
    """REQ-OM-10."""
    alice = make_caller(runtime, "alice", 0)
    (entry,) = _register(api, alice, zones[0].zone_uuid, server.url("/t.qcow2"))
    _jobs(runtime)
    assert _deployable_in(runtime, "alice", entry["id"], zones[0].zone_id)
    assert not _deployable_in(runtime, "alice", entry["id"], zones[1].zone_id)
    copied = _copy(api, runtime, alice, entry["id"], zones)
    assert copied["jobstatus"] == 1, copied
    assert copied["jobresult"]["template"]["zoneid"] == zones[1].zone_uuid
    assert _deployable_in(runtime, "alice", entry["id"], zones[1].zone_id)
    # Copying again copies nothing: the answer is the entry already there (4.1).
    before = _copies(runtime)
    again = _copy(api, runtime, alice, entry["id"], zones)
    assert again["jobstatus"] == 1, again
    assert again["jobresult"]["template"]["zoneid"] == zones[1].zone_uuid
    assert again["jobresult"]["template"]["status"] == "Download Complete"
    assert _copies(runtime) == before
    assert len(list(zones[1].store_dir.rglob("*.qcow2"))) == 1
    # Bad zones are 431s naming the parameter.
    same = _job(api, runtime, alice, "copyTemplate", id=entry["id"],
                sourcezoneid=zones[0].zone_uuid, destzoneid=zones[0].zone_uuid)  # fmt: skip
    assert same["jobresult"]["errorcode"] == 431
    assert same["jobresult"]["errortext"].startswith("destzoneid")


def test_who_may_copy_a_private_template(
    api: falcon.testing.TestClient, runtime: Runtime, admin_keys: Keys, zones: list[Any],
    server: Any,
) -> None:  # fmt: skip
    alice, bob = make_caller(runtime, "alice", 0), make_caller(runtime, "bob", 0)
    (entry,) = _register(api, alice, zones[0].zone_uuid, server.url("/t.qcow2"))
    _jobs(runtime)
    refused = _copy(api, runtime, bob, entry["id"], zones)
    assert refused["jobstatus"] == 2 and refused["jobresult"]["errorcode"] == 531
    assert not _deployable_in(runtime, "alice", entry["id"], zones[1].zone_id)
    # Shared with bob by a launch permission: bob may copy it (4.1: the permission
    # passes checkAccess for a private template).
    _call(api, alice, "updateTemplatePermissions", id=entry["id"], accounts="bob", op="add")
    copied = _copy(api, runtime, bob, entry["id"], zones)
    assert copied["jobstatus"] == 1, copied
    assert _deployable_in(runtime, "bob", entry["id"], zones[1].zone_id)
    # The root admin copies anyone's (here: back to where it already is, a no-op).
    assert _copy(api, runtime, admin_keys, entry["id"], zones)["jobstatus"] == 1


def test_a_public_template_is_copied_by_its_owner_or_an_admin_only(
    api: falcon.testing.TestClient, runtime: Runtime, admin_keys: Keys, zones: list[Any],
    server: Any,
) -> None:  # fmt: skip
    (entry,) = _register(api, admin_keys, zones[0].zone_uuid, server.url("/t.qcow2"),
                         ispublic=True)  # fmt: skip
    _jobs(runtime)
    carol = make_caller(runtime, "carol", 0)
    dora = make_caller(runtime, "dora", 2)  # a domain admin of ROOT, not the owner
    for keys in (carol, dora):
        refused = _copy(api, runtime, keys, entry["id"], zones)
        assert refused["jobstatus"] == 2 and refused["jobresult"]["errorcode"] == 531
        assert "public" in refused["jobresult"]["errortext"]
    assert _copy(api, runtime, admin_keys, entry["id"], zones)["jobstatus"] == 1
    # Once copied, everyone it is public to uses it there.
    assert _deployable_in(runtime, "carol", entry["id"], zones[1].zone_id)
    listed = _call(api, carol, "listTemplates", templatefilter="executable",
                   zoneid=zones[1].zone_uuid)["template"]  # fmt: skip
    assert [t["id"] for t in listed if t["id"] == entry["id"]] == [entry["id"]]


def test_another_account_cannot_see_a_private_template_through_copy(
    api: falcon.testing.TestClient, runtime: Runtime, zones: list[Any], server: Any
) -> None:
    alice, bob = make_caller(runtime, "alice", 0), make_caller(runtime, "bob", 0)
    (entry,) = _register(api, alice, zones[0].zone_uuid, server.url("/t.qcow2"))
    _jobs(runtime)
    _copy(api, runtime, alice, entry["id"], zones)
    # Even where it already is, bob's copy is refused rather than answered with it.
    refused = _copy(api, runtime, bob, entry["id"], zones)
    assert refused["jobstatus"] == 2 and refused["jobresult"]["errorcode"] == 531
    assert "template" not in refused["jobresult"]
    status, _ = _error(api, bob, "listTemplatePermissions", id=entry["id"])
    assert status == 531
