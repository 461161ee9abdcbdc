"""The event commands: ``listEvents`` and ``listEventTypes`` (4.1), ``archiveEvents``
and ``deleteEvents`` (4.2, where they first appeared).

Declarations follow commands-4.1.tsv and request-params-4.1.tsv (4.2's ``ArchiveEventsCmd``
and ``DeleteEventsCmd`` for the two later ones); the handlers parse what the parameters
mean and leave the rules to :mod:`cumulo.events.service`.
"""

from __future__ import annotations

from cumulo import hookimpl
from cumulo.accounts.access import check_list_scope, visible_accounts
from cumulo.accounts.lookup import find_domain, invalid_id
from cumulo.db.listing import DEFAULT_PAGE_SIZE
from cumulo.events import types
from cumulo.events.service import (
    EventSearch,
    EventSelection,
    archive_events,
    delete_events,
    find_event_id,
    naive_utc,
    search_events,
)
from cumulo.events.views import (
    EVENT_OBJECT,
    EVENT_RESPONSE_FIELDS,
    EVENT_TYPE_OBJECT,
    event_type_fields,
)
from cumulo.sdk.api import (
    ALL_ROLES,
    Call,
    Command,
    ListResult,
    Param,
    ParamType,
    Role,
    SuccessResult,
)

_DATE_FORMATS = '(use format "yyyy-MM-dd" or the new format "yyyy-MM-dd HH:mm:ss")'

# 4.1 lets the domain, account and listing parameters of every owned-resource list
# command be described the same way (BaseListDomainResourcesCmd and its parents).
_LIST_OWNED = (
    Param("projectid", ParamType.UUID, description="list objects by project", entity="Project"),
    Param(
        "account",
        description="list resources by account. Must be used with the domainId parameter.",
    ),
    Param(
        "listall",
        ParamType.BOOLEAN,
        description="If set to false, list only resources belonging to the command's caller; "
        "if set to true - list resources that the caller is authorized to see. Default value "
        "is false",
    ),
    Param(
        "domainid",
        ParamType.UUID,
        description="list only resources belonging to the domain specified",
        entity="Domain",
    ),
    Param(
        "isrecursive",
        ParamType.BOOLEAN,
        description="defaults to false, but if true, lists all resources from the parent "
        "specified by the domainId till leaves.",
    ),
    Param("keyword", description="List by keyword"),
    Param("page", ParamType.INTEGER),
    Param("pagesize", ParamType.INTEGER),
)


def list_events(call: Call) -> ListResult:
    """``listEvents``: the caller's events, or those it may see with ``listall``."""
    ctx, session = call.ctx, call.session
    if call.get("projectid") is not None:
        # cumulo has no projects yet: "-1" (every project) lists nothing, any other id
        # names no project.
        if call.get("projectid") != "-1":
            raise invalid_id("projectid", call.get("projectid"))
        return ListResult(EVENT_OBJECT, [], 0)
    domain = find_domain(session, call.get("domainid")) if call.get("domainid") else None
    account = check_list_scope(ctx, session, domain=domain, account_name=call.get("account"))
    event_id = find_event_id(session, call.get("id")) if call.get("id") else None
    if call.get("entrytime") is not None and call.get("duration") is not None:
        # 4.1 answers nothing for this pair (its "pending events" search is commented
        # out in QueryManagerImpl); an empty list is that answer without the NPE.
        return ListResult(EVENT_OBJECT, [], 0)
    # 4.1 (AccountManagerImpl.buildACLSearchParameters): asking for one event by id
    # searches everything an admin may see, as listall=true would.
    listall = bool(call.get("listall", False)) or (event_id is not None and ctx.role != Role.USER)
    scope = visible_accounts(
        ctx,
        listall=listall,
        isrecursive=bool(call.get("isrecursive", False)),
        domain_id=domain.id if domain is not None else None,
        account_name=account.account_name if account is not None else None,
    )
    search = EventSearch(
        event_id=event_id,
        type=call.get("type"),
        level=call.get("level"),
        keyword=call.get("keyword"),
        start=naive_utc(call.get("startdate")),
        end=naive_utc(call.get("enddate")),
    )
    items, total = search_events(
        session,
        scope,
        search,
        page=call.get("page"),
        pagesize=call.get("pagesize"),
        max_page_size=call.services.get("max_page_size", DEFAULT_PAGE_SIZE),
    )
    return ListResult(EVENT_OBJECT, items, total)


def list_event_types(call: Call) -> ListResult:
    """``listEventTypes``: 4.1's catalogue, in its order (not paged in 4.1)."""
    items = [event_type_fields(name) for name in types.CATALOGUE]
    return ListResult(EVENT_TYPE_OBJECT, items, len(items))


def _selection(call: Call) -> EventSelection:
    ids = call.get("ids")
    return EventSelection(
        uuids=frozenset(ids) if ids else None,
        type=call.get("type"),
        start=naive_utc(call.get("startdate")),
        end=naive_utc(call.get("enddate")),
    )


def archive(call: Call) -> SuccessResult:
    """``archiveEvents``: hide the selected events from ``listEvents``, keeping them."""
    archive_events(call.session, call.ctx, _selection(call), call.command.name)
    return SuccessResult()


def delete(call: Call) -> SuccessResult:
    """``deleteEvents``: remove the selected, unarchived events."""
    delete_events(call.session, call.ctx, _selection(call), call.command.name)
    return SuccessResult()


def _selection_params(verb: str) -> tuple[Param, ...]:
    """4.2's parameters of ``archiveEvents``/``deleteEvents`` (``verb``: their verb)."""
    return (
        Param(
            "ids",
            ParamType.LIST,
            description="the IDs of the events",
            item_type=ParamType.UUID,
            entity="Event",
        ),
        Param(
            "enddate",
            ParamType.DATE,
            description=f"end date range to {verb} events (including) this date {_DATE_FORMATS}",
        ),
        Param(
            "startdate",
            ParamType.DATE,
            description=f"start date range to {verb} events (including) this date {_DATE_FORMATS}",
        ),
        Param("type", description=f"{verb} by event type"),
    )


LIST_EVENTS = Command(
    name="listEvents",
    handler=list_events,
    params=(
        Param("id", ParamType.UUID, description="the ID of the event", entity="Event"),
        Param("duration", ParamType.INTEGER, description="the duration of the event"),
        Param(
            "enddate",
            ParamType.DATE,
            description=f"the end date range of the list you want to retrieve {_DATE_FORMATS}",
        ),
        Param("entrytime", ParamType.INTEGER, description="the time the event was entered"),
        Param("level", description="the event level (INFO, WARN, ERROR)"),
        Param(
            "startdate",
            ParamType.DATE,
            description=f"the start date range of the list you want to retrieve {_DATE_FORMATS}",
        ),
        Param("type", description="the event type (see event types)"),
        *_LIST_OWNED,
    ),
    roles=ALL_ROLES,
    response_name="listeventsresponse",
    response_class="EventResponse",
    response_fields=EVENT_RESPONSE_FIELDS,
    description="A command to list events.",
    java_class="org.apache.cloudstack.api.command.user.event.ListEventsCmd",
)

LIST_EVENT_TYPES = Command(
    name="listEventTypes",
    handler=list_event_types,
    roles=ALL_ROLES,
    response_name="listeventtypesresponse",
    response_class="EventTypeResponse",
    response_fields=("name",),
    description="List Event Types",
    java_class="org.apache.cloudstack.api.command.user.event.ListEventTypesCmd",
)

ARCHIVE_EVENTS = Command(
    name="archiveEvents",
    handler=archive,
    params=_selection_params("archive"),
    roles=ALL_ROLES,
    response_name="archiveeventsresponse",
    response_class="SuccessResponse",
    response_fields=("success", "displaytext"),
    description="Archive one or more events.",
    since="4.2.0",
    related=("listEvents",),
    java_class="org.apache.cloudstack.api.command.user.event.ArchiveEventsCmd",
)

DELETE_EVENTS = Command(
    name="deleteEvents",
    handler=delete,
    params=_selection_params("delete"),
    roles=ALL_ROLES,
    response_name="deleteeventsresponse",
    response_class="SuccessResponse",
    response_fields=("success", "displaytext"),
    description="Delete one or more events.",
    since="4.2.0",
    related=("listEvents",),
    java_class="org.apache.cloudstack.api.command.user.event.DeleteEventsCmd",
)


@hookimpl
def cumulo_api_commands() -> list[Command]:
    """The event commands (a built-in plugin: ``cumulo.events.commands``)."""
    return [LIST_EVENTS, LIST_EVENT_TYPES, ARCHIVE_EVENTS, DELETE_EVENTS]
