"""cron_to_rrule: cron expressions become the rules AWX schedules take, firing when cron would."""

import sys
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from ansible.errors import AnsibleFilterError
from dateutil.rrule import rrulestr

sys.path.insert(0, str(Path(__file__).resolve().parents[4] / ".collections"))

from ansible_collections.notejam.aws.plugins.filter.cron_to_rrule import cron_to_rrule

SETTING = "awx_schedules.drift_prod.cron"


def _values(field, low, high):
    out = set()
    for part in field.split(","):
        base, _, step = part.partition("/")
        step = int(step or 1)
        if base == "*":
            first, last = low, high
        elif "-" in base:
            first, last = (int(x) for x in base.split("-"))
        else:
            first = int(base)
            last = high if "/" in part else first
        out.update(range(first, last + 1, step))
    return out


def _cron_times(expression, first, last):
    """Every minute cron (Vixie/cronie) fires in [first, last], read independently of the filter."""
    minute, hour, dom, month, dow = expression.split()
    minutes, hours = sorted(_values(minute, 0, 59)), sorted(_values(hour, 0, 23))
    doms, months = _values(dom, 1, 31), _values(month, 1, 12)
    dows = {d % 7 for d in _values(dow, 0, 7)}
    out, day = [], first.replace(hour=0, minute=0)
    while day <= last:
        dom_ok, dow_ok = day.day in doms, (day.weekday() + 1) % 7 in dows  # cron: Sunday is 0
        either = not dom.startswith("*") and not dow.startswith("*")
        if day.month in months and ((dom_ok or dow_ok) if either else (dom_ok and dow_ok)):
            out.extend(day.replace(hour=h, minute=m) for h in hours for m in minutes)
        day += timedelta(days=1)
    return [t for t in out if first <= t <= last]


def _rule_times(rule, first, last):
    # dateutil is what AWX computes next runs with; drop the zone to compare wall-clock times.
    parsed = rrulestr(rule, forceset=True)
    tz = ZoneInfo("UTC")
    times = parsed.between(first.replace(tzinfo=tz), last.replace(tzinfo=tz), inc=True)
    return [t.replace(tzinfo=None) for t in times]


@pytest.mark.parametrize(
    ("cron", "rule"),
    [
        ("0 2 * * *", "RRULE:FREQ=DAILY;BYHOUR=2;BYMINUTE=0;INTERVAL=1"),
        ("30 4 * * 6", "RRULE:FREQ=DAILY;BYDAY=SA;BYHOUR=4;BYMINUTE=30;INTERVAL=1"),
        ("*/15 * * * *", "RRULE:FREQ=HOURLY;BYMINUTE=0,15,30,45;INTERVAL=1"),
        ("* * * * *", "RRULE:FREQ=MINUTELY;INTERVAL=1"),
        ("* 3 * * *", "RRULE:FREQ=MINUTELY;BYHOUR=3;INTERVAL=1"),
        ("5 0-23 * * *", "RRULE:FREQ=HOURLY;BYMINUTE=5;INTERVAL=1"),
        ("0 0 1 * *", "RRULE:FREQ=DAILY;BYMONTHDAY=1;BYHOUR=0;BYMINUTE=0;INTERVAL=1"),
        ("0 6 * 1,7 0", "RRULE:FREQ=DAILY;BYMONTH=1,7;BYDAY=SU;BYHOUR=6;BYMINUTE=0;INTERVAL=1"),
        ("0 6 * * 7", "RRULE:FREQ=DAILY;BYDAY=SU;BYHOUR=6;BYMINUTE=0;INTERVAL=1"),
        ("0 6 * * 0,7", "RRULE:FREQ=DAILY;BYDAY=SU;BYHOUR=6;BYMINUTE=0;INTERVAL=1"),
        (
            "10-50/20 8-18/5 * * 1-5",
            "RRULE:FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR;BYHOUR=8,13,18;BYMINUTE=10,30,50;INTERVAL=1",
        ),
        ("5/20 * * * *", "RRULE:FREQ=HOURLY;BYMINUTE=5,25,45;INTERVAL=1"),
        ("0 12 */10 * *", "RRULE:FREQ=DAILY;BYMONTHDAY=1,11,21,31;BYHOUR=12;BYMINUTE=0;INTERVAL=1"),
        ("0 0 * * 0-7", "RRULE:FREQ=DAILY;BYHOUR=0;BYMINUTE=0;INTERVAL=1"),
        (
            "0 2 1,15 * 1",
            "RRULE:FREQ=DAILY;BYMONTHDAY=1,15;BYHOUR=2;BYMINUTE=0;INTERVAL=1 "
            "RRULE:FREQ=DAILY;BYDAY=MO;BYHOUR=2;BYMINUTE=0;INTERVAL=1",
        ),
    ],
)
def test_cron_becomes_the_expected_rule(cron, rule):
    assert cron_to_rrule(cron, "Europe/Berlin") == f"DTSTART;TZID=Europe/Berlin:20260101T000000 {rule}"


def test_rule_has_the_shape_of_the_awx_schedule_rrule_lookup():
    # awx.awx.schedule_rrule('day', start_date='2026-01-01', timezone='UTC') gives
    # "DTSTART;TZID=UTC:20260101T000000 RRULE:FREQ=DAILY;INTERVAL=1": the zone in DTSTART, INTERVAL last.
    rule = cron_to_rrule("0 2 * * *", start="2026-03-01")
    assert rule == "DTSTART;TZID=UTC:20260301T000000 RRULE:FREQ=DAILY;BYHOUR=2;BYMINUTE=0;INTERVAL=1"


@pytest.mark.parametrize(
    ("cron", "days"),
    [
        ("0 2 * * *", 40),
        ("30 4 * * 6", 60),
        ("*/15 * * * *", 3),
        ("10-50/20 8-18/5 * * 1-5", 20),
        ("0 12 */10 * *", 100),
        ("0 2 1,15 * 1", 70),
        ("0 2 1-31 * 1", 20),
        ("0 2 30 2 1", 400),
        ("0 2 */2 * 1", 70),
        ("0 6 * 2 0,7", 400),
        ("0 0 29 2 *", 1500),
        ("7 1-3 * * *", 5),
        ("* 3 * * 2", 8),
    ],
)
def test_rule_fires_exactly_when_cron_would(cron, days):
    first = datetime(2026, 1, 1)
    last = first + timedelta(days=days) - timedelta(minutes=1)
    assert _rule_times(cron_to_rrule(cron), first, last) == _cron_times(cron, first, last)


@pytest.mark.parametrize(
    ("cron", "message"),
    [
        ("61 2 * * *", f"{SETTING}='61 2 * * *': minute 61 is out of 0-59"),
        ("0 24 * * *", f"{SETTING}='0 24 * * *': hour 24 is out of 0-23"),
        ("0 2 0 * *", f"{SETTING}='0 2 0 * *': day of month 0 is out of 1-31"),
        ("0 2 32 * *", "day of month 32 is out of 1-31"),
        ("0 2 * 13 *", "month 13 is out of 1-12"),
        ("0 2 * 0 *", "month 0 is out of 1-12"),
        ("0 2 * * 8", "day of week 8 is out of 0-7"),
        ("0 2 * *", "4 field(s); cron has five"),
        ("0 2 * * * *", "6 field(s); cron has five"),
        ("", "0 field(s); cron has five"),
        ("@daily", "1 field(s); cron has five"),
        ("0 2 * * MON", "day of week 'MON' is not a number"),
        ("0 2 * JAN *", "month 'JAN' is not a number"),
        ("0 2 L * *", "day of month 'L' is not a number"),
        ("0 2 ? * *", "day of month '?' is not a number"),
        ("0 2 * * 1#2", "day of week '1#2' is not a number"),
        ("-1 2 * * *", "minute '' is not a number"),
        ("0 5-2 * * *", "hour range '5-2' runs backwards"),
        ("*/0 2 * * *", "minute step '0' in '*/0' is not a whole number above 0"),
        ("*/x 2 * * *", "minute step 'x' in '*/x' is not a whole number above 0"),
        ("1,,2 2 * * *", "minute '1,,2' has an empty list item"),
        ("0 2 30 2 *", "day of month 30 never comes in month 2, so it would never run"),
        ("0 2 31 4,6,9,11 *", "day of month 31 never comes in month 4,6,9,11"),
    ],
)
def test_bad_cron_is_refused_naming_the_setting_and_field(cron, message):
    with pytest.raises(AnsibleFilterError) as err:
        cron_to_rrule(cron, setting=SETTING)
    assert message in str(err.value)
    assert str(err.value).startswith(f"{SETTING}=")


def test_day_30_of_february_is_fine_when_a_weekday_also_matches():
    # cron runs on either day when both are given: Mondays in February.
    assert "BYDAY=MO" in cron_to_rrule("0 2 30 2 1")


@pytest.mark.parametrize("timezone", ["Mars/Olympus", "", "../etc/passwd", "/etc/localtime", "Europe"])
def test_unknown_timezone_is_refused_naming_the_setting(timezone):
    expected = r"^awx_schedules\.drift_prod\.timezone=.*not an IANA time zone"
    with pytest.raises(AnsibleFilterError, match=expected):
        cron_to_rrule("0 2 * * *", timezone, setting=SETTING)


def test_start_that_is_not_a_date_is_refused():
    with pytest.raises(AnsibleFilterError, match="start '2026-13-01' is not a date"):
        cron_to_rrule("0 2 * * *", start="2026-13-01", setting=SETTING)


def test_non_string_is_refused():
    with pytest.raises(AnsibleFilterError, match="a cron expression is a string"):
        cron_to_rrule(None, setting=SETTING)
