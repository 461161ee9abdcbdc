"""Maintenance mode and reconnecting (REQ-HOST-09), run inside async jobs.

``prepareHostForMaintenance`` moves a hypervisor host to ``PrepareForMaintenance``,
moves its VMs away (live migration to the other hosts of the cluster; there are no VMs
yet, so the step is a hook point for the compute package) and, once empty, to
``Maintenance``. ``cancelHostMaintenance`` returns it to ``Enabled``. 4.1 allows
maintenance from ``Enabled``, ``Disabled`` and ``ErrorInMaintenance``
(``ResourceState.canAttemptMaintenance``). ``reconnectHost`` connects to the host again
through its driver, refreshes the discovered capacity and local storage and marks it
``Up``.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from cumulo import crypto
from cumulo.db.base import utcnow
from cumulo.infra.hosts.connection import driver_for, host_ref
from cumulo.infra.hosts.hosts import host_details
from cumulo.infra.hosts.models import Host, HostStatus, HostType, ResourceState
from cumulo.infra.storage.local import sync_local_pools
from cumulo.sdk.errors import InternalError, InvalidParameterValue, ResourceUnavailable
from cumulo.sdk.hypervisor import HostUnreachable, HypervisorError

CAN_ATTEMPT_MAINTENANCE = (
    ResourceState.ENABLED,
    ResourceState.DISABLED,
    ResourceState.ERROR_IN_MAINTENANCE,
)
IN_MAINTENANCE = (
    ResourceState.PREPARE_FOR_MAINTENANCE,
    ResourceState.MAINTENANCE,
    ResourceState.ERROR_IN_MAINTENANCE,
)


def _routing(host: Host) -> None:
    if host.type != HostType.ROUTING:
        raise InvalidParameterValue(
            f"Invalid parameter id value={host.uuid}: host {host.name} is a {host.type} host;"
            " only hypervisor hosts have maintenance mode"
        )


def prepare_for_maintenance(session: Session, host: Host) -> Host:
    """Put ``host`` into maintenance (REQ-HOST-09).

    :raises InvalidParameterValue: not a hypervisor host, or already in (or entering)
        maintenance (431 naming ``id``).
    """
    _routing(host)
    if host.resource_state not in CAN_ATTEMPT_MAINTENANCE:
        raise InvalidParameterValue(
            f"Invalid parameter id value={host.uuid}: host {host.name} is in resource state"
            f" {host.resource_state}; maintenance can be entered from Enabled, Disabled or"
            " ErrorInMaintenance"
        )
    host.resource_state = ResourceState.PREPARE_FOR_MAINTENANCE.value
    session.flush()
    # Running VMs are live-migrated away by the HA task (cumulo.ha.migration); the host
    # enters Maintenance once empty, ErrorInMaintenance if a VM cannot be moved. (Imported
    # here: the HA package builds on this one.)
    from cumulo.ha.migration import schedule_migrations

    if schedule_migrations(session, host.id) == 0:
        host.resource_state = ResourceState.MAINTENANCE.value
        session.flush()
    return host


def cancel_maintenance(session: Session, host: Host) -> Host:
    """Bring ``host`` out of maintenance, back to ``Enabled``.

    :raises InvalidParameterValue: the host is not in maintenance (431 naming ``id``).
    """
    _routing(host)
    if host.resource_state not in IN_MAINTENANCE:
        raise InvalidParameterValue(
            f"Invalid parameter id value={host.uuid}: host {host.name} is not in maintenance"
            f" (resource state {host.resource_state})"
        )
    host.resource_state = ResourceState.ENABLED.value
    session.flush()
    return host


def reconnect(
    session: Session,
    host: Host,
    *,
    database_key: str = "",
    algorithm: str = crypto.DEFAULT_ALGORITHM,
) -> Host:
    """Connect to ``host`` again and refresh what its driver reports.

    Free capacity moves by the change in total (reservations stay reserved). The
    host's local storage pools are created or refreshed from what the driver reports
    (REQ-PS-06, :func:`~cumulo.infra.storage.local.sync_local_pools`).

    :raises InvalidParameterValue: not a hypervisor host (431 naming ``id``), or its
        local storage is already another pool (431 naming ``url``).
    :raises ResourceUnavailable: the host does not answer (534); its state is left to
        the heartbeat.
    """
    _routing(host)
    ref = host_ref(host, host_details(session, host), database_key, algorithm)
    try:
        info = driver_for(host.hypervisor_type or "").connect(ref.connection)
    except HostUnreachable as exc:
        raise ResourceUnavailable(f"Unable to reconnect host {host.name}: {exc}") from exc
    except HypervisorError as exc:
        raise InternalError(f"Unable to reconnect host {host.name}: {exc}") from exc
    cpu_total = info.cpus * info.cpu_speed_mhz
    host.free_cpu += cpu_total - (host.cpus or 0) * (host.speed or 0)
    host.free_memory += info.memory_bytes - (host.total_memory or 0)
    host.cpu_sockets, host.cpus, host.speed = info.cpu_sockets, info.cpus, info.cpu_speed_mhz
    host.total_memory = info.memory_bytes
    host.hypervisor_version = info.hypervisor_version
    host.status = HostStatus.UP.value
    host.last_ping = utcnow()
    host.disconnected = None
    session.flush()
    sync_local_pools(session, host, info.local_storage)
    return host
