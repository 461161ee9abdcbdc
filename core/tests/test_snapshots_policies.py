"""Snapshot policy schedules (4.1's formats) and when a policy next runs, in its time
zone, across month ends and clock changes."""

from __future__ import annotations

import datetime as dt

import pytest

from cumulo.sdk.errors import InvalidParameterValue
from cumulo.volumes.policies import interval_of, next_run, parse_schedule, zone_of
from cumulo.volumes.snapshot_models import IntervalType

H, D, W, M = IntervalType.HOURLY, IntervalType.DAILY, IntervalType.WEEKLY, IntervalType.MONTHLY


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


@pytest.mark.parametrize(
    ("interval", "schedule", "expected"),
    [(H, "05", (5, 0, 0)), (D, "30:02", (30, 2, 0)), (W, "00:12:7", (0, 12, 7)),
     (M, "15:23:28", (15, 23, 28))],
)  # fmt: skip
def test_schedules_parse(interval: IntervalType, schedule: str, expected: tuple[int, ...]) -> None:
    assert parse_schedule(interval, schedule) == expected


@pytest.mark.parametrize(
    ("interval", "schedule"),
    [(H, "60"), (H, "05:01"), (D, "00"), (D, "00:24"), (W, "00:01:0"), (W, "00:01:8"),
     (M, "00:01:29"), (M, "aa:01:02"), (D, "-1:02")],
)  # fmt: skip
def test_bad_schedules_are_refused_naming_schedule(interval: IntervalType, schedule: str) -> None:
    with pytest.raises(InvalidParameterValue) as caught:
        parse_schedule(interval, schedule)
    assert str(caught.value).startswith("schedule")


def test_interval_and_zone_names() -> None:
    assert interval_of("weekly") is W
    with pytest.raises(InvalidParameterValue, match=r"^intervaltype"):
        interval_of("YEARLY")
    assert str(zone_of("Asia/Kolkata")) == "Asia/Kolkata"
    with pytest.raises(InvalidParameterValue, match=r"^timezone"):
        zone_of("Nowhere/Town")


def test_hourly_runs_at_the_minute_after_now() -> None:
    assert next_run(H, "15", "UTC", at("2026-03-01 10:14:00")) == at("2026-03-01 10:15:00")
    assert next_run(H, "15", "UTC", at("2026-03-01 10:15:00")) == at("2026-03-01 11:15:00")
    # A half-hour zone: minute 15 local is minute 45 UTC.
    assert next_run(H, "15", "Asia/Kolkata", at("2026-03-01 10:00:00")) == at("2026-03-01 10:45:00")


def test_daily_is_read_in_the_policy_time_zone() -> None:
    # 02:30 in Paris is 01:30 UTC in winter and 00:30 UTC in summer.
    assert next_run(D, "30:02", "Europe/Paris", at("2026-01-10 12:00:00")) == at(
        "2026-01-11 01:30:00"
    )
    assert next_run(D, "30:02", "Europe/Paris", at("2026-07-10 00:00:00")) == at(
        "2026-07-10 00:30:00"
    )


def test_weekly_counts_days_from_sunday() -> None:
    # 2026-03-04 is a Wednesday; day 1 is Sunday (2026-03-08), day 4 the same Wednesday.
    assert next_run(W, "00:12:1", "UTC", at("2026-03-04 09:00:00")) == at("2026-03-08 12:00:00")
    assert next_run(W, "00:12:4", "UTC", at("2026-03-04 09:00:00")) == at("2026-03-04 12:00:00")
    assert next_run(W, "00:12:4", "UTC", at("2026-03-04 13:00:00")) == at("2026-03-11 12:00:00")


def test_monthly_rolls_over_the_year() -> None:
    assert next_run(M, "00:06:28", "UTC", at("2026-12-28 07:00:00")) == at("2027-01-28 06:00:00")
    assert next_run(M, "00:06:01", "UTC", at("2026-02-15 00:00:00")) == at("2026-03-01 06:00:00")
