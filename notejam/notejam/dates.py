"""Notejam's dates: "Today at 14:05", "Yesterday at 09:30", else "27 Nov 2026" (UTC)."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta

EPOCH = date(1970, 1, 1)
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_days: dict[int, tuple[date, date]] = {}


def current_day() -> int:
    """Today as a day number (days since 1970-01-01, UTC); list caches key on it."""
    return int(time.time() // 86400)


def today_and_yesterday(day: int | None = None) -> tuple[date, date]:
    # Called for every row of a list: work the dates out once per (UTC) day, not per call.
    if day is None:
        day = current_day()
    days = _days.get(day)
    if days is None:
        today = EPOCH + timedelta(days=day)
        days = (today, today - timedelta(days=1))
        _days.clear()  # one day at a time; threads racing here store the same value
        _days[day] = days
    return days


def humandate(value: datetime, now: datetime | None = None, day: int | None = None) -> str:
    """Notejam's dates: "Today at 14:05", "Yesterday at 09:30", else "27 Nov 2026" (UTC).

    Relative to ``now``, else to the day number ``day``, else to the current UTC day.
    """
    if now is None:
        today, yesterday = today_and_yesterday(day)
    else:
        today, yesterday = now.date(), (now - timedelta(days=1)).date()
    # Formatted by hand: strftime costs more and its month names follow the process locale.
    day = value.date()
    if day == today:
        return f"Today at {value.hour:02d}:{value.minute:02d}"
    if day == yesterday:
        return f"Yesterday at {value.hour:02d}:{value.minute:02d}"
    return f"{value.day} {MONTHS[value.month - 1]} {value.year}"
