# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for the ecs_service role's schedules (scale_event.yml's window checks).

Application Auto Scaling reads ``at(...)`` and ``cron(...)`` in the action's own time zone, so an
event window is written in ``ecs_service_schedule_timezone`` too; "is it in the future" must then
be asked in that zone, which Jinja's ``now()`` cannot do.
"""

import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ansible.errors import AnsibleFilterError

FORMATS = ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M")


def local_time(value, zone):
    """``value`` (YYYY-MM-DDTHH:MM[:SS], a wall-clock time in ``zone``) as ``YYYY-MM-DDTHH:MM:SS``;
    ``now`` gives the current time there."""
    try:
        tz = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as e:
        raise AnsibleFilterError(f"{zone!r} is not an IANA time zone (like Europe/London)") from e
    if value == "now":
        return datetime.datetime.now(tz).strftime(FORMATS[0])
    for fmt in FORMATS:
        try:
            return datetime.datetime.strptime(str(value).strip(), fmt).strftime(FORMATS[0])
        except ValueError:
            continue
    raise AnsibleFilterError(f"{value!r} is not a date and time like 2030-05-04T09:00")


def weekday_hour(value):
    """(weekday 0=Monday, hour) of a ``YYYY-MM-DDTHH:MM:SS`` text."""
    moment = datetime.datetime.strptime(value, FORMATS[0])
    return [moment.weekday(), moment.hour]


class FilterModule:
    def filters(self):
        return {"ecs_service_local_time": local_time, "ecs_service_weekday_hour": weekday_hour}
