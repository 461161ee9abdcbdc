"""Who can recount what: one counting function per resource type.

The area that owns a resource registers how to count it, at import of its commands
module (compute: ``user_vm`` and ``volume``; templates: ``template``; ...):

    counters.register(ResourceType.USER_VM, count_vms)

``count_vms(session, account_ids)`` returns ``{account_id: count}`` for the given
accounts in one set-based query (accounts owning none may be left out). 4.1 counts
what an account holds and has not destroyed (``ResourceLimitManagerImpl
.recalculateAccountResourceCount``): the counting function decides which states count.
``updateResourceCount`` (:mod:`cumulo.limits.recount`) calls them; types without a
counter keep their running counts.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from sqlalchemy.orm import Session

from cumulo.limits.types import ResourceType

Counter = Callable[[Session, Sequence[int]], dict[int, int]]
"""``fn(session, account_ids) -> {account_id: count}``, one query, no commit."""

_COUNTERS: dict[ResourceType, Counter] = {}
_LOCK = threading.Lock()


def register(resource_type: ResourceType | int | str, fn: Counter) -> None:
    """Make ``fn`` the counter of ``resource_type`` (the last registration wins, so a
    module imported twice registers harmlessly).

    :raises InvalidParameterValue: ``resource_type`` is no 4.1 type.
    """
    with _LOCK:
        _COUNTERS[ResourceType.of(resource_type)] = fn


def unregister(resource_type: ResourceType | int | str) -> None:
    """Forget the counter of ``resource_type`` (tests that register their own)."""
    with _LOCK:
        _COUNTERS.pop(ResourceType.of(resource_type), None)


def counter_for(resource_type: ResourceType) -> Counter | None:
    """The registered counter of ``resource_type``, or ``None``."""
    return _COUNTERS.get(resource_type)


def registered() -> dict[ResourceType, Counter]:
    """A snapshot of every registered counter."""
    with _LOCK:
        return dict(_COUNTERS)
