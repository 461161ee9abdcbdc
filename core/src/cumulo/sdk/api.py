"""API command declarations: one per CloudStack command, read by everything else.

A :class:`Command` says what the wire sees (name, parameters, roles, async flag,
envelope) and which handler runs it. ``listApis``, parameter validation, role checks,
the OpenAPI description and the 4.1 compatibility test are all generated from these
declarations, never written twice. The core's own commands and plugins' commands are
contributed the same way: through the ``cumulo_api_commands`` hook.

Handlers are HTTP-agnostic: they receive a :class:`Call` (who is calling, a database
session inside the request's transaction, the parsed parameters) and return a result
value (:class:`ObjectResult`, :class:`ListResult`, :class:`SuccessResult`,
:class:`RawResult`); errors are raised as :mod:`cumulo.sdk.errors` exceptions.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pluggy
    from sqlalchemy.orm import Session


class Role(enum.IntFlag):
    """CloudStack 4.1 ``RoleType`` bits; a command's ``roles`` is their union.

    Account type → role: 1 → ADMIN, 3 → RESOURCE_ADMIN, 2 → DOMAIN_ADMIN, 0 → USER;
    types 4 and 5 have no role (no API at all).
    """

    ADMIN = 1
    RESOURCE_ADMIN = 2
    DOMAIN_ADMIN = 4
    USER = 8


ALL_ROLES = Role.ADMIN | Role.RESOURCE_ADMIN | Role.DOMAIN_ADMIN | Role.USER
ANY_ADMIN = Role.ADMIN | Role.RESOURCE_ADMIN | Role.DOMAIN_ADMIN


class ParamType(enum.StrEnum):
    """4.1 ``CommandType``; the value is what ``listApis`` shows as the type."""

    BOOLEAN = "boolean"
    DATE = "date"  # yyyy-MM-dd
    TZDATE = "tzdate"  # yyyy-MM-dd'T'HH:mm:ssZ
    FLOAT = "float"
    INTEGER = "integer"
    SHORT = "short"
    LONG = "long"
    LIST = "list"  # comma-separated; items parsed as ``Param.item_type``
    MAP = "map"  # name[0].key=value
    OBJECT = "object"
    STRING = "string"
    UUID = "uuid"  # a lower-case UUID of ``Param.entity``; resolved by the handler


@dataclass(frozen=True)
class Param:
    """One request parameter of a command.

    :param name: the lower-case wire name (4.1 lower-cases every parameter name).
    :param type: how the value is parsed; parse errors are 431 naming the parameter.
    :param description: the ``listApis`` text (4.1's, from request-params-4.1.tsv).
    :param required: missing → 431 "... due to missing parameter <name>".
    :param length: the maximum length in characters (4.1's default 255).
    :param post_length: the maximum length when the request came by POST, if larger
        (4.1 takes 32 KB of ``userdata`` in a form body, 2 KB in a query string);
        ``listApis`` shows ``length``.
    :param item_type: the element type of a ``LIST``.
    :param entity: for ``UUID`` (and ``LIST`` of UUIDs): the CloudStack entity name
        (``Account``, ``Domain``, ``User``, ``AsyncJob`` ...), used in errors and docs.
    :param choices: allowed values (case-insensitive), else 431.
    :param since: the 4.x version the parameter appeared in (``listApis``).
    """

    name: str
    type: ParamType = ParamType.STRING
    description: str = ""
    required: bool = False
    length: int = 255
    post_length: int | None = None
    item_type: ParamType | None = None
    entity: str | None = None
    choices: tuple[str, ...] = ()
    since: str | None = None


@dataclass(frozen=True)
class CallContext:
    """Who is calling: established by authentication, checked by every service.

    :param user_id: internal id of the calling user.
    :param account_id: internal id of the caller's account.
    :param domain_id: internal id of the caller's domain.
    :param domain_path: that domain's path (``/``, ``/Sales/``) for subtree checks.
    :param account_type: 0 user, 1 root admin, 2 domain admin, 3 resource admin.
    :param user_uuid: public id of the user (events, job rows).
    :param account_uuid: public id of the account.
    :param account_name: the account's name (events show it).
    :param username: the user's name.
    :param session_id: the server-side session, when the call came with one.
    """

    user_id: int
    account_id: int
    domain_id: int
    domain_path: str
    account_type: int
    user_uuid: str = ""
    account_uuid: str = ""
    account_name: str = ""
    username: str = ""
    session_id: str | None = None

    @property
    def role(self) -> Role:
        """The caller's role bit (``Role(0)`` for types without API access)."""
        return {1: Role.ADMIN, 3: Role.RESOURCE_ADMIN, 2: Role.DOMAIN_ADMIN, 0: Role.USER}.get(
            self.account_type, Role(0)
        )

    @property
    def is_root_admin(self) -> bool:
        """Root admins see and do everything (``account.type`` 1)."""
        return self.account_type == 1

    @property
    def is_domain_admin(self) -> bool:
        """Domain admins (and resource admins) act within their domain subtree."""
        return self.account_type in (2, 3)


@dataclass
class Call:
    """What a handler receives.

    :param command: the declaration being run.
    :param ctx: the caller.
    :param session: a session inside the request's (or job's) single transaction. The
        dispatcher commits after the handler returns and rolls back if it raises; a
        handler never commits.
    :param params: parsed parameters by lower-case name; absent ones are missing.
    :param pm: the plugin manager (to emit events, reach other plugins' hooks).
    :param job_uuid: the async job's public id when running as a job, else ``None``.
    :param services: per-process services by name (``"config"`` → the configuration
        registry, ...), so handlers reach them without globals.
    """

    command: Command
    ctx: CallContext
    session: Session
    params: Mapping[str, Any]
    pm: pluggy.PluginManager
    job_uuid: str | None = None
    services: Mapping[str, Any] = field(default_factory=dict)

    def get(self, name: str, default: Any = None) -> Any:
        """The parsed value of parameter ``name``, or ``default`` when absent."""
        return self.params.get(name, default)


# ---- results -------------------------------------------------------------------------
# Field values are Python values: str, int, float, bool, datetime (rendered
# yyyy-MM-dd'T'HH:mm:ssZ), lists of field dicts (nested arrays), dicts (nested objects),
# or None (omitted from the answer, as gson does).

Fields = dict[str, Any]


@dataclass(frozen=True)
class ObjectResult:
    """One object: ``{"<envelope>": {"<object_name>": {fields}}}``."""

    object_name: str
    fields: Fields


@dataclass(frozen=True)
class ListResult:
    """A page of a list: ``{"<envelope>": {"count": total, "<object_name>": [...]}}``;
    an empty page renders as ``{"<envelope>": {}}``.

    :param count: the total number of matching rows, ignoring paging.
    """

    object_name: str
    items: Sequence[Fields]
    count: int


@dataclass(frozen=True)
class SuccessResult:
    """``{"success": "true"}`` (a string in synchronous JSON, a boolean in job results)."""

    success: bool = True
    displaytext: str | None = None


@dataclass(frozen=True)
class RawResult:
    """Fields placed directly in the envelope, without an object wrapper (``login``,
    ``queryAsyncJobResult``, ``registerUserKeys``' ``userkeys`` is an ObjectResult)."""

    fields: Fields


Result = ObjectResult | ListResult | SuccessResult | RawResult
Handler = Callable[[Call], Result]


@dataclass(frozen=True)
class Command:
    """The declaration of one API command.

    :param name: the CloudStack command name (``listAccounts``).
    :param handler: runs the command (synchronously, or inside the job worker when
        ``is_async``) and returns its result.
    :param params: the request parameters.
    :param roles: the 4.1 role bitmask (commands-4.1.tsv).
    :param is_async: answer ``{"jobid": ...}`` at once and run in a job.
    :param response_name: the envelope; default ``lower(name) + "response"`` but take
        the ``response_name`` column of commands-4.1.tsv, which differs for some.
    :param response_class: the 4.1 response class name (``AccountResponse``), for
        docs and the compatibility test.
    :param response_fields: the fields the response view produces (``listApis``).
    :param description: the ``listApis`` description.
    :param since: the version that introduced the command.
    :param related: related command names (``listApis``).
    :param java_class: 4.1's command class (stored as an async job's ``cmd``).
    :param create: for 4.1's ``BaseAsyncCreateCmd`` commands: runs synchronously before
        the job is queued and returns ``(instance_type, instance_uuid)``; the immediate
        answer then carries ``id`` as well as ``jobid``.
    :param instance_type: the job's ``jobinstancetype`` (``Account``, ``VirtualMachine``).
    :param event_type: the CloudStack event type this command records (``ACCOUNT.DELETE``).
    """

    name: str
    handler: Handler
    params: tuple[Param, ...] = ()
    roles: Role = ALL_ROLES
    is_async: bool = False
    response_name: str = ""
    response_class: str = ""
    response_fields: tuple[str, ...] = ()
    description: str = ""
    since: str | None = None
    related: tuple[str, ...] = ()
    java_class: str = ""
    create: Callable[[Call], tuple[str, str]] | None = None
    instance_type: str | None = None
    event_type: str | None = None

    @property
    def envelope(self) -> str:
        """The top-level key of every answer to this command, errors included."""
        return self.response_name or f"{self.name.lower()}response"


def format_date(value: dt.datetime) -> str:
    """A timestamp as 4.1 renders it: ``2013-04-10T16:52:06+0000`` (naive = UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S%z")
