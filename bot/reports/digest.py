"""The moderators' weekly digest: what the past seven days brought (entries, decisions,
posts, the people interested, each once a day per trade) and what waits (queue, next
slots)."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.campaign.schedule import local_day
from bot.i18n import local_moment, plain_n, t, tn
from bot.reports.texts import queue_lines
from bot.services import Services
from models.stats import queue_summary
from models.weekly import period_figures

WEEK = timedelta(days=7)


async def weekly_digest(services: Services, now: datetime) -> str:
    settings = services.settings
    lang = settings.moderation.language
    start = now - WEEK
    days = (local_day(settings, start) + timedelta(days=1), local_day(settings, now))
    async with services.sessions() as session:
        week = await period_figures(session, start, now, days)
        queue = await queue_summary(session)
    lines = [
        t(lang, "digest.title", since=local_moment(lang, start, settings.schedule.timezone)),
        tn(lang, "digest.entries", week.entries),
        t(
            lang,
            "digest.decisions",
            approved=plain_n(lang, "digest.approved", week.approved),
            refused=plain_n(lang, "digest.refused", week.refused),
        ),
    ]
    if week.median_decision is not None:
        minutes = round(week.median_decision.total_seconds() / 60)
        lines.append(t(lang, "stats.median", minutes=minutes))
    lines += [
        tn(lang, "digest.posts", week.posts),
        tn(lang, "digest.interest", week.visitors),
        "",
        *queue_lines(lang, queue, settings, now, in_full=False),
    ]
    return "\n".join(lines)
