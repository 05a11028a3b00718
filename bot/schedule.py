"""Publication slots: when the channel gets its next posts, from the crontab of the config."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

if TYPE_CHECKING:
    from bot.config import ScheduleSettings

# crontab numbers weekdays from Sunday (0 or 7); APScheduler 3 from Monday (0): names are
# the same in both, so weekdays are handed over by name.
_DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def _weekday_names(field: str) -> str:
    """A crontab weekday field (``1-5``, ``0,6``, ``*/2``, ``mon-fri``) as day names."""
    if field == "*":
        return field
    days: set[int] = set()
    for part in field.split(","):
        match = re.fullmatch(r"(\*|\w+)(?:-(\w+))?(?:/(\d+))?", part.lower())
        if match is None:
            raise ValueError(f"bad weekday {part!r}")
        first, last, step = match.groups()
        start = 0 if first == "*" else _day_number(first)
        end = 6 if first == "*" else _day_number(last) if last else start
        if end < start:
            end += 7
        days.update(day % 7 for day in range(start, end + 1, int(step or 1)))
    return ",".join(_DAY_NAMES[day] for day in sorted(days))


def _day_number(token: str) -> int:
    if token.isdigit() and int(token) <= 7:
        return int(token) % 7
    if token[:3] in _DAY_NAMES:
        return _DAY_NAMES.index(token[:3])
    raise ValueError(f"bad weekday {token!r}")


def crontab_trigger(expression: str, timezone: str) -> CronTrigger:
    """APScheduler trigger for a standard crontab line (Sunday is 0, as in crontab)."""
    fields = expression.split()
    if len(fields) != 5:
        raise ValueError(f"expected 5 fields (minute hour day month weekday), got {len(fields)}")
    minute, hour, day, month, weekday = fields
    return CronTrigger(
        minute=minute,
        hour=hour,
        day=day,
        month=month,
        day_of_week=_weekday_names(weekday),
        timezone=ZoneInfo(timezone),
    )


def cron_trigger(schedule: ScheduleSettings) -> CronTrigger:
    return crontab_trigger(schedule.cron, schedule.timezone)


def next_slots(schedule: ScheduleSettings, after: datetime, count: int) -> list[datetime]:
    """The next ``count`` slot times strictly after ``after``, in the schedule's time zone."""
    trigger = cron_trigger(schedule)
    slots: list[datetime] = []
    previous: datetime | None = None
    moment = after + timedelta(microseconds=1)
    while len(slots) < count:
        slot = trigger.get_next_fire_time(previous, moment)
        if slot is None:
            break
        slots.append(slot)
        previous, moment = slot, slot + timedelta(seconds=1)
    return slots


def slot_for_position(
    schedule: ScheduleSettings, after: datetime, position: int
) -> datetime | None:
    """When the entry at ``position`` (0 = next) of the publishing queue should be posted."""
    slots = next_slots(schedule, after, position // schedule.per_slot + 1)
    return slots[-1] if len(slots) > position // schedule.per_slot else None
