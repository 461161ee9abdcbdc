"""The ``op_ha_work`` table: one row per piece of high-availability work on a VM.

In CloudStack 4.1's shape (``HaWorkVO``): what to do (``type``: restart after a host
failure, migrate away from a host entering maintenance, stop a stray copy), which VM,
the host it concerns, the VM's state and ``update_count`` when the work was scheduled
(``previous_state``, ``updated``), how far it got (``step``), how often it was tried
(``tried``) and when it may be tried next (``time_to_try``).

Which management server is working on an item is ``mgmt_server_id`` with
``lease_expires``: a server takes an item with one conditional ``UPDATE`` (free, or its
holder's lease expired, or its holder is ``Down`` in ``mshost``), so two servers never
work on the same item, and the items of a server that died mid-work are taken over by
another (:mod:`cumulo.ha.work`).

``open_instance_id`` is the VM's id while the item is open (not ``Done``, ``Cancelled``
or ``Error``) and NULL after: its unique key makes a second open item for the same VM
impossible, whichever server tries to schedule it (the trick ``nics.mac_key`` uses).
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cumulo.db.base import Base, IdType, UtcDateTime, utcnow


class WorkType(enum.StrEnum):
    """``op_ha_work.type`` (4.1 ``HighAvailabilityManager.WorkType``, those cumulo runs)."""

    HA = "HA"
    """Restart a VM whose host went down, elsewhere."""
    MIGRATION = "Migration"
    """Live-migrate a VM away from a host entering maintenance."""
    STOP = "Stop"
    """Stop the stray copy of a VM on a host that failed, once it answers again."""


class Step(enum.StrEnum):
    """``op_ha_work.step`` (4.1 ``HighAvailabilityManager.Step``, those cumulo uses)."""

    SCHEDULED = "Scheduled"
    """Waiting for ``time_to_try``."""
    RESTARTING = "Restarting"
    """A restart is under way: the VM is ``Starting`` on its new host."""
    MIGRATING = "Migrating"
    """A migration is under way."""
    DONE = "Done"
    CANCELLED = "Cancelled"
    """Not needed any more: the VM changed meanwhile (started, destroyed ...)."""
    ERROR = "Error"
    """Given up after the last try (an alert says so)."""


OPEN_STEPS = (Step.SCHEDULED.value, Step.RESTARTING.value, Step.MIGRATING.value)
CLOSED_STEPS = (Step.DONE.value, Step.CANCELLED.value, Step.ERROR.value)


class HaWork(Base):
    """One piece of HA work (4.1 ``op_ha_work``)."""

    __tablename__ = "op_ha_work"
    __table_args__ = (
        # The workers' query: open items due now, oldest first.
        Index(None, "step", "time_to_try"),
        Index(None, "instance_id"),
        # Maintenance asks whether a host still has open migrations.
        Index(None, "host_id", "type", "step"),
        Index(None, "mgmt_server_id"),
        UniqueConstraint("open_instance_id"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    instance_id: Mapped[int] = mapped_column(IdType, ForeignKey("vm_instance.id"))
    open_instance_id: Mapped[int | None] = mapped_column(IdType)
    type: Mapped[str] = mapped_column(String(16))
    vm_type: Mapped[str] = mapped_column(String(32), default="User")
    # The VM's state when the work was scheduled (4.1 ``state``).
    previous_state: Mapped[str] = mapped_column(String(32))
    host_id: Mapped[int] = mapped_column(IdType, ForeignKey("host.id"))
    step: Mapped[str] = mapped_column(String(16), default=Step.SCHEDULED.value)
    tried: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    time_to_try: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    # The VM's update_count the work expects: a VM changed by anyone else meanwhile
    # (a user started or destroyed it) cancels the work (4.1 compares ``updated``).
    updated: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    mgmt_server_id: Mapped[int | None] = mapped_column(BigInteger)
    taken: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    lease_expires: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    created: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    last_error: Mapped[str | None] = mapped_column(String(1024))
