"""Notejam's dates: "Today at 14:05", "Yesterday at 09:30", else "27 Nov 2026" (UTC)."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta

from .models import utcnow

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_days: dict[int, tuple[date, date]] = {}


def _today_and_yesterday() -> tuple[date, date]:
    # Called for every row of a list: work the dates out once per (UTC) day, not per call.
    day = int(time.time() // 86400)
    if day not in _days:
        today = utcnow().date()
        _days.clear()
        _days[day] = (today, today - timedelta(days=1))
    return _days[day]


def humandate(value: datetime, now: datetime | None = None) -> str:
    """Notejam's dates: "Today at 14:05", "Yesterday at 09:30", else "27 Nov 2026" (UTC)."""
    if now is None:
        today, yesterday = _today_and_yesterday()
    else:
        today, yesterday = now.date(), (now - timedelta(days=1)).date()
    # Formatted by hand: strftime costs more and its month names follow the process locale.
    day = value.date()
    if day == today:
        return f"Today at {value.hour:02d}:{value.minute:02d}"
    if day == yesterday:
        return f"Yesterday at {value.hour:02d}:{value.minute:02d}"
    return f"{value.day} {MONTHS[value.month - 1]} {value.year}"
