"""Filters that turn the cron expressions of the AWX/Tower settings into the schedules AWX wants."""

import re
from datetime import date

from ansible.errors import AnsibleFilterError

DOCUMENTATION = r"""
name: cron_to_rrule
short_description: Convert a 5-field cron expression to the RFC 5545 rule AWX/Tower schedules take
description:
  - Reads a standard cron expression (minute, hour, day of month, month, day of week) made of
    numbers, lists (C(1,15)), ranges (C(1-5)), steps (C(*/15), C(10-50/20)) and C(*), and returns
    the C(DTSTART;TZID=<timezone>:<start>T000000 RRULE:...) string that the C(rrule) option of
    C(awx.awx.schedule) accepts, in the same shape as the C(awx.awx.schedule_rrule) lookup
    (C(INTERVAL=1) last).
  - Every field is expanded to explicit C(BYMONTH), C(BYMONTHDAY), C(BYDAY), C(BYHOUR) and C(BYMINUTE)
    lists, so the rule fires at exactly the minutes cron would, whatever the start date.
  - As in cron (Vixie cron, cronie), when both day of month and day of week are restricted (neither
    starts with C(*)) a day matches if either does; that is written as two RRULEs in one rule set,
    which AWX accepts. Day of week 0 and 7 are both Sunday.
  - Names (C(MON), C(JAN)), C(@daily)-style macros, C(L), C(W), C(#) and C(?) are refused, as are
    values out of range and expressions that can never fire (C(0 0 30 2 *)).
  - "Every error starts with O(setting) and the expression, then names the field at fault, for
    example C(awx_schedules.drift_prod.cron='61 2 * * *': minute 61 is out of 0-59)."
options:
  _input:
    description: The cron expression, five fields separated by spaces.
    type: str
    required: true
  timezone:
    description:
      - IANA time zone the cron times are read in (C(TZID)); checked against the tz database.
    type: str
    default: UTC
  start:
    description:
      - Date (C(YYYY-MM-DD)) of C(DTSTART). Keep it fixed; AWX compares the whole rule, so a start
        that moves would rewrite the schedule on every run.
    type: str
    default: '2026-01-01'
  setting:
    description: Name of the setting the expression came from, used in error messages.
    type: str
    default: cron
"""

EXAMPLES = r"""
- name: Nightly at 02:00 in Berlin
  ansible.builtin.debug:
    msg: "{{ '0 2 * * *' | notejam.aws.cron_to_rrule('Europe/Berlin') }}"
  # DTSTART;TZID=Europe/Berlin:20260101T000000 RRULE:FREQ=DAILY;BYHOUR=2;BYMINUTE=0;INTERVAL=1
"""

RETURN = r"""
_value:
  description: The rule, C(DTSTART;TZID=...:YYYYMMDDTHHMMSS) followed by one or two C(RRULE:) parts.
  type: str
"""

FIELDS = (
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day of month", 1, 31),
    ("month", 1, 12),
    ("day of week", 0, 7),
)
WEEKDAYS = ("SU", "MO", "TU", "WE", "TH", "FR", "SA")
# The longest each month can be (February in a leap year): a day beyond it never comes.
MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
NUMBER = re.compile(r"^[0-9]+$")


class _CronError(Exception):
    pass


def _number(text, name, low, high):
    if not NUMBER.match(text):
        raise _CronError(f"{name} {text!r} is not a number (names, L, W, # and ? are not supported)")
    value = int(text)
    if not low <= value <= high:
        raise _CronError(f"{name} {value} is out of {low}-{high}")
    return value


def _expand(field, name, low, high):
    """The sorted values a cron field matches, and whether it starts with '*'."""
    values = set()
    for part in field.split(","):
        if not part:
            raise _CronError(f"{name} {field!r} has an empty list item")
        base, slash, step_text = part.partition("/")
        step = 1
        if slash:
            if not NUMBER.match(step_text) or int(step_text) == 0:
                raise _CronError(f"{name} step {step_text!r} in {part!r} is not a whole number above 0")
            step = int(step_text)
        if base == "*":
            first, last = low, high
        elif "-" in base:
            first_text, _, last_text = base.partition("-")
            first = _number(first_text, name, low, high)
            last = _number(last_text, name, low, high)
            if first > last:
                raise _CronError(f"{name} range {base!r} runs backwards")
        else:
            first = _number(base, name, low, high)
            # "5/15" means from 5 to the end in steps of 15, as cronie reads it.
            last = high if slash else first
        values.update(range(first, last + 1, step))
    return sorted(values), field.startswith("*")


def _join(values):
    return ",".join(str(v) for v in values)


def _rule(freq, parts):
    return "RRULE:" + ";".join([f"FREQ={freq}"] + [f"{key}={value}" for key, value in parts] + ["INTERVAL=1"])


def cron_to_rrule(cron, timezone="UTC", start="2026-01-01", setting="cron"):
    where = f"{setting}={cron!r}"
    if not isinstance(cron, str):
        raise AnsibleFilterError(f"{where}: a cron expression is a string of five fields")
    fields = cron.split()
    if len(fields) != 5:
        raise AnsibleFilterError(
            f"{where}: {len(fields)} field(s); cron has five: minute hour day-of-month month day-of-week"
        )
    try:
        expanded = [
            _expand(text, name, low, high) for text, (name, low, high) in zip(fields, FIELDS, strict=True)
        ]
    except _CronError as err:
        raise AnsibleFilterError(f"{where}: {err}") from None
    (minutes, _), (hours, _), (days, days_star), (months, _), (weekdays, weekdays_star) = expanded
    weekdays = sorted({d % 7 for d in weekdays})

    days_restricted = len(days) < 31
    weekdays_restricted = len(weekdays) < 7
    # Vixie cron: when both day fields are restricted without a leading '*', either one matching is enough.
    either_day = not days_star and not weekdays_star
    if either_day and not (days_restricted and weekdays_restricted):
        days_restricted = weekdays_restricted = either_day = False  # one of them matches every day
    never = days_restricted and not any(d <= MONTH_DAYS[m - 1] for d in days for m in months)
    if never and not either_day:
        raise AnsibleFilterError(
            f"{where}: day of month {_join(days)} never comes in month {_join(months)}, so it would never run"
        )

    tz_name = _timezone(timezone, setting)
    try:
        dtstart = date.fromisoformat(str(start))
    except ValueError:
        raise AnsibleFilterError(f"{setting}: start {start!r} is not a date (YYYY-MM-DD)") from None

    # The coarsest frequency whose BY lists say the rest: every minute, every hour, or every day.
    if len(minutes) == 60:
        freq = "MINUTELY"
    elif len(hours) == 24:
        freq = "HOURLY"
    else:
        freq = "DAILY"
    time_parts = []
    if len(hours) < 24:
        time_parts.append(("BYHOUR", _join(hours)))
    if len(minutes) < 60:
        time_parts.append(("BYMINUTE", _join(minutes)))
    month_parts = [("BYMONTH", _join(months))] if len(months) < 12 else []
    day_parts = [("BYMONTHDAY", _join(days))] if days_restricted else []
    weekday_parts = [("BYDAY", ",".join(WEEKDAYS[d] for d in weekdays))] if weekdays_restricted else []

    if either_day:
        # One rule per kind of day, in one rule set: AWX fires on the union.
        rules = [
            _rule(freq, month_parts + day_parts + time_parts),
            _rule(freq, month_parts + weekday_parts + time_parts),
        ]
    else:
        rules = [_rule(freq, month_parts + day_parts + weekday_parts + time_parts)]
    return f"DTSTART;TZID={tz_name}:{dtstart:%Y%m%d}T000000 " + " ".join(rules)


def _timezone(name, setting):
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    owner = setting.rsplit(".", 1)[0] + ".timezone" if "." in setting else "timezone"
    message = f"{owner}={name!r}: not an IANA time zone name (such as UTC or Europe/Berlin)"
    if not isinstance(name, str) or not name or name.startswith(("/", ".")) or ".." in name:
        raise AnsibleFilterError(message)
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise AnsibleFilterError(message) from None
    return name


class FilterModule:
    def filters(self):
        return {"cron_to_rrule": cron_to_rrule}
