"""The organiser's figures: the /stats chart (a real PNG drawn by matplotlib's Agg backend,
its bars the figures given) and the weekly digest sent to the moderation group on its own
cron. The digest through the real bot against the emulator, SQLite and PostgreSQL."""

from __future__ import annotations

import io
import subprocess
import sys
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from PIL import Image

from bot.campaign.captions import visible_text as visible
from bot.campaign.schedule import next_slots
from bot.i18n import local_moment, plain_n, t, tn
from bot.reports.charts import COLOURS, stats_chart, stats_figure
from models import SubmissionStatus
from models.base import utcnow
from models.stats import TradeFigures
from models.weekly import Week
from tests.support.interest import campaign, follow, published
from tests.support.publishing import add_entries, entry_values
from tests.support.stand import running_stand

S = SubmissionStatus
TRADES = [
    TradeFigures("Coiffeur·se", entries=12, published=8, interest=30),
    TradeFigures("Pâtissier·ère", entries=7, published=5, interest=4),
    TradeFigures("Boucher·ère", entries=3, published=0, interest=0),
]
WEEKS = [Week(date(2026, 9, 7) + timedelta(weeks=n), n % 4, 2 * n) for n in range(8)]


def test_the_chart_is_a_png_whose_bars_are_the_figures() -> None:
    png = stats_chart(TRADES, WEEKS, "fr")
    with Image.open(io.BytesIO(png)) as image:
        image.verify()
    with Image.open(io.BytesIO(png)) as image:
        assert image.format == "PNG" and image.size == (800, 700)

    figure = stats_figure(TRADES, WEEKS, "fr")
    bars, line = figure.axes
    for key in ("entries", "published", "interest"):
        drawn = [p for p in bars.patches if p.get_gid() == f"chart.{key}"]
        drawn.sort(key=lambda patch: -patch.get_y())  # from the top: the largest trade first
        assert [p.get_width() for p in drawn] == [getattr(trade, key) for trade in TRADES]
    labels = [label.get_text() for label in bars.get_yticklabels()]
    assert labels == [trade.trade for trade in reversed(TRADES)]
    for key, field in (("entries", "entries"), ("interest", "visitors")):
        [drawn_line] = [ln for ln in line.get_lines() if ln.get_gid() == f"chart.{key}"]
        assert list(drawn_line.get_ydata()) == [getattr(week, field) for week in WEEKS]
    # Interest is one figure, the people interested: one series of bars, one line, named so.
    assert len(line.get_lines()) == 2
    [legend] = figure.legends
    assert [text.get_text() for text in legend.get_texts()] == [
        "Participations",
        "Publiées",
        "Personnes intéressées",
    ]


def test_equal_weekly_series_stay_both_visible() -> None:
    """Weeks with as many people interested as entries: neither line hides the other (both colours
    are seen along the lines' path in the drawn PNG)."""
    same = [Week(date(2026, 9, 7) + timedelta(weeks=n), 3, 3) for n in range(8)]
    with Image.open(io.BytesIO(stats_chart(TRADES, same, "fr"))) as image:
        lower = image.convert("RGB").crop((0, 430, 800, 700))
    colours = Counter(lower.getdata())

    def seen(hex_colour: str) -> int:
        target = tuple(int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
        return sum(
            n
            for c, n in colours.items()
            if max(abs(a - b) for a, b in zip(c, target, strict=True)) < 40
        )

    assert seen(COLOURS["chart.entries"]) > 1500 and seen(COLOURS["chart.interest"]) > 300


def test_the_bot_does_not_load_matplotlib_until_a_chart_is_drawn() -> None:
    code = (
        "import sys, bot.app.application, handlers, bot.reports.charts; "
        "assert 'matplotlib' not in sys.modules, 'loaded'; "
        "bot.reports.charts.stats_chart([], [], 'en'); "
        "assert 'matplotlib' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[1])


async def test_the_weekly_digest_runs_on_its_cron_with_the_weeks_figures(
    db_url: str, tmp_path: Path
) -> None:
    schedule = {"cron": "0 3 29 2 *", "digest_cron": "30 8 * * 1"}
    async with running_stand(db_url, tmp_path, campaign=campaign(), schedule=schedule) as stand:
        [job] = stand.app.job_queue.get_jobs_by_name("digest")
        paris = ZoneInfo("Europe/Paris")
        fire = job.trigger.get_next_fire_time(None, datetime(2026, 12, 2, 12, tzinfo=paris))
        assert fire == datetime(2026, 12, 7, 8, 30, tzinfo=paris)  # the next Monday, 08:30

        posted = await published(stand, "Coiffeur·se", 9)  # first: the only one in the queue
        now = utcnow()
        old = now - timedelta(days=12)
        # Ten days ago: outside the week. This week: 3 approved (one of them then posted),
        # 1 refused after two hours, 1 waiting.
        await add_entries(stand, [entry_values(70, 1, submitted_at=old)], S.PENDING)
        approved = await add_entries(stand, [entry_values(71 + n, 2 + n) for n in range(2)])
        await add_entries(
            stand,
            [
                entry_values(
                    75,
                    7,
                    submitted_at=now - timedelta(hours=3),
                    decided_at=now - timedelta(hours=1),
                )
            ],
            S.REFUSED,
        )
        await add_entries(stand, [entry_values(76, 8)], S.PENDING)
        # Lou three times: one person interested; Kim another.
        lou, kim = stand.emu.create_user("Lou"), stand.emu.create_user("Kim")
        for person in (lou, lou, lou, kim):
            await follow(stand, person, posted)

        await job.run(stand.app)

        [digest] = stand.emu.bot_messages(stand.group)[-1:]
        lang = "fr"
        since = local_moment(lang, now - timedelta(days=7), "Europe/Paris")
        slots = next_slots(stand.settings.schedule, utcnow(), 3)
        assert digest["text"].splitlines()[0] == visible(t(lang, "digest.title", since=since))
        text = digest["text"]
        assert tn(lang, "digest.entries", 5) in text  # 2 + 1 refused + 1 waiting + 1 posted
        approved_refused = (plain_n(lang, "digest.approved", 3), plain_n(lang, "digest.refused", 1))
        assert (
            t(lang, "digest.decisions", approved=approved_refused[0], refused=approved_refused[1])
            in text
        )
        assert tn(lang, "digest.posts", 1) in text
        assert tn(lang, "digest.interest", 2) in text
        assert (
            "« Ce métier m’intéresse » : 2 personnes intéressées (chacune comptée une fois par"
            " jour et par métier)"
        ) in text
        assert "visite" not in text
        assert tn(lang, "queue.pending", 2) in text
        assert tn(lang, "queue.approved", len(approved)) in text
        first_slot = local_moment(lang, slots[0], "Europe/Paris")
        assert first_slot in text


async def test_no_digest_when_its_cron_is_empty(db_url: str, tmp_path: Path) -> None:
    async with running_stand(db_url, tmp_path, schedule={"digest_cron": ""}) as stand:
        assert not stand.app.job_queue.get_jobs_by_name("digest")
