"""Taking posts and cards off Telegram after an erasure or an unpublish, never forgetting one.

Each removal is recorded first (:mod:`models.removals`, in the transaction that erases or
unpublishes the entry), then tried here: ``deleteMessage``; where Telegram refuses (a
message older than 48 hours when the bot lacks ``can_delete_messages``, or no right at
all), the bot replaces the picture and the caption with neutral ones — a bot may edit its
own messages at any age — so nothing personal stays in view, and asks the moderators to
delete the message by hand, with a link and a button. Failures that may pass (429, 5xx,
time-outs) are retried by :func:`retry_removals`; the record goes only once the message is
known to be gone.
"""

from __future__ import annotations

import enum
import io
import logging
from datetime import timedelta
from functools import cache

from PIL import Image
from telegram import Bot, InputMediaPhoto
from telegram.error import BadRequest, Forbidden, TelegramError

from bot.campaign.captions import CHANNEL_LANGUAGE
from bot.campaign.links import post_link
from bot.i18n import local_moment, plain, t
from bot.services import Services
from bot.telegram.callbacks import REMOVAL_DONE, keyboard
from models import AuditAction, Removal
from models.audit import record_audit
from models.base import utcnow
from models.removals import (
    get_removal,
    mark_told,
    owe_removal,
    record_attempt,
    removals_owed,
    settle,
)

log = logging.getLogger(__name__)

UNANSWERED_SEND = timedelta(minutes=2)
"""A post being sent when its entry was erased: past this, its answer is taken as lost."""
ATTEMPTS_BEFORE_ASKING = 5
"""Failures that may pass (429, 5xx, time-outs) retried alone before moderators are asked."""


class Result(enum.StrEnum):
    GONE = "gone"  # deleted, or already gone
    HIDDEN = "hidden"  # still there with a neutral picture: to delete by hand
    SHOWN = "shown"  # neither deleted nor hidden (or its id is lost): to delete by hand, now
    LATER = "later"  # Telegram did not say: tried again by the job


@cache
def neutral_photo() -> bytes:
    """The picture that replaces a person's photo where a message cannot be deleted."""
    buffer = io.BytesIO()
    Image.new("RGB", (640, 640), (229, 231, 235)).save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


def already_gone(error: TelegramError) -> bool:
    """Telegram's way of saying the message is not there (any more)."""
    return "not found" in error.message.lower()


def _neutral_caption(removal: Removal, services: Services) -> str:
    if removal.kind == "post":
        return t(CHANNEL_LANGUAGE, "removed.post_caption")
    language = services.settings.moderation.language
    return t(language, "removed.card_caption", number=removal.submission_id or "?")


async def _delete(bot: Bot, removal: Removal) -> Result | str:
    """Try ``deleteMessage``: a result, or Telegram's reason for refusing it."""
    assert removal.message_id is not None
    try:
        await bot.delete_message(removal.chat, removal.message_id)
    except (BadRequest, Forbidden) as error:
        return Result.GONE if already_gone(error) else error.message
    except TelegramError as error:
        log.info("removal %s: delete not answered (%s), retried", removal.id, error.message)
        return Result.LATER
    return Result.GONE


async def _hide(bot: Bot, services: Services, removal: Removal) -> Result:
    """Replace the picture and caption: the message stays, nothing personal shows."""
    assert removal.message_id is not None
    media = InputMediaPhoto(neutral_photo(), caption=_neutral_caption(removal, services))
    try:
        await bot.edit_message_media(
            media, chat_id=removal.chat, message_id=removal.message_id, reply_markup=None
        )
    except (BadRequest, Forbidden) as error:
        if already_gone(error):
            return Result.GONE
        if "not modified" in error.message.lower():
            return Result.HIDDEN
        log.warning("removal %s: neither deleted nor hidden (%s)", removal.id, error.message)
        return Result.SHOWN
    except TelegramError as error:
        log.info("removal %s: hiding not answered (%s), retried", removal.id, error.message)
        return Result.LATER
    return Result.HIDDEN


async def attempt(bot: Bot, services: Services, removal: Removal) -> tuple[Result, str | None]:
    """One try at taking the message off Telegram: the result and Telegram's last refusal."""
    if removal.message_id is None:
        waited = utcnow() - removal.created_at
        if removal.by_hand or waited > UNANSWERED_SEND:
            return Result.SHOWN, None
        return Result.LATER, None
    deleted = await _delete(bot, removal)
    if isinstance(deleted, Result):
        return deleted, None
    if removal.photo_hidden:
        return Result.HIDDEN, deleted
    return await _hide(bot, services, removal), deleted


async def carry_out(bot: Bot, services: Services, removal_ids: list[int]) -> list[Result]:
    """Try each removal now; record what happened; ask the moderators where needed."""
    return [await _carry_out_one(bot, services, removal_id) for removal_id in removal_ids]


async def _carry_out_one(bot: Bot, services: Services, removal_id: int) -> Result:
    async with services.sessions() as session:
        removal = await get_removal(session, removal_id)
    if removal is None:  # settled meanwhile (by the job, or by a moderator)
        return Result.GONE
    result, refusal = await attempt(bot, services, removal)
    if result == Result.GONE:
        await _settled(bot, services, removal, moderator=None)
        return result
    hidden = removal.photo_hidden or result == Result.HIDDEN
    by_hand = removal.by_hand or result in (Result.HIDDEN, Result.SHOWN)
    async with services.sessions() as session, session.begin():
        await record_attempt(
            session, removal.id, photo_hidden=hidden, by_hand=by_hand, error=refusal
        )
    ask = by_hand or removal.attempts + 1 >= ATTEMPTS_BEFORE_ASKING
    if ask and removal.told_message_id is None:
        await _ask_moderators(bot, services, removal, hidden=hidden)
    return result


async def _ask_moderators(bot: Bot, services: Services, removal: Removal, *, hidden: bool) -> None:
    """One message in the group per removal: what, where (a link) and a button once done."""
    moderation = services.settings.moderation
    language = moderation.language
    if removal.kind == "post":
        where = plain(language, "removal.where.post")
    else:
        where = plain(language, "removal.where.card")
    number = removal.submission_id or "?"
    if removal.message_id is None and removal.kind == "card":
        text = t(language, "removal.lost_card", number=number)
    elif removal.message_id is None:
        sent = removal.sent_at or removal.created_at
        timezone = services.settings.schedule.timezone
        text = t(
            language, "removal.lost_id", number=number, when=local_moment(language, sent, timezone)
        )
    else:
        link = post_link(removal.chat, removal.message_id, members=True) or where
        if hidden:
            text = t(language, "removal.hidden", number=number, where=where, link=link)
        else:
            text = t(language, "removal.shown", number=number, where=where, link=link)
    markup = keyboard([[(plain(language, "removal.done"), REMOVAL_DONE.data(removal.id))]])
    try:
        message = await bot.send_message(moderation.chat_id, text, reply_markup=markup)
    except TelegramError as error:
        log.warning("removal %s: moderators not told yet (%s)", removal.id, error.message)
        return
    async with services.sessions() as session, session.begin():
        await mark_told(session, removal.id, message.message_id)


async def _settled(
    bot: Bot, services: Services, removal: Removal, *, moderator: tuple[int, str] | None
) -> bool:
    """The message is gone: forget the removal, audit it, close the moderators' request."""
    async with services.sessions() as session, session.begin():
        if not await settle(session, removal.id):
            return False
        await record_audit(
            session,
            AuditAction.REMOVAL_DONE,
            moderator_id=moderator[0] if moderator else None,
            moderator_name=moderator[1] if moderator else None,
            submission_id=removal.submission_id,
            reason=removal.kind,
        )
    log.info("removal %s done (%s of entry %s)", removal.id, removal.kind, removal.submission_id)
    if removal.told_message_id is not None:
        language = services.settings.moderation.language
        text = t(language, "removal.closed", number=removal.submission_id or "?")
        try:
            await bot.edit_message_text(
                text, chat_id=services.settings.moderation.chat_id,
                message_id=removal.told_message_id, reply_markup=None,
            )  # fmt: skip
        except TelegramError as error:
            log.info("removal %s: request not closed (%s)", removal.id, error.message)
    return True


class Check(enum.StrEnum):
    """What a moderator's "done" press found."""

    GONE = "gone"
    STILL_THERE = "still_there"
    UNSURE = "unsure"  # Telegram did not answer: press again
    ALREADY = "already"  # settled before


async def confirm_by_hand(
    bot: Bot, services: Services, removal_id: int, moderator: tuple[int, str]
) -> Check:
    """A moderator says the message is gone: the bot checks (a delete answers "not found"
    when it is) before forgetting the removal. A lost id can only be taken on trust."""
    async with services.sessions() as session:
        removal = await get_removal(session, removal_id)
    if removal is None:
        return Check.ALREADY
    if removal.message_id is not None:
        deleted = await _delete(bot, removal)
        if deleted == Result.LATER:
            return Check.UNSURE
        if deleted != Result.GONE:
            return Check.STILL_THERE
    settled = await _settled(bot, services, removal, moderator=moderator)
    return Check.GONE if settled else Check.ALREADY


async def remove_lost_card(
    bot: Bot, services: Services, chat: str, message_id: int, submission_id: int
) -> Result:
    """A card the bot had lost track of turned up (a moderator pressed it): it goes, as
    any removal does, kept until gone."""
    async with services.sessions() as session, session.begin():
        removal = await owe_removal(
            session,
            chat=chat,
            message_id=message_id,
            kind="card",
            submission_id=submission_id,
            cause="duplicate",
        )
    [result] = await carry_out(bot, services, [removal.id])
    return result


async def retry_removals(bot: Bot, services: Services) -> None:
    """The job's part: every removal still owed is tried again (rights may have been
    granted, a moderator may have deleted it, Telegram may answer now)."""
    async with services.sessions() as session:
        owed = [removal.id for removal in await removals_owed(session)]
    await carry_out(bot, services, owed)
