"""Helpers of the API framework's tests.

- :data:`COMMANDS`: test-only API commands, contributed by a plugin object exactly as a
  real plugin contributes its own (``cumulo_api_commands``);
- :func:`make_caller`: an account with one user and API keys;
- :class:`StatementCounter`: counts the SQL statements an engine executes.
"""

from __future__ import annotations

from typing import Any

import falcon.testing
import pluggy
from sqlalchemy import select, update

from cumulo import hookimpl
from cumulo.accounts.models import Account, Domain, User
from cumulo.db.listing import fetch_page
from cumulo.runtime import Runtime
from cumulo.sdk.api import (
    ALL_ROLES,
    Call,
    Command,
    ListResult,
    ObjectResult,
    Param,
    ParamType,
    Role,
    SuccessResult,
)
from cumulo.sdk.errors import InsufficientCapacity, InvalidParameterValue


def _echo(call: Call) -> ObjectResult:
    return ObjectResult(
        "echo",
        {
            **{name: value for name, value in call.params.items()},
            "caller": call.ctx.username,
            "maxpagesize": call.services.get("max_page_size"),
        },
    )


def _boom(call: Call) -> SuccessResult:
    raise RuntimeError("secret internal detail")


def _no_capacity(call: Call) -> SuccessResult:
    raise InsufficientCapacity("no host in pod 7 has 4 GB free")


def _rename_then_fail(call: Call) -> SuccessResult:
    call.session.execute(update(User).where(User.username == "admin").values(firstname="changed"))
    call.session.flush()
    raise InvalidParameterValue("name is not acceptable")


def _list_users(call: Call) -> ListResult:
    stmt: Any = select(User.uuid, User.username).order_by(User.id)
    rows, total = fetch_page(
        call.session,
        stmt,
        page=call.get("page"),
        pagesize=call.get("pagesize"),
        max_page_size=call.services["max_page_size"],
    )
    return ListResult("user", [{"id": uuid, "username": name} for uuid, name in rows], total)


def _create_thing(call: Call) -> tuple[str, str]:
    return "Thing", "11111111-2222-4333-8444-555555555555"


def _async_thing(call: Call) -> SuccessResult:
    return SuccessResult()


PAGING = (
    Param("keyword", description="List by keyword"),
    Param("page", ParamType.INTEGER),
    Param("pagesize", ParamType.INTEGER),
)

COMMANDS = (
    Command(
        "echoTest",
        _echo,
        params=(
            Param("name", description="a name", required=True, length=10),
            Param("count", ParamType.INTEGER, description="a number"),
            Param("flag", ParamType.BOOLEAN, description="a flag"),
        ),
        description="Echoes its parameters",
    ),
    Command("adminOnlyTest", _echo, roles=Role.ADMIN, description="root admins only"),
    Command("boomTest", _boom),
    Command("noCapacityTest", _no_capacity),
    Command("renameThenFailTest", _rename_then_fail),
    Command("listUsersTest", _list_users, params=PAGING, response_name="listuserstestresponse"),
    Command(
        "createThingTest",
        _async_thing,
        is_async=True,
        create=_create_thing,
        instance_type="Thing",
        java_class="org.example.CreateThingCmd",
    ),
    Command("asyncThingTest", _async_thing, is_async=True, roles=ALL_ROLES),
)


class TestCommands:
    """A plugin object contributing :data:`COMMANDS`."""

    __test__ = False  # not a pytest test class

    @hookimpl
    def cumulo_api_commands(self) -> list[Command]:
        """The test commands."""
        return list(COMMANDS)


def client_with_test_commands(runtime: Runtime, pm: pluggy.PluginManager) -> Any:
    """A test client on an app that also serves :data:`COMMANDS`."""
    from cumulo_api.app import create_app

    if not pm.has_plugin("test-commands"):
        pm.register(TestCommands(), name="test-commands")
    return falcon.testing.TestClient(create_app(runtime))


class StatementCounter:
    """Counts statements executed through an engine while ``active``."""

    def __init__(self) -> None:
        self.count = 0
        self.statements: list[str] = []

    def __call__(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.count += 1
        self.statements.append(statement)

    def reset(self) -> None:
        """Start counting from zero."""
        self.count = 0
        self.statements.clear()

    @property
    def queries(self) -> int:
        """Statements other than transaction control: the same on every back end
        (SQLite's ``BEGIN IMMEDIATE`` goes through the cursor, MariaDB's does not)."""
        control = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")
        return sum(not s.lstrip().upper().startswith(control) for s in self.statements)


def make_caller(runtime: Runtime, name: str, account_type: int) -> tuple[str, str]:
    """A new account of ``account_type`` in ROOT with one user; its API keys."""
    from cumulo.auth.keys import register_user_keys

    with runtime.sessions() as session:
        root = session.scalars(select(Domain).where(Domain.path == "/")).one()
        account = Account(account_name=name, type=account_type, domain_id=root.id)
        session.add(account)
        session.flush()
        user = User(
            username=name,
            password="!",
            account_id=account.id,
            firstname=name,
            lastname="test",
            email=f"{name}@example.com",
        )
        session.add(user)
        session.flush()
        keys = register_user_keys(session, user, runtime.database_key, runtime.algorithm)
        session.commit()
    return keys
