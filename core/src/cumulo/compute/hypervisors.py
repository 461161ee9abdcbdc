"""Reaching the hypervisor of the host a VM runs on, outside any transaction.

:func:`host_target` reads, in one statement, what a driver call needs (the host's
guid, URL, credentials from ``host_details``) and returns it as plain values, so that
the caller can commit before calling the driver: a driver call may take minutes and on
SQLite an open transaction holds the database's write lock. :func:`drive` runs the call
and maps the driver's errors to API errors.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from cumulo.infra.hosts.connection import driver_for, reveal
from cumulo.infra.hosts.models import Host, HostDetail
from cumulo.sdk.errors import InsufficientCapacity, ResourceUnavailable
from cumulo.sdk.hypervisor import (
    HostConnection,
    HostRef,
    HostUnreachable,
    HypervisorDriver,
    HypervisorError,
    InsufficientHostCapacity,
)

_T = TypeVar("_T")


@dataclass(frozen=True)
class HostTarget:
    """A host as a driver call names it, with its driver."""

    host_id: int
    name: str
    hypervisor_type: str
    ref: HostRef

    @property
    def driver(self) -> HypervisorDriver:
        """The process's driver of the host's hypervisor type."""
        return driver_for(self.hypervisor_type, "hypervisor")


def host_target(session: Session, host_id: int, database_key: str, algorithm: str) -> HostTarget:
    """The driver's view of host ``host_id`` (one statement: host and details).

    :raises ResourceUnavailable: the host is gone (534).
    """
    rows = session.execute(
        select(Host, HostDetail.name, HostDetail.value)
        .outerjoin(HostDetail, HostDetail.host_id == Host.id)
        .where(Host.id == host_id)
    ).all()
    if not rows:
        raise ResourceUnavailable(f"host id={host_id} no longer exists")
    host: Host = rows[0][0]
    details = {name: value for _, name, value in rows if name is not None}
    connection = HostConnection(
        url=host.url or "",
        username=details.get("username", ""),
        password=reveal(details.get("password"), database_key, algorithm),
        zone_id=host.data_center_id,
        pod_id=host.pod_id,
        cluster_id=host.cluster_id,
    )
    return HostTarget(
        host.id,
        host.name,
        host.hypervisor_type or "",
        HostRef(guid=host.guid or "", connection=connection, host_id=host.id),
    )


def drive(what: str, operation: Callable[[], _T]) -> _T:
    """Run a driver call; its errors become API errors naming ``what``.

    :raises InsufficientCapacity: the host cannot fit the VM (533).
    :raises ResourceUnavailable: the host did not answer, or refused (534).
    """
    try:
        return operation()
    except InsufficientHostCapacity as exc:
        raise InsufficientCapacity(f"{what}: {exc}") from exc
    except HostUnreachable as exc:
        raise ResourceUnavailable(f"{what}: the host did not answer ({exc})") from exc
    except HypervisorError as exc:
        raise ResourceUnavailable(f"{what}: {exc}") from exc
