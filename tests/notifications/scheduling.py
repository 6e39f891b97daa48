"""Helpers for the scheduled messages' tests: the due job run at a frozen moment (its queued
broadcasts sent after commit, as the worker would), and what each chat received."""

import zoneinfo
from collections import Counter
from datetime import datetime

import time_machine

from notifications import services

TEHRAN = zoneinfo.ZoneInfo("Asia/Tehran")
BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
UTC = zoneinfo.ZoneInfo("UTC")
SENDS = ("sendMessage", "sendPhoto", "sendVideo", "sendDocument")


def tehran(*args) -> datetime:
    return datetime(*args, tzinfo=TEHRAN)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def run_at(moment: datetime, capture) -> services.RunResult:
    """One pass of the due job at `moment`, then what it queued sent (the worker's part)."""
    with time_machine.travel(moment, tick=False), capture(execute=True):
        result = services.scheduled_messages_run()
    return result


def deliveries(fake, text: str) -> Counter:
    """How many times each chat received a message (or caption) with this text."""
    return Counter(c.chat_id for c in fake.calls if c.method in SENDS and c.text == text)


def schedule(**values):
    """A scheduled message written as the shop's operator would (services.scheduled_create)."""
    values.setdefault("created_by", "@boss")
    return services.scheduled_create(**values)
