"""The moderators' weekly digest: what the past seven days brought (entries, decisions,
posts, interest) and what waits (queue, next slots)."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.campaign.interest import local_day
from bot.campaign.schedule import next_slots
from bot.i18n import plain_n, t, tn
from bot.services import Services
from bot.telegram.cards import when
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
        t(lang, "digest.title", since=when(start, lang, services)),
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
        t(
            lang,
            "digest.interest",
            visits=plain_n(lang, "digest.visits", week.visits),
            visitors=plain_n(lang, "digest.visitors", week.visitors),
        ),
        "",
        tn(lang, "queue.pending", queue.pending),
        tn(lang, "queue.approved", queue.approved),
    ]
    slots = next_slots(settings.schedule, now, 3)
    lines.append(t(lang, "queue.next", slots=", ".join(when(s, lang, services) for s in slots)))
    return "\n".join(lines)
