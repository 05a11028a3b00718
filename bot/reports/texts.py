"""The texts of /queue, /stats and the digest's queue, written once for every place that
shows them."""

from __future__ import annotations

from datetime import datetime

from bot.campaign.links import post_link
from bot.campaign.schedule import next_slots, slot_for_position
from bot.config import Settings
from bot.i18n import local_moment, plain, plain_n, t, tn
from models.stats import CampaignStats, QueueSummary

NEXT_SLOTS = 3


def queue_lines(
    lang: str, summary: QueueSummary, settings: Settings, now: datetime, *, in_full: bool
) -> list[str]:
    """What waits and when it goes: the digest tells the counts and the next slots, /queue
    (``in_full``) also the last slot of the queue and what needs a moderator."""
    zone = settings.schedule.timezone
    lines = [
        tn(lang, "queue.pending", summary.pending),
        tn(lang, "queue.approved", summary.approved),
    ]
    if in_full:
        if summary.approved:  # none waiting (a new campaign, all posted): no last slot
            last = slot_for_position(settings.schedule, now, summary.approved - 1)
            if last:
                when = local_moment(lang, last, zone)
                lines.append(tn(lang, "queue.last", summary.approved, when=when))
        if summary.needs_check:
            lines.append(tn(lang, "queue.needs_check", summary.needs_check))
        if summary.held:
            lines.append(tn(lang, "queue.held", summary.held))
        if summary.removals:
            lines.append(tn(lang, "queue.removals", summary.removals))
    slots = next_slots(settings.schedule, now, NEXT_SLOTS)
    lines.append(t(lang, "queue.next", slots=", ".join(local_moment(lang, s, zone) for s in slots)))
    return lines


def stats_text(lang: str, stats: CampaignStats, settings: Settings) -> str:
    statuses = ", ".join(
        f"{plain(lang, f'state.{status}')} {count}" for status, count in stats.by_status.items()
    )
    lines = [t(lang, "stats.title"), t(lang, "stats.by_status", statuses=statuses)]
    lines += trade_lines(lang, stats)
    if stats.by_centre:
        centres = ", ".join(f"{centre} {count}" for centre, count in stats.by_centre)
        lines.append(t(lang, "stats.by_centre", centres=centres))
    if stats.approval_rate is not None:
        lines.append(t(lang, "stats.approval_rate", rate=round(stats.approval_rate * 100)))
    if stats.median_decision is not None:
        minutes = round(stats.median_decision.total_seconds() / 60)
        lines.append(t(lang, "stats.median", minutes=minutes))
    lines += top_post_lines(lang, stats, settings)
    if stats.by_trade or stats.top_posts:
        lines.append(t(lang, "stats.interest_note"))
    return "\n".join(lines)


def trade_lines(lang: str, stats: CampaignStats) -> list[str]:
    """One line per top trade (entries, published, people interested), then how many
    trades are left out."""
    if not stats.by_trade:
        return []
    lines = [t(lang, "stats.trades")]
    lines += [
        t(
            lang,
            "stats.trade",
            trade=f.trade,
            entries=f.entries,
            published=f.published,
            interest=f.interest,
        )
        for f in stats.by_trade
    ]
    if stats.trades > len(stats.by_trade):
        lines.append(tn(lang, "stats.trades_more", stats.trades - len(stats.by_trade)))
    return lines


def top_post_lines(lang: str, stats: CampaignStats, settings: Settings) -> list[str]:
    """The posts whose « ce métier m'intéresse » link interested the most people (each
    once a day per post)."""
    if not stats.top_posts:
        return []
    lines = [t(lang, "stats.top_posts")]
    channel = settings.campaign.channel
    for post in stats.top_posts:
        people = plain_n(lang, "stats.people", post.visitors)
        values = {"number": post.submission_id, "trade": post.trade, "people": people}
        link = post_link(channel, post.channel_message_id or 0)
        if link and post.channel_message_id:
            lines.append(t(lang, "stats.top_post_link", link=link, **values))
        else:
            lines.append(t(lang, "stats.top_post", **values))
    return lines
