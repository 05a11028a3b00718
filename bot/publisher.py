"""Posting approved entries to the channel: exactly once, whatever Telegram or the machine does.

Each post follows the same three steps: claim the entry (approved → publishing, committed),
send it, record it (publishing → published, committed). A crash between the send and the
record leaves the entry in ``publishing``; at the next start it becomes ``needs_check`` and
the moderators say whether it reached the channel — it is never re-posted silently.
Retryable failures (429, 5xx, time-outs) put the entry back in the queue for the next slot;
permanent ones (400, 403: the bot lost the channel) pause publishing and alert the
moderators once, losing nothing.
"""

from __future__ import annotations

import asyncio
import enum
import logging

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError

from bot.captions import CHANNEL_LANGUAGE
from bot.cards import entry_caption, refresh_card
from bot.config import Settings
from bot.i18n import t
from bot.notify import tell_apprentice
from bot.services import Services
from models.entries import get_entry
from models.moderation import last_published_trade, next_to_publish
from models.settings import PUBLISHING_PAUSED, get_setting, set_setting
from models.submissions import (
    claim_for_publishing,
    mark_all_publishing_needs_check,
    mark_published,
    release_claim,
)

log = logging.getLogger(__name__)


class Outcome(enum.StrEnum):
    PUBLISHED = "published"
    SKIPPED = "skipped"  # not approved any more (someone else took it, or it was erased)
    RETRY = "retry"  # temporary failure: back in the queue
    PAUSED = "paused"  # permanent failure: publishing paused


def post_link(channel: str | int, message_id: int) -> str | None:
    """``t.me`` link of a post in a public channel (None for a numeric, private channel)."""
    if isinstance(channel, str) and channel.startswith("@"):
        return f"https://t.me/{channel[1:]}/{message_id}"
    return None


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

    async def set_paused(self, reason: str | None) -> None:
        async with self.services.sessions() as session, session.begin():
            await set_setting(session, PUBLISHING_PAUSED, reason)

    async def run_slot(self, bot: Bot) -> list[int]:
        """One tick of the schedule: up to ``per_slot`` entries, unless paused."""
        if await self.paused():
            return []
        published: list[int] = []
        for _ in range(self.settings.schedule.per_slot):
            submission_id = await self.pick_next()
            if submission_id is None:
                break
            outcome = await self.publish(bot, submission_id)
            if outcome == Outcome.PUBLISHED:
                published.append(submission_id)
            elif outcome != Outcome.SKIPPED:
                break
        return published

    async def pick_next(self) -> int | None:
        async with self.services.sessions() as session:
            avoid = None
            if self.settings.schedule.ordering == "rotate_trades":
                avoid = await last_published_trade(session)
            return await next_to_publish(session, avoid_trade=avoid)

    async def publish(self, bot: Bot, submission_id: int) -> Outcome:
        async with self.services.sessions() as session, session.begin():
            if not await claim_for_publishing(session, submission_id):
                return Outcome.SKIPPED
            entry = await get_entry(session, submission_id)
        assert entry is not None
        campaign = self.settings.campaign
        markup = None
        if campaign.offers_url:
            button = InlineKeyboardButton(
                t(CHANNEL_LANGUAGE, "channel.offers"), url=campaign.offers_url
            )
            markup = InlineKeyboardMarkup([[button]])
        try:
            photo = entry.photo_file_id or await asyncio.to_thread(
                self.services.photos.read, entry.photo_path or ""
            )
            message = await bot.send_photo(
                campaign.channel,
                photo,
                caption=entry_caption(entry, self.services),
                reply_markup=markup,
            )
        except BadRequest as error:  # 400 (PTB derives it from NetworkError: caught first)
            return await self._give_up(bot, submission_id, str(error))
        except (RetryAfter, NetworkError) as error:
            # NetworkError covers 5xx answers and time-outs (TimedOut is one).
            log.warning("entry %s not posted, retried next slot: %s", submission_id, error)
            await self._release(submission_id)
            return Outcome.RETRY
        except TelegramError as error:  # 403: the channel is gone or refuses the bot
            return await self._give_up(bot, submission_id, str(error))
        except OSError as error:  # the processed photo is missing from the storage folder
            log.error("photo of entry %s unreadable: %s", submission_id, error)
            return await self._give_up(bot, submission_id, f"n°{submission_id}: {error}")
        async with self.services.sessions() as session, session.begin():
            recorded = await mark_published(session, submission_id, message.message_id)
        if not recorded:
            # Erased while it was being sent: the post must not stay.
            log.info("entry %s erased during posting: post %s removed", submission_id, message)
            await self.delete_post(bot, message.message_id)
            return Outcome.SKIPPED
        log.info("entry %s posted as message %s", submission_id, message.message_id)
        await refresh_card(bot, self.services, submission_id)
        link = post_link(campaign.channel, message.message_id)
        if link:
            await tell_apprentice(
                bot, self.services, entry.apprentice_id, "published.with_link", link=link
            )
        else:
            await tell_apprentice(bot, self.services, entry.apprentice_id, "published.no_link")
        return Outcome.PUBLISHED

    async def _give_up(self, bot: Bot, submission_id: int, reason: str) -> Outcome:
        """A failure retrying cannot fix: the entry waits in the queue, publishing pauses."""
        await self._release(submission_id)
        await self.pause_on_error(bot, reason)
        return Outcome.PAUSED

    async def _release(self, submission_id: int) -> None:
        async with self.services.sessions() as session, session.begin():
            await release_claim(session, submission_id)

    async def pause_on_error(self, bot: Bot, reason: str) -> None:
        """Pause and tell the moderators once; later slots stay silent until /resume."""
        if await self.paused():
            return
        await self.set_paused(reason)
        log.error("publishing paused: %s", reason)
        moderation = self.settings.moderation
        try:
            await bot.send_message(
                moderation.chat_id,
                t(moderation.language, "publishing.paused_error", reason=reason),
            )
        except TelegramError as alert_error:
            log.warning("could not alert the moderators: %s", alert_error)

    async def delete_post(self, bot: Bot, message_id: int) -> bool:
        try:
            return await bot.delete_message(self.settings.campaign.channel, message_id)
        except TelegramError as error:
            log.warning("channel post %s not deleted: %s", message_id, error)
            return False

    async def recover(self, bot: Bot) -> list[int]:
        """At start: entries left in ``publishing`` by a crash are handed to the moderators."""
        async with self.services.sessions() as session, session.begin():
            interrupted = await mark_all_publishing_needs_check(session)
        for submission_id in interrupted:
            log.warning("entry %s was being posted at the last stop: to check", submission_id)
            await refresh_card(bot, self.services, submission_id)
        if interrupted:
            moderation = self.settings.moderation
            try:
                await bot.send_message(
                    moderation.chat_id,
                    t(
                        moderation.language,
                        "publishing.needs_check",
                        numbers=", ".join(str(i) for i in interrupted),
                    ),
                )
            except TelegramError as error:
                log.warning("could not alert the moderators: %s", error)
        return interrupted
