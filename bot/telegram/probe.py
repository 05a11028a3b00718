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

log = logging.getLogger(__name__)

SPAN = 20
"""Ids looked at after the last known post: more than the posts other admins make in
the minutes between two slots."""
UNUSED_RUN = 3
"""Ids in a row with nothing there that end the search: ids are given in order, so a run
of them means the channel's newest message is behind (a deleted post leaves one such id,
rarely three in a row)."""


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
            edited = await bot.edit_message_reply_markup(
                channel, message_id, reply_markup=wanted.buttons
            )
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
    try:
        await bot.edit_message_reply_markup(
            channel, edited.message_id, reply_markup=owner.buttons if owner else None
        )
    except TelegramError as error:
        log.error(
            "channel message %s: its buttons could not be put back: %s",
            edited.message_id,
            error.message,
        )
        return None
    if owner is None:
        log.error("channel message %s: a post of the bot's that no entry has", edited.message_id)
        return None
    return owner.entry_id
