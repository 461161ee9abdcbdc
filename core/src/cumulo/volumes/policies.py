"""Snapshot policies: recurring snapshots of a volume (4.1's ``createSnapshotPolicy``,
``listSnapshotPolicies``, ``deleteSnapshotPolicies``) and when they next run.

``schedule`` is 4.1's: ``MM`` (HOURLY: the minute), ``MM:HH`` (DAILY), ``MM:HH:DD``
(WEEKLY, DD 1-7 with 1 = Sunday; MONTHLY, DD 1-28), read in the policy's ``timezone``
(an IANA name such as ``Europe/Paris``; 4.1 takes Java's, which are the same names).
``maxsnaps`` is at most ``snapshot.max.<interval>``. A volume has at most one policy
per interval: creating a second updates the first, as 4.1 does.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from cumulo.db.base import utcnow
from cumulo.db.listing import DEFAULT_PAGE_SIZE, fetch_page
from cumulo.sdk import ConfigKey, ValueType
from cumulo.sdk.errors import InvalidParameterValue
from cumulo.volumes.models import Volume, VolumeState
from cumulo.volumes.snapshot_models import IntervalType, SnapshotPolicy

MAX_SNAPS_KEYS = {interval: f"snapshot.max.{interval.name.lower()}" for interval in IntervalType}
DEFAULT_MAX_SNAPS = 8
"""4.1's default of every ``snapshot.max.*`` setting."""

KEYS: tuple[ConfigKey, ...] = tuple(
    ConfigKey(
        key,
        ValueType.INTEGER,
        str(DEFAULT_MAX_SNAPS),
        f"Maximum {interval.name.lower()} snapshots for a volume",
        "Snapshots",
        minimum=1,
    )
    for interval, key in MAX_SNAPS_KEYS.items()
)
"""The settings this module reads, contributed by :mod:`cumulo.volumes.commands`."""


def interval_of(value: str) -> IntervalType:
    """``intervaltype`` (any case) as its enum.

    :raises InvalidParameterValue: not HOURLY, DAILY, WEEKLY or MONTHLY (431).
    """
    try:
        return IntervalType[value.strip().upper()]
    except KeyError:
        raise InvalidParameterValue(
            f"intervaltype: unsupported interval type {value}; use HOURLY, DAILY, WEEKLY or MONTHLY"
        ) from None


def zone_of(name: str) -> ZoneInfo:
    """The time zone ``timezone`` names.

    :raises InvalidParameterValue: unknown (431).
    """
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidParameterValue(f"timezone: unknown time zone {name}") from None


def parse_schedule(interval: IntervalType, schedule: str) -> tuple[int, int, int]:
    """``(minute, hour, day)`` of a 4.1 schedule (``hour``/``day`` 0 when unused).

    :raises InvalidParameterValue: the wrong number of fields or a value out of range
        (431 naming ``schedule``).
    """
    parts = schedule.strip().split(":")
    expected = {
        IntervalType.HOURLY: 1,
        IntervalType.DAILY: 2,
        IntervalType.WEEKLY: 3,
        IntervalType.MONTHLY: 3,
    }[interval]
    forms = {1: "MM", 2: "MM:HH", 3: "MM:HH:DD"}
    if len(parts) != expected or not all(p.isdigit() for p in parts):
        raise InvalidParameterValue(
            f"schedule: {schedule!r} is not valid for {interval.name}; expected {forms[expected]}"
        )
    values = [int(p) for p in parts] + [0] * (3 - expected)
    minute, hour, day = values
    days = (1, 7) if interval is IntervalType.WEEKLY else (1, 28)
    if minute > 59 or hour > 23 or (expected == 3 and not days[0] <= day <= days[1]):
        raise InvalidParameterValue(
            f"schedule: {schedule!r} is out of range for {interval.name} (minute 0-59, hour"
            f" 0-23{', day 1-7 (1 = Sunday)' if interval is IntervalType.WEEKLY else ''}"
            f"{', day 1-28' if interval is IntervalType.MONTHLY else ''})"
        )
    return minute, hour, day


def next_run(
    interval: IntervalType, schedule: str, timezone: str, after: dt.datetime
) -> dt.datetime:
    """The first time strictly after ``after`` (naive UTC) the policy is due, as naive
    UTC."""
    minute, hour, day = parse_schedule(interval, schedule)
    zone = zone_of(timezone)
    now = after.replace(tzinfo=dt.UTC).astimezone(zone)
    if interval is IntervalType.HOURLY:
        candidate = now.replace(minute=minute, second=0, microsecond=0)
        step = dt.timedelta(hours=1)
        # Hours advance in UTC: a local clock change must not skip or repeat one.
        utc = candidate.astimezone(dt.UTC)
        while utc <= after.replace(tzinfo=dt.UTC):
            utc += step
        return utc.replace(tzinfo=None)
    local = now.replace(tzinfo=None)
    if interval is IntervalType.DAILY:
        candidate = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
        while _utc(candidate, zone) <= after:
            candidate += dt.timedelta(days=1)
    elif interval is IntervalType.WEEKLY:
        # 4.1's day of week: 1 = Sunday ... 7 = Saturday; Python's: Monday = 0.
        today = (local.weekday() + 1) % 7 + 1
        candidate = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
        candidate += dt.timedelta(days=(day - today) % 7)
        while _utc(candidate, zone) <= after:
            candidate += dt.timedelta(days=7)
    else:
        candidate = local.replace(day=day, hour=hour, minute=minute, second=0, microsecond=0)
        while _utc(candidate, zone) <= after:
            year, month = (
                (candidate.year + 1, 1)
                if candidate.month == 12
                else (candidate.year, candidate.month + 1)
            )
            candidate = candidate.replace(year=year, month=month)
    return _utc(candidate, zone)


def _utc(local: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    return local.replace(tzinfo=zone).astimezone(dt.UTC).replace(tzinfo=None)


def create_or_update(
    session: Session,
    volume: Volume,
    *,
    interval: IntervalType,
    schedule: str,
    timezone: str,
    max_snaps: int,
    max_allowed: int,
    now: dt.datetime | None = None,
) -> tuple[SnapshotPolicy, bool]:
    """The volume's policy of ``interval``, created or updated; ``(policy, created)``.

    :raises InvalidParameterValue: the volume is not Ready, a bad schedule, time zone
        or ``maxsnaps`` (431 naming the parameter).
    """
    if volume.state != VolumeState.READY.value:
        raise InvalidParameterValue(
            f"volumeid: volume {volume.uuid} is not in Ready state but {volume.state}; a"
            " snapshot policy needs a volume created on primary storage"
        )
    if max_snaps <= 0:
        raise InvalidParameterValue("maxsnaps: the maximum number of snapshots must be at least 1")
    if max_snaps > max_allowed:
        raise InvalidParameterValue(
            f"maxsnaps: {max_snaps} exceeds the limit of {max_allowed} for interval type"
            f" {interval.name} ({MAX_SNAPS_KEYS[interval]})"
        )
    zone_of(timezone)
    due = next_run(interval, schedule, timezone, now or utcnow())
    policy = session.scalars(
        select(SnapshotPolicy).where(
            SnapshotPolicy.volume_id == volume.id, SnapshotPolicy.interval == int(interval)
        )
    ).first()
    created = policy is None
    if policy is None:
        policy = SnapshotPolicy(volume_id=volume.id, interval=int(interval))
        session.add(policy)
    policy.schedule, policy.timezone, policy.max_snaps = (
        schedule.strip(),
        timezone.strip(),
        max_snaps,
    )
    policy.active, policy.next_run = True, due
    session.flush()
    return policy, created


def list_policies(
    session: Session,
    volume: Volume,
    *,
    page: int | None = None,
    pagesize: int | None = None,
    max_page_size: int = DEFAULT_PAGE_SIZE,
) -> tuple[list[SnapshotPolicy], int]:
    """A page of the volume's policies by id, and the total (one statement)."""
    rows, total = fetch_page(
        session,
        select(SnapshotPolicy)
        .where(SnapshotPolicy.volume_id == volume.id)
        .order_by(SnapshotPolicy.id),
        page=page,
        pagesize=pagesize,
        max_page_size=max_page_size,
    )
    return [row[0] for row in rows], total


def delete_policies(session: Session, policies: list[SnapshotPolicy]) -> None:
    """Delete the policies (their snapshots stay)."""
    ids = [policy.id for policy in policies]
    if ids:
        session.execute(delete(SnapshotPolicy).where(SnapshotPolicy.id.in_(ids)))


def due(session: Session, now: dt.datetime, limit: int) -> list[tuple[int, dt.datetime]]:
    """``(id, next_run)`` of up to ``limit`` active policies due at ``now``, oldest
    first (one indexed statement)."""
    rows = session.execute(
        select(SnapshotPolicy.id, SnapshotPolicy.next_run)
        .where(SnapshotPolicy.active.is_(True), SnapshotPolicy.next_run <= now)
        .order_by(SnapshotPolicy.next_run, SnapshotPolicy.id)
        .limit(limit)
    )
    return [(int(policy_id), when) for policy_id, when in rows if when is not None]
