"""Event rows as CloudStack 4.1's ``EventResponse`` and ``EventTypeResponse``.

A listing selects :data:`EVENT_COLUMNS` (the event joined with its owner account, the
owner's domain, the acting user and the ``Started`` event it completes) in one query;
:func:`event_fields` turns each row into the response's fields, in 4.1's order
(CS41: api/src/org/apache/cloudstack/api/response/EventResponse.java, filled by
``ViewResponseHelper.createEventResponse`` from 4.1's ``event_view``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import aliased

from cumulo.accounts.models import Account, Domain, User
from cumulo.events.models import Event
from cumulo.sdk.api import Fields

EVENT_OBJECT = "event"
EVENT_TYPE_OBJECT = "eventtype"

EVENT_RESPONSE_FIELDS = (
    "id", "username", "type", "level", "description", "account", "projectid", "project",
    "domainid", "domain", "created", "state", "parentid",
)  # fmt: skip

# The owner's domain and the parent event are aliased: scope clauses over ``account``
# (cumulo.accounts.access) use subqueries over the plain ``domain`` table, which must
# not be correlated with the domain joined here.
OwnerDomain = aliased(Domain, name="owner_domain")
ParentEvent = aliased(Event, name="parent_event")

EVENT_COLUMNS = (
    Event.uuid,
    User.username,
    Event.type,
    Event.level,
    Event.description,
    Account.account_name,
    OwnerDomain.uuid,
    OwnerDomain.name,
    Event.created,
    Event.state,
    ParentEvent.uuid,
)


def event_rows() -> Select[*tuple[Any, ...]]:
    """``SELECT`` :data:`EVENT_COLUMNS` ``FROM event`` with its joins, unfiltered.

    ``account`` is joined plainly (scope clauses filter on it); the owner's domain, the
    user and the parent event are outer joins, so an event whose user row is gone still
    lists, as 4.1's view does.
    """
    return (
        select(*EVENT_COLUMNS)
        .join(Account, Account.id == Event.account_id)
        .outerjoin(OwnerDomain, OwnerDomain.id == Event.domain_id)
        .outerjoin(User, User.id == Event.user_id)
        .outerjoin(ParentEvent, (ParentEvent.id == Event.start_id) & (Event.start_id != 0))
    )


def event_fields(row: tuple[Any, ...]) -> Fields:
    """One row of :func:`event_rows` as ``EventResponse`` fields.

    ``projectid``/``project`` stay absent (cumulo has no projects yet; 4.1 sets them
    only for project-owned events), as does ``parentid`` for events without a parent.
    """
    (uuid, username, type_, level, description, account, domain_uuid, domain, created) = row[:9]
    state, parent = row[9], row[10]
    return {
        "id": uuid,
        "username": username,
        "type": type_,
        "level": level,
        "description": description,
        "account": account,
        "domainid": domain_uuid,
        "domain": domain,
        "created": created,
        "state": state,
        "parentid": parent,
    }


def event_type_fields(name: str) -> Fields:
    """An ``EventTypeResponse``: just the type's ``name``."""
    return {"name": name}
