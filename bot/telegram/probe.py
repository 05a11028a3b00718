"""After an ambiguous send: is the entry's post on the channel? Telegram tells, without a
moderator.

A channel's message ids run in one sequence (shared with every admin's posts, a deleted id
never given again), so the post, if Telegram made it, has an id after the last post the
bot knows of. Each id after it is asked to take the post's own buttons: they carry the
entry's deep link, so no other message has them, and Telegram's answer says what the id is.

- « message is not modified »: it already has them: the entry's post. Found.
- « message to edit not found »: nothing there (never used yet, or deleted).
- « message can't be edited »: someone else's post (another admin's): not the entry's.
- the edit goes through: a post of the bot's with other buttons, which the bot does not
  know of (another entry sent with its answer lost): its own buttons are put back when its
  caption names one of ``others``, and that entry is found there too; otherwise its
  buttons are removed (a person's post has none) and the search is undecided.

The search needs the bot's right to edit its posts there (an administrator allowed to
post or to edit): without it every answer is « can't be edited ».

Absent is said only when the ids after the last known post end in :data:`UNUSED_RUN` ids in
a row with nothing there and none had the post: ids are given in order, so none was used
after them. Anything else (Telegram failing, rights missing, :data:`SPAN` ids of other
admins' posts) is undecided: the moderators look, as before.

An edit whose answer is lost (a 5xx, a time-out, a dropped connection) or that never
reached Telegram is asked again, :data:`ATTEMPTS` times at most. After a lost answer,
« not modified » proves nothing: the lost edit may have put the entry's buttons on another
post of the bot's. That post's buttons are then taken off, which shows its caption: the
entry's, they are put back (found); another's, that post gets its own back, as above.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass

from telegram import (
    Bot,
    ChatMemberAdministrator,
    ChatMemberOwner,
    InlineKeyboardMarkup,
    Message,
)
from telegram.error import BadRequest, TelegramError

from bot.telegram.delivery import maybe_delivered, never_left

log = logging.getLogger(__name__)

SPAN = 20
"""Ids looked at after the last known post: more than the posts other admins make in
the minutes between two slots."""
UNUSED_RUN = 3
"""Ids in a row with nothing there that end the search: ids are given in order, so a run
of them means the channel's newest message is behind (a deleted post leaves one such id,
rarely three in a row)."""
ATTEMPTS = 5
"""Tries of one edit whose answer was lost or that never reached Telegram: a search given
up at its first lost answer left the entry to the moderators, while each of its few edits
is as likely to fail as the send was (the quick chaos run, seed 1: 2 of its 8 sends with
their answer lost). With a fifth of the calls failing, three tries all failed about once
in a hundred edits: still one search in a quick run now and then."""


class Finding(enum.StrEnum):
    FOUND = "found"
    ABSENT = "absent"
    UNDECIDED = "undecided"


@dataclass(frozen=True)
class Search:
    """What the search found: for the entry, and for others whose posts it met."""

    finding: Finding
    message_id: int | None = None
    met: dict[int, int] | None = None
    """Other entries' posts found on the way: entry id → message id."""


@dataclass(frozen=True)
class Candidate:
    """An entry whose post may be on the channel: its id, the buttons its post has and
    its caption as Telegram shows it (:func:`~bot.campaign.captions.visible_text`)."""

    entry_id: int
    buttons: InlineKeyboardMarkup
    caption: str


async def find_post(
    bot: Bot,
    channel: str | int,
    after: int,
    wanted: Candidate,
    others: list[Candidate],
    known: Callable[[int], bool],
) -> Search:
    """Look for ``wanted``'s post in the ids after ``after`` (those ``known`` as the bot's
    recorded posts are skipped)."""
    if not await _may_search(bot, channel):
        log.warning("entry %s: the bot may not edit its posts on the channel", wanted.entry_id)
        return Search(Finding.UNDECIDED)
    met: dict[int, int] = {}
    unused = 0
    for message_id in range(after + 1, after + 1 + SPAN):
        if known(message_id):
            unused = 0
            continue
        try:
            edited = await _ask(bot, channel, message_id, wanted)
        except BadRequest as error:
            answer = error.message.lower()
            if "not modified" in answer:
                return Search(Finding.FOUND, message_id, met)
            if "not found" in answer:
                unused += 1
                if unused == UNUSED_RUN:
                    return Search(Finding.ABSENT, None, met)
                continue
            if "can't be edited" in answer:
                unused = 0
                continue
            log.warning("entry %s: channel search stopped: %s", wanted.entry_id, error.message)
            return Search(Finding.UNDECIDED, None, met)
        except TelegramError as error:
            log.warning("entry %s: channel search failed: %s", wanted.entry_id, error.message)
            return Search(Finding.UNDECIDED, None, met)
        unused = 0
        other = await _put_back(bot, channel, edited, others)
        if other is None:
            return Search(Finding.UNDECIDED, None, met)
        met[other] = message_id
    log.warning("entry %s: %s ids after the last post, none decided", wanted.entry_id, SPAN)
    return Search(Finding.UNDECIDED, None, met)


def _again(error: TelegramError, tries: int) -> bool:
    """Whether an edit that failed so is tried again: its answer lost, or it never reached
    Telegram, and tries left."""
    return tries < ATTEMPTS and (maybe_delivered(error) or never_left(error))


async def _ask(bot: Bot, channel: str | int, message_id: int, wanted: Candidate) -> Message | bool:
    """Ask the message to take ``wanted``'s buttons: the edited message, or Telegram's
    refusal raised (« not modified »: it is ``wanted``'s post); tried again as
    :func:`_again` says. « Not modified » after a lost answer is checked (:func:`_whose`)."""
    lost = False
    tries = 1
    while True:
        try:
            return await bot.edit_message_reply_markup(
                channel, message_id, reply_markup=wanted.buttons
            )
        except BadRequest as error:
            if lost and "not modified" in error.message.lower():
                return await _whose(bot, channel, message_id, wanted, error)
            raise
        except TelegramError as error:
            if not _again(error, tries):
                raise
            lost = lost or maybe_delivered(error)
            tries += 1
            log.info("channel message %s: edit tried again: %s", message_id, error.message)


async def _whose(
    bot: Bot, channel: str | int, message_id: int, wanted: Candidate, not_modified: BadRequest
) -> Message | bool:
    """The message has ``wanted``'s buttons, maybe only since a lost edit put them there:
    an edit that goes through shows its caption. Its buttons are taken off (« not modified »:
    a lost try already did, they are put back on), tried again as :func:`_again` says.
    ``wanted``'s caption: its buttons are put back and ``not_modified`` raised (found).
    Another's: the message is returned, as an edit that went through (the search gives it
    its own buttons). No caption read: ``wanted``'s buttons are put back (as they were) and
    a failure raised that is not a refusal (undecided)."""
    buttons: InlineKeyboardMarkup | None = None
    failure = TelegramError("the post's caption could not be read")
    tries = 1
    while tries <= 2 * ATTEMPTS:
        try:
            shown = await bot.edit_message_reply_markup(channel, message_id, reply_markup=buttons)
        except BadRequest as error:
            if "not modified" not in error.message.lower():
                # Not a finding about this id (the search would take it for one): undecided.
                failure = TelegramError(error.message)
                break
            buttons = wanted.buttons if buttons is None else None  # already so: the other way
        except TelegramError as error:
            if not _again(error, tries):
                failure = error
                break
        else:
            if isinstance(shown, Message) and (shown.caption or "") != wanted.caption:
                return shown
            if buttons is None:
                await _restore(bot, channel, message_id, wanted.buttons)
            if not isinstance(shown, Message):
                return shown  # nothing to read the caption of: undecided
            raise not_modified
        tries += 1
    await _restore(bot, channel, message_id, wanted.buttons)
    raise failure


async def _restore(
    bot: Bot, channel: str | int, message_id: int, buttons: InlineKeyboardMarkup | None
) -> bool:
    """The message's buttons made ``buttons`` (« not modified »: they are), tried again as
    :func:`_again` says; whether it was done."""
    tries = 1
    while True:
        try:
            await bot.edit_message_reply_markup(channel, message_id, reply_markup=buttons)
            return True
        except BadRequest as error:
            if "not modified" in error.message.lower():
                return True
            failure = error.message
        except TelegramError as error:
            if _again(error, tries):
                tries += 1
                continue
            failure = error.message
        log.error("channel message %s: its buttons could not be put back: %s", message_id, failure)
        return False


async def _may_search(bot: Bot, channel: str | int) -> bool:
    """Whether the bot may edit its own posts there: else « can't be edited » would not tell
    its post from another admin's."""
    try:
        member = await bot.get_chat_member(channel, bot.id)
    except TelegramError:
        return False
    if isinstance(member, ChatMemberOwner):
        return True
    return isinstance(member, ChatMemberAdministrator) and bool(
        member.can_post_messages or member.can_edit_messages
    )


async def _put_back(
    bot: Bot, channel: str | int, edited: Message | bool, others: list[Candidate]
) -> int | None:
    """The search changed a message's buttons: give it its own back; the entry it is the
    post of, or None when it is no known entry's (its buttons are removed)."""
    if not isinstance(edited, Message):
        return None
    owner = next((c for c in others if c.caption == (edited.caption or "")), None)
    if not await _restore(bot, channel, edited.message_id, owner.buttons if owner else None):
        return None
    if owner is None:
        log.error("channel message %s: a post of the bot's that no entry has", edited.message_id)
        return None
    return owner.entry_id
