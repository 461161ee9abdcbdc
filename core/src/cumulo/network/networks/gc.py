"""The network garbage collector (4.1 ``NetworkGarbageCollector``; REQ-PN-01, REQ-PN-08):
an implemented network on which no VM has run for ``network.gc.wait`` seconds is shut
down, giving its VLAN and source-NAT address back. Networks of persistent offerings and
shared networks are never collected (``op_networks.gc`` false).

A round (every ``network.gc.interval`` seconds, under the ``network.gc`` lease so one
server runs it) is set-based, three statements whatever the number of networks:

1. idle networks not yet marked get ``idle_since`` = now;
2. marked networks on which a VM runs again lose their mark;
3. the networks marked at least ``network.gc.wait`` seconds ago are read,

then each of those is shut down in a transaction of its own
(:func:`cumulo.network.networks.lifecycle.shutdown`, which checks again under the
network's row that it is still implemented). A VM "runs" on a network while it is
Starting, Running, Stopping or Migrating with a NIC on it; routers do not count.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import ColumnElement, and_, exists, select, update
from sqlalchemy.orm import Session

from cumulo import events
from cumulo.compute.models import Nic, VirtualMachine, VmState, VmType
from cumulo.db.base import utcnow
from cumulo.jobs import lease
from cumulo.network.networks import lifecycle, settings
from cumulo.network.networks.models import Network, NetworkState, OpNetwork
from cumulo.runtime import Runtime

log = logging.getLogger(__name__)

LEASE = "network.gc"
_ACTIVE = (
    VmState.STARTING.value,
    VmState.RUNNING.value,
    VmState.STOPPING.value,
    VmState.MIGRATING.value,
)


def _busy() -> ColumnElement[bool]:
    return exists().where(
        Nic.network_id == OpNetwork.id,
        Nic.removed.is_(None),
        VirtualMachine.id == Nic.instance_id,
        VirtualMachine.type == VmType.USER.value,
        VirtualMachine.state.in_(_ACTIVE),
    )


def _implemented() -> ColumnElement[bool]:
    return exists().where(
        Network.id == OpNetwork.id,
        Network.state == NetworkState.IMPLEMENTED.value,
        Network.removed.is_(None),
    )


def due_networks(session: Session, wait: int, now: dt.datetime | None = None) -> list[int]:
    """Steps 1-3 of a round (module doc): mark, unmark, and the ids due for shutdown."""
    now = now or utcnow()
    session.execute(
        update(OpNetwork)
        .where(OpNetwork.gc.is_(True), OpNetwork.idle_since.is_(None), _implemented(), ~_busy())
        .values(idle_since=now)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(OpNetwork)
        .where(OpNetwork.idle_since.is_not(None), _busy())
        .values(idle_since=None)
        .execution_options(synchronize_session=False)
    )
    cutoff = now - dt.timedelta(seconds=wait)
    return list(
        session.scalars(
            select(OpNetwork.id)
            .where(
                and_(
                    OpNetwork.gc.is_(True),
                    OpNetwork.idle_since.is_not(None),
                    OpNetwork.idle_since <= cutoff,
                )
            )
            .order_by(OpNetwork.idle_since)
        )
    )


def collect(session: Session, network_id: int) -> bool:
    """Shut one due network down if it still is idle (in the caller's transaction).

    The network's row is locked first: a VM start reserving on it holds the same lock
    (:func:`cumulo.network.networks.lifecycle.ensure_resources`), so the check below
    sees that VM once its reservation is committed."""
    lifecycle.lock(session, network_id)
    still_idle = session.scalar(
        select(OpNetwork.id).where(OpNetwork.id == network_id, ~_busy(), _implemented())
    )
    if still_idle is None:
        return False
    network = session.get(Network, network_id)
    if not lifecycle.shutdown(session, network_id) or network is None:
        return False
    events.record(
        session,
        "NETWORK.UPDATE",
        f"Network {network.name} ({network.uuid}) shut down by the network garbage collector",
        resource_type="Network",
        resource_uuid=network.uuid,
        account_id=network.account_id,
        domain_id=network.domain_id,
    )
    return True


def collect_networks(runtime: Runtime) -> int:
    """One round (module doc); how many networks were shut down."""
    with runtime.sessions.begin() as session:
        values = settings.read(session, [settings.GC_WAIT])
        held = lease.acquire(session, LEASE, runtime.msid, dt.timedelta(minutes=10))
        due = due_networks(session, settings.integer(values, settings.GC_WAIT)) if held else []
    if not held:
        return 0
    done = 0
    try:
        for network_id in due:
            # Not ``sessions.begin()``: the orchestrator commits before provider calls.
            with runtime.sessions() as session:
                try:
                    done += collect(session, network_id)
                    session.commit()
                except Exception:  # one network's trouble must not stop the others
                    session.rollback()
                    log.exception("could not shut down idle network %s", network_id)
    finally:
        with runtime.sessions.begin() as session:
            lease.release(session, LEASE, runtime.msid)
    return done
