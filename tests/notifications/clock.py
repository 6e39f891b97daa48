"""A frozen clock in Asia/Tehran for the notifications tests: T0, at(hours after T0), tehran(...)."""

import zoneinfo
from datetime import datetime, timedelta

import time_machine

TEHRAN = zoneinfo.ZoneInfo("Asia/Tehran")
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=TEHRAN)


def at(hours: float):
    """The clock frozen `hours` after T0."""
    return time_machine.travel(T0 + timedelta(hours=hours), tick=False)


def tehran(*args) -> datetime:
    return datetime(*args, tzinfo=TEHRAN)
