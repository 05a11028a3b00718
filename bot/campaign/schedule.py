"""Publication slots: when the channel gets its next posts, from the crontab of the config.

``schedule.cron`` means what crontab(5) means, and cronsim computes its fire times: weekdays
0 to 7 with both 0 and 7 Sunday, names (``mon``, ``jan``) in the weekday and month fields,
and a day that matches the day of month OR the day of week when both fields are restricted
(``0 9 1 * 1``: the 1st of each month and every Monday); when either field starts with
``*``, both must match. What crontab does not define is refused: a sixth field, cronsim's
extensions (``L``, ``W``, ``#``) and a step after a single number (``5/15``, which Vixie's
cron reads as ``5`` and cronsim as ``5-59/15``).

Daylight saving time in ``schedule.timezone``, as cronsim (like Debian's cron) handles it:

- a line with a fixed minute and hour runs on the wall clock: a slot in the hour skipped in
  spring runs at the first minute after it (02:30 on the last Sunday of March in Paris
  runs at 03:00), and a slot in the hour repeated in autumn runs once, the first time
  (02:30 summer time);
- a line with ``*`` in the minute or hour field runs on elapsed time: ``0 * * * *`` runs at
  each real hour, so not at 02:00 in spring and twice at 02:00 in autumn.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from itertools import islice
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger
from cronsim import CronSim

from bot.config import ScheduleSettings, Settings, check_crontab


def fire_times(expression: str, timezone: ZoneInfo, start: datetime) -> Iterator[datetime]:
    """The line's fire times at or after ``start``, in ``timezone``, in real-time order."""
    # cronsim's first result is the first whole second after its start.
    after = (start - timedelta(microseconds=1)).astimezone(timezone)
    for moment in CronSim(check_crontab(expression), after):
        # A fixed time in the autumn's repeated hour can come out before ``start``.
        if moment.astimezone(UTC) >= start:
            yield moment.astimezone(UTC).astimezone(timezone)


class CrontabTrigger(BaseTrigger):
    """APScheduler trigger for a crontab line: PTB's JobQueue runs the publisher on it."""

    def __init__(self, expression: str, timezone: str) -> None:
        self.expression = check_crontab(expression)
        self.timezone = ZoneInfo(timezone)

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        start = now
        if previous_fire_time is not None:
            start = min(now, previous_fire_time + timedelta(microseconds=1))
        return next(fire_times(self.expression, self.timezone, start), None)

    def __str__(self) -> str:
        return f"crontab[{self.expression}, {self.timezone.key}]"


def crontab_trigger(expression: str, timezone: str) -> CrontabTrigger:
    """APScheduler trigger for a standard crontab line (Sunday is 0, as in crontab)."""
    return CrontabTrigger(expression, timezone)


def cron_trigger(schedule: ScheduleSettings) -> CrontabTrigger:
    return crontab_trigger(schedule.cron, schedule.timezone)


def next_slots(schedule: ScheduleSettings, after: datetime, count: int) -> list[datetime]:
    """The next ``count`` slot times strictly after ``after``, in the schedule's time zone."""
    zone = ZoneInfo(schedule.timezone)
    return list(islice(fire_times(schedule.cron, zone, after + timedelta(microseconds=1)), count))


def slot_for_position(
    schedule: ScheduleSettings, after: datetime, position: int
) -> datetime | None:
    """When the entry at ``position`` (0 = next) of the publishing queue should be posted."""
    slots = next_slots(schedule, after, position // schedule.per_slot + 1)
    return slots[-1] if len(slots) > position // schedule.per_slot else None


def local_day(settings: Settings, moment: datetime) -> date:
    """The campaign's day at ``moment`` (an aware time): its date in ``schedule.timezone``."""
    return moment.astimezone(campaign_zone(settings.schedule.timezone)).date()


@functools.lru_cache(maxsize=16)
def campaign_zone(name: str) -> ZoneInfo:
    """The zone of that name, looked up once: the site's build asks it per entry."""
    return ZoneInfo(name)
