"""Publication slots from a crontab line, with crontab's own weekday numbering."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.campaign.schedule import crontab_trigger, next_slots, slot_for_position
from bot.config import ScheduleSettings

PARIS = ZoneInfo("Europe/Paris")


@pytest.mark.parametrize(
    ("weekdays", "expected"),
    [
        ("1-5", [8, 9, 10, 11, 12]),  # Monday 8 June 2026 to Friday
        ("0", [7]),  # crontab: 0 is Sunday
        ("7", [7]),  # …and so is 7
        ("6,0", [6, 7]),
        ("sat,sun", [6, 7]),
        ("*/3", [6, 7, 10]),  # Sunday, Wednesday and Saturday (0, 3, 6)
    ],
)
def test_weekdays_follow_crontab(weekdays: str, expected: list[int]) -> None:
    trigger = crontab_trigger(f"0 9 * * {weekdays}", "Europe/Paris")
    moment, days = datetime(2026, 6, 5, 12, 0, tzinfo=PARIS), []  # a Friday
    for _ in range(len(expected)):
        moment = trigger.get_next_fire_time(None, moment)
        days.append(moment.day)
        moment = moment.replace(hour=10)
    assert days == expected


@pytest.mark.parametrize(
    "bad", ["0 9 * *", "0 9 * * funday", "61 9 * * *", "0 9 * * 8", "0 9 * * sat-sun"]
)
def test_bad_lines_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        crontab_trigger(bad, "UTC")


def test_slots_in_the_schedule_time_zone() -> None:
    schedule = ScheduleSettings(cron="0 9,13,18 * * *", timezone="Europe/Paris", per_slot=2)
    noon_utc = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)  # 13:00 in Paris: that slot is past
    slots = next_slots(schedule, noon_utc, 3)
    assert [(s.day, s.hour) for s in slots] == [(26, 18), (27, 9), (27, 13)]
    assert all(s.tzinfo == PARIS for s in slots)
    positions = [slot_for_position(schedule, noon_utc, p) for p in range(5)]
    assert [(s.day, s.hour) for s in positions] == [(26, 18), (26, 18), (27, 9), (27, 9), (27, 13)]
