"""``schedule.cron`` means what crontab(5) means: hand-written cases for the tricky parts,
daylight saving time in Paris, and generated lines against a brute-force matcher."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from itertools import islice
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.campaign.schedule import crontab_trigger, fire_times, next_slots
from bot.config import ConfigError, ScheduleSettings, check_crontab, settings_from_dict

PARIS = ZoneInfo("Europe/Paris")


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)


def firsts(line: str, start: datetime, count: int, zone: ZoneInfo = PARIS) -> list[datetime]:
    return list(islice(fire_times(line, zone, start), count))


def days(line: str, start: datetime, count: int) -> list[date]:
    return [moment.date() for moment in firsts(line, start, count)]


# --------------------------------------------------------------------------- semantics


def test_weekday_range_0_to_7_is_every_day() -> None:
    sunday = paris(2026, 11, 29, 0, 0)
    assert days("0 9 * * 0-7", sunday, 8) == [date(2026, 11, 29) + timedelta(n) for n in range(8)]


def test_restricted_day_of_month_and_weekday_are_or() -> None:
    """crontab(5): « 30 4 1,15 * 5 » runs on the 1st and the 15th, plus every Friday."""
    sunday = paris(2026, 11, 29, 0, 0)
    assert days("0 9 1 * 1", sunday, 4) == [
        date(2026, 11, 30),  # a Monday
        date(2026, 12, 1),  # the 1st, a Tuesday
        date(2026, 12, 7),
        date(2026, 12, 14),
    ]
    assert days("30 4 1,15 * 5", sunday, 5) == [
        date(2026, 12, 1),
        date(2026, 12, 4),
        date(2026, 12, 11),
        date(2026, 12, 15),
        date(2026, 12, 18),
    ]


def test_a_field_starting_with_a_star_makes_it_and() -> None:
    """Vixie's cron (and so crontab(5) in practice): ``*/2`` is not "restricted"."""
    sunday = paris(2026, 11, 29, 0, 0)
    # Odd days of the month that are also Mondays.
    assert days("0 9 */2 * mon", sunday, 3) == [
        date(2026, 12, 7),
        date(2026, 12, 21),
        date(2027, 1, 11),
    ]
    assert days("0 9 1 * *", sunday, 2) == [date(2026, 12, 1), date(2027, 1, 1)]


@pytest.mark.parametrize(
    ("weekdays", "expected"),
    [
        ("0", [7]),
        ("7", [7]),
        ("SUN", [7]),
        ("6,0", [6, 7]),
        ("5-7", [6, 7, 12]),
        ("*/3", [6, 7, 10]),  # 0, 3 and 6: Sunday, Wednesday, Saturday
        ("mon-fri/2", [8, 10, 12]),
    ],
)
def test_weekday_numbers_and_names(weekdays: str, expected: list[int]) -> None:
    friday_noon = paris(2026, 6, 5, 12, 0)
    assert [d.day for d in days(f"0 9 * * {weekdays}", friday_noon, 3)][: len(expected)] == (
        expected
    )


def test_one_value_range_with_a_step_is_that_value() -> None:
    assert days("0 0 5-5/2 * *", paris(2026, 1, 1, 0, 0), 2) == [date(2026, 1, 5), date(2026, 2, 5)]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("0 9 * *", "expected 5 fields"),
        ("0 0 9 * * *", "expected 5 fields"),  # cronsim's seconds field
        ("5/15 * * * *", "a step follows a range or *, e.g. 5-59/15"),
        ("0 9 * * 5L", "bad day of week '5L'"),  # cronsim's extensions
        ("0 9 L * *", "bad day of month 'L'"),
        ("0 9 LW * *", "bad day of month 'LW'"),
        ("0 9 * * 1#2", "bad day of week '1#2'"),
        ("0 9 ? * 1", "bad day of month '?'"),
        ("0 9 * * sat-sun", "a range goes upwards"),
        ("0 9 * * 8", "values are 0 to 7"),
        ("0 9 * * monday", "bad day of week 'monday'"),
        ("61 9 * * *", "bad minute '61'"),
        ("0 24 * * *", "bad hour '24'"),
        ("0 9 0 * *", "bad day of month '0'"),
        ("0 9 * 13 *", "bad month '13'"),
        ("*/0 * * * *", "a step is a number from 1"),
        ("*-5 * * * *", "bad minute '*-5'"),
        ("0 9 31 2,4 *", "never fires"),
    ],
)
def test_lines_crontab_does_not_define_are_refused(line: str, message: str) -> None:
    with pytest.raises(ValueError) as refused:
        check_crontab(line)
    assert message in str(refused.value)


def test_bad_cron_is_reported_at_load_by_its_key() -> None:
    raw = {
        "campaign": {"channel": "@fiersdetreapprentis"},
        "moderation": {"chat_id": -1001, "moderators": [42]},
        "schedule": {"cron": "0 9 * * 1#2"},
    }
    with pytest.raises(ConfigError) as caught:
        settings_from_dict(raw, base_dir=Path("/srv/bot"))
    assert caught.value.problems == [
        "schedule.cron: not a crontab(5) line: bad day of week '1#2' "
        '(e.g. "0 9,13,18 * * *": minute hour day month weekday)'
    ]


# --------------------------------------------------------------------------- daylight saving


def test_fixed_time_in_the_spring_gap_runs_at_the_end_of_the_gap() -> None:
    """Paris skips from 02:00 to 03:00 on 28 March 2027: the 02:30 slot runs at 03:00."""
    assert firsts("30 2 * * *", paris(2027, 3, 27, 12, 0), 2) == [
        paris(2027, 3, 28, 3, 0),
        paris(2027, 3, 29, 2, 30),
    ]


def test_fixed_time_in_the_repeated_autumn_hour_runs_once() -> None:
    """Paris goes from 03:00 summer time back to 02:00 on 31 October 2027."""
    slots = firsts("30 2 * * *", paris(2027, 10, 30, 12, 0), 3)
    assert [s.astimezone(UTC) for s in slots] == [
        datetime(2027, 10, 31, 0, 30, tzinfo=UTC),  # 02:30 summer time
        datetime(2027, 11, 1, 1, 30, tzinfo=UTC),
        datetime(2027, 11, 2, 1, 30, tzinfo=UTC),
    ]
    assert slots[0].utcoffset() == timedelta(hours=2)
    # Asked during the second 02:xx (winter time), the 02:30 already ran: next is tomorrow.
    winter_0215 = datetime(2027, 10, 31, 1, 15, tzinfo=UTC)
    assert firsts("30 2 * * *", winter_0215, 1)[0].astimezone(UTC) == datetime(
        2027, 11, 1, 1, 30, tzinfo=UTC
    )


def test_wildcard_hours_follow_elapsed_time() -> None:
    hourly = [s.astimezone(UTC).hour for s in firsts("0 * * * *", paris(2027, 10, 31, 0, 30), 4)]
    assert hourly == [23, 0, 1, 2]  # 01:00, 02:00 summer, 02:00 winter, 03:00
    spring = [s.hour for s in firsts("0 * * * *", paris(2027, 3, 28, 0, 30), 3)]
    assert spring == [1, 3, 4]  # there is no 02:00


def test_the_trigger_never_fires_twice_for_one_slot_across_autumn() -> None:
    """As APScheduler calls it: previous fire time and now, a little after it."""
    trigger = crontab_trigger("30 1,2,3 * * *", "Europe/Paris")
    now, fired = paris(2027, 10, 30, 23, 0), []
    for _ in range(4):
        slot = trigger.get_next_fire_time(fired[-1] if fired else None, now)
        assert slot is not None
        fired.append(slot)
        now = slot + timedelta(milliseconds=5)
    assert [s.astimezone(UTC).strftime("%H:%M") for s in fired] == [
        "23:30",  # 01:30 summer time
        "00:30",  # 02:30 summer time, not again an hour later
        "02:30",  # 03:30 winter time
        "00:30",  # 01:30 the next day
    ]


def test_next_slots_are_strictly_after_and_in_the_schedule_zone() -> None:
    schedule = ScheduleSettings(cron="0 9 * * *", timezone="Europe/Paris")
    slots = next_slots(schedule, paris(2026, 12, 1, 9, 0), 2)
    assert slots == [paris(2026, 12, 2, 9, 0), paris(2026, 12, 3, 9, 0)]
    assert all(s.tzinfo == PARIS for s in slots)


# --------------------------------------------------------------------------- generated lines

NAMES = {
    3: ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"],
    4: ["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
}
LIMITS = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)]


def random_value(rng: random.Random, index: int, low: int, high: int) -> tuple[int, str]:
    value = rng.randint(low, high)
    if index in NAMES and value < len(NAMES[index]) + (index == 3) and rng.random() < 0.3:
        name = NAMES[index][value - (index == 3)]
        return value, rng.choice([name, name.upper(), name.title()])
    return value, str(value)


def random_field(rng: random.Random, index: int) -> str:
    low, high = LIMITS[index]
    elements = []
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        kind = rng.choice(["*", "*/", "n", "n", "a-b", "a-b/"])
        if kind == "*":
            elements.append("*")
        elif kind == "*/":
            elements.append(f"*/{rng.randint(1, high)}")
        elif kind == "n":
            elements.append(random_value(rng, index, low, high)[1])
        else:
            (a, a_text), (b, b_text) = (random_value(rng, index, low, high) for _ in range(2))
            if a > b:
                a_text, b_text = b_text, a_text
            step = f"/{rng.randint(1, high - low + 1)}" if kind == "a-b/" else ""
            elements.append(f"{a_text}-{b_text}{step}")
    return ",".join(elements)


def expand(field: str, index: int) -> set[int]:
    """The values a crontab(5) field stands for, read the way Vixie's cron reads it."""
    low, high = LIMITS[index]
    values: set[int] = set()
    for element in field.lower().split(","):
        part, _, step = element.partition("/")
        if part == "*":
            first, last = low, high
        else:
            ends = [
                NAMES[index].index(e) + (index == 3) if e.isalpha() else int(e)
                for e in part.split("-")
            ]
            first, last = ends[0], ends[-1]
        values.update(range(first, last + 1, int(step or 1)))
    if index == 4 and 7 in values:
        values.add(0)
    return values


class Oracle:
    """Tests each minute against the five fields, as cron does every minute."""

    def __init__(self, line: str) -> None:
        fields = line.split()
        self.minutes, self.hours, self.days, self.months, self.weekdays = (
            expand(field, index) for index, field in enumerate(fields)
        )
        # crontab(5): if either day field starts with "*", both must match; else either.
        self.either = not (fields[2].startswith("*") or fields[4].startswith("*"))

    def day_matches(self, day: date) -> bool:
        if day.month not in self.months:
            return False
        by_date = day.day in self.days
        by_weekday = day.isoweekday() % 7 in self.weekdays
        return by_date or by_weekday if self.either else by_date and by_weekday

    def fire_times(self, start: datetime, end: datetime, count: int) -> list[datetime]:
        """The first ``count`` matching minutes in [start, end), minute after minute."""
        minutes_of_a_day = [
            (hour, minute)
            for hour in range(24)
            for minute in range(60)
            if hour in self.hours and minute in self.minutes
        ]
        found: list[datetime] = []
        day = start.date()
        while day <= end.date() and len(found) < count:
            if self.day_matches(day):
                found += [
                    moment
                    for hour, minute in minutes_of_a_day
                    if start
                    <= (moment := datetime(day.year, day.month, day.day, hour, minute))
                    < end
                ]
            day += timedelta(1)
        return found[:count]


def test_generated_lines_match_a_brute_force_matcher() -> None:
    """400 random lines, 50 fire times each (or all of a year), in UTC (DST is above)."""
    rng, utc, compared = random.Random(20261129), ZoneInfo("UTC"), 0
    for _ in range(400):
        line = " ".join(random_field(rng, index) for index in range(5))
        start = datetime(2026, 1, 1) + timedelta(minutes=rng.randrange(4 * 365 * 24 * 60))
        end = start + timedelta(days=366)
        oracle = Oracle(line)
        expected = oracle.fire_times(start, end, 50)
        # The calendar repeats every 28 years (until 2100): no day in 28 years is never.
        if not expected and not any(
            oracle.day_matches(start.date() + timedelta(n)) for n in range(28 * 366)
        ):
            with pytest.raises(ValueError, match="never fires"):
                check_crontab(line)
            continue
        got = [
            t.replace(tzinfo=None)
            for t in islice(fire_times(line, utc, start.replace(tzinfo=UTC)), 50)
        ]
        assert got[: len(expected)] == expected, line
        assert len(expected) == 50 or got[len(expected)] >= end, line
        compared += 1
    assert compared > 390
