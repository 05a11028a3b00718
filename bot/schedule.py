"""Publication slots: when the channel gets its next posts, from the crontab of the config."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from bot.config import ScheduleSettings


def cron_trigger(schedule: ScheduleSettings) -> CronTrigger:
    return CronTrigger.from_crontab(schedule.cron, timezone=ZoneInfo(schedule.timezone))


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
