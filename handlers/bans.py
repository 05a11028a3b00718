"""Bans: from a card (two taps) or by /ban and /unban with a user id. A ban refuses what
the person has waiting and takes their posts off the site; the channel keeps them until a
moderator says so (:func:`unpublish_banned`)."""

from __future__ import annotations

import logging
import re

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update

from bot.i18n import plain, plain_n, t, tn
from bot.services import Services
from bot.telegram.callbacks import UNPUBLISH_BANNED, keyboard
from bot.telegram.cards import refresh_card
from bot.telegram.removals import Result
from handlers import publishing
from handlers.common import (
    Context,
    decide,
    is_moderator,
    moderation_language,
    moderator_name,
    services,
)
from models import AuditAction
from models.apprentices import ban_apprentice, unban_apprentice
from models.lifecycle import refuse_banned
from models.submissions import get_entry, published_of

log = logging.getLogger(__name__)


async def ban_from_card(
    update: Update, context: Context, submission_id: int, _: str | None
) -> None:
    assert update.callback_query
    async with services(context).sessions() as session:
        entry = await get_entry(session, submission_id)
    assert entry is not None
    refused = await ban(update, context, entry.apprentice_id)
    await update.callback_query.answer(
        plain_n(moderation_language(context), "mod.banned", len(refused)), show_alert=True
    )
    await offer_to_unpublish(update, context, entry.apprentice_id)


async def ban(update: Update, context: Context, apprentice_id: int) -> list[int]:
    """Ban (known or not yet seen) and refuse their entries waiting for a moderator or for
    the channel; their cards are re-drawn. Returns the entries refused."""
    assert update.effective_user
    svc, moderator = services(context), update.effective_user
    name = moderator_name(moderator)
    refused: list[int] = []

    async def ban_and_refuse(session: AsyncSession) -> bool:
        await ban_apprentice(session, apprentice_id, moderator.id)
        refused.extend(await refuse_banned(session, apprentice_id, moderator.id, name))
        return True

    await decide(update, context, AuditAction.BAN, ban_and_refuse, apprentice_id=apprentice_id)
    svc.banned.add(apprentice_id)
    log.info(
        "apprentice %s banned by %s (%s entries refused)", apprentice_id, moderator.id, len(refused)
    )
    await update_site_of(svc, apprentice_id)
    for refused_id in refused:
        await refresh_card(context.bot, svc, refused_id)
    return refused


async def update_site_of(svc: Services, apprentice_id: int) -> None:
    """A ban takes the person's posts off the public site at once (the channel keeps them
    until a moderator says so); lifting it puts them back."""
    async with svc.sessions() as session:
        published = await published_of(session, apprentice_id)
    await svc.update_site(published)


async def offer_to_unpublish(update: Update, context: Context, apprentice_id: int) -> None:
    """After a ban: their posts already on the channel stay unless a moderator says so."""
    assert update.effective_chat
    lang = moderation_language(context)
    async with services(context).sessions() as session:
        published = await published_of(session, apprentice_id)
    if not published:
        return
    button = (
        plain_n(lang, "mod.unpublish_all", len(published)),
        UNPUBLISH_BANNED.data(apprentice_id),
    )
    await update.effective_chat.send_message(
        tn(lang, "mod.banned_published", len(published)), reply_markup=keyboard([[button]])
    )


async def unpublish_banned(update: Update, context: Context) -> None:
    """The moderators' answer to :func:`offer_to_unpublish`: every post of theirs goes."""
    query = update.callback_query
    assert query and query.data
    lang = moderation_language(context)
    if not is_moderator(update, context):
        await query.answer(plain(lang, "mod.not_allowed"), show_alert=True)
        return
    apprentice_id = UNPUBLISH_BANNED.number(query.data)
    async with services(context).sessions() as session:
        published = await published_of(session, apprentice_id)
    results = [await publishing.take_off_channel(update, context, i) for i in published]
    removed = sum(result == Result.GONE for result in results)
    told = [plain_n(lang, "mod.unpublished_all", removed)]
    if left := len(results) - removed:
        told.append(plain_n(lang, "mod.unpublished_left", left))
    await query.answer(" ".join(told), show_alert=True)
    await query.edit_message_reply_markup(None)


def _user_id_argument(context: Context) -> int | None:
    if context.args and len(context.args) == 1 and re.fullmatch(r"\d{1,15}", context.args[0]):
        return int(context.args[0])
    return None


async def ban_command(update: Update, context: Context) -> None:
    assert update.effective_message
    lang = moderation_language(context)
    user_id = _user_id_argument(context)
    if user_id is None:
        await update.effective_message.reply_text(t(lang, "mod.ban_usage"))
        return
    refused = await ban(update, context, user_id)
    await update.effective_message.reply_text(
        tn(lang, "mod.banned_user", len(refused), user=user_id)
    )
    await offer_to_unpublish(update, context, user_id)


async def unban_command(update: Update, context: Context) -> None:
    assert update.effective_message and update.effective_user
    svc, lang = services(context), moderation_language(context)
    user_id = _user_id_argument(context)
    if user_id is None:
        await update.effective_message.reply_text(t(lang, "mod.unban_usage"))
        return
    lifted = await decide(
        update,
        context,
        AuditAction.UNBAN,
        lambda session: unban_apprentice(session, user_id),
        apprentice_id=user_id,
    )
    svc.banned.discard(user_id)
    await update_site_of(svc, user_id)
    if lifted:
        await update.effective_message.reply_text(t(lang, "mod.unbanned", user=user_id))
    else:
        await update.effective_message.reply_text(t(lang, "mod.not_banned", user=user_id))
