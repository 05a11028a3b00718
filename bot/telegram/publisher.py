"""Posting approved entries to the channel: exactly once, whatever Telegram or the machine does.

Each post follows the same three steps: claim the entry (approved → publishing, committed),
send it, record it (publishing → published, committed). What a failed send means decides
where the entry goes, and only a failure that proves nothing was posted puts it back:

- 429, or a connection that never reached Telegram: back in the queue, tried next slot;
- a time-out, a dropped connection, a 5xx: the post may be out (Telegram can deliver and
  lose the answer): after ``schedule.settle_after`` seconds the bot looks for it on the
  channel (:mod:`bot.telegram.probe`): found, it is recorded as published; certainly absent,
  back in the queue; undecided, ``needs_check``: the moderators look; never re-sent alone;
- a 400 about this entry (its photo, its caption) or its photo missing from the disk:
  ``held``, out of the queue with the reason on its card; the next entry goes in the slot;
- the channel itself refusing (403, chat not found, rights missing): publishing pauses and
  the moderators are alerted; the entry keeps its place.

A crash between the send and the record leaves the entry in ``publishing``; at the next
start it is looked for on the channel the same way. So is one the database left there while
the bot ran (gone between the claim and the record): the catch-up job looks for it once its
claim is older than any live publication takes (:data:`STRANDED_AFTER`).
"""

from __future__ import annotations

import asyncio
import enum
import logging
from datetime import datetime, timedelta

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError

from bot.campaign.captions import CHANNEL_LANGUAGE, entry_caption, visible_text
from bot.campaign.links import interest_link, post_link
from bot.campaign.offers import offers_url
from bot.config import Settings
from bot.i18n import plain, t
from bot.metrics import count_publish, count_settled
from bot.services import Services
from bot.telegram.cards import refresh_card
from bot.telegram.delivery import maybe_delivered, never_left
from bot.telegram.notify import tell_apprentice
from bot.telegram.probe import Candidate, Finding, Search, find_post
from bot.telegram.removals import carry_out
from models import Submission, utcnow
from models.lifecycle import (
    PHOTO_MISSING,
    claim_for_publishing,
    hold,
    mark_needs_check,
    mark_published,
    release_claim,
)
from models.publishing import (
    interrupted_entries,
    last_channel_post,
    last_published_trade,
    next_to_publish,
    note_channel_post,
    posts_after,
    recorded_as,
    unsure_entries,
)
from models.removals import found_post, lost_post
from models.settings import PUBLISHING_PAUSE_TOLD, PUBLISHING_PAUSED, get_setting, set_setting
from models.submissions import get_entry

log = logging.getLogger(__name__)

HELD_PER_SLOT = 10
"""Entries Telegram refuses that one slot skips before giving up until the next slot."""
STRANDED_AFTER = timedelta(minutes=10)
"""A claim this old (beyond ``schedule.settle_after``) with no outcome recorded was cut
short: no live publication takes this long, 429 waits and the search included."""

# 400 descriptions that are about the chat, not about one message: every post would fail.
_CHAT_WIDE = (
    "chat not found",
    "need administrator rights",
    "not enough rights",
    "have no rights",
    "chat_write_forbidden",
    "chat_admin_required",
    "not a member",
    "channel_private",
    "chat_restricted",
    "peer_id_invalid",
)


def post_buttons(
    settings: Settings, bot_username: str, entry_id: int, trade: str | None
) -> InlineKeyboardMarkup:
    """Under a post: its trade's offers (when the campaign has some), and the deep link
    that opens the bot on this post (« ce métier m'intéresse »), counted as interest."""
    rows = []
    offers = offers_url(settings, trade)
    if offers:
        rows.append([InlineKeyboardButton(plain(CHANNEL_LANGUAGE, "channel.offers"), url=offers)])
    interest = interest_link(bot_username, entry_id)
    rows.append([InlineKeyboardButton(plain(CHANNEL_LANGUAGE, "channel.interest"), url=interest)])
    return InlineKeyboardMarkup(rows)


def _username(bot: Bot) -> str:
    """The bot's @username, known once getMe answered (at start); empty before, so that a
    bot that never reached Telegram fails on its send, not on the post's link."""
    try:
        return bot.username
    except RuntimeError:
        return ""


class Outcome(enum.StrEnum):
    PUBLISHED = "published"
    SKIPPED = "skipped"  # not approved any more (someone else took it, erased, banned)
    RETRY = "retry"  # Telegram proved nothing was posted: back in the queue
    NEEDS_CHECK = "needs_check"  # maybe posted: the moderators look at the channel
    HELD = "held"  # Telegram refuses this entry: out of the queue, moderators told why
    PAUSED = "paused"  # the channel refuses the bot: publishing paused


def verdict(error: TelegramError) -> Outcome:
    """Where an entry goes after ``send_photo`` raised ``error`` (see the module docstring)."""
    if isinstance(error, RetryAfter):
        return Outcome.RETRY
    if isinstance(error, Forbidden):
        return Outcome.PAUSED
    if isinstance(error, BadRequest):
        description = error.message.lower()
        return Outcome.PAUSED if any(s in description for s in _CHAT_WIDE) else Outcome.HELD
    if maybe_delivered(error):
        return Outcome.NEEDS_CHECK  # time-out, dropped connection, 5xx: sent or not?
    if never_left(error):
        return Outcome.RETRY
    return Outcome.PAUSED  # chat migrated, conflict, token...: nothing a next entry would fix


async def tell_published(bot: Bot, services: Services, apprentice_id: int, post_id: int) -> None:
    """The apprentice learns their post is out, with its link when the channel is public."""
    link = post_link(services.settings.campaign.channel, post_id)
    if link:
        await tell_apprentice(bot, services, apprentice_id, "published.with_link", link=link)
    else:
        await tell_apprentice(bot, services, apprentice_id, "published.no_link")


class Publisher:
    def __init__(self, services: Services) -> None:
        self.services = services

    @property
    def settings(self) -> Settings:
        return self.services.settings

    async def paused(self) -> str | None:
        """Why publishing is paused (it survives restarts), or None."""
        async with self.services.sessions() as session:
            return await get_setting(session, PUBLISHING_PAUSED)

    async def set_paused(self, reason: str | None, *, told: bool = True) -> None:
        """Pause (or resume, with None); ``told=False`` leaves the alert to be sent."""
        async with self.services.sessions() as session, session.begin():
            await set_setting(session, PUBLISHING_PAUSED, reason)
            await set_setting(session, PUBLISHING_PAUSE_TOLD, told if reason else None)

    async def run_slot(self, bot: Bot) -> list[int]:
        """One tick of the schedule: up to ``per_slot`` posts, unless paused.

        An entry Telegram refuses (held) does not cost the slot: the next one is tried.
        """
        if await self.paused():
            return []
        published: list[int] = []
        for _ in range(self.settings.schedule.per_slot + HELD_PER_SLOT):
            if len(published) == self.settings.schedule.per_slot:
                break
            submission_id = await self.pick_next()
            if submission_id is None:
                break
            outcome = await self.publish(bot, submission_id)
            if outcome == Outcome.PUBLISHED:
                published.append(submission_id)
            elif outcome not in (Outcome.SKIPPED, Outcome.HELD):
                break
        return published

    async def pick_next(self) -> int | None:
        async with self.services.sessions() as session:
            avoid = None
            if self.settings.schedule.ordering == "rotate_trades":
                avoid = await last_published_trade(session)
            return await next_to_publish(session, avoid_trade=avoid)

    async def publish(self, bot: Bot, submission_id: int) -> Outcome:
        outcome = await self._publish(bot, submission_id)
        count_publish(outcome)
        return outcome

    async def _publish(self, bot: Bot, submission_id: int) -> Outcome:
        async with self.services.sessions() as session, session.begin():
            if not await claim_for_publishing(session, submission_id):
                return Outcome.SKIPPED
            entry = await get_entry(session, submission_id)
        assert entry is not None
        try:
            photo = await self.services.photos.sendable(entry.photo_file_id, entry.photo_path)
        except OSError:
            log.error("entry %s: processed photo missing from the storage folder", entry.id)
            return await self._hold(bot, entry.id, PHOTO_MISSING)
        try:
            message = await bot.send_photo(
                self.settings.campaign.channel,
                photo,
                caption=entry_caption(entry, self.settings),
                reply_markup=post_buttons(self.settings, _username(bot), entry.id, entry.trade),
            )
        except TelegramError as error:
            return await self._failed(bot, entry, error)
        return await self._sent(bot, entry, message.message_id)

    async def _failed(self, bot: Bot, entry: Submission, error: TelegramError) -> Outcome:
        submission_id = entry.id
        outcome = verdict(error)
        log.warning("entry %s not posted (%s): %s", submission_id, outcome, error.message)
        if outcome == Outcome.HELD:
            return await self._hold(bot, submission_id, error.message)
        if outcome == Outcome.NEEDS_CHECK:
            await asyncio.sleep(self.settings.schedule.settle_after)
            return await self.settle(bot, entry)
        await self._release(submission_id)
        if outcome == Outcome.PAUSED:
            await self.pause_on_error(bot, error.message)
        return outcome

    async def _sent(self, bot: Bot, entry: Submission, message_id: int) -> Outcome:
        channel = str(self.settings.campaign.channel)
        async with self.services.sessions() as session, session.begin():
            await note_channel_post(session, channel, message_id)
            recorded = await mark_published(session, entry.id, message_id)
            if not recorded and await recorded_as(session, entry.id) == message_id:
                return Outcome.PUBLISHED  # settled twice (at start and by the job): done once
            if not recorded:  # erased while it was being sent: the post must not stay
                removal = await found_post(session, entry.id, channel, message_id)
        if not recorded:
            log.info("entry %s erased while being posted: post %s removed", entry.id, message_id)
            await carry_out(bot, self.services, [removal.id])
            return Outcome.SKIPPED
        log.info("entry %s posted as message %s", entry.id, message_id)
        await self.services.update_site([entry.id])
        await refresh_card(bot, self.services, entry.id)
        await tell_published(bot, self.services, entry.apprentice_id, message_id)
        return Outcome.PUBLISHED

    async def settle(self, bot: Bot, entry: Submission) -> Outcome:
        """An entry sent with its answer lost (``publishing``): look for its post on the
        channel; recorded if found, back in the queue if certainly absent, the moderators
        asked otherwise."""
        search = await self._search(bot, entry)
        count_settled(search.finding)
        for other_id, message_id in (search.met or {}).items():
            other = await self._entry(other_id)
            if other is not None:
                log.info("entry %s: its post found as message %s", other_id, message_id)
                await self._sent(bot, other, message_id)
        if search.finding == Finding.FOUND:
            assert search.message_id is not None
            log.info("entry %s: its post found as message %s", entry.id, search.message_id)
            return await self._sent(bot, entry, search.message_id)
        if search.finding == Finding.ABSENT:
            log.info("entry %s: not on the channel, back in the queue", entry.id)
            await self._release(entry.id)
            return Outcome.RETRY
        return await self._needs_check(bot, entry.id)

    async def _search(self, bot: Bot, entry: Submission) -> Search:
        channel = self.settings.campaign.channel
        async with self.services.sessions() as session:
            after = await last_channel_post(session, str(channel))
            recorded = await posts_after(session, after)
            others = await unsure_entries(session, entry.id)
        return await find_post(
            bot,
            channel,
            after,
            self._candidate(bot, entry),
            [self._candidate(bot, other) for other in others],
            recorded.__contains__,
        )

    def _candidate(self, bot: Bot, entry: Submission) -> Candidate:
        """The entry as its post shows it: its buttons and its caption."""
        buttons = post_buttons(self.settings, _username(bot), entry.id, entry.trade)
        return Candidate(entry.id, buttons, visible_text(entry_caption(entry, self.settings)))

    async def _entry(self, submission_id: int) -> Submission | None:
        async with self.services.sessions() as session:
            return await get_entry(session, submission_id)

    async def _hold(self, bot: Bot, submission_id: int, reason: str) -> Outcome:
        """This entry cannot be posted as it is: out of the queue, the card says why."""
        async with self.services.sessions() as session, session.begin():
            held = await hold(session, submission_id, reason)
        if held:
            await refresh_card(bot, self.services, submission_id)
        return Outcome.HELD

    async def _needs_check(self, bot: Bot, submission_id: int) -> Outcome:
        """Maybe posted: the moderators decide, from the card (kept in step by the job)."""
        log.warning("entry %s: maybe posted, left to the moderators to check", submission_id)
        async with self.services.sessions() as session, session.begin():
            marked = await mark_needs_check(session, submission_id)
            lost = [] if marked else await lost_post(session, submission_id)
        if marked:
            await refresh_card(bot, self.services, submission_id)
            await self._alert_needs_check(bot, [submission_id])
        else:  # erased while being sent: the post, if any, must be found by hand
            await carry_out(bot, self.services, lost)
        return Outcome.NEEDS_CHECK

    async def _alert_needs_check(self, bot: Bot, submission_ids: list[int]) -> None:
        moderation = self.settings.moderation
        numbers = ", ".join(str(i) for i in submission_ids)
        try:
            await bot.send_message(
                moderation.chat_id,
                t(moderation.language, "publishing.needs_check", numbers=numbers),
            )
        except TelegramError as error:
            log.warning("needs_check alert not sent (the cards say it): %s", error.message)

    async def _release(self, submission_id: int) -> None:
        async with self.services.sessions() as session, session.begin():
            await release_claim(session, submission_id)

    async def pause_on_error(self, bot: Bot, reason: str) -> None:
        """Pause and tell the moderators once (the job retries the alert if it fails)."""
        if await self.paused():
            return
        await self.set_paused(reason, told=False)
        log.error("publishing paused: %s", reason)
        await self.alert_pause(bot)

    async def alert_pause(self, bot: Bot) -> None:
        """Send the pause alert if it is still owed."""
        async with self.services.sessions() as session:
            reason = await get_setting(session, PUBLISHING_PAUSED)
            told = await get_setting(session, PUBLISHING_PAUSE_TOLD)
        if not reason or told is not False:
            return
        moderation = self.settings.moderation
        try:
            await bot.send_message(
                moderation.chat_id, t(moderation.language, "publishing.paused_error", reason=reason)
            )
        except TelegramError as alert_error:
            log.warning("could not alert the moderators yet: %s", alert_error.message)
            return
        async with self.services.sessions() as session, session.begin():
            await set_setting(session, PUBLISHING_PAUSE_TOLD, True)

    async def recover(self, bot: Bot) -> list[int]:
        """At start: entries left in ``publishing`` by a stop are looked for on the channel
        (:meth:`settle`); their ids."""
        return await self._settle_interrupted(bot, None)

    async def settle_stranded(self, bot: Bot) -> list[int]:
        """While running: entries whose publication the database cut short (claimed, then
        gone before the outcome was recorded) are looked for on the channel; their ids."""
        settle_after = timedelta(seconds=self.settings.schedule.settle_after)
        return await self._settle_interrupted(bot, utcnow() - STRANDED_AFTER - settle_after)

    async def _settle_interrupted(self, bot: Bot, claimed_before: datetime | None) -> list[int]:
        async with self.services.sessions() as session:
            interrupted = await interrupted_entries(session, claimed_before)
        for entry in interrupted:
            log.warning("entry %s: its publication was cut short, looked for", entry.id)
            await self.settle(bot, entry)
        return [entry.id for entry in interrupted]
