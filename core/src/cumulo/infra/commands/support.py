"""Helpers shared by the topology command handlers."""

from __future__ import annotations

from sqlalchemy import select

from cumulo.accounts.commands.support import paging
from cumulo.jobs.models import AsyncJob
from cumulo.sdk.api import Call
from cumulo.sdk.errors import InternalError, InvalidParameterValue

__all__ = ["created_uuid", "not_yet", "paging"]


def created_uuid(call: Call) -> str:
    """The public id the ``create`` step of an async create command made (kept on the
    job row as its instance, which is how 4.1's ``BaseAsyncCreateCmd`` hands it over)."""
    uuid = call.session.scalar(select(AsyncJob.instance_uuid).where(AsyncJob.uuid == call.job_uuid))
    if uuid is None:
        raise InternalError(f"job {call.job_uuid} has no created instance")
    return uuid


def not_yet(call: Call, *names: str, why: str = "is not supported yet") -> None:
    """431 naming the first of ``names`` the caller gave: a 4.1 parameter declared for
    compatibility that this server cannot honour yet."""
    for name in names:
        value = call.get(name)
        if value not in (None, "", False):
            raise InvalidParameterValue(f"The parameter {name} {why}")
